package audit

import (
	"context"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	lightprovider "github.com/cometbft/cometbft/light/provider"
	lightdb "github.com/cometbft/cometbft/light/store/db"

	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/lightroot/lighttest"
)

// BenchmarkVerifyHeaders measures sequential light-client verification
// (VerifyAdjacent of each header, +2/3 of 4 ed25519 signatures, the
// light store write) of 500 headers from an in-memory provider: the
// verification cost without the network. The four validators stand for
// a sponsor, a site, a CRO and a regulator.
func BenchmarkVerifyHeaders(b *testing.B) {
	const n = 500
	const chainID = "bench"
	vs := lighttest.NewValSet(4)
	p := lighttest.Generate(b, chainID, time.Now().Add(-n*time.Second), n, func(int64) lighttest.ValSet { return vs }, lighttest.HandoverHash)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := lightdb.New(dbm.NewMemDB(), "b")
		lc, err := light.NewClient(ctx, chainID, light.TrustOptions{Period: lightroot.DefaultTrustingPeriod, Height: 1, Hash: p.Header(1).Hash()},
			p, []lightprovider.Provider{p}, st, light.SequentialVerification(), light.PruningSize(0))
		if err != nil {
			b.Fatal(err)
		}
		for h := int64(2); h <= n; h++ {
			if _, err := lc.VerifyLightBlockAtHeight(ctx, h, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*(n-1))/b.Elapsed().Seconds(), "headers/s")
}
