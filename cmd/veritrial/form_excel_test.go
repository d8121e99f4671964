package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestExcelEntryOnARealNode runs the Excel door end to end: a template for
// two enrolled subjects, cells filled with excelize, an import (all
// submitted, in two waves because eligibility reads demographics), the same
// import again (all skipped), a refused change without --reason, then one
// changed cell imported as a correction of that item only.
func TestExcelEntryOnARealNode(t *testing.T) {
	t.Parallel()
	work, _, env, _ := devNode(t)

	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	for _, s := range []string{"S1-001", "S1-002"} {
		mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", s,
			"--consent-version", "1.0", "--consent-sha256", strings.Repeat("ab", 32))
	}

	book := filepath.Join(work, "entry.xlsx")
	var tpl struct {
		File     string `json:"file"`
		Subjects int    `json:"subjects"`
		Meta     struct {
			Site   string `json:"site"`
			Height int64  `json:"height"`
		} `json:"meta"`
	}
	decode(t, mustVT(t, env, "form", "template", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--out", book, "--output", "json"), &tpl)
	if tpl.Subjects != 2 || tpl.Meta.Site != "site1" || tpl.Meta.Height < 1 {
		t.Fatalf("template: %+v", tpl)
	}
	failVT(t, env, exitUsage, "already exists", "--from", "sponsor-dm", "form", "template", "--study", "VT-HTN-201", "--out", book)

	// S1-001 at screening: DM, IE (its conditions read DM.SEX) and VS;
	// S1-002: VS. Rows: DM/IE S1-001 SCR = 4, S1-002 SCR = 5; VS S1-001 SCR
	// = 4, S1-002 SCR = 12.
	edit(t, book, func(f *excelize.File) {
		consent := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		cells := map[string]map[string]any{
			"DM": {"E4": consent, "F4": 54, "G4": "1=Male", "K4": 178.5, "L4": 82.3, "M4": "Never"},
			"IE": {"E4": "1=Yes", "F4": "1=Yes", "G4": "1=Yes", "H4": "0=No", "I4": "0=No", "K4": "1=Yes", "L4": consent, "M4": "201017"},
			"VS": {"E4": consent, "G4": "1=Sitting", "H4": 148, "I4": 92, "J4": 72, "K4": 36.6,
				"E12": consent, "G12": "2", "H12": 132, "I12": 84, "J12": 66},
		}
		for sheet, m := range cells {
			for cell, v := range m {
				if err := f.SetCellValue(sheet, cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	results := filepath.Join(work, "entry.results.csv")
	imp := func(args ...string) importSummary {
		t.Helper()
		var s importSummary
		decode(t, mustVT(t, env, append([]string{"form", "import", book, "--from", "site1-coordinator", "--output", "json"}, args...)...), &s)
		return s
	}
	s := imp()
	if s.Submitted != 4 || s.Skipped != 0 || s.Rejected != 0 || s.Results != results || len(s.Problems) != 0 {
		t.Fatalf("first import: %+v", s)
	}
	rows := readCSV(t, results)
	if len(rows) != 5 || strings.Join(rows[0], ",") != "sheet,row,subject,event,event_repeat,form,action,tx_hash,height,code,message" {
		t.Fatalf("results:\n%v", rows)
	}
	for _, r := range rows[1:] {
		if r[6] != "submitted" || len(r[7]) != 64 || r[8] == "" || r[9] != "0" {
			t.Errorf("results row %v", r)
		}
	}

	// Again: everything is on the ledger already.
	if s := imp(); s.Skipped != 4 || s.Submitted+s.Corrected+s.Rejected != 0 {
		t.Fatalf("second import: %+v", s)
	}

	// One changed cell: refused without a reason, nothing sent.
	edit(t, book, func(f *excelize.File) {
		if err := f.SetCellValue("VS", "H4", 138); err != nil {
			t.Fatal(err)
		}
	})
	r := failVT(t, env, exitInput, "has 1 problem(s); nothing was sent", "form", "import", book, "--from", "site1-coordinator")
	if !strings.Contains(r.stderr, "VS!A4: form VS of subject S1-001 at SCR is already on the ledger with other values ([VS.SYSBP])") {
		t.Errorf("no located reason problem:\n%s", r.stderr)
	}
	// A value out of range is located by sheet, row and column.
	edit(t, book, func(f *excelize.File) {
		if err := f.SetCellValue("VS", "H12", 300); err != nil {
			t.Fatal(err)
		}
	})
	r = failVT(t, env, exitInput, "nothing was sent", "form", "import", book, "--from", "site1-coordinator", "--reason", "x")
	if !strings.Contains(r.stderr, "VS!H12 (VS.SYSBP): Systolic blood pressure 300 mmHg is above the maximum 250") {
		t.Errorf("no located range problem:\n%s", r.stderr)
	}
	edit(t, book, func(f *excelize.File) {
		if err := f.SetCellValue("VS", "H12", 132); err != nil {
			t.Fatal(err)
		}
	})
	if s := imp("--reason", "x", "--dry-run"); s.Sent || s.Corrected != 0 || len(s.Rows) != 4 || s.Rows[2].Action != "would correct" || s.Rows[2].Message != "changes VS.SYSBP" {
		t.Fatalf("dry run: %+v", s)
	}
	if s := imp("--reason", "transcription error, source shows 138"); s.Corrected != 1 || s.Skipped != 3 {
		t.Fatalf("correction import: %+v", s)
	}
	key := []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	show := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form"}, key...)...)
	for _, want := range []string{"version 2", "Reason for change: transcription error, source shows 138", "138 mmHg", "36.6"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show form lacks %q:\n%s", want, show.stdout)
		}
	}
	hist := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "history"}, key...)...)
	if !strings.Contains(hist.stdout, `VS.SYSBP (Systolic blood pressure): "148" -> "138"`) || strings.Contains(hist.stdout, "VS.TEMP (") {
		t.Errorf("history:\n%s", hist.stdout)
	}
}

// edit opens a workbook with excelize, applies fn and saves it.
func edit(t *testing.T, path string, fn func(f *excelize.File)) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fn(f)
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestResultsOfInterruptedImport: after an interrupted import the results
// file marks forms never sent as unsent and forms sent but not seen in a
// block as unconfirmed, both without a code, never as code 0.
func TestResultsOfInterruptedImport(t *testing.T) {
	rows := []importRow{
		{Sheet: "VS", Row: 3, Action: "submitted", TxHash: "AA", Height: 7},
		{Sheet: "VS", Row: 4, Action: "rejected", TxHash: "BB", Height: 7, Code: 509, Message: "frozen"},
		{Sheet: "VS", Row: 5, Action: actionPending, TxHash: "CC"},
		{Sheet: "VS", Row: 6, Action: "submit", Message: "3 value(s)"},
		{Sheet: "VS", Row: 7, Action: "correct", Message: "changes VS.HR"},
		{Sheet: "VS", Row: 8, Action: "skipped"},
	}
	markUnsent(rows)
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := writeResults(path, rows); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	got, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]string{{"submitted", "AA", "0"}, {"rejected", "BB", "509"}, {"unconfirmed", "CC", ""}, {"unsent", "", ""}, {"unsent", "", ""}, {"skipped", "", "0"}}
	for i, w := range want {
		r := got[i+1]
		if r[6] != w[0] || r[7] != w[1] || r[9] != w[2] {
			t.Errorf("row %d: action %q, tx %q, code %q; want %q", i, r[6], r[7], r[9], w)
		}
	}
	if !strings.Contains(got[4][10], "never sent") || !strings.Contains(got[3][10], "look the tx hash up") {
		t.Errorf("messages: %q, %q", got[4][10], got[3][10])
	}
}
