package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TestTrustLatest verifies the latest header from the genesis across a
// complete change of the validator set, and refuses a forged latest
// header, a wrong genesis and a witness on another chain.
func TestTrustLatest(t *testing.T) {
	const chainID = "join-test"
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	a, b, c := newValSet(4), newValSet(3), newValSet(4)
	sets := func(h int64) valSet {
		if h >= 20 {
			return b
		}
		return a
	}
	hash := func(h int64) []byte { return tmhash.Sum([]byte(fmt.Sprint(h))) }
	good := genChain(t, chainID, t0, 40, sets, hash)
	ctx := context.Background()
	gen := genesisOf(chainID, t0, a)

	lb, err := TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", Witnesses: []string{"copy"}, source: memSource(good, good)})
	if err != nil || lb.Height != 40 || !bytes.Equal(lb.Hash(), good.headers[40].Hash()) {
		t.Fatalf("latest header: %v %v", lb, err)
	}
	if lb, err = TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", To: 25, source: memSource(good)}); err != nil || lb.Height != 25 {
		t.Fatalf("header 25: %v %v", lb, err)
	}

	// The latest header signed by validators the chain never handed over to.
	other := genChain(t, chainID, t0, 40, func(h int64) valSet {
		if h == 40 {
			return c
		}
		return sets(h)
	}, hash)
	forged := memProvider{chainID: chainID, headers: map[int64]*cmttypes.SignedHeader{}, vals: map[int64]*cmttypes.ValidatorSet{}}
	for h := range good.headers {
		forged.headers[h], forged.vals[h] = good.headers[h], good.vals[h]
	}
	forged.headers[40], forged.vals[40] = other.headers[40], other.vals[40]
	if _, err := TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", source: memSource(forged)}); err == nil || !strings.Contains(err.Error(), "verifying header 40") {
		t.Errorf("forged latest header: %v", err)
	}
	if _, err := TrustLatest(ctx, ChainOptions{Genesis: genesisOf(chainID, t0, c), Primary: "mem", source: memSource(good)}); !errors.Is(err, ErrWrongGenesis) {
		t.Errorf("wrong genesis: %v", err)
	}
	fork := genChain(t, chainID, t0, 40, sets, func(h int64) []byte {
		if h >= 30 {
			return tmhash.Sum([]byte(fmt.Sprint("fork", h)))
		}
		return hash(h)
	})
	if _, err := TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", Witnesses: []string{"fork"}, source: memSource(good, fork)}); err == nil {
		t.Error("a witness on a forked chain was not noticed")
	} else {
		t.Logf("forked witness: %v", err)
	}
}
