package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/safetext"
	"github.com/veritrial/veritrial/protocol"
)

// MaxSheetRows is the most data rows one sheet holds (Excel's limit of
// 1,048,576 rows less the two header rows); a longer table continues on
// sheets named "<name> (2)", "<name> (3)" ...
var MaxSheetRows = 1048576 - 2

// WriteXLSX exports the study to an Excel workbook written to w. Each
// sheet is streamed with excelize's StreamWriter in a workbook of its own
// (rows go to temporary files; the sheet's buffers are released when it
// is done), its worksheet part is kept in a temporary file and spliced
// into the final workbook, whose styles are created in the same order.
// The package is assembled in a temporary zip and copied to w with its
// entries in name order and every timestamp set to the block time, so
// the same study at the same height gives the same bytes.
func WriteXLSX(ctx context.Context, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
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
	b, err := newXLSXBook(f, d, opt.TmpDir)
	if err != nil {
		return nil, err
	}
	defer b.cleanup()
	if err := d.writeTables(b); err != nil {
		return nil, err
	}
	if err := b.continued(); err != nil {
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
	parts, err := b.parts()
	if err != nil {
		return nil, err
	}
	fz := &fixedZip{zw: newZipWriter(tmp), mod: opt.Block.Time.UTC(), parts: parts, done: map[string]bool{}}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return fz })
	if err := f.Write(io.Discard); err != nil {
		return nil, err
	}
	if fz.err != nil {
		return nil, fz.err
	}
	for name := range parts {
		if !fz.done[name] {
			return nil, fmt.Errorf("export: worksheet %s was not written", name)
		}
	}
	if err := copySortedZip(tmp, w); err != nil {
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// fixedZip is the zip writer excelize writes through: every entry is
// deflated and dated mod, and goes to the temporary file, not excelize's
// in-memory buffer. An entry named in parts gets that part's already
// deflated content instead of what excelize writes.
type fixedZip struct {
	zw    *zip.Writer
	mod   time.Time
	parts map[string]*sheetPart
	done  map[string]bool
	err   error
}

func (z *fixedZip) Create(name string) (io.Writer, error) {
	p, ok := z.parts[name]
	if !ok {
		return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.mod})
	}
	z.done[name] = true
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: p.crc, CompressedSize64: p.csize, UncompressedSize64: p.usize}
	// A raw entry needs the MS-DOS time fields CreateHeader would set.
	fh.SetModTime(z.mod)
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if n, err := io.Copy(w, f); err != nil || uint64(n) != p.csize {
		return nil, fmt.Errorf("export: copying worksheet %s: %d of %d bytes: %v", name, n, p.csize, err)
	}
	return io.Discard, nil
}

// sheetPart is a worksheet part, deflated, in a temporary file.
type sheetPart struct {
	file         string
	crc          uint32
	csize, usize uint64
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

// captureZip keeps one entry of a zip excelize writes, deflated, with its
// CRC-32 and sizes, and drops the others. In the entry, the dimension
// excelize's stream writer declares before any row is known
// (stubDimension) is replaced by dim, and each cell token (see
// xlsxTable.value) by the XML text it stands for.
type captureZip struct {
	name    string
	out     *countWriter
	fw      *flate.Writer
	crc     hash.Hash32
	usize   uint64
	got     bool
	dim     string // the dimension element to write; "" once written
	head    []byte // what came before the dimension
	tokens  []string
	pending []byte
}

// stubDimension is the dimension excelize's stream writer declares for
// every sheet: a reader that trusts it (openpyxl read-only) sees one cell.
const stubDimension = `<dimension ref="A1"></dimension>`

func (z *captureZip) Create(name string) (io.Writer, error) {
	if name != z.name || z.got {
		return io.Discard, nil
	}
	z.got = true
	return z, nil
}

// Write replaces the dimension and the cell tokens in p, then deflates
// and hashes it. What precedes the dimension, and a token cut by the end
// of p, wait for the next Write.
func (z *captureZip) Write(p []byte) (int, error) {
	if z.dim != "" {
		z.head = append(z.head, p...)
		i := bytes.Index(z.head, []byte(stubDimension))
		if i < 0 {
			return len(p), nil
		}
		head := slices.Concat(z.head[:i], []byte(z.dim), z.head[i+len(stubDimension):])
		z.dim, z.head = "", nil
		return len(p), z.replaceTokens(head)
	}
	return len(p), z.replaceTokens(p)
}

// replaceTokens replaces the cell tokens in p, then deflates and hashes
// it.
func (z *captureZip) replaceTokens(p []byte) error {
	if len(z.tokens) == 0 {
		return z.emit(p)
	}
	z.pending = append(z.pending, p...)
	for {
		i := bytes.Index(z.pending, []byte(tokenOpen))
		if i < 0 {
			// Keep a tail that may begin a token.
			keep := 0
			for k := min(len(tokenOpen)-1, len(z.pending)); k > 0; k-- {
				if bytes.HasSuffix(z.pending, []byte(tokenOpen[:k])) {
					keep = k
					break
				}
			}
			err := z.emit(z.pending[:len(z.pending)-keep])
			z.pending = append(z.pending[:0], z.pending[len(z.pending)-keep:]...)
			return err
		}
		if err := z.emit(z.pending[:i]); err != nil {
			return err
		}
		rest := z.pending[i+len(tokenOpen):]
		j := bytes.Index(rest, []byte(tokenClose))
		if j < 0 {
			z.pending = append(z.pending[:0], z.pending[i:]...)
			return nil
		}
		n, err := strconv.Atoi(string(rest[:j]))
		if err != nil || n < 0 || n >= len(z.tokens) {
			return fmt.Errorf("export: a cell token %q that no cell wrote", rest[:j])
		}
		if err := z.emit([]byte(z.tokens[n])); err != nil {
			return err
		}
		z.pending = append(z.pending[:0], rest[j+len(tokenClose):]...)
	}
}

// emit deflates p and hashes it.
func (z *captureZip) emit(p []byte) error {
	z.crc.Write(p)
	z.usize += uint64(len(p))
	_, err := z.fw.Write(p)
	return err
}

// A cell token stands for the text of a cell that excelize would alter
// (xlsxTable.value): U+E000, a number, U+E000, between spaces so that
// excelize marks the cell's white space preserved.
const (
	tokenMark  = "\uE000"
	tokenOpen  = " " + tokenMark
	tokenClose = tokenMark + " "
)

// countWriter counts the bytes written to w.
type countWriter struct {
	w io.Writer
	n uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

func (z *captureZip) AddFS(fs.FS) error { return nil }
func (z *captureZip) Close() error      { return nil }

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

// maxDigits is the most decimal places a number format shows; items with
// more show as stored.
const maxDigits = 9

// styles are the cell styles of every workbook of an export, created in
// the same order in each so their IDs agree.
type styles struct {
	header, label, date, dateTime int
	decimals                      [maxDigits + 1]int
}

// newStyles creates the export styles in f, always in the same order.
func newStyles(f *excelize.File) (*styles, error) {
	st := &styles{}
	var err error
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "1F3864"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}}}); err != nil {
		return nil, err
	}
	if st.label, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EDEDED"}}}); err != nil {
		return nil, err
	}
	dateFmt, dtFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	if st.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if st.dateTime, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dtFmt}); err != nil {
		return nil, err
	}
	for digits := 0; digits <= maxDigits; digits++ {
		s := &excelize.Style{NumFmt: 0}
		if digits > 0 {
			f := "0." + strings.Repeat("0", digits)
			s = &excelize.Style{CustomNumFmt: &f}
		}
		if st.decimals[digits], err = f.NewStyle(s); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (st *styles) decimal(digits int) int {
	if digits < 0 || digits > maxDigits {
		digits = 0
	}
	return st.decimals[digits]
}

// xlsxBook is the final workbook and the worksheet parts written for it.
type xlsxBook struct {
	f       *excelize.File
	st      *styles
	tmpDir  string
	used    map[string]bool       // lower-case sheet names taken
	sheetOf map[string]string     // table ID -> sheet name
	files   map[string]*sheetPart // sheet name -> its worksheet part
	// cont holds the further parts of values longer than a cell holds
	// (rows of continuedCols), written last on sheet Continued.
	cont  *spoolFile
	conts int
}

// newXLSXBook creates every planned sheet in order, so the workbook's
// sheet order does not depend on the order tables are written.
func newXLSXBook(f *excelize.File, d *dataset, tmpDir string) (*xlsxBook, error) {
	b := &xlsxBook{f: f, tmpDir: tmpDir, used: map[string]bool{}, sheetOf: map[string]string{}, files: map[string]*sheetPart{}}
	var err error
	if b.st, err = newStyles(f); err != nil {
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

// parts maps the zip entry of every written sheet to its part.
func (b *xlsxBook) parts() (map[string]*sheetPart, error) {
	ids := map[string]int{}
	for id, name := range b.f.GetSheetMap() {
		ids[name] = id
	}
	out := map[string]*sheetPart{}
	for sheet, file := range b.files {
		id, ok := ids[sheet]
		if !ok {
			return nil, fmt.Errorf("export: sheet %s is not in the workbook", sheet)
		}
		out["xl/worksheets/sheet"+strconv.Itoa(id)+".xml"] = file
	}
	return out, nil
}

func (b *xlsxBook) cleanup() {
	for _, p := range b.files {
		os.Remove(p.file)
	}
	if b.cont != nil {
		b.cont.remove()
	}
}

// continued writes the continuation parts, if any, on sheet Continued.
func (b *xlsxBook) continued() error {
	if b.cont == nil {
		return nil
	}
	if err := b.cont.close(); err != nil {
		return err
	}
	t, err := b.table(tContinued[0], "", continuedCols, 2)
	if err != nil {
		return err
	}
	if err := b.cont.replay(t.row); err != nil {
		return err
	}
	return t.close()
}

// cellText is the text of a cell in the text escape (EncodeText), whose
// parts beyond the first, for a value longer than a cell holds
// (excelize.TotalCellChars UTF-16 code units), go to the continuation
// sheet, naming the sheet and cell. The parts are cut between escapes.
// Text that is not valid UTF-8 is refused, naming the sheet, the cell and
// the record (key) of its row.
func (b *xlsxBook) cellText(sheet, key string, col, row int, s string) (string, error) {
	ref, _ := excelize.CoordinatesToCellName(col, row)
	where := "sheet " + sheet + " cell " + ref
	if key != "" {
		where += " (record " + key + ")"
	}
	enc, err := EncodeText(s)
	if err != nil {
		return "", fmt.Errorf("export: %s: %w", where, err)
	}
	if len(enc) <= excelize.TotalCellChars || safetext.UTF16Len(enc) <= excelize.TotalCellChars {
		return enc, nil
	}
	var parts []string
	start, units := 0, 0
	for i := 0; i < len(enc); {
		n, u := 1, 1
		if isEscape(enc[i:]) {
			n, u = 7, 7
		} else if r, size := utf8.DecodeRuneInString(enc[i:]); size > 1 {
			n = size
			if r > 0xFFFF {
				u = 2
			}
		}
		if units+u > excelize.TotalCellChars {
			parts = append(parts, enc[start:i])
			start, units = i, 0
		}
		units += u
		i += n
	}
	parts = append(parts, enc[start:])
	if b.cont == nil {
		if b.cont, err = newSpool(b.tmpDir); err != nil {
			return "", err
		}
	}
	for i, p := range parts[1:] {
		b.conts++
		if err := b.cont.row([]cell{txt(sheet), txt(ref), numi(i + 2), {k: cEncoded, s: p}}); err != nil {
			return "", err
		}
	}
	return parts[0], nil
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

// spool marks the workbook as a spooler: form sheets are written one at
// a time.
func (b *xlsxBook) spool() {}

func (b *xlsxBook) table(name, _ string, cols []column, freeze int) (table, error) {
	t := &xlsxTable{b: b, name: name, cols: cols, freeze: freeze, keyCol: -1}
	for i, c := range cols {
		if c.name == colLedgerKey {
			t.keyCol = i
		}
	}
	t.decStyle = make([]int, len(cols))
	for i, c := range cols {
		t.decStyle[i] = b.st.decimal(c.digits)
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

// xlsxTable streams one table into a workbook of its own, continuing on
// a new sheet when one is full.
type xlsxTable struct {
	b        *xlsxBook
	name     string
	cols     []column
	freeze   int
	part     int
	sheet    string
	sub      *excelize.File
	sw       *excelize.StreamWriter
	rows     int      // data rows on the current sheet
	lastRow  int      // the last row of the current sheet holding a cell
	tokens   []string // texts of the current sheet's cell tokens (value)
	keyCol   int      // the ledger_key column, -1 when none
	decStyle []int
	cells    []excelize.Cell
	vals     []any
}

func (t *xlsxTable) start(sheet string) error {
	sub := excelize.NewFile(excelize.Options{TmpDir: t.b.tmpDir})
	if _, err := newStyles(sub); err != nil {
		sub.Close()
		return err
	}
	sw, err := sub.NewStreamWriter("Sheet1")
	if err != nil {
		sub.Close()
		return err
	}
	t.sub, t.sw, t.sheet, t.rows, t.lastRow = sub, sw, sheet, 0, 2
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
		name, err := t.b.cellText(sheet, "", i+1, 1, c.name)
		if err != nil {
			return err
		}
		label, err := t.b.cellText(sheet, "", i+1, 2, c.label)
		if err != nil {
			return err
		}
		h1[i] = excelize.Cell{StyleID: t.b.st.header, Value: t.value(name)}
		h2[i] = excelize.Cell{StyleID: t.b.st.label, Value: t.value(label)}
	}
	if err := sw.SetRow("A1", h1); err != nil {
		return err
	}
	return sw.SetRow("A2", h2, excelize.RowOpts{Height: 30})
}

// finish writes the current sheet's worksheet part to a temporary file
// and releases its workbook.
func (t *xlsxTable) finish() error {
	defer t.sub.Close()
	if err := t.sw.Flush(); err != nil {
		return err
	}
	out, err := os.CreateTemp(t.b.tmpDir, "veritrial-export-sheet-*")
	if err != nil {
		return err
	}
	part := &sheetPart{file: out.Name()}
	t.b.files[t.sheet] = part
	bw := bufio.NewWriterSize(out, 256<<10)
	cw := &countWriter{w: bw}
	fw, err := flate.NewWriter(cw, flate.BestSpeed)
	if err != nil {
		out.Close()
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(t.cols), t.lastRow)
	cz := &captureZip{name: "xl/worksheets/sheet1.xml", out: cw, fw: fw, crc: crc32.NewIEEE(), dim: `<dimension ref="A1:` + last + `"/>`, tokens: t.tokens}
	t.sub.SetZipWriter(func(io.Writer) excelize.ZipWriter { return cz })
	err = t.sub.Write(io.Discard)
	if err == nil {
		err = cz.emit(cz.pending)
	}
	if err == nil {
		err = fw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	part.crc, part.csize, part.usize = cz.crc.Sum32(), cw.n, cz.usize
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && !cz.got {
		err = fmt.Errorf("export: excelize wrote no worksheet for sheet %s", t.sheet)
	}
	if err == nil && cz.dim != "" {
		err = fmt.Errorf("export: excelize wrote no dimension for sheet %s", t.sheet)
	}
	t.sub, t.sw, t.tokens = nil, nil, nil
	return err
}

// value is what excelize is given for a cell whose text is enc (in the
// text escape). excelize escapes every _xHHHH_ it is given once more
// (and reads _xD800_ back as nothing), so a text holding one, or holding
// the token mark, is given as a token that captureZip replaces by the
// text, XML-escaped as excelize escapes text: the worksheet then carries
// enc, OOXML's own escape, exactly.
func (t *xlsxTable) value(enc string) string {
	if !strings.Contains(enc, tokenMark) && !hasEscape(enc) {
		return enc
	}
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(enc))
	t.tokens = append(t.tokens, strings.ReplaceAll(b.String(), "&#xA;", "\n"))
	return tokenOpen + strconv.Itoa(len(t.tokens)-1) + tokenClose
}

func (t *xlsxTable) row(cells []cell) error {
	if t.rows == MaxSheetRows {
		if err := t.finish(); err != nil {
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
			}
		case cDec:
			if f, ok := decimalValue(c.s).(float64); ok {
				x.Value = f
				if i < len(t.decStyle) {
					x.StyleID = t.decStyle[i]
				}
			}
		case cDate:
			if v, ok := parseDay(c.s); ok {
				x.Value, x.StyleID = v, t.b.st.date
			}
		case cDateTime:
			if v, ok := parseDateTime(c.s); ok {
				x.Value, x.StyleID = v, t.b.st.dateTime
			}
		case cEncoded:
			x.Value = t.value(c.s)
		}
		if x.Value == nil {
			key := ""
			if t.keyCol >= 0 && t.keyCol < len(cells) {
				key = cells[t.keyCol].s
			}
			v, err := t.b.cellText(t.sheet, key, i+1, t.rows+2, c.s)
			if err != nil {
				return err
			}
			x.Value = t.value(v)
		}
		t.vals[i] = x
		t.lastRow = t.rows + 2
	}
	cellRef, _ := excelize.CoordinatesToCellName(1, t.rows+2)
	return t.sw.SetRow(cellRef, t.vals)
}

func (t *xlsxTable) close() error { return t.finish() }

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
