package client

import (
	"context"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// ReadTTL is how long a signed read request stays good: long enough for a
// slow network, well within the node's limit (types.MaxReadTTL).
const ReadTTL = 60 * time.Second

// SignedQuery returns a QueryFunc that sends every /key and /list query
// of q's callers as a read request signed by reader's key (types.QueryRead),
// which is the only kind of read a node answers. Other paths pass through
// unchanged. now is the clock the expiry is set from (time.Now when nil).
func SignedQuery(q QueryFunc, chainID, reader string, signer types.Signer, now func() time.Time) QueryFunc {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		if req.Path != types.QueryKey && req.Path != types.QueryList {
			return q(ctx, req)
		}
		raw, err := signRead(chainID, reader, signer, now(), req.Path, req.Data, req.Height, req.Prove)
		if err != nil {
			return nil, err
		}
		return q(ctx, &abci.RequestQuery{Path: types.QueryRead, Data: raw, Height: req.Height, Prove: req.Prove})
	}
}

// signRead returns the encoded read request of path and data at height,
// signed by reader's key, with a fresh nonce, expiring ReadTTL after now.
func signRead(chainID, reader string, signer types.Signer, now time.Time, path string, data []byte, height int64, prove bool) ([]byte, error) {
	return types.NewRead(chainID, reader, signer, now.Add(ReadTTL).Unix(), path, data, height, prove)
}
