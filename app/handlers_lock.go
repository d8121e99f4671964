package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Freeze and lock. A frozen scope (form, subject, site, study) refuses
// site edits (entry, correction, enrolment, withdrawal) while queries,
// SDV and signatures still flow; a locked scope refuses every write. The
// study-level lock is the database lock: a k-of-n decision of the study's
// lock approvers (the sponsor and an independent organisation always
// among them, see deciders), accepted only when the preconditions hold
// (no unresolved query, every casebook signed by a valid signature of its
// current content, SDV as the study's policy says); a refused last
// approval lists every blocker. Unlock takes the same quorum and a
// reason.

// scopeState loads the state of a scope (open when never changed).
func (x *exec) scopeState(sc types.Scope) (*types.ScopeLock, *types.Error) {
	var l types.ScopeLock
	ok, e := x.load(types.KeyLock(sc), &l)
	if e != nil {
		return nil, e
	}
	if !ok {
		return &types.ScopeLock{Scope: sc, Level: sc.Level(), State: types.StateOpen, History: []types.LockChange{}}, nil
	}
	return &l, nil
}

// covering lists the scopes that contain a target, widest first.
func covering(study, site, subject string, fk *types.FormKey) []types.Scope {
	out := []types.Scope{{Study: study}}
	if site != "" {
		out = append(out, types.Scope{Study: study, Site: site})
	}
	if subject != "" {
		out = append(out, types.Scope{Study: study, Subject: subject})
	}
	if fk != nil {
		out = append(out, types.Scope{Study: study, Subject: fk.Subject, Event: fk.Event, EventRepeat: fk.EventRepeat, Form: fk.Form})
	}
	return out
}

// guard refuses a write to a target inside a locked scope, and a site
// edit (siteEdit) inside a frozen one.
func (x *exec) guard(study, site, subject string, fk *types.FormKey, siteEdit bool) *types.Error {
	return x.guardScopes(covering(study, site, subject, fk), siteEdit)
}

func (x *exec) guardScopes(scopes []types.Scope, siteEdit bool) *types.Error {
	var frozen *types.ScopeLock
	for _, sc := range scopes {
		l, e := x.scopeState(sc)
		if e != nil {
			return e
		}
		switch l.State {
		case types.StateLocked:
			what := "locked"
			if sc.Level() == types.ScopeStudy {
				what = "locked (database lock)"
			}
			return types.Errf(types.CodeLocked, "%s is %s since height %d; nothing can be changed until it is unlocked (veritrial unlock)", sc, what, l.Height)
		case types.StateFrozen:
			if frozen == nil {
				frozen = l
			}
		}
	}
	if siteEdit && frozen != nil {
		return types.Errf(types.CodeFrozen, "%s is frozen since height %d: site data entry and corrections are closed (queries can still be answered with a comment); ask the data manager to unfreeze it", frozen.Scope, frozen.Height)
	}
	return nil
}

func (x *exec) scopeAction(kind types.Kind, m *types.MsgScope) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	sc := m.Scope
	var parents []types.Scope
	switch sc.Level() {
	case types.ScopeSite:
		if ok, err := x.st.has(types.KeySite(s.ID, sc.Site)); err != nil {
			return internal(err)
		} else if !ok {
			return types.Errf(types.CodeSiteNotActive, "site %s is not active for study %s", sc.Site, s.ID)
		}
		parents = covering(s.ID, "", "", nil)
	case types.ScopeSubject:
		sub, e := x.anySubject(s.ID, sc.Subject)
		if e != nil {
			return e
		}
		parents = covering(s.ID, sub.Site, "", nil)
	case types.ScopeForm:
		sub, e := x.anySubject(s.ID, sc.Subject)
		if e != nil {
			return e
		}
		fk := types.FormKey{Study: s.ID, Subject: sc.Subject, Event: sc.Event, EventRepeat: sc.EventRepeat, Form: sc.Form}
		if ok, err := x.st.has(types.KeyForm(fk)); err != nil {
			return internal(err)
		} else if !ok {
			return types.Errf(types.CodeFormNotFound, "form %s of subject %s at %s (repeat %d) has not been entered", fk.Form, fk.Subject, fk.Event, fk.EventRepeat)
		}
		parents = covering(s.ID, sub.Site, sub.ID, nil)
	}
	if sc.Level() == types.ScopeStudy && (kind == types.KindLock || kind == types.KindUnlock) {
		return x.databaseLock(s, kind == types.KindLock, m.Reason)
	}
	if x.c.org.Kind != types.OrgSponsor && x.c.org.Kind != types.OrgCRO || x.c.role != types.RoleDataManager {
		return types.Errf(types.CodeUnauthorized, "%s may not %s a %s: that needs the data manager of the sponsor or a CRO (regulators approve only the database lock)", x.c.signer.ID, kind, sc.Level())
	}
	if e := x.sponsorSide(s, string(kind), types.TaskDataManagement); e != nil {
		return e
	}
	if e := x.guardScopes(parents, false); e != nil {
		return e
	}
	l, e := x.scopeState(sc)
	if e != nil {
		return e
	}
	var to types.LockState
	switch kind {
	case types.KindFreeze:
		if l.State != types.StateOpen {
			return types.Errf(types.CodeLockState, "%s is already %s (since height %d)", sc, l.State, l.Height)
		}
		to = types.StateFrozen
	case types.KindUnfreeze:
		if l.State != types.StateFrozen {
			return types.Errf(types.CodeLockState, "%s is %s, not frozen; nothing to unfreeze", sc, l.State)
		}
		to = types.StateOpen
	case types.KindLock:
		if l.State == types.StateLocked {
			return types.Errf(types.CodeLockState, "%s is already locked (since height %d)", sc, l.Height)
		}
		to = types.StateLocked
	case types.KindUnlock:
		if l.State != types.StateLocked {
			return types.Errf(types.CodeLockState, "%s is %s, not locked; nothing to unlock", sc, l.State)
		}
		to = types.StateOpen
	}
	x.setScope(l, string(kind), to, m.Reason, nil)
	return nil
}

func (x *exec) setScope(l *types.ScopeLock, action string, to types.LockState, reason string, approvals []types.Vote) {
	l.State, l.Height, l.Level = to, x.height, l.Scope.Level()
	l.History = append(l.History, types.LockChange{Action: action, State: to, Reason: reason, Stamp: x.stamp(), Approvals: approvals})
	x.st.setJSON(types.KeyLock(l.Scope), l)
	x.emit("study", l.Study, "scope", l.Scope.String(), "action", action, "state", string(to))
}

// databaseLock records one organisation's approval of the database lock
// (or unlock) and takes the decision when the quorum is reached.
func (x *exec) databaseLock(s *types.Study, lock bool, reason string) *types.Error {
	action := "unlock"
	if lock {
		action = "lock"
	}
	approvers, quorum := s.LockPolicy()
	deciders, e := x.deciders(approvers, types.OrgRegulator)
	if e != nil {
		return e
	}
	if decider(deciders, x.c.org.ID) == nil {
		return types.Errf(types.CodeNotLockApprover, "%s is not a database lock approver of study %s (approvers: %s)", x.c.org.ID, s.ID, strings.Join(orgIDs(deciders), ", "))
	}
	want := types.RoleDataManager
	if x.c.org.Kind == types.OrgRegulator {
		want = types.RoleAuditor
	}
	if !x.c.signer.HasRole(want) {
		return types.Errf(types.CodeUnauthorized, "%s approves the database %s of %s only through its %s", x.c.org.ID, action, s.ID, want)
	}
	if x.c.org.Kind == types.OrgCRO {
		if e := x.croTask(s, "approve the database "+action, types.TaskDataManagement); e != nil {
			return e
		}
	}
	st := types.Scope{Study: s.ID}
	l, e := x.scopeState(st)
	if e != nil {
		return e
	}
	if lock && l.State == types.StateLocked {
		return types.Errf(types.CodeLockState, "study %s is already locked since height %d", s.ID, l.Height)
	}
	if !lock && l.State != types.StateLocked {
		return types.Errf(types.CodeLockState, "study %s is not locked; nothing to unlock", s.ID)
	}
	var db types.DatabaseLock
	if _, e := x.load(types.KeyDBLock(s.ID), &db); e != nil {
		return e
	}
	db.Study = s.ID
	if db.Action != action {
		db.Action, db.Approvals = action, nil
	}
	// The approvals of the organisations that decide now count, towards a
	// quorum no larger than they are; the sponsor and an independent
	// organisation must be among them. An approver that approved before
	// confirms the decision its earlier approval now completes (an
	// approver the quorum waited for can no longer sign).
	quorum = min(quorum, len(deciders))
	passes := func() bool {
		n, sponsor, indep := 0, false, false
		for _, v := range db.Approvals {
			if o := decider(deciders, v.Org); o != nil {
				n++
				sponsor = sponsor || o.ID == s.Sponsor
				indep = indep || independent(*o)
			}
		}
		return n >= quorum && sponsor && indep
	}
	mine := slices.IndexFunc(db.Approvals, func(v types.Vote) bool { return v.Org == x.c.org.ID })
	if mine >= 0 && !passes() {
		v := db.Approvals[mine]
		return types.Errf(types.CodeAlreadyApproved, "%s already approved the database %s of study %s (by %s at height %d); another approver must act", x.c.org.ID, action, s.ID, v.Stamp.Signer, v.Stamp.Height)
	}
	if mine < 0 {
		db.Approvals = append(db.Approvals, types.Vote{Org: x.c.org.ID, Approve: true, Comment: reason, Stamp: x.stamp()})
	}
	if !passes() {
		x.st.setJSON(types.KeyDBLock(s.ID), db)
		x.emit("study", s.ID, "action", action+"_approval", "approvals", fmt.Sprint(len(db.Approvals)), "quorum", fmt.Sprint(quorum))
		return nil
	}
	if lock {
		if blockers, e := x.lockBlockers(s); e != nil {
			return e
		} else if len(blockers) > 0 {
			return types.Errf(types.CodeLockBlocked, "database lock of study %s refused: %d blocker(s); resolve them and approve again:\n- %s", s.ID, len(blockers), strings.Join(blockers, "\n- "))
		}
	}
	approvals := db.Approvals
	db.Action, db.Approvals = "", []types.Vote{}
	db.Decisions++
	x.st.setJSON(types.KeyDBLock(s.ID), db)
	if lock {
		x.setScope(l, "lock", types.StateLocked, reason, approvals)
		s.LockHeight = x.height
	} else {
		x.setScope(l, "unlock", types.StateOpen, reason, approvals)
		s.LockHeight = 0
	}
	x.st.setJSON(types.KeyStudy(s.ID), s)
	return nil
}

// lockBlockers lists every reason the study's database cannot be locked.
func (x *exec) lockBlockers(s *types.Study) ([]string, *types.Error) {
	var out []string
	queries, e := loadPrefix[types.Query](x, []byte(types.PrefixQuery+s.ID+"/"))
	if e != nil {
		return nil, e
	}
	for _, q := range queries {
		if !q.Status.Resolved() {
			out = append(out, fmt.Sprintf("query %d on %s is %s", q.Number, q.Target(), q.Status))
		}
	}
	forms, e := loadPrefix[types.FormRecord](x, []byte(types.PrefixForm+s.ID+"/"))
	if e != nil {
		return nil, e
	}
	sigs, e := loadPrefix[types.Signature](x, []byte(types.PrefixSignature+s.ID+"/"))
	if e != nil {
		return nil, e
	}
	var subjects []string
	bySubject := map[string][]types.FormRecord{}
	for _, f := range forms {
		if _, ok := bySubject[f.Subject]; !ok {
			subjects = append(subjects, f.Subject)
		}
		bySubject[f.Subject] = append(bySubject[f.Subject], f)
	}
	for _, sub := range subjects {
		cb := &types.MsgSign{Study: s.ID, Subject: sub}
		hash := cb.Content(bySubject[sub]).Hash()
		var last *types.Signature
		ok := false
		for i := range sigs {
			sg := &sigs[i]
			if sg.Subject != sub || sg.Level != types.SignCasebook {
				continue
			}
			last = sg
			if sg.Status == types.SignatureValid && sg.ContentHash == hash {
				ok = true
			}
		}
		switch {
		case ok:
		case last == nil:
			out = append(out, fmt.Sprintf("subject %s: casebook not signed by the investigator", sub))
		case last.Status == types.SignatureInvalidated:
			out = append(out, fmt.Sprintf("subject %s: casebook signature %d was invalidated by a correction at height %d; the investigator must sign again", sub, last.Number, last.Invalidated.Stamp.Height))
		default:
			out = append(out, fmt.Sprintf("subject %s: data entered after casebook signature %d; the investigator must sign the casebook again", sub, last.Number))
		}
	}
	if s.SDV() == types.SDVAll {
		sdvs, e := loadPrefix[types.SDVRecord](x, []byte(types.PrefixSDV+s.ID+"/"))
		if e != nil {
			return nil, e
		}
		byKey := map[types.FormKey]*types.SDVRecord{}
		for i := range sdvs {
			byKey[sdvs[i].FormKey] = &sdvs[i]
		}
		for i := range forms {
			f := &forms[i]
			r := byKey[f.FormKey]
			st := types.SDVNotDone
			if r != nil {
				st = sdvStatus(r.Verified, f)
			}
			if st != types.SDVVerified {
				out = append(out, fmt.Sprintf("form %s of subject %s at %s (repeat %d) is not fully verified against source (SDV %s; the study's policy is all forms)", f.Form, f.Subject, f.Event, f.EventRepeat, st))
			}
		}
	}
	return out, nil
}
