package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/types"
)

// studyChain runs the example study in process: n subjects at site1,
// each with a vital signs and a laboratory form (20 values), every fifth
// vital signs corrected, and the first subject's casebook signed.
func studyChain(tb testing.TB, n int) *apptest.Chain {
	tb.Helper()
	c := apptest.New(tb)
	c.SetupStudy()
	block := func(msgs []types.Msg, signer string) {
		for len(msgs) > 0 {
			k := min(len(msgs), 200)
			var txs [][]byte
			for _, m := range msgs[:k] {
				txs = append(txs, c.Tx(signer, m))
			}
			for i, r := range c.Block(txs...) {
				if r.Code != 0 {
					tb.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
				}
			}
			msgs = msgs[k:]
		}
	}
	var enroll, forms, fixes []types.Msg
	for i := 0; i < n; i++ {
		s := fmt.Sprintf("S1-%04d", i+1)
		enroll = append(enroll, apptest.EnrollMsg(s, "site1"))
		forms = append(forms, apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "VS"), apptest.VS(128+i%20, 82)))
		forms = append(forms, apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "LB"), apptest.LB()))
		if i%5 == 0 {
			fixes = append(fixes, apptest.CorrectMsg(apptest.FormKey(s, "SCR", 1, "VS"), "transcription error", apptest.V("VS.HR", "70")))
		}
	}
	block(enroll, "site1-coordinator")
	block(forms, "site1-coordinator")
	block(fixes, "site1-coordinator")
	c.MustDo("site1-investigator", c.SignMsg("S1-0001", "", 0, "", "approval"))
	return c
}

// exportAt writes the chain's export at its latest height in format to
// dir and returns the file and the block context.
func exportAt(tb testing.TB, c *apptest.Chain, format, dir string) (string, export.Block) {
	tb.Helper()
	return exportWith(tb, c, c.App.TrustedQuery, format, dir)
}

// exportWith is exportAt reading the records through q (a reader's
// signed reads: what the read policy lets it read).
func exportWith(tb testing.TB, c *apptest.Chain, q client.QueryFunc, format, dir string) (string, export.Block) {
	tb.Helper()
	h := c.Height
	b := export.Block{ChainID: apptest.ChainID, Height: h, Time: apptest.Genesis, Hash: strings.Repeat("AB", 32), AppHash: fmt.Sprintf("%X", c.Hashes[h]), NextHash: strings.Repeat("CD", 32),
		Validators: []export.Validator{{Address: strings.Repeat("01", 20), PubKey: "AAAA", Power: 10, Signed: true}}}
	r := client.NewReader(q, h, nil)
	opt := export.Options{Study: apptest.StudyID, Block: b, Version: "test"}
	var buf bytes.Buffer
	var err error
	name := filepath.Join(dir, "export."+format)
	switch format {
	case "xlsx":
		_, err = export.WriteXLSX(context.Background(), r, opt, &buf)
	case "zip":
		_, err = export.WriteCSVZip(context.Background(), r, opt, &buf)
	case "xml":
		_, err = export.WriteODM(context.Background(), r, opt, &buf)
	case export.FormatDatasetJSON:
		_, err = export.WriteDatasetJSON(context.Background(), r, opt, &buf)
	case export.FormatPDF:
		_, err = export.WritePDFZip(context.Background(), r, opt, &buf)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return name, b
}

// TestCheckExport verifies genuine exports in the four formats, then
// tampered ones: each change is found and located, and a node serving a
// record that is not the ledger's is refused.
func TestCheckExport(t *testing.T) {
	c := studyChain(t, 6)
	dir := t.TempDir()
	ctx := context.Background()
	q := c.App.TrustedQuery
	files := map[string]string{}
	var block export.Block
	for _, f := range []string{"xlsx", "zip", "xml", export.FormatDatasetJSON} {
		files[f], block = exportAt(t, c, f, dir)
		rep, err := CheckExport(ctx, files[f], q, block, "")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !rep.OK() || !rep.Identical || rep.Records < 30 || rep.Digest != rep.FileDigest {
			t.Fatalf("genuine %s export: %+v", f, rep)
		}
	}

	// Workbook: a flipped value, a dropped audit row, a fake subject, a
	// forged signature meaning, a task added to the delegation log, a
	// record left out of the record list.
	f, err := excelize.OpenFile(files["xlsx"])
	if err != nil {
		t.Fatal(err)
	}
	sheet, row, col := findCell(t, f, "VS.SYSBP", "form/"+apptest.StudyID+"/S1-0003/SCR/0001/VS")
	must(t, f.SetCellValue(sheet, col+strconv.Itoa(row), "999"))
	must(t, f.RemoveRow("Audit trail", 4))
	subj, _ := f.GetRows("Subjects")
	fake := make([]any, len(subj[2]))
	for i, v := range subj[2] {
		fake[i] = strings.ReplaceAll(v, "S1-0001", "S1-9999")
	}
	must(t, f.SetSheetRow("Subjects", "A"+strconv.Itoa(len(subj)+1), &fake))
	ssheet, srow, scol := findCell(t, f, "meaning", "sig/"+apptest.StudyID+"/S1-0001/000001")
	must(t, f.SetCellValue(ssheet, scol+strconv.Itoa(srow), "review"))
	dsheet, drow, dcol := findCell(t, f, "tasks", "deleg/"+apptest.StudyID+"/site/site1/site1-coordinator")
	must(t, f.SetCellValue(dsheet, dcol+strconv.Itoa(drow), "enroll, entry, answer, sign"))
	must(t, f.RemoveRow("Records", 5))
	must(t, f.SetDocProps(&excelize.DocProperties{Title: "Study at height 1", Creator: "veritrial", Created: "2020-01-01T00:00:00Z"}))
	must(t, f.SetCustomProps(excelize.CustomProperty{Name: "Approved", Value: "yes"}))
	_, err = f.NewSheet("Notes")
	must(t, err)
	bad := filepath.Join(dir, "tampered.xlsx")
	must(t, f.SaveAs(bad))
	f.Close()
	rep, err := CheckExport(ctx, bad, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, sheet string }{
		{"changed value", sheet}, {"altered audit trail: missing row", "Audit trail"}, {"extra row", "Subjects"},
		{"forged or altered signature: changed value", "Signatures"}, {"missing record", "Records"},
		{"altered audit trail: changed value", "Delegation log"},
		{"changed property", export.PropertiesTable}, {"missing property", export.PropertiesTable},
		{"extra property", export.PropertiesTable}, {"extra sheet", "Notes"},
	}
	for _, w := range want {
		found := false
		for _, d := range rep.Differences {
			if d.Kind == w.kind && d.Sheet == w.sheet {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q difference on %s in %+v", w.kind, w.sheet, rep.Differences)
		}
	}
	for _, d := range rep.Differences {
		switch d.Kind {
		case "changed value":
			if d.Row != row || !strings.HasPrefix(d.Column, col+" (VS.SYSBP") || d.File != "999" {
				t.Errorf("flipped cell located at %+v, want %s row %d column %s", d, sheet, row, col)
			}
		case "altered audit trail: missing row":
			if d.Row != 4 {
				t.Errorf("dropped audit row located at %+v", d)
			}
		case "extra property":
			if d.Key != "custom:Approved" || d.File != "yes" {
				t.Errorf("unexpected property reported as %+v", d)
			}
		}
	}
	if rep.Differences[0].Sheet == "" {
		t.Errorf("unlocated difference: %+v", rep.Differences[0])
	}

	// ODM: one value changed is located by its path and line.
	x, _ := os.ReadFile(files["xml"])
	i := bytes.Index(x, []byte(`ItemOID="I.VS.SYSBP" TransactionType="Insert" Value="`))
	if i < 0 {
		t.Fatal("no VS.SYSBP item in the ODM export")
	}
	j := i + len(`ItemOID="I.VS.SYSBP" TransactionType="Insert" Value="`)
	x2 := append(append(append([]byte{}, x[:j]...), '9'), x[j+1:]...)
	must(t, os.WriteFile(files["xml"], x2, 0o600))
	rep, err = CheckExport(ctx, files["xml"], q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || !strings.Contains(rep.Differences[0].Path, "ItemData[@ItemOID=I.VS.SYSBP]") || rep.Differences[0].Row == 0 {
		t.Errorf("ODM differences: %+v", rep.Differences)
	}

	// A node that serves a record the validators did not sign.
	lying := func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		r, err := q(ctx, req)
		if err != nil || req.Path != types.QueryList || !bytes.Contains(req.Data, []byte(`"form/`)) {
			return r, err
		}
		var lr types.ListResponse
		if err := json.Unmarshal(r.Value, &lr); err != nil || len(lr.Entries) == 0 {
			return r, err
		}
		lr.Entries[0].Value = bytes.Replace(lr.Entries[0].Value, []byte(`"value":"14.2"`), []byte(`"value":"14.3"`), 1)
		r.Value, err = json.Marshal(lr)
		return r, err
	}
	if _, err := CheckExport(ctx, files["zip"], lying, block, ""); err == nil || !strings.Contains(err.Error(), "does not match the verified app hash") {
		t.Errorf("lying node: %v", err)
	}
	// A wrong app hash: nothing verifies.
	b2 := block
	b2.AppHash = hex.EncodeToString(make([]byte, 32))
	if _, err := CheckExport(ctx, files["zip"], q, b2, ""); err == nil {
		t.Error("an export checked against a wrong app hash passed")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// findCell returns the sheet, row and column letter of column name in
// the row whose ledger_key is key.
func findCell(t *testing.T, f *excelize.File, name, key string) (string, int, string) {
	t.Helper()
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		if len(rows) < 3 {
			continue
		}
		c, k := -1, -1
		for i, h := range rows[0] {
			switch h {
			case name:
				c = i
			case "ledger_key":
				k = i
			}
		}
		if c < 0 || k < 0 {
			continue
		}
		for i, r := range rows {
			if len(r) > k && r[k] == key {
				col, _ := excelize.ColumnNumberToName(c + 1)
				return sh, i + 1, col
			}
		}
	}
	t.Fatalf("no cell %s for %s", name, key)
	return "", 0, ""
}

// BenchmarkCheckExport measures verify-export's offline work (every
// record proven, the ledger's export rendered from them and compared with
// the file) for 500 subjects, 10,000 item values; set
// VERITRIAL_AUDIT_BENCH_SUBJECTS for another size (20 values each).
func BenchmarkCheckExport(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("VERITRIAL_AUDIT_BENCH_SUBJECTS")); err == nil && v > 0 {
		n = v
	}
	c := studyChain(b, n)
	file, block := exportAt(b, c, "xlsx", b.TempDir())
	q := c.App.TrustedQuery
	b.ResetTimer()
	var rep *ExportReport
	for i := 0; i < b.N; i++ {
		var err error
		if rep, err = CheckExport(context.Background(), file, q, block, ""); err != nil || !rep.OK() {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(rep.Records), "records")
	b.ReportMetric(rep.ProofsPerSecond, "proofs/s")
	b.ReportMetric(float64(20*n*b.N)/b.Elapsed().Seconds(), "values/s")
}

// TestReadExportMalformed feeds files that are not exports: each is
// refused as not an export, none panics.
func TestReadExportMalformed(t *testing.T) {
	c := studyChain(t, 1)
	dir := t.TempDir()
	good, _ := exportAt(t, c, "xlsx", dir)
	zipped, _ := exportAt(t, c, "zip", dir)
	gx, _ := os.ReadFile(good)
	gz, _ := os.ReadFile(zipped)
	dsj, _ := exportAt(t, c, export.FormatDatasetJSON, dir)
	gj, _ := os.ReadFile(dsj)
	provenance := func(b []byte) []byte { return rewriteEntry(t, gj, "provenance.json", func([]byte) []byte { return b }) }
	cases := map[string][]byte{
		"empty":           {},
		"text":            []byte("hello"),
		"truncated xlsx":  gx[:len(gx)/2],
		"truncated zip":   gz[:len(gz)/3],
		"xml not odm":     []byte(`<?xml version="1.0"?><a><b>1</b></a>`),
		"broken xml":      []byte(`<?xml version="1.0"?><ODM><ClinicalData>`),
		"pk garbage":      append([]byte("PK"), bytes.Repeat([]byte{0xff}, 100)...),
		"truncated dsj":   gj[:len(gj)/3],
		"dsj broken":      provenance([]byte(`{"columns":[],"rows":[["Study","S"],`)),
		"dsj row number":  provenance([]byte(`{"columns":[],"rows":[["Study","S"],7]}`)),
		"dsj not object":  provenance([]byte(`[["Study","S"]]`)),
		"odm no height":   []byte("<?xml version=\"1.0\"?>\n<!--\nStudy: S\n-->\n<ODM></ODM>\n"),
		"odm huge height": []byte("<?xml version=\"1.0\"?>\n<!--\nStudy: S\nHeight: 99999999999999999999\n-->\n<ODM></ODM>\n"),
	}
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		must(t, os.WriteFile(p, data, 0o600))
		f, err := export.Open(p)
		if err == nil {
			_, _, _, err = claims(f, p)
		}
		if err == nil {
			t.Errorf("%s: accepted as an export", name)
		} else if !errors.Is(err, export.ErrNotExport) {
			t.Errorf("%s: %v is not ErrNotExport", name, err)
		}
	}
}

// TestCheckExportLocked checks the export of a locked study at its lock
// height, and a file whose provenance hides the lock.
func TestCheckExportLocked(t *testing.T) {
	c := studyChain(t, 2)
	c.MustDo("site1-investigator", c.SignMsg("S1-0002", "", 0, "", "approval"))
	for _, who := range []string{"sponsor-dm", "regulator-auditor"} {
		c.MustDo(who, apptest.ScopeMsg(types.KindLock, types.Scope{Study: apptest.StudyID}, ""))
	}
	var st types.Study
	if !c.Get(types.KeyStudy(apptest.StudyID), &st) || st.LockHeight != c.Height {
		t.Fatalf("study not locked at the last block %d: %+v", c.Height, st)
	}
	ctx := context.Background()
	dir := t.TempDir()
	file, block := exportAt(t, c, "xlsx", dir)
	rep, err := CheckExport(ctx, file, c.App.TrustedQuery, block, "")
	if err != nil || !rep.OK() || !rep.Identical {
		t.Fatalf("locked export: %v %+v", err, rep)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("Provenance")
	row := 0
	for i, r := range rows {
		if len(r) > 1 && r[0] == export.FieldBasis {
			row = i + 1
		}
	}
	if row == 0 || rows[row-1][1] != export.BasisLock {
		t.Fatalf("no lock basis in the provenance: %v", rows)
	}
	must(t, f.SetCellValue("Provenance", "B"+strconv.Itoa(row), export.BasisNotLocked))
	bad := filepath.Join(dir, "hidden-lock.xlsx")
	must(t, f.SaveAs(bad))
	f.Close()
	rep, err = CheckExport(ctx, bad, c.App.TrustedQuery, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != "provenance: changed value" || rep.Differences[0].Row != row ||
		rep.Differences[0].File != export.BasisNotLocked || rep.Differences[0].Ledger != export.BasisLock {
		t.Errorf("hidden lock: %+v", rep.Differences)
	}
}

// TestVerifyExportNoTrustRoot: without a genesis and with a trust dir no
// verify-chain run started, verify-export says which of its own options
// give a trust root.
func TestVerifyExportNoTrustRoot(t *testing.T) {
	c := studyChain(t, 1)
	file, _ := exportAt(t, c, "xlsx", t.TempDir())
	home := t.TempDir()
	_, err := VerifyExport(context.Background(), ExportOptions{File: file, Home: home, Chain: ChainOptions{Primary: "tcp://127.0.0.1:1"}})
	if err == nil {
		t.Fatal("verified without a trust root")
	}
	msg := err.Error()
	for _, want := range []string{"no trust root", "--genesis", "--trust-dir", lightroot.DefaultTrustDir(home, apptest.ChainID)} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "trusted height") || strings.Contains(msg, "trusted-height") {
		t.Errorf("%q suggests an option verify-export does not have", msg)
	}
}
