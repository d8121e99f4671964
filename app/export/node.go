package export

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

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

// nodeBlock reads the consensus context of height h.
func nodeBlock(ctx context.Context, cl *client.Client, h int64) (Block, error) {
	rpc := cl.RPC()
	appHash, err := cl.AppHash(ctx, h) // waits for block h+1
	if err != nil {
		return Block{}, err
	}
	com, err := rpc.Commit(ctx, &h)
	if err != nil {
		return Block{}, fmt.Errorf("reading the commit of block %d: %w", h, err)
	}
	next := h + 1
	nh, err := rpc.Header(ctx, &next)
	if err != nil || nh.Header == nil {
		return Block{}, fmt.Errorf("reading the header of block %d: %v", next, err)
	}
	if !strings.EqualFold(fmt.Sprintf("%X", nh.Header.AppHash), fmt.Sprintf("%X", appHash)) {
		return Block{}, fmt.Errorf("the node reported two app hashes for height %d", h)
	}
	b := Block{
		ChainID:  com.Header.ChainID,
		Height:   h,
		Time:     com.Header.Time.UTC(),
		Hash:     fmt.Sprintf("%X", com.Commit.BlockID.Hash),
		AppHash:  fmt.Sprintf("%X", appHash),
		NextHash: fmt.Sprintf("%X", nh.Header.Hash()),
	}
	signed := map[string]bool{}
	for _, s := range com.Commit.Signatures {
		if s.BlockIDFlag == cmttypes.BlockIDFlagCommit {
			signed[s.ValidatorAddress.String()] = true
		}
	}
	page, perPage := 1, 100
	for {
		vs, err := rpc.Validators(ctx, &h, &page, &perPage)
		if err != nil {
			return Block{}, fmt.Errorf("reading the validators of block %d: %w", h, err)
		}
		for _, v := range vs.Validators {
			b.Validators = append(b.Validators, Validator{
				Address: v.Address.String(), PubKey: base64.StdEncoding.EncodeToString(v.PubKey.Bytes()),
				Power: v.VotingPower, Signed: signed[v.Address.String()],
			})
		}
		if len(b.Validators) >= vs.Total || len(vs.Validators) == 0 {
			break
		}
		page++
	}
	return b, nil
}
