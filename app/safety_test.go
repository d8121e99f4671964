package app_test

import (
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func ackMsg(k types.FormKey, row int, comment string) types.Msg {
	return types.Msg{AcknowledgeSAE: &types.MsgAcknowledgeSAE{FormKey: k, Row: row, Comment: comment}}
}

// aeRows is the example's AE form with two rows, the first serious and
// the second not.
func aeRows() []protocol.ItemValue {
	var out []protocol.ItemValue
	for _, v := range apptest.SeriousAE(2, 1) {
		if v.Repeat == 2 && v.Item == "AE.SER" {
			v.Value = "0"
		}
		if v.Repeat == 2 && v.Item == "AE.SERCRIT" {
			continue
		}
		out = append(out, v)
	}
	return out
}

func sae(t *testing.T, c *apptest.Chain, k types.FormKey, row int) (types.SAE, bool) {
	t.Helper()
	var s types.SAE
	ok := c.Get(types.KeySAE(k, row), &s)
	return s, ok
}

// TestSAEClock: an AE form whose seriousness item says yes opens one SAE
// record per serious row, its clock started at the block time; a
// correction that turns a row serious opens one for it, one that changes
// a serious row is its follow-up report; the medical monitor (and no one
// else) acknowledges each once.
func TestSAEClock(t *testing.T) {
	c := newSafetyChain(t, 0, "S1-001")
	k := apptest.FormKey("S1-001", "W4", 1, "AE")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(k, aeRows()))
	var form types.FormRecord
	c.Get(types.KeyForm(k), &form)
	s1, ok := sae(t, c, k, 1)
	if !ok || s1.FormVersion != 1 || s1.Opened.Time != form.Stamp.Time || s1.Opened.Height != c.Height || s1.Site != "site1" || s1.Acknowledged != nil {
		t.Fatalf("SAE of row 1: %v %+v", ok, s1)
	}
	if _, ok := sae(t, c, k, 2); ok {
		t.Fatal("an SAE record for a row that is not serious")
	}

	c.MustDo("site1-coordinator", apptest.CorrectMsg(k, "became serious: hospitalised",
		protocol.ItemValue{Item: "AE.SER", Repeat: 2, Value: "1"}, protocol.ItemValue{Item: "AE.SERCRIT", Repeat: 2, Value: "3"}))
	s2, ok := sae(t, c, k, 2)
	if !ok || s2.FormVersion != 2 || s2.Opened.Height != c.Height {
		t.Fatalf("SAE of row 2 after the correction: %v %+v", ok, s2)
	}
	if s1, _ = sae(t, c, k, 1); len(s1.FollowUps) != 0 {
		t.Errorf("a correction of row 2 is a follow-up of row 1: %+v", s1.FollowUps)
	}
	c.MustDo("site1-coordinator", apptest.CorrectMsg(k, "outcome known", protocol.ItemValue{Item: "AE.OUT", Repeat: 1, Value: "2"}))
	if s1, _ = sae(t, c, k, 1); len(s1.FollowUps) != 1 || s1.FollowUps[0].FormVersion != 3 || !s1.FollowUps[0].Serious {
		t.Errorf("follow-up of row 1: %+v", s1.FollowUps)
	}
	if s2, _ = sae(t, c, k, 2); len(s2.FollowUps) != 0 {
		t.Errorf("a correction of row 1 is a follow-up of row 2: %+v", s2.FollowUps)
	}

	runSteps(t, c, []step{
		{name: "acknowledgement by the investigator", signer: "site1-investigator", msg: ackMsg(k, 1, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "acknowledgement by the data manager", signer: "sponsor-dm", msg: ackMsg(k, 1, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "acknowledgement of a row without SAE", signer: "sponsor-mm", msg: ackMsg(k, 3, ""), want: types.CodeUnknownSAE},
		{name: "acknowledgement of a form without SAE", signer: "sponsor-mm", msg: ackMsg(apptest.FormKey("S1-001", "W8", 1, "AE"), 1, ""), want: types.CodeUnknownSAE},
		{name: "acknowledgement with a bad row", signer: "sponsor-mm", msg: ackMsg(k, -1, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "acknowledgement", signer: "sponsor-mm", msg: ackMsg(k, 1, "case opened in the safety database")},
		{name: "acknowledgement again", signer: "sponsor-mm", msg: ackMsg(k, 1, ""), want: types.CodeSAEAcknowledged},
	})
	if s1, _ = sae(t, c, k, 1); s1.Acknowledged == nil || s1.Acknowledged.Signer != "sponsor-mm" || s1.Acknowledged.Role != types.RoleMedicalMonitor || s1.AckComment != "case opened in the safety database" {
		t.Errorf("acknowledged SAE: %+v", s1)
	}
	if s2, _ = sae(t, c, k, 2); s2.Acknowledged != nil {
		t.Errorf("acknowledging row 1 acknowledged row 2: %+v", s2)
	}
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindLock, types.Scope{Study: apptest.StudyID, Subject: "S1-001"}, "subject complete"))
	runSteps(t, c, []step{{name: "acknowledgement in a locked subject", signer: "sponsor-mm", msg: ackMsg(k, 2, ""), want: types.CodeLocked}})
}

// TestSAEVersion2: at state-machine version 2 a serious AE opens no
// record and an acknowledgement is a kind the ledger does not know yet.
func TestSAEVersion2(t *testing.T) {
	c := newSafetyChain(t, 2, "S1-001")
	k := apptest.FormKey("S1-001", "W4", 1, "AE")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(k, aeRows()))
	if _, ok := sae(t, c, k, 1); ok {
		t.Error("a version-2 ledger opened an SAE record")
	}
	runSteps(t, c, []step{{name: "acknowledgement", signer: "sponsor-mm", msg: ackMsg(k, 1, ""), want: types.CodeKindNotYet, atCheck: true}})
}

// TestReadPolicySAERoles: among the readers of a subject, an SAE record
// is read by the roles with need to know only.
func TestReadPolicySAERoles(t *testing.T) {
	c := policyChain(t, types.DefaultParams())
	key := types.KeySAE(apptest.FormKey("S1-001", "W4", 1, "AE"), 1)
	for account, want := range map[string]bool{
		"sponsor-mm":         true,
		"sponsor-dm":         true,
		"sponsor-admin":      false,
		"site1-investigator": true,
		"site1-coordinator":  true,
		"site1-admin":        false,
		"site2-investigator": false, // not the subject's site
		"cro-monitor":        false,
		"cro-admin":          false,
		"regulator-auditor":  true,
		"regulator-admin":    false,
		"ethics-reviewer":    true,
	} {
		if got := seesKey(t, c, account, key); got != want {
			t.Errorf("%s reads an SAE record: %v, want %v", account, got, want)
		}
	}
}
