package export_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/app/ziplimit/ziplimittest"
)

// TestReadBackRefusesBombs: the readers of verify-export refuse a
// workbook with more cells than the export limit and a CSV zip whose
// entry inflates past it, quickly, in bounded memory.
func TestReadBackRefusesBombs(t *testing.T) {
	n := 4*(ziplimit.Export.Cells+1) + 100
	data := ziplimittest.Workbook(t, "x", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row>", "<c/>", "</row></sheetData></worksheet>", n)
	ziplimittest.Refused(t, n, func() error {
		_, err := export.Parse(export.FormatXLSX, data)
		return err
	})

	defer func(l ziplimit.Limits) { ziplimit.Export = l }(ziplimit.Export)
	ziplimit.Export.Part = 64 << 20
	n = ziplimit.Export.Part + 1
	data = ziplimittest.Replace(t, ziplimittest.Workbook(t, "x", "provenance.csv", "field,value\r\n", " ", "", 100), "records.csv", "", "a,b\r\n", "", n)
	ziplimittest.Refused(t, n, func() error {
		_, err := export.Parse(export.FormatCSV, data)
		return err
	})
}

// TestCasebookEntries: a casebook export holds a file per subject, more
// than the entries other exports may hold, and reads back; its own limit
// still refuses more.
func TestCasebookEntries(t *testing.T) {
	zipOf := func(n int) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range map[string]string{"provenance.csv": "field,value\r\nStudy,S\r\n", "records.csv": "ledger_key,value_sha256\r\n", "casebooks.csv": "file\r\n"} {
			w, _ := zw.Create(name)
			_, _ = w.Write([]byte(body))
		}
		for i := 0; i < n; i++ {
			w, _ := zw.Create(fmt.Sprintf("casebook_S%05d.pdf", i))
			_, _ = w.Write([]byte("%PDF-1.3"))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	data := zipOf(ziplimit.Export.Entries)
	f, err := export.Parse(export.FormatPDF, data)
	if err != nil || f.Field(export.FieldStudy) != "S" {
		t.Fatalf("%d casebooks: %v", ziplimit.Export.Entries, err)
	}
	if _, err := export.Parse(export.FormatCSV, data); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Errorf("a CSV zip of %d entries: %v", ziplimit.Export.Entries+3, err)
	}
	defer func(l ziplimit.Limits) { ziplimit.Casebooks = l }(ziplimit.Casebooks)
	ziplimit.Casebooks.Entries = 100
	if _, err := export.Parse(export.FormatPDF, zipOf(98)); err == nil || !strings.Contains(err.Error(), "over the limit of 100 entries") {
		t.Errorf("101 entries: %v", err)
	}
}
