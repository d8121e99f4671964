package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestProtocolCommands(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	yaml := filepath.Join(dir, "htn.yaml")
	xlsx := filepath.Join(dir, "htn.xlsx")
	csv := filepath.Join(dir, "htn.csv")
	mustVT(t, env, "protocol", "example", "--out", yaml)
	mustVT(t, env, "protocol", "example", "--out", xlsx)
	mustVT(t, env, "protocol", "example", "--format", "redcap", "--out", csv)
	failVT(t, env, exitUsage, "already exists", "protocol", "example", "--out", yaml)
	failVT(t, env, exitUsage, "does not end in .xlsx", "protocol", "example", "--format", "xlsx", "--out", filepath.Join(dir, "x.yaml"))

	var fromYAML, fromXLSX, fromCSV protocolSummary
	decode(t, mustVT(t, env, "protocol", "check", yaml, "-o", "json"), &fromYAML)
	decode(t, mustVT(t, env, "protocol", "check", xlsx, "-o", "json"), &fromXLSX)
	decode(t, mustVT(t, env, "protocol", "check", csv, "--base", yaml, "-o", "json"), &fromCSV)
	if fromYAML.Study == "" || fromYAML.Forms == 0 || fromYAML.Items == 0 || fromYAML.Events == 0 || len(fromYAML.Fingerprint) != 64 {
		t.Fatalf("check summary: %+v", fromYAML)
	}
	if fromXLSX.Fingerprint != fromYAML.Fingerprint {
		t.Errorf("xlsx fingerprint %s differs from yaml %s", fromXLSX.Fingerprint, fromYAML.Fingerprint)
	}
	if fromCSV.Items != fromYAML.Items {
		t.Errorf("REDCap items %d, yaml %d", fromCSV.Items, fromYAML.Items)
	}
	if fromCSV.Fingerprint != fromYAML.Fingerprint {
		t.Errorf("REDCap fingerprint %s differs from yaml %s", fromCSV.Fingerprint, fromYAML.Fingerprint)
	}
	// A base holding only the study and its events.
	full, _ := os.ReadFile(yaml)
	partial := filepath.Join(dir, "study-and-events.yaml")
	os.WriteFile(partial, full[:bytes.Index(full, []byte("\nforms:"))+1], 0o600)
	var fromPartial protocolSummary
	decode(t, mustVT(t, env, "protocol", "check", csv, "--base", partial, "-o", "json"), &fromPartial)
	if fromPartial.Fingerprint != fromYAML.Fingerprint {
		t.Errorf("REDCap with a partial base: fingerprint %s, yaml %s", fromPartial.Fingerprint, fromYAML.Fingerprint)
	}
	failVT(t, env, exitInput, "a base protocol must be a .yaml, .yml or .json file", "protocol", "check", csv, "--base", xlsx)
	if r := mustVT(t, env, "protocol", "check", yaml); !strings.Contains(r.stdout, fromYAML.Fingerprint) {
		t.Errorf("text check lacks the fingerprint:\n%s", r.stdout)
	}

	// A valid protocol under which no data can be entered: a warning.
	data, _ := os.ReadFile(yaml)
	empty := filepath.Join(dir, "no-forms.yaml")
	data = regexp.MustCompile(`(?m)^ *(visit_date|anchor_event): .*\n`).ReplaceAll(data, nil)   // a schedule's dates need forms
	data = regexp.MustCompile(`(?s)\nrandomization:\n.*?\n\n`).ReplaceAll(data, []byte("\n\n")) // and so does eligibility
	os.WriteFile(empty, regexp.MustCompile(`(?m)^    forms: \[.*\]$`).ReplaceAll(data, []byte("    forms: []")), 0o600)
	var noForms protocolSummary
	decode(t, mustVT(t, env, "protocol", "check", empty, "-o", "json"), &noForms)
	if len(noForms.Warnings) != 1 || !strings.Contains(noForms.Warnings[0].Msg, "no event collects any form") || len(fromYAML.Warnings) != 0 {
		t.Errorf("warnings %v, of the example %v", noForms.Warnings, fromYAML.Warnings)
	}

	// An amendment: a new version label is a compatible change.
	v2 := filepath.Join(dir, "htn-v2.yaml")
	os.WriteFile(v2, bytes.Replace(data, []byte(`version: "1.0"`), []byte(`version: "2.0"`), 1), 0o600)
	r := mustVT(t, env, "protocol", "diff", yaml, v2)
	if !strings.Contains(r.stdout, "2.0") || !strings.Contains(strings.ToLower(r.stdout), "compatible") {
		t.Errorf("diff output:\n%s", r.stdout)
	}
	var am struct {
		Compatible bool `json:"compatible"`
	}
	decode(t, mustVT(t, env, "protocol", "diff", yaml, v2, "-o", "json"), &am)
	if !am.Compatible {
		t.Errorf("a version label change is not compatible")
	}

	// Broken input: one clear error, non-zero exit, JSON error document.
	failVT(t, env, exitInput, "no such file", "protocol", "check", filepath.Join(dir, "missing.yaml"))
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("study: [unclosed\n"), 0o600)
	r = failVT(t, env, exitInput, "broken.yaml", "protocol", "check", broken, "-o", "json")
	var doc struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	decode(t, r, &doc)
	if doc.ExitCode != exitInput || doc.Error == "" {
		t.Errorf("JSON error document: %+v", doc)
	}

	tpl := filepath.Join(dir, "tpl.xlsx")
	mustVT(t, env, "protocol", "template", "--out", tpl)
	if st, err := os.Stat(tpl); err != nil || st.Size() == 0 {
		t.Fatalf("template not written: %v", err)
	}
}

// TestProtocolSubjectIDPattern: check shows the pattern subject IDs must
// match (the study's own, or the default when it declares none), refuses
// a pattern that is not a usable regular expression, and diff shows an
// amendment that changes it.
func TestProtocolSubjectIDPattern(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	yaml := filepath.Join(dir, "htn.yaml")
	mustVT(t, env, "protocol", "example", "--out", yaml)
	data, err := os.ReadFile(yaml)
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`(?m)^  subject_id_pattern: .*$`)
	if !declared.Match(data) {
		t.Fatalf("the example declares no subject_id_pattern:\n%s", data)
	}
	write := func(name, line string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, declared.ReplaceAll(data, []byte(line)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	var s protocolSummary
	decode(t, mustVT(t, env, "protocol", "check", yaml, "-o", "json"), &s)
	if s.SubjectIDs != `^S[0-9]{1,4}-[0-9]{3,5}$` || s.SubjectIDsDefault {
		t.Errorf("the example's pattern: %q (default %v)", s.SubjectIDs, s.SubjectIDsDefault)
	}
	none := write("none.yaml", "")
	decode(t, mustVT(t, env, "protocol", "check", none, "-o", "json"), &s)
	if s.SubjectIDs == "" || !s.SubjectIDsDefault {
		t.Errorf("no pattern declared: %q (default %v)", s.SubjectIDs, s.SubjectIDsDefault)
	}
	if r := mustVT(t, env, "protocol", "check", none); !strings.Contains(r.stdout, "Subject IDs") || !strings.Contains(r.stdout, "(the default") {
		t.Errorf("check does not show the default pattern:\n%s", r.stdout)
	}
	failVT(t, env, exitInput, `column "subject_id_pattern": the subject-ID pattern is not a valid regular expression`,
		"protocol", "check", write("bad.yaml", "  subject_id_pattern: 'S[0-9'"))

	own := write("own.yaml", "  subject_id_pattern: '^HTN[0-9]{2}-[0-9]{4}$'")
	if err := os.WriteFile(own, bytes.Replace(mustRead(t, own), []byte(`version: "1.0"`), []byte(`version: "2.0"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustVT(t, env, "protocol", "diff", yaml, own)
	if !strings.Contains(r.stdout, "subject_id_pattern") || !strings.Contains(r.stdout, "^HTN[0-9]{2}-[0-9]{4}$") {
		t.Errorf("diff does not show the new pattern:\n%s", r.stdout)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
