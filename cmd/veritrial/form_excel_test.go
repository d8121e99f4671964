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
// import again (all skipped), a stale blank workbook refused, then a
// pre-filled workbook: a change without a reason, an out-of-range value and
// an emptied cell refused, one changed cell imported as a correction of that
// item only, and the same workbook refused once the form has changed since.
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
			"IE": {"E4": "1=Yes", "F4": "1=Yes", "G4": "1=Yes", "H4": "0=No", "I4": "0=No", "K4": "1=Yes"},
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

	// The blank workbook again, one value changed: the form is on the
	// ledger and the row was not pre-filled from it, so it is refused and
	// the other forms are kept as they are.
	setCell := func(path, sheet, cell string, v any) {
		t.Helper()
		edit(t, path, func(f *excelize.File) {
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				t.Fatal(err)
			}
		})
	}
	setCell(book, "VS", "H4", 150)
	// (A refusal follows the progress lines on stderr.)
	refusedVT := func(want string, args ...string) result {
		t.Helper()
		r := vt(t, env, args...)
		if r.code != exitRejected || !strings.Contains(r.stderr, "\nError: ") || !strings.Contains(r.stderr, want) {
			t.Fatalf("veritrial %s: exit %d, want %d with %q:\n%s", strings.Join(args, " "), r.code, exitRejected, want, r.stderr)
		}
		return r
	}
	r := refusedVT("1 refused as changed on the ledger", "form", "import", book, "--from", "site1-coordinator", "--reason", "x")
	if !strings.Contains(r.stderr, "refused: VS!A4: form VS of subject S1-001 at SCR is on the ledger with other values in VS.SYSBP, and the rows were not pre-filled from the ledger") {
		t.Errorf("no located refusal:\n%s", r.stderr)
	}
	rows = readCSV(t, results)
	if len(rows) != 5 || rows[3][6] != "refused" || rows[3][9] != "420" || rows[1][6] != "skipped" {
		t.Errorf("results:\n%v", rows)
	}

	// A workbook pre-filled from the ledger: one changed cell needs a
	// reason (in its REASON cell or --reason).
	pre := filepath.Join(work, "prefilled.xlsx")
	mustVT(t, env, "form", "template", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--out", pre, "--prefill")
	var reasonCol string
	edit(t, pre, func(f *excelize.File) {
		rows, err := f.GetRows("VS")
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range rows[0] {
			if h == "REASON" {
				reasonCol, _ = excelize.ColumnNumberToName(i + 1)
			}
		}
	})
	setCell(pre, "VS", "H4", 138)
	r = failVT(t, env, exitInput, "has 1 problem(s); nothing was sent", "form", "import", pre, "--from", "site1-coordinator")
	if reasonCol == "" || !strings.Contains(r.stderr, "VS!"+reasonCol+"4: form VS of subject S1-001 at SCR is already on the ledger with other values (VS.SYSBP); a correction needs a reason") {
		t.Errorf("no located reason problem:\n%s", r.stderr)
	}
	// A value out of range is located by sheet, row and column.
	setCell(pre, "VS", "H12", 300)
	r = failVT(t, env, exitInput, "nothing was sent", "form", "import", pre, "--from", "site1-coordinator", "--reason", "x")
	if !strings.Contains(r.stderr, "VS!H12 (VS.SYSBP): Systolic blood pressure 300 mmHg is above the maximum 250") {
		t.Errorf("no located range problem:\n%s", r.stderr)
	}
	// An emptied cell clears nothing without --clear-emptied.
	setCell(pre, "VS", "H12", 132)
	setCell(pre, "VS", "J12", "")
	r = failVT(t, env, exitInput, "nothing was sent", "form", "import", pre, "--from", "site1-coordinator", "--reason", "x")
	if !strings.Contains(r.stderr, `VS!J12 (VS.HR): VS.HR is "66" on the ledger (version 1) and its cell is empty`) {
		t.Errorf("no located emptied cell:\n%s", r.stderr)
	}
	setCell(pre, "VS", "J12", 66)
	imp = func(args ...string) importSummary {
		t.Helper()
		var s importSummary
		decode(t, mustVT(t, env, append([]string{"form", "import", pre, "--from", "site1-coordinator", "--output", "json"}, args...)...), &s)
		return s
	}
	if s := imp("--reason", "x", "--dry-run"); s.Sent || s.Corrected != 0 || len(s.Rows) != 4 || s.Rows[2].Action != "would correct" || s.Rows[2].Message != "changes VS.SYSBP" {
		t.Fatalf("dry run: %+v", s)
	}
	setCell(pre, "VS", reasonCol+"4", "transcription error, source shows 138")
	if s := imp("--reason", "default reason"); s.Corrected != 1 || s.Skipped != 3 {
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

	// The same pre-filled workbook, changed again: the form has changed on
	// the ledger since it was pre-filled (version 1, now 2), so the import
	// refuses it rather than revert the correction; --overwrite corrects
	// it from the ledger's version.
	setCell(pre, "VS", "H4", 140)
	r = refusedVT("refused", "form", "import", pre, "--from", "site1-coordinator", "--reason", "x")
	if !strings.Contains(r.stderr, "changed on the ledger since the workbook was pre-filled (version 1; now version 2, by site1-coordinator") {
		t.Errorf("no stale refusal:\n%s", r.stderr)
	}
	if s := imp("--reason", "source re-read", "--overwrite"); s.Corrected != 1 || s.Refused != 0 {
		t.Fatalf("overwrite import: %+v", s)
	}
	show = mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form"}, key...)...)
	if !strings.Contains(show.stdout, "version 3") || !strings.Contains(show.stdout, "140 mmHg") {
		t.Errorf("show form after --overwrite:\n%s", show.stdout)
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
