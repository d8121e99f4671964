package lightroot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmttypes "github.com/cometbft/cometbft/types"
)

// DefaultWait is how long a Verifier waits for a height its primary has
// not committed yet: the app hash after the latest block is in the next
// block's header.
const DefaultWait = 60 * time.Second

// Options say where a Verifier's trust and headers come from.
type Options struct {
	// ChainID is the chain's ID (default: the genesis's).
	ChainID string
	// Genesis is the trust root of an empty trust store: the first block
	// verified against its validators (TrustFromGenesis).
	Genesis *cmttypes.GenesisDoc
	// Root, when set, is a header the caller has verified (TrustFromGenesis,
	// TrustHeader): the trust root of an empty trust store, and one a
	// store's headers must descend from.
	Root *cmttypes.LightBlock
	// TrustDir is the trust store (DefaultTrustDir of a home); "" keeps
	// the verified headers in memory while the Verifier is open.
	TrustDir string
	// Primary serves the headers; each is cross-checked with every
	// witness (none but the primary by default).
	Primary   provider.Provider
	Witnesses []provider.Provider
	// Sequential verifies every header between a trusted one and the one
	// asked for against its predecessor. By default the light client skips
	// ahead, trusting a header that a third of a trusted validator set's
	// power signed, and bisects where the set changed more than that.
	Sequential bool
	// TrustingPeriod (default DefaultTrustingPeriod).
	TrustingPeriod time.Duration
	// Wait bounds the wait for a height the primary has not committed yet
	// (default DefaultWait).
	Wait time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives the light client's log (default: none).
	Logger cmtlog.Logger
}

// ErrNoRoot means there is nothing to trust: no genesis and no trusted
// header, and no header in the trust store.
var ErrNoRoot = errors.New("no trust root")

// ErrOtherRoot means the trust store's headers were verified from
// another trust root than the one given.
var ErrOtherRoot = errors.New("the trust store holds headers verified from another trust root")

// ErrRootRefused means the light client refused the trust root: its
// witnesses serve another header at that height.
var ErrRootRefused = errors.New("the light client refused the trust root")

// Verifier is CometBFT's light client over a trust store: every header it
// returns is verified from the trust root, and stored.
type Verifier struct {
	lc      *light.Client
	primary provider.Provider
	wait    time.Duration
	now     func() time.Time
	close   func() error
}

// Open opens the trust store and starts the light client from the
// headers it holds or, when it holds none, from the trust root (o.Root,
// else the genesis's first block). Close it when done: the store is held
// until then.
func Open(ctx context.Context, o Options) (*Verifier, error) {
	if o.Primary == nil {
		return nil, errors.New("no node to read headers from")
	}
	if o.ChainID == "" && o.Genesis != nil {
		o.ChainID = o.Genesis.ChainID
	}
	if o.TrustingPeriod == 0 {
		o.TrustingPeriod = DefaultTrustingPeriod
	}
	if o.Logger == nil {
		o.Logger = cmtlog.NewNopLogger()
	}
	v := &Verifier{primary: o.Primary, wait: o.Wait, now: o.Now, close: func() error { return nil }}
	if v.wait == 0 {
		v.wait = DefaultWait
	}
	if v.now == nil {
		v.now = time.Now
	}
	store := lightdb.New(dbm.NewMemDB(), "")
	if o.TrustDir != "" {
		var err error
		if store, v.close, err = OpenTrustStore(o.TrustDir); err != nil {
			return nil, err
		}
	}
	witnesses := o.Witnesses
	if len(witnesses) == 0 {
		witnesses = []provider.Provider{o.Primary}
	}
	opts := []light.Option{light.SkippingVerification(light.DefaultTrustLevel), light.PruningSize(0), light.Logger(o.Logger), light.MaxRetryAttempts(3)}
	if o.Sequential {
		opts[0] = light.SequentialVerification()
	}
	fail := func(err error) (*Verifier, error) {
		v.Close()
		return nil, err
	}
	last, err := store.LastLightBlockHeight()
	if err != nil {
		return fail(err)
	}
	if last > 0 {
		if r := o.Root; r != nil {
			if stored, err := store.LightBlock(r.Height); err != nil || !bytes.Equal(stored.Hash(), r.Hash()) {
				return fail(fmt.Errorf("%w: %s", ErrOtherRoot, o.TrustDir))
			}
		}
		if v.lc, err = light.NewClientFromTrustedStore(o.ChainID, o.TrustingPeriod, o.Primary, witnesses, store, opts...); err != nil {
			return fail(fmt.Errorf("opening the light client on %s: %w", o.TrustDir, err))
		}
		return v, nil
	}
	root := o.Root
	if root == nil {
		if o.Genesis == nil {
			return fail(ErrNoRoot)
		}
		if root, err = TrustFromGenesis(ctx, o.Genesis, o.Primary); err != nil {
			return fail(err)
		}
	}
	v.lc, err = light.NewClient(ctx, o.ChainID, light.TrustOptions{Period: o.TrustingPeriod, Height: root.Height, Hash: root.Hash()},
		o.Primary, witnesses, store, opts...)
	if err != nil {
		return fail(fmt.Errorf("%w at height %d: %s", ErrRootRefused, root.Height, Explain(err)))
	}
	return v, nil
}

// Light is the light client, for callers that walk the trusted headers.
func (v *Verifier) Light() *light.Client { return v.lc }

// LightBlock returns the light block of height h verified from the trust
// root (at once when the store holds it), waiting for the primary to
// commit h if it has not yet.
func (v *Verifier) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	if lb, err := v.lc.TrustedLightBlock(h); err == nil {
		return lb, nil
	}
	if err := v.await(ctx, h); err != nil {
		return nil, err
	}
	lb, err := v.lc.VerifyLightBlockAtHeight(ctx, h, v.now())
	if err != nil {
		return nil, fmt.Errorf("the node's header at height %d does not verify: %s", h, Explain(err))
	}
	return lb, nil
}

// AppHash returns the app hash after block h, from the verified header of
// block h+1: the root every proof read at h is checked against (a
// client.RootSource).
func (v *Verifier) AppHash(ctx context.Context, h int64) ([]byte, error) {
	lb, err := v.LightBlock(ctx, h+1)
	if err != nil {
		return nil, err
	}
	return lb.AppHash, nil
}

// await waits until the primary serves height h (the light client would
// otherwise give up on it as a primary that lost the block).
func (v *Verifier) await(ctx context.Context, h int64) error {
	deadline := time.Now().Add(v.wait)
	for {
		_, err := v.primary.LightBlock(ctx, h)
		if !errors.Is(err, provider.ErrHeightTooHigh) {
			return nil // served, or an error the light client reports
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("block %d did not appear within %s", h, v.wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close lets go of the trust store.
func (v *Verifier) Close() error { return v.close() }

// Verify opens a Verifier with o, verifies the headers of heights and
// closes it.
func Verify(ctx context.Context, o Options, heights ...int64) ([]*cmttypes.LightBlock, error) {
	v, err := Open(ctx, o)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	out := make([]*cmttypes.LightBlock, len(heights))
	for i, h := range heights {
		if out[i], err = v.LightBlock(ctx, h); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Roots returns the app hash after block h from the header of block h+1
// verified by a Verifier opened with o for the call (a client.RootSource
// that holds the trust store only while it verifies).
func Roots(o Options) func(ctx context.Context, h int64) ([]byte, error) {
	return func(ctx context.Context, h int64) ([]byte, error) {
		lbs, err := Verify(ctx, o, h+1)
		if err != nil {
			return nil, err
		}
		return lbs[0].AppHash, nil
	}
}
