package types

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/protocol"
)

// Data management: data queries, source data verification, electronic
// signatures, freeze and lock.

// ---- messages ----

// MsgOpenQuery raises a data query on a form, or on one item of it, of a
// subject's casebook; with Missing, on a form the schedule expects that
// has not been entered (an overdue or absent visit is queried through the
// form that carries its date).
type MsgOpenQuery struct {
	FormKey
	Item       string `json:"item,omitempty"`        // empty: the whole form
	ItemRepeat int    `json:"item_repeat,omitempty"` // row of a repeating group
	Text       string `json:"text"`
	Missing    bool   `json:"missing,omitempty"`
}

// MsgQueryAction answers, closes, reopens or cancels query Number of a
// study. Text is required to answer and reopen.
type MsgQueryAction struct {
	Study  string `json:"study"`
	Number int    `json:"number"`
	Text   string `json:"text,omitempty"`
}

// MsgVerify marks data as verified against source (SDV): one item of a
// form (Item set), a form (Form set), or every entered form of an event
// instance (Form empty).
type MsgVerify struct {
	Study       string `json:"study"`
	Subject     string `json:"subject"`
	Event       string `json:"event"`
	EventRepeat int    `json:"event_repeat"`
	Form        string `json:"form,omitempty"`
	Item        string `json:"item,omitempty"`
	ItemRepeat  int    `json:"item_repeat,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// MsgSign is an investigator's electronic signature of a form (Form set),
// an event instance (Event set, Form empty) or a subject's whole casebook
// (Event empty). ContentHash is the SHA-256 of the signed content as the
// signer's client computed it (ContentHash of SignedContent); the ledger
// recomputes it and refuses a mismatch.
type MsgSign struct {
	Study       string `json:"study"`
	Subject     string `json:"subject"`
	Event       string `json:"event,omitempty"`
	EventRepeat int    `json:"event_repeat,omitempty"`
	Form        string `json:"form,omitempty"`
	Meaning     string `json:"meaning"`
	ContentHash string `json:"content_hash"`
}

// Scope names what a freeze or lock applies to: a whole study (only Study
// set), a site (Site), a subject (Subject) or one form (Subject, Event,
// EventRepeat, Form).
type Scope struct {
	Study       string `json:"study"`
	Site        string `json:"site,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Event       string `json:"event,omitempty"`
	EventRepeat int    `json:"event_repeat,omitempty"`
	Form        string `json:"form,omitempty"`
}

// Scope levels.
const (
	ScopeStudy   = "study"
	ScopeSite    = "site"
	ScopeSubject = "subject"
	ScopeForm    = "form"
)

// Level returns the scope's level.
func (s Scope) Level() string {
	switch {
	case s.Form != "":
		return ScopeForm
	case s.Subject != "":
		return ScopeSubject
	case s.Site != "":
		return ScopeSite
	}
	return ScopeStudy
}

// String describes the scope for people.
func (s Scope) String() string {
	switch s.Level() {
	case ScopeForm:
		return fmt.Sprintf("form %s of subject %s at %s (repeat %d)", s.Form, s.Subject, s.Event, s.EventRepeat)
	case ScopeSubject:
		return "subject " + s.Subject
	case ScopeSite:
		return "site " + s.Site
	}
	return "study " + s.Study
}

// MsgScope freezes, unfreezes, locks or unlocks a scope. At study level
// lock and unlock are the database lock: each tx is one organisation's
// approval; the decision takes effect with the quorum. Reason is required
// to unfreeze and unlock.
type MsgScope struct {
	Scope
	Reason string `json:"reason,omitempty"`
}

// Default signature meanings (21 CFR 11.50) of a study that names none.
var DefaultMeanings = []string{"authorship", "review", "approval", "responsibility"}

// SDV policies: which forms must be verified before the database lock.
const (
	SDVNone = "none"
	SDVAll  = "all"
)

func validateDM(kind Kind, msg any) (bool, *Error) {
	switch m := msg.(type) {
	case *MsgOpenQuery:
		if e := m.FormKey.Check(); e != nil {
			return true, e
		}
		if m.Item != "" {
			if e := CheckID("item", m.Item); e != nil {
				return true, e
			}
		}
		if m.ItemRepeat < 0 || m.ItemRepeat > 9999 || (m.Item == "" && m.ItemRepeat != 0) {
			return true, Errf(CodeInvalidMsg, "item repeat must be 0 (not repeating) or a row from 1 to 9999, and only with an item")
		}
		if m.Missing && m.Item != "" {
			return true, Errf(CodeInvalidMsg, "a query on a missing form is on the whole form: leave out the item")
		}
		return true, checkText("query text", m.Text, true)
	case *MsgQueryAction:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if m.Number < 1 {
			return true, Errf(CodeInvalidMsg, "query number must be 1 or more (veritrial query list shows them)")
		}
		return true, checkText("text", m.Text, kind == KindQueryAnswer || kind == KindQueryReopen)
	case *MsgVerify:
		fk := FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form}
		if m.Form == "" {
			fk.Form = "x"
		}
		if e := fk.Check(); e != nil {
			return true, e
		}
		if m.Item != "" {
			if m.Form == "" {
				return true, Errf(CodeInvalidMsg, "an item is verified within a form: give the form too")
			}
			if e := CheckID("item", m.Item); e != nil {
				return true, e
			}
		}
		if m.ItemRepeat < 0 || m.ItemRepeat > 9999 || (m.Item == "" && m.ItemRepeat != 0) {
			return true, Errf(CodeInvalidMsg, "item repeat must be 0 (not repeating) or a row from 1 to 9999, and only with an item")
		}
		return true, checkText("comment", m.Comment, false)
	case *MsgSign:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckID("subject ID", m.Subject); e != nil {
			return true, e
		}
		if m.Event == "" {
			if m.Form != "" || m.EventRepeat != 0 {
				return true, Errf(CodeInvalidMsg, "a form or event repeat needs its event: give --event")
			}
		} else {
			fk := FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form}
			if m.Form == "" {
				fk.Form = "x"
			}
			if e := fk.Check(); e != nil {
				return true, e
			}
		}
		if e := CheckID("signature meaning", m.Meaning); e != nil {
			return true, e
		}
		if !isHexSHA256(m.ContentHash) {
			return true, Errf(CodeInvalidMsg, "content hash must be the SHA-256 of the signed content in lower-case hex (veritrial sign computes it)")
		}
		return true, nil
	case *MsgScope:
		if e := m.Scope.Check(); e != nil {
			return true, e
		}
		needReason := kind == KindUnlock || kind == KindUnfreeze
		if needReason && strings.TrimSpace(m.Reason) == "" {
			return true, Errf(CodeReasonRequired, "%s needs a reason (--reason)", kind)
		}
		return true, checkText("reason", m.Reason, false)
	}
	return false, nil
}

// Check validates a scope's identifiers and shape.
func (s Scope) Check() *Error {
	if e := CheckID("study ID", s.Study); e != nil {
		return e
	}
	if s.Site != "" {
		if s.Subject != "" || s.Form != "" || s.Event != "" {
			return Errf(CodeInvalidMsg, "name one scope: a site, a subject or a form, not several")
		}
		return CheckID("site", s.Site)
	}
	if s.Subject == "" {
		if s.Form != "" || s.Event != "" || s.EventRepeat != 0 {
			return Errf(CodeInvalidMsg, "a form scope needs its subject")
		}
		return nil
	}
	if s.Form == "" && s.Event == "" && s.EventRepeat == 0 {
		return CheckID("subject ID", s.Subject)
	}
	return FormKey{Study: s.Study, Subject: s.Subject, Event: s.Event, EventRepeat: s.EventRepeat, Form: s.Form}.Check()
}

// ---- records ----

// QueryStatus is the state of a data query.
type QueryStatus string

// Query states: open -> answered -> closed, or reopened (open again);
// cancelled from open.
const (
	QueryOpen      QueryStatus = "open"
	QueryAnswered  QueryStatus = "answered"
	QueryClosed    QueryStatus = "closed"
	QueryCancelled QueryStatus = "cancelled"
)

// Resolved reports whether a query no longer blocks the database lock.
func (s QueryStatus) Resolved() bool { return s == QueryClosed || s == QueryCancelled }

// QueryActionMsg wraps a as query action kind (query_answer, query_close,
// query_reopen, query_cancel) in its message; ok is false for another kind.
func QueryActionMsg(kind Kind, a *MsgQueryAction) (m Msg, ok bool) {
	switch kind {
	case KindQueryAnswer:
		m.QueryAnswer = a
	case KindQueryClose:
		m.QueryClose = a
	case KindQueryReopen:
		m.QueryReopen = a
	case KindQueryCancel:
		m.QueryCancel = a
	default:
		return m, false
	}
	return m, true
}

// ScopeActionMsg wraps s as scope action kind (freeze, unfreeze, lock,
// unlock) in its message; ok is false for another kind.
func ScopeActionMsg(kind Kind, s *MsgScope) (m Msg, ok bool) {
	switch kind {
	case KindFreeze:
		m.Freeze = s
	case KindUnfreeze:
		m.Unfreeze = s
	case KindLock:
		m.Lock = s
	case KindUnlock:
		m.Unlock = s
	default:
		return m, false
	}
	return m, true
}

// QueryActionDone names a query action (answer, close, reopen, cancel) in
// the past tense, for messages: "answered", "closed", ...
func QueryActionDone(action string) string {
	switch action {
	case "answer":
		return "answered"
	case "close":
		return "closed"
	case "reopen":
		return "reopened"
	case "cancel":
		return "cancelled"
	}
	return action
}

// SystemRaiser is the raiser of queries the ledger opens from soft
// edit-check warnings.
const SystemRaiser = "system"

// Query is a data query (discrepancy note) with its whole thread.
type Query struct {
	Study       string      `json:"study"`
	Number      int         `json:"number"`
	Site        string      `json:"site"`
	Subject     string      `json:"subject"`
	Event       string      `json:"event"`
	EventRepeat int         `json:"event_repeat"`
	Form        string      `json:"form"`
	Item        string      `json:"item,omitempty"`
	ItemRepeat  int         `json:"item_repeat,omitempty"`
	Status      QueryStatus `json:"status"`
	// RaisedBy is the account that raised it, or "system" for a query the
	// ledger opened from an edit-check warning (Check names the check;
	// the opening entry's stamp attributes the tx that carried the data).
	RaisedBy  string `json:"raised_by"`
	RaisedOrg string `json:"raised_org,omitempty"`
	Check     string `json:"check,omitempty"`
	// Hard marks a system query on a hard problem that appeared when
	// another form the check reads changed: the data stays on the ledger
	// (it is never refused retroactively) and the site must resolve it.
	Hard bool `json:"hard,omitempty"`
	// Missing marks a query on a form that had not been entered when it
	// was raised (an overdue or absent form or visit).
	Missing bool           `json:"missing,omitempty"`
	Thread  []QueryMessage `json:"thread"`
}

// QueryMessage is one step of a query's thread.
type QueryMessage struct {
	Action      string `json:"action"` // open, answer, close, reopen, cancel
	Text        string `json:"text,omitempty"`
	FormVersion int    `json:"form_version,omitempty"` // answered by the correction that made this version
	Stamp       Stamp  `json:"stamp"`
}

// FormKey returns the form the query is on.
func (q *Query) FormKey() FormKey {
	return FormKey{Study: q.Study, Subject: q.Subject, Event: q.Event, EventRepeat: q.EventRepeat, Form: q.Form}
}

// Target describes what the query is on.
func (q *Query) Target() string {
	s := fmt.Sprintf("%s %s/%d %s", q.Subject, q.Event, q.EventRepeat, q.Form)
	if q.Item != "" {
		s += " " + ItemName(q.Item, q.ItemRepeat)
	}
	if q.Missing {
		s += " (missing)"
	}
	return s
}

// ItemName is "ITEM" or "ITEM[row]".
func ItemName(item string, repeat int) string {
	if repeat > 0 {
		return item + "[" + strconv.Itoa(repeat) + "]"
	}
	return item
}

// SDVStatus summarises the verification of a form's current version.
type SDVStatus string

// SDV statuses.
const (
	SDVVerified SDVStatus = "verified" // every current item verified
	SDVPartial  SDVStatus = "partial"  // some
	SDVNotDone  SDVStatus = "none"     // none (after de-verification)
)

// SDVRecord is the source data verification of one form: which items of
// which form version are verified, and the whole trail.
type SDVRecord struct {
	FormKey
	Status      SDVStatus  `json:"status"`
	FormVersion int        `json:"form_version"` // form version the last action saw
	ValuesHash  string     `json:"values_hash"`  // ValuesHash of that version
	Verified    []string   `json:"verified"`     // item names ("VS.HR", "AE.TERM[2]") verified, sorted
	History     []SDVEvent `json:"history"`
}

// SDVEvent is one step of a form's SDV trail.
type SDVEvent struct {
	Action      string   `json:"action"` // verify, de-verify
	Items       []string `json:"items"`
	FormVersion int      `json:"form_version"`
	ValuesHash  string   `json:"values_hash"`
	Comment     string   `json:"comment,omitempty"` // monitor's comment, or why it was removed
	Stamp       Stamp    `json:"stamp"`
}

// SignatureStatus is valid or invalidated.
type SignatureStatus string

// Signature statuses.
const (
	SignatureValid       SignatureStatus = "valid"
	SignatureInvalidated SignatureStatus = "invalidated"
)

// Signature levels.
const (
	SignForm     = "form"
	SignEvent    = "event"
	SignCasebook = "casebook"
)

// Signature is an electronic signature (21 CFR 11.50, 11.70): who signed
// (printed name, role), when (block time, UTC), with what meaning, and the
// hash of exactly the content signed.
type Signature struct {
	Study       string          `json:"study"`
	Subject     string          `json:"subject"`
	Number      int             `json:"number"`
	Level       string          `json:"level"` // form, event, casebook
	Event       string          `json:"event,omitempty"`
	EventRepeat int             `json:"event_repeat,omitempty"`
	Form        string          `json:"form,omitempty"`
	PrintedName string          `json:"printed_name"`
	Account     string          `json:"account"`
	Role        Role            `json:"role"`
	Meaning     string          `json:"meaning"`
	SignedAt    string          `json:"signed_at"` // block time, RFC 3339 UTC
	Statement   string          `json:"statement"`
	ContentHash string          `json:"content_hash"`
	Forms       []SignedRef     `json:"forms"`
	Status      SignatureStatus `json:"status"`
	Signed      Stamp           `json:"signed"`
	// Invalidated records the correction that changed signed content.
	Invalidated *SignatureInvalidation `json:"invalidated,omitempty"`
}

// SignedRef names one form version a signature covers.
type SignedRef struct {
	Event       string `json:"event"`
	EventRepeat int    `json:"event_repeat"`
	Form        string `json:"form"`
	Version     int    `json:"version"`
}

// SignatureInvalidation is the ledger's record that a signature stopped
// being valid.
type SignatureInvalidation struct {
	Reason      string `json:"reason"`
	Event       string `json:"event"`
	EventRepeat int    `json:"event_repeat"`
	Form        string `json:"form"`
	FormVersion int    `json:"form_version"` // the version the correction made
	Stamp       Stamp  `json:"stamp"`        // the correcting tx
}

// SignedForm is one form as it enters a signature's content.
type SignedForm struct {
	Event       string               `json:"event"`
	EventRepeat int                  `json:"event_repeat"`
	Form        string               `json:"form"`
	Version     int                  `json:"version"`
	Values      []protocol.ItemValue `json:"values"`
}

// SignedContent is exactly what a signature's hash covers: the target and
// the form records (values and versions) in store key order.
type SignedContent struct {
	Study       string       `json:"study"`
	Subject     string       `json:"subject"`
	Level       string       `json:"level"`
	Event       string       `json:"event,omitempty"`
	EventRepeat int          `json:"event_repeat,omitempty"`
	Form        string       `json:"form,omitempty"`
	Forms       []SignedForm `json:"forms"`
}

// Level returns the signature level of m.
func (m *MsgSign) Level() string {
	switch {
	case m.Form != "":
		return SignForm
	case m.Event != "":
		return SignEvent
	}
	return SignCasebook
}

// FormPrefix returns the store prefix of the forms m covers (for a form
// signature, the form's key itself).
func (m *MsgSign) FormPrefix() []byte {
	switch m.Level() {
	case SignForm:
		return KeyForm(FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form})
	case SignEvent:
		return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/", PrefixForm, m.Study, m.Subject, m.Event, m.EventRepeat))
	}
	return []byte(PrefixForm + m.Study + "/" + m.Subject + "/")
}

// Covers reports whether a form record at key k belongs to m's target.
func (m *MsgSign) Covers(k FormKey) bool {
	if k.Study != m.Study || k.Subject != m.Subject {
		return false
	}
	switch m.Level() {
	case SignForm:
		return k.Event == m.Event && k.EventRepeat == m.EventRepeat && k.Form == m.Form
	case SignEvent:
		return k.Event == m.Event && k.EventRepeat == m.EventRepeat
	}
	return true
}

// Content builds the signed content of m from the form records it covers,
// given in store key order.
func (m *MsgSign) Content(forms []FormRecord) SignedContent {
	c := SignedContent{Study: m.Study, Subject: m.Subject, Level: m.Level(), Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form, Forms: []SignedForm{}}
	for _, f := range forms {
		if !m.Covers(f.FormKey) {
			continue
		}
		c.Forms = append(c.Forms, SignedForm{Event: f.Event, EventRepeat: f.EventRepeat, Form: f.Form, Version: f.Version, Values: f.Values})
	}
	return c
}

// Hash is the lower-case hex SHA-256 of the canonical JSON of c.
func (c SignedContent) Hash() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		panic(fmt.Sprintf("encoding signed content: %v", err)) // plain struct
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// Refs lists the form versions c covers.
func (c SignedContent) Refs() []SignedRef {
	out := make([]SignedRef, len(c.Forms))
	for i, f := range c.Forms {
		out[i] = SignedRef{Event: f.Event, EventRepeat: f.EventRepeat, Form: f.Form, Version: f.Version}
	}
	return out
}

// Attestation is the statement a signer makes, shown before signing and
// stored with the signature.
func Attestation(name string, role Role, meaning string, m *MsgSign) string {
	what := "the whole casebook of subject " + m.Subject
	switch m.Level() {
	case SignForm:
		what = fmt.Sprintf("form %s of subject %s at event %s (repeat %d)", m.Form, m.Subject, m.Event, m.EventRepeat)
	case SignEvent:
		what = fmt.Sprintf("every form of subject %s at event %s (repeat %d)", m.Subject, m.Event, m.EventRepeat)
	}
	return fmt.Sprintf("I, %s (%s), electronically sign %s of study %s with the meaning %q. This signature is the legally binding equivalent of my handwritten signature; it covers exactly the content with SHA-256 %s.", name, role, what, m.Study, meaning, m.ContentHash)
}

// ValuesHash is the lower-case hex SHA-256 of the JSON of a form's values.
func ValuesHash(values []protocol.ItemValue) string {
	bz, _ := json.Marshal(values)
	sum := sha256.Sum256(bz)
	return hex.EncodeToString(sum[:])
}

// LockState is the state of a scope.
type LockState string

// Scope states.
const (
	StateOpen   LockState = "open"
	StateFrozen LockState = "frozen"
	StateLocked LockState = "locked"
)

// ScopeLock is the freeze/lock state of one scope and its trail.
type ScopeLock struct {
	Scope
	Level   string       `json:"level"`
	State   LockState    `json:"state"`
	Height  int64        `json:"height"` // when the current state began
	History []LockChange `json:"history"`
}

// LockChange is one change of a scope's state.
type LockChange struct {
	Action string    `json:"action"` // freeze, unfreeze, lock, unlock
	State  LockState `json:"state"`  // the state after it
	Reason string    `json:"reason,omitempty"`
	Stamp  Stamp     `json:"stamp"`
	// Approvals are the organisations' approvals of a database lock or
	// unlock decision.
	Approvals []Vote `json:"approvals,omitempty"`
}

// DatabaseLock gathers the approvals of a pending database lock or unlock
// of a study.
type DatabaseLock struct {
	Study     string `json:"study"`
	Action    string `json:"action"` // lock or unlock; empty when nothing is pending
	Approvals []Vote `json:"approvals"`
	// Decisions counts the lock and unlock decisions taken.
	Decisions int `json:"decisions"`
	// Lapsed are the pending approvals that a change to the study's data
	// cancelled before they reached the quorum (state-machine version 4
	// on), oldest first: an approval covers the data as it stood.
	Lapsed []LockLapse `json:"lapsed,omitempty"`
}

// LockLapse is a set of pending database lock (or unlock) approvals that
// a change to the study's data cancelled: the approvals, and the stamp
// of the transaction that changed the data.
type LockLapse struct {
	Action    string `json:"action"`
	Approvals []Vote `json:"approvals"`
	Stamp     Stamp  `json:"stamp"`
}

// LockPolicy returns the study's database lock approvers and quorum.
func (s *Study) LockPolicy() ([]string, int) {
	q := s.LockQuorum
	if q == 0 {
		q = 2
	}
	return s.LockApprovers, q
}

// SignatureMeanings returns the study's allowed signature meanings.
func (s *Study) SignatureMeanings() []string {
	if len(s.Meanings) == 0 {
		return DefaultMeanings
	}
	return s.Meanings
}

// SDV returns the study's SDV policy.
func (s *Study) SDV() string {
	if s.SDVPolicy == "" {
		return SDVNone
	}
	return s.SDVPolicy
}
