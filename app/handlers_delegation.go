package app

import (
	"slices"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Delegations. A sponsor delegates a study's work to a CRO, task by task
// (monitoring, data management); a CRO acts on a study only within the
// tasks delegated to it. Each site of a study has a principal
// investigator, named by the sponsor at activation, who holds every site
// task on the study (enrolment, data entry, query answers, e-signature)
// and delegates them to named people of the site: the site's delegation
// log. Every change is kept in the delegation's record, a revocation
// included; nothing is deleted.

// activeSite returns the activation record of site for study, or fails
// with site_not_active. The record is shared: never modify it.
func (x *exec) activeSite(study, site string) (*types.Site, *types.Error) {
	st, ok, err := x.a.sites.get(x.st, types.KeySite(study, site))
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, types.Errf(types.CodeSiteNotActive, "site %s is not active for study %s; the sponsor must activate it first", site, study)
	}
	return st, nil
}

// delegation returns the delegation at key, nil when there is none. The
// record is shared: never modify it.
func (x *exec) delegation(key []byte) (*types.Delegation, *types.Error) {
	d, ok, err := x.a.delegations.get(x.st, key)
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, nil
	}
	return d, nil
}

// croTask checks that the signer's CRO holds one of tasks on study s.
func (x *exec) croTask(s *types.Study, what string, tasks ...types.Task) *types.Error {
	d, e := x.delegation(types.KeyStudyDelegation(s.ID, x.c.org.ID))
	if e != nil {
		return e
	}
	if d != nil && d.Holds(tasks...) {
		return nil
	}
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Describe()
	}
	return types.Errf(types.CodeNotDelegated, "%s (%s) cannot %s in study %s: its sponsor %s has not delegated %s on it to %s; ask the sponsor's data manager to delegate it (veritrial study delegate)",
		x.c.signer.ID, x.c.org.ID, what, s.ID, s.Sponsor, strings.Join(names, " or "), x.c.org.ID)
}

// siteTask checks that site is active for study and that the signer may
// do task there: the site's principal investigator holds every task,
// anyone else needs the task delegated.
func (x *exec) siteTask(study, site string, task types.Task) *types.Error {
	st, e := x.activeSite(study, site)
	if e != nil {
		return e
	}
	if x.c.signer.ID == st.PrincipalInvestigator {
		return nil
	}
	d, e := x.delegation(types.KeySiteDelegation(study, st.Org, x.c.signer.ID))
	if e != nil {
		return e
	}
	if d != nil && d.Holds(task) {
		return nil
	}
	pi := st.PrincipalInvestigator
	var acct types.Account
	if ok, e := x.load(types.KeyAccount(pi), &acct); e != nil {
		return e
	} else if ok {
		pi = acct.Name + " (" + pi + ")"
	}
	return types.Errf(types.CodeNotDelegated, "%s is not delegated %s on %s at site %s; ask the principal investigator %s to delegate %s on %s to you (veritrial site delegate)",
		x.c.signer.ID, task.Describe(), study, st.Org, pi, task.Describe(), study)
}

// investigatorOf checks that id can be the principal investigator of
// site: an active investigator of the site.
func (x *exec) investigatorOf(site, id string) *types.Error {
	var acct types.Account
	ok, e := x.load(types.KeyAccount(id), &acct)
	if e != nil {
		return e
	}
	switch {
	case !ok:
		return types.Errf(types.CodeUnknownAccount, "account %q does not exist; the principal investigator is an account of site %s", id, site)
	case acct.Org != site:
		return types.Errf(types.CodeWrongOrg, "%s belongs to %s; the principal investigator of site %s is one of its own investigators", id, acct.Org, site)
	case acct.Status != types.AccountActive:
		return types.Errf(types.CodeSignerRevoked, "account %s is revoked; name an active investigator of %s", id, site)
	case !acct.HasRole(types.RoleInvestigator):
		return types.Errf(types.CodeInvalidRole, "%s (roles %s) is not an investigator; the principal investigator holds the investigator role", id, types.JoinRoles(acct.Roles))
	}
	return nil
}

func (x *exec) changeInvestigator(m *types.MsgChangeInvestigator) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if s.Sponsor != x.c.org.ID {
		return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; only its sponsor names principal investigators", s.ID, s.Sponsor)
	}
	var st types.Site
	if ok, e := x.load(types.KeySite(s.ID, m.Site), &st); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeSiteNotActive, "site %s is not active for study %s; activate it with its principal investigator", m.Site, s.ID)
	}
	if st.PrincipalInvestigator == m.PrincipalInvestigator {
		return types.Errf(types.CodeNoChange, "%s is already the principal investigator of site %s on %s", m.PrincipalInvestigator, m.Site, s.ID)
	}
	if e := x.investigatorOf(m.Site, m.PrincipalInvestigator); e != nil {
		return e
	}
	st.PrincipalInvestigator = m.PrincipalInvestigator
	st.History = append(st.History, types.SiteChange{Action: string(types.KindChangeInvestigator), PrincipalInvestigator: m.PrincipalInvestigator, Reason: m.Reason, Stamp: x.stamp()})
	x.st.setJSON(types.KeySite(s.ID, st.Org), st)
	x.emit("study", s.ID, "site", st.Org, "account", m.PrincipalInvestigator, "action", string(types.KindChangeInvestigator))
	return nil
}

// studyDelegation delegates tasks of a study to a CRO, or revokes the
// delegation.
func (x *exec) studyDelegation(m *types.MsgStudyDelegation, delegate bool) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if s.Sponsor != x.c.org.ID {
		return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; only its sponsor delegates its work", s.ID, s.Sponsor)
	}
	o, e := x.orgOf(m.Org)
	if e != nil {
		return e
	}
	if o.Kind != types.OrgCRO {
		return types.Errf(types.CodeNotACRO, "%s is a %s organisation, not a CRO; a sponsor delegates a study's work to a CRO", o.ID, o.Kind)
	}
	tasks, e := types.NormalizeTasks(types.StudyTasks, m.Tasks)
	if e != nil {
		return e
	}
	d := types.Delegation{Study: s.ID, Org: o.ID}
	action, e := x.changeDelegation(types.KeyStudyDelegation(s.ID, o.ID), d, delegate, tasks, m.Reason, o.ID)
	if e != nil {
		return e
	}
	x.emit("study", s.ID, "org", o.ID, "action", action, "tasks", types.TaskList(tasks))
	return nil
}

// siteDelegation is a principal investigator's delegation of study tasks
// at the site to one of its people, or its revocation.
func (x *exec) siteDelegation(m *types.MsgSiteDelegation, delegate bool) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if m.Site != x.c.org.ID {
		return types.Errf(types.CodeWrongSite, "%s works for site %s and cannot delegate tasks at site %s", x.c.signer.ID, x.c.org.ID, m.Site)
	}
	st, e := x.activeSite(s.ID, m.Site)
	if e != nil {
		return e
	}
	if x.c.signer.ID != st.PrincipalInvestigator {
		return types.Errf(types.CodeNotPI, "only the principal investigator of site %s on %s, %s, delegates its tasks; %s is not (the sponsor names the principal investigator)", st.Org, s.ID, st.PrincipalInvestigator, x.c.signer.ID)
	}
	var acct types.Account
	if ok, e := x.load(types.KeyAccount(m.Account), &acct); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeUnknownAccount, "account %q does not exist", m.Account)
	}
	if acct.Org != st.Org {
		return types.Errf(types.CodeWrongOrg, "%s belongs to %s; the delegation log of site %s names its own people", acct.ID, acct.Org, st.Org)
	}
	if acct.ID == st.PrincipalInvestigator {
		return types.Errf(types.CodeNoChange, "%s is the principal investigator of site %s on %s and holds every task", acct.ID, st.Org, s.ID)
	}
	tasks, e := types.NormalizeTasks(types.SiteTasks, m.Tasks)
	if e != nil {
		return e
	}
	if delegate {
		if acct.Status != types.AccountActive {
			return types.Errf(types.CodeSignerRevoked, "account %s is revoked; it cannot be delegated tasks", acct.ID)
		}
		if slices.Contains(tasks, types.TaskSign) && !acct.HasRole(types.RoleInvestigator) {
			return types.Errf(types.CodeInvalidRole, "e-signature is delegated only to investigators; %s has the roles %s", acct.ID, types.JoinRoles(acct.Roles))
		}
	}
	d := types.Delegation{Study: s.ID, Org: st.Org, Account: acct.ID, Name: acct.Name}
	action, e := x.changeDelegation(types.KeySiteDelegation(s.ID, st.Org, acct.ID), d, delegate, tasks, m.Reason, acct.ID)
	if e != nil {
		return e
	}
	x.emit("study", s.ID, "site", st.Org, "account", acct.ID, "action", action, "tasks", types.TaskList(tasks))
	return nil
}

// changeDelegation delegates tasks (delegate) or revokes the delegation
// recorded at key, new records starting as d, and returns the action
// recorded: delegate (from none or revoked), change or revoke.
func (x *exec) changeDelegation(key []byte, d types.Delegation, delegate bool, tasks []types.Task, reason, who string) (string, *types.Error) {
	ok, e := x.load(key, &d)
	if e != nil {
		return "", e
	}
	active := ok && d.Status == types.DelegationActive
	action := "delegate"
	switch {
	case !delegate && !active:
		return "", types.Errf(types.CodeNoDelegation, "%s holds no delegation on study %s to revoke", who, d.Study)
	case !delegate:
		action, d.Status = "revoke", types.DelegationRevoked
	case active && slices.Equal(d.Tasks, tasks):
		return "", types.Errf(types.CodeNoChange, "%s already holds exactly %s on study %s", who, types.TaskList(tasks), d.Study)
	case active:
		action = "change"
	default:
		d.Status = types.DelegationActive
	}
	d.Tasks = tasks
	d.History = append(d.History, types.DelegationChange{Action: action, Tasks: tasks, Reason: reason, Stamp: x.stamp()})
	x.st.setJSON(key, d)
	return action, nil
}
