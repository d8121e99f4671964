package archive

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/light"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/lightroot/lighttest"
)

// overlapHandover is a chain of 40 headers whose four validators A hand
// over at height 20 to B, three of them: A's commitment to B is trusted
// across a skip by the light client (3/4 of A signs B's headers), so only
// the bundle's own rule refuses a skipped change.
func overlapHandover(t *testing.T, t0 time.Time) (lighttest.ValSet, func(int64) lighttest.ValSet, *lighttest.Chain) {
	a := lighttest.NewValSet(4)
	var b lighttest.ValSet
	var vals []*cmttypes.Validator
	for _, v := range a.Vals.Validators[:3] {
		vals = append(vals, v.Copy())
	}
	b.Vals = cmttypes.NewValidatorSet(vals)
	for _, p := range a.Privs {
		pk, _ := p.GetPubKey()
		if b.Vals.HasAddress(pk.Address()) {
			b.Privs = append(b.Privs, p)
		}
	}
	sets := func(h int64) lighttest.ValSet {
		if h >= 20 {
			return b
		}
		return a
	}
	return a, sets, lighttest.Generate(t, "archive-test", t0, 40, sets, lighttest.HandoverHash)
}

func heights(lbs []*cmttypes.LightBlock) []int64 {
	var out []int64
	for _, lb := range lbs {
		out = append(out, lb.Height)
	}
	return out
}

func check(ctx context.Context, g *cmttypes.GenesisDoc, lbs []*cmttypes.LightBlock) error {
	c := &chainCheck{g: g, now: time.Now()}
	for _, lb := range lbs {
		if err := c.add(ctx, lb); err != nil {
			return err
		}
	}
	return nil
}

// TestChainCheck: the bundle keeps the first block, both sides of the
// validator change and the last two; they verify from the genesis; a
// selection that skips the change is refused though the light client's
// skipping verification alone would accept it; a forged block is refused.
func TestChainCheck(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	a, sets, chain := overlapHandover(t, t0)
	g := lighttest.Genesis(chain.ID, t0, a)
	lbs, err := collect(ctx, chain, 1, 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := heights(lbs); !slices.Equal(got, []int64{1, 19, 20, 30, 31}) {
		t.Fatalf("light blocks kept: %v", got)
	}
	c := &chainCheck{g: g, now: time.Now()}
	for _, lb := range lbs {
		if err := c.add(ctx, lb); err != nil {
			t.Fatalf("height %d: %v", lb.Height, err)
		}
	}
	if c.changes != 1 {
		t.Errorf("%d validator set changes, want 1", c.changes)
	}

	at := func(hs ...int64) []*cmttypes.LightBlock {
		var out []*cmttypes.LightBlock
		for _, h := range hs {
			lb, err := chain.LightBlock(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, lb)
		}
		return out
	}
	skip := at(1, 30, 31)
	if err := light.VerifyNonAdjacent(skip[0].SignedHeader, skip[0].ValidatorSet, skip[1].SignedHeader, skip[1].ValidatorSet,
		lightroot.DefaultTrustingPeriod, time.Now(), MaxClockDrift, light.DefaultTrustLevel); err != nil {
		t.Fatalf("the light client refuses the skip by itself (the test shows nothing): %v", err)
	}
	for _, tc := range []struct {
		hs   []int64
		want string
	}{
		{[]int64{1, 30, 31}, "skip a validator set change between heights 1 and 30"},
		{[]int64{1, 20, 30, 31}, "skip a validator set change between heights 1 and 20"},
		{[]int64{1, 19, 30, 31}, "skip a validator set change between heights 19 and 30"},
		{[]int64{2, 19, 20, 30, 31}, "not the chain's first height 1"},
		{[]int64{1, 20, 19}, "skip a validator set change"},
	} {
		if err := check(ctx, g, at(tc.hs...)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("light blocks %v: %v, want %q", tc.hs, err, tc.want)
		}
	}
	if err := check(ctx, g, at(1, 19, 20, 21, 19)); err == nil || !strings.Contains(err.Error(), "not in ascending height") {
		t.Errorf("descending heights: %v", err)
	}

	// A block signed by others, and a block whose signature was altered.
	forged := chain.Forge(t, t0, 30, sets, lighttest.NewValSet(3), lighttest.HandoverHash)
	f30, _ := forged.LightBlock(ctx, 30)
	if err := check(ctx, g, []*cmttypes.LightBlock{lbs[0], lbs[1], lbs[2], f30}); err == nil {
		t.Error("a block signed by other validators verified")
	}
	commit := *lbs[3].Commit
	commit.Signatures = slices.Clone(commit.Signatures)
	sig := slices.Clone(commit.Signatures[0].Signature)
	sig[0] ^= 1
	commit.Signatures[0].Signature = sig
	bad := &cmttypes.LightBlock{SignedHeader: &cmttypes.SignedHeader{Header: lbs[3].Header, Commit: &commit}, ValidatorSet: lbs[3].ValidatorSet}
	if err := check(ctx, g, []*cmttypes.LightBlock{lbs[0], lbs[1], lbs[2], bad}); err == nil || !strings.Contains(err.Error(), "light block 30 does not verify") {
		t.Errorf("forged block 30: %v", err)
	}
}
