package export

import (
	"archive/zip"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/protocol"
)

// MaxSheetRows is the most data rows one sheet holds (Excel's limit of
// 1,048,576 rows less the two header rows); a longer table continues on
// sheets named "<name> (2)", "<name> (3)" ...
var MaxSheetRows = 1048576 - 2

// WriteXLSX exports the study to an Excel workbook written to w. Sheets
// are streamed with excelize's StreamWriter (rows go to temporary files,
// not memory); the package is assembled in a temporary zip and copied to
// w with its entries in name order and every timestamp set to the block
// time, so the same study at the same height gives the same bytes.
func WriteXLSX(ctx context.Context, r Reader, opt Options, w io.Writer) (*Summary, error) {
	d, err := load(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(opt.TmpDir, "veritrial-export-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	f := excelize.NewFile(excelize.Options{TmpDir: opt.TmpDir})
	defer f.Close()
	b, err := newXLSXBook(f, d)
	if err != nil {
		return nil, err
	}
	if err := d.writeTables(b); err != nil {
		return nil, err
	}
	stamp := opt.Block.Time.UTC().Format("2006-01-02T15:04:05Z")
	title := "Study " + d.study.ID + " at height " + strconv.FormatInt(opt.Block.Height, 10)
	if d.notLocked() {
		title += " (NOT LOCKED)"
	}
	if err := f.SetDocProps(&excelize.DocProperties{
		Created: stamp, Modified: stamp, Creator: "veritrial", LastModifiedBy: "veritrial",
		Title: title, Subject: d.study.Title, Identifier: d.sum.Digest, Revision: "1",
		Description: "Dataset digest " + d.sum.Digest + " (" + DigestDefinition + ")",
	}); err != nil {
		return nil, err
	}
	if err := f.SetAppProps(&excelize.AppProperties{Application: "veritrial", Company: d.study.Sponsor, AppVersion: "1.0000"}); err != nil {
		return nil, err
	}
	mod := opt.Block.Time.UTC()
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return &fixedZip{zw: newZipWriter(tmp), mod: mod} })
	if err := f.Write(io.Discard); err != nil {
		return nil, err
	}
	if err := copySortedZip(tmp, w); err != nil {
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// fixedZip is the zip writer excelize writes through: every entry is
// deflated and dated mod, and goes to the temporary file, not excelize's
// in-memory buffer.
type fixedZip struct {
	zw  *zip.Writer
	mod time.Time
}

func (z *fixedZip) Create(name string) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.mod})
}

func (z *fixedZip) AddFS(fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		w, err := z.Create(path)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
}

func (z *fixedZip) Close() error { return z.zw.Close() }

// copySortedZip copies the zip in f to w with its entries in name order,
// without recompressing them.
func copySortedZip(f *os.File, w io.Writer) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return err
	}
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	zw := newZipWriter(w)
	for _, zf := range files {
		if err := zw.Copy(zf); err != nil {
			return err
		}
	}
	return zw.Close()
}

// newZipWriter returns a zip writer deflating at the fastest level: the
// output is as deterministic as at any level, and compression is the
// largest cost of a big export.
func newZipWriter(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return zw
}

// xlsxBook is a workbook of streamed sheets.
type xlsxBook struct {
	f          *excelize.File
	used       map[string]bool // lower-case sheet names taken
	sheetOf    map[string]string
	header     int
	label      int
	date       int
	dateTime   int
	decimals   map[int]int
	wrapLabels int
}

// newXLSXBook creates every planned sheet in order, so the workbook's
// sheet order does not depend on the order tables are written.
func newXLSXBook(f *excelize.File, d *dataset) (*xlsxBook, error) {
	b := &xlsxBook{f: f, used: map[string]bool{}, sheetOf: map[string]string{}, decimals: map[int]int{}}
	var err error
	if b.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "1F3864"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}}}); err != nil {
		return nil, err
	}
	if b.label, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EDEDED"}}}); err != nil {
		return nil, err
	}
	dateFmt, dtFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	if b.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if b.dateTime, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dtFmt}); err != nil {
		return nil, err
	}
	for i, name := range d.tableOrder() {
		sheet := b.sheetName(tableTitle(name))
		b.sheetOf[name] = sheet
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := f.NewSheet(sheet); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// sheetName makes a valid, unused sheet name from name.
func (b *xlsxBook) sheetName(name string) string {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '_'
		}
		return r
	}, name)
	clean = strings.Trim(clean, "'")
	if clean == "" {
		clean = "Sheet"
	}
	if len([]rune(clean)) > 31 {
		clean = string([]rune(clean)[:31])
	}
	base, n := clean, 1
	for b.used[strings.ToLower(clean)] {
		n++
		suffix := " (" + strconv.Itoa(n) + ")"
		r := []rune(base)
		if len(r)+len(suffix) > 31 {
			r = r[:31-len(suffix)]
		}
		clean = string(r) + suffix
	}
	b.used[strings.ToLower(clean)] = true
	return clean
}

func (b *xlsxBook) decimalStyle(digits int) (int, error) {
	if s, ok := b.decimals[digits]; ok {
		return s, nil
	}
	var st *excelize.Style
	if digits > 0 {
		f := "0." + strings.Repeat("0", digits)
		st = &excelize.Style{CustomNumFmt: &f}
	} else {
		st = &excelize.Style{NumFmt: 0}
	}
	s, err := b.f.NewStyle(st)
	if err != nil {
		return 0, err
	}
	b.decimals[digits] = s
	return s, nil
}

func (b *xlsxBook) spool() {}

func (b *xlsxBook) table(name, _ string, cols []column, freeze int) (table, error) {
	t := &xlsxTable{b: b, name: name, cols: cols, freeze: freeze}
	t.decStyle = make([]int, len(cols))
	for i, c := range cols {
		s, err := b.decimalStyle(c.digits)
		if err != nil {
			return nil, err
		}
		t.decStyle[i] = s
	}
	sheet, ok := b.sheetOf[name]
	if !ok {
		sheet = b.sheetName(tableTitle(name))
		if _, err := b.f.NewSheet(sheet); err != nil {
			return nil, err
		}
	}
	if err := t.start(sheet); err != nil {
		return nil, err
	}
	return t, nil
}

// xlsxTable streams one table, continuing on a new sheet when one is
// full.
type xlsxTable struct {
	b        *xlsxBook
	name     string
	cols     []column
	freeze   int
	part     int
	sw       *excelize.StreamWriter
	rows     int // data rows on the current sheet
	decStyle []int
	cells    []excelize.Cell
	vals     []any
}

func (t *xlsxTable) start(sheet string) error {
	sw, err := t.b.f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	t.sw, t.rows = sw, 0
	t.part++
	for i, c := range t.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	topLeft, _ := excelize.CoordinatesToCellName(t.freeze+1, 3)
	pane := "bottomLeft"
	if t.freeze > 0 {
		pane = "bottomRight"
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, XSplit: t.freeze, YSplit: 2, TopLeftCell: topLeft, ActivePane: pane,
		Selection: []excelize.Selection{{SQRef: topLeft, ActiveCell: topLeft, Pane: pane}}}); err != nil {
		return err
	}
	h1 := make([]any, len(t.cols))
	h2 := make([]any, len(t.cols))
	for i, c := range t.cols {
		h1[i] = excelize.Cell{StyleID: t.b.header, Value: c.name}
		h2[i] = excelize.Cell{StyleID: t.b.label, Value: c.label}
	}
	if err := sw.SetRow("A1", h1); err != nil {
		return err
	}
	return sw.SetRow("A2", h2, excelize.RowOpts{Height: 30})
}

func (t *xlsxTable) row(cells []cell) error {
	if t.rows == MaxSheetRows {
		if err := t.sw.Flush(); err != nil {
			return err
		}
		sheet := t.b.sheetName(fmt.Sprintf("%s (%d)", tableTitle(t.name), t.part+1))
		if _, err := t.b.f.NewSheet(sheet); err != nil {
			return err
		}
		if err := t.start(sheet); err != nil {
			return err
		}
	}
	t.rows++
	if cap(t.cells) < len(cells) {
		t.cells = make([]excelize.Cell, len(cells))
		t.vals = make([]any, len(cells))
	}
	t.cells, t.vals = t.cells[:len(cells)], t.vals[:len(cells)]
	for i, c := range cells {
		if c.s == "" {
			t.vals[i] = nil
			continue
		}
		x := &t.cells[i]
		x.StyleID, x.Value = 0, nil
		switch c.k {
		case cInt:
			// Beyond 15 digits a spreadsheet number would be rounded: text.
			if n, err := strconv.ParseInt(c.s, 10, 64); err == nil && significantDigits(c.s) <= 15 {
				x.Value = n
			} else {
				x.Value = c.s
			}
		case cDec:
			x.Value = decimalValue(c.s)
			if _, ok := x.Value.(float64); ok && i < len(t.decStyle) {
				x.StyleID = t.decStyle[i]
			}
		case cDate:
			if v, ok := parseDay(c.s); ok {
				x.Value, x.StyleID = v, t.b.date
			} else {
				x.Value = c.s
			}
		case cDateTime:
			if v, ok := parseDateTime(c.s); ok {
				x.Value, x.StyleID = v, t.b.dateTime
			} else {
				x.Value = c.s
			}
		default:
			x.Value = c.s
		}
		t.vals[i] = x
	}
	cellRef, _ := excelize.CoordinatesToCellName(1, t.rows+2)
	return t.sw.SetRow(cellRef, t.vals)
}

func (t *xlsxTable) close() error { return t.sw.Flush() }

// decimalValue returns the number a spreadsheet stores for an exact
// decimal: a float64 only when excelize writes it back as exactly the
// canonical decimal text (at most 15 significant digits), otherwise the
// text itself, so no digit is ever changed by binary floating point.
func decimalValue(s string) any {
	d, err := protocol.ParseDecimal(s)
	if err != nil {
		return s
	}
	canon := d.String()
	if significantDigits(canon) > 15 {
		return s
	}
	f, err := strconv.ParseFloat(canon, 64)
	if err != nil || strconv.FormatFloat(f, 'f', -1, 64) != canon {
		return s
	}
	return f
}

// significantDigits counts the digits of a canonical decimal from its
// first non-zero digit.
func significantDigits(canon string) int {
	n, started := 0, false
	for i := 0; i < len(canon); i++ {
		c := canon[i]
		if c < '0' || c > '9' || (!started && c == '0') {
			continue
		}
		started = true
		n++
	}
	return n
}
