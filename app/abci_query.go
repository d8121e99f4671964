package app

import (
	"context"
	"encoding/json"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
)

// Query serves reads from the immutable tree of a committed height (0 =
// latest), never from the tree being written.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.cmu.Lock()
	committed, latest := a.checkedHeight, a.checked
	a.cmu.Unlock()
	var tree *iavl.ImmutableTree
	var err error
	h := req.Height
	if h == 0 {
		h = committed
	}
	switch {
	case committed == 0:
		err = fmt.Errorf("the ledger has no committed block yet; wait for the first block")
	case h < 0 || h > committed:
		err = fmt.Errorf("height %d is not committed yet (latest is %d)", h, committed)
	case h == committed:
		tree = latest
	default:
		tree, err = a.store.readVersion(h)
	}
	if err != nil {
		return queryErr(types.CodeInvalidMsg, err.Error(), h), nil
	}
	switch req.Path {
	case types.QueryKey:
		return queryKey(tree, req.Data, req.Prove, h), nil
	case types.QueryList:
		var lr types.ListRequest
		if err := json.Unmarshal(req.Data, &lr); err != nil {
			return queryErr(types.CodeInvalidMsg, "list request is not valid JSON: "+err.Error(), h), nil
		}
		return queryList(tree, lr, h), nil
	}
	return queryErr(types.CodeInvalidMsg, fmt.Sprintf("unknown query path %q (use %s or %s)", req.Path, types.QueryKey, types.QueryList), h), nil
}

func queryErr(code types.Code, msg string, h int64) *abci.ResponseQuery {
	return &abci.ResponseQuery{Code: uint32(code), Log: msg, Codespace: types.Codespace, Height: h}
}

func queryKey(tree *iavl.ImmutableTree, key []byte, prove bool, h int64) *abci.ResponseQuery {
	if len(key) == 0 {
		return queryErr(types.CodeInvalidMsg, "empty key", h)
	}
	v, err := tree.Get(key)
	if err != nil {
		return queryErr(types.CodeInternal, err.Error(), h)
	}
	resp := &abci.ResponseQuery{Key: key, Value: v, Height: h}
	if prove {
		p, err := proof(tree, key, v != nil)
		if err != nil {
			return queryErr(types.CodeInternal, "building proof: "+err.Error(), h)
		}
		resp.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: types.ProofOpType, Key: key, Data: p}}}
	}
	return resp
}

func proof(tree *iavl.ImmutableTree, key []byte, exists bool) ([]byte, error) {
	if exists {
		p, err := tree.GetMembershipProof(key)
		if err != nil {
			return nil, err
		}
		return p.Marshal()
	}
	p, err := tree.GetNonMembershipProof(key)
	if err != nil {
		return nil, err
	}
	return p.Marshal()
}

func queryList(tree *iavl.ImmutableTree, lr types.ListRequest, h int64) *abci.ResponseQuery {
	if lr.Prefix == "" {
		return queryErr(types.CodeInvalidMsg, "list needs a prefix", h)
	}
	if lr.Limit <= 0 || lr.Limit > types.MaxListLimit {
		lr.Limit = types.MaxListLimit
	}
	start := []byte(lr.Prefix)
	if lr.After >= lr.Prefix {
		// An After below the prefix must not widen the listing.
		start = append([]byte(lr.After), 0)
	}
	resp := types.ListResponse{Entries: []types.ListEntry{}}
	var perr error
	err := iteratePrefixFrom(tree, []byte(lr.Prefix), start, func(k, v []byte) bool {
		if len(resp.Entries) == lr.Limit {
			resp.More = true
			return false
		}
		e := types.ListEntry{Key: string(k), Value: v}
		if lr.Prove {
			e.Proof, perr = proof(tree, k, true)
			if perr != nil {
				return false
			}
		}
		resp.Entries = append(resp.Entries, e)
		return true
	})
	if err == nil {
		err = perr
	}
	if err != nil {
		return queryErr(types.CodeInternal, err.Error(), h)
	}
	bz, err := json.Marshal(resp)
	if err != nil {
		return queryErr(types.CodeInternal, err.Error(), h)
	}
	return &abci.ResponseQuery{Key: []byte(lr.Prefix), Value: bz, Height: h}
}
