package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
)

// Query answers the node's ABCI queries: signed read requests (/read,
// see read.go), which alone reach the ledger's records, and CometBFT's
// peer filter (/p2p/filter/..., see peerfilter.go). A /key or /list
// query outside a signed request is refused (read_unsigned).
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	switch {
	case req.Path == types.QueryRead:
		return a.queryRead(req.Data, time.Now()), nil
	case strings.HasPrefix(req.Path, peerFilterPrefix):
		return a.filterPeer(strings.TrimPrefix(req.Path, peerFilterPrefix)), nil
	case req.Path == types.QueryKey || req.Path == types.QueryList:
		return a.refuseUnsigned(req, time.Now()), nil
	}
	return queryErr(types.CodeInvalidMsg, fmt.Sprintf("unknown query path %q (reads are signed requests on %s)", req.Path, types.QueryRead), req.Height), nil
}

// TrustedQuery answers /key and /list from the committed state without a
// signed request, a read policy or an access log entry. It is for
// in-process callers only, which hold the node's store anyway (tests,
// tools built on the App): no ABCI connection or API reaches it, and none
// must.
func (a *App) TrustedQuery(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	st, committed := a.committedState()
	res, _ := a.answer(st, committed, req.Path, req.Data, req.Height, req.Prove, nil)
	return res, nil
}

// committedState returns the last committed version and its height (nil
// and 0 before the first block).
func (a *App) committedState() (*iavl.ImmutableTree, int64) {
	a.cmu.Lock()
	defer a.cmu.Unlock()
	return a.checked, a.checkedHeight
}

// answer answers /key or /list at height h (0 = latest) from the
// immutable tree of a committed height, never from the tree being
// written; latest is the version committed at height committed. With
// sees, a key the reader may not see is refused (read_not_visible)
// whether or not it exists, and a list leaves such entries out. It also
// returns how many records it answered.
func (a *App) answer(latest *iavl.ImmutableTree, committed int64, path string, data []byte, h int64, prove bool, sees func([]byte) bool) (*abci.ResponseQuery, int) {
	var tree *iavl.ImmutableTree
	var err error
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
		return queryErr(types.CodeInvalidMsg, err.Error(), h), 0
	}
	switch path {
	case types.QueryKey:
		if len(data) != 0 && sees != nil && !sees(data) {
			return queryErr(types.CodeReadNotVisible, notVisible, h), 0
		}
		res := queryKey(tree, data, prove, h)
		if res.Value != nil {
			return res, 1
		}
		return res, 0
	case types.QueryList:
		var lr types.ListRequest
		if err := json.Unmarshal(data, &lr); err != nil {
			return queryErr(types.CodeInvalidMsg, "list request is not valid JSON: "+err.Error(), h), 0
		}
		return queryList(tree, lr, h, sees)
	}
	return queryErr(types.CodeInvalidMsg, fmt.Sprintf("unknown query path %q (use %s or %s)", path, types.QueryKey, types.QueryList), h), 0
}

// notVisible is the refusal of a record the reader may not read; it says
// nothing of whether the record exists.
const notVisible = "the read policy does not let this reader read this record (docs/PRIVACY.md, \"Who reads what\")"

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

// queryList lists up to lr.Limit entries under lr.Prefix after lr.After;
// with sees, only those the reader may see, and More says whether there
// is another one it may see: nothing tells of the others.
func queryList(tree *iavl.ImmutableTree, lr types.ListRequest, h int64, sees func([]byte) bool) (*abci.ResponseQuery, int) {
	if lr.Prefix == "" {
		return queryErr(types.CodeInvalidMsg, "list needs a prefix", h), 0
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
		if sees != nil && !sees(k) {
			return true
		}
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
		return queryErr(types.CodeInternal, err.Error(), h), 0
	}
	bz, err := json.Marshal(resp)
	if err != nil {
		return queryErr(types.CodeInternal, err.Error(), h), 0
	}
	return &abci.ResponseQuery{Key: []byte(lr.Prefix), Value: bz, Height: h}, len(resp.Entries)
}
