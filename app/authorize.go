package app

import (
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// rule says which organisation kinds and roles may send a message kind.
type rule struct {
	orgs  []types.OrgKind
	roles []types.Role
	what  string // for messages: "register a study"
}

var rules = map[types.Kind]rule{
	types.KindRegisterStudy:    {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "register a study"},
	types.KindProposeAmendment: {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "propose a protocol amendment"},
	types.KindApproveAmendment: {[]types.OrgKind{types.OrgRegulator, types.OrgEthics, types.OrgSponsor, types.OrgCRO, types.OrgSite}, []types.Role{types.RoleAuditor, types.RoleAdmin}, "approve an amendment"},
	types.KindRejectAmendment:  {[]types.OrgKind{types.OrgRegulator, types.OrgEthics, types.OrgSponsor, types.OrgCRO, types.OrgSite}, []types.Role{types.RoleAuditor, types.RoleAdmin}, "reject an amendment"},
	types.KindActivateSite:     {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "activate a site"},
	types.KindEnrollSubject:    {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator, types.RoleCoordinator}, "enroll a subject"},
	types.KindWithdrawSubject:  {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator, types.RoleCoordinator}, "withdraw a subject"},
	types.KindSubmitForm:       {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleCoordinator, types.RoleInvestigator}, "enter case report form data"},
	types.KindCorrectForm:      {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleCoordinator, types.RoleInvestigator}, "correct case report form data"},
	types.KindAddAccount:       {nil, []types.Role{types.RoleAdmin}, "add an account"},
	types.KindSetRoles:         {nil, []types.Role{types.RoleAdmin}, "change roles"},
	types.KindRotateKey:        {nil, []types.Role{types.RoleAdmin}, "rotate another person's key"},
	types.KindRevokeAccount:    {nil, []types.Role{types.RoleAdmin}, "revoke an account"},
	types.KindQueryOpen:        {dmOrgs, dmRoles, "raise a data query"},
	types.KindQueryAnswer:      {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator, types.RoleCoordinator}, "answer a data query"},
	types.KindQueryClose:       {dmOrgs, dmRoles, "close a data query"},
	types.KindQueryReopen:      {dmOrgs, dmRoles, "reopen a data query"},
	types.KindQueryCancel:      {dmOrgs, dmRoles, "cancel a data query"},
	types.KindVerify:           {dmOrgs, []types.Role{types.RoleMonitor, types.RoleMedicalMonitor}, "verify data against source (SDV)"},
	types.KindSign:             {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator}, "sign case report forms electronically"},
	types.KindFreeze:           {dmOrgs, []types.Role{types.RoleDataManager}, "freeze data"},
	types.KindUnfreeze:         {dmOrgs, []types.Role{types.RoleDataManager}, "unfreeze data"},
	types.KindLock:             {[]types.OrgKind{types.OrgSponsor, types.OrgCRO, types.OrgRegulator}, []types.Role{types.RoleDataManager, types.RoleAuditor}, "lock data"},
	types.KindUnlock:           {[]types.OrgKind{types.OrgSponsor, types.OrgCRO, types.OrgRegulator}, []types.Role{types.RoleDataManager, types.RoleAuditor}, "unlock data"},
	types.KindProposeChange:    {nil, []types.Role{types.RoleAdmin}, "propose a consortium change"},
	types.KindVoteChange:       {nil, []types.Role{types.RoleAdmin}, "vote on a consortium change"},

	types.KindDelegateStudy:      {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "delegate a study to a CRO"},
	types.KindUndelegateStudy:    {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "revoke a CRO's delegation"},
	types.KindChangeInvestigator: {[]types.OrgKind{types.OrgSponsor}, []types.Role{types.RoleDataManager, types.RoleAdmin}, "name a site's principal investigator"},
	types.KindDelegateSite:       {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator}, "delegate study tasks (only the principal investigator does)"},
	types.KindUndelegateSite:     {[]types.OrgKind{types.OrgSite}, []types.Role{types.RoleInvestigator}, "revoke a delegation of study tasks (only the principal investigator does)"},
	types.KindApproveKeyRotation: {nil, []types.Role{types.RoleAdmin}, "approve the rotation of another person's key"},
}

// Data management is the sponsor's and the CRO's: data managers, medical
// monitors and monitors.
var (
	dmOrgs  = []types.OrgKind{types.OrgSponsor, types.OrgCRO}
	dmRoles = []types.Role{types.RoleDataManager, types.RoleMedicalMonitor, types.RoleMonitor}
)

// authorize checks that the signer's organisation kind and roles allow the
// message kind, and returns the role the signer acts under. Checks that
// depend on the target (own site, own organisation, study approvers) are
// the handlers'.
func authorize(kind types.Kind, msg any, acct *types.Account, org *types.Org) (types.Role, *types.Error) {
	switch m := msg.(type) {
	case *types.MsgRotateKey:
		if m.Account == acct.ID {
			return acct.Roles[0], nil // anyone may rotate their own key
		}
	case *types.MsgApproveKeyRotation:
		if m.Account == acct.ID {
			return acct.Roles[0], nil // or approve its rotation with the current key
		}
	}
	r, ok := rules[kind]
	if !ok {
		return "", types.Errf(types.CodeTxMalformed, "unknown message kind %q", kind)
	}
	if r.orgs != nil {
		okOrg := false
		for _, k := range r.orgs {
			if k == org.Kind {
				okOrg = true
			}
		}
		if !okOrg {
			names := make([]string, len(r.orgs))
			for i, k := range r.orgs {
				names[i] = string(k)
			}
			return "", types.Errf(types.CodeUnauthorized, "%s belongs to %s, a %s organisation; only %s organisations may %s", acct.ID, org.ID, org.Kind, strings.Join(names, " or "), r.what)
		}
	}
	for _, want := range r.roles {
		if acct.HasRole(want) {
			return want, nil
		}
	}
	names := make([]string, len(r.roles))
	for i, x := range r.roles {
		names[i] = string(x)
	}
	return "", types.Errf(types.CodeUnauthorized, "%s (roles %s) may not %s; that needs the role %s", acct.ID, joinRoles(acct.Roles), r.what, strings.Join(names, " or "))
}

// ActingRole returns the role account acct of organisation org acts under
// when it sends msg, a message of kind, as authorize decides it: the role
// the ledger stamps on the records the message writes. ok is false when
// acct may not send it.
func ActingRole(kind types.Kind, msg any, acct *types.Account, org *types.Org) (role types.Role, ok bool) {
	r, e := authorize(kind, msg, acct, org)
	return r, e == nil
}

func joinRoles(rs []types.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// sponsorSide checks that a sponsor-side signer works for the study's
// sponsor, or for a CRO the sponsor delegated one of tasks on the study.
func (x *exec) sponsorSide(s *types.Study, what string, tasks ...types.Task) *types.Error {
	switch x.c.org.Kind {
	case types.OrgSponsor:
		if x.c.org.ID != s.Sponsor {
			return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; %s (%s) cannot %s in it", s.ID, s.Sponsor, x.c.signer.ID, x.c.org.ID, what)
		}
	case types.OrgCRO:
		return x.croTask(s, what, tasks...)
	}
	return nil
}
