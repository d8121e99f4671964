package types

import (
	"crypto/ed25519"
	"slices"
	"strings"

	"github.com/veritrial/veritrial/protocol"
)

// Msg is the body of a transaction: exactly one of its fields is set.
type Msg struct {
	RegisterStudy    *MsgRegisterStudy    `json:"register_study,omitempty"`
	ProposeAmendment *MsgProposeAmendment `json:"propose_amendment,omitempty"`
	ApproveAmendment *MsgVoteAmendment    `json:"approve_amendment,omitempty"`
	RejectAmendment  *MsgVoteAmendment    `json:"reject_amendment,omitempty"`
	ActivateSite     *MsgActivateSite     `json:"activate_site,omitempty"`
	EnrollSubject    *MsgEnrollSubject    `json:"enroll_subject,omitempty"`
	WithdrawSubject  *MsgWithdrawSubject  `json:"withdraw_subject,omitempty"`
	SubmitForm       *MsgSubmitForm       `json:"submit_form,omitempty"`
	CorrectForm      *MsgCorrectForm      `json:"correct_form,omitempty"`
	AddAccount       *MsgAddAccount       `json:"add_account,omitempty"`
	SetRoles         *MsgSetRoles         `json:"set_roles,omitempty"`
	RotateKey        *MsgRotateKey        `json:"rotate_key,omitempty"`
	RevokeAccount    *MsgRevokeAccount    `json:"revoke_account,omitempty"`
	QueryOpen        *MsgOpenQuery        `json:"query_open,omitempty"`
	QueryAnswer      *MsgQueryAction      `json:"query_answer,omitempty"`
	QueryClose       *MsgQueryAction      `json:"query_close,omitempty"`
	QueryReopen      *MsgQueryAction      `json:"query_reopen,omitempty"`
	QueryCancel      *MsgQueryAction      `json:"query_cancel,omitempty"`
	Verify           *MsgVerify           `json:"verify,omitempty"`
	Sign             *MsgSign             `json:"sign,omitempty"`
	Freeze           *MsgScope            `json:"freeze,omitempty"`
	Unfreeze         *MsgScope            `json:"unfreeze,omitempty"`
	Lock             *MsgScope            `json:"lock,omitempty"`
	Unlock           *MsgScope            `json:"unlock,omitempty"`
	ProposeChange    *MsgProposeChange    `json:"propose_change,omitempty"`
	VoteChange       *MsgVoteChange       `json:"vote_change,omitempty"`
	// Delegations and key rotation approvals (delegation.go).
	DelegateStudy      *MsgStudyDelegation    `json:"delegate_study,omitempty"`
	UndelegateStudy    *MsgStudyDelegation    `json:"undelegate_study,omitempty"`
	ChangeInvestigator *MsgChangeInvestigator `json:"change_principal_investigator,omitempty"`
	DelegateSite       *MsgSiteDelegation     `json:"delegate_site,omitempty"`
	UndelegateSite     *MsgSiteDelegation     `json:"undelegate_site,omitempty"`
	ApproveKeyRotation *MsgApproveKeyRotation `json:"approve_key_rotation,omitempty"`
	// A node's access log head (accesshead.go).
	CommitAccessHead *MsgCommitAccessHead `json:"commit_access_head,omitempty"`
	// Reference ranges for lab items (labranges.go).
	SetLabRanges   *MsgSetLabRanges   `json:"set_lab_ranges,omitempty"`
	AssessLabValue *MsgAssessLabValue `json:"assess_lab_value,omitempty"`
	// Re-consent (consent.go) and serious adverse events (safety.go).
	Reconsent      *MsgReconsent      `json:"reconsent,omitempty"`
	AcknowledgeSAE *MsgAcknowledgeSAE `json:"acknowledge_sae,omitempty"`
	// Randomisation with a sealed allocation list (randomization.go).
	RegisterAllocations *MsgRegisterAllocations `json:"register_allocations,omitempty"`
	Randomize           *MsgRandomize           `json:"randomize_subject,omitempty"`
	Unblind             *MsgUnblind             `json:"unblind_subject,omitempty"`
	PublishAllocations  *MsgPublishAllocations  `json:"publish_allocations,omitempty"`
}

// Kind names a message kind; it is the JSON field name of the message.
type Kind string

// Message kinds.
const (
	KindRegisterStudy    Kind = "register_study"
	KindProposeAmendment Kind = "propose_amendment"
	KindApproveAmendment Kind = "approve_amendment"
	KindRejectAmendment  Kind = "reject_amendment"
	KindActivateSite     Kind = "activate_site"
	KindEnrollSubject    Kind = "enroll_subject"
	KindWithdrawSubject  Kind = "withdraw_subject"
	KindSubmitForm       Kind = "submit_form"
	KindCorrectForm      Kind = "correct_form"
	KindAddAccount       Kind = "add_account"
	KindSetRoles         Kind = "set_roles"
	KindRotateKey        Kind = "rotate_key"
	KindRevokeAccount    Kind = "revoke_account"
	KindQueryOpen        Kind = "query_open"
	KindQueryAnswer      Kind = "query_answer"
	KindQueryClose       Kind = "query_close"
	KindQueryReopen      Kind = "query_reopen"
	KindQueryCancel      Kind = "query_cancel"
	KindVerify           Kind = "verify"
	KindSign             Kind = "sign"
	KindFreeze           Kind = "freeze"
	KindUnfreeze         Kind = "unfreeze"
	KindLock             Kind = "lock"
	KindUnlock           Kind = "unlock"
	KindProposeChange    Kind = "propose_change"
	KindVoteChange       Kind = "vote_change"

	KindDelegateStudy      Kind = "delegate_study"
	KindUndelegateStudy    Kind = "undelegate_study"
	KindChangeInvestigator Kind = "change_principal_investigator"
	KindDelegateSite       Kind = "delegate_site"
	KindUndelegateSite     Kind = "undelegate_site"
	KindApproveKeyRotation Kind = "approve_key_rotation"

	KindCommitAccessHead Kind = "commit_access_head"

	KindSetLabRanges   Kind = "set_lab_ranges"
	KindAssessLabValue Kind = "assess_lab_value"

	KindRegisterAllocations Kind = "register_allocations"
	KindRandomize           Kind = "randomize_subject"
	KindUnblind             Kind = "unblind_subject"
	KindPublishAllocations  Kind = "publish_allocations"
)

// Unpack returns the kind and the one message set, or an error when none
// or several are set.
func (m *Msg) Unpack() (Kind, any, *Error) {
	var kind Kind
	var msg any
	n := 0
	set := func(k Kind, v any, isNil bool) {
		if !isNil {
			kind, msg = k, v
			n++
		}
	}
	set(KindRegisterStudy, m.RegisterStudy, m.RegisterStudy == nil)
	set(KindProposeAmendment, m.ProposeAmendment, m.ProposeAmendment == nil)
	set(KindApproveAmendment, m.ApproveAmendment, m.ApproveAmendment == nil)
	set(KindRejectAmendment, m.RejectAmendment, m.RejectAmendment == nil)
	set(KindActivateSite, m.ActivateSite, m.ActivateSite == nil)
	set(KindEnrollSubject, m.EnrollSubject, m.EnrollSubject == nil)
	set(KindWithdrawSubject, m.WithdrawSubject, m.WithdrawSubject == nil)
	set(KindSubmitForm, m.SubmitForm, m.SubmitForm == nil)
	set(KindCorrectForm, m.CorrectForm, m.CorrectForm == nil)
	set(KindAddAccount, m.AddAccount, m.AddAccount == nil)
	set(KindSetRoles, m.SetRoles, m.SetRoles == nil)
	set(KindRotateKey, m.RotateKey, m.RotateKey == nil)
	set(KindRevokeAccount, m.RevokeAccount, m.RevokeAccount == nil)
	set(KindQueryOpen, m.QueryOpen, m.QueryOpen == nil)
	set(KindQueryAnswer, m.QueryAnswer, m.QueryAnswer == nil)
	set(KindQueryClose, m.QueryClose, m.QueryClose == nil)
	set(KindQueryReopen, m.QueryReopen, m.QueryReopen == nil)
	set(KindQueryCancel, m.QueryCancel, m.QueryCancel == nil)
	set(KindVerify, m.Verify, m.Verify == nil)
	set(KindSign, m.Sign, m.Sign == nil)
	set(KindFreeze, m.Freeze, m.Freeze == nil)
	set(KindUnfreeze, m.Unfreeze, m.Unfreeze == nil)
	set(KindLock, m.Lock, m.Lock == nil)
	set(KindUnlock, m.Unlock, m.Unlock == nil)
	set(KindProposeChange, m.ProposeChange, m.ProposeChange == nil)
	set(KindVoteChange, m.VoteChange, m.VoteChange == nil)
	set(KindDelegateStudy, m.DelegateStudy, m.DelegateStudy == nil)
	set(KindUndelegateStudy, m.UndelegateStudy, m.UndelegateStudy == nil)
	set(KindChangeInvestigator, m.ChangeInvestigator, m.ChangeInvestigator == nil)
	set(KindDelegateSite, m.DelegateSite, m.DelegateSite == nil)
	set(KindUndelegateSite, m.UndelegateSite, m.UndelegateSite == nil)
	set(KindApproveKeyRotation, m.ApproveKeyRotation, m.ApproveKeyRotation == nil)
	set(KindCommitAccessHead, m.CommitAccessHead, m.CommitAccessHead == nil)
	set(KindSetLabRanges, m.SetLabRanges, m.SetLabRanges == nil)
	set(KindAssessLabValue, m.AssessLabValue, m.AssessLabValue == nil)
	set(KindReconsent, m.Reconsent, m.Reconsent == nil)
	set(KindAcknowledgeSAE, m.AcknowledgeSAE, m.AcknowledgeSAE == nil)
	set(KindRegisterAllocations, m.RegisterAllocations, m.RegisterAllocations == nil)
	set(KindRandomize, m.Randomize, m.Randomize == nil)
	set(KindUnblind, m.Unblind, m.Unblind == nil)
	set(KindPublishAllocations, m.PublishAllocations, m.PublishAllocations == nil)
	if n != 1 {
		return "", nil, Errf(CodeTxMalformed, "transaction must carry exactly one message, it carries %d", n)
	}
	return kind, msg, nil
}

// MsgRegisterStudy registers a study with its first protocol version.
// Registration is a public commitment: the block time proves the outcomes
// and document hashes were declared before the first subject.
type MsgRegisterStudy struct {
	Protocol    protocol.Protocol `json:"protocol"`
	Fingerprint string            `json:"fingerprint"`
	// Approvers are the organisations whose approval an amendment needs,
	// at least one of them active and not a sponsor, never the study's own
	// sponsor; empty means every active regulator and ethics committee of
	// the consortium.
	Approvers []string `json:"approvers,omitempty"`
	// SignatureMeanings are the meanings an e-signature may carry; empty
	// means DefaultMeanings.
	SignatureMeanings []string `json:"signature_meanings,omitempty"`
	// SDVPolicy is "none" (default) or "all": every form fully verified
	// before the database lock.
	SDVPolicy string `json:"sdv_policy,omitempty"`
	// LockApprovers are the organisations that approve a database lock or
	// unlock (sponsors, CROs and regulators), LockQuorum how many must, at
	// least 2: the sponsor always must, and one organisation that is not
	// a sponsor. Empty: the sponsor and every active regulator, quorum 2
	// (the sponsor's data manager plus one regulator).
	LockApprovers []string `json:"lock_approvers,omitempty"`
	LockQuorum    int      `json:"lock_quorum,omitempty"`
}

// MsgProposeAmendment proposes the next protocol version of a study.
type MsgProposeAmendment struct {
	Study       string            `json:"study"`
	Protocol    protocol.Protocol `json:"protocol"`
	Fingerprint string            `json:"fingerprint"`
	Rationale   string            `json:"rationale"`
	// Migrate names the forms whose data already entered must migrate to
	// the new version: their corrections are judged under it. A correction
	// of any other form is judged under the version the form was entered
	// under (or last migrated to).
	Migrate []string `json:"migrate,omitempty"`
}

// MsgVoteAmendment approves or rejects a pending amendment.
type MsgVoteAmendment struct {
	Study     string `json:"study"`
	Amendment int    `json:"amendment"`
	Comment   string `json:"comment,omitempty"`
}

// MsgActivateSite activates a site organisation for a study with its
// principal investigator, an investigator of the site, who holds every
// site task on the study and delegates them to the site's staff.
type MsgActivateSite struct {
	Study                 string `json:"study"`
	Site                  string `json:"site"`
	PrincipalInvestigator string `json:"principal_investigator"`
}

// MsgEnrollSubject enrolls a pseudonymous subject at the signer's site.
type MsgEnrollSubject struct {
	Study          string `json:"study"`
	Subject        string `json:"subject"`
	Site           string `json:"site"`
	ConsentVersion string `json:"consent_version"`
	ConsentSHA256  string `json:"consent_sha256"`
}

// MsgWithdrawSubject withdraws a subject; earlier data stays. Kind says
// what the withdrawal still allows (required from state machine version
// 3, refused before it); Date is the day the subject withdrew.
type MsgWithdrawSubject struct {
	Study   string         `json:"study"`
	Subject string         `json:"subject"`
	Reason  string         `json:"reason"`
	Kind    WithdrawalKind `json:"kind,omitempty"`
	Date    string         `json:"date,omitempty"`
}

// FormKey addresses one form instance of a subject's casebook.
type FormKey struct {
	Study       string `json:"study"`
	Subject     string `json:"subject"`
	Event       string `json:"event"`
	EventRepeat int    `json:"event_repeat"`
	Form        string `json:"form"`
}

// MsgSubmitForm enters a form for the first time.
type MsgSubmitForm struct {
	FormKey
	Values []protocol.ItemValue `json:"values"`
}

// MsgCorrectForm changes items of an entered form; an empty value clears
// an item. Reason is mandatory.
type MsgCorrectForm struct {
	FormKey
	Changes []protocol.ItemValue `json:"changes"`
	Reason  string               `json:"reason"`
	// Resolves names open data queries of this form the correction
	// answers.
	Resolves []int `json:"resolves,omitempty"`
	// BaseVersion, when not 0, is the version of the form the correction
	// was made from: the ledger refuses it (form_changed) when the form
	// has changed since, so that a correction made from an old copy never
	// silently reverts a newer one.
	BaseVersion int `json:"base_version,omitempty"`
}

// MsgAddAccount adds a person to the signer's organisation.
type MsgAddAccount struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	Roles   []Role `json:"roles"`
	PubKey  []byte `json:"pubkey"`
}

// MsgSetRoles replaces the roles of an account.
type MsgSetRoles struct {
	Account string `json:"account"`
	Roles   []Role `json:"roles"`
}

// MsgRotateKey replaces an account's key; the old key can never sign
// again. A person's rotation of their own key applies at once; an
// administrator's rotation of another person's key is a request that a
// second person approves (MsgApproveKeyRotation).
type MsgRotateKey struct {
	Account   string `json:"account"`
	NewPubKey []byte `json:"new_pubkey"`
}

// MsgRevokeAccount revokes an account; its key can never sign again.
type MsgRevokeAccount struct {
	Account string `json:"account"`
	Reason  string `json:"reason"`
}

// Limits of a message's text (in bytes) and values.
const (
	// MaxReasonLen bounds free text: a reason for change, a comment, a
	// rationale, a data query's text.
	MaxReasonLen = 2000
	// MaxNameLen bounds a printed name: a person's, as their electronic
	// signatures show it, or an organisation's.
	MaxNameLen = 200
	// MaxValues bounds the item values of one form submission or
	// correction.
	MaxValues = 5000
	// MaxMigrateForms bounds the forms an amendment migrates.
	MaxMigrateForms = 200
)

// ValidateBasic runs the stateless checks of a message.
func ValidateBasic(kind Kind, msg any) *Error {
	switch m := msg.(type) {
	case *MsgRegisterStudy:
		if e := CheckID("study ID", m.Protocol.Study.ID); e != nil {
			return e
		}
		if !isHexSHA256(m.Fingerprint) {
			return Errf(CodeInvalidMsg, "fingerprint must be the protocol's SHA-256 in lower-case hex (veritrial protocol check prints it)")
		}
		for _, a := range m.Approvers {
			if e := CheckID("approver organisation", a); e != nil {
				return e
			}
		}
		for _, a := range m.LockApprovers {
			if e := CheckID("lock approver organisation", a); e != nil {
				return e
			}
		}
		for _, mn := range m.SignatureMeanings {
			if e := CheckID("signature meaning", mn); e != nil {
				return e
			}
		}
		if m.SDVPolicy != "" && m.SDVPolicy != SDVNone && m.SDVPolicy != SDVAll {
			return Errf(CodeInvalidMsg, "SDV policy %q is not known: use %q or %q", m.SDVPolicy, SDVNone, SDVAll)
		}
		if m.LockQuorum < 0 || m.LockQuorum > 50 {
			return Errf(CodeInvalidMsg, "lock quorum must be between 1 and the number of lock approvers")
		}
	case *MsgProposeAmendment:
		if e := CheckID("study ID", m.Study); e != nil {
			return e
		}
		if !isHexSHA256(m.Fingerprint) {
			return Errf(CodeInvalidMsg, "fingerprint must be the protocol's SHA-256 in lower-case hex (veritrial protocol check prints it)")
		}
		if e := checkText("rationale", m.Rationale, true); e != nil {
			return e
		}
		if len(m.Migrate) > MaxMigrateForms {
			return Errf(CodeInvalidMsg, "the amendment migrates %d forms, above the limit of %d", len(m.Migrate), MaxMigrateForms)
		}
		for i, f := range m.Migrate {
			if e := CheckID("form to migrate", f); e != nil {
				return e
			}
			if slices.Contains(m.Migrate[:i], f) {
				return Errf(CodeInvalidMsg, "form %s is named twice among the forms to migrate", f)
			}
		}
	case *MsgVoteAmendment:
		if e := CheckID("study ID", m.Study); e != nil {
			return e
		}
		if m.Amendment < 1 {
			return Errf(CodeInvalidMsg, "amendment number must be 1 or more")
		}
		if e := checkText("comment", m.Comment, kind == KindRejectAmendment); e != nil {
			return e
		}
	case *MsgActivateSite:
		if e := CheckID("study ID", m.Study); e != nil {
			return e
		}
		if e := CheckID("site", m.Site); e != nil {
			return e
		}
		if e := CheckID("principal investigator", m.PrincipalInvestigator); e != nil {
			return e
		}
	case *MsgEnrollSubject:
		if e := CheckID("study ID", m.Study); e != nil {
			return e
		}
		if e := CheckID("subject ID", m.Subject); e != nil {
			return e
		}
		if e := CheckID("site", m.Site); e != nil {
			return e
		}
		if e := checkText("consent form version", m.ConsentVersion, true); e != nil {
			return e
		}
		if !isHexSHA256(m.ConsentSHA256) {
			return Errf(CodeInvalidMsg, "consent form SHA-256 must be 64 lower-case hex characters (sha256sum of the signed consent form document)")
		}
	case *MsgWithdrawSubject:
		if e := CheckID("study ID", m.Study); e != nil {
			return e
		}
		if e := CheckID("subject ID", m.Subject); e != nil {
			return e
		}
		if e := checkText("reason", m.Reason, true); e != nil {
			return e
		}
		if e := checkWithdrawal(m); e != nil {
			return e
		}
	case *MsgSubmitForm:
		if e := m.FormKey.Check(); e != nil {
			return e
		}
		if len(m.Values) == 0 {
			return Errf(CodeInvalidMsg, "form %s has no values; enter at least one item", m.Form)
		}
		if len(m.Values) > MaxValues {
			return Errf(CodeInvalidMsg, "form has %d values, above the limit of %d", len(m.Values), MaxValues)
		}
	case *MsgCorrectForm:
		if e := m.FormKey.Check(); e != nil {
			return e
		}
		if len(m.Changes) == 0 {
			return Errf(CodeNoChange, "correction of %s changes no item; name the items to change", m.Form)
		}
		if len(m.Changes) > MaxValues {
			return Errf(CodeInvalidMsg, "correction has %d changes, above the limit of %d", len(m.Changes), MaxValues)
		}
		if strings.TrimSpace(m.Reason) == "" {
			return Errf(CodeReasonRequired, "a correction needs a reason for change (for example --reason \"transcription error, source shows 128\")")
		}
		if m.BaseVersion < 0 {
			return Errf(CodeInvalidMsg, "base version %d of the correction of %s is negative; name the form version the correction was made from, or 0", m.BaseVersion, m.Form)
		}
		if e := checkText("reason", m.Reason, true); e != nil {
			return e
		}
		for _, n := range m.Resolves {
			if n < 1 {
				return Errf(CodeInvalidMsg, "resolved query numbers must be 1 or more")
			}
		}
	case *MsgAddAccount:
		if e := CheckID("account", m.Account); e != nil {
			return e
		}
		if e := checkName("printed name", m.Name, true); e != nil {
			return e
		}
		if len(m.PubKey) != ed25519.PublicKeySize {
			return Errf(CodeInvalidMsg, "public key must be a %d-byte ed25519 key (veritrial keys show prints it)", ed25519.PublicKeySize)
		}
		if len(m.Roles) == 0 {
			return Errf(CodeInvalidRole, "an account needs at least one role")
		}
	case *MsgSetRoles:
		if e := CheckID("account", m.Account); e != nil {
			return e
		}
		if len(m.Roles) == 0 {
			return Errf(CodeInvalidRole, "an account needs at least one role; to remove access revoke the account")
		}
	case *MsgRotateKey:
		if e := CheckID("account", m.Account); e != nil {
			return e
		}
		if len(m.NewPubKey) != ed25519.PublicKeySize {
			return Errf(CodeInvalidMsg, "new public key must be a %d-byte ed25519 key", ed25519.PublicKeySize)
		}
	case *MsgRevokeAccount:
		if e := CheckID("account", m.Account); e != nil {
			return e
		}
		if e := checkText("reason", m.Reason, true); e != nil {
			return e
		}
	default:
		if ok, e := validateDM(kind, msg); ok {
			return e
		}
		if ok, e := validateConsortium(msg); ok {
			return e
		}
		if ok, e := validateDelegation(kind, msg); ok {
			return e
		}
		if ok, e := validateAccessHead(msg); ok {
			return e
		}
		if ok, e := validateLabRanges(msg); ok {
			return e
		}
		if ok, e := validateConsent(msg); ok {
			return e
		}
		if ok, e := validateSafety(msg); ok {
			return e
		}
		if ok, e := validateRandomization(msg); ok {
			return e
		}
		return Errf(CodeTxMalformed, "unknown message kind %q", kind)
	}
	return nil
}

// Check validates the identifiers of a form key.
func (k FormKey) Check() *Error {
	if e := CheckID("study ID", k.Study); e != nil {
		return e
	}
	if e := CheckID("subject ID", k.Subject); e != nil {
		return e
	}
	if e := CheckID("event", k.Event); e != nil {
		return e
	}
	if e := CheckID("form", k.Form); e != nil {
		return e
	}
	if k.EventRepeat < 1 || k.EventRepeat > 9999 {
		return Errf(CodeEventRepeat, "event repeat must be between 1 and 9999 (1 for an event that does not repeat), not %d", k.EventRepeat)
	}
	return nil
}

// checkText checks free text against MaxReasonLen.
func checkText(what, s string, required bool) *Error {
	return checkLen(what, s, required, MaxReasonLen)
}

// checkName checks a printed name against MaxNameLen.
func checkName(what, s string, required bool) *Error {
	return checkLen(what, s, required, MaxNameLen)
}

func checkLen(what, s string, required bool, limit int) *Error {
	if required && strings.TrimSpace(s) == "" {
		return Errf(CodeInvalidMsg, "%s is required", what)
	}
	if len(s) > limit {
		return Errf(CodeInvalidMsg, "%s is %d characters, above the limit of %d", what, len(s), limit)
	}
	return nil
}
