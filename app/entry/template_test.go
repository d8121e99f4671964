package entry

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// example compiles the example protocol.
func example(t *testing.T) *protocol.Compiled {
	t.Helper()
	c, err := protocol.Compile(protocol.Example())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const study = "VT-HTN-201"

func subjects() []types.Subject {
	return []types.Subject{
		{Study: study, ID: "S1-002", Site: "site1", Status: types.SubjectEnrolled},
		{Study: study, ID: "S1-001", Site: "site1", Status: types.SubjectEnrolled},
	}
}

func testMeta() Meta {
	return Meta{Study: study, Site: "site1", ProtocolVersion: 1, ProtocolLabel: "1.0", Fingerprint: strings.Repeat("ab", 32), Height: 42}
}

// template writes a workbook and opens it with excelize.
func template(t *testing.T, c *protocol.Compiled, opt TemplateOptions) ([]byte, *excelize.File, *TemplateSummary) {
	t.Helper()
	var b bytes.Buffer
	sum, err := WriteTemplate(&b, c, opt)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return b.Bytes(), f, sum
}

// at is row[i], or "" beyond the row's last non-empty cell.
func at(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func TestTemplateLayout(t *testing.T) {
	c := example(t)
	data, f, sum := template(t, c, TemplateOptions{Meta: testMeta(), Subjects: subjects()})

	want := []string{InstructionsSheet, "DM", "IE", "VS", "LB", "EX", "AE", "CM", "EOS", ListsSheet, MetaSheet}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sheets %v, want %v", got, want)
	}
	for _, s := range []string{ListsSheet, MetaSheet} {
		if v, _ := f.GetSheetVisible(s); v {
			t.Errorf("%s is visible", s)
		}
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d", f.GetActiveSheetIndex())
	}
	if sum.Subjects != 2 || len(sum.Sheets) != 8 {
		t.Fatalf("summary %+v", sum)
	}

	// VS: 2 subjects x 8 events (UNS repeatable: repeat 1) = 16 rows.
	rows, _ := f.GetRows("VS")
	if got := strings.Join(rows[0][:6], ","); got != "SUBJECT,EVENT,EVENT_REPEAT,ROW,VS.DATE,VS.TIME" {
		t.Errorf("VS row 1: %s", got)
	}
	if rows[1][7] != "Systolic blood pressure (mmHg) *" {
		t.Errorf("VS label: %q", rows[1][7])
	}
	if !strings.Contains(rows[2][6], "1=Sitting, 2=Supine, 3=Standing") || !strings.Contains(rows[2][7], "60 to 250") {
		t.Errorf("VS allowed: %q / %q", rows[2][6], rows[2][7])
	}
	if len(rows) != HeaderRows+16 || rows[3][0] != "S1-001" || rows[3][1] != "SCR" || rows[3][2] != "1" || at(rows[3], 3) != "" {
		t.Fatalf("VS data rows: %d, first %v", len(rows)-HeaderRows, rows[3])
	}
	if sum.Sheets[2].Rows != 16 {
		t.Errorf("VS summary rows %d", sum.Sheets[2].Rows)
	}
	// AE: repeating, 5 rows per subject-event (W4 W8 W12 FU ET UNS = 6 events).
	ae, _ := f.GetRows("AE")
	if len(ae) != HeaderRows+2*6*5 || ae[3][3] != "1" || ae[7][3] != "5" || ae[8][3] != "1" {
		t.Fatalf("AE rows: %d", len(ae)-HeaderRows)
	}

	// Frozen header rows and key columns.
	panes, err := f.GetPanes("VS")
	if err != nil || !panes.Freeze || panes.YSplit != HeaderRows || panes.XSplit != KeyColumns || panes.TopLeftCell != "E4" {
		t.Errorf("VS panes %+v %v", panes, err)
	}

	// Data validation: drop-downs, ranges, dates.
	dvs, err := f.GetDataValidations("VS")
	if err != nil {
		t.Fatal(err)
	}
	byCol := map[string]*excelize.DataValidation{}
	for _, dv := range dvs {
		byCol[dv.Sqref[:1]] = dv
	}
	if dv := byCol["G"]; dv == nil || dv.Type != "list" || !strings.Contains(dv.Formula1, "Lists!$") {
		t.Errorf("VS.POS validation %+v", dv)
	}
	if dv := byCol["H"]; dv == nil || dv.Type != "whole" || dv.Formula1 != "60" || dv.Formula2 != "250" || !strings.HasPrefix(dv.Sqref, "H4:H") {
		t.Errorf("VS.SYSBP validation %+v", dv)
	}
	if dv := byCol["K"]; dv == nil || dv.Type != "decimal" || dv.Formula1 != "30.0" {
		t.Errorf("VS.TEMP validation %+v", dv)
	}
	if dv := byCol["E"]; dv == nil || dv.Type != "date" {
		t.Errorf("VS.DATE validation %+v", dv)
	}
	dm, _ := f.GetDataValidations("DM")
	found := false
	for _, dv := range dm {
		if dv.Type == "list" && strings.Contains(dv.Formula1, "1=Yes") {
			found = true
		}
	}
	if !found {
		t.Errorf("DM has no yes/no drop-down: %+v", dm)
	}

	// Code cells are text so leading zeros stay; the meta sheet round-trips.
	st, _ := f.GetCellStyle("VS", "G4")
	if s, _ := f.GetStyle(st); s == nil || s.NumFmt != 49 {
		t.Errorf("VS.POS cell style %+v", s)
	}
	b, err := Open(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta != testMeta() {
		t.Errorf("meta %+v, want %+v", b.Meta, testMeta())
	}

	// Reproducible: the same inputs give the same bytes.
	again, _, _ := template(t, c, TemplateOptions{Meta: testMeta(), Subjects: subjects()})
	if !bytes.Equal(data, again) {
		t.Error("two workbooks from the same inputs differ")
	}
}

func TestTemplateEventsAndPrefill(t *testing.T) {
	c := example(t)
	recs := []types.FormRecord{
		{FormKey: types.FormKey{Study: study, Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"}, Values: []protocol.ItemValue{
			{Item: "VS.DATE", Value: "2026-01-12"}, {Item: "VS.POS", Value: "1"}, {Item: "VS.SYSBP", Value: "148"}, {Item: "VS.TEMP", Value: "36.6"}}},
		{FormKey: types.FormKey{Study: study, Subject: "S1-001", Event: "UNS", EventRepeat: 2, Form: "VS"}, Values: []protocol.ItemValue{{Item: "VS.SYSBP", Value: "150"}}},
	}
	m := testMeta()
	m.Prefilled = true
	_, f, sum := template(t, c, TemplateOptions{Meta: m, Subjects: subjects(), Records: recs, Events: []string{"SCR", "UNS"}})
	// A sheet for each form screening or an unscheduled visit collects,
	// and no other; screening alone collects four.
	forms := func(sum *TemplateSummary) string {
		var s []string
		for _, sh := range sum.Sheets {
			s = append(s, sh.Form)
		}
		return strings.Join(s, ",")
	}
	if got, want := forms(sum), "DM,IE,VS,LB,AE,CM"; got != want {
		t.Errorf("form sheets %s, want %s", got, want)
	}
	if i, _ := f.GetSheetIndex("EX"); i >= 0 {
		t.Error("a sheet for EX, which neither event collects")
	}
	if _, _, sum := template(t, c, TemplateOptions{Meta: m, Subjects: subjects(), Events: []string{"SCR"}}); forms(sum) != "DM,IE,VS,LB" {
		t.Errorf("form sheets at screening: %s", forms(sum))
	}
	rows, _ := f.GetRows("VS")
	// S1-001: SCR, UNS 1..3; S1-002: SCR, UNS 1.
	if len(rows) != HeaderRows+6 {
		t.Fatalf("VS rows %d", len(rows)-HeaderRows)
	}
	r := rows[3]
	if r[4] != "2026-01-12" || r[6] != "1=Sitting" || r[7] != "148" || r[10] != "36.6" {
		t.Errorf("pre-filled row %q", r)
	}
	if rows[6][1] != "UNS" || rows[6][2] != "3" {
		t.Errorf("next UNS repeat row %q", rows[6])
	}
	if _, err := WriteTemplate(&bytes.Buffer{}, c, TemplateOptions{Meta: m, Events: []string{"NOPE"}}); err == nil {
		t.Error("unknown event accepted")
	}
}
