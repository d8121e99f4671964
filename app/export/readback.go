package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/ziplimit"
)

// File is an export read back: its format and provenance, and on demand
// its record list (Records, Manifest) and its tables (Tables), so that it
// can be compared with the export the ledger renders.
type File struct {
	// Format is FormatXLSX, FormatCSV, FormatODM, FormatDatasetJSON or
	// FormatPDF.
	Format string
	// Fields is the provenance table, in order.
	Fields [][2]string
	data   []byte            // the workbook, the ODM document, or the CSV, Dataset-JSON or casebook files zipped
	files  map[string][]byte // CSV, Dataset-JSON, PDF: every .csv, .json or .pdf file by name
}

// Open reads an export: an .xlsx workbook, a CSV or casebook zip or
// directory, a Dataset-JSON zip or an ODM file, and its provenance.
func Open(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.IsDir() {
		var buf bytes.Buffer
		if err := zipDir(path, &buf, time.Time{}); err != nil {
			return nil, err
		}
		format, err := sniff(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return Parse(format, buf.Bytes())
	}
	if st.Size() > ziplimit.Export.Total {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotExport, path, &ziplimit.LimitError{What: "bytes, the size of an export file", Limit: ziplimit.Export.Total})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	format, err := sniff(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(format, data)
}

// Parse reads an export held in memory in format (FormatCSV: a zip), as
// Write wrote it, and its provenance.
func Parse(format string, data []byte) (*File, error) {
	f := &File{Format: format, data: data}
	field := func(_ int, k, v string) error {
		f.Fields = append(f.Fields, [2]string{k, v})
		return nil
	}
	var err error
	switch format {
	case FormatXLSX:
		err = f.readSheetFields()
	case FormatCSV, FormatPDF:
		exts := []string{".csv"}
		if format == FormatPDF {
			exts = append(exts, ".pdf")
		}
		if err = f.unzip(exts...); err == nil {
			err = f.eachRow(tProvenance[1], func(row int, rec []string) error { return field(row, rec[0], rec[1]) })
		}
	case FormatDatasetJSON:
		if err = f.unzip(".json"); err == nil {
			err = f.eachRow(tProvenance[1], func(row int, rec []string) error { return field(row, rec[0], rec[1]) })
		}
	case FormatODM:
		err = eachODMComment(data, field, nil)
	default:
		err = UnknownFormatError(format)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Field returns the first provenance value named name.
func (f *File) Field(name string) string {
	for _, fl := range f.Fields {
		if fl[0] == name {
			return fl[1]
		}
	}
	return ""
}

// Identical reports whether f is byte for byte g (CSV, Dataset-JSON,
// PDF: every file).
func (f *File) Identical(g *File) bool {
	if f.Format != g.Format {
		return false
	}
	if f.files == nil {
		return bytes.Equal(f.data, g.data)
	}
	if len(f.files) != len(g.files) {
		return false
	}
	for n, b := range g.files {
		if a, ok := f.files[n]; !ok || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}

// PropertiesTable names a workbook's document properties where a
// difference is reported.
const PropertiesTable = "document properties"

// Properties returns a workbook's document properties that are set, by
// name: the core properties ("core:Title" ...), the application's
// ("app:Company" ...) and every custom one ("custom:<name>"). Other
// formats have none.
func (f *File) Properties() (map[string]string, error) {
	out := map[string]string{}
	if f.Format != FormatXLSX {
		return out, nil
	}
	x, err := f.workbook()
	if err != nil {
		return nil, err
	}
	defer x.Close()
	core, err := x.GetDocProps()
	if err != nil {
		return nil, fmt.Errorf("%w: document properties: %v", ErrNotExport, err)
	}
	app, err := x.GetAppProps()
	if err != nil {
		return nil, fmt.Errorf("%w: application properties: %v", ErrNotExport, err)
	}
	custom, err := x.GetCustomProps()
	if err != nil {
		return nil, fmt.Errorf("%w: custom properties: %v", ErrNotExport, err)
	}
	for prefix, v := range map[string]any{"core:": *core, "app:": *app} {
		rv := reflect.ValueOf(v)
		for i := 0; i < rv.NumField(); i++ {
			if fv := rv.Field(i); !fv.IsZero() {
				out[prefix+rv.Type().Field(i).Name] = fmt.Sprint(fv.Interface())
			}
		}
	}
	for _, c := range custom {
		out["custom:"+c.Name] = fmt.Sprint(c.Value)
	}
	return out, nil
}

// ProvenanceTable names where the provenance is: its sheet, its CSV file,
// or the ODM document (a comment before the root element).
func (f *File) ProvenanceTable() string {
	switch f.Format {
	case FormatCSV, FormatPDF:
		return tProvenance[1]
	case FormatDatasetJSON:
		return dsjFile(tProvenance[1])
	case FormatODM:
		return odmTable
	}
	return tProvenance[0]
}

// RecordList says where the record list starts: its first sheet, its CSV
// file, or the ODM comment after the root element, and how many rows
// (header rows) precede its first entry there.
func (f *File) RecordList() (string, int) {
	switch f.Format {
	case FormatCSV, FormatPDF:
		return tRecords[1], 1
	case FormatDatasetJSON:
		return dsjFile(tRecords[1]), dsjHeaderRows
	case FormatODM:
		return odmRecordTable, 0
	}
	return tRecords[0], 2
}

// odmTable names an ODM document as one table; odmRecordTable its record
// list.
const (
	odmTable       = "ODM"
	odmRecordTable = "ODM (records comment)"
)

// Role says what a table or an ODM element holds, for reporting a
// difference in it.
type Role string

// Roles of tables and elements.
const (
	RoleData       Role = ""
	RoleProvenance Role = "provenance"
	RoleAuditTrail Role = "audit trail"
	RoleSignatures Role = "signatures"
)

// Table is one table of an export read back: a workbook sheet, a CSV
// file, or the elements of an ODM document.
type Table struct {
	Name string
	Role Role
	// HeaderRows is how many rows lead the table before its data: 2 in a
	// workbook (names, labels), 1 in a CSV file (names), dsjHeaderRows in
	// a Dataset-JSON file.
	HeaderRows int
	// Rows are the cells, header rows first (sheets and CSV files).
	Rows [][]string
	// Elements are the elements and texts of an ODM document, in order.
	Elements []Element
	// Casebook marks a casebook of a PDF export: compare its Pages.
	Casebook bool
	raw      []byte // a CSV file's or a casebook's bytes
}

// Element is one element (with its attributes) or text of an ODM
// document, at a path naming its identifying attributes (…OID, …Key).
type Element struct {
	Path    string
	Content string
	Line    int
	Role    Role
}

// TableError is a table of a file that cannot be read in full (an ODM
// document that is not well-formed XML).
type TableError struct {
	Table   string
	Problem string
	Err     error
}

func (e *TableError) Error() string { return e.Table + ": " + e.Problem + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *TableError) Unwrap() error { return e.Err }

// ColumnName names column i (0-based) of the table: its letter, and its
// name from the first header row ("E (VS.HR)").
func (t *Table) ColumnName(i int) string {
	l, _ := excelize.ColumnNumberToName(i + 1)
	if len(t.Rows) > 0 && i < len(t.Rows[0]) {
		return l + " (" + t.Rows[0][i] + ")"
	}
	return l
}

// KeyColumn is the index of the table's ledger_key column, -1 when it has
// none.
func (t *Table) KeyColumn() int {
	k := -1
	if len(t.Rows) > 0 {
		for i, n := range t.Rows[0] {
			if n == colLedgerKey {
				k = i
			}
		}
	}
	return k
}

// Unchanged reports whether both tables come from byte-identical files
// (CSV, casebooks); a workbook's sheets have no bytes of their own.
func (t *Table) Unchanged(u *Table) bool { return t.raw != nil && bytes.Equal(t.raw, u.raw) }

// tableRole is the role of a table by its sheet or file name
// (continuation sheets included).
func tableRole(name string) Role {
	for _, t := range []struct {
		names [2]string
		role  Role
	}{{tProvenance, RoleProvenance}, {tAudit, RoleAuditTrail}, {tDelegations, RoleAuditTrail}, {tSignatures, RoleSignatures}} {
		if name == t.names[1] || name == dsjFile(t.names[1]) || name == t.names[0] || strings.HasPrefix(name, t.names[0]+" (") {
			return t.role
		}
	}
	return RoleData
}

// Tables reads every table of the file: the sheets of a workbook, the
// files of a CSV, Dataset-JSON or casebook export (in name order; a
// casebook is a Table marked Casebook, read by Pages), or the one table
// of an ODM document's elements (a *TableError when it is not
// well-formed).
func (f *File) Tables() ([]Table, error) {
	switch f.Format {
	case FormatXLSX:
		x, err := f.workbook()
		if err != nil {
			return nil, err
		}
		defer x.Close()
		var out []Table
		for _, name := range x.GetSheetList() {
			rows, err := x.GetRows(name)
			if err != nil {
				return nil, fmt.Errorf("sheet %s: %w", name, err)
			}
			out = append(out, Table{Name: name, Role: tableRole(name), HeaderRows: 2, Rows: rows})
		}
		joinContinued(out)
		return out, nil
	case FormatCSV, FormatDatasetJSON, FormatPDF:
		read, what, header := readCSV, "CSV", 1
		if f.Format == FormatDatasetJSON {
			read, what, header = readDatasetJSON, "Dataset-JSON", dsjHeaderRows
		}
		names := slices.Sorted(maps.Keys(f.files))
		out := make([]Table, 0, len(names))
		for _, n := range names {
			if strings.HasSuffix(n, ".pdf") {
				out = append(out, Table{Name: n, Casebook: true, raw: f.files[n]})
				continue
			}
			rows, err := read(f.files[n])
			if err != nil {
				return nil, fmt.Errorf("%s is not valid %s: %w", n, what, err)
			}
			out = append(out, Table{Name: n, Role: tableRole(n), HeaderRows: header, Rows: rows, raw: f.files[n]})
		}
		return out, nil
	}
	els, err := odmElements(f.data)
	if err != nil {
		return nil, &TableError{Table: odmTable, Problem: "not well-formed XML", Err: err}
	}
	return []Table{{Name: odmTable, Elements: els}}, nil
}

// joinContinued appends the parts on the continuation sheets (rows of
// continuedCols: sheet, cell, part, text) to the cells they continue, in
// order. A part naming no cell of the workbook is left where it is (the
// continuation sheet is compared as a table of its own).
func joinContinued(ts []Table) {
	byName := map[string]*Table{}
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for _, t := range ts {
		if len(t.Rows) == 0 || len(t.Rows[0]) < 4 || t.Rows[0][0] != colContinuedSheet || t.Rows[0][1] != colContinuedCell {
			continue
		}
		for _, r := range t.Rows[min(t.HeaderRows, len(t.Rows)):] {
			if len(r) < 4 {
				continue
			}
			dst, ok := byName[r[0]]
			col, row, err := excelize.CellNameToCoordinates(r[1])
			if !ok || err != nil || row > len(dst.Rows) || col > len(dst.Rows[row-1]) {
				continue
			}
			dst.Rows[row-1][col-1] += r[3]
		}
	}
}

// workbook opens the file's workbook.
func (f *File) workbook() (*excelize.File, error) {
	x, err := ziplimit.OpenWorkbook(f.data, ziplimit.Export)
	var le *ziplimit.LimitError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %w", ErrNotExport, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not a readable workbook: %v", ErrNotExport, err)
	}
	return x, nil
}

// readSheetFields reads the Provenance sheet, from row 3.
func (f *File) readSheetFields() error {
	x, err := f.workbook()
	if err != nil {
		return err
	}
	defer x.Close()
	if i, _ := x.GetSheetIndex(tProvenance[0]); i < 0 {
		return nil
	}
	return eachSheetRow(x, tProvenance[0], func(_ int, c []string) error {
		f.Fields = append(f.Fields, [2]string{c[0], c[1]})
		return nil
	})
}

// eachSheetRow calls fn with the row number and cells of every data row
// (from row 3) of sheet with at least two cells.
func eachSheetRow(x *excelize.File, sheet string, fn func(row int, cells []string) error) error {
	rows, err := x.Rows(sheet)
	if err != nil {
		return err
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		if n > 2 && len(cols) >= 2 {
			if err := fn(n, cols); err != nil {
				return err
			}
		}
	}
	return rows.Error()
}

// unzip reads the files named ….ext (one of exts) of a CSV, Dataset-JSON
// or casebook zip.
func (f *File) unzip(exts ...string) error {
	zr, err := zip.NewReader(bytes.NewReader(f.data), int64(len(f.data)))
	if err != nil {
		return fmt.Errorf("%w: not a valid zip file: %v", ErrNotExport, err)
	}
	limits := ziplimit.Export
	if f.Format == FormatPDF {
		limits = ziplimit.Casebooks
	}
	if err := ziplimit.Check(f.data, limits); err != nil {
		return fmt.Errorf("%w: %w", ErrNotExport, err)
	}
	f.files = map[string][]byte{}
	for _, zf := range zr.File {
		if !slices.ContainsFunc(exts, func(ext string) bool { return strings.HasSuffix(zf.Name, ext) }) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		bz, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s cannot be read: %w", zf.Name, err)
		}
		f.files[zf.Name] = bz
	}
	return nil
}

// eachRow calls fn with the row number (the first header row is row 1)
// and fields of every data row with at least two fields of the table a
// CSV export keeps in file csvName (Dataset-JSON: its .json file).
func (f *File) eachRow(csvName string, fn func(row int, rec []string) error) error {
	name, read, what, header := csvName, readCSV, "CSV", 1
	if f.Format == FormatDatasetJSON {
		name, read, what, header = dsjFile(csvName), readDatasetJSON, "Dataset-JSON", dsjHeaderRows
	}
	bz, ok := f.files[name]
	if !ok {
		return fmt.Errorf("%w: the %s files have no %s", ErrNotExport, what, name)
	}
	rows, err := read(bz)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotExport, name, err)
	}
	for i, rec := range rows {
		if i >= header && len(rec) >= 2 {
			if err := fn(i+1, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachODMComment reads the comments of an ODM export: field (may be nil)
// gets each "Label: value" line of the provenance comment before the root
// element, record (nil: stop after the provenance) each "KEY TAB SHA-256"
// line of the record list comment after it, with its line number.
func eachODMComment(data []byte, field, record func(line int, k, v string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	state := 0 // 0 before the provenance, 1 in it, 2 body, 3 in the record list
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch state {
		case 0:
			if line == "<!--" {
				state = 1
			}
		case 1:
			if line == "-->" {
				if record == nil {
					return nil
				}
				state = 2
				continue
			}
			if k, v, ok := strings.Cut(line, ": "); ok && field != nil {
				if err := field(n, commentUnescape(k), commentUnescape(v)); err != nil {
					return err
				}
			}
		case 2:
			if strings.HasPrefix(line, "veritrial records:") {
				state = 3
			}
		case 3:
			if line == "-->" {
				return nil
			}
			k, v, ok := strings.Cut(line, "\t")
			if !ok {
				return fmt.Errorf("record list line %q is not KEY TAB SHA-256", line)
			}
			if err := record(n, commentUnescape(k), v); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	switch {
	case record == nil:
		return nil
	case state != 3:
		return fmt.Errorf("the ODM file has no veritrial record list")
	}
	return fmt.Errorf("the ODM file's record list is not terminated")
}

// odmElements lists the elements (with their attributes) and texts of an
// ODM document at paths naming identifying attributes (…OID, …Key).
// Attribute values and the text of elements without child elements are
// decoded (DecodeText) and kept exactly, white space included; white
// space between elements is not content.
func odmElements(data []byte) ([]Element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	var out []Element
	var text strings.Builder
	leaf := false // the innermost open element has no child element yet
	line := func() int { l, _ := dec.InputPos(); return l }
	add := func(path, content string) {
		role := RoleData
		switch {
		case strings.Contains(path, "AuditRecord"):
			role = RoleAuditTrail
		case strings.Contains(path, "Signature"):
			role = RoleSignatures
		}
		out = append(out, Element{Path: path, Content: content, Line: line(), Role: role})
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			seg := t.Name.Local
			var ids, attrs []string
			for _, a := range t.Attr {
				v := DecodeText(a.Value)
				attrs = append(attrs, a.Name.Local+"="+v)
				if strings.HasSuffix(a.Name.Local, "OID") || strings.HasSuffix(a.Name.Local, "Key") {
					ids = append(ids, "@"+a.Name.Local+"="+v)
				}
			}
			if len(ids) > 0 {
				seg += "[" + strings.Join(ids, ",") + "]"
			}
			stack = append(stack, seg)
			sort.Strings(attrs)
			add("/"+strings.Join(stack, "/"), strings.Join(attrs, "; "))
			text.Reset()
			leaf = true
		case xml.EndElement:
			if leaf && text.Len() > 0 {
				add("/"+strings.Join(stack, "/")+"/text()", DecodeText(text.String()))
			}
			text.Reset()
			leaf = false
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if leaf {
				text.Write(t)
			}
		}
	}
}

// Raw returns the bytes of a table read from a file of its own (CSV,
// casebook), nil for a sheet or an ODM document.
func (t *Table) Raw() []byte { return t.raw }
