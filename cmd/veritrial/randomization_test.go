package main

import (
	"archive/zip"
	"encoding/csv"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/node"
)

// TestRandomizationOnARealNode runs the scripted flow through a running
// node: the statistician generates and registers a list, a site
// randomises two subjects, the list holder reveals an arm, the
// investigator unblinds one subject and the statistician publishes its
// entry; a tampered or malformed list is refused naming its entry or line.
func TestRandomizationOnARealNode(t *testing.T) {
	t.Parallel()
	work, home, env, n := devNode(t)
	const study = "VT-HTN-201"
	icf := exampleStudy(t, env, work)
	for _, s := range []string{"S1-001", "S1-002"} {
		mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", study, "--subject", s, "--consent-version", "1.0", "--consent-file", icf)
		submit := []string{"form", "submit", "--from", "site1-coordinator", "--study", study, "--subject", s, "--event", "SCR"}
		mustVT(t, env, append(submit, "--form", "DM", "DM.CONSDT=2026-01-05", "DM.AGE=54", "DM.SEX=1", "DM.HEIGHT=178.5", "DM.WEIGHT=82.3", "DM.SMOKE=1")...)
		mustVT(t, env, append(submit, "--form", "IE", "IE.INC1=1", "IE.INC2=1", "IE.INC3=1", "IE.EXC1=0", "IE.EXC2=0", "IE.ELIG=1")...)
		mustVT(t, env, append(submit, "--form", "VS", "VS.DATE=2026-01-20", "VS.TIME=09:30", "VS.POS=1", "VS.SYSBP=150", "VS.DIABP=90", "VS.HR=72",
			"VS.TEMP=36.6", "VS.RESP=14", "VS.WEIGHT=81.5")...)
	}

	seed := filepath.Join(work, "seed")
	writeFile(t, seed, "the statistician's seed\n")
	alloc := filepath.Join(work, "alloc.csv")
	gen := []string{"randomization", "generate", "--from", "sponsor-stat", "--study", study, "--size", "6", "--seed-file", seed}
	if r := mustVT(t, env, append(gen, "--out", alloc)...); !strings.Contains(r.stdout, "Wrote 12 entries of study VT-HTN-201 in 2 strata (blocks of 6)") {
		t.Errorf("generate:\n%s", r.stdout)
	}
	again := filepath.Join(work, "again.csv")
	mustVT(t, env, append(gen, "--out", again)...)
	if a, b := readFile(t, alloc), readFile(t, again); a != b {
		t.Error("the same seed file generated another list")
	}
	failVT(t, env, exitUsage, "block size 4 is not a multiple of the 3 arms", append(gen, "--out", filepath.Join(work, "x.csv"), "--block-size", "4")...)

	// A tampered list: the arm of entry 2 of the first stratum changed.
	lines := strings.Split(readFile(t, alloc), "\n")
	f := strings.Split(lines[2], ",")
	f[3] = map[bool]string{true: "ARM.LOW", false: "ARM.PBO"}[f[3] == "ARM.PBO"]
	lines[2] = strings.Join(f, ",")
	tampered := filepath.Join(work, "tampered.csv")
	writeFile(t, tampered, strings.Join(lines, "\n"))
	bad := filepath.Join(work, "bad.csv")
	writeFile(t, bad, strings.Join(append(lines[:3:3], "VT-HTN-201,site1+SBP-LT160,9,ARM.PBO,00"), "\n"))
	failVT(t, env, exitInput, "bad.csv:4: stratum site1+SBP-LT160: sequence number \"9\" where 3 comes next", "randomization", "register", "--from", "sponsor-stat", "--study", study, bad)

	reg := []string{"randomization", "register", "--from", "sponsor-stat", "--study", study}
	failVT(t, env, exitRejected, "only sponsor organisations may register a sealed allocation list", append([]string{"randomization", "register", "--from", "site1-investigator", "--study", study}, alloc)...)
	r := mustVT(t, env, append(reg, alloc)...)
	for _, want := range []string{"Registered entries 1 to 6 of stratum site1+SBP-LT160", "Registered entries 1 to 6 of stratum site1+SBP-GE160"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("register lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := mustVT(t, env, append(reg, alloc)...); !strings.Contains(r.stdout, "holds every entry") {
		t.Errorf("register again:\n%s", r.stdout)
	}
	failVT(t, env, exitInput, "entry site1+SBP-LT160 #2 (line 3) does not match the ledger", append(reg, tampered)...)

	rnd := []string{"subject", "randomize", "--from", "site1-coordinator", "--study", study}
	if r := mustVT(t, env, append(rnd, "--subject", "S1-001")...); !strings.Contains(r.stdout, "Randomised subject S1-001 of study VT-HTN-201: stratum site1+SBP-LT160, entry 1") {
		t.Errorf("randomize:\n%s", r.stdout)
	}
	start := time.Now()
	mustVT(t, env, append(rnd, "--subject", "S1-002")...)
	// The figure in docs/RANDOMIZATION.md: a randomisation from the
	// command's start to its block's outcome, on one node.
	t.Logf("subject randomize, end to end on one node: %s", time.Since(start).Round(time.Millisecond))
	failVT(t, env, exitRejected, "code 455 (already_randomized)", append(rnd, "--subject", "S1-002")...)

	wantArm := strings.Split(lines[1], ",")[3]
	reveal := []string{"randomization", "reveal", "--from", "sponsor-stat", "--study", study, "--subject", "S1-001"}
	r = mustVT(t, env, append(reveal, "--list", alloc)...)
	for _, want := range []string{"Subject S1-001 of study VT-HTN-201: arm " + wantArm, "entry 1 of stratum site1+SBP-LT160 (list line 2)", "matches the ledger", "Proof: verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reveal lacks %q:\n%s", want, r.stdout)
		}
	}
	failVT(t, env, exitInput, "entry site1+SBP-LT160 #2 (line 3) does not match the ledger", "randomization", "reveal", "--from", "sponsor-stat", "--study", study, "--subject", "S1-002", "--list", tampered)

	showSubj := []string{"show", "subject", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001"}
	if r := mustVT(t, env, showSubj...); !strings.Contains(r.stdout, "entry 1 of stratum site1+SBP-LT160") || !strings.Contains(r.stdout, "Arm sealed") || strings.Contains(r.stdout, "ARM.") {
		t.Errorf("show subject before the unblinding:\n%s", r.stdout)
	}
	publish := []string{"randomization", "publish", "--from", "sponsor-stat", "--study", study, "--list", alloc}
	failVT(t, env, exitRejected, "code 462 (still_blinded)", append(publish, "--subject", "S1-001")...)
	failVT(t, env, exitUsage, `Required flag "reason" not set`, "subject", "unblind", "--from", "site1-investigator", "--study", study, "--subject", "S1-001")
	failVT(t, env, exitRejected, "code 412 (reason_required)", "subject", "unblind", "--from", "site1-investigator", "--study", study, "--subject", "S1-001", "--reason", " ")
	mustVT(t, env, "subject", "unblind", "--from", "site1-investigator", "--study", study, "--subject", "S1-001", "--reason", "suspected anaphylaxis")
	if r := mustVT(t, env, append(publish, "--subject", "S1-001")...); !strings.Contains(r.stdout, "Published the allocation of subject S1-001 of study VT-HTN-201: arm "+wantArm) {
		t.Errorf("publish:\n%s", r.stdout)
	}
	if r := mustVT(t, env, showSubj...); !strings.Contains(r.stdout, "Unblinded ") || !strings.Contains(r.stdout, "suspected anaphylaxis") || !strings.Contains(r.stdout, "Arm "+wantArm+", published at height") {
		t.Errorf("show subject after the publication:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 462 (still_blinded)", append(publish, "--all")...)
	// The report reads the records at the last height verify-chain
	// verified.
	st := waitHeight(t, env, home, 2, n)
	waitHeight(t, env, home, st.Height+1, n)
	mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-chain", "--genesis", filepath.Join(home, "config", "genesis.json"))
	r = mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", study)
	for _, want := range []string{"Emergency unblindings: 1", "S1-001", "site1-investigator (investigator)", "suspected anaphylaxis"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit report lacks %q:\n%s", want, r.stdout)
		}
	}

	// The database lock, then the whole list published; an export at a
	// later height carries every arm, each checked against its
	// commitment, and verify-export proves it.
	pf := filepath.Join(work, "pass")
	writeFile(t, pf, node.DevPassphrase+"\n")
	for _, s := range []string{"S1-001", "S1-002"} {
		mustVT(t, env, "sign", "--from", "site1-investigator", "--passphrase-file", pf, "--study", study, "--subject", s, "--meaning", "approval")
	}
	mustVT(t, env, "lock", "--from", "sponsor-dm", "--study", study)
	mustVT(t, env, "lock", "--from", "regulator-auditor", "--study", study)
	if r := mustVT(t, env, append(publish, "--all")...); !strings.Contains(r.stdout, "Published 11 entries of study VT-HTN-201 (1 to 11 of 11)") {
		t.Errorf("publish --all:\n%s", r.stdout)
	}
	if r := mustVT(t, env, append(publish, "--all")...); !strings.Contains(r.stdout, "published already") {
		t.Errorf("publish --all again:\n%s", r.stdout)
	}
	st = waitHeight(t, env, home, 2, n)
	waitHeight(t, env, home, st.Height+1, n)
	out := filepath.Join(work, "unblinded.zip")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", study, "--format", "csv", "--height", strconv.FormatInt(st.Height, 10), "--out", out)
	mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", out)
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	af, err := zr.Open("allocations.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(af).ReadAll()
	if err != nil || len(rows) != 13 {
		t.Fatalf("allocations.csv: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		if row[7] != "verified" || row[4] == "" {
			t.Errorf("allocations.csv row %v: not published and verified", row)
		}
	}
}
