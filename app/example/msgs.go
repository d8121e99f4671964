package example

import (
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// RegisterMsg registers p with its own fingerprint and the given approvers
// (none: every regulator).
func RegisterMsg(p *protocol.Protocol, approvers ...string) types.Msg {
	return types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: *p, Fingerprint: Fingerprint(p), Approvers: approvers}}
}

// AmendMsg proposes p as the next version of its study.
func AmendMsg(p *protocol.Protocol, rationale string) types.Msg {
	return types.Msg{ProposeAmendment: &types.MsgProposeAmendment{Study: p.Study.ID, Protocol: *p, Fingerprint: Fingerprint(p), Rationale: rationale}}
}

// ApproveMsg approves amendment n of study.
func ApproveMsg(study string, n int) types.Msg {
	return types.Msg{ApproveAmendment: &types.MsgVoteAmendment{Study: study, Amendment: n}}
}

// RejectMsg rejects amendment n of study with a comment.
func RejectMsg(study string, n int, comment string) types.Msg {
	return types.Msg{RejectAmendment: &types.MsgVoteAmendment{Study: study, Amendment: n, Comment: comment}}
}

// ActivateMsg activates site for study with its principal investigator.
func ActivateMsg(study, site, pi string) types.Msg {
	return types.Msg{ActivateSite: &types.MsgActivateSite{Study: study, Site: site, PrincipalInvestigator: pi}}
}

// ChangeInvestigatorMsg names pi the principal investigator of site.
func ChangeInvestigatorMsg(study, site, pi, reason string) types.Msg {
	return types.Msg{ChangeInvestigator: &types.MsgChangeInvestigator{Study: study, Site: site, PrincipalInvestigator: pi, Reason: reason}}
}

// CoordinatorTasks are the site tasks a study coordinator is delegated:
// enrolment, data entry and query answers.
var CoordinatorTasks = []types.Task{types.TaskEnroll, types.TaskEntry, types.TaskAnswer}

// CROTasks are the tasks a sponsor delegates to a CRO that monitors and
// manages a study's data.
var CROTasks = []types.Task{types.TaskMonitoring, types.TaskDataManagement}

// DelegateStudyMsg delegates tasks of study to the CRO org.
func DelegateStudyMsg(study, org string, tasks ...types.Task) types.Msg {
	return types.Msg{DelegateStudy: &types.MsgStudyDelegation{Study: study, Org: org, Tasks: tasks}}
}

// UndelegateStudyMsg revokes the CRO org's delegation on study.
func UndelegateStudyMsg(study, org, reason string) types.Msg {
	return types.Msg{UndelegateStudy: &types.MsgStudyDelegation{Study: study, Org: org, Reason: reason}}
}

// DelegateSiteMsg delegates tasks of study at site to account.
func DelegateSiteMsg(study, site, account string, tasks ...types.Task) types.Msg {
	return types.Msg{DelegateSite: &types.MsgSiteDelegation{Study: study, Site: site, Account: account, Tasks: tasks}}
}

// UndelegateSiteMsg revokes account's delegation on study at site.
func UndelegateSiteMsg(study, site, account, reason string) types.Msg {
	return types.Msg{UndelegateSite: &types.MsgSiteDelegation{Study: study, Site: site, Account: account, Reason: reason}}
}

// EnrollMsg enrolls subject at site in the example study.
func EnrollMsg(subject, site string) types.Msg {
	return types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: StudyID, Subject: subject, Site: site, ConsentVersion: "1.0", ConsentSHA256: ConsentSHA256}}
}

// WithdrawMsg withdraws subject's consent to further data collection in
// the example study (a withdrawal of kind consent).
func WithdrawMsg(subject, reason string) types.Msg {
	return types.Msg{WithdrawSubject: &types.MsgWithdrawSubject{Study: StudyID, Subject: subject, Reason: reason, Kind: types.WithdrawConsent}}
}

// SubmitMsg submits values for the form at k.
func SubmitMsg(k types.FormKey, values []protocol.ItemValue) types.Msg {
	return types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: values}}
}

// CorrectMsg corrects the form at k.
func CorrectMsg(k types.FormKey, reason string, changes ...protocol.ItemValue) types.Msg {
	return types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: changes, Reason: reason}}
}

// OpenQueryMsg raises a data query on item (empty: the whole form) of the
// form at k.
func OpenQueryMsg(k types.FormKey, item, text string) types.Msg {
	return types.Msg{QueryOpen: &types.MsgOpenQuery{FormKey: k, Item: item, Text: text}}
}

// QueryMsg builds a data query action (query_answer, query_close,
// query_reopen, query_cancel) on query n of the example study; it panics
// if kind is not one.
func QueryMsg(kind types.Kind, n int, text string) types.Msg {
	a := &types.MsgQueryAction{Study: StudyID, Number: n, Text: text}
	if m, ok := types.QueryActionMsg(kind, a); ok {
		return m
	}
	panic("example: not a query action: " + string(kind))
}

// VerifyMsg marks item (empty: the form; form empty too: the event) of a
// subject of the example study as verified against source.
func VerifyMsg(subject, event string, repeat int, form, item string) types.Msg {
	return types.Msg{Verify: &types.MsgVerify{Study: StudyID, Subject: subject, Event: event, EventRepeat: repeat, Form: form, Item: item}}
}

// ScopeMsg builds a freeze, unfreeze, lock or unlock of sc; it panics if
// kind is not one.
func ScopeMsg(kind types.Kind, sc types.Scope, reason string) types.Msg {
	if m, ok := types.ScopeActionMsg(kind, &types.MsgScope{Scope: sc, Reason: reason}); ok {
		return m
	}
	panic("example: not a scope action: " + string(kind))
}
