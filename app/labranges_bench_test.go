package app_test

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkSubmitLabWithRanges: a block of 200 laboratory forms of a
// study whose reference-range table has 1,350 ranges (one a year of age,
// 0 to 149, for each of the 9 numeric lab items).
//
//	go test ./app -run '^$' -bench SubmitLabWithRanges -benchtime 5x
func BenchmarkSubmitLabWithRanges(b *testing.B) {
	const forms = 200
	c := apptest.New(b)
	c.SetupStudy()
	t := types.LabRanges{AgeItem: "DM.AGE"}
	for _, item := range []string{"LB.HGB", "LB.WBC", "LB.PLT", "LB.SODIUM", "LB.K", "LB.CREAT", "LB.EGFR", "LB.ALT", "LB.GLUC"} {
		for age := range 150 {
			t.Ranges = append(t.Ranges, types.LabRange{Item: item, AgeMin: &age, AgeMax: &age, Low: "1", High: "1000"})
		}
	}
	c.MustDo("sponsor-dm", apptest.SetLabRangesMsg(t, "one range a year of age"))
	for i := range forms {
		c.MustDo("site1-coordinator", apptest.EnrollMsg(fmt.Sprintf("S1-%03d", i), "site1"))
	}
	for n := range b.N {
		b.StopTimer()
		txs := make([][]byte, forms)
		for i := range txs {
			txs[i] = c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(fmt.Sprintf("S1-%03d", i), "UNS", n+1, "LB"), apptest.LB()))
		}
		b.StartTimer()
		for i, r := range c.Block(txs...) {
			if r.Code != 0 {
				b.Fatalf("form %d: %d %s", i, r.Code, r.Log)
			}
		}
	}
}
