package app_test

import (
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// dmChain is a study with site1 (S1-001, S1-002) and site2 (S2-101) and the
// screening vital signs of S1-001 entered without warnings.
func dmChain(t *testing.T) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	c.MustDo("site2-coordinator", apptest.EnrollMsg("S2-101", "site2"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(120, 80)))
	return c
}

func getQuery(t *testing.T, c *apptest.Chain, n int) types.Query {
	t.Helper()
	var q types.Query
	get(t, c, types.KeyQuery(study, n), &q)
	return q
}

func TestDataQueryTransitions(t *testing.T) {
	c := dmChain(t)
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	q := func(kind types.Kind, n int, text string) types.Msg { return apptest.QueryMsg(kind, n, text) }
	noText := apptest.OpenQueryMsg(vs, "VS.SYSBP", " ")
	runSteps(t, c, []step{
		{name: "site user raises", signer: "site1-coordinator", msg: apptest.OpenQueryMsg(vs, "VS.SYSBP", "check"), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator raises", signer: "regulator-auditor", msg: apptest.OpenQueryMsg(vs, "VS.SYSBP", "check"), want: types.CodeUnauthorized, atCheck: true},
		{name: "no text", signer: "cro-monitor", msg: noText, want: types.CodeInvalidMsg, atCheck: true},
		{name: "form not entered", signer: "cro-monitor", msg: apptest.OpenQueryMsg(apptest.FormKey("S1-001", "SCR", 1, "LB"), "", "missing?"), want: types.CodeFormNotFound},
		{name: "item of another form", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "LB.HGB", "?"), want: types.CodeItemNotInForm},
		{name: "unknown subject", signer: "cro-monitor", msg: apptest.OpenQueryMsg(apptest.FormKey("S1-999", "SCR", 1, "VS"), "", "?"), want: types.CodeUnknownSubject},
		{name: "monitor raises on item", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "VS.SYSBP", "Source shows 128, please check"), want: types.CodeOK},
		{name: "data manager raises on form", signer: "sponsor-dm", msg: apptest.OpenQueryMsg(vs, "", "Time of measurement missing in source"), want: types.CodeOK},
		{name: "medical monitor raises", signer: "sponsor-mm", msg: apptest.OpenQueryMsg(vs, "VS.HR", "Confirm heart rate"), want: types.CodeOK},
		{name: "unknown query", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 99, "x"), want: types.CodeUnknownQuery},
		{name: "answer needs text", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 1, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "other site answers", signer: "site2-coordinator", msg: q(types.KindQueryAnswer, 1, "ok"), want: types.CodeWrongSite},
		{name: "monitor answers", signer: "cro-monitor", msg: q(types.KindQueryAnswer, 1, "ok"), want: types.CodeUnauthorized, atCheck: true},
		{name: "close an open query", signer: "cro-monitor", msg: q(types.KindQueryClose, 1, ""), want: types.CodeQueryState, logHas: []string{"is open"}},
		{name: "reopen an open query", signer: "cro-monitor", msg: q(types.KindQueryReopen, 1, "again"), want: types.CodeQueryState},
		{name: "site answers", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 1, "Source checked: 120 is correct"), want: types.CodeOK},
		{name: "answer an answered query", signer: "site1-investigator", msg: q(types.KindQueryAnswer, 1, "again"), want: types.CodeQueryState},
		{name: "cancel an answered query", signer: "cro-monitor", msg: q(types.KindQueryCancel, 1, ""), want: types.CodeQueryState},
		{name: "other org closes", signer: "sponsor-dm", msg: q(types.KindQueryClose, 1, ""), want: types.CodeNotQueryRaiser},
		{name: "site closes", signer: "site1-coordinator", msg: q(types.KindQueryClose, 1, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "raiser reopens", signer: "cro-monitor", msg: q(types.KindQueryReopen, 1, "Source still shows 128"), want: types.CodeOK},
		{name: "site answers again", signer: "site1-investigator", msg: q(types.KindQueryAnswer, 1, "Re-measured record: 120"), want: types.CodeOK},
		{name: "raiser closes", signer: "cro-monitor", msg: q(types.KindQueryClose, 1, "accepted"), want: types.CodeOK},
		{name: "answer a closed query", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 1, "late"), want: types.CodeQueryState, logHas: []string{"closed", "reopen"}},
		{name: "close a closed query", signer: "cro-monitor", msg: q(types.KindQueryClose, 1, ""), want: types.CodeQueryState},
		{name: "same org, not the raiser, cancels", signer: "sponsor-mm", msg: q(types.KindQueryCancel, 2, ""), want: types.CodeNotQueryRaiser},
		{name: "raiser cancels", signer: "sponsor-dm", msg: q(types.KindQueryCancel, 2, "raised in error"), want: types.CodeOK},
		{name: "answer a cancelled query", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 2, "x"), want: types.CodeQueryState, logHas: []string{"cancelled"}},
		{name: "reopen a cancelled query", signer: "sponsor-dm", msg: q(types.KindQueryReopen, 2, "x"), want: types.CodeQueryState},
		{name: "raiser's colleague closes after answer", signer: "site1-coordinator", msg: q(types.KindQueryAnswer, 3, "HR confirmed"), want: types.CodeOK},
		{name: "same org closes", signer: "sponsor-dm", msg: q(types.KindQueryClose, 3, ""), want: types.CodeOK},
		{name: "reopen a closed query", signer: "sponsor-mm", msg: q(types.KindQueryReopen, 3, "HR differs from ECG"), want: types.CodeOK},
	})
	q1 := getQuery(t, c, 1)
	if q1.Status != types.QueryClosed || q1.RaisedBy != "cro-monitor" || q1.RaisedOrg != "cro" || q1.Site != "site1" || q1.Item != "VS.SYSBP" {
		t.Errorf("query 1: %+v", q1)
	}
	var actions []string
	for _, m := range q1.Thread {
		actions = append(actions, m.Action+":"+m.Stamp.Signer)
	}
	if got := strings.Join(actions, " "); got != "open:cro-monitor answer:site1-coordinator reopen:cro-monitor answer:site1-investigator close:cro-monitor" {
		t.Errorf("thread %s", got)
	}
	if q1.Thread[1].Text != "Source checked: 120 is correct" || q1.Thread[0].Stamp.Time == "" || q1.Thread[0].Stamp.TxHash == "" {
		t.Errorf("thread %+v", q1.Thread)
	}
	if q := getQuery(t, c, 2); q.Status != types.QueryCancelled || q.Item != "" {
		t.Errorf("query 2: %+v", q)
	}
	if q := getQuery(t, c, 3); q.Status != types.QueryOpen {
		t.Errorf("query 3: %+v", q)
	}
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.Queries != 3 {
		t.Errorf("study counts %d queries", s.Queries)
	}
	for n := 1; n <= 3; n++ {
		if rawGet(t, c, types.KeyQueryForm(vs, n), 0) == nil {
			t.Errorf("query %d is not indexed under its form", n)
		}
	}
}

func TestAutoQueriesAndResolvingCorrections(t *testing.T) {
	c := dmChain(t)
	d1 := apptest.FormKey("S1-001", "D1", 1, "VS")
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	// A soft warning (systolic 190 above the expected 180) opens a query.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(d1, apptest.VS(190, 80)))
	q1 := getQuery(t, c, 1)
	if q1.RaisedBy != types.SystemRaiser || q1.RaisedOrg != "" || q1.Item != "VS.SYSBP" || q1.Check == "" || q1.Status != types.QueryOpen || q1.FormKey() != d1 {
		t.Fatalf("auto query %+v", q1)
	}
	if q1.Thread[0].Stamp.Signer != "site1-coordinator" || !strings.Contains(q1.Thread[0].Text, "180") {
		t.Errorf("auto query opening %+v", q1.Thread[0])
	}
	var rec types.FormRecord
	get(t, c, types.KeyForm(d1), &rec)
	if len(rec.Warnings) != 1 {
		t.Fatalf("warnings %+v", rec.Warnings)
	}
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(scr, "VS.HR", "check HR"))

	resolves := func(k types.FormKey, n []int, sys string) types.Msg {
		m := apptest.CorrectMsg(k, "transcription error", apptest.V("VS.SYSBP", sys))
		m.CorrectForm.Resolves = n
		return m
	}
	stillHigh := resolves(d1, nil, "185")
	runSteps(t, c, []step{
		// Still above 180: the open system query on the same check is not duplicated.
		{name: "correction keeps the warning", signer: "site1-coordinator", msg: stillHigh, want: types.CodeOK},
		{name: "resolves a query of another form", signer: "site1-coordinator", msg: resolves(d1, []int{2}, "186"), want: types.CodeQueryMismatch},
		{name: "resolves an unknown query", signer: "site1-coordinator", msg: resolves(d1, []int{9}, "187"), want: types.CodeUnknownQuery},
	})
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.Queries != 2 {
		t.Fatalf("duplicate system query: %d queries", s.Queries)
	}
	fix := apptest.CorrectMsg(d1, "transcription error, source shows 150", apptest.V("VS.SYSBP", "150"))
	fix.CorrectForm.Resolves = []int{1}
	c.MustDo("site1-investigator", fix)
	// The correction answered the query and cleared its condition: the
	// ledger closes it.
	q1 = getQuery(t, c, 1)
	n := len(q1.Thread)
	answer, closed := q1.Thread[n-2], q1.Thread[n-1]
	if q1.Status != types.QueryClosed || answer.Action != "answer" || answer.FormVersion != 3 || !strings.Contains(answer.Text, "source shows 150") || answer.Stamp.Signer != "site1-investigator" ||
		closed.Action != "close" || !strings.Contains(closed.Text, "closed by the ledger: the correction of form VS at D1 (version 3) cleared the condition") {
		t.Errorf("resolved query %+v", q1)
	}
	again := apptest.CorrectMsg(d1, "again", apptest.V("VS.SYSBP", "151"))
	again.CorrectForm.Resolves = []int{1}
	runSteps(t, c, []step{
		{name: "resolves a closed query", signer: "site1-investigator", msg: again, want: types.CodeQueryState},
		{name: "site closes a system query", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryClose, 1, ""), want: types.CodeUnauthorized, atCheck: true},
	})
	// A new warning after the query closed opens a new one; answered
	// without a correction, its condition holds, and the data manager
	// closes it.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(d1, "re-read", apptest.V("VS.DIABP", "40")))
	get(t, c, types.KeyStudy(study), &s)
	if q := getQuery(t, c, 3); s.Queries != 3 || q.Item != "VS.DIABP" || q.RaisedBy != types.SystemRaiser {
		t.Errorf("new system query %+v (%d)", q, s.Queries)
	}
	runSteps(t, c, []step{
		{name: "site answers the system query", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 3, "confirmed on the source"), want: types.CodeOK},
		{name: "sponsor data manager closes a system query", signer: "sponsor-dm", msg: apptest.QueryMsg(types.KindQueryClose, 3, "accepted"), want: types.CodeOK},
	})
	if q := getQuery(t, c, 3); q.Status != types.QueryClosed || q.Thread[len(q.Thread)-1].Stamp.Signer != "sponsor-dm" {
		t.Errorf("query 3 %+v", q)
	}
}
