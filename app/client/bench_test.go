package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"

	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkVerifyProofs measures a proving reader's check of 10,000 IAVL
// membership proofs from a 100,000-key tree (the shape of a study's
// records), on every CPU, without the reads.
func BenchmarkVerifyProofs(b *testing.B) {
	tree := iavl.NewMutableTree(iavldb.NewMemDB(), 100_000, true, iavl.NewNopLogger())
	for i := 0; i < 100_000; i++ {
		k := fmt.Sprintf("form/S/S%05d/V%02d/0001/VS", i/10, i%10)
		if _, err := tree.Set([]byte(k), []byte(fmt.Sprintf(`{"values":[{"item":"VS.HR","value":"%d"}]}`, 50+i%50))); err != nil {
			b.Fatal(err)
		}
	}
	root, _, err := tree.SaveVersion()
	if err != nil {
		b.Fatal(err)
	}
	it, err := tree.GetImmutable(1)
	if err != nil {
		b.Fatal(err)
	}
	var entries []types.ListEntry
	for i := 0; i < 100_000; i += 10 {
		k := []byte(fmt.Sprintf("form/S/S%05d/V%02d/0001/VS", i/10, i%10))
		v, _ := it.Get(k)
		p, err := it.GetMembershipProof(k)
		if err != nil {
			b.Fatal(err)
		}
		bz, _ := p.Marshal()
		entries = append(entries, types.ListEntry{Key: string(k), Value: v, Proof: bz})
	}
	r := NewReader(nil, 1, FixedRoot(1, root))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.verify(context.Background(), 1, entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(entries))/b.Elapsed().Seconds(), "proofs/s")
}
