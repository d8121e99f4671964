package app_test

import (
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// valueOf returns item's value in the stored form at k.
func valueOf(t *testing.T, c *apptest.Chain, k types.FormKey, item string) string {
	t.Helper()
	var f types.FormRecord
	get(t, c, types.KeyForm(k), &f)
	for _, v := range f.Values {
		if v.Item == item {
			return v.Value
		}
	}
	return ""
}

// TestReplayOfBlockRejectedCorrection: a correction that passed CheckTx
// but was refused in its block (the subject was frozen by an earlier tx of
// that block) is public in the block. After the unfreeze and the
// coordinator's real correction, anyone broadcasting those bytes again is
// refused with nonce_reused, and the real correction stands.
func TestReplayOfBlockRejectedCorrection(t *testing.T) {
	for _, optimistic := range []bool{false, true} {
		c := dmChain(t)
		c.Optimistic = optimistic
		vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
		subj := types.Scope{Study: study, Subject: "S1-001"}
		stale := c.Tx("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.SYSBP", "131")))
		if r := c.Check(stale); r.Code != 0 {
			t.Fatalf("CheckTx of the correction: %s", r.Log)
		}
		freeze := c.Tx("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, subj, "review"))
		res := c.Block(freeze, stale)
		if res[0].Code != 0 || types.Code(res[1].Code) != types.CodeFrozen {
			t.Fatalf("freeze then correction: codes %d %d (%s), want 0 and %d", res[0].Code, res[1].Code, res[1].Log, types.CodeFrozen)
		}
		c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindUnfreeze, subj, "review done"))
		c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "source shows 128", apptest.V("VS.SYSBP", "128")))

		if r := c.Check(stale); types.Code(r.Code) != types.CodeNonceReused {
			t.Errorf("optimistic=%v: CheckTx of the replay: code %d (%s), want nonce_reused", optimistic, r.Code, r.Log)
		}
		before := c.AppHash
		if r := c.Block(stale)[0]; types.Code(r.Code) != types.CodeNonceReused {
			t.Errorf("optimistic=%v: replay in a block: code %d (%s), want nonce_reused", optimistic, r.Code, r.Log)
		}
		if string(before) != string(c.AppHash) {
			t.Errorf("optimistic=%v: the replay changed the app hash", optimistic)
		}
		if v := valueOf(t, c, vs, "VS.SYSBP"); v != "128" {
			t.Errorf("optimistic=%v: VS.SYSBP is %s after the replay, want the real correction's 128", optimistic, v)
		}
		// The nonce survives a restart (it is on the ledger, not in memory).
		c.Reopen()
		if r := c.Check(stale); types.Code(r.Code) != types.CodeNonceReused {
			t.Errorf("optimistic=%v: after a restart, CheckTx of the replay: code %d, want nonce_reused", optimistic, r.Code)
		}
	}
}

// TestReplayOfBlockUnauthorizedTx: a tx that passed CheckTx under a role
// the signer lost in the same block is refused as unauthorized there and
// stays refused when the role comes back.
func TestReplayOfBlockUnauthorizedTx(t *testing.T) {
	c := dmChain(t)
	enroll := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-003", "site1"))
	if r := c.Check(enroll); r.Code != 0 {
		t.Fatalf("CheckTx: %s", r.Log)
	}
	demote := c.Tx("site1-admin", rolesMsg("site1-coordinator", types.RoleAdmin))
	res := c.Block(demote, enroll)
	if res[0].Code != 0 || types.Code(res[1].Code) != types.CodeUnauthorized {
		t.Fatalf("demote then enroll: codes %d %d (%s), want 0 and %d", res[0].Code, res[1].Code, res[1].Log, types.CodeUnauthorized)
	}
	c.MustDo("site1-admin", rolesMsg("site1-coordinator", types.RoleCoordinator))
	if r := c.Block(enroll)[0]; types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("replay after the role came back: code %d (%s), want nonce_reused", r.Code, r.Log)
	}
	absent(t, c, types.KeySubject(study, "S1-003"))
}

// TestUnverifiedTxLeavesNonceFree: a tx whose signature does not verify
// consumes nothing, so a forger who copies a pending tx's nonce cannot
// make the real one look like a replay.
func TestUnverifiedTxLeavesNonceFree(t *testing.T) {
	c := dmChain(t)
	body := c.Body("site1-coordinator", apptest.EnrollMsg("S1-004", "site1"))
	forged := c.SignBody(body, c.Person("site2-coordinator"))
	real := c.SignBody(body, c.Person("site1-coordinator"))
	res := c.Block(forged, real)
	if types.Code(res[0].Code) != types.CodeBadSignature || res[1].Code != 0 {
		t.Fatalf("forged then real: codes %d %d (%s), want %d and 0", res[0].Code, res[1].Code, res[1].Log, types.CodeBadSignature)
	}
}
