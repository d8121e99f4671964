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

	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/lightroot/lighttest"
)

// TestTrustLatest verifies the latest header from the genesis across a
// complete change of the validator set, and refuses a forged latest
// header, a wrong genesis and a witness on another chain.
func TestTrustLatest(t *testing.T) {
	const chainID = "join-test"
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	ho := lighttest.NewHandover(t, chainID, t0)
	c, sets, hash, good := ho.C, ho.Sets, lighttest.HandoverHash, ho.Good
	ctx := context.Background()
	gen := lighttest.Genesis(chainID, t0, ho.A)

	lb, err := TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", Witnesses: []string{"copy"}, source: memSource(good, good)})
	if err != nil || lb.Height != 40 || !bytes.Equal(lb.Hash(), good.Header(40).Hash()) {
		t.Fatalf("latest header: %v %v", lb, err)
	}
	if lb, err = TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", To: 25, source: memSource(good)}); err != nil || lb.Height != 25 {
		t.Fatalf("header 25: %v %v", lb, err)
	}

	// The latest header signed by validators the chain never handed over to.
	forged := good.Forge(t, t0, 40, sets, c, hash)
	if _, err := TrustLatest(ctx, ChainOptions{Genesis: gen, Primary: "mem", source: memSource(forged)}); err == nil || !strings.Contains(err.Error(), "verifying header 40") {
		t.Errorf("forged latest header: %v", err)
	}
	if _, err := TrustLatest(ctx, ChainOptions{Genesis: lighttest.Genesis(chainID, t0, c), Primary: "mem", source: memSource(good)}); !errors.Is(err, lightroot.ErrWrongGenesis) {
		t.Errorf("wrong genesis: %v", err)
	}
	fork := lighttest.Generate(t, chainID, t0, 40, sets, func(h int64) []byte {
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
