package app_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

func getSDV(t *testing.T, c *apptest.Chain, k types.FormKey) types.SDVRecord {
	t.Helper()
	var r types.SDVRecord
	get(t, c, types.KeySDV(k), &r)
	return r
}

func TestSDV(t *testing.T) {
	c := dmChain(t)
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb, apptest.LB()))
	v := apptest.VerifyMsg
	itemOnly := v("S1-001", "SCR", 1, "", "VS.HR")
	runSteps(t, c, []step{
		{name: "site investigator", signer: "site1-investigator", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "site coordinator", signer: "site1-coordinator", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "data manager", signer: "sponsor-dm", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator", signer: "regulator-auditor", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "item without form", signer: "cro-monitor", msg: itemOnly, want: types.CodeInvalidMsg, atCheck: true},
		{name: "form not entered", signer: "cro-monitor", msg: v("S1-001", "D1", 1, "VS", ""), want: types.CodeFormNotFound},
		{name: "event without forms", signer: "cro-monitor", msg: v("S1-001", "W4", 1, "", ""), want: types.CodeNothingToVerify},
		{name: "item without value", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "VS", "VS.NOPE"), want: types.CodeItemNotInForm},
		{name: "monitor verifies an item", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "VS", "VS.SYSBP"), want: types.CodeOK},
		{name: "same item again", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "VS", "VS.SYSBP"), want: types.CodeNothingToVerify},
		{name: "medical monitor verifies the form", signer: "sponsor-mm", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeOK},
		{name: "form again", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "VS", ""), want: types.CodeNothingToVerify},
		{name: "event: the rest", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "", ""), want: types.CodeOK},
		{name: "event again", signer: "cro-monitor", msg: v("S1-001", "SCR", 1, "", ""), want: types.CodeNothingToVerify},
	})
	r := getSDV(t, c, vs)
	if r.Status != types.SDVVerified || len(r.Verified) != 9 || r.FormVersion != 1 || len(r.History) != 2 || !reflect.DeepEqual(r.History[0].Items, []string{"VS.SYSBP"}) || r.History[1].Stamp.Signer != "sponsor-mm" {
		t.Fatalf("VS sdv %+v", r)
	}
	if r := getSDV(t, c, lb); r.Status != types.SDVVerified || len(r.History) != 1 || r.History[0].Stamp.Signer != "cro-monitor" {
		t.Fatalf("LB sdv %+v", r)
	}

	// A correction of a verified value removes its verification, on the
	// ledger, with the correcting tx in the trail.
	raw := c.Tx("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.SYSBP", "128")))
	if res := c.Block(raw)[0]; res.Code != 0 {
		t.Fatal(res.Log)
	}
	r = getSDV(t, c, vs)
	last := r.History[len(r.History)-1]
	if r.Status != types.SDVPartial || len(r.Verified) != 8 || r.FormVersion != 2 || last.Action != "de-verify" ||
		!reflect.DeepEqual(last.Items, []string{"VS.SYSBP"}) || !strings.Contains(last.Comment, types.TxHash(raw)) || last.Stamp.TxHash != types.TxHash(raw) || last.Stamp.Signer != "site1-coordinator" {
		t.Fatalf("after correction %+v", r)
	}
	for _, it := range r.Verified {
		if it == "VS.SYSBP" {
			t.Fatal("corrected item still verified")
		}
	}
	var rec types.FormRecord
	get(t, c, types.KeyForm(vs), &rec)
	if r.ValuesHash != types.ValuesHash(rec.Values) {
		t.Error("values hash is not the current version's")
	}
	// Re-verification of the changed value.
	c.MustDo("cro-monitor", v("S1-001", "SCR", 1, "VS", "VS.SYSBP"))
	if r := getSDV(t, c, vs); r.Status != types.SDVVerified || r.History[len(r.History)-1].FormVersion != 2 {
		t.Errorf("re-verified %+v", r)
	}
	// A correction of an unverified-by-then-new item keeps the others and
	// leaves the form partial.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(lb, "lab sheet re-read", apptest.V("LB.HGB", "14.5")))
	if r := getSDV(t, c, lb); r.Status != types.SDVPartial || len(r.Verified) != 10 {
		t.Errorf("LB after correction %+v", r)
	}
}

func getSig(t *testing.T, c *apptest.Chain, subject string, n int) types.Signature {
	t.Helper()
	var s types.Signature
	get(t, c, types.KeySignature(study, subject, n), &s)
	return s
}

func TestSignatures(t *testing.T) {
	c := dmChain(t)
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	d1 := apptest.FormKey("S1-001", "D1", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb, apptest.LB()))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(d1, apptest.VS(130, 85)))

	wrongHash := c.SignMsg("S1-001", "SCR", 1, "VS", "review")
	wrongHash.Sign.ContentHash = strings.Repeat("ab", 32)
	badHash := c.SignMsg("S1-001", "SCR", 1, "VS", "review")
	badHash.Sign.ContentHash = "XYZ"
	formNoEvent := c.SignMsg("S1-001", "", 0, "", "review")
	formNoEvent.Sign.Form = "VS"
	runSteps(t, c, []step{
		{name: "coordinator signs", signer: "site1-coordinator", msg: c.SignMsg("S1-001", "SCR", 1, "VS", "review"), want: types.CodeUnauthorized, atCheck: true},
		{name: "monitor signs", signer: "cro-monitor", msg: c.SignMsg("S1-001", "SCR", 1, "VS", "review"), want: types.CodeUnauthorized, atCheck: true},
		{name: "sponsor signs", signer: "sponsor-dm", msg: c.SignMsg("S1-001", "", 0, "", "approval"), want: types.CodeUnauthorized, atCheck: true},
		{name: "malformed hash", signer: "site1-investigator", msg: badHash, want: types.CodeInvalidMsg, atCheck: true},
		{name: "form without event", signer: "site1-investigator", msg: formNoEvent, want: types.CodeInvalidMsg, atCheck: true},
		{name: "unknown meaning", signer: "site1-investigator", msg: c.SignMsg("S1-001", "SCR", 1, "VS", "witness"), want: types.CodeSignMeaning, logHas: []string{"authorship, review, approval, responsibility"}},
		{name: "hash mismatch", signer: "site1-investigator", msg: wrongHash, want: types.CodeSignHashMismatch, logHas: []string{"sign anew"}},
		{name: "other site's subject", signer: "site1-investigator", msg: c.SignMsg("S2-101", "", 0, "", "approval"), want: types.CodeWrongSite},
		{name: "nothing entered", signer: "site1-investigator", msg: c.SignMsg("S1-001", "W4", 1, "", "review"), want: types.CodeNothingToSign},
		{name: "empty casebook", signer: "site1-investigator", msg: c.SignMsg("S1-002", "", 0, "", "approval"), want: types.CodeNothingToSign},
		{name: "signs a form", signer: "site1-investigator", msg: c.SignMsg("S1-001", "SCR", 1, "VS", "review"), want: types.CodeOK},
		{name: "signs an event", signer: "site1-investigator", msg: c.SignMsg("S1-001", "SCR", 1, "", "responsibility"), want: types.CodeOK},
		{name: "signs the D1 form", signer: "site1-investigator", msg: c.SignMsg("S1-001", "D1", 1, "VS", "authorship"), want: types.CodeOK},
		{name: "signs the casebook", signer: "site1-investigator", msg: c.SignMsg("S1-001", "", 0, "", "approval"), want: types.CodeOK},
	})
	s1 := getSig(t, c, "S1-001", 1)
	if s1.Status != types.SignatureValid || s1.Level != types.SignForm || s1.PrintedName != "Dr. Demo Investigator" || s1.Role != types.RoleInvestigator ||
		s1.Meaning != "review" || s1.SignedAt != s1.Signed.Time || !strings.HasSuffix(s1.SignedAt, "Z") || len(s1.Forms) != 1 || s1.Forms[0].Version != 1 ||
		!strings.Contains(s1.Statement, "Dr. Demo Investigator") || !strings.Contains(s1.Statement, s1.ContentHash) {
		t.Fatalf("form signature %+v", s1)
	}
	if s := getSig(t, c, "S1-001", 2); s.Level != types.SignEvent || len(s.Forms) != 2 {
		t.Fatalf("event signature %+v", s)
	}
	if s := getSig(t, c, "S1-001", 4); s.Level != types.SignCasebook || len(s.Forms) != 3 {
		t.Fatalf("casebook signature %+v", s)
	}
	// The ledger's hash is the one of exactly the content signed.
	var rec types.FormRecord
	get(t, c, types.KeyForm(vs), &rec)
	m := &types.MsgSign{Study: study, Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"}
	if m.Content([]types.FormRecord{rec}).Hash() != s1.ContentHash {
		t.Error("form signature hash is not the hash of the form's content")
	}

	// Correcting VS invalidates every signature covering it, and only those.
	raw := c.Tx("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.SYSBP", "128")))
	res := c.Block(raw)[0]
	if res.Code != 0 {
		t.Fatal(res.Log)
	}
	for _, n := range []int{1, 2, 4} {
		s := getSig(t, c, "S1-001", n)
		if s.Status != types.SignatureInvalidated || s.Invalidated == nil || s.Invalidated.Stamp.TxHash != types.TxHash(raw) || s.Invalidated.Form != "VS" || s.Invalidated.FormVersion != 2 || !strings.Contains(s.Invalidated.Reason, "transcription error") {
			t.Errorf("signature %d after correction: %+v", n, s)
		}
	}
	if s := getSig(t, c, "S1-001", 3); s.Status != types.SignatureValid {
		t.Errorf("D1 signature invalidated: %+v", s)
	}
	found := false
	for _, ev := range res.Events {
		for _, a := range ev.Attributes {
			if a.Key == "action" && a.Value == "signature_invalidated" {
				found = true
			}
		}
	}
	if !found {
		t.Error("no signature_invalidated event")
	}
	// Re-signature of the new content.
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	if s := getSig(t, c, "S1-001", 5); s.Status != types.SignatureValid || s.Forms[2].Form != "VS" || s.Forms[2].Version != 2 {
		t.Errorf("re-signature %+v", s)
	}
	var sub types.Subject
	get(t, c, types.KeySubject(study, "S1-001"), &sub)
	if sub.Signatures != 5 {
		t.Errorf("subject counts %d signatures", sub.Signatures)
	}
}

func TestStudyDataManagementSettings(t *testing.T) {
	c := apptest.New(t)
	c.MustDo("sponsor-dm", apptest.RegisterMsg(apptest.Example()))
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if !reflect.DeepEqual(s.Meanings, types.DefaultMeanings) || s.SDVPolicy != types.SDVNone || !reflect.DeepEqual(s.LockApprovers, []string{"sponsor", "regulator"}) || s.LockQuorum != 2 {
		t.Errorf("defaults %+v", s)
	}

	p := apptest.Example()
	p.Study.ID = "VT-CUSTOM"
	reg := apptest.RegisterMsg(p)
	reg.RegisterStudy.SignatureMeanings = []string{"approval", "review"}
	reg.RegisterStudy.SDVPolicy = types.SDVAll
	reg.RegisterStudy.LockApprovers = []string{"cro", "regulator"}
	reg.RegisterStudy.LockQuorum = 3
	bad := apptest.RegisterMsg(p)
	bad.RegisterStudy.SDVPolicy = "some"
	tooMany := apptest.RegisterMsg(p)
	tooMany.RegisterStudy.LockQuorum = 3
	unknownOrg := apptest.RegisterMsg(p)
	unknownOrg.RegisterStudy.LockApprovers = []string{"nobody"}
	runSteps(t, c, []step{
		{name: "unknown SDV policy", signer: "sponsor-dm", msg: bad, want: types.CodeInvalidMsg, atCheck: true},
		{name: "quorum above approvers", signer: "sponsor-dm", msg: tooMany, want: types.CodeInvalidMsg},
		{name: "unknown lock approver", signer: "sponsor-dm", msg: unknownOrg, want: types.CodeUnknownOrg},
		{name: "custom settings", signer: "sponsor-dm", msg: reg, want: types.CodeOK},
	})
	get(t, c, types.KeyStudy("VT-CUSTOM"), &s)
	if !reflect.DeepEqual(s.Meanings, []string{"approval", "review"}) || s.SDVPolicy != types.SDVAll || !reflect.DeepEqual(s.LockApprovers, []string{"sponsor", "cro", "regulator"}) || s.LockQuorum != 3 {
		t.Errorf("custom %+v", s)
	}
}
