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

// ActivateMsg activates site for study.
func ActivateMsg(study, site string) types.Msg {
	return types.Msg{ActivateSite: &types.MsgActivateSite{Study: study, Site: site}}
}

// EnrollMsg enrolls subject at site in the example study.
func EnrollMsg(subject, site string) types.Msg {
	return types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: StudyID, Subject: subject, Site: site, ConsentVersion: "1.0", ConsentSHA256: ConsentSHA256}}
}

// WithdrawMsg withdraws subject from the example study.
func WithdrawMsg(subject, reason string) types.Msg {
	return types.Msg{WithdrawSubject: &types.MsgWithdrawSubject{Study: StudyID, Subject: subject, Reason: reason}}
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
