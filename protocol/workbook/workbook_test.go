package workbook

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/protocol"
)

func exampleWorkbook(t testing.TB) *excelize.File {
	t.Helper()
	b, err := ExampleBytes("xlsx")
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func saveWorkbook(t testing.TB, f *excelize.File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestXLSXRoundTrip(t *testing.T) {
	p := mustExample(t)
	var b bytes.Buffer
	if err := WriteXLSX(&b, p); err != nil {
		t.Fatal(err)
	}
	q, w, err := LoadXLSX(bytes.NewReader(b.Bytes()), "htn201.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 0 {
		t.Errorf("warnings %v", w)
	}
	if fingerprint(t, p) != fingerprint(t, q) {
		t.Fatal("workbook round trip changed the fingerprint")
	}
	// Model -> workbook -> model -> workbook -> model is stable too.
	var b2 bytes.Buffer
	if err := WriteXLSX(&b2, q); err != nil {
		t.Fatal(err)
	}
	r, _, err := LoadXLSX(&b2, "again.xlsx")
	if err != nil || fingerprint(t, r) != fingerprint(t, p) {
		t.Fatalf("second round trip: %v", err)
	}
	if os.Getenv("VT_WRITE_XLSX") != "" {
		os.WriteFile("testdata/htn201.xlsx", b.Bytes(), 0o644)
	}
}

func TestXLSXCommittedWorkbook(t *testing.T) {
	b, err := os.ReadFile("testdata/htn201.xlsx")
	if err != nil {
		t.Skip("no committed workbook")
	}
	p, _, err := LoadXLSX(bytes.NewReader(b), "htn201.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p) != fingerprint(t, mustExample(t)) {
		t.Fatal("committed workbook differs from htn201.yaml; regenerate with VT_WRITE_XLSX=1 go test -run TestXLSXRoundTrip")
	}
}

func TestXLSXTemplate(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTemplate(&b); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Study", "Outcomes", "Arms", "Events", "Forms", "Groups", "Items", "CodeLists", "Checks"}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sheets %v", got)
	}
	cs, err := f.GetComments("Items")
	if err != nil || len(cs) != len(xlsxSheets[6].cols) {
		t.Fatalf("comments %d %v", len(cs), err)
	}
	dvs, err := f.GetDataValidations("Items")
	if err != nil || len(dvs) != 2 {
		t.Fatalf("Items validations %d %v", len(dvs), err)
	}
	found := false
	for _, dv := range dvs {
		if strings.Contains(dv.Formula1, "partial_date") {
			found = true
		}
	}
	if !found {
		t.Error("no data type drop-down")
	}
	if dvs, _ := f.GetDataValidations("Events"); len(dvs) != 3 {
		t.Errorf("Events validations %d", len(dvs))
	}
	// The blank template loads (with Compile errors about the empty study
	// named by sheet and row), never panics.
	_, _, err = LoadXLSX(bytes.NewReader(b.Bytes()), "template.xlsx")
	var le *protocol.LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "study has no ID") || le.Sheet != "Study" {
		t.Fatalf("blank template: %v", err)
	}
}

func TestXLSXLenient(t *testing.T) {
	f := exampleWorkbook(t)
	// Reordered columns, a renamed sheet spelling, an extra sheet and column.
	f.SetCellStr("Forms", "A1", "form oid")
	f.SetCellStr("Forms", "F1", "Comment")
	f.SetCellStr("Forms", "F2", "free text")
	f.NewSheet("Notes")
	f.SetSheetName("CodeLists", "Code Lists")
	p, w, err := LoadXLSX(bytes.NewReader(saveWorkbook(t, f)), "x.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p) != fingerprint(t, mustExample(t)) {
		t.Error("fingerprint changed")
	}
	assertWarn(t, w, `column "Comment" is not part of sheet Forms`)
	assertWarn(t, w, "sheet Notes: sheet not part of a CRF specification workbook")
}

func TestXLSXErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(f *excelize.File)
		sheet string
		row   int
		col   string
		want  string
	}{
		{"missing sheet", func(f *excelize.File) { f.DeleteSheet("Items") }, "Items", 0, "", `no sheet "Items"`},
		{"missing column", func(f *excelize.File) { f.SetCellStr("Items", "E1", "Kind") }, "Items", 1, "Type", `no "Type" column`},
		{"bad int", func(f *excelize.File) { f.SetCellStr("Events", "D3", "one") }, "Events", 3, "Day", "not a whole number"},
		{"bad bool", func(f *excelize.File) { f.SetCellStr("Groups", "D2", "maybe") }, "Groups", 2, "Repeating", "not yes or no"},
		{"unknown group", func(f *excelize.File) { f.SetCellStr("Items", "B5", "DM.NOPE") }, "Items", 5, "Group OID", `group "DM.NOPE"`},
		{"unknown form", func(f *excelize.File) { f.SetCellStr("Groups", "A2", "ZZ") }, "Groups", 2, "Form OID", `form "ZZ" is not on sheet Forms`},
		{"duplicate form", func(f *excelize.File) { f.SetCellStr("Forms", "A3", "DM") }, "Forms", 3, "Form OID", `form "DM" is listed twice`},
		{"duplicate OID", func(f *excelize.File) { f.SetCellStr("Items", "C4", "DM.CONSDT") }, "Items", 4, "Item OID", "DM.CONSDT"},
		{"bad type", func(f *excelize.File) { f.SetCellStr("Items", "E2", "colour") }, "Items", 2, "Type", "colour"},
		{"dangling codelist", func(f *excelize.File) { f.SetCellStr("Items", "H4", "CL.NOPE") }, "Items", 4, "Code List", "CL.NOPE"},
		{"dangling event form", func(f *excelize.File) { f.SetCellStr("Events", "H2", "DM, IE, VS, LB, XX") }, "Events", 2, "Forms", "XX"},
		{"bad condition", func(f *excelize.File) { f.SetCellStr("Items", "O5", "[DM.SEX] = = 2") }, "Items", 5, "Show If", ""},
		{"bad check", func(f *excelize.File) { f.SetCellStr("Checks", "C2", "[IE.ELIG] ==") }, "Checks", 2, "Condition", ""},
		{"duplicate code", func(f *excelize.File) { f.SetCellStr("CodeLists", "C3", "1") }, "CodeLists", 3, "Code", `code "1" appears twice`},
		{"codelist name conflict", func(f *excelize.File) { f.SetCellStr("CodeLists", "B3", "Other") }, "CodeLists", 3, "Name", "is named"},
		{"outcome kind", func(f *excelize.File) { f.SetCellStr("Outcomes", "A2", "tertiary") }, "Outcomes", 2, "Kind", "not primary or secondary"},
		{"duplicate study field", func(f *excelize.File) { f.SetCellStr("Study", "A3", "id") }, "Study", 3, "Field", "already given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := exampleWorkbook(t)
			c.edit(f)
			_, _, err := LoadXLSX(bytes.NewReader(saveWorkbook(t, f)), "spec.xlsx")
			var le *protocol.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v", err, err)
			}
			if le.File != "spec.xlsx" || le.Sheet != c.sheet || le.Row != c.row || le.Column != c.col || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %s/%d/%q: %v", le.Sheet, le.Row, le.Column, err)
			}
			if le.Fix == "" {
				t.Errorf("no fix: %v", err)
			}
		})
	}
}

func TestXLSXNotAWorkbook(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), []byte("PK\x03\x04garbage")} {
		_, _, err := LoadXLSX(bytes.NewReader(in), "bad.xlsx")
		var le *protocol.LoadError
		if !errors.As(err, &le) || le.File != "bad.xlsx" || le.Fix == "" {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// TestXLSXKeepsPattern carries an item's pattern and its message through
// the workbook.
func TestXLSXKeepsPattern(t *testing.T) {
	p := mustExample(t)
	it := &p.Forms[0].Groups[0].Items[0]
	it.Type, it.Pattern, it.PatternMessage = protocol.TypeText, `[A-Z]{2}-[0-9]{3}`, "a kit number such as AB-123"
	var b bytes.Buffer
	if err := WriteXLSX(&b, p); err != nil {
		t.Fatal(err)
	}
	q, _, err := LoadXLSX(bytes.NewReader(b.Bytes()), "pattern.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Forms[0].Groups[0].Items[0]; got.Pattern != it.Pattern || got.PatternMessage != it.PatternMessage {
		t.Errorf("pattern %q %q after the workbook", got.Pattern, got.PatternMessage)
	}
}

// TestXLSXConsentFields: the consent version, the re-consent rule and the
// safety, end-of-study and seriousness marks of forms survive the
// workbook.
func TestXLSXConsentFields(t *testing.T) {
	p := protocol.Example()
	p.Study.ConsentVersion, p.Study.Reconsent = "2.0", protocol.ReconsentFlag
	var b bytes.Buffer
	if err := WriteXLSX(&b, p); err != nil {
		t.Fatal(err)
	}
	q, w, err := LoadXLSX(bytes.NewReader(b.Bytes()), "consent.xlsx")
	if err != nil || len(w) != 0 {
		t.Fatalf("%v %v", err, w)
	}
	if fingerprint(t, p) != fingerprint(t, q) {
		t.Fatalf("the workbook lost a consent field: %+v", q.Study)
	}
}
