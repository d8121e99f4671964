package app

import (
	"slices"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// The consent lifecycle (state machine version 3): re-consent, the
// withdrawal kinds and what a subject's consent allows of a new form.

func (x *exec) reconsent(m *types.MsgReconsent) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskEnroll)
	if e != nil {
		return e
	}
	if e := x.guard(sub.Study, sub.Site, sub.ID, nil, true); e != nil {
		return e
	}
	if sub.WithdrawalKind == types.WithdrawConsent {
		return types.Errf(types.CodeSubjectWithdrawn, "subject %s withdrew consent at height %d; a new consent is a new enrolment decision, not a re-consent", sub.ID, sub.Withdrawn.Height)
	}
	known, e := x.consentVersions(sub.Study)
	if e != nil {
		return e
	}
	if !slices.Contains(known, m.ConsentVersion) {
		return unknownConsent(m.ConsentVersion, sub.Study, known)
	}
	if sub.HasConsented(m.ConsentVersion) {
		return types.Errf(types.CodeAlreadyConsented, "subject %s has already consented to version %s", sub.ID, m.ConsentVersion)
	}
	if e := x.notAfterBlock("consent date", m.Date); e != nil {
		return e
	}
	sub.Reconsents = append(slices.Clip(sub.Reconsents), types.Consent{Version: m.ConsentVersion, SHA256: m.ConsentSHA256, Date: m.Date, Stamp: x.stamp()})
	x.st.setJSON(types.KeySubject(sub.Study, sub.ID), sub)
	x.emit("study", sub.Study, "subject", sub.ID, "consent_version", m.ConsentVersion)
	return nil
}

// enrolConsentSince is the state-machine version from which an
// enrolment must name a consent version the study's protocol declares,
// when it declares any (as a re-consent must): before, any text was
// accepted, and a subject enrolled under a version no protocol declared
// could never be judged against the one in force.
const enrolConsentSince = 4

// declaredConsent refuses a consent version that no protocol version of
// the study declares, unless none declares any (a study that does not
// track consent versions on the ledger).
func (x *exec) declaredConsent(study, version string) *types.Error {
	known, e := x.consentVersions(study)
	if e != nil || len(known) == 0 || slices.Contains(known, version) {
		return e
	}
	return unknownConsent(version, study, known)
}

func unknownConsent(version, study string, known []string) *types.Error {
	return types.Errf(types.CodeUnknownConsentVersion, "consent version %q is not declared by any protocol version of study %s (known: %v); name the version printed on the signed document", version, study, known)
}

// consentVersions lists the consent versions the protocol versions of a
// study declare, in version order, each once.
func (x *exec) consentVersions(study string) ([]string, *types.Error) {
	s, e := x.study(study)
	if e != nil {
		return nil, e
	}
	var out []string
	for n := 1; n <= s.Versions; n++ {
		pv, _, e := x.protocolVersion(study, n)
		if e != nil {
			return nil, e
		}
		if v := pv.Protocol.Study.ConsentVersion; v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// notAfterBlock refuses a date (YYYY-MM-DD, checked already) after the
// day of the block.
func (x *exec) notAfterBlock(what, date string) *types.Error {
	if date != "" && len(x.time) >= 10 && date > x.time[:10] {
		return types.Errf(types.CodeDateAfterBlock, "%s %s is after the day of the block that records it (%s)", what, date, x.time[:10])
	}
	return nil
}

// withdrawKind records a withdrawal of kind m.Kind (version 3 on): a
// subject already withdrawn may only be withdrawn further (treatment,
// then follow-up, then consent).
func (x *exec) withdrawKind(sub *types.Subject, m *types.MsgWithdrawSubject) *types.Error {
	if m.Kind == "" {
		return types.Errf(types.CodeWithdrawalKind, "a withdrawal names its kind: treatment (treatment stops, follow-up continues), follow_up (only safety forms and end-of-study) or consent (nothing new is collected)")
	}
	if sub.Status == types.SubjectWithdrawn && !m.Kind.Stricter(sub.WithdrawalKind) {
		return types.Errf(types.CodeWithdrawalNotStricter, "subject %s is withdrawn (%s) since height %d; a later withdrawal must restrict more (treatment, then follow_up, then consent), not %s", sub.ID, sub.WithdrawalKind, sub.Withdrawn.Height, m.Kind)
	}
	if e := x.notAfterBlock("withdrawal date", m.Date); e != nil {
		return e
	}
	st := x.stamp()
	sub.Status = types.SubjectWithdrawn
	sub.Withdrawn = &st
	sub.WithdrawReason = m.Reason
	sub.WithdrawalKind = m.Kind
	sub.Withdrawals = append(slices.Clip(sub.Withdrawals), types.Withdrawal{Kind: m.Kind, Date: m.Date, Reason: m.Reason, Stamp: st})
	x.st.setJSON(types.KeySubject(sub.Study, sub.ID), sub)
	x.emit("study", sub.Study, "subject", sub.ID, "withdrawal", string(m.Kind))
	return nil
}

// admitNewForm decides whether form k may be entered for the first time
// for subject sub under protocol c of study s: a withdrawn subject's
// withdrawal must allow it, and from version 3 a subject must have
// consented to the consent version an amendment in force requires,
// except for safety and end-of-study forms. pending is the consent
// version the form is accepted without, under a protocol that flags
// rather than refuses.
func (x *exec) admitNewForm(sub *types.Subject, s *types.Study, c *protocol.Compiled, k types.FormKey) (pending string, e *types.Error) {
	safety, eos := c.SafetyForm(k.Form)
	if sub.Status == types.SubjectWithdrawn && (x.version < 3 || !sub.WithdrawalKind.AllowsNewForm(safety || eos)) {
		if x.version >= 3 && sub.WithdrawalKind == types.WithdrawFollowUp {
			return "", types.Errf(types.CodeWithdrawnFromFollowUp, "subject %s withdrew from follow-up at height %d; only safety forms and the end-of-study form can be entered, not %s (corrections of earlier data remain possible)", sub.ID, sub.Withdrawn.Height, k.Form)
		}
		return "", types.Errf(types.CodeSubjectWithdrawn, "subject %s was withdrawn at height %d; no new data can be entered (corrections of earlier data remain possible)", sub.ID, sub.Withdrawn.Height)
	}
	due := sub.ReconsentDue(s)
	if x.version < 3 || due == "" || safety || eos {
		return "", nil
	}
	if c.Protocol().Study.Reconsent == protocol.ReconsentFlag {
		return due, nil
	}
	return "", types.Errf(types.CodeReconsentRequired, "subject %s has not re-consented to consent version %s, which protocol version %d of study %s requires; record the re-consent first (veritrial subject reconsent); safety forms are accepted meanwhile", sub.ID, due, s.ReconsentFrom, s.ID)
}

// checkReconsentVersion refuses, from version 3, a proposed amendment
// next of protocol cur that needs re-consent and names no new consent
// version (one no protocol version of the study declares yet).
func (x *exec) checkReconsentVersion(s *types.Study, cur, next *protocol.Protocol, needs bool) *types.Error {
	if x.version < 3 || !needs {
		return nil
	}
	v := next.Study.ConsentVersion
	if v == "" || v == cur.Study.ConsentVersion {
		return types.Errf(types.CodeReconsentVersion, "the amendment of study %s needs re-consent (its diff says so) but names no new consent version: set study.consent_version to the version of the new consent document (in force: %q)", s.ID, cur.Study.ConsentVersion)
	}
	known, e := x.consentVersions(s.ID)
	if e != nil {
		return e
	}
	if slices.Contains(known, v) {
		return types.Errf(types.CodeReconsentVersion, "consent version %s is already declared by an earlier protocol version of study %s; a re-consent needs a new consent document version", v, s.ID)
	}
	return nil
}
