package ziplimit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/app/ziplimit/ziplimittest"
)

// TestCheck refuses a workbook over each limit, naming it, and opens one
// within them.
func TestCheck(t *testing.T) {
	l := ziplimit.Limits{Entries: 20, Part: 1 << 20, Total: 2 << 20, Rows: 100, Cells: 1000, SharedStrings: 50}
	sheet := "xl/worksheets/sheet1.xml"
	head, tail := `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`, `</sheetData></worksheet>`
	for _, c := range []struct {
		name, part, head, filler, tail string
		n                              int64
		what                           string
	}{
		{"part size", sheet, head, " ", tail, 1<<20 + 1, "decompressed size of one part"},
		{"total size", "xl/other.xml", "<a>", " ", "</a>", 1<<20 - 1000, ""},
		{"rows", sheet, head, `<row r="1"></row>`, tail, 200 * 17, "rows"},
		{"cells", sheet, head, `<x:c/>`, tail, 2000 * 6, "cells"},
		{"shared strings", "xl/sharedStrings.xml", "<sst>", "<si><t>a</t></si>", "</sst>", 100 * 17, "shared strings"},
	} {
		data := ziplimittest.Workbook(t, "x", c.part, c.head, c.filler, c.tail, c.n)
		if c.name == "total size" {
			data = ziplimittest.Replace(t, data, "xl/more.xml", "<a>", " ", "</a>", 1<<20-1000)
			c.what = "decompressed size of all parts"
		}
		err := ziplimit.Check(data, l)
		var le *ziplimit.LimitError
		if !errors.As(err, &le) || !strings.Contains(le.What, c.what) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	ok := ziplimittest.Workbook(t, "x", "xl/other.xml", "<a>", " ", "</a>", 1000)
	f, err := ziplimit.OpenWorkbook(ok, l)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetCellValue("Sheet1", "A1"); v != "x" {
		t.Errorf("A1 = %q", v)
	}
	f.Close()
	l.Entries = 3
	if err := ziplimit.Check(ok, l); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Errorf("entries: err = %v", err)
	}
}
