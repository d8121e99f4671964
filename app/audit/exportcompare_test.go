package audit

import (
	"testing"

	"github.com/veritrial/veritrial/app/export"
)

// TestCompareTable pins the row alignment: rows sharing a key, a table
// without a key column, ragged rows.
func TestCompareTable(t *testing.T) {
	hdr := [][]string{{"a", "b", "ledger_key"}, {"A", "B", "Key"}}
	want := append(hdr, []string{"1", "x", "k1"}, []string{"2", "y", "k1"}, []string{"3", "z", "k2"})
	got := append(hdr, []string{"2", "y", "k1"}, []string{"3", "Z", "k2"}, []string{"4", "w", "k9"})
	rep := &ExportReport{}
	compareTable(rep, &export.Table{Name: "Audit trail", Role: export.RoleAuditTrail, HeaderRows: 2, Rows: got}, &export.Table{Name: "Audit trail", Role: export.RoleAuditTrail, HeaderRows: 2, Rows: want})
	kinds := map[string]int{}
	for _, d := range rep.Differences {
		kinds[d.Kind]++
	}
	if len(rep.Differences) != 3 || kinds["altered audit trail: missing row"] != 1 || kinds["altered audit trail: changed value"] != 1 || kinds["altered audit trail: extra row"] != 1 {
		t.Errorf("differences: %+v", rep.Differences)
	}
	for _, d := range rep.Differences {
		if d.Kind == "altered audit trail: changed value" && (d.Row != 4 || d.Column != "B (b)" || d.File != "Z" || d.Ledger != "z") {
			t.Errorf("changed value located at %+v", d)
		}
	}
	rep = &ExportReport{}
	compareTable(rep, &export.Table{Name: "Dictionary", HeaderRows: 2, Rows: [][]string{{"a"}, {"A"}, {"1", "extra"}}}, &export.Table{Name: "Dictionary", HeaderRows: 2, Rows: [][]string{{"a"}, {"A"}, {"1"}}})
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != "changed value" || rep.Differences[0].Column != "B" {
		t.Errorf("ragged row: %+v", rep.Differences)
	}
}

// TestCompareRagged: ragged and empty tables, and element lists, compare
// without panicking and report their differences.
func TestCompareRagged(t *testing.T) {
	rep := &ExportReport{}
	compareTable(rep, &export.Table{Name: "X", HeaderRows: 2}, &export.Table{Name: "X", HeaderRows: 2, Rows: [][]string{{"ledger_key"}, {"Key"}, {"k"}}})
	compareTable(rep, &export.Table{Name: "X", HeaderRows: 2, Rows: [][]string{{}, {}, {"a", "b", "c"}}}, &export.Table{Name: "X", HeaderRows: 2})
	compareElements(rep, &export.Table{Name: "ODM", Elements: []export.Element{{Path: "/ODM/x", Line: 1}}}, &export.Table{Name: "ODM"})
	kinds := map[string]int{}
	for _, d := range rep.Differences {
		kinds[d.Kind]++
	}
	if len(rep.Differences) != 5 || kinds["changed header"] != 2 || kinds["missing row"] != 1 || kinds["extra row"] != 1 || kinds["extra element"] != 1 {
		t.Errorf("differences: %+v", rep.Differences)
	}
}
