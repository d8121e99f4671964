package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
)

// deviationChain is the example study with visits dated outside their
// windows: S1-001's screening (before its window, once the baseline is
// entered) and week 4 (late, then corrected inside, then outside again),
// and S2-101's week 4 at site2.
func deviationChain(t *testing.T) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site2-coordinator", apptest.EnrollMsg("S2-101", "site2"))
	visit := func(signer, subject, event, date string) {
		c.MustDo(signer, apptest.SubmitMsg(apptest.FormKey(subject, event, 1, "VS"), apptest.VSOn(date, 120, 80)))
	}
	visit("site1-coordinator", "S1-001", "SCR", "2026-01-20")
	visit("site1-coordinator", "S1-001", "D1", "2026-03-02")
	visit("site1-coordinator", "S1-001", "W4", "2026-04-10")
	for _, date := range []string{"2026-04-01", "2026-04-05"} {
		c.MustDo("site1-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-001", "W4", 1, "VS"), "visit date transcribed wrongly", apptest.V("VS.DATE", date)))
	}
	visit("site2-coordinator", "S2-101", "D1", "2026-03-02")
	visit("site2-coordinator", "S2-101", "W4", "2026-04-10")
	return c
}

// deviationSteps reads the Protocol deviations sheet of a workbook as
// "subject event step action days_off status_after" per row.
func deviationSteps(t *testing.T, file string) string {
	t.Helper()
	f, err := excelize.OpenFile(file)
	must(t, err)
	defer f.Close()
	rows, err := f.GetRows("Protocol deviations")
	must(t, err)
	var out []string
	for _, r := range rows[2:] {
		out = append(out, strings.Join([]string{r[0], r[2], r[6], r[7], r[13], r[15]}, " "))
	}
	return strings.Join(out, "; ")
}

// TestCheckExportDeviations: the protocol deviations are in the record
// list and in their table, one row per step in key order, and
// verify-export finds an altered cell of that table in a workbook and in
// a CSV export, located by sheet or file, row, column and ledger key. A
// reader's export has the deviations of the subjects the reader reads,
// and verifies against what that reader reads.
func TestCheckExportDeviations(t *testing.T) {
	c := deviationChain(t)
	ctx := context.Background()
	q := c.App.TrustedQuery
	dir := t.TempDir()
	files := map[string]string{}
	var block export.Block
	for _, f := range []string{"xlsx", "zip", export.FormatDatasetJSON} {
		files[f], block = exportAt(t, c, f, dir)
		rep, err := CheckExport(ctx, files[f], q, block, "")
		if err != nil || !rep.OK() || !rep.Identical {
			t.Fatalf("genuine %s export: %v %+v", f, err, rep)
		}
	}
	const all = "S1-001 SCR 1 open -13 open; S1-001 W4 1 open 8 open; S1-001 W4 2 close 0 closed; S1-001 W4 3 reopen 3 open; S2-101 W4 1 open 8 open"
	if got := deviationSteps(t, files["xlsx"]); got != all {
		t.Errorf("deviation rows:\n%s\nwant\n%s", got, all)
	}
	m, err := export.ReadManifest(files["zip"], nil)
	must(t, err)
	w4 := string(types.KeyDeviation(apptest.FormKey("S1-001", "W4", 1, "VS")))
	var listed bool
	_, err = export.ReadManifest(files["zip"], func(r export.RecordRef) error {
		listed = listed || r.Key == w4
		return nil
	})
	must(t, err)
	if !listed || m.Digest != m.ListDigest {
		t.Errorf("record list: %s listed %v, digest %s (list %s)", w4, listed, m.Digest, m.ListDigest)
	}

	// Workbook: week 4's days off changed on its opening row.
	f, err := excelize.OpenFile(files["xlsx"])
	must(t, err)
	sheet, row, col := findCell(t, f, "days_off", w4)
	must(t, f.SetCellValue(sheet, col+strconv.Itoa(row), 3))
	bad := filepath.Join(dir, "tampered.xlsx")
	must(t, f.SaveAs(bad))
	f.Close()
	rep, err := CheckExport(ctx, bad, q, block, "")
	must(t, err)
	if len(rep.Differences) != 1 {
		t.Fatalf("tampered workbook: %+v", rep.Differences)
	}
	if d := rep.Differences[0]; d.Kind != "changed value" || d.Sheet != "Protocol deviations" || d.Row != row || d.Column != col+" (days_off)" || d.Key != w4 || d.File != "3" || d.Ledger != "8" {
		t.Errorf("altered days off located at %+v, want Protocol deviations row %d column %s (days_off), key %s, 3 for 8", d, row, col, w4)
	}

	// CSV: the anchor date of week 4's closing step (line 4).
	data, err := os.ReadFile(files["zip"])
	must(t, err)
	csvBad := filepath.Join(dir, "tampered.zip")
	must(t, os.WriteFile(csvBad, rewriteEntry(t, data, "protocol_deviations.csv", func(b []byte) []byte {
		lines := bytes.Split(b, []byte("\r\n"))
		lines[3] = bytes.Replace(lines[3], []byte(",2026-03-02,"), []byte(",2026-03-01,"), 1)
		return bytes.Join(lines, []byte("\r\n"))
	}), 0o600))
	rep, err = CheckExport(ctx, csvBad, q, block, "")
	must(t, err)
	if len(rep.Differences) != 1 {
		t.Fatalf("tampered CSV: %+v", rep.Differences)
	}
	if d := rep.Differences[0]; d.Kind != "changed value" || d.Sheet != "protocol_deviations.csv" || d.Row != 4 || d.Column != "J (anchor)" || d.Key != w4 || d.File != "2026-03-01" || d.Ledger != "2026-03-02" {
		t.Errorf("altered anchor located at %+v, want protocol_deviations.csv row 4 column J (anchor), key %s", d, w4)
	}

	// Readers: a site reads its own subjects' deviations, the sponsor
	// every one; each export verifies against what its reader reads.
	for _, tc := range []struct{ reader, want string }{
		{"site1-coordinator", "S1-001 SCR 1 open -13 open; S1-001 W4 1 open 8 open; S1-001 W4 2 close 0 closed; S1-001 W4 3 reopen 3 open"},
		{"site2-coordinator", "S2-101 W4 1 open 8 open"},
		{"sponsor-dm", all},
	} {
		rq := client.SignedQuery(c.App.Query, apptest.ChainID, tc.reader, c.Person(tc.reader), nil)
		rdir := filepath.Join(dir, tc.reader)
		must(t, os.Mkdir(rdir, 0o755))
		file, block := exportWith(t, c, rq, "xlsx", rdir)
		if got := deviationSteps(t, file); got != tc.want {
			t.Errorf("%s's export: deviation rows\n%s\nwant\n%s", tc.reader, got, tc.want)
		}
		rep, err := CheckExport(ctx, file, rq, block, "")
		if err != nil || !rep.OK() || !rep.Identical {
			t.Errorf("%s's export verified as %s: %v %+v", tc.reader, tc.reader, err, rep)
		}
	}
}
