package lightroot_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/light/provider"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/lightroot/lighttest"
)

const chainID = "lightroot-test"

func t0() time.Time { return time.Now().Add(-time.Hour).UTC().Truncate(time.Second) }

// TestVerifierFromGenesis: headers are verified from the genesis across a
// change of the whole validator set, kept in the trust dir, and found
// there by the next Verifier, which needs no genesis.
func TestVerifierFromGenesis(t *testing.T) {
	start := t0()
	ho := lighttest.NewHandover(t, chainID, start)
	ctx := context.Background()
	dir := t.TempDir()
	o := lightroot.Options{Genesis: lighttest.Genesis(chainID, start, ho.A), TrustDir: dir, Primary: ho.Good}
	v, err := lightroot.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	root, err := v.AppHash(ctx, 29)
	if err != nil || !bytes.Equal(root, lighttest.HandoverHash(30)) {
		t.Fatalf("app hash after 29: %X, %v; want the one in header 30", root, err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	// The next run starts from the stored headers: it needs no genesis,
	// and asks the node nothing for a header it holds.
	gone := lighttest.Generate(t, chainID, start, 1, ho.Sets, lighttest.HandoverHash)
	gone.SetLatest(0)
	lbs, err := lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: gone}, 30)
	if err != nil || !bytes.Equal(lbs[0].Hash(), ho.Good.Header(30).Hash()) {
		t.Fatalf("header 30 from the trust dir: %v", err)
	}
	lbs, err = lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: ho.Good}, 40, 10)
	if err != nil || lbs[0].Height != 40 || lbs[1].Height != 10 {
		t.Fatalf("headers 40 and 10 from the trust dir's headers: %v", err)
	}
	// Roots is a client.RootSource that lets go of the store after each call.
	roots := lightroot.Roots(lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: ho.Good})
	for _, h := range []int64{35, 12} {
		if r, err := roots(ctx, h); err != nil || !bytes.Equal(r, lighttest.HandoverHash(h+1)) {
			t.Fatalf("roots(%d): %X %v", h, r, err)
		}
	}
	if _, closeStore, err := lightroot.OpenTrustStore(dir); err != nil {
		t.Fatalf("the trust dir is still held: %v", err)
	} else {
		closeStore()
	}
}

// TestVerifierCatchesLyingNodes: a node that rewrites the app hash of the
// headers it serves, and a node serving a consistent chain of its own
// signed by keys that are not the validators, are refused, whether the
// trust comes from the genesis or from headers verified before; nothing
// they served is kept.
func TestVerifierCatchesLyingNodes(t *testing.T) {
	start := t0()
	ho := lighttest.NewHandover(t, chainID, start)
	ctx := context.Background()
	gen := lighttest.Genesis(chainID, start, ho.A)
	fake := tmhash.Sum([]byte("a ledger the validators never committed"))
	rewriting := lighttest.RewriteAppHash{Provider: ho.Good, From: 25, AppHash: fake}
	// A whole chain signed by C, consistent in itself.
	other := lighttest.Generate(t, chainID, start, 40, func(int64) lighttest.ValSet { return ho.C }, func(h int64) []byte {
		if h >= 25 {
			return fake
		}
		return lighttest.HandoverHash(h)
	})

	// warm returns a trust dir that trusts the honest chain up to 20.
	warm := func() string {
		dir := t.TempDir()
		if _, err := lightroot.Verify(ctx, lightroot.Options{Genesis: gen, TrustDir: dir, Primary: ho.Good}, 20); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name    string
		primary provider.Provider
		dir     string
		want    string
		wantErr error
	}{
		{"rewritten app hash, from the genesis", rewriting, t.TempDir(), "does not verify", nil},
		{"rewritten app hash, from stored headers", rewriting, warm(), "does not verify", nil},
		{"chain of other keys, from the genesis", other, t.TempDir(), "", lightroot.ErrWrongGenesis},
		{"chain of other keys, from stored headers", other, warm(), "does not verify", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lightroot.Verify(ctx, lightroot.Options{Genesis: gen, TrustDir: tc.dir, Primary: tc.primary}, 30)
			if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the lying node's header 30: %v, want an error saying %q (%v)", err, tc.want, tc.wantErr)
			}
			t.Logf("refused: %v", err)
			_, err = lightroot.Roots(lightroot.Options{Genesis: gen, TrustDir: tc.dir, Primary: tc.primary})(ctx, 29)
			if err == nil {
				t.Fatal("Roots took the lying node's app hash")
			}
			if !strings.Contains(tc.name, "from the genesis") {
				// Nothing the liar served was stored: the honest node's
				// header 30 verifies from the same store.
				lbs, err := lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, TrustDir: tc.dir, Primary: ho.Good}, 30)
				if err != nil || !bytes.Equal(lbs[0].Hash(), ho.Good.Header(30).Hash()) {
					t.Fatalf("the honest header 30 after the liar: %v", err)
				}
			}
		})
	}
}

// TestVerifierWaitsForTheNextBlock: the app hash after the latest block
// is in a header not yet committed; the Verifier waits for it, within
// Wait.
func TestVerifierWaitsForTheNextBlock(t *testing.T) {
	start := t0()
	ho := lighttest.NewHandover(t, chainID, start)
	ho.Good.SetLatest(10)
	ctx := context.Background()
	o := lightroot.Options{Genesis: lighttest.Genesis(chainID, start, ho.A), Primary: ho.Good, Wait: 300 * time.Millisecond}
	v, err := lightroot.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.AppHash(ctx, 10); err == nil || !strings.Contains(err.Error(), "block 11 did not appear within 300ms") {
		t.Fatalf("app hash after the latest block, the next never committed: %v", err)
	}
	time.AfterFunc(100*time.Millisecond, func() { ho.Good.SetLatest(11) })
	if root, err := v.AppHash(ctx, 10); err != nil || !bytes.Equal(root, lighttest.HandoverHash(11)) {
		t.Fatalf("app hash after block 10 once block 11 is committed: %X %v", root, err)
	}
}

// TestVerifierRoots: without a trust root nothing verifies; a trust dir
// started from one root refuses another; a store in use is waited for.
func TestVerifierRoots(t *testing.T) {
	start := t0()
	ho := lighttest.NewHandover(t, chainID, start)
	ctx := context.Background()
	if _, err := lightroot.Open(ctx, lightroot.Options{ChainID: chainID, TrustDir: t.TempDir(), Primary: ho.Good}); !errors.Is(err, lightroot.ErrNoRoot) {
		t.Fatalf("no genesis, no stored header: %v", err)
	}
	dir := t.TempDir()
	if _, err := lightroot.Verify(ctx, lightroot.Options{Genesis: lighttest.Genesis(chainID, start, ho.A), TrustDir: dir, Primary: ho.Good}, 5); err != nil {
		t.Fatal(err)
	}
	// A header trusted out of band.
	root, err := lightroot.TrustHeader(ctx, ho.Good, 5, ho.Good.Header(5).Hash())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lightroot.TrustHeader(ctx, ho.Good, 5, ho.Good.Header(6).Hash()); !errors.Is(err, lightroot.ErrWrongTrustedHash) {
		t.Fatalf("a wrong trusted hash: %v", err)
	}
	if _, err := lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, Root: root, TrustDir: dir, Primary: ho.Good}, 30); err != nil {
		t.Fatalf("the store's own root: %v", err)
	}
	other := lighttest.Generate(t, chainID, start, 40, func(int64) lighttest.ValSet { return ho.C }, lighttest.HandoverHash)
	if _, err := lightroot.Open(ctx, lightroot.Options{ChainID: chainID, Root: &cmttypes.LightBlock{SignedHeader: other.Header(5), ValidatorSet: ho.C.Vals}, TrustDir: dir, Primary: ho.Good}); !errors.Is(err, lightroot.ErrOtherRoot) {
		t.Fatalf("another root on the same store: %v", err)
	}

	v, err := lightroot.Open(ctx, lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: ho.Good})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() { v.Close() })
	began := time.Now()
	lbs, err := lightroot.Verify(ctx, lightroot.Options{ChainID: chainID, TrustDir: dir, Primary: ho.Good}, 35)
	if err != nil || lbs[0].Height != 35 || time.Since(began) < 250*time.Millisecond {
		t.Fatalf("a store in use: %v after %s, want the header once the other run let go", err, time.Since(began))
	}
}
