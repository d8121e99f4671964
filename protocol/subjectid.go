package protocol

import (
	"regexp"
	"strings"
)

// DefaultSubjectIDPattern is the subject-ID pattern of a protocol that
// declares none: "S", the site's number, a hyphen and the subject's
// number at the site (S1-001, S12-00457). Names, initials, dates of birth
// and hospital record numbers do not fit it.
const DefaultSubjectIDPattern = `^S[0-9]{1,4}-[0-9]{3,5}$`

// MaxSubjectIDPattern is the longest pattern accepted, in bytes.
const MaxSubjectIDPattern = 256

// compileSubjectID compiles the study's subject-ID pattern (the default
// when it declares none). A pattern always matches the whole ID, anchored
// or not. Go's regular expressions run in time linear in the ID, so every
// validator reaches the same verdict at the same cost.
func (k *compiler) compileSubjectID() {
	pat := subjectIDPattern(k.c.p.Study)
	k.c.subjectIDPattern = pat
	const path, fix = "study.subject_id_pattern", "give a regular expression a pseudonym matches and a name, initials or a date do not, e.g. " + DefaultSubjectIDPattern
	if len(pat) > MaxSubjectIDPattern {
		k.add(path, "", "the subject-ID pattern is longer than 256 bytes", fix)
		return
	}
	re, err := regexp.Compile(`^(?:` + pat + `)$`)
	if err != nil {
		k.add(path, "", "the subject-ID pattern is not a valid regular expression: "+err.Error(), fix)
		return
	}
	if re.MatchString("") {
		k.add(path, "", "the subject-ID pattern matches an empty ID", fix)
		return
	}
	k.c.subjectID = re
}

// SubjectIDPattern is the pattern every subject ID enrolled under the
// protocol must match: the study's own, or DefaultSubjectIDPattern.
func (c *Compiled) SubjectIDPattern() string { return c.subjectIDPattern }

// SubjectIDDefault reports whether the protocol declares no subject-ID
// pattern of its own, so that DefaultSubjectIDPattern applies.
func (c *Compiled) SubjectIDDefault() bool {
	return strings.TrimSpace(c.p.Study.SubjectIDPattern) == ""
}

// MatchSubjectID reports whether id matches the subject-ID pattern as a
// whole.
func (c *Compiled) MatchSubjectID(id string) bool { return c.subjectID.MatchString(id) }

// subjectIDPattern is the pattern in force under a study's metadata.
func subjectIDPattern(s Study) string {
	if p := strings.TrimSpace(s.SubjectIDPattern); p != "" {
		return p
	}
	return DefaultSubjectIDPattern
}
