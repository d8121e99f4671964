package archive

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/lightroot"
)

// MaxClockDrift is how far into the future of the verifier's clock a
// header's time may be.
const MaxClockDrift = 10 * time.Second

// chainCheck verifies light blocks given in ascending height from the
// chain's first block, with CometBFT's light client verification: the
// first against the genesis validators (lightroot.TrustFromGenesis), each
// next one adjacent (light.VerifyAdjacent) or, across a gap in which the
// validator set does not change, non-adjacent (light.VerifyNonAdjacent).
// A gap across which the validator set changes is refused: a bundle holds
// every change.
type chainCheck struct {
	g       *cmttypes.GenesisDoc
	now     time.Time
	last    *cmttypes.LightBlock
	changes int // validator set changes seen
}

// add verifies lb after the blocks added before.
func (c *chainCheck) add(ctx context.Context, lb *cmttypes.LightBlock) error {
	if c.last == nil {
		if first := lightroot.FirstHeight(c.g); lb.Height != first {
			return fmt.Errorf("the first light block is of height %d, not the chain's first height %d", lb.Height, first)
		}
		if _, err := lightroot.TrustFromGenesis(ctx, c.g, oneBlock{lb}); err != nil {
			return err
		}
		c.last = lb
		return nil
	}
	t := c.last
	if err := lb.ValidateBasic(c.g.ChainID); err != nil {
		return fmt.Errorf("light block %d is malformed: %w", lb.Height, err)
	}
	var err error
	switch {
	case lb.Height <= t.Height:
		return fmt.Errorf("light block %d follows light block %d: not in ascending height", lb.Height, t.Height)
	case lb.Height == t.Height+1:
		err = light.VerifyAdjacent(t.SignedHeader, lb.SignedHeader, lb.ValidatorSet, lightroot.DefaultTrustingPeriod, c.now, MaxClockDrift)
	case !bytes.Equal(t.ValidatorsHash, t.NextValidatorsHash) || !bytes.Equal(t.NextValidatorsHash, lb.ValidatorsHash):
		return fmt.Errorf("the light blocks skip a validator set change between heights %d and %d (validators %X, next %X, then %X): the bundle must hold the blocks on both sides of every change",
			t.Height, lb.Height, []byte(t.ValidatorsHash), []byte(t.NextValidatorsHash), []byte(lb.ValidatorsHash))
	default:
		err = light.VerifyNonAdjacent(t.SignedHeader, t.ValidatorSet, lb.SignedHeader, lb.ValidatorSet, lightroot.DefaultTrustingPeriod, c.now, MaxClockDrift, light.DefaultTrustLevel)
	}
	if err != nil {
		return fmt.Errorf("light block %d does not verify from light block %d: %w", lb.Height, t.Height, err)
	}
	if !bytes.Equal(t.ValidatorsHash, lb.ValidatorsHash) {
		c.changes++
	}
	c.last = lb
	return nil
}

// oneBlock is a provider serving one light block.
type oneBlock struct{ lb *cmttypes.LightBlock }

func (o oneBlock) ChainID() string { return o.lb.ChainID }

func (o oneBlock) LightBlock(_ context.Context, h int64) (*cmttypes.LightBlock, error) {
	if h != o.lb.Height {
		return nil, provider.ErrLightBlockNotFound
	}
	return o.lb, nil
}

func (o oneBlock) ReportEvidence(context.Context, cmttypes.Evidence) error { return nil }

// needed reports whether the light block of height h belongs in a bundle
// of height top: the first, the last two (top, whose commit signs the
// export's block, and top+1, whose header holds the app hash), and both
// sides of every validator set change: a block whose next validators
// differ from its own, and a block whose validators differ from its
// predecessor's (prev, nil for the first).
func needed(lb, prev *cmttypes.LightBlock, top int64) bool {
	return prev == nil || lb.Height >= top ||
		!bytes.Equal(lb.ValidatorsHash, lb.NextValidatorsHash) || !bytes.Equal(lb.ValidatorsHash, prev.ValidatorsHash)
}

// collect fetches the light blocks of heights first..top+1 from p, a
// window at a time with a few requests in flight, and returns those a
// bundle needs, in ascending height. progress, when set, is called after
// each window.
func collect(ctx context.Context, p provider.Provider, first, top int64, progress func(done, total int64)) ([]*cmttypes.LightBlock, error) {
	const window, workers = 64, 4
	var out []*cmttypes.LightBlock
	var prev *cmttypes.LightBlock
	for from := first; from <= top+1; from += window {
		to := min(from+window-1, top+1)
		lbs := make([]*cmttypes.LightBlock, to-from+1)
		errs := make([]error, len(lbs))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(lbs); i += workers {
					lbs[i], errs[i] = p.LightBlock(ctx, from+int64(i))
				}
			}()
		}
		wg.Wait()
		for i, lb := range lbs {
			if errs[i] != nil {
				return nil, fmt.Errorf("fetching light block %d: %w", from+int64(i), errs[i])
			}
			if needed(lb, prev, top) {
				out = append(out, lb)
			}
			prev = lb
		}
		if progress != nil {
			progress(to-first+1, top+2-first)
		}
	}
	return out, nil
}

// marshalLightBlock encodes lb as CometBFT's tendermint.types.LightBlock
// protobuf message.
func marshalLightBlock(lb *cmttypes.LightBlock) ([]byte, error) {
	pb, err := lb.ToProto()
	if err != nil {
		return nil, err
	}
	return pb.Marshal()
}

// unmarshalLightBlock decodes a tendermint.types.LightBlock message.
func unmarshalLightBlock(data []byte) (*cmttypes.LightBlock, error) {
	var pb cmtproto.LightBlock
	if err := pb.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("not a protobuf tendermint.types.LightBlock: %w", err)
	}
	lb, err := cmttypes.LightBlockFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("not a valid light block: %w", err)
	}
	return lb, nil
}
