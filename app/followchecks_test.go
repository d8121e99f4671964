package app_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestChecksFollowTheData changes the demographics a laboratory form's
// show-if condition reads (the pregnancy test applies to women of
// childbearing potential): the laboratory form on the ledger is never
// refused, but the hard problem that appears opens a query marked hard on
// it, once, and the correction that clears the condition closes it.
func TestChecksFollowTheData(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	v := apptest.V
	dm := apptest.FormKey("S1-001", "SCR", 1, "DM")
	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(dm, []protocol.ItemValue{v("DM.CONSDT", "2026-01-05"), v("DM.AGE", "54"), v("DM.SEX", "1"),
		v("DM.HEIGHT", "178.0"), v("DM.WEIGHT", "80.0"), v("DM.SMOKE", "1")}))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb, apptest.LB()))

	queries := func() []types.Query {
		t.Helper()
		var s types.Study
		get(t, c, types.KeyStudy(apptest.StudyID), &s)
		out := make([]types.Query, s.Queries)
		for i := range out {
			get(t, c, types.KeyQuery(apptest.StudyID, i+1), &out[i])
		}
		return out
	}
	if qs := queries(); len(qs) != 0 {
		t.Fatalf("queries before the change: %+v", qs)
	}

	// The subject is a woman of childbearing potential after all: the
	// laboratory form lacks the pregnancy test it now requires.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(dm, "source shows female", v("DM.SEX", "2"), v("DM.CBP", "1")))
	qs := queries()
	if len(qs) != 1 {
		t.Fatalf("queries after the change: %+v", qs)
	}
	q := qs[0]
	if q.FormKey() != lb || q.Item != "LB.PREGDONE" || q.Check != protocol.CodeRequiredMissing || !q.Hard || q.RaisedBy != types.SystemRaiser ||
		q.Status != types.QueryOpen || !strings.Contains(q.Thread[0].Text, "after the correction of form DM at SCR (version 2)") {
		t.Errorf("query %+v", q)
	}
	var rec types.FormRecord
	get(t, c, types.KeyForm(lb), &rec)
	if rec.Version != 1 {
		t.Errorf("the laboratory form changed: version %d", rec.Version)
	}

	// Another change of the demographics that keeps the condition opens
	// no second query.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(dm, "age from the source", v("DM.AGE", "55")))
	if qs := queries(); len(qs) != 1 {
		t.Errorf("duplicate query: %+v", qs)
	}
	// Correcting the laboratory form without the test is refused: the
	// hard problem binds new data.
	code, log := c.Do("site1-coordinator", apptest.CorrectMsg(lb, "re-read", v("LB.HGB", "14.3")))
	if code != types.CodeEditCheckFailed || !strings.Contains(log, "LB.PREGDONE") {
		t.Errorf("correction of the laboratory form: %d %s", code, log)
	}
	// Not of childbearing potential: the condition clears and the ledger
	// closes the query.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(dm, "post-menopausal per source", v("DM.CBP", "0")))
	qs = queries()
	if len(qs) != 1 || qs[0].Status != types.QueryClosed ||
		!strings.Contains(qs[0].Thread[len(qs[0].Thread)-1].Text, "closed by the ledger: the correction of form DM at SCR (version 4) cleared the condition") {
		t.Errorf("query after the condition cleared: %+v", qs)
	}
}

// BenchmarkCorrectionFollowsChecks is the cost of a correction on a
// subject with 50 entered forms: of the demographics, which 20 laboratory
// forms read (each run again twice), against one of vital signs, which no
// form reads. Each op is a whole block of one tx, committed.
//
//	go test ./app -run '^$' -bench CorrectionFollowsChecks -count 3
func BenchmarkCorrectionFollowsChecks(b *testing.B) {
	c := apptest.New(b)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	v := apptest.V
	dm := apptest.FormKey("S1-001", "SCR", 1, "DM")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(dm, []protocol.ItemValue{v("DM.CONSDT", "2026-01-05"), v("DM.AGE", "54"), v("DM.SEX", "1"),
		v("DM.HEIGHT", "178.0"), v("DM.WEIGHT", "80.0"), v("DM.SMOKE", "1")}))
	for r := 1; r <= 20; r++ {
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "UNS", r, "LB"), apptest.LB()))
	}
	for r := 1; r <= 29; r++ {
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "UNS", r, "VS"), apptest.VS(120, 80)))
	}
	vs := apptest.FormKey("S1-001", "UNS", 1, "VS")
	for _, bc := range []struct {
		name string
		msg  func(i int) types.Msg
	}{
		{"read by 20 forms", func(i int) types.Msg {
			return apptest.CorrectMsg(dm, "source", v("DM.AGE", strconv.Itoa(40+i%30)))
		}},
		{"read by none", func(i int) types.Msg {
			return apptest.CorrectMsg(vs, "source", v("VS.HR", strconv.Itoa(60+i%30)))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if code, log := c.Do("site1-coordinator", bc.msg(i)); code != types.CodeOK && code != types.CodeNoChange {
					b.Fatalf("%d %s", code, log)
				}
			}
		})
	}
}
