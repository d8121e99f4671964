package main

import (
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestFillFindsKeyColumnsByHeader fills a data-entry sheet (SUBJECT and
// EVENT in columns A and B) and an exported one (subject, site, event).
func TestFillFindsKeyColumnsByHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []any
		rows   [][]any
		cell   string
	}{
		{"entry", []any{"SUBJECT", "EVENT", "EVENT_REPEAT", "ROW", "VS.HR"},
			[][]any{{"S1-001", "SCR", 1, nil, nil}, {"S1-002", "SCR", 1, nil, nil}}, "E3"},
		{"export", []any{"subject", "site", "event", "event_repeat", "row", "VS.SYSBP", "VS.HR"},
			[][]any{{"S1-001", "site1", "SCR", 1, nil, 148, 58}, {"S1-002", "site1", "SCR", 1, nil, 152, 66}}, "G3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wb.xlsx")
			f := excelize.NewFile()
			if err := f.SetSheetName("Sheet1", "VS"); err != nil {
				t.Fatal(err)
			}
			for i, r := range append([][]any{tc.header}, tc.rows...) {
				cell, _ := excelize.CoordinatesToCellName(1, i+1)
				if err := f.SetSheetRow("VS", cell, &r); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.SaveAs(path); err != nil {
				t.Fatal(err)
			}
			if err := run([]string{"--sheet", "VS", "--subject", "S1-002", "--event", "SCR", path, "VS.HR=72"}); err != nil {
				t.Fatal(err)
			}
			g, err := excelize.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if v, _ := g.GetCellValue("VS", tc.cell); v != "72" {
				t.Errorf("%s = %q, want 72", tc.cell, v)
			}
		})
	}
}

func TestFillRefusesASheetWithoutKeyColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wb.xlsx")
	f := excelize.NewFile()
	if err := f.SetSheetRow("Sheet1", "A1", &[]any{"patient", "visit", "VS.HR"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--sheet", "Sheet1", "--subject", "S1-001", "--event", "SCR", path, "VS.HR=72"})
	if err == nil || err.Error() != "sheet Sheet1 has no subject and event columns in row 1" {
		t.Errorf("err = %v", err)
	}
}
