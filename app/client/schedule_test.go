package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// visits enters, in blocks of 200, the vital signs of subjects from..to-1
// at screening, baseline and week 4 (dated from their baseline of
// 2026-03-02); every third subject's week 4 comes 8 days late.
func visits(t testing.TB, c *apptest.Chain, from, to int) {
	t.Helper()
	var txs [][]byte
	flush := func() {
		for _, r := range c.Block(txs...) {
			if r.Code != 0 {
				t.Fatalf("visit refused: %s", r.Log)
			}
		}
		txs = txs[:0]
	}
	for i := from; i < to; i++ {
		w4 := "2026-03-30"
		if i%3 == 0 {
			w4 = "2026-04-10"
		}
		for _, v := range [][2]string{{"SCR", "2026-02-16"}, {"D1", "2026-03-02"}, {"W4", w4}} {
			txs = append(txs, c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(subjectID(i), v[0], 1, "VS"), apptest.VSOn(v[1], 120, 80))))
			if len(txs) == 200 {
				flush()
			}
		}
	}
	if len(txs) > 0 {
		flush()
	}
}

// TestSchedules: the calendars of a site's or one subject's subjects as
// they stand on a date, and the deviations the ledger recorded.
func TestSchedules(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	enroll(t, c, 0, 3)
	visits(t, c, 0, 2) // the third subject has no visit entered
	c.MustDo("site2-coordinator", apptest.EnrollMsg("S2-00001", "site2"))
	ctx := context.Background()
	rd := client.NewReader(c.App.TrustedQuery, c.Height, nil)
	all, err := rd.Schedules(ctx, study, "site1", "", "2026-04-20")
	if err != nil || len(all) != 3 {
		t.Fatalf("site1's schedules: %d %v", len(all), err)
	}
	status := func(s types.SubjectSchedule) string {
		var out []string
		for _, v := range s.Visits {
			out = append(out, v.Event+":"+string(v.Status))
		}
		return s.Subject + " " + s.Anchor + " " + strings.Join(out, " ")
	}
	for i, want := range []string{
		"S1-00001 2026-03-02 SCR:entered D1:entered W4:out_of_window W8:upcoming W12:upcoming FU:upcoming",
		"S1-00002 2026-03-02 SCR:entered D1:entered W4:entered W8:upcoming W12:upcoming FU:upcoming",
		"S1-00003  SCR:pending D1:pending W4:pending W8:pending W12:pending FU:pending",
	} {
		if got := status(all[i]); got != want {
			t.Errorf("%s\nwant %s", got, want)
		}
	}
	one, err := rd.Schedules(ctx, study, "", subjectID(1), "2026-05-01")
	if err != nil || len(one) != 1 || one[0].Visits[3].Status != protocol.VisitOverdue {
		t.Errorf("one subject on 2026-05-01: %+v %v", one, err)
	}
	if _, err := rd.Schedules(ctx, study, "", "", "01/05/2026"); err == nil {
		t.Error("a date not YYYY-MM-DD accepted")
	}
	devs, err := rd.Deviations(ctx, study, "")
	if err != nil || len(devs) != 1 || devs[0].Subject != subjectID(0) || devs[0].Event != "W4" || devs[0].DaysOff != 8 {
		t.Errorf("deviations %+v %v", devs, err)
	}
}

// BenchmarkSchedules measures show schedule's reads and layout for a site
// of 1,000 subjects with three visits each (3,000 forms), read from the
// app's committed store in process (no network, no proofs).
func BenchmarkSchedules(b *testing.B) {
	c := apptest.New(b)
	c.SetupStudy()
	enroll(b, c, 0, 1000)
	visits(b, c, 0, 1000)
	rd := client.NewReader(c.App.TrustedQuery, c.Height, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := rd.Schedules(ctx, study, "site1", "", "2026-04-20")
		if err != nil || len(s) != 1000 {
			b.Fatal(len(s), err)
		}
	}
}
