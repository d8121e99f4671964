package app_test

import (
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// labTable is the example table with one range changed by edit.
func labTable(edit func(t *types.LabRanges)) types.LabRanges {
	t := apptest.LabRanges()
	edit(&t)
	return t
}

// labValues is the example laboratory form with some values replaced.
func labValues(changes ...protocol.ItemValue) []protocol.ItemValue {
	vals := apptest.LB()
	for _, ch := range changes {
		for i := range vals {
			if vals[i].Item == ch.Item {
				vals[i] = ch
			}
		}
	}
	return vals
}

// demographicsOf is a complete DM form of a subject of sex and age.
func demographicsOf(sex, age string) []protocol.ItemValue {
	v := apptest.V
	vals := []protocol.ItemValue{v("DM.CONSDT", "2026-01-05"), v("DM.AGE", age), v("DM.SEX", sex),
		v("DM.HEIGHT", "170.0"), v("DM.WEIGHT", "70.0"), v("DM.SMOKE", "1")}
	if sex == "2" {
		vals = append(vals, v("DM.CBP", "0"))
	}
	return vals
}

func TestSetLabRanges(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	set := func(edit func(t *types.LabRanges)) types.Msg {
		return apptest.SetLabRangesMsg(labTable(edit), "central laboratory ranges")
	}
	ok := set(func(*types.LabRanges) {})
	age := func(n int) *int { return &n }
	noReason := apptest.SetLabRangesMsg(apptest.LabRanges(), " ")
	otherStudy := set(func(*types.LabRanges) {})
	otherStudy.SetLabRanges.Study = "VT-NONE"
	bad := func(name string, edit func(t *types.LabRanges), atCheck bool, logHas ...string) step {
		return step{name: name, signer: "sponsor-dm", msg: set(edit), want: types.CodeInvalidLabRanges, atCheck: atCheck, logHas: logHas}
	}
	runSteps(t, c, []step{
		{name: "sponsor admin lacks the role", signer: "sponsor-admin", msg: ok, want: types.CodeUnauthorized, atCheck: true},
		{name: "medical monitor", signer: "sponsor-mm", msg: ok, want: types.CodeUnauthorized, atCheck: true},
		{name: "cro monitor", signer: "cro-monitor", msg: ok, want: types.CodeUnauthorized, atCheck: true},
		{name: "investigator", signer: "site1-investigator", msg: ok, want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator", signer: "regulator-auditor", msg: ok, want: types.CodeUnauthorized, atCheck: true},
		{name: "no reason", signer: "sponsor-dm", msg: noReason, want: types.CodeInvalidMsg, atCheck: true},
		bad("no range", func(t *types.LabRanges) { t.Ranges = nil }, true, "no range"),
		bad("low above high", func(t *types.LabRanges) { t.Ranges[2].Low = "6.0" }, true, "range 3", "low 6.0 is above high 5.1"),
		bad("bound not a decimal", func(t *types.LabRanges) { t.Ranges[2].High = "5e1" }, true, "not a decimal number"),
		bad("no bound", func(t *types.LabRanges) { t.Ranges[2].Low, t.Ranges[2].High = "", "" }, true, "low or a high bound"),
		bad("overlapping age bands", func(t *types.LabRanges) { t.Ranges[4].AgeMin = age(64) }, true, "range 5", "overlaps range 4"),
		bad("a second range for any age", func(t *types.LabRanges) {
			t.Ranges = append(t.Ranges, types.LabRange{Item: "LB.K", Low: "3.4", High: "5.0"})
		}, true, "overlaps range 3"),
		bad("sex without a sex item", func(t *types.LabRanges) { t.SexItem = "" }, true, "no sex item"),
		bad("lab without a lab item", func(t *types.LabRanges) { t.Ranges[2].Lab = "CENTRAL" }, true, "no lab item"),
		bad("age band without an age item", func(t *types.LabRanges) { t.AgeItem = "" }, true, "no age item"),
		bad("age band reversed", func(t *types.LabRanges) { t.Ranges[3].AgeMin = age(70) }, true, "starts after it ends"),
		bad("age beyond the limit", func(t *types.LabRanges) { t.Ranges[4].AgeMax = age(200) }, true, "years from 0"),
		bad("bad item ID", func(t *types.LabRanges) { t.Ranges[0].Item = "LB HGB" }, true, "not a valid identifier"),
		{name: "unknown study", signer: "sponsor-dm", msg: otherStudy, want: types.CodeUnknownStudy},
		bad("unknown item", func(t *types.LabRanges) { t.Ranges[2].Item = "LB.XX" }, false, "LB.XX is not an item"),
		bad("item not numeric", func(t *types.LabRanges) { t.Ranges[2].Item = "LB.DATE" }, false, "a date item"),
		bad("another unit", func(t *types.LabRanges) { t.Ranges[0].Unit = "g/L" }, false, "not the item's unit g/dL"),
		bad("sex not a code", func(t *types.LabRanges) { t.Ranges[1].Sex = "F" }, false, `sex "F" is not a code`),
		bad("age item not numeric", func(t *types.LabRanges) { t.AgeItem = "DM.SEX" }, false, "age item DM.SEX is a choice item"),
		bad("unknown lab item", func(t *types.LabRanges) { t.LabItem = "LB.LAB" }, false, "lab item LB.LAB is not an item"),
		{name: "ok", signer: "sponsor-dm", msg: ok, want: types.CodeOK},
		{name: "replaced", signer: "sponsor-dm", msg: set(func(t *types.LabRanges) { t.Ranges[2].High = "5.3" }), want: types.CodeOK},
	})
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.LabRanges != 2 {
		t.Fatalf("study's table in force: %d, want 2", s.LabRanges)
	}
	for n, high := range map[int]string{1: "5.1", 2: "5.3"} {
		var tab types.LabRangeTable
		get(t, c, types.KeyLabRanges(study, n), &tab)
		if tab.Version != n || tab.ProtocolVersion != 1 || tab.Reason != "central laboratory ranges" || tab.Stamp.Signer != "sponsor-dm" || tab.Stamp.Role != types.RoleDataManager ||
			tab.SexItem != "DM.SEX" || len(tab.Ranges) != 5 || tab.Ranges[2].High != high {
			t.Errorf("table version %d: %+v", n, tab)
		}
	}
}

// TestSetLabRangesOtherSponsor: only the study's sponsor registers its
// table.
func TestSetLabRangesOtherSponsor(t *testing.T) {
	g, people := apptest.PolicyGenesis()
	c := apptest.NewWith(t, g)
	for _, p := range people {
		c.AddPerson(p)
	}
	for _, s := range apptest.PolicySteps() {
		c.MustDo(s.Signer, s.Msg)
	}
	runSteps(t, c, []step{{name: "another sponsor", signer: "sponsor2-dm", msg: apptest.SetLabRangesMsg(apptest.LabRanges(), "x"), want: types.CodeWrongOrg}})
}

// TestLabFlags: values outside their reference range are flagged in the
// form record, by the subject's sex and age band, without a data query;
// a value outside its soft range too also gets the soft range's query.
// A new table applies from the next submission or correction on.
func TestLabFlags(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	v := apptest.V
	lb := func(subject string) types.FormKey { return apptest.FormKey(subject, "SCR", 1, "LB") }
	for _, s := range []string{"S1-001", "S1-002", "S1-003", "S1-004"} {
		c.MustDo("site1-coordinator", apptest.EnrollMsg(s, "site1"))
	}
	// Before any table: nothing is flagged.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb("S1-004"), labValues(v("LB.HGB", "16.0"))))
	c.MustDo("sponsor-dm", apptest.SetLabRangesMsg(apptest.LabRanges(), "central laboratory ranges"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "DM"), demographicsOf("2", "54")))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "DM"), demographicsOf("1", "70")))
	// S1-001, a woman of 54: haemoglobin above the women's range (inside
	// the soft range), ALT above the range of her age band, potassium
	// above its range and its soft range.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb("S1-001"), labValues(v("LB.HGB", "16.0"), v("LB.ALT", "45"), v("LB.K", "5.5"))))
	// S1-002, a man of 70: haemoglobin below the men's range, ALT above
	// the range of his age band (inside the younger band's).
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb("S1-002"), labValues(v("LB.HGB", "12.5"), v("LB.ALT", "38"))))
	// S1-003 has no demographics: only the ranges for either sex and any
	// age apply.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb("S1-003"), labValues(v("LB.HGB", "16.0"), v("LB.ALT", "45"), v("LB.K", "5.5"))))

	flags := func(k types.FormKey) []types.LabFlag {
		t.Helper()
		var rec types.FormRecord
		get(t, c, types.KeyForm(k), &rec)
		return rec.LabFlags
	}
	flag := func(item, value, low, high, unit, dir string) types.LabFlag {
		return types.LabFlag{Item: item, Value: value, Low: low, High: high, Unit: unit, Direction: dir, Table: 1, Since: 1}
	}
	same := func(name string, got []types.LabFlag, want ...types.LabFlag) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: flags %+v, want %+v", name, got, want)
			return
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: flag %d %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	same("before the table", flags(lb("S1-004")))
	same("woman of 54", flags(lb("S1-001")),
		flag("LB.HGB", "16.0", "12.0", "15.5", "g/dL", types.LabHigh),
		flag("LB.K", "5.5", "3.5", "5.1", "mmol/L", types.LabHigh),
		flag("LB.ALT", "45", "", "40", "U/L", types.LabHigh))
	same("man of 70", flags(lb("S1-002")),
		flag("LB.HGB", "12.5", "13.0", "17.0", "g/dL", types.LabLow),
		flag("LB.ALT", "38", "", "35", "U/L", types.LabHigh))
	same("sex and age unknown", flags(lb("S1-003")), flag("LB.K", "5.5", "3.5", "5.1", "mmol/L", types.LabHigh))

	// The only data queries are the soft range's on potassium.
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.Queries != 2 {
		t.Fatalf("%d data queries, want the 2 of potassium's soft range", s.Queries)
	}
	for n := 1; n <= s.Queries; n++ {
		var q types.Query
		get(t, c, types.KeyQuery(study, n), &q)
		if q.Item != "LB.K" {
			t.Errorf("query %d is on %s: a reference range opened a query", n, q.Item)
		}
	}

	// A new table: the records stay as flagged, a correction is flagged
	// under the new one.
	c.MustDo("sponsor-dm", apptest.SetLabRangesMsg(labTable(func(t *types.LabRanges) { t.Ranges[2].High = "5.6" }), "potassium range widened"))
	same("kept", flags(lb("S1-003")), flag("LB.K", "5.5", "3.5", "5.1", "mmol/L", types.LabHigh))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb("S1-003"), "transcription error", v("LB.HGB", "15.0")))
	same("corrected under table 2", flags(lb("S1-003")))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb("S1-003"), "transcription error", v("LB.K", "5.8")))
	same("value out again", flags(lb("S1-003")), types.LabFlag{Item: "LB.K", Value: "5.8", Low: "3.5", High: "5.6", Unit: "mmol/L", Direction: types.LabHigh, Table: 2, Since: 3})
	// A missing-data code or a cleared value is not flagged.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb("S1-003"), "result withdrawn by the lab", v("LB.K", "")))
	same("value cleared", flags(lb("S1-003")))
}

// TestAssessLabValue: the investigator of the subject's site assesses a
// flagged value of the current form version; a correction that changes
// the value asks for a new assessment.
func TestAssessLabValue(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	v := apptest.V
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("sponsor-dm", apptest.SetLabRangesMsg(apptest.LabRanges(), "central laboratory ranges"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "DM"), demographicsOf("2", "54")))
	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb, labValues(v("LB.HGB", "16.0"), v("LB.ALT", "45"))))
	assess := func(item string, version int, significant bool, comment string) types.Msg {
		return apptest.AssessLabMsg(lb, item, 0, version, significant, comment)
	}
	notEntered := apptest.AssessLabMsg(apptest.FormKey("S1-001", "D1", 1, "LB"), "LB.HGB", 0, 1, false, "")
	// A second investigator of site1, not yet delegated the sign task.
	c.MustDo("site1-admin", addMsg("site1-subi", "Dr. Demo Subinvestigator", pub("site1-subi"), types.RoleInvestigator))
	c.AddPerson(&apptest.Person{ID: "site1-subi", Org: "site1", Name: "Dr. Demo Subinvestigator", Roles: []types.Role{types.RoleInvestigator}, Key: apptest.KeyFor("site1-subi")})
	runSteps(t, c, []step{
		{name: "coordinator", signer: "site1-coordinator", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "site admin", signer: "site1-admin", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "sponsor data manager", signer: "sponsor-dm", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "medical monitor", signer: "sponsor-mm", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "cro monitor", signer: "cro-monitor", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator", signer: "regulator-auditor", msg: assess("LB.HGB", 1, false, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "significant without a comment", signer: "site1-investigator", msg: assess("LB.ALT", 1, true, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "no form version", signer: "site1-investigator", msg: assess("LB.ALT", 0, false, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "another site's investigator", signer: "site2-investigator", msg: assess("LB.HGB", 1, false, ""), want: types.CodeWrongSite},
		{name: "form not entered", signer: "site1-investigator", msg: notEntered, want: types.CodeFormNotFound},
		{name: "value in range", signer: "site1-investigator", msg: assess("LB.PLT", 1, false, ""), want: types.CodeNoLabFlag, logHas: []string{"LB.PLT"}},
		{name: "a version not yet entered", signer: "site1-investigator", msg: assess("LB.HGB", 2, false, ""), want: types.CodeFormChanged},
		{name: "investigator without the sign task", signer: "site1-subi", msg: assess("LB.HGB", 1, false, ""), want: types.CodeNotDelegated},
		{name: "delegated", signer: "site1-investigator", msg: apptest.DelegateSiteMsg(study, "site1", "site1-subi", types.TaskSign), want: types.CodeOK},
		{name: "not significant", signer: "site1-subi", msg: assess("LB.HGB", 1, false, "known thalassaemia trait"), want: types.CodeOK},
		{name: "significant", signer: "site1-investigator", msg: assess("LB.ALT", 1, true, "adverse event reported"), want: types.CodeOK},
	})
	assessments := func(item string) *types.LabAssessments {
		t.Helper()
		var la types.LabAssessments
		get(t, c, types.KeyLabAssessments(lb, item, 0), &la)
		return &la
	}
	current := func(name string) map[string]*types.LabAssessment {
		t.Helper()
		var rec types.FormRecord
		get(t, c, types.KeyForm(lb), &rec)
		out := map[string]*types.LabAssessment{}
		for _, f := range rec.LabFlags {
			out[f.Item] = assessments(f.Item).For(f)
		}
		return out
	}
	got := current("assessed")
	if a := got["LB.ALT"]; a == nil || !a.Significant || a.Value != "45" || a.FormVersion != 1 || a.Comment != "adverse event reported" || a.Stamp.Signer != "site1-investigator" || a.Stamp.Role != types.RoleInvestigator {
		t.Errorf("ALT assessment %+v", a)
	}
	if a := got["LB.HGB"]; a == nil || a.Significant || a.Stamp.Signer != "site1-subi" {
		t.Errorf("HGB assessment %+v", a)
	}

	// A correction of ALT: its assessment is stale, haemoglobin's stands.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb, "transcription error", v("LB.ALT", "48")))
	got = current("after the correction")
	if got["LB.ALT"] != nil || got["LB.HGB"] == nil {
		t.Errorf("after the correction of ALT: %+v", got)
	}
	runSteps(t, c, []step{
		{name: "stale form version", signer: "site1-investigator", msg: assess("LB.ALT", 1, false, ""), want: types.CodeFormChanged, logHas: []string{"version 2"}},
		{name: "assessed again", signer: "site1-investigator", msg: assess("LB.ALT", 2, true, "adverse event updated"), want: types.CodeOK},
	})
	if la := assessments("LB.ALT"); len(la.Assessments) != 2 || la.Assessments[0].Value != "45" || la.Assessments[1].Value != "48" || la.Assessments[1].FormVersion != 2 {
		t.Errorf("ALT assessments %+v", la.Assessments)
	}
	if current("assessed again")["LB.ALT"] == nil {
		t.Error("ALT still needs assessing")
	}

	// A correction back in range removes the flag.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb, "transcription error", v("LB.HGB", "15.0")))
	// Frozen, the form is still assessed; locked, it is not.
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Subject: "S1-001"}, ""))
	runSteps(t, c, []step{
		{name: "flag gone", signer: "site1-investigator", msg: assess("LB.HGB", 3, false, ""), want: types.CodeNoLabFlag},
		{name: "frozen", signer: "site1-investigator", msg: assess("LB.ALT", 3, true, "adverse event ongoing"), want: types.CodeOK},
	})
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindLock, types.Scope{Study: study, Subject: "S1-001"}, ""))
	runSteps(t, c, []step{{name: "locked", signer: "site1-investigator", msg: assess("LB.ALT", 3, false, "x"), want: types.CodeLocked}})
}
