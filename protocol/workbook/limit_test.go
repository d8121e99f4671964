package workbook

import (
	"bytes"
	"testing"

	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/app/ziplimit/ziplimittest"
)

// TestLoadXLSXRefusesBomb: a workbook with more cells than the import
// limit (in a small file) is refused quickly, in bounded memory.
func TestLoadXLSXRefusesBomb(t *testing.T) {
	n := 5*(ziplimit.Import.Cells+1) + 100
	data := ziplimittest.Workbook(t, "x", "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row>", "<c/> ", "</row></sheetData></worksheet>", n)
	ziplimittest.Refused(t, n, func() error {
		_, _, err := LoadXLSX(bytes.NewReader(data), "bomb.xlsx")
		return err
	})
}
