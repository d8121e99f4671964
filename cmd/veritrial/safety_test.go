package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/audit"
)

// TestConsentAndSafetyOnARealNode: an amendment that needs re-consent,
// a form refused until subject reconsent records it, withdrawal kinds,
// and a serious adverse event shown, acknowledged and reported through a
// running node.
func TestConsentAndSafetyOnARealNode(t *testing.T) {
	t.Parallel()
	work, _, env, _ := devNode(t)
	const study = "VT-HTN-201"
	example := filepath.Join(work, "example.yaml")
	mustVT(t, env, "protocol", "example", "--out", example)
	v1 := readFile(t, example) // consent version 1.0, AE the safety form, AE.SER its seriousness item
	proto := filepath.Join(work, "v1.yaml")
	writeFile(t, proto, v1)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, study)
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	for _, s := range []string{"S1-001", "S1-002"} {
		mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", study, "--subject", s, "--consent-version", "1.0", "--consent-file", icf)
	}

	// The amendment changes the protocol document: re-consent.
	v2 := strings.Replace(v1, `version: "1.0"`, `version: "2.0"`, 1)
	v2 = strings.Replace(v2, "protocol_doc_sha256: 16aa22f4", "protocol_doc_sha256: 26aa22f4", 1)
	same := filepath.Join(work, "v2same.yaml")
	writeFile(t, same, v2)
	failVT(t, env, exitRejected, "code 431 (reconsent_version_required)", "study", "amend", "--from", "sponsor-dm", "--rationale", "new safety monitoring", same)
	proto2 := filepath.Join(work, "v2.yaml")
	writeFile(t, proto2, strings.Replace(v2, `consent_version: "1.0"`, `consent_version: "2.0"`, 1))
	mustVT(t, env, "study", "amend", "--from", "sponsor-dm", "--rationale", "new safety monitoring", proto2)
	mustVT(t, env, "study", "approve-amendment", "--from", "regulator-auditor", "--study", study, "--amendment", "1")

	vs := func(subject string) []string {
		return []string{"form", "submit", "--from", "site1-coordinator", "--study", study, "--subject", subject, "--event", "SCR", "--form", "VS",
			"VS.DATE=2026-01-20", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=62"}
	}
	failVT(t, env, exitRejected, "code 432 (reconsent_required)", vs("S1-001")...)
	reconsent := []string{"subject", "reconsent", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001", "--consent-file", icf}
	failVT(t, env, exitRejected, "code 430 (unknown_consent_version)", append(reconsent, "--consent-version", "9.9")...)
	if r := mustVT(t, env, append(reconsent, "--consent-version", "2.0", "--date", "2026-01-05")...); !strings.Contains(r.stdout, "Recorded the re-consent of subject S1-001 of study VT-HTN-201 to consent version 2.0") {
		t.Errorf("subject reconsent:\n%s", r.stdout)
	}
	mustVT(t, env, vs("S1-001")...)
	if r := mustVT(t, env, "show", "subject", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001"); !strings.Contains(r.stdout, "Re-consented to version 2.0 (SHA-256 ") || !strings.Contains(r.stdout, " on 2026-01-05, recorded ") {
		t.Errorf("show subject after the re-consent:\n%s", r.stdout)
	}

	withdraw := []string{"subject", "withdraw", "--from", "site1-investigator", "--study", study, "--subject", "S1-002", "--reason", "moved abroad"}
	failVT(t, env, exitRejected, "code 433 (withdrawal_kind)", withdraw...)
	if r := mustVT(t, env, append(withdraw, "--kind", "follow_up", "--date", "2026-01-05")...); !strings.Contains(r.stdout, "Withdrew subject S1-002 (follow_up) from study VT-HTN-201") {
		t.Errorf("subject withdraw:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 434 (withdrawal_not_stricter)", append(withdraw, "--kind", "treatment")...)
	if r := mustVT(t, env, "show", "subject", "--from", "site1-coordinator", "--study", study, "--subject", "S1-002"); !strings.Contains(r.stdout, "Withdrawn (follow_up) on 2026-01-05, recorded ") || !strings.Contains(r.stdout, ": moved abroad") {
		t.Errorf("show subject after the withdrawal:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 435 (withdrawn_from_follow_up)", vs("S1-002")...)
	// A serious adverse event of the subject withdrawn from follow-up (the
	// safety form is accepted without its re-consent too).
	mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", study, "--subject", "S1-002", "--event", "W4", "--form", "AE",
		"AE.TERM[1]=Pneumonia", "AE.STDT[1]=2026-02-01", "AE.ONGO[1]=1", "AE.SEV[1]=3", "AE.SER[1]=1", "AE.SERCRIT[1]=3", "AE.REL[1]=1", "AE.ACN[1]=1", "AE.OUT[1]=2")

	mustVT(t, env, "keys", "add", "sponsor-mm")
	mustVT(t, env, "account", "add", "--from", "sponsor-admin", "--account", "sponsor-mm", "--name", "Demo Medical Monitor", "--role", "medical_monitor", "--key", "sponsor-mm")
	show := []string{"show", "safety", "--from", "sponsor-mm", "--study", study}
	r := mustVT(t, env, show...)
	for _, want := range []string{"Serious adverse events of study VT-HTN-201 as of ", ": 1, 1 unacknowledged, 0 past 24 hours", "S1-002", "W4/1", "open "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show safety lacks %q:\n%s", want, r.stdout)
		}
	}
	later := time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
	if r := mustVT(t, env, append(show, "--as-of", later)...); !strings.Contains(r.stdout, "1 past 24 hours without acknowledgement") || !strings.Contains(r.stdout, "OVERDUE (open 2d") {
		t.Errorf("show safety --as-of %s:\n%s", later, r.stdout)
	}
	if r := mustVT(t, env, "show", "safety", "--from", "cro-monitor", "--study", study); !strings.Contains(r.stdout, "Serious adverse events of study VT-HTN-201 as of") || !strings.Contains(r.stdout, ": 0, 0 unacknowledged") {
		t.Errorf("a monitor reads SAE records:\n%s", r.stdout)
	}
	ack := []string{"safety", "acknowledge", "--study", study, "--subject", "S1-002", "--event", "W4", "--form", "AE", "--row", "1", "--comment", "case VT-0001 opened"}
	failVT(t, env, exitRejected, "may not acknowledge a serious adverse event", append(ack, "--from", "sponsor-dm")...)
	if r := mustVT(t, env, append(ack, "--from", "sponsor-mm")...); !strings.Contains(r.stdout, "Acknowledged the serious adverse event of subject S1-002 at W4/1, form AE row 1") {
		t.Errorf("safety acknowledge:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 441 (sae_already_acknowledged)", append(ack, "--from", "sponsor-mm")...)
	var doc struct {
		Safety audit.Safety `json:"safety"`
	}
	decode(t, mustVT(t, env, append(show, "--as-of", later, "--output", "json")...), &doc)
	if s := doc.Safety; len(s.SAEs) != 1 || s.Unacknowledged != 0 || s.Overdue != 0 || s.Late != 0 || s.SAEs[0].Acknowledged == nil || s.SAEs[0].MinutesToAck < 0 || s.SAEs[0].AckComment != "case VT-0001 opened" {
		t.Errorf("show safety after the acknowledgement: %+v", s)
	}
	// The report reads records at the height before the last block (whose
	// app hash the next header holds): one more block after the
	// acknowledgement.
	mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001", "--event", "D1", "--form", "VS",
		"VS.DATE=2026-01-27", "VS.POS=1", "VS.SYSBP=140", "VS.DIABP=90", "VS.HR=64")
	var rep audit.Report
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", study, "--format", "json"), &rep)
	if rep.Safety == nil || len(rep.Safety.SAEs) != 1 || rep.Safety.SAEs[0].Acknowledged == nil {
		t.Errorf("audit report at height %d (acknowledged at %d): %+v", rep.Height, doc.Safety.SAEs[0].Acknowledged.Height, rep.Safety)
	}
	if r := mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", study); !strings.Contains(r.stdout, "Serious adverse events of study VT-HTN-201") {
		t.Errorf("audit report lacks the SAEs:\n%s", r.stdout)
	}
	if r := mustVT(t, env, append(show, "--prove")...); !strings.Contains(r.stdout, "acknowledged") || !strings.Contains(r.stdout, "Proof: verified") {
		t.Errorf("show safety --prove:\n%s", r.stdout)
	}
}
