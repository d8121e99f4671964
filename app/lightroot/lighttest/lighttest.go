// Package lighttest builds chains of signed headers in memory for tests
// of the light client's users: validator sets with their keys, a chain
// they sign served as a light block provider, a forged header, and a
// lying node that rewrites the app hash of the headers it serves.
package lighttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/light/provider"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
)

// ValSet is a validator set with its keys.
type ValSet struct {
	Vals  *cmttypes.ValidatorSet
	Privs []cmttypes.PrivValidator
}

// NewValSet returns n validators of power 10.
func NewValSet(n int) ValSet {
	v, p := cmttypes.RandValidatorSet(n, 10)
	return ValSet{v, p}
}

// Chain is a chain of signed headers served from memory: a light block
// provider without the 10 ms delay of CometBFT's mock provider. Height 0
// is the latest; above it, provider.ErrHeightTooHigh.
type Chain struct {
	ID string

	mu      sync.Mutex
	headers map[int64]*cmttypes.SignedHeader
	vals    map[int64]*cmttypes.ValidatorSet
	latest  int64
}

// Generate builds headers 1..n of chain chainID, one a second from t0;
// set(h) is the validator set signing height h, appHash(h) the app hash
// in header h.
func Generate(tb testing.TB, chainID string, t0 time.Time, n int64, set func(h int64) ValSet, appHash func(h int64) []byte) *Chain {
	tb.Helper()
	c := &Chain{ID: chainID, headers: map[int64]*cmttypes.SignedHeader{}, vals: map[int64]*cmttypes.ValidatorSet{}, latest: n}
	var last cmttypes.BlockID
	for h := int64(1); h <= n; h++ {
		vs, next := set(h), set(h+1)
		hdr := &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: chainID, Height: h, Time: t0.Add(time.Duration(h) * time.Second),
			LastBlockID: last, ValidatorsHash: vs.Vals.Hash(), NextValidatorsHash: next.Vals.Hash(), ConsensusHash: tmhash.Sum([]byte("c")),
			AppHash: appHash(h), DataHash: tmhash.Sum(nil), LastResultsHash: tmhash.Sum(nil), EvidenceHash: tmhash.Sum(nil),
			LastCommitHash: tmhash.Sum(nil), ProposerAddress: vs.Vals.Validators[0].Address}
		id := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("p"))}}
		voteSet := cmttypes.NewVoteSet(chainID, h, 0, cmtproto.PrecommitType, vs.Vals)
		ec, err := cmttypes.MakeExtCommit(id, h, 0, voteSet, vs.Privs, hdr.Time.Add(time.Second), false)
		if err != nil {
			tb.Fatal(err)
		}
		c.headers[h] = &cmttypes.SignedHeader{Header: hdr, Commit: ec.ToCommit()}
		c.vals[h] = vs.Vals
		last = id
	}
	return c
}

// ChainID implements provider.Provider.
func (c *Chain) ChainID() string { return c.ID }

// String names the chain.
func (c *Chain) String() string { return "memory chain " + c.ID }

// LightBlock implements provider.Provider.
func (c *Chain) LightBlock(_ context.Context, h int64) (*cmttypes.LightBlock, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == 0 {
		h = c.latest
	}
	if h > c.latest {
		return nil, provider.ErrHeightTooHigh
	}
	sh, ok := c.headers[h]
	if !ok {
		return nil, provider.ErrLightBlockNotFound
	}
	return &cmttypes.LightBlock{SignedHeader: sh, ValidatorSet: c.vals[h]}, nil
}

// ReportEvidence implements provider.Provider.
func (c *Chain) ReportEvidence(context.Context, cmttypes.Evidence) error { return nil }

// Header returns the signed header at h.
func (c *Chain) Header(h int64) *cmttypes.SignedHeader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.headers[h]
}

// Len is the number of headers.
func (c *Chain) Len() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.headers))
}

// SetLatest makes the chain serve headers up to h only, as a node that has
// committed h.
func (c *Chain) SetLatest(h int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest = h
}

// Forge returns a copy of c whose header at height h is signed by forger
// instead of set(h) (set and appHash as c was generated with).
func (c *Chain) Forge(tb testing.TB, t0 time.Time, h int64, set func(int64) ValSet, forger ValSet, appHash func(int64) []byte) *Chain {
	tb.Helper()
	other := Generate(tb, c.ID, t0, c.Len(), func(x int64) ValSet {
		if x == h {
			return forger
		}
		return set(x)
	}, appHash)
	forged := &Chain{ID: c.ID, headers: map[int64]*cmttypes.SignedHeader{}, vals: map[int64]*cmttypes.ValidatorSet{}, latest: c.latest}
	for x := range c.headers {
		forged.headers[x], forged.vals[x] = c.headers[x], c.vals[x]
	}
	forged.headers[h], forged.vals[h] = other.headers[h], other.vals[h]
	return forged
}

// Genesis is a genesis document naming vs as the validators.
func Genesis(chainID string, t0 time.Time, vs ValSet) *cmttypes.GenesisDoc {
	g := &cmttypes.GenesisDoc{ChainID: chainID, GenesisTime: t0, InitialHeight: 1}
	for _, v := range vs.Vals.Validators {
		g.Validators = append(g.Validators, cmttypes.GenesisValidator{Address: v.Address, PubKey: v.PubKey, Power: v.VotingPower})
	}
	return g
}

// Handover is a chain of 40 headers whose validators A hand over to B at
// height 20; C never signs any of them.
type Handover struct {
	A, B, C ValSet
	Good    *Chain
}

// NewHandover generates a Handover chain.
func NewHandover(tb testing.TB, chainID string, t0 time.Time) Handover {
	ho := Handover{A: NewValSet(4), B: NewValSet(3), C: NewValSet(4)}
	ho.Good = Generate(tb, chainID, t0, 40, ho.Sets, HandoverHash)
	return ho
}

// Sets is the validator set signing height h.
func (ho Handover) Sets(h int64) ValSet {
	if h >= 20 {
		return ho.B
	}
	return ho.A
}

// HandoverHash is the app hash in header h of a Handover chain.
func HandoverHash(h int64) []byte { return tmhash.Sum([]byte(fmt.Sprint(h))) }

// RewriteAppHash is a lying node: it serves the light blocks of the
// provider it wraps with the app hash of every header from height From on
// replaced by AppHash, signatures untouched.
type RewriteAppHash struct {
	provider.Provider
	From    int64
	AppHash []byte
}

// LightBlock implements provider.Provider.
func (r RewriteAppHash) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	lb, err := r.Provider.LightBlock(ctx, h)
	if err != nil || lb.Height < r.From {
		return lb, err
	}
	hdr := *lb.Header
	hdr.AppHash = r.AppHash
	return &cmttypes.LightBlock{SignedHeader: &cmttypes.SignedHeader{Header: &hdr, Commit: lb.Commit}, ValidatorSet: lb.ValidatorSet}, nil
}
