package app

import (
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

func errMissing(what, study string, n int) error {
	return fmt.Errorf("%s %d of study %s is missing from state", what, n, study)
}

func (x *exec) enrollSubject(m *types.MsgEnrollSubject) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if m.Site != x.c.org.ID {
		return types.Errf(types.CodeWrongSite, "%s works for site %s and cannot enroll subjects at site %s", x.c.signer.ID, x.c.org.ID, m.Site)
	}
	if e := x.siteTask(s.ID, m.Site, types.TaskEnroll); e != nil {
		return e
	}
	if e := x.guard(s.ID, m.Site, "", nil, true); e != nil {
		return e
	}
	if e := x.pseudonym(s, m.Subject); e != nil {
		return e
	}
	if ok, err := x.st.has(types.KeySubject(s.ID, m.Subject)); err != nil {
		return internal(err)
	} else if ok {
		return types.Errf(types.CodeSubjectExists, "subject %s is already enrolled in study %s; subject IDs are unique in a study", m.Subject, s.ID)
	}
	if x.version >= enrolConsentSince {
		if e := x.declaredConsent(s.ID, m.ConsentVersion); e != nil {
			return e
		}
	}
	x.st.setJSON(types.KeySubject(s.ID, m.Subject), types.Subject{
		Study: s.ID, ID: m.Subject, Site: m.Site, ConsentVersion: m.ConsentVersion,
		ConsentSHA256: m.ConsentSHA256, Status: types.SubjectEnrolled, Enrolled: x.stamp(),
	})
	x.emit("study", s.ID, "subject", m.Subject, "site", m.Site)
	return nil
}

// pseudonym checks a new subject's ID against the subject-ID pattern of
// the protocol in force, so that subjects are known by pseudonyms only.
func (x *exec) pseudonym(s *types.Study, id string) *types.Error {
	_, c, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return e
	}
	if !c.MatchSubjectID(id) {
		return types.Errf(types.CodeSubjectIDPattern, "subject ID %q does not match the subject-ID pattern %s of study %s (protocol version %d): enrol the subject under the pseudonym the site's screening log assigns, never a name, initials, a date of birth or a hospital number",
			id, c.SubjectIDPattern(), s.ID, s.Current)
	}
	return nil
}

// ownSubject loads a subject of the signer's site, for a task the signer
// must hold there.
func (x *exec) ownSubject(study, id string, task types.Task) (*types.Subject, *types.Error) {
	cached, ok, err := x.a.subjects.get(x.st, types.KeySubject(study, id))
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		if _, e := x.study(study); e != nil {
			return nil, e
		}
		return nil, types.Errf(types.CodeUnknownSubject, "subject %s is not enrolled in study %s", id, study)
	}
	sub := *cached // the caller's own copy
	if cached.Withdrawn != nil {
		w := *cached.Withdrawn
		sub.Withdrawn = &w
	}
	if sub.Site != x.c.org.ID {
		return nil, types.Errf(types.CodeWrongSite, "subject %s belongs to site %s; %s (site %s) cannot act on it", id, sub.Site, x.c.signer.ID, x.c.org.ID)
	}
	if e := x.siteTask(study, sub.Site, task); e != nil {
		return nil, e
	}
	return &sub, nil
}

// anySubject loads a subject of any site of a study.
func (x *exec) anySubject(study, id string) (*types.Subject, *types.Error) {
	var sub types.Subject
	ok, e := x.load(types.KeySubject(study, id), &sub)
	if e != nil {
		return nil, e
	}
	if !ok {
		if _, e := x.study(study); e != nil {
			return nil, e
		}
		return nil, types.Errf(types.CodeUnknownSubject, "subject %s is not enrolled in study %s", id, study)
	}
	return &sub, nil
}

func (x *exec) withdrawSubject(m *types.MsgWithdrawSubject) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskEnroll)
	if e != nil {
		return e
	}
	if e := x.guard(sub.Study, sub.Site, sub.ID, nil, true); e != nil {
		return e
	}
	if x.version >= 3 {
		return x.withdrawKind(sub, m)
	}
	if m.Kind != "" || m.Date != "" {
		return types.Errf(types.CodeWithdrawalKind, "withdrawal kinds and dates need state machine version 3; this ledger runs version %d", x.version)
	}
	if sub.Status == types.SubjectWithdrawn {
		return types.Errf(types.CodeSubjectWithdrawn, "subject %s was already withdrawn at height %d", sub.ID, sub.Withdrawn.Height)
	}
	st := x.stamp()
	sub.Status = types.SubjectWithdrawn
	sub.Withdrawn = &st
	sub.WithdrawReason = m.Reason
	x.st.setJSON(types.KeySubject(sub.Study, sub.ID), sub)
	x.emit("study", sub.Study, "subject", sub.ID)
	return nil
}
