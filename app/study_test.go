package app_test

import (
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

const study = apptest.StudyID

func TestRegisterStudy(t *testing.T) {
	c := apptest.New(t)

	wrongFP := apptest.RegisterMsg(apptest.Example())
	wrongFP.RegisterStudy.Fingerprint = strings.Repeat("ab", 32)

	dup := apptest.Example()
	dup.Study.ID = "VT-DUP-1"
	vs := &formOf(t, dup, "VS").Groups[0]
	vs.Items = append(vs.Items, vs.Items[0]) // a second VS.DATE

	other := apptest.Example()
	other.Study.ID = "VT-OTHER"
	badFPFormat := apptest.RegisterMsg(other)
	badFPFormat.RegisterStudy.Fingerprint = "not-hex"
	badID := apptest.Example()
	badID.Study.ID = "bad id"

	runSteps(t, c, []step{
		{name: "site signer", signer: "site1-admin", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeUnauthorized, atCheck: true},
		{name: "site investigator", signer: "site1-investigator", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator", signer: "regulator-admin", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeUnauthorized, atCheck: true},
		{name: "cro", signer: "cro-admin", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeUnauthorized, atCheck: true},
		{name: "sponsor medical monitor", signer: "sponsor-mm", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeUnauthorized, atCheck: true},
		{name: "wrong fingerprint", signer: "sponsor-dm", msg: wrongFP, want: types.CodeFingerprint},
		{name: "fingerprint not hex", signer: "sponsor-dm", msg: badFPFormat, want: types.CodeInvalidMsg, atCheck: true},
		{name: "bad study ID", signer: "sponsor-dm", msg: apptest.RegisterMsg(badID), want: types.CodeInvalidMsg, atCheck: true},
		{name: "invalid protocol (duplicate item OID)", signer: "sponsor-dm", msg: apptest.RegisterMsg(dup), want: types.CodeInvalidProtocol, logHas: []string{"VS.DATE"}},
		{name: "unknown approver", signer: "sponsor-dm", msg: apptest.RegisterMsg(other, "nobody"), want: types.CodeUnknownOrg},
		{name: "ok", signer: "sponsor-dm", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeOK},
		{name: "duplicate", signer: "sponsor-admin", msg: apptest.RegisterMsg(apptest.Example()), want: types.CodeStudyExists},
		{name: "explicit approvers", signer: "sponsor-admin", msg: apptest.RegisterMsg(other, "regulator", "cro", "regulator"), want: types.CodeOK},
	})

	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.Sponsor != "sponsor" || s.Current != 1 || s.Versions != 1 || s.Pending != 0 || len(s.Approvers) != 1 || s.Approvers[0] != "regulator" {
		t.Errorf("study record %+v", s)
	}
	if s.Registered.Signer != "sponsor-dm" || s.Registered.Org != "sponsor" || s.Registered.Role != types.RoleDataManager || s.Registered.Height == 0 || s.Registered.TxHash == "" {
		t.Errorf("registration stamp %+v", s.Registered)
	}
	var pv types.ProtocolVersion
	get(t, c, types.KeyProtocol(study, 1), &pv)
	if pv.Number != 1 || pv.Label != "1.0" || pv.Fingerprint != apptest.Fingerprint(apptest.Example()) {
		t.Errorf("protocol version 1: number %d label %q fingerprint %s", pv.Number, pv.Label, pv.Fingerprint)
	}
	if fp := apptest.Fingerprint(&pv.Protocol); fp != pv.Fingerprint {
		t.Errorf("stored protocol fingerprint %s, record says %s", fp, pv.Fingerprint)
	}
	if len(pv.Protocol.Study.PrimaryOutcomes) == 0 || pv.Protocol.Study.SAPSHA256 == "" {
		t.Errorf("declared outcomes or SAP hash missing from the stored protocol")
	}
	var o types.Study
	get(t, c, types.KeyStudy("VT-OTHER"), &o)
	if strings.Join(o.Approvers, ",") != "regulator,cro" {
		t.Errorf("explicit approvers %v, want regulator,cro (deduplicated, in order)", o.Approvers)
	}
	absent(t, c, types.KeyStudy("VT-DUP-1"))
}

// v2 is the example protocol amended: version 2.0, systolic blood
// pressure hard range narrowed to 70-240.
func v2(t testing.TB, id, label string) *protocol.Protocol {
	p := apptest.Example()
	p.Study.ID = id
	p.Study.Version = label
	setHard(t, p, "VS.SYSBP", "70", "240")
	return p
}

func TestAmendmentApproved(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(scr, apptest.VS(245, 90)))

	sameLabel := v2(t, study, "1.0")
	mismatch := apptest.AmendMsg(v2(t, "VT-ELSE", "2.0"), "r")
	mismatch.ProposeAmendment.Study = study
	unknown := v2(t, "VT-NONE", "2.0")
	noRationale := apptest.AmendMsg(v2(t, study, "2.0"), " ")

	runSteps(t, c, []step{
		{name: "propose by site", signer: "site1-admin", msg: apptest.AmendMsg(v2(t, study, "2.0"), "r"), want: types.CodeUnauthorized, atCheck: true},
		{name: "propose by regulator", signer: "regulator-admin", msg: apptest.AmendMsg(v2(t, study, "2.0"), "r"), want: types.CodeUnauthorized, atCheck: true},
		{name: "propose without rationale", signer: "sponsor-dm", msg: noRationale, want: types.CodeInvalidMsg, atCheck: true},
		{name: "propose for unknown study", signer: "sponsor-dm", msg: apptest.AmendMsg(unknown, "r"), want: types.CodeUnknownStudy},
		{name: "protocol of another study", signer: "sponsor-dm", msg: mismatch, want: types.CodeInvalidProtocol},
		{name: "reused version label", signer: "sponsor-dm", msg: apptest.AmendMsg(sameLabel, "r"), want: types.CodeAmendVersion, logHas: []string{"1.0"}},
		{name: "identical protocol", signer: "sponsor-dm", msg: apptest.AmendMsg(apptest.Example(), "r"), want: types.CodeAmendVersion},
		{name: "migrates an unknown form", signer: "sponsor-dm", msg: migrating(v2(t, study, "2.0"), "LAB"), want: types.CodeUnknownForm, logHas: []string{`"LAB"`}},
		{name: "migrates a form twice", signer: "sponsor-dm", msg: migrating(v2(t, study, "2.0"), "VS", "VS"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "approve with nothing pending", signer: "regulator-admin", msg: apptest.ApproveMsg(study, 1), want: types.CodeNoAmendment},
		{name: "propose", signer: "sponsor-dm", msg: apptest.AmendMsg(v2(t, study, "2.0"), "safety: narrow SBP range"), want: types.CodeOK},
		{name: "second proposal while pending", signer: "sponsor-dm", msg: apptest.AmendMsg(v2(t, study, "3.0"), "r"), want: types.CodeAmendPending},
		{name: "approve by site admin (not an approver)", signer: "site1-admin", msg: apptest.ApproveMsg(study, 1), want: types.CodeNotApprover},
		{name: "approve by cro admin (not an approver)", signer: "cro-admin", msg: apptest.ApproveMsg(study, 1), want: types.CodeNotApprover},
		{name: "approve by sponsor data manager (role)", signer: "sponsor-dm", msg: apptest.ApproveMsg(study, 1), want: types.CodeUnauthorized, atCheck: true},
		{name: "approve by site coordinator (role)", signer: "site1-coordinator", msg: apptest.ApproveMsg(study, 1), want: types.CodeUnauthorized, atCheck: true},
		{name: "approve wrong number", signer: "regulator-auditor", msg: apptest.ApproveMsg(study, 2), want: types.CodeNoAmendment},
		{name: "approve number 0", signer: "regulator-auditor", msg: apptest.ApproveMsg(study, 0), want: types.CodeInvalidMsg, atCheck: true},
		{name: "approve unknown study", signer: "regulator-auditor", msg: apptest.ApproveMsg("VT-NONE", 1), want: types.CodeUnknownStudy},
	})

	var pend types.Amendment
	get(t, c, types.KeyAmendment(study, 1), &pend)
	if pend.Status != types.AmendmentPending || pend.Label != "2.0" || len(pend.Changes) == 0 || pend.Rationale != "safety: narrow SBP range" {
		t.Errorf("pending amendment %+v", pend)
	}
	if !strings.Contains(strings.Join(pend.Changes, "\n"), "VS.SYSBP") {
		t.Errorf("amendment diff does not mention VS.SYSBP: %q", pend.Changes)
	}
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.Current != 1 || s.Pending != 1 {
		t.Errorf("before approval: current %d pending %d", s.Current, s.Pending)
	}
	// Not in force before approval: 245 passes v1's hard range.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(245, 90)))
	// CheckTx passes the same values under v1; delivered once v2 is in
	// force, they are judged under v2.
	early := c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "UNS", 1, "VS"), apptest.VS(245, 90)))
	if r := c.Check(early); r.Code != 0 {
		t.Fatalf("CheckTx under v1: %d %q", r.Code, r.Log)
	}

	runSteps(t, c, []step{
		{name: "approve by regulator", signer: "regulator-auditor", msg: apptest.ApproveMsg(study, 1), want: types.CodeOK},
		{name: "approve again", signer: "regulator-admin", msg: apptest.ApproveMsg(study, 1), want: types.CodeNoAmendment},
	})
	if res := c.Block(early)[0]; types.Code(res.Code) != types.CodeEditCheckFailed || !strings.Contains(res.Log, "VS.SYSBP") {
		t.Errorf("submission checked under v1, delivered under v2: %d %q", res.Code, res.Log)
	}
	runSteps(t, c, []step{
		{name: "v2 hard range enforced", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "VS"), apptest.VS(245, 90)), want: types.CodeEditCheckFailed, atCheck: true, logHas: []string{"VS.SYSBP"}},
		{name: "v2 accepts in range", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "VS"), apptest.VS(150, 90)), want: types.CodeOK},
	})

	get(t, c, types.KeyStudy(study), &s)
	if s.Current != 2 || s.Versions != 2 || s.Pending != 0 || s.Amendments != 1 {
		t.Errorf("after approval: %+v", s)
	}
	var am types.Amendment
	get(t, c, types.KeyAmendment(study, 1), &am)
	if am.Status != types.AmendmentApproved || am.Version != 2 || am.Decided == nil || len(am.Votes) != 1 || am.Votes[0].Org != "regulator" || !am.Votes[0].Approve {
		t.Errorf("approved amendment %+v", am)
	}
	var p1, p2 types.ProtocolVersion
	get(t, c, types.KeyProtocol(study, 1), &p1)
	get(t, c, types.KeyProtocol(study, 2), &p2)
	if p1.Label != "1.0" || p2.Label != "2.0" || p2.Amendment != 1 || p2.Number != 2 || p1.Fingerprint == p2.Fingerprint {
		t.Errorf("versions: v1 %q, v2 %q amendment %d", p1.Label, p2.Label, p2.Amendment)
	}
	for _, tc := range []struct {
		k    types.FormKey
		want int
	}{{scr, 1}, {apptest.FormKey("S1-001", "D1", 1, "VS"), 1}, {apptest.FormKey("S1-001", "W4", 1, "VS"), 2}} {
		var rec types.FormRecord
		get(t, c, types.KeyForm(tc.k), &rec)
		if rec.ProtocolVersion != tc.want {
			t.Errorf("%s: protocol_version %d, want %d", tc.k.Event, rec.ProtocolVersion, tc.want)
		}
	}
	// A correction of v1 data is judged under v1, the version the form was
	// entered under, and records it: v2's narrower range does not refuse
	// the correction of another item.
	runSteps(t, c, []step{
		{name: "correction under v1 keeps a v1-valid value", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "re-measured", apptest.V("VS.HR", "70")), want: types.CodeOK},
		{name: "correction under v1 accepts a v1-valid value", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "re-measured", apptest.V("VS.SYSBP", "244")), want: types.CodeOK},
	})
	var rec, old types.FormRecord
	get(t, c, types.KeyForm(scr), &rec)
	get(t, c, types.KeyFormHistory(scr, 1), &old)
	if rec.ProtocolVersion != 1 || old.ProtocolVersion != 1 || rec.Version != 3 {
		t.Errorf("corrected form version %d under protocol %d (history %d), want 3 under 1 (1)", rec.Version, rec.ProtocolVersion, old.ProtocolVersion)
	}

	// An amendment that migrates VS: corrections of VS entered before are
	// judged under it from then on, and the record says so.
	v3 := v2(t, study, "3.0")
	v3.Study.Title += " (amendment 2)"
	runSteps(t, c, []step{
		{name: "propose migrating VS", signer: "sponsor-dm", msg: migrating(v3, "VS"), want: types.CodeOK},
		{name: "approve", signer: "regulator-auditor", msg: apptest.ApproveMsg(study, 2), want: types.CodeOK},
		{name: "correction under v3 refuses a v1-valid value", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "re-measured", apptest.V("VS.HR", "71")), want: types.CodeEditCheckFailed, logHas: []string{"VS.SYSBP"}},
		{name: "correction under v3", signer: "site1-coordinator", msg: apptest.CorrectMsg(scr, "transcription error", apptest.V("VS.SYSBP", "145")), want: types.CodeOK},
	})
	get(t, c, types.KeyForm(scr), &rec)
	var p3 types.ProtocolVersion
	get(t, c, types.KeyProtocol(study, 3), &p3)
	if rec.ProtocolVersion != 3 || len(p3.Migrate) != 1 || p3.Migrate[0] != "VS" {
		t.Errorf("after the migrating amendment: form under protocol %d, version 3 migrates %v", rec.ProtocolVersion, p3.Migrate)
	}
	// The D1 form, entered under v1, migrates too; a form of another kind
	// would not.
	d1 := apptest.FormKey("S1-001", "D1", 1, "VS")
	runSteps(t, c, []step{
		{name: "D1 correction under v3", signer: "site1-coordinator", msg: apptest.CorrectMsg(d1, "re-measured", apptest.V("VS.HR", "71")), want: types.CodeEditCheckFailed, logHas: []string{"VS.SYSBP"}},
	})
}

// migrating is the amendment to p that migrates the data of forms.
func migrating(p *protocol.Protocol, forms ...string) types.Msg {
	m := apptest.AmendMsg(p, "migrate existing data")
	m.ProposeAmendment.Migrate = forms
	return m
}

func TestAmendmentRejectedAndVotes(t *testing.T) {
	c := apptest.New(t)
	const id = "VT-HTN-202"
	p := apptest.Example()
	p.Study.ID = id
	c.MustDo("sponsor-dm", apptest.RegisterMsg(p, "regulator", "cro"))

	runSteps(t, c, []step{
		{name: "propose", signer: "sponsor-dm", msg: apptest.AmendMsg(v2(t, id, "2.0"), "r"), want: types.CodeOK},
		{name: "reject without comment", signer: "cro-admin", msg: apptest.RejectMsg(id, 1, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "first approval", signer: "regulator-auditor", msg: apptest.ApproveMsg(id, 1), want: types.CodeOK},
	})
	var s types.Study
	get(t, c, types.KeyStudy(id), &s)
	if s.Current != 1 || s.Pending != 1 {
		t.Fatalf("one of two approvals must not put the amendment in force: %+v", s)
	}
	runSteps(t, c, []step{
		{name: "vote twice (same org, other person)", signer: "regulator-admin", msg: apptest.ApproveMsg(id, 1), want: types.CodeAlreadyVoted},
		{name: "reject after vote twice", signer: "regulator-admin", msg: apptest.RejectMsg(id, 1, "changed my mind"), want: types.CodeAlreadyVoted},
		{name: "cro monitor lacks role", signer: "cro-monitor", msg: apptest.RejectMsg(id, 1, "no"), want: types.CodeUnauthorized, atCheck: true},
		{name: "reject", signer: "cro-admin", msg: apptest.RejectMsg(id, 1, "rationale insufficient"), want: types.CodeOK},
		{name: "approve after rejection", signer: "cro-admin", msg: apptest.ApproveMsg(id, 1), want: types.CodeNoAmendment},
	})
	var am types.Amendment
	get(t, c, types.KeyAmendment(id, 1), &am)
	get(t, c, types.KeyStudy(id), &s)
	if am.Status != types.AmendmentRejected || am.Decided == nil || len(am.Votes) != 2 || am.Votes[1].Approve || am.Votes[1].Comment != "rationale insufficient" || am.Version != 0 {
		t.Errorf("rejected amendment %+v", am)
	}
	if s.Current != 1 || s.Versions != 1 || s.Pending != 0 {
		t.Errorf("after rejection %+v", s)
	}
	absent(t, c, types.KeyProtocol(id, 2))

	// A rejected label was never a version: it may be proposed again.
	runSteps(t, c, []step{
		{name: "propose again", signer: "sponsor-admin", msg: apptest.AmendMsg(v2(t, id, "2.0"), "second try"), want: types.CodeOK},
		{name: "cro approves", signer: "cro-admin", msg: apptest.ApproveMsg(id, 2), want: types.CodeOK},
		{name: "regulator approves", signer: "regulator-admin", msg: apptest.ApproveMsg(id, 2), want: types.CodeOK},
	})
	get(t, c, types.KeyStudy(id), &s)
	get(t, c, types.KeyAmendment(id, 2), &am)
	if s.Current != 2 || s.Versions != 2 || s.Amendments != 2 || am.Version != 2 || am.Status != types.AmendmentApproved {
		t.Errorf("after second amendment: study %+v amendment status %s version %d", s, am.Status, am.Version)
	}
}

func TestActivateSite(t *testing.T) {
	c := apptest.New(t)
	c.MustDo("sponsor-dm", apptest.RegisterMsg(apptest.Example()))
	runSteps(t, c, []step{
		{name: "by site", signer: "site1-admin", msg: apptest.ActivateMsg(study, "site1", "site1-investigator"), want: types.CodeUnauthorized, atCheck: true},
		{name: "by sponsor medical monitor", signer: "sponsor-mm", msg: apptest.ActivateMsg(study, "site1", "site1-investigator"), want: types.CodeUnauthorized, atCheck: true},
		{name: "by regulator", signer: "regulator-admin", msg: apptest.ActivateMsg(study, "site1", "site1-investigator"), want: types.CodeUnauthorized, atCheck: true},
		{name: "unknown study", signer: "sponsor-dm", msg: apptest.ActivateMsg("VT-NONE", "site1", "site1-investigator"), want: types.CodeUnknownStudy},
		{name: "unknown org", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site9", "site1-investigator"), want: types.CodeUnknownOrg},
		{name: "non-site org", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "cro", "site1-investigator"), want: types.CodeNotASite},
		{name: "sponsor as site", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "sponsor", "site1-investigator"), want: types.CodeNotASite},
		{name: "bad site ID", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site 1", "site1-investigator"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "no principal investigator", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site1", ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "principal investigator unknown", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site1", "nobody"), want: types.CodeUnknownAccount},
		{name: "principal investigator of another site", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site1", "site2-investigator"), want: types.CodeWrongOrg},
		{name: "principal investigator not an investigator", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site1", "site1-coordinator"), want: types.CodeInvalidRole, logHas: []string{"not an investigator"}},
		{name: "ok", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site1", "site1-investigator"), want: types.CodeOK},
		{name: "twice", signer: "sponsor-admin", msg: apptest.ActivateMsg(study, "site1", "site1-investigator"), want: types.CodeSiteActive},
	})
	var site types.Site
	get(t, c, types.KeySite(study, "site1"), &site)
	if site.Org != "site1" || site.Activated.Signer != "sponsor-dm" || site.PrincipalInvestigator != "site1-investigator" ||
		len(site.History) != 1 || site.History[0].Action != "activate" || site.History[0].PrincipalInvestigator != "site1-investigator" || site.History[0].Stamp != site.Activated {
		t.Errorf("site record %+v", site)
	}
	absent(t, c, types.KeySite(study, "site2"))
}
