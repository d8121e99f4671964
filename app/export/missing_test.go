package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/protocol"
)

// missingChain enters two laboratory forms whose platelet count holds
// the missing-data code ND with a reason: S1-001 keeps it, S1-002's is
// corrected to a value.
func missingChain(t *testing.T) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudyWith(apptest.RegisterMsg(apptest.WithMissingCodes()))
	for _, s := range []string{"S1-001", "S1-002"} {
		c.MustDo("site1-coordinator", apptest.EnrollMsg(s, "site1"))
		lb := apptest.LB()
		lb[4] = protocol.ItemValue{Item: "LB.PLT", Missing: "ND", Reason: "sample haemolysed"}
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "LB"), lb))
	}
	c.MustDo("site1-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-002", "SCR", 1, "LB"), "repeat sample analysed", apptest.V("LB.PLT", "231")))
	return c
}

// column returns the cells of the rows under the header named name.
func column(t *testing.T, rows [][]string, header int, name string) []string {
	t.Helper()
	i := slices.Index(rows[0], name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, rows[0])
	}
	var out []string
	for _, r := range rows[header:] {
		v := ""
		if i < len(r) {
			v = r[i]
		}
		out = append(out, v)
	}
	return out
}

// readColumns prints, with openpyxl in read-only mode, the data rows
// (from row 3) of the named columns of a sheet as JSON.
const readColumns = `
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True)[sys.argv[2]]
rows = list(ws.iter_rows(values_only=True))
print(json.dumps([[r[rows[0].index(c)] for c in sys.argv[3:]] for r in rows[2:]]))
`

// TestMissingCodesExported: every format carries an item's missing-data
// code and reason (CSV and workbook in the companion columns
// LB.PLT.missing and LB.PLT.missing_reason, ODM as IsNull with a Flag of
// the code list CL.VT.MISSING and the reason as a Comment, Dataset-JSON
// in the same columns as CSV), the audit trail shows a code replaced by
// a value, and the dictionary lists the codes an item allows. ODM and
// Dataset-JSON validate against their schemas; openpyxl reads the
// workbook's columns as they are meant.
func TestMissingCodesExported(t *testing.T) {
	c := missingChain(t)
	r, opt := source(c, c.Height)

	data, _ := run(t, formats[1], r, opt)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		recs, err := csv.NewReader(rc).ReadAll()
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[zf.Name] = recs
	}
	lb := files["form_LB.csv"]
	if got := column(t, lb, 1, "LB.PLT"); !slices.Equal(got, []string{"", "231"}) {
		t.Errorf("LB.PLT %q", got)
	}
	if got := column(t, lb, 1, "LB.PLT.missing"); !slices.Equal(got, []string{"ND", ""}) {
		t.Errorf("LB.PLT.missing %q", got)
	}
	if got := column(t, lb, 1, "LB.PLT.missing_reason"); !slices.Equal(got, []string{"sample haemolysed", ""}) {
		t.Errorf("LB.PLT.missing_reason %q", got)
	}
	if slices.Contains(lb[0], "LB.HGB.missing") {
		t.Error("an item that allows no code has a missing-data column")
	}
	var changes []string
	for _, row := range files["audit_trail.csv"][1:] {
		if row[4] == "LB.PLT" {
			changes = append(changes, strings.Join(row[:11], "|"))
		}
	}
	want := []string{
		"S1-001|SCR|1|LB|LB.PLT|insert||||ND: sample haemolysed|1",
		"S1-002|SCR|1|LB|LB.PLT|insert||||ND: sample haemolysed|1",
		"S1-002|SCR|1|LB|LB.PLT|update||231|ND: sample haemolysed||2",
	}
	if !slices.Equal(changes, want) {
		t.Errorf("audit trail of LB.PLT:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	for _, row := range files["dictionary.csv"][1:] {
		if got := row[len(row)-1]; row[6] == "LB.PLT" && got != "ND=Not done" || row[6] == "LB.HGB" && got != "" {
			t.Errorf("dictionary of %s: missing codes %q", row[6], got)
		}
	}

	x, _ := run(t, formats[0], r, opt)
	f, err := excelize.OpenReader(bytes.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("LB")
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, rows, 2, "LB.PLT.missing"); !slices.Equal(got, []string{"ND", ""}) {
		t.Errorf("workbook LB.PLT.missing %q", got)
	}
	if got := column(t, rows, 2, "LB.PLT.missing_reason"); !slices.Equal(got, []string{"sample haemolysed", ""}) {
		t.Errorf("workbook LB.PLT.missing_reason %q", got)
	}

	// As a statistician's reader sees the sheet: the value a number or
	// empty, the code and reason in their own columns.
	py := openpyxl(t)
	path := filepath.Join(t.TempDir(), "export.xlsx")
	if err := os.WriteFile(path, x, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", readColumns, path, "LB", "LB.PLT", "LB.PLT.missing", "LB.PLT.missing_reason").Output()
	if err != nil {
		t.Fatalf("openpyxl: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), `[[null, "ND", "sample haemolysed"], [231, null, null]]`; got != want {
		t.Errorf("openpyxl reads LB.PLT and its code as %s, want %s", got, want)
	}

	odm, _ := run(t, formats[2], r, opt)
	validateODM(t, odm)
	s := string(odm)
	for _, w := range []string{
		`<CodeList OID="CL.VT.MISSING" Name="Missing-data codes" DataType="text"><CodeListItem CodedValue="ND" OrderNumber="1"><Decode><TranslatedText xml:lang="en">Not done</TranslatedText></Decode></CodeListItem>`,
		`<ItemData ItemOID="I.LB.PLT" TransactionType="Insert" IsNull="Yes"><AuditRecord>`,
		`</AuditRecord><Annotation SeqNum="1"><Comment SponsorOrSite="Site">sample haemolysed</Comment><Flag><FlagValue CodeListOID="CL.VT.MISSING">ND</FlagValue></Flag></Annotation></ItemData>`,
		`<ItemData ItemOID="I.LB.PLT" TransactionType="Update" Value="231">`,
	} {
		if !strings.Contains(s, w) {
			t.Errorf("ODM lacks %s", w)
		}
	}
	if n := strings.Count(s, `IsNull="Yes"`); n != 2 {
		t.Errorf("%d ItemData with IsNull, want 2", n)
	}

	dj, _ := run(t, formats[3], r, opt)
	sch := datasetJSONSchema(t)
	zr, err = zip.NewReader(bytes.NewReader(dj), int64(len(dj)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name != "form_LB.json" {
			continue
		}
		rc, _ := zf.Open()
		raw, _ := io.ReadAll(rc)
		rc.Close()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("form_LB.json does not validate: %v", err)
		}
		var ds dsjDataset
		if err := json.Unmarshal(raw, &ds); err != nil {
			t.Fatal(err)
		}
		var cells []any
		for i, col := range ds.Columns {
			if col.Name == "LB.PLT.missing" || col.Name == "LB.PLT.missing_reason" {
				if col.DataType != "string" {
					t.Errorf("%s is of dataType %s", col.Name, col.DataType)
				}
				for _, row := range ds.Rows {
					cells = append(cells, row[i])
				}
			}
		}
		if want := []any{"ND", nil, "sample haemolysed", nil}; !slices.Equal(cells, want) {
			t.Errorf("Dataset-JSON missing-data cells %v, want %v", cells, want)
		}
		return
	}
	t.Error("no form_LB.json")
}

// TestMissingCodesReproducible: two stores holding the same chain with
// missing-data codes export the same bytes in every format.
func TestMissingCodesReproducible(t *testing.T) {
	c1, c2 := missingChain(t), missingChain(t)
	for _, f := range formats {
		r1, o1 := source(c1, c1.Height)
		r2, o2 := source(c2, c2.Height)
		a, _ := run(t, f, r1, o1)
		b, _ := run(t, f, r2, o2)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the exports differ", f.name)
		}
	}
}

// TestCasebookMissingCodes: a casebook prints a missing-data code with its
// reason where the value would be, and in the change history a code
// replaced by a value.
func TestCasebookMissingCodes(t *testing.T) {
	bin := pdftotext(t)
	c := missingChain(t)
	r, opt := source(c, c.Height)
	dir := t.TempDir()
	out := filepath.Join(dir, "casebooks")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	opt.TmpDir = dir
	if _, err := export.WritePDFDir(context.Background(), r, opt, out); err != nil {
		t.Fatal(err)
	}
	// S1-001: the current value and the first version's change; S1-002:
	// the first version's change and the correction's old value.
	for subject, want := range map[string]map[string]int{
		"S1-001": {"missing ND: sample haemolysed": 2},
		"S1-002": {"missing ND: sample haemolysed": 2, "repeat sample analysed": 1},
	} {
		text, err := exec.Command(bin, filepath.Join(out, "casebook_"+subject+".pdf"), "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for w, n := range want {
			if got := strings.Count(squeeze(string(text)), squeeze(w)); got != n {
				t.Errorf("casebook of %s has %q %d times, want %d", subject, w, got, n)
			}
		}
	}
}
