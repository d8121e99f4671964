package entry

import (
	"bytes"
	"testing"

	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/app/ziplimit/ziplimittest"
)

// TestOpenRefusesBomb: a workbook whose sheet inflates past the import
// limit is refused quickly, in bounded memory.
func TestOpenRefusesBomb(t *testing.T) {
	n := ziplimit.Import.Part + 1
	data := ziplimittest.Workbook(t, HeaderSubject, "xl/worksheets/sheet1.xml", "<worksheet><sheetData>", " ", "</sheetData></worksheet>", n)
	ziplimittest.Refused(t, n, func() error {
		_, err := Open(bytes.NewReader(data))
		return err
	})
}
