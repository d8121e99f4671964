package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/node"
)

// TestDataManagementOnARealNode drives queries, SDV, the e-signature
// (passphrase never from the environment), freeze and the database lock
// through a running node.
func TestDataManagementOnARealNode(t *testing.T) {
	t.Parallel()
	work, _, env, n := devNode(t)

	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto, "--sdv-policy", "all")
	activateSite1(t, env, "VT-HTN-201")
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "1.0", "--consent-file", icf)
	key := []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	// Heart rate 38 is below the expected 40: the ledger raises query 1,
	// and the submission says so.
	var sub txOutcome
	decode(t, mustVT(t, env, append([]string{"form", "submit", "--from", "site1-coordinator", "--output", "json"}, append(key, "VS.DATE=2026-01-12", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=38")...)...), &sub)
	if len(sub.Effects) != 1 || sub.Effects[0] != "Query 1 raised by the ledger for a soft edit-check warning: Heart rate 38 bpm is below the expected 40 (VS.HR)" {
		t.Errorf("submission effects: %q", sub.Effects)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201", "--prove"); !strings.Contains(r.stdout, "system") || !strings.Contains(r.stdout, "VS.HR") || !strings.Contains(r.stdout, "Proof: every query verified") {
		t.Errorf("query list:\n%s", r.stdout)
	}
	r := mustVT(t, env, append([]string{"query", "open", "--from", "cro-monitor", "--item", "VS.SYSBP", "--text", "Source shows 146"}, key...)...)
	if !strings.Contains(r.stdout, "Raised query 2") {
		t.Errorf("query open:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 502 (query_state)", "query", "close", "--from", "cro-monitor", "--study", "VT-HTN-201", "--number", "2")
	mustVT(t, env, "query", "answer", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--number", "2", "--text", "Source checked: 148")
	mustVT(t, env, "query", "close", "--from", "cro-monitor", "--study", "VT-HTN-201", "--number", "2")
	// The close without a comment ends with its author; the ledger, not
	// the coordinator whose values raised it, opened query 1.
	r = mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201", "--status", "all", "--thread")
	for _, want := range []string{"2 queries in study VT-HTN-201 at height", "close by cro-monitor\n", "open by system: Heart rate 38 bpm is below the expected 40",
		"open by the ledger's edit check range.below_expected, on the values entered"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("query list --status all lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "close by cro-monitor:") || strings.Contains(r.stdout, "open by site1-coordinator") || strings.Contains(r.stdout, "all queries") {
		t.Errorf("query list --status all:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 502 (query_state)", "query", "answer", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--number", "2", "--text", "late")

	mustVT(t, env, "sdv", "--from", "cro-monitor", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS")
	failVT(t, env, exitRejected, "may verify data against source", "sdv", "--from", "site1-investigator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR")
	// The correction answers query 1 and removes the heart rate's SDV,
	// and says so (39 is still below the expected 40: the query's
	// condition holds, so it stays answered, not closed by the ledger).
	r = mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "transcription error", "--resolves", "1"}, append(key, "VS.HR=39")...)...)
	for _, want := range []string{"\n  Query 1 answered by this correction\n", "\n  Source data verification removed from the corrected VS.HR of form VS at SCR of subject S1-001 (SDV now partial)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("correction output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "sdv", "--study", "VT-HTN-201", "--subject", "S1-001", "--prove"); !strings.Contains(r.stdout, "partial") || !strings.Contains(r.stdout, "de-verified by correction tx") {
		t.Errorf("show sdv:\n%s", r.stdout)
	}
	mustVT(t, env, "sdv", "--from", "cro-monitor", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS", "--item", "VS.HR")

	// Signing: never with the passphrase from the environment.
	sign := []string{"sign", "--from", "site1-investigator", "--study", "VT-HTN-201", "--subject", "S1-001", "--meaning", "approval"}
	// (the attestation comes first on stderr, then the refusal)
	r = vt(t, env, sign...)
	if r.code != exitKey || !strings.Contains(r.stderr, "Error: signing needs your passphrase") || !strings.Contains(r.stderr, "VERITRIAL_PASSPHRASE is never accepted") {
		t.Errorf("sign with the passphrase only in the environment: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "I, Dr. Demo Investigator (investigator), electronically sign the whole casebook of subject S1-001") {
		t.Errorf("no attestation shown:\n%s", r.stderr)
	}
	pf := filepath.Join(work, "pass")
	writeFile(t, pf, node.DevPassphrase+"\n")
	for _, bad := range []struct{ from, meaning, want string }{
		{"site1-coordinator", "approval", "may not sign case report forms electronically"},
		{"site1-investigator", "witness", "code 506 (signature_meaning)"},
	} {
		r := vt(t, env, "sign", "--from", bad.from, "--passphrase-file", pf, "--study", "VT-HTN-201", "--subject", "S1-001", "--meaning", bad.meaning)
		if r.code != exitRejected || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("sign as %s with %s: exit %d\n%s", bad.from, bad.meaning, r.code, r.stderr)
		}
	}
	if r := mustVT(t, env, append(sign, "--passphrase-file", pf)...); !strings.Contains(r.stdout, "Signed (approval, signature 1") {
		t.Errorf("sign:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "signatures", "--study", "VT-HTN-201", "--subject", "S1-001", "--prove"); !strings.Contains(r.stdout, "valid") || !strings.Contains(r.stdout, "Dr. Demo Investigator") || !strings.Contains(r.stdout, "meaning: approval") {
		t.Errorf("show signatures:\n%s", r.stdout)
	}

	// Freeze, then the database lock: blocked by the answered query 1.
	mustVT(t, env, "freeze", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--reason", "LPLV")
	failVT(t, env, exitRejected, "code 509 (frozen)", append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "x"}, append(key, "VS.HR=37")...)...)
	if r := mustVT(t, env, "lock", "--from", "sponsor-dm", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "approval recorded: 1 of 2") {
		t.Errorf("lock approval:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "query 1 on S1-001 SCR/1 VS VS.HR is answered", "lock", "--from", "regulator-auditor", "--study", "VT-HTN-201")
	mustVT(t, env, "query", "close", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--number", "1")
	// Closing the query changed the data: the sponsor's approval lapsed.
	if r := mustVT(t, env, "show", "locks", "--from", "regulator-auditor", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "Cancelled by a change to the data: the database lock approvals of sponsor") ||
		strings.Contains(r.stdout, "Pending database lock") {
		t.Errorf("show locks after the query's close:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "lock", "--from", "regulator-auditor", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "approval recorded: 1 of 2") {
		t.Errorf("lock approval after the lapse:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "lock", "--from", "sponsor-dm", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "LOCKED at height") {
		t.Errorf("lock:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 510 (locked)", append([]string{"query", "open", "--from", "cro-monitor", "--text", "late"}, key...)...)
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "locks", "--study", "VT-HTN-201", "--prove"); !strings.Contains(r.stdout, "Database: LOCKED at height") || !strings.Contains(r.stdout, "approved by regulator (regulator-auditor), sponsor (sponsor-dm)") {
		t.Errorf("show locks:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001"); !strings.Contains(r.stdout, "locked") || !strings.Contains(r.stdout, "0 open, 0 answered (of 2)") || !strings.Contains(r.stdout, "Signature 1 (casebook, approval)") {
		t.Errorf("show subject:\n%s", r.stdout)
	}
	failVT(t, env, exitUsage, "reason", "unlock", "--from", "sponsor-dm", "--study", "VT-HTN-201")
	mustVT(t, env, "unlock", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--reason", "late SAE")
	if r := mustVT(t, env, "unlock", "--from", "regulator-auditor", "--study", "VT-HTN-201", "--reason", "agreed"); !strings.Contains(r.stdout, "unlocked") {
		t.Errorf("unlock:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "study", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "Database: not locked") {
		t.Errorf("show study:\n%s", r.stdout)
	}
	// After the unlock a correction invalidates the casebook signature,
	// and says so.
	if r := mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "late SAE follow-up"}, append(key, "VS.HR=60")...)...); !strings.Contains(r.stdout, "\n  Signature 1 of subject S1-001 invalidated by this correction: the casebook needs a new signature\n") {
		t.Errorf("correction after signature:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "signatures", "--study", "VT-HTN-201", "--subject", "S1-001"); !strings.Contains(r.stdout, "INVALIDATED - needs re-signature") || !strings.Contains(r.stdout, "late SAE follow-up") {
		t.Errorf("show signatures after correction:\n%s", r.stdout)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
}
