package types

import (
	"crypto/ed25519"
	"strings"
)

// Who may act on a study, beyond their organisation's kind and their
// roles: a sponsor delegates a study's work to a CRO, a site's principal
// investigator delegates study tasks to named staff (the site's
// delegation log), and an administrator's rotation of another person's key
// waits for a second person. docs/CONSORTIUM.md describes the rules.

// Task is a piece of a study's work that is delegated.
type Task string

// Tasks a sponsor delegates to a CRO on a study.
const (
	// TaskMonitoring: source data verification and data queries (raise,
	// close, reopen, cancel).
	TaskMonitoring Task = "monitoring"
	// TaskDataManagement: data queries, freeze and unfreeze, site,
	// subject and form locks, and the database lock approval when the
	// study's lock policy names the CRO.
	TaskDataManagement Task = "data_management"
)

// Tasks a site's principal investigator delegates to the site's staff on
// a study; the principal investigator holds all of them.
const (
	// TaskEnroll: enrol, re-consent and withdraw subjects.
	TaskEnroll Task = "enroll"
	// TaskEntry: enter and correct case report form data.
	TaskEntry Task = "entry"
	// TaskAnswer: answer data queries.
	TaskAnswer Task = "answer"
	// TaskSign: sign case report forms electronically (investigators only).
	TaskSign Task = "sign"
)

// StudyTasks and SiteTasks are the two task vocabularies, in the order
// records list them.
var (
	StudyTasks = []Task{TaskMonitoring, TaskDataManagement}
	SiteTasks  = []Task{TaskEnroll, TaskEntry, TaskAnswer, TaskSign}
)

// Describe names a task for people: "data entry".
func (t Task) Describe() string {
	switch t {
	case TaskMonitoring:
		return "monitoring (SDV and data queries)"
	case TaskDataManagement:
		return "data management (data queries, freeze and lock)"
	case TaskEnroll:
		return "enrolment"
	case TaskEntry:
		return "data entry"
	case TaskAnswer:
		return "query answers"
	case TaskSign:
		return "e-signature"
	}
	return string(t)
}

// NormalizeTasks checks tasks against a vocabulary and returns them in the
// vocabulary's order, each once.
func NormalizeTasks(vocab, tasks []Task) ([]Task, *Error) {
	want := map[Task]bool{}
	for _, t := range tasks {
		known := false
		for _, v := range vocab {
			known = known || v == t
		}
		if !known {
			return nil, Errf(CodeInvalidMsg, "task %q is not known here; use %s", t, TaskList(vocab))
		}
		want[t] = true
	}
	out := []Task{}
	for _, v := range vocab {
		if want[v] {
			out = append(out, v)
		}
	}
	return out, nil
}

// TaskList joins tasks with commas.
func TaskList(tasks []Task) string {
	s := make([]string, len(tasks))
	for i, t := range tasks {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ---- records ----

// DelegationStatus is whether a delegation is in force.
type DelegationStatus string

// Delegation statuses.
const (
	DelegationActive  DelegationStatus = "active"
	DelegationRevoked DelegationStatus = "revoked"
)

// Delegation is the delegation of a study's tasks to a CRO (Account
// empty) or to one person of a site: the tasks in force and every change,
// kept for good (a revocation is one more change).
type Delegation struct {
	Study string `json:"study"`
	// Org is the CRO, or the site of a site delegation.
	Org string `json:"org"`
	// Account and Name are the delegated person of a site delegation.
	Account string           `json:"account,omitempty"`
	Name    string           `json:"name,omitempty"`
	Status  DelegationStatus `json:"status"`
	// Tasks are the tasks in force, none once revoked.
	Tasks   []Task             `json:"tasks"`
	History []DelegationChange `json:"history"`
}

// DelegationChange is one change of a delegation: delegate (from none or
// revoked), change (other tasks) or revoke.
type DelegationChange struct {
	Action string `json:"action"`
	Tasks  []Task `json:"tasks"` // the tasks after the change
	Reason string `json:"reason,omitempty"`
	Stamp  Stamp  `json:"stamp"`
}

// Holds reports whether the delegation is in force with one of tasks.
func (d *Delegation) Holds(tasks ...Task) bool {
	if d.Status != DelegationActive {
		return false
	}
	for _, have := range d.Tasks {
		for _, t := range tasks {
			if have == t {
				return true
			}
		}
	}
	return false
}

// SiteChange is one step of a site's history on a study: its activation
// with its principal investigator, then each change of principal
// investigator.
type SiteChange struct {
	Action                string `json:"action"` // activate, change_principal_investigator
	PrincipalInvestigator string `json:"principal_investigator"`
	Reason                string `json:"reason,omitempty"`
	Stamp                 Stamp  `json:"stamp"`
}

// KeyRotationStatus is the state of a request to rotate another person's
// key.
type KeyRotationStatus string

// Key rotation request states. Expired is never stored: a pending request
// past its last height is expired (see KeyRotation.StatusAt).
const (
	RotationPending  KeyRotationStatus = "pending"
	RotationApproved KeyRotationStatus = "approved"
	// RotationVoid: the key changed otherwise (the person rotated it), the
	// account was revoked, or a newer request replaced it.
	RotationVoid    KeyRotationStatus = "void"
	RotationExpired KeyRotationStatus = "expired"
)

// KeyRotation is an administrator's request to rotate another person's
// key, applied when a second person approves it (another administrator
// of the organisation, or the person with their current key) within
// Params.KeyRotationTTL blocks.
type KeyRotation struct {
	Account   string            `json:"account"`
	OldPubKey []byte            `json:"old_pubkey"`
	NewPubKey []byte            `json:"new_pubkey"`
	Status    KeyRotationStatus `json:"status"`
	Requested Stamp             `json:"requested"`
	// Expires is the last height at which it can be approved.
	Expires int64 `json:"expires"`
	// Decided is the stamp of the approval, or of what made it void.
	Decided *Stamp `json:"decided,omitempty"`
}

// StatusAt is the request's status as seen at height h.
func (k *KeyRotation) StatusAt(h int64) KeyRotationStatus {
	if k.Status == RotationPending && h > k.Expires {
		return RotationExpired
	}
	return k.Status
}

// ---- messages ----

// MsgStudyDelegation delegates tasks of a study to a CRO (delegate_study;
// Tasks replace those in force) or revokes the delegation
// (undelegate_study; Reason required, Tasks empty).
type MsgStudyDelegation struct {
	Study  string `json:"study"`
	Org    string `json:"org"`
	Tasks  []Task `json:"tasks,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// MsgSiteDelegation is a principal investigator's delegation of study
// tasks at the site to a person of the site (delegate_site; Tasks replace
// those in force), or its revocation (undelegate_site; Reason required,
// Tasks empty).
type MsgSiteDelegation struct {
	Study   string `json:"study"`
	Site    string `json:"site"`
	Account string `json:"account"`
	Tasks   []Task `json:"tasks,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// MsgChangeInvestigator names another principal investigator of a site
// for a study; Reason is required.
type MsgChangeInvestigator struct {
	Study                 string `json:"study"`
	Site                  string `json:"site"`
	PrincipalInvestigator string `json:"principal_investigator"`
	Reason                string `json:"reason"`
}

// MsgApproveKeyRotation approves the pending request to rotate an
// account's key to NewPubKey (named, so that the approver approves the
// key it saw).
type MsgApproveKeyRotation struct {
	Account   string `json:"account"`
	NewPubKey []byte `json:"new_pubkey"`
}

// validateDelegation runs the stateless checks of the delegation and key
// rotation approval messages; ok is false for any other message.
func validateDelegation(kind Kind, msg any) (ok bool, e *Error) {
	switch m := msg.(type) {
	case *MsgStudyDelegation:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckID("organisation", m.Org); e != nil {
			return true, e
		}
		return true, checkDelegation(kind == KindDelegateStudy, StudyTasks, m.Tasks, m.Reason)
	case *MsgSiteDelegation:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckID("site", m.Site); e != nil {
			return true, e
		}
		if e := CheckID("account", m.Account); e != nil {
			return true, e
		}
		return true, checkDelegation(kind == KindDelegateSite, SiteTasks, m.Tasks, m.Reason)
	case *MsgChangeInvestigator:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckID("site", m.Site); e != nil {
			return true, e
		}
		if e := CheckID("principal investigator", m.PrincipalInvestigator); e != nil {
			return true, e
		}
		return true, checkText("reason", m.Reason, true)
	case *MsgApproveKeyRotation:
		if e := CheckID("account", m.Account); e != nil {
			return true, e
		}
		if len(m.NewPubKey) != ed25519.PublicKeySize {
			return true, Errf(CodeInvalidMsg, "new public key must be a %d-byte ed25519 key", ed25519.PublicKeySize)
		}
		return true, nil
	}
	return false, nil
}

// checkDelegation checks a delegation's tasks (at least one, each known)
// or a revocation's reason (required, and no tasks).
func checkDelegation(delegate bool, vocab, tasks []Task, reason string) *Error {
	if !delegate {
		if len(tasks) > 0 {
			return Errf(CodeInvalidMsg, "a revocation ends the whole delegation and names no tasks; to keep some, delegate those instead")
		}
		return checkText("reason", reason, true)
	}
	if len(tasks) == 0 {
		return Errf(CodeInvalidMsg, "name the tasks to delegate: %s", TaskList(vocab))
	}
	if len(tasks) > len(vocab) {
		return Errf(CodeInvalidMsg, "%d tasks named; there are only %d (%s)", len(tasks), len(vocab), TaskList(vocab))
	}
	if _, e := NormalizeTasks(vocab, tasks); e != nil {
		return e
	}
	return checkText("reason", reason, false)
}
