package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
)

// valSet is a validator set with its keys.
type valSet struct {
	vals  *cmttypes.ValidatorSet
	privs []cmttypes.PrivValidator
}

func newValSet(n int) valSet {
	v, p := cmttypes.RandValidatorSet(n, 10)
	return valSet{v, p}
}

// genChain builds headers 1..n; set(h) is the validator set signing
// height h, appHash(h) the app hash in header h.
func genChain(tb testing.TB, chainID string, t0 time.Time, n int64, set func(h int64) valSet, appHash func(h int64) []byte) memProvider {
	tb.Helper()
	p := memProvider{chainID: chainID, headers: map[int64]*cmttypes.SignedHeader{}, vals: map[int64]*cmttypes.ValidatorSet{}}
	var last cmttypes.BlockID
	for h := int64(1); h <= n; h++ {
		vs, next := set(h), set(h+1)
		hdr := &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: chainID, Height: h, Time: t0.Add(time.Duration(h) * time.Second),
			LastBlockID: last, ValidatorsHash: vs.vals.Hash(), NextValidatorsHash: next.vals.Hash(), ConsensusHash: tmhash.Sum([]byte("c")),
			AppHash: appHash(h), DataHash: tmhash.Sum(nil), LastResultsHash: tmhash.Sum(nil), EvidenceHash: tmhash.Sum(nil),
			LastCommitHash: tmhash.Sum(nil), ProposerAddress: vs.vals.Validators[0].Address}
		id := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("p"))}}
		voteSet := cmttypes.NewVoteSet(chainID, h, 0, cmtproto.PrecommitType, vs.vals)
		ec, err := cmttypes.MakeExtCommit(id, h, 0, voteSet, vs.privs, hdr.Time.Add(time.Second), false)
		if err != nil {
			tb.Fatal(err)
		}
		p.headers[h] = &cmttypes.SignedHeader{Header: hdr, Commit: ec.ToCommit()}
		p.vals[h] = vs.vals
		last = id
	}
	return p
}

// handover is a chain of 40 headers whose validators a hand over to b at
// height 20; c never signs any of them.
type handover struct {
	a, b, c valSet
	good    memProvider
}

func newHandover(tb testing.TB, chainID string, t0 time.Time) handover {
	ho := handover{a: newValSet(4), b: newValSet(3), c: newValSet(4)}
	ho.good = genChain(tb, chainID, t0, 40, ho.sets, handoverHash)
	return ho
}

// sets is the validator set signing height h.
func (ho handover) sets(h int64) valSet {
	if h >= 20 {
		return ho.b
	}
	return ho.a
}

// handoverHash is the app hash in header h.
func handoverHash(h int64) []byte { return tmhash.Sum([]byte(fmt.Sprint(h))) }

// forgeHeader returns a copy of good whose header at height h is signed
// by the validators forger instead of those the chain handed over to.
func forgeHeader(tb testing.TB, good memProvider, t0 time.Time, h int64, set func(int64) valSet, forger valSet, appHash func(int64) []byte) memProvider {
	other := genChain(tb, good.chainID, t0, int64(len(good.headers)), func(x int64) valSet {
		if x == h {
			return forger
		}
		return set(x)
	}, appHash)
	forged := memProvider{chainID: good.chainID, headers: map[int64]*cmttypes.SignedHeader{}, vals: map[int64]*cmttypes.ValidatorSet{}}
	for x := range good.headers {
		forged.headers[x], forged.vals[x] = good.headers[x], good.vals[x]
	}
	forged.headers[h], forged.vals[h] = other.headers[h], other.vals[h]
	return forged
}

func genesisOf(chainID string, t0 time.Time, vs valSet) *cmttypes.GenesisDoc {
	g := &cmttypes.GenesisDoc{ChainID: chainID, GenesisTime: t0, InitialHeight: 1}
	for _, v := range vs.vals.Validators {
		g.Validators = append(g.Validators, cmttypes.GenesisValidator{Address: v.Address, PubKey: v.PubKey, Power: v.VotingPower})
	}
	return g
}

func memSource(primary memProvider, witnesses ...memProvider) func(context.Context, ChainOptions, string) (*chainSource, error) {
	return func(context.Context, ChainOptions, string) (*chainSource, error) {
		cs := &chainSource{primary: newPrefetcher(primary), latest: int64(len(primary.headers))}
		cs.witnessLatest = cs.latest
		for _, w := range witnesses {
			cs.witnesses = append(cs.witnesses, newPrefetcher(w))
		}
		return cs, nil
	}
}

// TestVerifyChain runs VerifyChain on generated chains: a validator set
// change is followed and reported, a run resumes, and the first failing
// height is named for a forged header, a wrong genesis and a witness with
// a conflicting chain.
func TestVerifyChain(t *testing.T) {
	const chainID = "audit-test"
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	ho := newHandover(t, chainID, t0)
	a, b, c, sets, hash, good := ho.a, ho.b, ho.c, ho.sets, handoverHash, ho.good
	ctx := context.Background()

	// From genesis to 25, then resumed to 40.
	dir := t.TempDir()
	o := ChainOptions{Genesis: genesisOf(chainID, t0, a), Primary: "mem", TrustDir: dir, To: 25, source: memSource(good)}
	rep, err := VerifyChain(ctx, o)
	if err != nil || !rep.OK() || rep.From != 1 || rep.To != 25 || rep.VerifiedNow != 24 || rep.Resumed {
		t.Fatalf("first run: %v %+v", err, rep)
	}
	o.To = 0
	rep, err = VerifyChain(ctx, o)
	if err != nil || !rep.OK() || rep.To != 40 || rep.VerifiedNow != 15 || !rep.Resumed {
		t.Fatalf("resumed run: %v %+v", err, rep)
	}
	if len(rep.ValidatorHistory) != 2 || rep.ValidatorHistory[0].Height != 1 || len(rep.ValidatorHistory[0].Validators) != 4 ||
		rep.ValidatorHistory[1].Height != 20 || len(rep.ValidatorHistory[1].Validators) != 3 || rep.ValidatorHistory[1].Hash != fmt.Sprintf("%X", b.vals.Hash()) {
		t.Errorf("validator history: %+v", rep.ValidatorHistory)
	}
	if lb, err := TrustedHeader(dir, 33); err != nil || lb.Height != 33 {
		t.Errorf("trusted header 33: %v", err)
	}
	// The trust dir's own root, without a genesis.
	rep, err = VerifyChain(ctx, ChainOptions{Primary: "mem", TrustDir: dir, source: memSource(good)})
	if err != nil || !rep.OK() || !strings.Contains(rep.TrustRoot, "kept in the trust dir") {
		t.Errorf("run from the trust dir's root: %v %+v", err, rep)
	}

	// Height 30 signed by validators the chain never handed over to.
	forged := forgeHeader(t, good, t0, 30, sets, c, hash)
	rep, err = VerifyChain(ctx, ChainOptions{Genesis: genesisOf(chainID, t0, a), Primary: "mem", TrustDir: t.TempDir(), source: memSource(forged)})
	if err != nil || rep.OK() || rep.Failure.Height != 30 || rep.To != 29 || !strings.Contains(rep.Failure.Reason, "header 30 does not verify against header 29") {
		t.Errorf("forged header: %v %+v", err, rep)
	} else {
		t.Logf("forged header: %s", rep.Failure.Reason)
	}

	// A genesis naming other validators.
	rep, err = VerifyChain(ctx, ChainOptions{Genesis: genesisOf(chainID, t0, c), Primary: "mem", TrustDir: t.TempDir(), source: memSource(good)})
	if err != nil || rep.OK() || rep.Failure.Height != 1 || !strings.Contains(rep.Failure.Reason, "genesis validators hash to") {
		t.Errorf("wrong genesis: %v %+v", err, rep)
	}

	// A witness whose chain forks at height 10 (signed by the same
	// validators: a light client attack).
	fork := genChain(t, chainID, t0, 40, sets, func(h int64) []byte {
		if h >= 10 {
			return tmhash.Sum([]byte(fmt.Sprint("fork", h)))
		}
		return hash(h)
	})
	o = ChainOptions{Genesis: genesisOf(chainID, t0, a), Primary: "mem", Witnesses: []string{"fork"}, TrustDir: t.TempDir(), source: memSource(good, fork)}
	rep, err = VerifyChain(ctx, o)
	if err != nil || rep.OK() || rep.Failure.Height != 10 || !strings.Contains(rep.Failure.Reason, "attack") {
		t.Errorf("forked witness: %v %+v", err, rep)
	} else {
		t.Logf("forked witness: %s", rep.Failure.Reason)
	}
	// The same witness agreeing: cross-checked.
	o = ChainOptions{Genesis: genesisOf(chainID, t0, a), Primary: "mem", Witnesses: []string{"copy"}, TrustDir: t.TempDir(), source: memSource(good, good)}
	if rep, err = VerifyChain(ctx, o); err != nil || !rep.OK() || !rep.CrossChecked || rep.To != 40 {
		t.Errorf("agreeing witness: %v %+v", err, rep)
	}
	// A trusted header instead of the genesis; a wrong one fails at once.
	o = ChainOptions{ChainID: chainID, TrustedHeight: 5, TrustedHash: good.headers[5].Hash(), Primary: "mem", TrustDir: t.TempDir(), source: memSource(good)}
	if rep, err = VerifyChain(ctx, o); err != nil || !rep.OK() || rep.From != 5 || rep.To != 40 {
		t.Errorf("trusted header: %v %+v", err, rep)
	}
	o.TrustedHash, o.TrustDir = good.headers[6].Hash(), t.TempDir()
	if rep, err = VerifyChain(ctx, o); err != nil || rep.OK() || rep.Failure.Height != 5 {
		t.Errorf("wrong trusted hash: %v %+v", err, rep)
	}
}
