package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/node"
)

// enterVS registers study VT-HTN-201, enrols subject S1-001 and enters its
// screening vital signs, correcting the heart rate (72, then 58).
func enterVS(t *testing.T, work string, env []string) {
	t.Helper()
	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "1.0", "--consent-file", icf)
	key := []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	mustVT(t, env, append([]string{"form", "submit", "--from", "site1-coordinator"}, append(key, "VS.DATE=2026-01-12", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=72", "VS.TEMP=36.8")...)...)
	mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "transcription error"}, append(key, "VS.HR=58")...)...)
}

// signAndLock has the investigator sign S1-001's casebook, then locks the
// study (sponsor and regulator).
func signAndLock(t *testing.T, work string, env []string) {
	t.Helper()
	pf := filepath.Join(work, "pass")
	writeFile(t, pf, node.DevPassphrase+"\n")
	mustVT(t, env, "sign", "--from", "site1-investigator", "--passphrase-file", pf, "--study", "VT-HTN-201", "--subject", "S1-001", "--meaning", "approval")
	mustVT(t, env, "lock", "--from", "sponsor-dm", "--study", "VT-HTN-201")
	mustVT(t, env, "lock", "--from", "regulator-auditor", "--study", "VT-HTN-201")
}

// TestExportOnARealNode exports from a running node: before the lock (the
// latest height, said on stderr and in the file), then by default at the
// database lock height, byte-identical when repeated, in every format
// (ODM validated against the 1.3.2 schema with xmllint; one subject's
// casebook verified with audit verify-export).
func TestExportOnARealNode(t *testing.T) {
	t.Parallel()
	work, home, env, n := devNode(t)
	enterVS(t, work, env)

	// Not locked: the latest height, with a warning.
	early := filepath.Join(work, "early.xlsx")
	r := mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "xlsx", "--out", early)
	if !strings.Contains(r.stderr, "NOT locked") || !strings.Contains(r.stdout, "study NOT locked at this height") || !strings.Contains(r.stdout, "dataset digest") {
		t.Errorf("export before the lock:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	failVT(t, env, exitUsage, "already exists", "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "xlsx", "--out", early)
	failVT(t, env, exitUsage, `--format "sas" is not known`, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "sas", "--out", filepath.Join(work, "x.sas"))
	failVT(t, env, exitUsage, "they go with --format pdf", "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "xlsx", "--site", "site1", "--out", filepath.Join(work, "x.xlsx"))
	failVT(t, env, exitFailure, "not registered", "--from", "sponsor-dm", "export", "--study", "NOPE", "--format", "odm", "--out", filepath.Join(work, "x.xml"))

	signAndLock(t, work, env)
	var st struct {
		Height int64 `json:"height"`
	}
	// Blocks keep coming after the lock; the export stays at the lock height.
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "status", "--output", "json"), &st)
	waitHeight(t, env, home, st.Height+2, n)

	var res exportResult
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "xlsx", "--out", filepath.Join(work, "a.xlsx"), "--output", "json"), &res)
	if !res.Locked || res.Basis != "database lock" || res.Forms != 1 || res.Audit == 0 || len(res.Digest) != 64 {
		t.Errorf("locked export: %+v", res)
	}
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "xlsx", "--out", filepath.Join(work, "b.xlsx"))
	if !bytes.Equal([]byte(readFile(t, filepath.Join(work, "a.xlsx"))), []byte(readFile(t, filepath.Join(work, "b.xlsx")))) {
		t.Error("two exports of the locked dataset differ")
	}
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "csv", "--out", filepath.Join(work, "csvdir"))
	if s := readFile(t, filepath.Join(work, "csvdir", "form_VS.csv")); !strings.Contains(s, "S1-001,site1,SCR,1,,2026-01-12,") {
		t.Errorf("form_VS.csv:\n%s", s)
	}
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "csv", "--out", filepath.Join(work, "data.zip"))
	dsj := filepath.Join(work, "data.dataset-json.zip")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "dataset-json", "--out", dsj)
	zr, err := zip.OpenReader(dsj)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := zr.Open("form_VS.json")
	if err != nil {
		t.Fatalf("Dataset-JSON export: %v", err)
	}
	vsData, _ := io.ReadAll(vs)
	zr.Close()
	if s := string(vsData); !strings.Contains(s, `["S1-001","site1","SCR",1,null,"2026-01-12",`) || !strings.Contains(s, `"datasetJSONVersion":"1.1.0"`) {
		t.Errorf("form_VS.json:\n%s", s)
	}
	// One subject's casebook, into a new directory, verified against the
	// node; a site the study does not have is refused.
	cb := filepath.Join(work, "casebooks")
	var pr exportResult
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "pdf", "--subject", "S1-001", "--out", cb, "--output", "json"), &pr)
	if pr.Subjects != 1 || pr.Digest != res.Digest {
		t.Errorf("casebook export: %+v (the workbook's digest %s)", pr, res.Digest)
	}
	if s := readFile(t, filepath.Join(cb, "casebooks.csv")); !strings.HasPrefix(readFile(t, filepath.Join(cb, "casebook_S1-001.pdf")), "%PDF-") || !strings.Contains(s, "casebook_S1-001.pdf,S1-001,site1,") {
		t.Errorf("casebooks.csv:\n%s", s)
	}
	if r := mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", cb); !strings.Contains(r.stdout, "OK: the file is exactly the ledger's data") {
		t.Errorf("verify-export of the casebook:\n%s", r.stdout)
	}
	failVT(t, env, exitFailure, "site site9 is not a site of study VT-HTN-201", "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "pdf", "--site", "site9", "--out", filepath.Join(work, "cb.zip"))
	odm := filepath.Join(work, "locked.xml")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", "VT-HTN-201", "--format", "odm", "--out", odm, "--height", strconv.FormatInt(res.Height, 10))
	x := readFile(t, odm)
	for _, w := range []string{`Archival="Yes"`, "<ReasonForChange>transcription error", "Height basis: database lock", res.Digest} {
		if !strings.Contains(x, w) {
			t.Errorf("ODM lacks %q", w)
		}
	}
	t.Run("ODMSchema", func(t *testing.T) {
		lint, err := exec.LookPath("xmllint")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("xmllint is not installed: the ODM schema validation cannot run in CI (make xmllint installs libxml2-utils)")
			}
			t.Skip("ODM SCHEMA VALIDATION SKIPPED: xmllint is not installed (make xmllint installs libxml2-utils; with CI set this fails)")
		}
		// The schema app/export's tests vendor (unmodified CDISC files).
		schema := filepath.Join("..", "..", "app", "export", "testdata", "odm1.3.2", "ODM1-3-2.xsd")
		if out, err := exec.Command(lint, "--noout", "--nonet", "--schema", schema, odm).CombinedOutput(); err != nil {
			t.Errorf("ODM export does not validate against %s: %v\n%s", schema, err, out)
		}
	})
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
}
