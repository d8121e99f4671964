package app_test

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkSubmitReconsentCheck: a block of 200 vital signs forms, of a
// study with no re-consent requirement, and of one whose amendment
// requires consent version 2.0 that every subject has signed (the check
// every submission then runs).
//
//	go test ./app -run '^$' -bench SubmitReconsentCheck -benchtime 5x
func BenchmarkSubmitReconsentCheck(b *testing.B) {
	const forms = 200
	for _, required := range []bool{false, true} {
		b.Run(fmt.Sprintf("required=%v", required), func(b *testing.B) {
			c := apptest.New(b)
			p := apptest.Example()
			c.SetupStudyWith(apptest.RegisterMsg(p))
			for i := range forms {
				c.MustDo("site1-coordinator", apptest.EnrollMsg(fmt.Sprintf("S1-%03d", i), "site1"))
			}
			if required {
				c.MustDo("sponsor-dm", apptest.AmendMsg(reconsentAmendment(p, "2.0", ""), "new safety monitoring"))
				c.MustDo("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1))
				for i := range forms {
					c.MustDo("site1-coordinator", reconsentMsg(fmt.Sprintf("S1-%03d", i), "2.0", ""))
				}
			}
			for n := range b.N {
				b.StopTimer()
				txs := make([][]byte, forms)
				for i := range txs {
					txs[i] = c.Tx("site1-coordinator", vsAtRepeat(fmt.Sprintf("S1-%03d", i), n+1))
				}
				b.StartTimer()
				for i, r := range c.Block(txs...) {
					if r.Code != 0 {
						b.Fatalf("form %d: %d %s", i, r.Code, r.Log)
					}
				}
			}
		})
	}
}

func vsAtRepeat(subject string, repeat int) types.Msg {
	return apptest.SubmitMsg(apptest.FormKey(subject, "UNS", repeat, "VS"), apptest.VS(128, 82))
}
