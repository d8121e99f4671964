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
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/protocol"
)

// TestCheckExportMissingCodes: verify-export accepts genuine exports
// whose platelet count holds the missing-data code ND with a reason, and
// in every format locates a code (and a reason) edited in the file: the
// sheet or file, row and companion column, or the ODM FlagValue.
func TestCheckExportMissingCodes(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudyWith(apptest.RegisterMsg(apptest.WithMissingCodes()))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	lb := apptest.LB()
	lb[4] = protocol.ItemValue{Item: "LB.PLT", Missing: "ND", Reason: "sample haemolysed"}
	key := apptest.FormKey("S1-001", "SCR", 1, "LB")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(key, lb))
	ledgerKey := "form/" + apptest.StudyID + "/S1-001/SCR/0001/LB"
	dir := t.TempDir()
	ctx := context.Background()

	edit := func(format string, change func(file string, data []byte) []byte) (*ExportReport, export.Block) {
		file, block := exportAt(t, c, format, dir)
		rep, err := CheckExport(ctx, file, c.App.TrustedQuery, block, "")
		if err != nil || !rep.OK() {
			t.Fatalf("%s: genuine export: %v %+v", format, err, rep)
		}
		data, err := os.ReadFile(file)
		must(t, err)
		bad := filepath.Join(dir, "edited."+format)
		must(t, os.WriteFile(bad, change(file, data), 0o600))
		rep, err = CheckExport(ctx, bad, c.App.TrustedQuery, block, "")
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		return rep, block
	}
	tabular := []struct {
		format, sheet, column, ledger, file string
		change                              func(file string, data []byte) []byte
	}{
		{"xlsx", "LB", "LB.PLT.missing", "ND", "NA", func(file string, _ []byte) []byte {
			f, err := excelize.OpenFile(file)
			must(t, err)
			defer f.Close()
			sheet, row, col := findCell(t, f, "LB.PLT.missing", ledgerKey)
			must(t, f.SetCellValue(sheet, col+strconv.Itoa(row), "NA"))
			var buf bytes.Buffer
			must(t, f.Write(&buf))
			return buf.Bytes()
		}},
		{"zip", "form_LB.csv", "LB.PLT.missing", "ND", "UNK", func(_ string, data []byte) []byte {
			return rewriteEntry(t, data, "form_LB.csv", func(b []byte) []byte {
				return bytes.Replace(b, []byte(",ND,sample haemolysed,"), []byte(",UNK,sample haemolysed,"), 1)
			})
		}},
		{"zip", "form_LB.csv", "LB.PLT.missing_reason", "sample haemolysed", "sample lost", func(_ string, data []byte) []byte {
			return rewriteEntry(t, data, "form_LB.csv", func(b []byte) []byte {
				return bytes.Replace(b, []byte(",ND,sample haemolysed,"), []byte(",ND,sample lost,"), 1)
			})
		}},
		{export.FormatDatasetJSON, "form_LB.json", "LB.PLT.missing", "ND", "NA", func(_ string, data []byte) []byte {
			return rewriteEntry(t, data, "form_LB.json", func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"ND","sample haemolysed"`), []byte(`"NA","sample haemolysed"`), 1)
			})
		}},
	}
	for _, tc := range tabular {
		rep, _ := edit(tc.format, tc.change)
		if len(rep.Differences) != 1 {
			t.Errorf("%s %s: differences %+v", tc.format, tc.column, rep.Differences)
			continue
		}
		d := rep.Differences[0]
		if d.Kind != "changed value" || d.Sheet != tc.sheet || !strings.HasSuffix(d.Column, " ("+tc.column+")") || d.Row == 0 ||
			d.Key != ledgerKey || d.File != tc.file || d.Ledger != tc.ledger {
			t.Errorf("%s %s: the edit is reported as %+v", tc.format, tc.column, d)
		}
	}

	rep, _ := edit("xml", func(_ string, data []byte) []byte {
		return bytes.Replace(data, []byte(`">ND</FlagValue>`), []byte(`">NA</FlagValue>`), 1)
	})
	if len(rep.Differences) != 1 || !strings.Contains(rep.Differences[0].Path, "ItemData[@ItemOID=I.LB.PLT]/Annotation/Flag/FlagValue") ||
		rep.Differences[0].Row == 0 || rep.Differences[0].File != "NA" || rep.Differences[0].Ledger != "ND" {
		t.Errorf("ODM: the edited code is reported as %+v", rep.Differences)
	}
}
