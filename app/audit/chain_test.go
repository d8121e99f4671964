package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"

	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/lightroot/lighttest"
)

func memSource(primary *lighttest.Chain, witnesses ...*lighttest.Chain) func(context.Context, ChainOptions, string) (*chainSource, error) {
	return func(context.Context, ChainOptions, string) (*chainSource, error) {
		cs := &chainSource{primary: newPrefetcher(primary), latest: primary.Len()}
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
	ho := lighttest.NewHandover(t, chainID, t0)
	a, b, c, sets, hash, good := ho.A, ho.B, ho.C, ho.Sets, lighttest.HandoverHash, ho.Good
	ctx := context.Background()

	// From genesis to 25, then resumed to 40.
	dir := t.TempDir()
	o := ChainOptions{Genesis: lighttest.Genesis(chainID, t0, a), Primary: "mem", TrustDir: dir, To: 25, source: memSource(good)}
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
		rep.ValidatorHistory[1].Height != 20 || len(rep.ValidatorHistory[1].Validators) != 3 || rep.ValidatorHistory[1].Hash != fmt.Sprintf("%X", b.Vals.Hash()) {
		t.Errorf("validator history: %+v", rep.ValidatorHistory)
	}
	if lbs, err := lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: lighttest.Generate(t, chainID, t0, 1, sets, hash)}, 33); err != nil || lbs[0].Height != 33 {
		t.Errorf("header 33 from the trust dir alone: %v", err)
	}
	// The trust dir's own root, without a genesis.
	rep, err = VerifyChain(ctx, ChainOptions{Primary: "mem", TrustDir: dir, source: memSource(good)})
	if err != nil || !rep.OK() || !strings.Contains(rep.TrustRoot, "kept in the trust dir") {
		t.Errorf("run from the trust dir's root: %v %+v", err, rep)
	}

	// A trust dir a skipping light client filled first (show --prove,
	// export): verify-chain still checks every header one by one, the
	// stored ones included, and follows the validator set.
	skipped := t.TempDir()
	if _, err := lightroot.Verify(ctx, lightroot.Options{Genesis: lighttest.Genesis(chainID, t0, a), TrustDir: skipped, Primary: good}, 30); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyChain(ctx, ChainOptions{Genesis: lighttest.Genesis(chainID, t0, a), Primary: "mem", TrustDir: skipped, source: memSource(good)})
	if err != nil || !rep.OK() || rep.From != 1 || rep.To != 40 || rep.VerifiedNow != 39 || len(rep.ValidatorHistory) != 2 || rep.ValidatorHistory[1].Height != 20 {
		t.Fatalf("verify-chain over headers verified by skipping: %v %+v", err, rep)
	}

	// Height 30 signed by validators the chain never handed over to.
	forged := good.Forge(t, t0, 30, sets, c, hash)
	rep, err = VerifyChain(ctx, ChainOptions{Genesis: lighttest.Genesis(chainID, t0, a), Primary: "mem", TrustDir: t.TempDir(), source: memSource(forged)})
	if err != nil || rep.OK() || rep.Failure.Height != 30 || rep.To != 29 || !strings.Contains(rep.Failure.Reason, "header 30 does not verify against header 29") {
		t.Errorf("forged header: %v %+v", err, rep)
	} else {
		t.Logf("forged header: %s", rep.Failure.Reason)
	}

	// A genesis naming other validators.
	rep, err = VerifyChain(ctx, ChainOptions{Genesis: lighttest.Genesis(chainID, t0, c), Primary: "mem", TrustDir: t.TempDir(), source: memSource(good)})
	if err != nil || rep.OK() || rep.Failure.Height != 1 || !strings.Contains(rep.Failure.Reason, "genesis validators hash to") {
		t.Errorf("wrong genesis: %v %+v", err, rep)
	}

	// A witness whose chain forks at height 10 (signed by the same
	// validators: a light client attack).
	fork := lighttest.Generate(t, chainID, t0, 40, sets, func(h int64) []byte {
		if h >= 10 {
			return tmhash.Sum([]byte(fmt.Sprint("fork", h)))
		}
		return hash(h)
	})
	o = ChainOptions{Genesis: lighttest.Genesis(chainID, t0, a), Primary: "mem", Witnesses: []string{"fork"}, TrustDir: t.TempDir(), source: memSource(good, fork)}
	rep, err = VerifyChain(ctx, o)
	if err != nil || rep.OK() || rep.Failure.Height != 10 || !strings.Contains(rep.Failure.Reason, "attack") {
		t.Errorf("forked witness: %v %+v", err, rep)
	} else {
		t.Logf("forked witness: %s", rep.Failure.Reason)
	}
	// The same witness agreeing: cross-checked.
	o = ChainOptions{Genesis: lighttest.Genesis(chainID, t0, a), Primary: "mem", Witnesses: []string{"copy"}, TrustDir: t.TempDir(), source: memSource(good, good)}
	if rep, err = VerifyChain(ctx, o); err != nil || !rep.OK() || !rep.CrossChecked || rep.To != 40 {
		t.Errorf("agreeing witness: %v %+v", err, rep)
	}
	// A trusted header instead of the genesis; a wrong one fails at once.
	o = ChainOptions{ChainID: chainID, TrustedHeight: 5, TrustedHash: good.Header(5).Hash(), Primary: "mem", TrustDir: t.TempDir(), source: memSource(good)}
	if rep, err = VerifyChain(ctx, o); err != nil || !rep.OK() || rep.From != 5 || rep.To != 40 {
		t.Errorf("trusted header: %v %+v", err, rep)
	}
	o.TrustedHash, o.TrustDir = good.Header(6).Hash(), t.TempDir()
	if rep, err = VerifyChain(ctx, o); err != nil || rep.OK() || rep.Failure.Height != 5 {
		t.Errorf("wrong trusted hash: %v %+v", err, rep)
	}
}
