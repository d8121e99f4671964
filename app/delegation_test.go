package app_test

import (
	"slices"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// history lists a delegation's actions and tasks as "action:task+task".
func history(d types.Delegation) []string {
	var out []string
	for _, h := range d.History {
		s := h.Action + ":"
		for i, t := range h.Tasks {
			if i > 0 {
				s += "+"
			}
			s += string(t)
		}
		out = append(out, s)
	}
	return out
}

// TestStudyDelegation: a CRO acts on a study only within the tasks its
// sponsor delegated to it; the delegation and its revocation are kept.
func TestStudyDelegation(t *testing.T) {
	c := twoSponsorChain(t)
	c.MustDo("sponsor-dm", apptest.RegisterMsg(apptest.Example()))
	c.ActivateSite("site1")
	croDM := person("cro-dm", "cro", types.RoleDataManager)
	c.MustDo("cro-admin", addMsg(croDM.ID, "CRO Data Manager", croDM.PubKey(), types.RoleDataManager))
	c.AddPerson(croDM)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(128, 84)))
	freeze := apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Site: "site1"}, "")
	unfreeze := apptest.ScopeMsg(types.KindUnfreeze, types.Scope{Study: study, Site: "site1"}, "monitoring visit over")
	monitoring := apptest.DelegateStudyMsg(study, "cro", types.TaskMonitoring)
	revokeNaming := apptest.UndelegateStudyMsg(study, "cro", "contract ended")
	revokeNaming.UndelegateStudy.Tasks = []types.Task{types.TaskMonitoring}
	runSteps(t, c, []step{
		{name: "undelegated CRO raises a query", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "VS.HR", "check"), want: types.CodeNotDelegated,
			logHas: []string{"sponsor has not delegated monitoring (SDV and data queries) or data management", "veritrial study delegate"}},
		{name: "undelegated CRO verifies", signer: "cro-monitor", msg: apptest.VerifyMsg("S1-001", "SCR", 1, "", ""), want: types.CodeNotDelegated},
		{name: "delegated by a site", signer: "site1-admin", msg: monitoring, want: types.CodeUnauthorized, atCheck: true},
		{name: "delegated by the CRO", signer: "cro-admin", msg: monitoring, want: types.CodeUnauthorized, atCheck: true},
		{name: "by another sponsor", signer: "sponsor2-dm", msg: monitoring, want: types.CodeWrongOrg},
		{name: "no tasks", signer: "sponsor-dm", msg: apptest.DelegateStudyMsg(study, "cro"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "a site's task", signer: "sponsor-dm", msg: apptest.DelegateStudyMsg(study, "cro", types.TaskEntry), want: types.CodeInvalidMsg, atCheck: true},
		{name: "to a site", signer: "sponsor-dm", msg: apptest.DelegateStudyMsg(study, "site1", types.TaskMonitoring), want: types.CodeNotACRO},
		{name: "to an unknown organisation", signer: "sponsor-dm", msg: apptest.DelegateStudyMsg(study, "cro9", types.TaskMonitoring), want: types.CodeUnknownOrg},
		{name: "on an unknown study", signer: "sponsor-dm", msg: apptest.DelegateStudyMsg("VT-NONE", "cro", types.TaskMonitoring), want: types.CodeUnknownStudy},
		{name: "revoke what was never delegated", signer: "sponsor-dm", msg: apptest.UndelegateStudyMsg(study, "cro", "x"), want: types.CodeNoDelegation},
		{name: "monitoring", signer: "sponsor-dm", msg: monitoring, want: types.CodeOK},
		{name: "monitoring again", signer: "sponsor-admin", msg: monitoring, want: types.CodeNoChange},
		{name: "the monitor raises a query", signer: "cro-monitor", msg: apptest.OpenQueryMsg(vs, "VS.HR", "check"), want: types.CodeOK},
		{name: "the monitor verifies", signer: "cro-monitor", msg: apptest.VerifyMsg("S1-001", "SCR", 1, "", ""), want: types.CodeOK},
		{name: "freeze without data management", signer: croDM.ID, msg: freeze, want: types.CodeNotDelegated, logHas: []string{"data management"}},
		{name: "add data management", signer: "sponsor-admin", msg: apptest.DelegateStudyMsg(study, "cro", apptest.CROTasks...), want: types.CodeOK},
		{name: "freeze", signer: croDM.ID, msg: freeze, want: types.CodeOK},
		{name: "the site answers", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 1, "source checked"), want: types.CodeOK},
		{name: "revoke without a reason", signer: "sponsor-dm", msg: apptest.UndelegateStudyMsg(study, "cro", ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "revoke naming tasks", signer: "sponsor-dm", msg: revokeNaming, want: types.CodeInvalidMsg, atCheck: true},
		{name: "revoke", signer: "sponsor-dm", msg: apptest.UndelegateStudyMsg(study, "cro", "contract ended"), want: types.CodeOK},
		{name: "revoke again", signer: "sponsor-dm", msg: apptest.UndelegateStudyMsg(study, "cro", "contract ended"), want: types.CodeNoDelegation},
		{name: "the monitor closes its query after the revocation", signer: "cro-monitor", msg: apptest.QueryMsg(types.KindQueryClose, 1, ""), want: types.CodeNotDelegated},
		{name: "unfreeze after the revocation", signer: croDM.ID, msg: unfreeze, want: types.CodeNotDelegated},
		{name: "the sponsor closes it", signer: "sponsor-dm", msg: apptest.QueryMsg(types.KindQueryClose, 1, ""), want: types.CodeNotQueryRaiser},
	})
	var d types.Delegation
	get(t, c, types.KeyStudyDelegation(study, "cro"), &d)
	if d.Status != types.DelegationRevoked || len(d.Tasks) != 0 || d.Study != study || d.Org != "cro" || d.Account != "" ||
		!slices.Equal(history(d), []string{"delegate:monitoring", "change:monitoring+data_management", "revoke:"}) ||
		d.History[0].Stamp.Signer != "sponsor-dm" || d.History[1].Stamp.Signer != "sponsor-admin" || d.History[2].Reason != "contract ended" {
		t.Errorf("delegation %+v (history %v)", d, history(d))
	}
	c.MustDo("sponsor-dm", monitoring)
	get(t, c, types.KeyStudyDelegation(study, "cro"), &d)
	if d.Status != types.DelegationActive || !slices.Equal(history(d)[3:], []string{"delegate:monitoring"}) {
		t.Errorf("delegated again: %+v", d)
	}
	c.MustDo("cro-monitor", apptest.QueryMsg(types.KindQueryClose, 1, ""))
}

// TestSiteDelegationLog: a site's principal investigator holds every task
// on the study and delegates them to named people of the site; the
// ledger refuses a site action without the task, and the sponsor may name
// another principal investigator, with a reason.
func TestSiteDelegationLog(t *testing.T) {
	c := apptest.New(t)
	c.MustDo("sponsor-dm", apptest.RegisterMsg(apptest.Example()))
	c.MustDo("sponsor-dm", apptest.ActivateMsg(study, "site1", "site1-investigator"))
	inv2 := person("site1-inv2", "site1", types.RoleInvestigator)
	c.MustDo("site1-admin", addMsg(inv2.ID, "Dr. Second Investigator", inv2.PubKey(), types.RoleInvestigator))
	c.AddPerson(inv2)
	delegate := func(account string, tasks ...types.Task) types.Msg {
		return apptest.DelegateSiteMsg(study, "site1", account, tasks...)
	}
	vs := apptest.FormKey("S1-002", "SCR", 1, "VS")
	resolving := apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "72"))
	resolving.CorrectForm.Resolves = []int{1}
	runSteps(t, c, []step{
		{name: "undelegated coordinator enrolls", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeNotDelegated,
			logHas: []string{"ask the principal investigator Dr. Demo Investigator (site1-investigator) to delegate enrolment on VT-HTN-201 to you"}},
		{name: "the principal investigator enrolls", signer: "site1-investigator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeOK},
		{name: "delegated by a coordinator", signer: "site1-coordinator", msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeUnauthorized, atCheck: true},
		{name: "delegated by another investigator", signer: inv2.ID, msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeNotPI, logHas: []string{"site1-investigator"}},
		{name: "delegated for another site", signer: "site2-investigator", msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeWrongSite},
		{name: "at a site not active", signer: "site2-investigator", msg: apptest.DelegateSiteMsg(study, "site2", "site2-coordinator", types.TaskEnroll), want: types.CodeSiteNotActive},
		{name: "to a person of another site", signer: "site1-investigator", msg: delegate("site2-coordinator", types.TaskEnroll), want: types.CodeWrongOrg},
		{name: "to an unknown account", signer: "site1-investigator", msg: delegate("nobody", types.TaskEnroll), want: types.CodeUnknownAccount},
		{name: "to the principal investigator", signer: "site1-investigator", msg: delegate("site1-investigator", types.TaskEnroll), want: types.CodeNoChange},
		{name: "e-signature to a coordinator", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskSign), want: types.CodeInvalidRole},
		{name: "a CRO's task", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskMonitoring), want: types.CodeInvalidMsg, atCheck: true},
		{name: "no tasks", signer: "site1-investigator", msg: delegate("site1-coordinator"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "enrolment", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeOK},
		{name: "the coordinator enrolls", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-002", "site1"), want: types.CodeOK},
		{name: "data entry not delegated", signer: "site1-coordinator", msg: apptest.SubmitMsg(vs, apptest.VS(128, 84)), want: types.CodeNotDelegated, logHas: []string{"data entry"}},
		{name: "the same tasks again", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeNoChange},
		{name: "add data entry", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskEntry, types.TaskEnroll, types.TaskEntry), want: types.CodeOK},
		{name: "the coordinator enters data", signer: "site1-coordinator", msg: apptest.SubmitMsg(vs, apptest.VS(128, 84)), want: types.CodeOK},
		{name: "the coordinator corrects data", signer: "site1-coordinator", msg: apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "70")), want: types.CodeOK},
		{name: "the sponsor raises a query", signer: "sponsor-dm", msg: apptest.OpenQueryMsg(vs, "VS.HR", "source shows 72"), want: types.CodeOK},
		{name: "query answers not delegated", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 1, "checked"), want: types.CodeNotDelegated, logHas: []string{"query answers"}},
		{name: "nor by a correction naming the query", signer: "site1-coordinator", msg: resolving, want: types.CodeNotDelegated, logHas: []string{"query answers"}},
		{name: "a correction naming no query", signer: "site1-coordinator", msg: apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "72")), want: types.CodeOK},
	})
	sign := c.SignMsg("S1-002", "", 0, "", "approval")
	runSteps(t, c, []step{
		{name: "e-signature not delegated", signer: inv2.ID, msg: sign, want: types.CodeNotDelegated, logHas: []string{"e-signature"}},
		{name: "e-signature to an investigator", signer: "site1-investigator", msg: delegate(inv2.ID, types.TaskSign), want: types.CodeOK},
		{name: "the investigator signs", signer: inv2.ID, msg: sign, want: types.CodeOK},
		{name: "revoke without a reason", signer: "site1-investigator", msg: apptest.UndelegateSiteMsg(study, "site1", "site1-coordinator", ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "revoke", signer: "site1-investigator", msg: apptest.UndelegateSiteMsg(study, "site1", "site1-coordinator", "left the study team"), want: types.CodeOK},
		{name: "revoke again", signer: "site1-investigator", msg: apptest.UndelegateSiteMsg(study, "site1", "site1-coordinator", "again"), want: types.CodeNoDelegation},
		{name: "the coordinator after the revocation", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-003", "site1"), want: types.CodeNotDelegated},
	})
	var d types.Delegation
	get(t, c, types.KeySiteDelegation(study, "site1", "site1-coordinator"), &d)
	if d.Status != types.DelegationRevoked || d.Org != "site1" || d.Account != "site1-coordinator" || d.Name != "Demo Study Coordinator" ||
		!slices.Equal(history(d), []string{"delegate:enroll", "change:enroll+entry", "revoke:"}) || d.History[2].Stamp.Signer != "site1-investigator" {
		t.Errorf("delegation %+v (history %v)", d, history(d))
	}

	change := func(pi, reason string) types.Msg { return apptest.ChangeInvestigatorMsg(study, "site1", pi, reason) }
	runSteps(t, c, []step{
		{name: "a site names its principal investigator", signer: "site1-admin", msg: change(inv2.ID, "x"), want: types.CodeUnauthorized, atCheck: true},
		{name: "without a reason", signer: "sponsor-dm", msg: change(inv2.ID, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "a coordinator", signer: "sponsor-dm", msg: change("site1-coordinator", "x"), want: types.CodeInvalidRole},
		{name: "the same", signer: "sponsor-dm", msg: change("site1-investigator", "x"), want: types.CodeNoChange},
		{name: "at a site not active", signer: "sponsor-dm", msg: apptest.ChangeInvestigatorMsg(study, "site2", "site2-investigator", "x"), want: types.CodeSiteNotActive},
		{name: "another principal investigator", signer: "sponsor-dm", msg: change(inv2.ID, "Dr. Demo Investigator moved to another hospital"), want: types.CodeOK},
		{name: "the former delegates", signer: "site1-investigator", msg: delegate("site1-coordinator", types.TaskEnroll), want: types.CodeNotPI},
		{name: "the former enrolls", signer: "site1-investigator", msg: apptest.EnrollMsg("S1-003", "site1"), want: types.CodeNotDelegated, logHas: []string{"Dr. Second Investigator (site1-inv2)"}},
		{name: "the new one delegates to the former", signer: inv2.ID, msg: delegate("site1-investigator", types.TaskEnroll), want: types.CodeOK},
		{name: "the former enrolls when delegated", signer: "site1-investigator", msg: apptest.EnrollMsg("S1-003", "site1"), want: types.CodeOK},
	})
	var st types.Site
	get(t, c, types.KeySite(study, "site1"), &st)
	if st.PrincipalInvestigator != inv2.ID || len(st.History) != 2 || st.History[1].Action != "change_principal_investigator" ||
		st.History[1].PrincipalInvestigator != inv2.ID || st.History[1].Reason == "" || st.History[1].Stamp.Signer != "sponsor-dm" {
		t.Errorf("site %+v", st)
	}
}
