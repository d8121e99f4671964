package types_test

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkDecodeTx decodes the load's most common tx: a 20-item AE form
// submission, as a coordinator's client encodes it.
func BenchmarkDecodeTx(b *testing.B) {
	const n = 256
	txs := make([][]byte, n)
	for i := range txs {
		bd := types.Body{V: types.TxVersion, ChainID: "veritrial-test", Signer: "site1-coordinator", Nonce: fmt.Sprintf("%032x", i+1), Expires: 140,
			Msg: example.SubmitMsg(example.FormKey("S1-001", "UNS", i+1, "AE"), example.AE(2, i))}
		txs[i] = encode(b, bd)
	}
	b.SetBytes(int64(len(txs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, e := types.DecodeTx(txs[i%n]); e != nil {
			b.Fatal(e.Msg)
		}
	}
}
