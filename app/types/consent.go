package types

import "github.com/veritrial/veritrial/protocol"

// The consent lifecycle (state machine version 3): a subject's consent
// history, re-consent after an amendment that needs it, and what each
// kind of withdrawal still allows. docs/SAFETY.md describes the rules.

// Consent is one informed consent a subject gave: the version of the
// consent document, its SHA-256 (never the document) and the date signed.
type Consent struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// Date is the day the subject signed (YYYY-MM-DD), empty when not
	// given; the stamp says when the ledger recorded it.
	Date  string `json:"date,omitempty"`
	Stamp Stamp  `json:"stamp"`
}

// Withdrawal is one withdrawal of a subject: its kind, the day the
// subject withdrew (YYYY-MM-DD, empty when not given) and why.
type Withdrawal struct {
	Kind   WithdrawalKind `json:"kind"`
	Date   string         `json:"date,omitempty"`
	Reason string         `json:"reason"`
	Stamp  Stamp          `json:"stamp"`
}

// MsgReconsent records that a subject signed a consent document version
// again (after an amendment that needs re-consent): the version, the
// document's SHA-256 and the day signed.
type MsgReconsent struct {
	Study          string `json:"study"`
	Subject        string `json:"subject"`
	ConsentVersion string `json:"consent_version"`
	ConsentSHA256  string `json:"consent_sha256"`
	Date           string `json:"date,omitempty"`
}

// KindReconsent is the kind of MsgReconsent.
const KindReconsent Kind = "reconsent"

// ConsentHistory returns the subject's consents, oldest first: the one
// given at enrolment, then every re-consent.
func (s *Subject) ConsentHistory() []Consent {
	out := make([]Consent, 0, 1+len(s.Reconsents))
	out = append(out, Consent{Version: s.ConsentVersion, SHA256: s.ConsentSHA256, Stamp: s.Enrolled})
	return append(out, s.Reconsents...)
}

// HasConsented reports whether the subject consented to version, at
// enrolment or since.
func (s *Subject) HasConsented(version string) bool {
	if s.ConsentVersion == version {
		return true
	}
	for _, c := range s.Reconsents {
		if c.Version == version {
			return true
		}
	}
	return false
}

// ReconsentDue returns the consent version that study st requires from
// its subjects (an amendment in force that needed re-consent,
// Study.ReconsentVersion) and that the subject has not consented to;
// empty when none is due. Until it is recorded, forms other than safety
// and end-of-study forms are refused or flagged (docs/SAFETY.md).
func (s *Subject) ReconsentDue(st *Study) string {
	if st.ReconsentVersion == "" || s.HasConsented(st.ReconsentVersion) {
		return ""
	}
	return st.ReconsentVersion
}

// rank orders withdrawal kinds from the least restrictive (1) to the most
// (3); 0 is no kind.
func (k WithdrawalKind) rank() int {
	switch k {
	case WithdrawTreatment:
		return 1
	case WithdrawFollowUp:
		return 2
	case WithdrawConsent:
		return 3
	}
	return 0
}

// Valid reports whether k is one of the withdrawal kinds.
func (k WithdrawalKind) Valid() bool { return k.rank() > 0 }

// Stricter reports whether k restricts more than prev.
func (k WithdrawalKind) Stricter(prev WithdrawalKind) bool { return k.rank() > prev.rank() }

// AllowsNewForm reports whether a subject withdrawn with kind k may still
// have a form entered for the first time, a safety form or the
// end-of-study form when safety is true: after treatment everything
// continues, after follow-up only safety forms and end-of-study, after
// consent nothing new.
func (k WithdrawalKind) AllowsNewForm(safety bool) bool {
	switch k {
	case WithdrawTreatment:
		return true
	case WithdrawFollowUp:
		return safety
	}
	return false
}

// AdmitsNewForm reports whether a form may be entered for the first time
// for the subject, a safety form or the end-of-study form when safety is
// true, as far as its withdrawal goes: always while enrolled, else as the
// withdrawal's kind allows (a withdrawal without a kind, made before
// state machine version 3, allows nothing new).
func (s *Subject) AdmitsNewForm(safety bool) bool {
	return s.Status != SubjectWithdrawn || s.WithdrawalKind.AllowsNewForm(safety)
}

// Followed reports whether the subject's scheduled visits are still
// expected: enrolled, or withdrawn from treatment only.
func (s *Subject) Followed() bool { return s.AdmitsNewForm(false) }

// validateConsent runs the stateless checks of the consent messages and
// of a withdrawal's kind and date; ok is false for any other message.
func validateConsent(msg any) (ok bool, e *Error) {
	m, isReconsent := msg.(*MsgReconsent)
	if !isReconsent {
		return false, nil
	}
	if e := CheckID("study ID", m.Study); e != nil {
		return true, e
	}
	if e := CheckID("subject ID", m.Subject); e != nil {
		return true, e
	}
	if e := checkText("consent form version", m.ConsentVersion, true); e != nil {
		return true, e
	}
	if !isHexSHA256(m.ConsentSHA256) {
		return true, Errf(CodeInvalidMsg, "consent form SHA-256 must be 64 lower-case hex characters (sha256sum of the signed consent form document)")
	}
	return true, checkDay("consent date", m.Date)
}

// checkWithdrawal checks a withdrawal's kind (empty or a known kind) and
// date.
func checkWithdrawal(m *MsgWithdrawSubject) *Error {
	if m.Kind != "" && !m.Kind.Valid() {
		return Errf(CodeWithdrawalKind, "unknown withdrawal kind %q: use treatment (treatment stops, follow-up continues), follow_up (only safety forms and end-of-study) or consent (nothing new is collected)", m.Kind)
	}
	return checkDay("withdrawal date", m.Date)
}

// checkDay checks an optional YYYY-MM-DD date.
func checkDay(what, s string) *Error {
	if s == "" {
		return nil
	}
	if _, ok := protocol.DateDays(s); !ok {
		return Errf(CodeInvalidMsg, "%s %q is not a date: write YYYY-MM-DD", what, s)
	}
	return nil
}
