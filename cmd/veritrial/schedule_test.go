package main

import (
	"encoding/csv"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/protocol"
)

// TestScheduleOnARealNode: a late visit is accepted and the deviation
// said and recorded; show schedule lays out the calendars as of a date;
// a monitor queries the overdue visit's missing form; the audit report
// lists the overdue visits and the deviation, the export its trail, and
// verify-export finds an altered cell of it.
func TestScheduleOnARealNode(t *testing.T) {
	t.Parallel()
	work, _, env, _ := devNode(t)
	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	// The baseline 60 days before today: week 4's window closed 29 days ago.
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
	base := -60
	for _, s := range []string{"S1-001", "S1-002"} {
		mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", s, "--consent-version", "1.0", "--consent-file", icf)
		mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", s, "--event", "D1", "--form", "VS",
			"VS.DATE="+day(base), "VS.POS=1", "VS.SYSBP=128", "VS.DIABP=82", "VS.HR=70")
	}
	r := mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "W4", "--form", "VS",
		"VS.DATE="+day(base+36), "VS.POS=1", "VS.SYSBP=128", "VS.DIABP=82", "VS.HR=70")
	if want := "Protocol deviation opened: visit W4 of subject S1-001 dated " + day(base+36) + ", +5 day(s) outside its window " + day(base+25) + " to " + day(base+31); !strings.Contains(r.stdout, want) {
		t.Errorf("late week 4 does not say %q:\n%s", want, r.stdout)
	}

	asOf := day(base + 40)
	r = mustVT(t, env, "--from", "cro-monitor", "show", "schedule", "--study", "VT-HTN-201", "--site", "site1", "--as-of", asOf, "--prove")
	for _, want := range []string{"Schedule of study VT-HTN-201 as of " + asOf + ": 2 subject(s)", "Visits: 3 overdue, 0 due, 1 out of window, 2 entered, 6 upcoming",
		"out_of_window (+5 d)", "Deviations on the ledger:", "open at height ", " by site1-coordinator", "Proof: verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show schedule lacks %q:\n%s", want, r.stdout)
		}
	}
	var doc struct {
		AsOf      string `json:"as_of"`
		Schedules []struct {
			Subject string           `json:"subject"`
			Anchor  string           `json:"anchor"`
			Visits  []protocol.Visit `json:"visits"`
		} `json:"schedules"`
	}
	decode(t, mustVT(t, env, "--from", "site1-coordinator", "show", "schedule", "--study", "VT-HTN-201", "--subject", "S1-002", "--as-of", asOf, "--output", "json"), &doc)
	if len(doc.Schedules) != 1 || doc.Schedules[0].Anchor != day(base) || doc.Schedules[0].Visits[2].Event != "W4" || doc.Schedules[0].Visits[2].Status != protocol.VisitOverdue {
		t.Errorf("S1-002's schedule: %+v", doc)
	}
	failVT(t, env, exitUsage, "--as-of", "--from", "cro-monitor", "show", "schedule", "--study", "VT-HTN-201", "--as-of", "next week")

	r = mustVT(t, env, "query", "open", "--from", "cro-monitor", "--study", "VT-HTN-201", "--subject", "S1-002", "--event", "W4", "--form", "VS", "--missing", "--text", "Week 4 overdue: please enter or explain")
	if !strings.Contains(r.stdout, "Raised query 1 on missing form VS of subject S1-002 at W4") {
		t.Errorf("query open --missing:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 408 (form_exists)", "query", "open", "--from", "cro-monitor", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "W4", "--form", "VS", "--missing", "--text", "?")

	var rep audit.Report
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", "VT-HTN-201", "--format", "json"), &rep)
	var overdue []string
	for _, o := range rep.Overdue {
		overdue = append(overdue, o.Subject+" "+o.Event)
	}
	if got := strings.Join(overdue, ", "); !strings.Contains(got, "S1-001 SCR") || !strings.Contains(got, "S1-002 W4") || strings.Contains(got, "S1-001 W4") {
		t.Errorf("report's overdue visits: %s", got)
	}
	if len(rep.Deviations) != 1 || rep.Deviations[0].Subject != "S1-001" || rep.Deviations[0].DaysOff != 5 {
		t.Errorf("report's deviations: %+v", rep.Deviations)
	}
	if r := mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "Overdue visits on ") || !regexp.MustCompile(`site1 +S1-002 +W4 `).MatchString(r.stdout) {
		t.Errorf("report text:\n%s", r.stdout)
	}

	// The export lists the deviation; verify-export checks its cells.
	out := filepath.Join(work, "export")
	mustVT(t, env, "--from", "regulator-auditor", "export", "--study", "VT-HTN-201", "--format", "csv", "--out", out)
	dev := filepath.Join(out, "protocol_deviations.csv")
	rows, err := csv.NewReader(strings.NewReader(readFile(t, dev))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("protocol_deviations.csv (%v): %v", err, rows)
	}
	key := "dev/VT-HTN-201/S1-001/W4/0001/VS"
	if got, want := strings.Join(rows[1][:16], ","), "S1-001,site1,W4,1,VS,VS.DATE,1,open,"+day(base+36)+","+day(base)+","+day(base+28)+","+day(base+25)+","+day(base+31)+",5,1,open"; got != want || rows[1][len(rows[1])-1] != key {
		t.Errorf("protocol_deviations.csv row\n%s\nwant\n%s (%s)", got, want, key)
	}
	mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", out)
	writeFile(t, dev, strings.Replace(readFile(t, dev), ",5,1,open,", ",4,1,open,", 1))
	r = vt(t, env, "--from", "regulator-auditor", "audit", "verify-export", out, "--output", "json")
	if r.code != exitFailure {
		t.Fatalf("verify-export of the altered deviation: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var ve audit.ExportReport
	decode(t, r, &ve)
	if len(ve.Differences) != 1 || ve.Differences[0] != (audit.Difference{Kind: "changed value", Sheet: "protocol_deviations.csv", Row: 2, Column: "N (days_off)", Key: key, File: "4", Ledger: "5"}) {
		t.Errorf("verify-export of the altered deviation: %+v", ve.Differences)
	}
}
