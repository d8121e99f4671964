package app_test

import (
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func TestEnrollSubject(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	badHash := apptest.EnrollMsg("S1-009", "site1")
	badHash.EnrollSubject.ConsentSHA256 = "ABCDEF"
	noVersion := apptest.EnrollMsg("S1-009", "site1")
	noVersion.EnrollSubject.ConsentVersion = ""
	otherStudy := apptest.EnrollMsg("S1-009", "site1")
	otherStudy.EnrollSubject.Study = "VT-NONE"
	runSteps(t, c, []step{
		{name: "sponsor signer", signer: "sponsor-dm", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator signer", signer: "regulator-auditor", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeUnauthorized, atCheck: true},
		{name: "cro monitor", signer: "cro-monitor", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeUnauthorized, atCheck: true},
		{name: "site admin lacks role", signer: "site1-admin", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeUnauthorized, atCheck: true},
		{name: "bad consent hash", signer: "site1-coordinator", msg: badHash, want: types.CodeInvalidMsg, atCheck: true},
		{name: "no consent version", signer: "site1-coordinator", msg: noVersion, want: types.CodeInvalidMsg, atCheck: true},
		{name: "bad subject ID", signer: "site1-coordinator", msg: apptest.EnrollMsg("S 1", "site1"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "unknown study", signer: "site1-coordinator", msg: otherStudy, want: types.CodeUnknownStudy},
		{name: "naming another site", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-001", "site2"), want: types.CodeWrongSite},
		{name: "inactive site", signer: "site2-coordinator", msg: apptest.EnrollMsg("S1-001", "site2"), want: types.CodeSiteNotActive},
		{name: "ok coordinator", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeOK},
		{name: "ok investigator", signer: "site1-investigator", msg: apptest.EnrollMsg("S1-002", "site1"), want: types.CodeOK},
		{name: "duplicate", signer: "site1-investigator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeSubjectExists},
	})
	c.ActivateSite("site2")
	runSteps(t, c, []step{
		{name: "duplicate across sites", signer: "site2-coordinator", msg: apptest.EnrollMsg("S1-001", "site2"), want: types.CodeSubjectExists},
		{name: "site2 after activation", signer: "site2-coordinator", msg: apptest.EnrollMsg("S2-101", "site2"), want: types.CodeOK},
	})
	var sub types.Subject
	get(t, c, types.KeySubject(study, "S1-001"), &sub)
	if sub.Site != "site1" || sub.Status != types.SubjectEnrolled || sub.ConsentSHA256 != apptest.ConsentSHA256 || sub.ConsentVersion != "1.0" || sub.Enrolled.Signer != "site1-coordinator" || sub.Enrolled.Role != types.RoleCoordinator {
		t.Errorf("subject %+v", sub)
	}
	get(t, c, types.KeySubject(study, "S2-101"), &sub)
	if sub.Site != "site2" {
		t.Errorf("S2-101 at %s", sub.Site)
	}
	absent(t, c, types.KeySubject(study, "S1-009"))
}

// hardMessages returns the messages of the hard problems the example
// protocol finds in a submission (no cross-form lookup).
func hardMessages(t *testing.T, form string, values []protocol.ItemValue) []string {
	t.Helper()
	comp, err := protocol.Compile(apptest.Example())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range comp.Validate(form, values, nil) {
		if p.Severity == protocol.Hard {
			out = append(out, p.Message)
		}
	}
	return out
}

func TestSubmitForm(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site2-coordinator", apptest.EnrollMsg("S2-101", "site2"))

	k := func(ev string, rep int, form string) types.FormKey { return apptest.FormKey("S1-001", ev, rep, form) }
	hard := apptest.VS(300, 200)
	hard[5] = apptest.V("VS.HR", "7")
	hardMsgs := hardMessages(t, "VS", hard)
	if len(hardMsgs) < 3 {
		t.Fatalf("expected at least 3 hard problems in the fixture, got %q", hardMsgs)
	}
	unknownStudy := k("SCR", 1, "VS")
	unknownStudy.Study = "VT-NONE"
	empty := apptest.SubmitMsg(k("SCR", 1, "VS"), nil)

	runSteps(t, c, []step{
		{name: "sponsor signer", signer: "sponsor-dm", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "sponsor admin", signer: "sponsor-admin", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator signer", signer: "regulator-auditor", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator admin", signer: "regulator-admin", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "cro monitor", signer: "cro-monitor", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "site admin lacks role", signer: "site1-admin", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnauthorized, atCheck: true},
		{name: "no values", signer: "site1-coordinator", msg: empty, want: types.CodeInvalidMsg, atCheck: true},
		{name: "repeat 0", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 0, "VS"), apptest.VS(150, 90)), want: types.CodeEventRepeat, atCheck: true},
		{name: "subject of another site", signer: "site2-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeWrongSite},
		{name: "unknown subject", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-999", "SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnknownSubject},
		{name: "unknown study", signer: "site1-coordinator", msg: apptest.SubmitMsg(unknownStudy, apptest.VS(150, 90)), want: types.CodeUnknownStudy},
		{name: "unknown event", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("W99", 1, "VS"), apptest.VS(150, 90)), want: types.CodeUnknownEvent},
		{name: "unknown form", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "XX"), apptest.VS(150, 90)), want: types.CodeUnknownForm},
		{name: "form not in event", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("D1", 1, "DM"), apptest.VS(150, 90)), want: types.CodeFormNotInEvent},
		{name: "repeat of non-repeatable event", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 2, "VS"), apptest.VS(150, 90)), want: types.CodeEventRepeat},
		{name: "hard range violations", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), hard), want: types.CodeEditCheckFailed, atCheck: true, logHas: append([]string{"VS.SYSBP", "VS.DIABP", "VS.HR", "S1-001"}, hardMsgs...)},
		{name: "required items missing", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), []protocol.ItemValue{apptest.V("VS.DATE", "2026-01-20")}), want: types.CodeEditCheckFailed, atCheck: true, logHas: []string{"VS.SYSBP"}},
		{name: "cross-item check", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(120, 130)), want: types.CodeEditCheckFailed, atCheck: true, logHas: []string{"VS.CHK.DIA_LT_SYS"}},
		{name: "ok", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeOK},
		{name: "already entered", signer: "site1-investigator", msg: apptest.SubmitMsg(k("SCR", 1, "VS"), apptest.VS(151, 90)), want: types.CodeFormExists},
		{name: "soft warning", signer: "site1-investigator", msg: apptest.SubmitMsg(k("D1", 1, "VS"), apptest.VS(185, 90)), want: types.CodeOK},
		{name: "lab", signer: "site1-investigator", msg: apptest.SubmitMsg(k("SCR", 1, "LB"), apptest.LB()), want: types.CodeOK},
		{name: "repeating AE rows", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("W4", 1, "AE"), apptest.AE(2, 1)), want: types.CodeOK},
		{name: "repeatable event, repeat 1", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("UNS", 1, "VS"), apptest.VS(140, 85)), want: types.CodeOK},
		{name: "repeatable event, repeat 2", signer: "site1-coordinator", msg: apptest.SubmitMsg(k("UNS", 2, "VS"), apptest.VS(141, 85)), want: types.CodeOK},
		{name: "site2 own subject", signer: "site2-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S2-101", "SCR", 1, "VS"), apptest.VS(150, 90)), want: types.CodeOK},
	})

	var rec types.FormRecord
	get(t, c, types.KeyForm(k("SCR", 1, "VS")), &rec)
	if rec.Version != 1 || rec.ProtocolVersion != 1 || len(rec.Values) != 9 || len(rec.Warnings) != 0 || rec.Stamp.Signer != "site1-coordinator" || rec.Stamp.Org != "site1" || rec.Stamp.Time == "" {
		t.Errorf("SCR VS record %+v", rec)
	}
	// Values are stored in protocol order whatever the submission order.
	if rec.Values[0].Item != "VS.DATE" || rec.Values[3].Item != "VS.SYSBP" || rec.Values[3].Value != "150" {
		t.Errorf("stored values %+v", rec.Values)
	}
	get(t, c, types.KeyForm(k("D1", 1, "VS")), &rec)
	if len(rec.Warnings) != 1 || rec.Warnings[0].Item != "VS.SYSBP" || rec.Warnings[0].Severity != protocol.Soft || rec.Stamp.Role != types.RoleInvestigator {
		t.Errorf("soft warning not stored: %+v", rec.Warnings)
	}
	get(t, c, types.KeyForm(k("W4", 1, "AE")), &rec)
	rows := map[int]int{}
	for _, v := range rec.Values {
		rows[v.Repeat]++
	}
	if len(rec.Values) != 18 || rows[1] != 9 || rows[2] != 9 { // neither row serious: no AE.SERCRIT
		t.Errorf("AE rows %v (%d values)", rows, len(rec.Values))
	}
	absent(t, c, types.KeyForm(k("W4", 1, "VS")))
	absent(t, c, types.KeyForm(k("SCR", 2, "VS")))
}

// TestEditChecksAtCheckTx: CheckTx refuses a new submission whose values
// fail a hard edit check of the protocol in force, unless a check reads
// another form of the subject, which may change before the block; what
// depends on the subject's state is left to the block.
func TestEditChecksAtCheckTx(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	k := func(subject, ev string, form string) types.FormKey { return apptest.FormKey(subject, ev, 1, form) }
	mustCheck := func(name string, raw []byte, want types.Code, logHas ...string) {
		t.Helper()
		res := c.Check(raw)
		if types.Code(res.Code) != want {
			t.Fatalf("%s: CheckTx code %d (%s) %q, want %d (%s)", name, res.Code, types.Code(res.Code), res.Log, want, want)
		}
		for _, sub := range logHas {
			if !strings.Contains(res.Log, sub) {
				t.Errorf("%s: CheckTx log %q does not mention %q", name, res.Log, sub)
			}
		}
	}

	// A lab form with haemoglobin out of range is refused at once, with
	// the message the block would give.
	badLab := apptest.LB()
	badLab[2] = apptest.V("LB.HGB", "31.0")
	raw := c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-001", "SCR", "LB"), badLab))
	mustCheck("lab out of range", raw, types.CodeEditCheckFailed, "LB.HGB", "S1-001")
	checkLog := c.Check(c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-001", "SCR", "LB"), badLab))).Log
	if res := c.Block(raw)[0]; types.Code(res.Code) != types.CodeEditCheckFailed || res.Log != checkLog {
		t.Errorf("block gave %d %q, CheckTx %q", res.Code, res.Log, checkLog)
	}

	// The pregnancy test applies only to a subject the demography form
	// says is a woman of childbearing potential: whether a filled-in
	// test is allowed waits for the block, which sees that form.
	crossForm := append(apptest.LB(), apptest.V("LB.PREGDONE", "1"))
	raw = c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-001", "SCR", "LB"), crossForm))
	mustCheck("condition on another form", raw, types.CodeOK)
	if res := c.Block(raw)[0]; types.Code(res.Code) != types.CodeEditCheckFailed || !strings.Contains(res.Log, "LB.PREGDONE") {
		t.Errorf("cross-form submission in the block: %d %q", res.Code, res.Log)
	}
	// A range problem stands whatever the other form says.
	crossForm[2] = apptest.V("LB.HGB", "31.0")
	mustCheck("condition on another form, bad value", c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-001", "SCR", "LB"), crossForm)), types.CodeEditCheckFailed, "LB.HGB")

	// A subject whose enrolment waits in the mempool: valid data is
	// accepted, invalid data refused on its values.
	enroll := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	mustCheck("enrolment", enroll, types.CodeOK)
	good := c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-002", "SCR", "VS"), apptest.VS(150, 90)))
	mustCheck("valid form of a subject being enrolled", good, types.CodeOK)
	mustCheck("invalid form of a subject being enrolled", c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-002", "D1", "VS"), apptest.VS(400, 90))), types.CodeEditCheckFailed, "VS.SYSBP")
	for i, res := range c.Block(enroll, good) {
		if res.Code != 0 {
			t.Errorf("block tx %d: %d %q", i, res.Code, res.Log)
		}
	}

	// Bad values and an unknown subject: CheckTx speaks of the values,
	// the block (for a proposer that skipped CheckTx) of the subject.
	raw = c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-999", "SCR", "VS"), apptest.VS(400, 90)))
	mustCheck("bad values, unknown subject", raw, types.CodeEditCheckFailed, "VS.SYSBP")
	if res := c.Block(raw)[0]; types.Code(res.Code) != types.CodeUnknownSubject {
		t.Errorf("bad values, unknown subject, in the block: %d %q", res.Code, res.Log)
	}

	// Corrections and placements the schedule does not allow are judged
	// in the block only.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(k("S1-001", "SCR", "VS"), apptest.VS(150, 90)))
	mustCheck("correction", c.Tx("site1-coordinator", apptest.CorrectMsg(k("S1-001", "SCR", "VS"), "re-measured", apptest.V("VS.SYSBP", "400"))), types.CodeOK)
	mustCheck("form not in event", c.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-001", "D1", "DM"), apptest.VS(400, 90))), types.CodeOK)
}

func TestSubmitFormOrderIndependent(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	vals := apptest.VS(150, 90)
	rev := make([]protocol.ItemValue, len(vals))
	for i, v := range vals {
		rev[len(vals)-1-i] = v
	}
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), vals))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), rev))
	var a, b types.FormRecord
	get(t, c, types.KeyForm(apptest.FormKey("S1-001", "SCR", 1, "VS")), &a)
	get(t, c, types.KeyForm(apptest.FormKey("S1-002", "SCR", 1, "VS")), &b)
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			t.Fatalf("value %d: %+v vs %+v", i, a.Values[i], b.Values[i])
		}
	}
}

func TestCorrectForm(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(scr, apptest.VS(150, 90)))
	v1Height := c.Height

	runSteps(t, c, []step{
		{name: "missing reason", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "", apptest.V("VS.SYSBP", "148")), want: types.CodeReasonRequired, atCheck: true},
		{name: "blank reason", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "   ", apptest.V("VS.SYSBP", "148")), want: types.CodeReasonRequired, atCheck: true},
		{name: "no changes listed", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "why"), want: types.CodeNoChange, atCheck: true},
		{name: "sponsor", signer: "sponsor-dm", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "148")), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator", signer: "regulator-auditor", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "148")), want: types.CodeUnauthorized, atCheck: true},
		{name: "other site", signer: "site2-coordinator", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "148")), want: types.CodeWrongSite},
		{name: "not yet entered", signer: "site1-coordinator", msg: apptest.CorrectMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), "why", apptest.V("VS.SYSBP", "148")), want: types.CodeFormNotFound},
		{name: "no change", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "150")), want: types.CodeNoChange},
		{name: "clearing an absent item", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.NOPE", "")), want: types.CodeNoChange},
		{name: "ok", signer: "site1-investigator", msg: apptest.CorrectMsg(scr, "transcription error, source shows 148", apptest.V("VS.SYSBP", "148")), want: types.CodeOK},
	})
	var cur, old types.FormRecord
	get(t, c, types.KeyForm(scr), &cur)
	get(t, c, types.KeyFormHistory(scr, 1), &old)
	if cur.Version != 2 || len(cur.Changed) != 1 || cur.Changed[0] != "VS.SYSBP" || cur.Reason != "transcription error, source shows 148" || cur.Stamp.Signer != "site1-investigator" {
		t.Errorf("current %+v", cur)
	}
	if old.Version != 1 || old.Stamp.Height != v1Height || old.Stamp.Signer != "site1-coordinator" || old.Reason != "" {
		t.Errorf("history %+v", old)
	}
	if value(cur, "VS.SYSBP") != "148" || value(old, "VS.SYSBP") != "150" || value(cur, "VS.HR") != "72" {
		t.Errorf("values: current SYSBP %q HR %q, history SYSBP %q", value(cur, "VS.SYSBP"), value(cur, "VS.HR"), value(old, "VS.SYSBP"))
	}
	absent(t, c, types.KeyFormHistory(scr, 2))

	// A correction that introduces a hard problem is rejected whole, with
	// every problem named; the record stays at version 2.
	runSteps(t, c, []step{
		{name: "hard problem", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "40"), apptest.V("VS.HR", "500")), want: types.CodeEditCheckFailed, logHas: []string{"VS.SYSBP", "VS.HR"}},
		{name: "clearing a required item", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "why", apptest.V("VS.SYSBP", "")), want: types.CodeEditCheckFailed, logHas: []string{"VS.SYSBP"}},
	})
	var after types.FormRecord
	get(t, c, types.KeyForm(scr), &after)
	if after.Version != 2 || value(after, "VS.SYSBP") != "148" {
		t.Errorf("rejected correction changed the record: %+v", after)
	}
	absent(t, c, types.KeyFormHistory(scr, 2))

	// Clearing an optional item and a soft value: version 3, warning kept.
	runSteps(t, c, []step{
		{name: "clear optional and soft value", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "time not recorded; re-read", apptest.V("VS.TIME", ""), apptest.V("VS.SYSBP", "185")), want: types.CodeOK},
	})
	get(t, c, types.KeyForm(scr), &cur)
	if cur.Version != 3 || value(cur, "VS.TIME") != "" || strings.Join(cur.Changed, ",") != "VS.TIME,VS.SYSBP" || len(cur.Warnings) != 1 {
		t.Errorf("version 3 %+v", cur)
	}
	get(t, c, types.KeyFormHistory(scr, 2), &old)
	if old.Version != 2 || value(old, "VS.SYSBP") != "148" {
		t.Errorf("history 2 %+v", old)
	}
	get(t, c, types.KeyFormHistory(scr, 1), &old)
	if old.Version != 1 || value(old, "VS.SYSBP") != "150" {
		t.Errorf("history 1 overwritten: %+v", old)
	}

	// A correction made from version 2 is refused now that the form is at
	// version 3, and changes nothing; one made from version 3 is applied.
	from := func(base int, sysbp string) types.Msg {
		m := apptest.CorrectMsg(scr, "source document review", apptest.V("VS.SYSBP", sysbp))
		m.CorrectForm.BaseVersion = base
		return m
	}
	runSteps(t, c, []step{
		{name: "negative base version", signer: "site1-coordinator", msg: from(-1, "150"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "stale base version", signer: "site1-coordinator", msg: from(2, "150"), want: types.CodeFormChanged, logHas: []string{"version 3 on the ledger, not version 2"}},
		{name: "base version ahead", signer: "site1-coordinator", msg: from(4, "150"), want: types.CodeFormChanged},
	})
	get(t, c, types.KeyForm(scr), &cur)
	if cur.Version != 3 || value(cur, "VS.SYSBP") != "185" {
		t.Errorf("a stale correction changed the record: %+v", cur)
	}
	runSteps(t, c, []step{{name: "current base version", signer: "site1-coordinator", msg: from(3, "150"), want: types.CodeOK}})
	get(t, c, types.KeyForm(scr), &cur)
	if cur.Version != 4 || value(cur, "VS.SYSBP") != "150" {
		t.Errorf("version 4 %+v", cur)
	}
}

func value(r types.FormRecord, item string) string {
	for _, v := range r.Values {
		if v.Item == item {
			return v.Value
		}
	}
	return ""
}

func TestWithdrawSubject(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(scr, apptest.VS(150, 90)))
	runSteps(t, c, []step{
		{name: "no reason", signer: "site1-investigator", msg: apptest.WithdrawMsg("S1-001", ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "sponsor", signer: "sponsor-dm", msg: apptest.WithdrawMsg("S1-001", "x"), want: types.CodeUnauthorized, atCheck: true},
		{name: "other site", signer: "site2-coordinator", msg: apptest.WithdrawMsg("S1-001", "x"), want: types.CodeWrongSite},
		{name: "unknown subject", signer: "site1-investigator", msg: apptest.WithdrawMsg("S1-404", "x"), want: types.CodeUnknownSubject},
		{name: "ok", signer: "site1-investigator", msg: apptest.WithdrawMsg("S1-001", "consent withdrawn"), want: types.CodeOK},
		{name: "twice", signer: "site1-coordinator", msg: apptest.WithdrawMsg("S1-001", "again"), want: types.CodeWithdrawalNotStricter},
		{name: "submit after withdrawal", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(150, 90)), want: types.CodeSubjectWithdrawn},
		{name: "correct earlier data", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "transcription error", apptest.V("VS.HR", "70")), want: types.CodeOK},
	})
	var sub types.Subject
	get(t, c, types.KeySubject(study, "S1-001"), &sub)
	if sub.Status != types.SubjectWithdrawn || sub.WithdrawReason != "consent withdrawn" || sub.Withdrawn == nil || sub.Withdrawn.Signer != "site1-investigator" {
		t.Errorf("subject %+v", sub)
	}
	var rec types.FormRecord
	get(t, c, types.KeyFormHistory(scr, 1), &rec)
	if value(rec, "VS.HR") != "72" {
		t.Errorf("earlier data changed: %+v", rec)
	}
	absent(t, c, types.KeyForm(apptest.FormKey("S1-001", "D1", 1, "VS")))
}

// TestEnrollPseudonymsOnly: a subject ID outside the protocol's pattern is
// refused with its own code, naming the pattern, and writes nothing; an
// approved amendment that changes the pattern applies to enrolments from
// its block on, and subjects enrolled before keep their IDs.
func TestEnrollPseudonymsOnly(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	pattern := []string{`^S[0-9]{1,4}-[0-9]{3,5}$`, "VT-HTN-201", "protocol version 1", "never a name"}
	runSteps(t, c, []step{
		{name: "a name", signer: "site1-coordinator", msg: apptest.EnrollMsg("JohnDoe", "site1"), want: types.CodeSubjectIDPattern, logHas: pattern},
		{name: "initials and date of birth", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-19850312", "site1"), want: types.CodeSubjectIDPattern, logHas: pattern},
		{name: "hospital number", signer: "site1-coordinator", msg: apptest.EnrollMsg("4410982", "site1"), want: types.CodeSubjectIDPattern},
		{name: "pseudonym", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeOK},
	})
	for _, id := range []string{"JohnDoe", "S1-19850312", "4410982"} {
		absent(t, c, types.KeySubject(study, id))
	}

	v2 := apptest.Example()
	v2.Study.Version = "2.0"
	v2.Study.SubjectIDPattern = `^HTN[0-9]{2}-[0-9]{4}$`
	c.MustDo("sponsor-dm", apptest.AmendMsg(v2, "central randomisation numbers"))
	c.MustDo("regulator-auditor", apptest.ApproveMsg(study, 1))
	var am types.Amendment
	get(t, c, types.KeyAmendment(study, 1), &am)
	if !strings.Contains(strings.Join(am.Changes, "\n"), "subject_id_pattern") {
		t.Errorf("the amendment's changes do not show the new pattern: %q", am.Changes)
	}
	runSteps(t, c, []step{
		{name: "old form after the amendment", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-002", "site1"), want: types.CodeSubjectIDPattern, logHas: []string{"^HTN[0-9]{2}-[0-9]{4}$", "protocol version 2"}},
		{name: "new form", signer: "site1-coordinator", msg: apptest.EnrollMsg("HTN01-0001", "site1"), want: types.CodeOK},
	})
	var sub types.Subject
	get(t, c, types.KeySubject(study, "S1-001"), &sub)
	if sub.Status != types.SubjectEnrolled {
		t.Errorf("the subject enrolled before the amendment: %+v", sub)
	}
	// Data entry for it goes on under the new protocol.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(140, 90)))
}
