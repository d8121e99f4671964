package app

import (
	"fmt"
	"strconv"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/veritrial/veritrial/app/types"
)

// nonceFilter lets CheckTx and FinalizeBlock skip the tree lookup for a
// nonce that was certainly never committed, the answer for almost every
// tx: that lookup walks to where the new key would sit, among the nodes
// the last blocks just wrote, which the node cache has not seen yet (it
// was 6% of a loaded node's CPU in CheckTx, 1.4% in FinalizeBlock). It
// holds Bloom filters of the committed nonce keys, grouped by expiry
// height so that a group is dropped whole once every expiry in it has
// passed, as the ledger prunes the records.
//
// A filter has no false negatives: "absent" is exact, "maybe" falls back
// to the tree, so the verdict is the tree's either way. That is what lets
// FinalizeBlock, whose verdicts every validator must share, use it: see
// nonceSeen. It lives in memory only and is rebuilt from the committed
// tree when the node starts; it changes only at Commit (under the App's
// mu and cmu), so FinalizeBlock (under mu) and CheckTx (under cmu) both
// read it safely.
type nonceFilter struct {
	groups map[int64]*nonceGroup
}

// nonceGroup holds the filters of the nonces whose expiry height falls in
// one span of nonceGroupSpan heights; a full filter is followed by a new one.
type nonceGroup struct {
	filters []*bloom.BloomFilter
	last    uint // entries in the last filter
}

const (
	nonceGroupSpan  = 100     // heights per group
	nonceFilterSize = 100_000 // entries per filter (about 180 KB)
	nonceFilterFP   = 0.001   // false-positive rate of a full filter
)

func newNonceFilter() *nonceFilter { return &nonceFilter{groups: map[int64]*nonceGroup{}} }

// add records a committed nonce key with its expiry height.
func (f *nonceFilter) add(key []byte, expires int64) {
	g := f.groups[expires/nonceGroupSpan]
	if g == nil {
		g = &nonceGroup{}
		f.groups[expires/nonceGroupSpan] = g
	}
	if len(g.filters) == 0 || g.last >= nonceFilterSize {
		g.filters = append(g.filters, bloom.NewWithEstimates(nonceFilterSize, nonceFilterFP))
		g.last = 0
	}
	g.filters[len(g.filters)-1].Add(key)
	g.last++
}

// mayContain is false only when key was certainly never added.
func (f *nonceFilter) mayContain(key []byte, expires int64) bool {
	g := f.groups[expires/nonceGroupSpan]
	if g == nil {
		return false
	}
	for _, bf := range g.filters {
		if bf.Test(key) {
			return true
		}
	}
	return false
}

// prune drops the groups whose expiry heights are all below height.
func (f *nonceFilter) prune(height int64) {
	for id := range f.groups {
		if (id+1)*nonceGroupSpan-1 < height {
			delete(f.groups, id)
		}
	}
}

// nonceExpiry reads the expiry height from a nonce key
// (nonce/<expiry:012>/<signer>/<nonce>).
func nonceExpiry(key []byte) (int64, error) {
	p := len(types.PrefixNonce)
	if len(key) < p+13 || key[p+12] != '/' {
		return 0, fmt.Errorf("malformed nonce key %q", key)
	}
	return strconv.ParseInt(string(key[p:p+12]), 10, 64)
}

// nonceSeen says where a nonce may already be in the tree a verdict reads:
// committed holds every nonce committed up to the tree's base version (a
// superset: that is all a Bloom filter promises), and block, in
// FinalizeBlock, the nonces this block's earlier txs wrote to the working
// tree; CheckTx's is nil, as its tree is the committed one. A nonce in
// neither is certainly absent. Expired nonces pruned from the tree at the
// start of a block may still test "maybe"; the tree then answers, and a tx
// carrying one is refused as expired before its nonce is looked at.
type nonceSeen struct {
	committed *nonceFilter
	block     map[string]int64 // key -> expiry height (App.blockNonces)
}

// inBlock says whether an earlier tx of the block wrote key.
func (s *nonceSeen) inBlock(key []byte) bool {
	_, ok := s.block[string(key)]
	return ok
}
