package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestSubjectIDPattern(t *testing.T) {
	withPattern := func(pat string) *Protocol {
		p := mustExample(t)
		p.Study.SubjectIDPattern = pat
		return p
	}
	// The default: S, the site's number, the subject's number there.
	p := withPattern("")
	c, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.SubjectIDPattern() != DefaultSubjectIDPattern || !c.SubjectIDDefault() {
		t.Fatalf("no pattern declared: %q (default %v)", c.SubjectIDPattern(), c.SubjectIDDefault())
	}
	for id, want := range map[string]bool{
		"S1-001": true, "S12-00457": true, "S9999-99999": true,
		"S1-01": false, "S1-123456": false, "s1-001": false, "S-001": false, "S1_001": false,
		"JD-1985": false, "S1-19850312": false, "JohnDoe": false, "S1-001x": false, "xS1-001": false, "": false,
	} {
		if got := c.MatchSubjectID(id); got != want {
			t.Errorf("default pattern, ID %q: match %v, want %v", id, got, want)
		}
	}

	// A study's own pattern matches the whole ID, anchored or not.
	for _, pat := range []string{"HTN-[A-Z]{2}[0-9]{4}", "^HTN-[A-Z]{2}[0-9]{4}$", "  HTN-[A-Z]{2}[0-9]{4} "} {
		c, err := Compile(withPattern(pat))
		if err != nil {
			t.Fatalf("pattern %q: %v", pat, err)
		}
		if c.SubjectIDDefault() || c.SubjectIDPattern() != strings.TrimSpace(pat) {
			t.Errorf("pattern %q compiled as %q (default %v)", pat, c.SubjectIDPattern(), c.SubjectIDDefault())
		}
		if !c.MatchSubjectID("HTN-AB0001") || c.MatchSubjectID("HTN-AB00012") || c.MatchSubjectID("XHTN-AB0001") || c.MatchSubjectID("S1-001") {
			t.Errorf("pattern %q does not match whole IDs only", pat)
		}
	}

	// Bad patterns are definition errors with the path and a fix.
	for pat, want := range map[string]string{
		"S[0-9":                      "not a valid regular expression",
		"S(?=1)":                     "not a valid regular expression",
		"[A-Z]*":                     "matches an empty ID",
		"S1|":                        "matches an empty ID",
		strings.Repeat("S[0-9]", 50): "longer than 256 bytes",
	} {
		_, err := Compile(withPattern(pat))
		var de *DefinitionError
		if !errors.As(err, &de) || de.Path != "study.subject_id_pattern" || !strings.Contains(de.Msg, want) || !strings.Contains(de.Fix, DefaultSubjectIDPattern) {
			t.Errorf("pattern %q: %v, want a definition error at study.subject_id_pattern saying %q with a fix", pat, err, want)
		}
	}
}

// TestSubjectIDPatternFingerprint: a protocol that declares no pattern
// keeps the fingerprint it had before patterns existed; declaring one,
// even the default, is a change of the protocol.
func TestSubjectIDPatternFingerprint(t *testing.T) {
	p := mustExample(t)
	p.Study.SubjectIDPattern = ""
	b, err := p.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "subject_id_pattern") {
		t.Fatalf("a protocol without a pattern encodes one: %s", b)
	}
	q := mustExample(t)
	if q.Study.SubjectIDPattern != DefaultSubjectIDPattern || fingerprint(t, p) == fingerprint(t, q) {
		t.Fatalf("the example declares %q; fingerprints with and without it are equal: %v", q.Study.SubjectIDPattern, fingerprint(t, p) == fingerprint(t, q))
	}
}

// TestDiffSubjectIDPattern: an amendment that changes the pattern shows
// it, old and new in force (the default spelled out), with its impact.
func TestDiffSubjectIDPattern(t *testing.T) {
	v1 := mustExample(t)
	v1.Study.SubjectIDPattern = ""
	v2 := mustExample(t)
	v2.Study.Version = "2.0"
	v2.Study.SubjectIDPattern = "^HTN[0-9]{2}-[0-9]{4}$"
	a := Diff(v1, v2)
	var got *Change
	for i, c := range a.Changes {
		if c.Field == "subject_id_pattern" {
			got = &a.Changes[i]
		}
	}
	if got == nil || got.Old != DefaultSubjectIDPattern || got.New != v2.Study.SubjectIDPattern || got.Impact != impactSubjectID {
		t.Fatalf("the diff's pattern change: %+v\n%s", got, a)
	}
	if !strings.Contains(a.String(), "subject_id_pattern") {
		t.Errorf("the report does not show the pattern:\n%s", a)
	}
	// Declaring the default explicitly changes nothing in force.
	v2.Study.SubjectIDPattern = DefaultSubjectIDPattern
	for _, c := range Diff(v1, v2).Changes {
		if c.Field == "subject_id_pattern" {
			t.Errorf("declaring the default pattern shows as a change: %+v", c)
		}
	}
}
