package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

func scopeOf(k types.FormKey) types.Scope {
	return types.Scope{Study: k.Study, Subject: k.Subject, Event: k.Event, EventRepeat: k.EventRepeat, Form: k.Form}
}

func TestFreezeAndLockScopes(t *testing.T) {
	c := dmChain(t)
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	s101 := apptest.FormKey("S2-101", "SCR", 1, "VS")
	sc := apptest.ScopeMsg
	form := scopeOf(vs)
	subj := types.Scope{Study: study, Subject: "S1-001"}
	site := types.Scope{Study: study, Site: "site1"}
	whole := types.Scope{Study: study}
	fix := func(v string) types.Msg { return apptest.CorrectMsg(vs, "re-read", apptest.V("VS.SYSBP", v)) }
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(vs, "VS.SYSBP", "check"))
	runSteps(t, c, []step{
		{name: "monitor freezes", signer: "cro-monitor", msg: sc(types.KindFreeze, form, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "site freezes", signer: "site1-investigator", msg: sc(types.KindFreeze, form, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "regulator locks a form", signer: "regulator-auditor", msg: sc(types.KindLock, form, ""), want: types.CodeUnauthorized},
		{name: "freeze a form not entered", signer: "sponsor-dm", msg: sc(types.KindFreeze, scopeOf(lb), ""), want: types.CodeFormNotFound},
		{name: "freeze an unknown subject", signer: "sponsor-dm", msg: sc(types.KindFreeze, types.Scope{Study: study, Subject: "S1-999"}, ""), want: types.CodeUnknownSubject},
		{name: "freeze an inactive site", signer: "sponsor-dm", msg: sc(types.KindFreeze, types.Scope{Study: study, Site: "cro"}, ""), want: types.CodeSiteNotActive},
		{name: "unfreeze an open form", signer: "sponsor-dm", msg: sc(types.KindUnfreeze, form, "x"), want: types.CodeLockState},
		{name: "freeze the form", signer: "sponsor-dm", msg: sc(types.KindFreeze, form, "ready for review"), want: types.CodeOK},
		{name: "freeze it again", signer: "sponsor-dm", msg: sc(types.KindFreeze, form, ""), want: types.CodeLockState},
		{name: "edit a frozen form", signer: "site1-coordinator", msg: fix("121"), want: types.CodeFrozen, logHas: []string{"frozen", "unfreeze"}},
		{name: "queries still flow: answer", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 1, "source says 120"), want: types.CodeOK},
		{name: "queries still flow: open", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "VS.HR", "check"), want: types.CodeOK},
		{name: "SDV of a frozen form", signer: "cro-monitor", msg: apptest.VerifyMsg("S1-001", "SCR", 1, "VS", ""), want: types.CodeOK},
		{name: "other forms of the subject stay open", signer: "site1-coordinator", msg: apptest.SubmitMsg(lb, apptest.LB()), want: types.CodeOK},
		{name: "unfreeze needs a reason", signer: "sponsor-dm", msg: sc(types.KindUnfreeze, form, ""), want: types.CodeReasonRequired, atCheck: true},
		{name: "unfreeze", signer: "sponsor-dm", msg: sc(types.KindUnfreeze, form, "query answered, correction needed"), want: types.CodeOK},
		{name: "edit after unfreeze", signer: "site1-coordinator", msg: fix("122"), want: types.CodeOK},

		{name: "lock the subject", signer: "sponsor-dm", msg: sc(types.KindLock, subj, "subject complete"), want: types.CodeOK},
		{name: "edit a locked subject", signer: "site1-investigator", msg: fix("123"), want: types.CodeLocked, logHas: []string{"subject S1-001 is locked"}},
		{name: "submit to a locked subject", signer: "site1-investigator", msg: apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(120, 80)), want: types.CodeLocked},
		{name: "query on a locked subject", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "", "x"), want: types.CodeLocked},
		{name: "answer on a locked subject", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 2, "x"), want: types.CodeLocked},
		{name: "SDV on a locked subject", signer: "cro-monitor", msg: apptest.VerifyMsg("S1-001", "SCR", 1, "LB", ""), want: types.CodeLocked},
		{name: "sign a locked subject", signer: "site1-investigator", msg: c.SignMsg("S1-001", "", 0, "", "approval"), want: types.CodeLocked},
		{name: "withdraw a locked subject", signer: "site1-investigator", msg: apptest.WithdrawMsg("S1-001", "moved"), want: types.CodeLocked},
		{name: "freeze a form of a locked subject", signer: "sponsor-dm", msg: sc(types.KindFreeze, form, ""), want: types.CodeLocked},
		{name: "lock the subject again", signer: "sponsor-dm", msg: sc(types.KindLock, subj, ""), want: types.CodeLockState},
		{name: "other subjects stay open", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), apptest.VS(120, 80)), want: types.CodeOK},
		{name: "unlock needs a reason", signer: "sponsor-dm", msg: sc(types.KindUnlock, subj, " "), want: types.CodeReasonRequired, atCheck: true},
		{name: "unlock the subject", signer: "sponsor-dm", msg: sc(types.KindUnlock, subj, "late lab result"), want: types.CodeOK},
		{name: "unlock again", signer: "sponsor-dm", msg: sc(types.KindUnlock, subj, "x"), want: types.CodeLockState},
		{name: "edit after unlock", signer: "site1-coordinator", msg: fix("124"), want: types.CodeOK},

		{name: "freeze site1", signer: "sponsor-dm", msg: sc(types.KindFreeze, site, "interim analysis"), want: types.CodeOK},
		{name: "enroll at a frozen site", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-003", "site1"), want: types.CodeFrozen},
		{name: "edit at a frozen site", signer: "site1-coordinator", msg: fix("125"), want: types.CodeFrozen, logHas: []string{"site site1 is frozen"}},
		{name: "site2 stays open", signer: "site2-coordinator", msg: apptest.SubmitMsg(s101, apptest.VS(120, 80)), want: types.CodeOK},
		{name: "unfreeze site1", signer: "sponsor-dm", msg: sc(types.KindUnfreeze, site, "interim done"), want: types.CodeOK},

		{name: "freeze the study", signer: "sponsor-dm", msg: sc(types.KindFreeze, whole, "last patient last visit"), want: types.CodeOK},
		{name: "edit at site2 in a frozen study", signer: "site2-coordinator", msg: apptest.CorrectMsg(s101, "x", apptest.V("VS.HR", "70")), want: types.CodeFrozen, logHas: []string{"study VT-HTN-201 is frozen"}},
		{name: "withdraw in a frozen study", signer: "site1-investigator", msg: apptest.WithdrawMsg("S1-002", "moved"), want: types.CodeFrozen},
		{name: "lock a form of a frozen study", signer: "sponsor-dm", msg: sc(types.KindLock, form, "done"), want: types.CodeOK},
		{name: "unfreeze the study", signer: "sponsor-dm", msg: sc(types.KindUnfreeze, whole, "reopened for cleaning"), want: types.CodeOK},
		{name: "locked form stays locked", signer: "site1-coordinator", msg: fix("126"), want: types.CodeLocked},
		{name: "freeze a locked form", signer: "sponsor-dm", msg: sc(types.KindFreeze, form, ""), want: types.CodeLockState},
	})
	var l types.ScopeLock
	get(t, c, types.KeyLock(form), &l)
	if l.State != types.StateLocked || l.Level != types.ScopeForm || len(l.History) != 3 || l.History[0].Action != "freeze" || l.History[1].Reason != "query answered, correction needed" || l.History[2].Stamp.Signer != "sponsor-dm" {
		t.Errorf("form lock record %+v", l)
	}
	get(t, c, types.KeyLock(whole), &l)
	if l.State != types.StateOpen || len(l.History) != 2 {
		t.Errorf("study lock record %+v", l)
	}
}

func TestDatabaseLock(t *testing.T) {
	c := dmChain(t)
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	whole := types.Scope{Study: study}
	lock := apptest.ScopeMsg(types.KindLock, whole, "")
	unlock := func(reason string) types.Msg { return apptest.ScopeMsg(types.KindUnlock, whole, reason) }
	// A CRO data manager: a data manager whose organisation is not a lock approver.
	dm := &apptest.Person{ID: "cro-dm", Org: "cro", Name: "Cleo Data", Roles: []types.Role{types.RoleDataManager}, Key: apptest.KeyFor("cro-dm")}
	c.AddPerson(dm)
	c.MustDo("cro-admin", types.Msg{AddAccount: &types.MsgAddAccount{Account: dm.ID, Name: dm.Name, Roles: dm.Roles, PubKey: dm.PubKey()}})
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(vs, "VS.SYSBP", "check"))

	runSteps(t, c, []step{
		{name: "site approves", signer: "site1-investigator", msg: lock, want: types.CodeUnauthorized, atCheck: true},
		{name: "not an approver", signer: "cro-dm", msg: lock, want: types.CodeNotLockApprover},
		{name: "unlock an unlocked study", signer: "sponsor-dm", msg: unlock("x"), want: types.CodeLockState},
		{name: "regulator approves first", signer: "regulator-auditor", msg: lock, want: types.CodeOK},
		{name: "regulator again", signer: "regulator-auditor", msg: lock, want: types.CodeAlreadyApproved},
		// The quorum is reached with the sponsor: the preconditions fail.
		{name: "last approval with blockers", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked,
			logHas: []string{"query 1 on S1-001 SCR/1 VS VS.SYSBP is open", "subject S1-001: casebook not signed", "2 blocker(s)"}},
	})
	// Nothing was locked: the site can still work.
	// From here each change to the data cancels the regulator's approval
	// (lockLapseSince): it approves again before the sponsor's.
	reapprove := step{name: "regulator approves again", signer: "regulator-auditor", msg: lock, want: types.CodeOK}
	c.MustDo("site1-coordinator", apptest.QueryMsg(types.KindQueryAnswer, 1, "120 confirmed"))
	runSteps(t, c, []step{
		reapprove,
		{name: "answered is not resolved", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"query 1 on S1-001 SCR/1 VS VS.SYSBP is answered"}},
	})
	c.MustDo("cro-monitor", apptest.QueryMsg(types.KindQueryClose, 1, "ok"))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "SCR", 1, "VS", "review"))
	runSteps(t, c, []step{
		reapprove,
		{name: "a form signature is not the casebook's", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"casebook not signed", "1 blocker(s)"}},
	})
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "re-read", apptest.V("VS.HR", "71")))
	runSteps(t, c, []step{
		reapprove,
		{name: "invalidated casebook signature", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"casebook signature 2 was invalidated"}},
	})
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "LB"), apptest.LB()))
	runSteps(t, c, []step{
		reapprove,
		{name: "data entered after the signature", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"data entered after casebook signature 3"}},
	})
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	runSteps(t, c, []step{
		reapprove,
		{name: "lock", signer: "sponsor-dm", msg: lock, want: types.CodeOK},
	})
	lockHeight := c.Height
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.LockHeight != lockHeight {
		t.Fatalf("lock height %d, want %d", s.LockHeight, lockHeight)
	}
	var l types.ScopeLock
	get(t, c, types.KeyLock(whole), &l)
	if l.State != types.StateLocked || l.Height != lockHeight || len(l.History) != 1 || len(l.History[0].Approvals) != 2 || l.History[0].Approvals[0].Org != "regulator" {
		t.Fatalf("study lock %+v", l)
	}
	var db types.DatabaseLock
	get(t, c, types.KeyDBLock(study), &db)
	if db.Action != "" || len(db.Approvals) != 0 || db.Decisions != 1 {
		t.Fatalf("db lock %+v", db)
	}

	// Every write during the lock is rejected; the rejection is in the block.
	p2 := apptest.Example()
	p2.Study.Version = "2.0"
	runSteps(t, c, []step{
		{name: "correction", signer: "site1-coordinator", msg: apptest.CorrectMsg(vs, "late", apptest.V("VS.HR", "73")), want: types.CodeLocked, logHas: []string{"database lock"}},
		{name: "new form", signer: "site1-coordinator", msg: apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), apptest.VS(120, 80)), want: types.CodeLocked},
		{name: "enrolment", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-009", "site1"), want: types.CodeLocked},
		{name: "withdrawal", signer: "site1-coordinator", msg: apptest.WithdrawMsg("S1-002", "x"), want: types.CodeLocked},
		{name: "query", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "", "x"), want: types.CodeLocked},
		{name: "query action", signer: "cro-monitor", msg: apptest.QueryMsg(types.KindQueryReopen, 1, "x"), want: types.CodeLocked},
		{name: "SDV", signer: "cro-monitor", msg: apptest.VerifyMsg("S1-001", "SCR", 1, "VS", ""), want: types.CodeLocked},
		{name: "signature", signer: "site1-investigator", msg: c.SignMsg("S1-001", "", 0, "", "approval"), want: types.CodeLocked},
		{name: "freeze", signer: "sponsor-dm", msg: apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Site: "site1"}, ""), want: types.CodeLocked},
		{name: "amendment", signer: "sponsor-dm", msg: apptest.AmendMsg(p2, "more visits"), want: types.CodeLocked},
		{name: "site activation", signer: "sponsor-dm", msg: apptest.ActivateMsg(study, "site2", "site2-investigator"), want: types.CodeLocked},
		{name: "lock again", signer: "regulator-auditor", msg: lock, want: types.CodeLockState},
		{name: "unlock without reason", signer: "sponsor-dm", msg: unlock(""), want: types.CodeReasonRequired, atCheck: true},
		// k-1 approvals: still locked.
		{name: "sponsor approves the unlock", signer: "sponsor-dm", msg: unlock("protocol deviation found in audit"), want: types.CodeOK},
		{name: "sponsor again", signer: "sponsor-dm", msg: unlock("again"), want: types.CodeAlreadyApproved},
		{name: "still locked with k-1 approvals", signer: "site1-coordinator", msg: apptest.CorrectMsg(vs, "late", apptest.V("VS.HR", "73")), want: types.CodeLocked},
		{name: "regulator approves the unlock", signer: "regulator-auditor", msg: unlock("agreed: deviation to be documented"), want: types.CodeOK},
		{name: "edit after unlock", signer: "site1-coordinator", msg: apptest.CorrectMsg(vs, "late", apptest.V("VS.HR", "73")), want: types.CodeOK},
	})
	s, l = types.Study{}, types.ScopeLock{}
	get(t, c, types.KeyStudy(study), &s)
	get(t, c, types.KeyLock(whole), &l)
	if s.LockHeight != 0 || l.State != types.StateOpen || len(l.History) != 2 || l.History[1].Reason != "agreed: deviation to be documented" || len(l.History[1].Approvals) != 2 || l.History[1].Approvals[0].Comment != "protocol deviation found in audit" {
		t.Errorf("after unlock: study %+v lock %+v", s, l)
	}
	// The locked dataset stays provable at the lock height.
	var atLock types.FormRecord
	if err := json.Unmarshal(rawGet(t, c, types.KeyForm(vs), lockHeight), &atLock); err != nil || atLock.Version != 2 {
		t.Errorf("form at lock height: %+v %v", atLock, err)
	}
}

func TestDatabaseLockPolicy(t *testing.T) {
	c := apptest.New(t)
	reg := apptest.RegisterMsg(apptest.Example())
	reg.RegisterStudy.SDVPolicy = types.SDVAll
	reg.RegisterStudy.LockApprovers = []string{"cro", "regulator"}
	reg.RegisterStudy.LockQuorum = 2
	c.SetupStudyWith(reg)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(120, 80)))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	dm := &apptest.Person{ID: "cro-dm", Org: "cro", Name: "Cleo Data", Roles: []types.Role{types.RoleDataManager}, Key: apptest.KeyFor("cro-dm")}
	c.AddPerson(dm)
	c.MustDo("cro-admin", types.Msg{AddAccount: &types.MsgAddAccount{Account: dm.ID, Name: dm.Name, Roles: dm.Roles, PubKey: dm.PubKey()}})
	lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: study}, "")
	runSteps(t, c, []step{
		{name: "cro approves", signer: "cro-dm", msg: lock, want: types.CodeOK},
		// Two approvals without the sponsor: no decision yet.
		{name: "regulator approves", signer: "regulator-auditor", msg: lock, want: types.CodeOK},
		{name: "sponsor: SDV policy all", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"form VS of subject S1-001 at SCR (repeat 1) is not fully verified", "SDV none"}},
	})
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "VS", "VS.HR"))
	// The SDV changed the data: the two approvals lapsed.
	runSteps(t, c, []step{
		{name: "cro approves again", signer: "cro-dm", msg: lock, want: types.CodeOK},
		{name: "regulator approves again", signer: "regulator-auditor", msg: lock, want: types.CodeOK},
		{name: "partial SDV", signer: "sponsor-dm", msg: lock, want: types.CodeLockBlocked, logHas: []string{"SDV partial"}},
	})
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "", ""))
	runSteps(t, c, []step{
		{name: "cro approves the verified data", signer: "cro-dm", msg: lock, want: types.CodeOK},
		{name: "regulator approves the verified data", signer: "regulator-auditor", msg: lock, want: types.CodeOK},
		{name: "lock", signer: "sponsor-dm", msg: lock, want: types.CodeOK},
	})
	var l types.ScopeLock
	get(t, c, types.KeyLock(types.Scope{Study: study}), &l)
	if l.State != types.StateLocked || len(l.History[0].Approvals) != 3 {
		t.Errorf("lock %+v", l)
	}
	if !strings.Contains(l.History[0].Approvals[2].Stamp.Signer, "sponsor-dm") {
		t.Errorf("approvals %+v", l.History[0].Approvals)
	}
}

// TestLockApprovalsLapse: from state-machine version 4, a change to the
// study's data cancels the pending database lock approvals, kept in the
// record's Lapsed with the stamp of the change, and their approvers may
// approve again; a freeze, a change of the consortium's accounts and a
// failed tx change no data and cancel nothing. Version 3 kept every
// approval until the decision.
func TestLockApprovalsLapse(t *testing.T) {
	lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: study}, "")
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	setup := func(c *apptest.Chain) {
		c.SetupStudy()
		c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
		c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(120, 80)))
		c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	}
	dbLock := func(c *apptest.Chain) types.DatabaseLock {
		var db types.DatabaseLock
		get(t, c, types.KeyDBLock(study), &db)
		return db
	}

	c := apptest.New(t)
	setup(c)
	c.MustDo("regulator-auditor", lock)
	approved := c.Height
	// No change to the data: the approval stands.
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Site: "site1"}, ""))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindUnfreeze, types.Scope{Study: study, Site: "site1"}, "source documents checked"))
	dm := &apptest.Person{ID: "cro-dm", Org: "cro", Name: "Cleo Data", Roles: []types.Role{types.RoleDataManager}, Key: apptest.KeyFor("cro-dm")}
	c.AddPerson(dm)
	c.MustDo("cro-admin", types.Msg{AddAccount: &types.MsgAddAccount{Account: dm.ID, Name: dm.Name, Roles: dm.Roles, PubKey: dm.PubKey()}})
	if code, _ := c.Do("site1-coordinator", apptest.CorrectMsg(vs, "no change", apptest.V("VS.SYSBP", "120"))); code != types.CodeNoChange {
		t.Fatalf("an unchanged correction: %s", code)
	}
	if db := dbLock(c); db.Action != "lock" || len(db.Approvals) != 1 || len(db.Lapsed) != 0 {
		t.Fatalf("after a freeze, an account and a refused correction: %+v", db)
	}
	// A correction cancels it.
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "transcription", apptest.V("VS.HR", "71")))
	corrected := c.Height
	db := dbLock(c)
	if db.Action != "" || len(db.Approvals) != 0 || len(db.Lapsed) != 1 {
		t.Fatalf("after a correction: %+v", db)
	}
	l := db.Lapsed[0]
	if l.Action != "lock" || len(l.Approvals) != 1 || l.Approvals[0].Org != "regulator" || l.Approvals[0].Stamp.Height != approved ||
		l.Stamp.Height != corrected || l.Stamp.Signer != "site1-coordinator" {
		t.Errorf("lapse %+v", l)
	}
	// Its approver approves the data as it stands now; the sponsor's
	// approval then takes the decision (the casebook is signed again first).
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("regulator-auditor", lock)
	c.MustDo("sponsor-dm", lock)
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.LockHeight != c.Height {
		t.Fatalf("lock height %d, want %d", s.LockHeight, c.Height)
	}
	if db := dbLock(c); len(db.Lapsed) != 1 || db.Decisions != 1 {
		t.Errorf("after the lock: %+v", db)
	}

	// Version 3: the approval given before the correction still counts.
	old := apptest.NewAtVersion(t, 3)
	setup(old)
	old.MustDo("regulator-auditor", lock)
	old.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "transcription", apptest.V("VS.HR", "71")))
	old.MustDo("site1-investigator", old.SignMsg("S1-001", "", 0, "", "approval"))
	old.MustDo("sponsor-dm", lock)
	s = types.Study{}
	get(t, old, types.KeyStudy(study), &s)
	if s.LockHeight != old.Height {
		t.Errorf("version 3: lock height %d, want %d", s.LockHeight, old.Height)
	}
}
