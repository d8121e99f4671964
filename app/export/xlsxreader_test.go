package export_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/export"
)

// continuedWorkbook exports the scenario with sheets of at most 20 data
// rows, so that tables continue on further sheets.
func continuedWorkbook(t *testing.T) ([]byte, *export.Summary) {
	t.Helper()
	c := apptest.New(t)
	h := scenario(t, c)
	old := export.MaxSheetRows
	export.MaxSheetRows = 20
	defer func() { export.MaxSheetRows = old }()
	r, opt := source(c, h)
	return run(t, formats[0], r, opt)
}

var (
	dimensionRE = regexp.MustCompile(`<dimension ref="([^"]*)"/>`)
	cellRefRE   = regexp.MustCompile(`<c r="([A-Z]+[0-9]+)"`)
)

// TestXLSXDimension reads every worksheet part: its dimension is the
// range from A1 to the last row and column holding a cell.
func TestXLSXDimension(t *testing.T) {
	data, _ := continuedWorkbook(t)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	sheets := 0
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") {
			continue
		}
		sheets++
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		x, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		dims := dimensionRE.FindAllSubmatch(x, -1)
		if len(dims) != 1 {
			t.Fatalf("%s: %d dimension elements", zf.Name, len(dims))
		}
		maxCol, maxRow := 0, 0
		for _, m := range cellRefRE.FindAllSubmatch(x, -1) {
			col, row, err := excelize.CellNameToCoordinates(string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			maxCol, maxRow = max(maxCol, col), max(maxRow, row)
		}
		want, _ := excelize.CoordinatesToCellName(maxCol, maxRow)
		if got := string(dims[0][1]); got != "A1:"+want {
			t.Errorf("%s: dimension %s, cells span A1:%s", zf.Name, got, want)
		}
	}
	if sheets < 10 {
		t.Fatalf("%d worksheets", sheets)
	}
}

// openpyxl returns a Python interpreter that imports openpyxl (Debian
// package python3-openpyxl: the python3 on PATH, else the system's).
// Without one the test fails in CI (environment CI set) and is skipped
// elsewhere: make test installs the package first.
func openpyxl(t *testing.T) string {
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range append(cands, "/usr/bin/python3") {
		if exec.Command(p, "-c", "import openpyxl").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("openpyxl is not installed: the workbook reader test cannot run in CI (make openpyxl installs python3-openpyxl)")
	}
	t.Skip("WORKBOOK READER TEST SKIPPED: openpyxl is not installed (make openpyxl installs python3-openpyxl; with CI set this fails)")
	return ""
}

// readOnlyCells is what openpyxl in read-only mode, which trusts each
// sheet's dimension, reads: per sheet, its dimension and the number of
// cells holding a value.
const readOnlyCells = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
out = {}
for ws in wb.worksheets:
    n = sum(1 for row in ws.iter_rows(values_only=True) for v in row if v is not None and v != "")
    out[ws.title] = [ws.max_row, ws.max_column, n]
print(json.dumps(out))
`

// TestXLSXOpenpyxlReadOnly opens the workbook with openpyxl in read-only
// mode: every sheet has the rows, columns and cells excelize reads.
func TestXLSXOpenpyxlReadOnly(t *testing.T) {
	py := openpyxl(t)
	data, _ := continuedWorkbook(t)
	path := filepath.Join(t.TempDir(), "export.xlsx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", readOnlyCells, path).Output()
	if err != nil {
		t.Fatalf("openpyxl: %v", err)
	}
	var got map[string][3]int
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sheets := f.GetSheetList()
	if len(got) != len(sheets) {
		t.Fatalf("openpyxl reads %d sheets, excelize %d", len(got), len(sheets))
	}
	for _, s := range sheets {
		rows, err := f.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		cols, cells := 0, 0
		for _, r := range rows {
			cols = max(cols, len(r))
			for _, v := range r {
				if v != "" {
					cells++
				}
			}
		}
		if want := [3]int{len(rows), cols, cells}; got[s] != want {
			t.Errorf("sheet %s: openpyxl reads rows, columns, cells %v, excelize %v", s, got[s], want)
		}
	}
}
