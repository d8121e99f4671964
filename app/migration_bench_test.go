package app_test

import (
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkMigrationV3 measures the block of upgrade v3's height on a
// ledger at version 2 prefilled with VERITRIAL_BENCH_PREFILL item values
// (the forms of the benchmark fixture, 200 per subject, every tenth
// subject withdrawn, every row serious (apptest.SeriousAE) so that each
// form reports two serious adverse events): FinalizeBlock and Commit of
// that block, whose migration reads every subject and rewrites
// the withdrawn ones, and reads every form and opens its SAE records. It
// reports the milliseconds of that block and of an empty block just
// before it; each run prefills a new ledger first (not timed).
//
//	VERITRIAL_BENCH_PREFILL=1000000 go test ./app -run '^$' -bench MigrationV3 -benchtime 1x -timeout 60m
func BenchmarkMigrationV3(b *testing.B) {
	var upgrade, empty time.Duration
	for range b.N {
		b.StopTimer()
		f := &benchFixture{c: apptest.NewAtVersion(b, 2), serious: true}
		f.c.SetupStudy()
		f.prefill(b, prefillTarget())
		var withdraw [][]byte
		for s := 1; s <= f.subject; s += 10 {
			m := apptest.WithdrawMsg(benchSubject(s), "moved away")
			m.WithdrawSubject.Kind = "" // version 2 knows no kinds
			withdraw = append(withdraw, f.c.Tx("site1-investigator", m))
		}
		mustAllOK(b, f.c.Block(withdraw...))
		h := f.c.Height + 1 + types.MinUpgradeMargin + 5 // after the proposal and four votes
		var blocks [][][]byte
		decideUpgrade(b, f.c, &blocks, "v3", h)
		for f.c.Height < h-2 {
			f.c.Block()
		}
		t0 := time.Now()
		f.c.Block()
		e := time.Since(t0)
		b.StartTimer()
		t0 = time.Now()
		f.c.Commit(f.c.Finalize())
		u := time.Since(t0)
		b.StopTimer()
		upgrade, empty = upgrade+u, empty+e
		var sub types.Subject
		if get(b, f.c, types.KeySubject(apptest.StudyID, benchSubject(1)), &sub); sub.WithdrawalKind != types.WithdrawConsent {
			b.Fatalf("after the migration, a withdrawn subject has withdrawal kind %q", sub.WithdrawalKind)
		}
		var form types.FormRecord
		var sae types.SAE
		k := apptest.FormKey(benchSubject(1), "UNS", 1, "AE")
		if get(b, f.c, types.KeyForm(k), &form); !f.c.Get(types.KeySAE(k, 2), &sae) || sae.Opened != form.Stamp {
			b.Fatalf("after the migration, the SAE of a form entered at height %d: %+v", form.Stamp.Height, sae)
		}
		b.Logf("%d item values, %d subjects (%d withdrawn): the block of the upgrade took %s, an empty block %s",
			f.values, f.subject, len(withdraw), u.Round(time.Millisecond), e.Round(time.Millisecond))
	}
	b.ReportMetric(float64(upgrade.Microseconds())/1e3/float64(b.N), "ms/upgrade-block")
	b.ReportMetric(float64(empty.Microseconds())/1e3/float64(b.N), "ms/empty-block")
}
