package export_test

import (
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
