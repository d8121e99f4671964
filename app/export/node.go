package export

import (
	"context"
	"encoding/base64"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
)

// NodeSource prepares an export from a node: it resolves the height
// (height 0: the study's database lock height, or the latest height when
// the study is not locked), reads the block context (block hash and time,
// the app hash from the next header, the validators and which of them
// signed the block) and returns a reader pinned to that height with the
// height's basis (HeightBasis).
func NodeSource(ctx context.Context, cl *client.Client, study string, height int64) (*client.Reader, Block, string, error) {
	latest, err := cl.Height(ctx)
	if err != nil {
		return nil, Block{}, "", err
	}
	if height == 0 {
		s, err := cl.Reader(latest, false).Study(ctx, study)
		if err != nil {
			return nil, Block{}, "", err
		}
		height = latest
		if s.LockHeight > 0 {
			height = s.LockHeight
		}
	} else if height > latest {
		return nil, Block{}, "", fmt.Errorf("height %d is not committed yet (latest is %d)", height, latest)
	}
	r := cl.Reader(height, false)
	s, err := r.Study(ctx, study)
	if err != nil {
		return nil, Block{}, "", err
	}
	b, err := nodeBlock(ctx, cl, height)
	if err != nil {
		return nil, Block{}, "", err
	}
	return r, b, HeightBasis(s, height), nil
}

// nodeBlock reads the consensus context of height h: the light blocks of
// h and h+1 (waiting for h+1), verified by the client's HeaderVerifier
// when it has one (client.VerifyWith).
func nodeBlock(ctx context.Context, cl *client.Client, h int64) (Block, error) {
	lbN, err := cl.VerifiedLightBlock(ctx, h+1)
	if err != nil {
		return Block{}, fmt.Errorf("reading block %d: %w", h+1, err)
	}
	lbH, err := cl.VerifiedLightBlock(ctx, h)
	if err != nil {
		return Block{}, fmt.Errorf("reading block %d: %w", h, err)
	}
	return BlockOf(lbH, lbN), nil
}

// BlockOf is the consensus context of an export at the height of lbH:
// its block, its commit and validators (in lbH) and the app hash in the
// header of the next block, lbN.
func BlockOf(lbH, lbN *cmttypes.LightBlock) Block {
	b := Block{ChainID: lbH.ChainID, Height: lbH.Height, Time: lbH.Time.UTC(), Hash: fmt.Sprintf("%X", lbH.Hash()),
		AppHash: fmt.Sprintf("%X", []byte(lbN.AppHash)), NextHash: fmt.Sprintf("%X", lbN.Hash())}
	signed := map[string]bool{}
	for _, s := range lbH.Commit.Signatures {
		if s.BlockIDFlag == cmttypes.BlockIDFlagCommit {
			signed[s.ValidatorAddress.String()] = true
		}
	}
	for _, v := range lbH.ValidatorSet.Validators {
		b.Validators = append(b.Validators, Validator{Address: v.Address.String(), PubKey: base64.StdEncoding.EncodeToString(v.PubKey.Bytes()),
			Power: v.VotingPower, Signed: signed[v.Address.String()]})
	}
	return b
}
