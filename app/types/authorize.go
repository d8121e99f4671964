package types

import "strings"

// The authorization table: which organisation kinds and roles may send
// each message kind, and the role a signer acts under. The ledger applies
// it to every tx (CheckTx and FinalizeBlock); clients use it to say who
// may do what, and the audit trail to name the role of an act. Checks that
// depend on the ledger's state (own site, study approvers, delegations)
// are the state machine's.

// rule says which organisation kinds and roles may send a message kind.
type rule struct {
	orgs  []OrgKind
	roles []Role
	what  string // for messages: "register a study"
}

var rules = map[Kind]rule{
	KindRegisterStudy:    {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "register a study"},
	KindProposeAmendment: {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "propose a protocol amendment"},
	KindApproveAmendment: {[]OrgKind{OrgRegulator, OrgEthics, OrgSponsor, OrgCRO, OrgSite}, []Role{RoleAuditor, RoleAdmin}, "approve an amendment"},
	KindRejectAmendment:  {[]OrgKind{OrgRegulator, OrgEthics, OrgSponsor, OrgCRO, OrgSite}, []Role{RoleAuditor, RoleAdmin}, "reject an amendment"},
	KindActivateSite:     {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "activate a site"},
	KindEnrollSubject:    {[]OrgKind{OrgSite}, []Role{RoleInvestigator, RoleCoordinator}, "enroll a subject"},
	KindWithdrawSubject:  {[]OrgKind{OrgSite}, []Role{RoleInvestigator, RoleCoordinator}, "withdraw a subject"},
	KindSubmitForm:       {[]OrgKind{OrgSite}, []Role{RoleCoordinator, RoleInvestigator}, "enter case report form data"},
	KindCorrectForm:      {[]OrgKind{OrgSite}, []Role{RoleCoordinator, RoleInvestigator}, "correct case report form data"},
	KindAddAccount:       {nil, []Role{RoleAdmin}, "add an account"},
	KindSetRoles:         {nil, []Role{RoleAdmin}, "change roles"},
	KindRotateKey:        {nil, []Role{RoleAdmin}, "rotate another person's key"},
	KindRevokeAccount:    {nil, []Role{RoleAdmin}, "revoke an account"},
	KindQueryOpen:        {dmOrgs, dmRoles, "raise a data query"},
	KindQueryAnswer:      {[]OrgKind{OrgSite}, []Role{RoleInvestigator, RoleCoordinator}, "answer a data query"},
	KindQueryClose:       {dmOrgs, dmRoles, "close a data query"},
	KindQueryReopen:      {dmOrgs, dmRoles, "reopen a data query"},
	KindQueryCancel:      {dmOrgs, dmRoles, "cancel a data query"},
	KindVerify:           {dmOrgs, []Role{RoleMonitor, RoleMedicalMonitor}, "verify data against source (SDV)"},
	KindSign:             {[]OrgKind{OrgSite}, []Role{RoleInvestigator}, "sign case report forms electronically"},
	KindFreeze:           {dmOrgs, []Role{RoleDataManager}, "freeze data"},
	KindUnfreeze:         {dmOrgs, []Role{RoleDataManager}, "unfreeze data"},
	KindLock:             {[]OrgKind{OrgSponsor, OrgCRO, OrgRegulator}, []Role{RoleDataManager, RoleAuditor}, "lock data"},
	KindUnlock:           {[]OrgKind{OrgSponsor, OrgCRO, OrgRegulator}, []Role{RoleDataManager, RoleAuditor}, "unlock data"},
	KindProposeChange:    {nil, []Role{RoleAdmin}, "propose a consortium change"},
	KindVoteChange:       {nil, []Role{RoleAdmin}, "vote on a consortium change"},

	KindDelegateStudy:      {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "delegate a study to a CRO"},
	KindUndelegateStudy:    {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "revoke a CRO's delegation"},
	KindChangeInvestigator: {[]OrgKind{OrgSponsor}, []Role{RoleDataManager, RoleAdmin}, "name a site's principal investigator"},
	KindDelegateSite:       {[]OrgKind{OrgSite}, []Role{RoleInvestigator}, "delegate study tasks (only the principal investigator does)"},
	KindUndelegateSite:     {[]OrgKind{OrgSite}, []Role{RoleInvestigator}, "revoke a delegation of study tasks (only the principal investigator does)"},
	KindApproveKeyRotation: {nil, []Role{RoleAdmin}, "approve the rotation of another person's key"},

	KindCommitAccessHead: {nil, []Role{RoleNode}, "commit a node's access log head (the node's own account does)"},

	KindSetLabRanges:   {[]OrgKind{OrgSponsor}, []Role{RoleDataManager}, "register reference ranges for lab items"},
	KindAssessLabValue: {[]OrgKind{OrgSite}, []Role{RoleInvestigator}, "assess the clinical significance of a lab value outside its reference range"},

	KindReconsent:           {[]OrgKind{OrgSite}, []Role{RoleInvestigator, RoleCoordinator}, "record a subject's re-consent"},
	KindAcknowledgeSAE:      {dmOrgs, []Role{RoleMedicalMonitor}, "acknowledge a serious adverse event"},
	KindRegisterAllocations: {[]OrgKind{OrgSponsor}, []Role{RoleStatistician}, "register a sealed allocation list (the unblinded statistician does)"},
	KindRandomize:           {[]OrgKind{OrgSite}, []Role{RoleInvestigator, RoleCoordinator}, "randomise a subject"},
	KindUnblind:             {[]OrgKind{OrgSite}, []Role{RoleInvestigator}, "unblind a subject in an emergency"},
	KindPublishAllocations:  {[]OrgKind{OrgSponsor}, []Role{RoleStatistician}, "publish allocations from the sealed list (the unblinded statistician does)"},
}

// Data management is the sponsor's and the CRO's: data managers, medical
// monitors and monitors.
var (
	dmOrgs  = []OrgKind{OrgSponsor, OrgCRO}
	dmRoles = []Role{RoleDataManager, RoleMedicalMonitor, RoleMonitor}
)

// Authorize checks that the signer's organisation kind and roles allow the
// message kind, and returns the role the signer acts under. Checks that
// depend on the target (own site, own organisation, study approvers) are
// the handlers'.
func Authorize(kind Kind, msg any, acct *Account, org *Org) (Role, *Error) {
	if acct.HasRole(RoleNode) && kind != KindCommitAccessHead {
		// Its key lies unencrypted in the node's home: it does nothing else.
		return "", Errf(CodeUnauthorized, "%s is a node account: it only commits its node's access log head", acct.ID)
	}
	switch m := msg.(type) {
	case *MsgRotateKey:
		if m.Account == acct.ID {
			return acct.Roles[0], nil // anyone may rotate their own key
		}
	case *MsgApproveKeyRotation:
		if m.Account == acct.ID {
			return acct.Roles[0], nil // or approve its rotation with the current key
		}
	}
	r, ok := rules[kind]
	if !ok {
		return "", Errf(CodeTxMalformed, "unknown message kind %q", kind)
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
			return "", Errf(CodeUnauthorized, "%s belongs to %s, a %s organisation; only %s organisations may %s", acct.ID, org.ID, org.Kind, strings.Join(names, " or "), r.what)
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
	return "", Errf(CodeUnauthorized, "%s (roles %s) may not %s; that needs the role %s", acct.ID, JoinRoles(acct.Roles), r.what, strings.Join(names, " or "))
}

// ActingRole returns the role account acct of organisation org acts under
// when it sends msg, a message of kind, as Authorize decides it: the role
// the ledger stamps on the records the message writes. ok is false when
// acct may not send it.
func ActingRole(kind Kind, msg any, acct *Account, org *Org) (role Role, ok bool) {
	r, e := Authorize(kind, msg, acct, org)
	return r, e == nil
}

// JoinRoles lists roles for a message: "coordinator, investigator".
func JoinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
