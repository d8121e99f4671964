package app_test

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// reconsentAmendment is p as version 2.0 with a new protocol document
// (which needs re-consent), consent version consent and re-consent rule
// rule.
func reconsentAmendment(p *protocol.Protocol, consent, rule string) *protocol.Protocol {
	cp := *protocol.Normalized(p)
	cp.Study.Version = "2.0"
	cp.Study.ProtocolDocSHA256 = "1c3d1b0a0644193ccbc78bb271eab4a5b88b55d4051cffe9e50b6ba6b696f412"
	cp.Study.ConsentVersion = consent
	cp.Study.Reconsent = rule
	return &cp
}

func reconsentMsg(subject, version, date string) types.Msg {
	return types.Msg{Reconsent: &types.MsgReconsent{Study: apptest.StudyID, Subject: subject, ConsentVersion: version, ConsentSHA256: apptest.ConsentSHA256, Date: date}}
}

func withdrawKindMsg(subject string, kind types.WithdrawalKind, date string) types.Msg {
	return types.Msg{WithdrawSubject: &types.MsgWithdrawSubject{Study: apptest.StudyID, Subject: subject, Reason: "subject's decision", Kind: kind, Date: date}}
}

func vsAt(subject, event string) types.Msg {
	return apptest.SubmitMsg(apptest.FormKey(subject, event, 1, "VS"), apptest.VS(128, 82))
}

func aeAt(subject, event string, rows int) types.Msg {
	return apptest.SubmitMsg(apptest.FormKey(subject, event, 1, "AE"), apptest.AE(rows, 1))
}

// newSafetyChain starts a chain at state-machine version v (0: this
// binary's) with the safety protocol registered, site1 active and
// subjects enrolled with consent version 1.0.
func newSafetyChain(t *testing.T, v uint64, subjects ...string) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	if v != 0 {
		c = apptest.NewAtVersion(t, v)
	}
	c.SetupStudy()
	for _, s := range subjects {
		c.MustDo("site1-coordinator", apptest.EnrollMsg(s, "site1"))
	}
	return c
}

// TestReconsentScenario: an amendment that needs re-consent must name a
// new consent version; once in force, a form for a subject who has not
// re-consented is refused (safety forms excepted) until the re-consent is
// recorded; a subject enrolled with the new version is not held back.
func TestReconsentScenario(t *testing.T) {
	c := newSafetyChain(t, 0, "S1-001")
	p := apptest.Example()
	v3 := reconsentAmendment(p, "1.0", "")
	v3.Study.Version, v3.Study.ProtocolDocSHA256 = "3.0", "2c3d1b0a0644193ccbc78bb271eab4a5b88b55d4051cffe9e50b6ba6b696f412"
	runSteps(t, c, []step{
		{name: "amendment needing re-consent, same consent version", signer: "sponsor-dm", msg: apptest.AmendMsg(reconsentAmendment(p, "1.0", ""), "new safety monitoring"), want: types.CodeReconsentVersion},
		{name: "amendment needing re-consent, no consent version", signer: "sponsor-dm", msg: apptest.AmendMsg(reconsentAmendment(p, "", ""), "new safety monitoring"), want: types.CodeReconsentVersion},
		{name: "amendment naming consent version 2.0", signer: "sponsor-dm", msg: apptest.AmendMsg(reconsentAmendment(p, "2.0", ""), "new safety monitoring")},
		{name: "re-consent to a version not yet in force", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "2.0", ""), want: types.CodeUnknownConsentVersion},
		{name: "form before the amendment is in force", signer: "site1-coordinator", msg: vsAt("S1-001", "SCR")},
		{name: "approval", signer: "regulator-auditor", msg: apptest.ApproveMsg(apptest.StudyID, 1)},
		{name: "form without re-consent", signer: "site1-coordinator", msg: vsAt("S1-001", "D1"), want: types.CodeReconsentRequired, logHas: []string{"S1-001", "2.0"}},
		{name: "safety form without re-consent", signer: "site1-coordinator", msg: aeAt("S1-001", "W4", 1)},
		{name: "correction of earlier data without re-consent", signer: "site1-coordinator", msg: apptest.CorrectMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), "transcription error", apptest.V("VS.HR", "70"))},
		{name: "re-consent to an unknown version", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "9.9", ""), want: types.CodeUnknownConsentVersion},
		{name: "re-consent dated after the block", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "2.0", "2026-01-06"), want: types.CodeDateAfterBlock},
		{name: "re-consent with a malformed date", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "2.0", "2026-13-01"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "re-consent by the sponsor", signer: "sponsor-dm", msg: reconsentMsg("S1-001", "2.0", ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "re-consent at another site", signer: "site2-coordinator", msg: reconsentMsg("S1-001", "2.0", ""), want: types.CodeWrongSite},
		{name: "re-consent", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "2.0", "2026-01-05")},
		{name: "re-consent again", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "2.0", ""), want: types.CodeAlreadyConsented},
		{name: "re-consent to the enrolment version", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "1.0", ""), want: types.CodeAlreadyConsented},
		{name: "form after re-consent", signer: "site1-coordinator", msg: vsAt("S1-001", "D1")},
		{name: "enrolment with the new consent version", signer: "site1-coordinator", msg: types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: apptest.StudyID, Subject: "S1-002", Site: "site1", ConsentVersion: "2.0", ConsentSHA256: apptest.ConsentSHA256}}},
		{name: "form of a subject enrolled with it", signer: "site1-coordinator", msg: vsAt("S1-002", "SCR")},
		{name: "amendment naming an earlier version's consent version", signer: "sponsor-dm", msg: apptest.AmendMsg(v3, "back to the first consent"), want: types.CodeReconsentVersion, logHas: []string{"already declared"}},
	})
	var sub types.Subject
	c.Get(types.KeySubject(apptest.StudyID, "S1-001"), &sub)
	h := sub.ConsentHistory()
	if len(h) != 2 || h[0].Version != "1.0" || h[1].Version != "2.0" || h[1].Date != "2026-01-05" || h[1].SHA256 != apptest.ConsentSHA256 || h[1].Stamp.Signer != "site1-coordinator" {
		t.Errorf("consent history %+v", h)
	}
	var s types.Study
	c.Get(types.KeyStudy(apptest.StudyID), &s)
	if s.ReconsentVersion != "2.0" || s.ReconsentFrom != 2 {
		t.Errorf("study requires re-consent to %q from version %d", s.ReconsentVersion, s.ReconsentFrom)
	}
}

// TestReconsentFlag: a protocol that flags rather than refuses accepts
// the form of a subject not yet re-consented and marks it.
func TestReconsentFlag(t *testing.T) {
	c := newSafetyChain(t, 0, "S1-001")
	c.MustDo("sponsor-dm", apptest.AmendMsg(reconsentAmendment(apptest.Example(), "2.0", protocol.ReconsentFlag), "new safety monitoring"))
	c.MustDo("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1))
	c.MustDo("site1-coordinator", vsAt("S1-001", "SCR"))
	var rec types.FormRecord
	c.Get(types.KeyForm(apptest.FormKey("S1-001", "SCR", 1, "VS")), &rec)
	if rec.ConsentPending != "2.0" {
		t.Errorf("form of a subject awaiting re-consent: consent_pending %q, want 2.0", rec.ConsentPending)
	}
	c.MustDo("site1-coordinator", reconsentMsg("S1-001", "2.0", ""))
	c.MustDo("site1-coordinator", vsAt("S1-001", "D1"))
	var after types.FormRecord
	c.Get(types.KeyForm(apptest.FormKey("S1-001", "D1", 1, "VS")), &after)
	if after.ConsentPending != "" {
		t.Errorf("form after re-consent flagged %q", after.ConsentPending)
	}
}

// TestReconsentVersion2: at state-machine version 2 an amendment needing
// re-consent needs no new consent version and holds back no form, and a
// re-consent is a kind the ledger does not know yet.
func TestReconsentVersion2(t *testing.T) {
	c := newSafetyChain(t, 2, "S1-001")
	p := apptest.Example()
	runSteps(t, c, []step{
		{name: "amendment without a new consent version", signer: "sponsor-dm", msg: apptest.AmendMsg(reconsentAmendment(p, "1.0", ""), "new safety monitoring")},
		{name: "approval", signer: "regulator-auditor", msg: apptest.ApproveMsg(apptest.StudyID, 1)},
		{name: "form", signer: "site1-coordinator", msg: vsAt("S1-001", "SCR")},
		{name: "re-consent", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "1.0", ""), want: types.CodeKindNotYet, atCheck: true},
	})
}

// TestWithdrawalKinds: what each withdrawal kind allows of a new form
// (an ordinary form, a safety form, the end-of-study form) and of a
// correction, at state-machine versions 2 and 3.
func TestWithdrawalKinds(t *testing.T) {
	forms := []struct {
		name string
		msg  func(subject string) types.Msg
	}{
		{"ordinary form", func(s string) types.Msg { return vsAt(s, "W4") }},
		{"safety form", func(s string) types.Msg { return aeAt(s, "W4", 1) }},
		{"end-of-study form", func(s string) types.Msg {
			return apptest.SubmitMsg(apptest.FormKey(s, "FU", 1, "EOS"), []protocol.ItemValue{apptest.V("EOS.DATE", "2026-01-05"), apptest.V("EOS.STATUS", "1")})
		}},
		{"correction", func(s string) types.Msg {
			return apptest.CorrectMsg(apptest.FormKey(s, "SCR", 1, "VS"), "transcription error", apptest.V("VS.HR", "70"))
		}},
	}
	cases := []struct {
		version uint64
		kind    types.WithdrawalKind
		want    [4]types.Code // per form above
	}{
		{3, types.WithdrawTreatment, [4]types.Code{0, 0, 0, 0}},
		{3, types.WithdrawFollowUp, [4]types.Code{types.CodeWithdrawnFromFollowUp, 0, 0, 0}},
		{3, types.WithdrawConsent, [4]types.Code{types.CodeSubjectWithdrawn, types.CodeSubjectWithdrawn, types.CodeSubjectWithdrawn, 0}},
		{2, "", [4]types.Code{types.CodeSubjectWithdrawn, types.CodeSubjectWithdrawn, types.CodeSubjectWithdrawn, 0}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("v%d_%s", tc.version, tc.kind), func(t *testing.T) {
			c := newSafetyChain(t, tc.version, "S1-001")
			c.MustDo("site1-coordinator", vsAt("S1-001", "SCR"))
			c.MustDo("site1-coordinator", withdrawKindMsg("S1-001", tc.kind, ""))
			for i, f := range forms {
				runSteps(t, c, []step{{name: f.name, signer: "site1-coordinator", msg: f.msg("S1-001"), want: tc.want[i]}})
			}
		})
	}
}

// TestWithdrawalEscalation: a withdrawal may only be followed by a more
// restrictive one; its kind is required from version 3 and refused
// before it; the history keeps every withdrawal.
func TestWithdrawalEscalation(t *testing.T) {
	c := newSafetyChain(t, 0, "S1-001")
	runSteps(t, c, []step{
		{name: "withdrawal without a kind", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", "", ""), want: types.CodeWithdrawalKind},
		{name: "withdrawal of an unknown kind", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", "holiday", ""), want: types.CodeWithdrawalKind, atCheck: true},
		{name: "withdrawal dated after the block", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawTreatment, "2026-01-06"), want: types.CodeDateAfterBlock},
		{name: "withdrawal from treatment", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawTreatment, "2026-01-04")},
		{name: "treatment again", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawTreatment, ""), want: types.CodeWithdrawalNotStricter},
		{name: "withdrawal from follow-up", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawFollowUp, "")},
		{name: "back to treatment", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawTreatment, ""), want: types.CodeWithdrawalNotStricter},
		{name: "re-consent while withdrawn from follow-up is refused for an unknown version", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "3.0", ""), want: types.CodeUnknownConsentVersion},
		{name: "withdrawal of consent", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawConsent, "")},
		{name: "consent again", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawConsent, ""), want: types.CodeWithdrawalNotStricter},
		{name: "re-consent after withdrawal of consent", signer: "site1-coordinator", msg: reconsentMsg("S1-001", "1.0", ""), want: types.CodeSubjectWithdrawn},
		{name: "withdrawal by the sponsor", signer: "sponsor-dm", msg: withdrawKindMsg("S1-001", types.WithdrawConsent, ""), want: types.CodeUnauthorized, atCheck: true},
	})
	var sub types.Subject
	c.Get(types.KeySubject(apptest.StudyID, "S1-001"), &sub)
	if len(sub.Withdrawals) != 3 || sub.Withdrawals[0].Kind != types.WithdrawTreatment || sub.Withdrawals[0].Date != "2026-01-04" ||
		sub.Withdrawals[2].Kind != types.WithdrawConsent || sub.WithdrawalKind != types.WithdrawConsent || sub.Withdrawn == nil || sub.Withdrawn.Height != sub.Withdrawals[2].Stamp.Height {
		t.Errorf("subject after three withdrawals: %+v", sub)
	}

	v2 := newSafetyChain(t, 2, "S1-001")
	runSteps(t, v2, []step{
		{name: "v2: withdrawal with a kind", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", types.WithdrawTreatment, ""), want: types.CodeWithdrawalKind},
		{name: "v2: withdrawal with a date", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", "", "2026-01-05"), want: types.CodeWithdrawalKind},
		{name: "v2: withdrawal", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", "", "")},
		{name: "v2: withdrawal again", signer: "site1-coordinator", msg: withdrawKindMsg("S1-001", "", ""), want: types.CodeSubjectWithdrawn},
	})
}

// TestEnrolConsentVersion: from state-machine version 4 an enrolment
// names a consent version the study's protocol declares, as a re-consent
// does, unless the protocol declares none; a version-3 ledger accepts any,
// as it did.
func TestEnrolConsentVersion(t *testing.T) {
	enrol := func(subject, version string) types.Msg {
		m := apptest.EnrollMsg(subject, "site1")
		m.EnrollSubject.ConsentVersion = version
		return m
	}
	for _, v := range []uint64{3, 4} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			c := newSafetyChain(t, v)
			undeclared, says := types.CodeOK, []string(nil)
			if v >= 4 {
				undeclared, says = types.CodeUnknownConsentVersion, []string{`"9.9"`, "1.0"}
			}
			runSteps(t, c, []step{
				{name: "a version no protocol declares", signer: "site1-coordinator", msg: enrol("S1-001", "9.9"), want: undeclared, logHas: says},
				{name: "another version's text", signer: "site1-coordinator", msg: enrol("S1-002", "1.0 draft"), want: undeclared},
				{name: "the declared version", signer: "site1-coordinator", msg: enrol("S1-003", "1.0")},
			})
		})
	}
	t.Run("a protocol declaring none", func(t *testing.T) {
		c := apptest.NewAtVersion(t, 4)
		p := *protocol.Normalized(apptest.Example())
		p.Study.ConsentVersion = ""
		c.SetupStudyWith(apptest.RegisterMsg(&p))
		runSteps(t, c, []step{{name: "any version", signer: "site1-coordinator", msg: enrol("S1-001", "9.9")}})
	})
}
