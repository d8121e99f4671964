package entry

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/protocol"
)

// Problem codes of the workbook itself (Validate's codes are used for item
// values).
const (
	CodeHeaderUnknownItem = "header.unknown_item"
	CodeHeaderOtherForm   = "header.other_form"
	CodeHeaderDuplicate   = "header.duplicate"
	CodeHeaderNoItems     = "header.no_items"
	CodeSubjectMissing    = "subject.missing"
	CodeSubjectUnknown    = "subject.unknown"
	CodeSubjectOtherSite  = "subject.other_site"
	CodeSubjectWithdrawn  = "subject.withdrawn"
	CodeEventMissing      = "event.missing"
	CodeEventUnknown      = "event.unknown"
	CodeEventRepeat       = "event.repeat"
	CodeFormNotInEvent    = "form.not_in_event"
	CodeRowInvalid        = "row.invalid"
	CodeCellDuplicate     = "cell.duplicate"
	CodeReasonRequired    = "reason.required"
	CodeVersionInvalid    = "version.invalid"
	CodeReasonConflict    = "reason.conflict"
	CodeCellEmptied       = "cell.emptied"
)

// Problem is one finding of an import, located by sheet, row and column.
type Problem struct {
	Sheet    string            `json:"sheet"`
	Row      int               `json:"row"`
	Column   string            `json:"column"` // column letter
	Item     string            `json:"item,omitempty"`
	Severity protocol.Severity `json:"severity"`
	Code     string            `json:"code"`
	Message  string            `json:"message"`
}

// Cell is the problem's cell reference, e.g. "VS!H7".
func (p Problem) Cell() string {
	sheet := p.Sheet
	if strings.ContainsAny(sheet, " -!'") {
		sheet = "'" + strings.ReplaceAll(sheet, "'", "''") + "'"
	}
	return sheet + "!" + p.Column + strconv.Itoa(p.Row)
}

// String formats the problem as "VS!H7 (VS.SYSBP): message".
func (p Problem) String() string {
	s := p.Cell()
	if p.Item != "" {
		s += " (" + p.Item + ")"
	}
	return s + ": " + p.Message
}

// HasHard reports whether any problem is hard.
func HasHard(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == protocol.Hard {
			return true
		}
	}
	return false
}

// Book is an opened data-entry workbook: its meta data and the raw cell
// values of its form sheets.
type Book struct {
	// Meta is read from the hidden meta sheet; HasMeta is false when the
	// workbook has none (then the study must come from elsewhere).
	Meta    Meta
	HasMeta bool
	// Date1904 is the workbook's date system (Excel for Mac).
	Date1904 bool
	sheets   []rawSheet
}

type rawSheet struct {
	name string
	rows [][]string
}

// Open reads a workbook. Form sheets are those whose cell A1 says SUBJECT;
// cell values are read raw (the stored text, never through float64).
func Open(r io.Reader) (b *Book, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			b, err = nil, fmt.Errorf("the workbook could not be read (%v); open it in Excel or LibreOffice and save it again as .xlsx", rec)
		}
	}()
	data, err := io.ReadAll(io.LimitReader(r, ziplimit.Import.Total+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > ziplimit.Import.Total {
		return nil, &ziplimit.LimitError{What: "bytes, the size of a workbook", Limit: ziplimit.Import.Total}
	}
	f, err := ziplimit.OpenWorkbook(data, ziplimit.Import)
	var le *ziplimit.LimitError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("the workbook: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("not an .xlsx workbook (%v)", err)
	}
	defer f.Close()
	b = &Book{}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		b.Date1904 = *props.Date1904
	}
	for _, name := range f.GetSheetList() {
		if name == MetaSheet {
			if err := b.readMeta(f); err != nil {
				return nil, err
			}
			continue
		}
		a1, err := f.GetCellValue(name, "A1", excelize.Options{RawCellValue: true})
		if err != nil || strings.TrimSpace(a1) != HeaderSubject {
			continue
		}
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("sheet %s: %v", name, err)
		}
		b.sheets = append(b.sheets, rawSheet{name: name, rows: rows})
	}
	return b, nil
}

func (b *Book) readMeta(f *excelize.File) error {
	rows, err := f.GetRows(MetaSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return err
	}
	vals := map[string]string{}
	for _, r := range rows {
		if len(r) >= 2 {
			vals[strings.TrimSpace(r[0])] = strings.TrimSpace(r[1])
		}
	}
	if vals["format"] != FormatName {
		return nil
	}
	b.HasMeta = true
	b.Meta.Study = vals["study"]
	b.Meta.Site = vals["site"]
	b.Meta.ProtocolVersion, _ = strconv.Atoi(vals["protocol_version"])
	b.Meta.ProtocolLabel = vals["protocol_label"]
	b.Meta.Fingerprint = vals["fingerprint"]
	b.Meta.Height, _ = strconv.ParseInt(vals["height"], 10, 64)
	b.Meta.Prefilled = vals["prefilled"] == "true"
	return nil
}

// Sheets lists the form sheets found, in workbook order.
func (b *Book) Sheets() []string {
	out := make([]string, len(b.sheets))
	for i, s := range b.sheets {
		out[i] = s.name
	}
	return out
}

// Instance is one form instance read from a workbook: every sheet row of
// one subject, event and event repeat on one form sheet.
type Instance struct {
	Sheet string        `json:"sheet"`
	Row   int           `json:"row"` // first sheet row with a value
	Key   types.FormKey `json:"key"`
	// Values are the instance's values in canonical order, without empty
	// ones.
	Values []protocol.ItemValue `json:"values"`
	// Items are the items that have a column on the sheet; only they are
	// compared with the ledger.
	Items []string `json:"-"`
	// LedgerVersion is the version of the form on the ledger the rows were
	// pre-filled from (the VERSION column), 0 when they were not.
	LedgerVersion int `json:"ledger_version,omitempty"`
	// Reason is the instance's reason for change (the REASON column).
	Reason string `json:"reason,omitempty"`

	cols   map[string]string // item -> column letter
	cells  map[cellKey]int   // item and repeat -> sheet row
	repRow map[int]int       // repeat -> first sheet row
	keyCol [KeyColumns]string
	// reasonCol and versionCol are the REASON and VERSION columns'
	// letters, "" when the sheet has none.
	reasonCol, versionCol string
}

type cellKey struct {
	item   string
	repeat int
}

// locate places a problem of an item and repeat on the sheet.
func (in *Instance) locate(item string, repeat int) (int, string) {
	col := in.cols[item]
	if col == "" {
		col = in.keyCol[0]
	}
	if r, ok := in.cells[cellKey{item, repeat}]; ok {
		return r, col
	}
	if r, ok := in.repRow[repeat]; ok {
		return r, col
	}
	return in.Row, col
}

func (in *Instance) problem(item string, repeat int, sev protocol.Severity, code, msg string) Problem {
	row, col := in.locate(item, repeat)
	return Problem{Sheet: in.Sheet, Row: row, Column: col, Item: item, Severity: sev, Code: code, Message: msg}
}

// keyProblem is a problem on one of the key cells (0 subject, 1 event, 2
// event repeat) of the instance's first row.
func (in *Instance) keyProblem(k int, code, msg string) Problem {
	return Problem{Sheet: in.Sheet, Row: in.Row, Column: in.keyCol[k], Severity: protocol.Hard, Code: code, Message: msg}
}

// Parsed is a workbook read against a protocol.
type Parsed struct {
	Instances []*Instance
	// Problems of the workbook's structure and keys; Check adds those of
	// the values.
	Problems []Problem
	// DataRows counts rows with at least one item value; EmptyRows the
	// rows skipped because they have none.
	DataRows, EmptyRows int
}

// Parse reads every form sheet against the compiled protocol: it maps the
// row-1 item OIDs to items, normalises each cell (dates from serial
// numbers, numbers without float artefacts, decodes back to codes) and
// groups rows into form instances of study. Rows without item values are
// skipped.
func (b *Book) Parse(c *protocol.Compiled, study string) *Parsed {
	out := &Parsed{}
	for _, s := range b.sheets {
		b.parseSheet(c, study, s, out)
	}
	return out
}

func colLetter(i int) string {
	n, _ := excelize.ColumnNumberToName(i + 1)
	return n
}

func cellAt(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

func (b *Book) parseSheet(c *protocol.Compiled, study string, s rawSheet, out *Parsed) {
	fail := func(row int, col, item, code, msg string) {
		out.Problems = append(out.Problems, Problem{Sheet: s.name, Row: row, Column: col, Item: item, Severity: protocol.Hard, Code: code, Message: msg})
	}
	if len(s.rows) == 0 {
		return
	}
	keyIdx := [KeyColumns]int{-1, -1, -1, -1}
	reasonIdx, reasonCol := -1, ""
	versionIdx, versionCol := -1, ""
	type itemCol struct {
		idx       int
		item      *protocol.Item
		repeating bool
	}
	var items []itemCol
	formOID := ""
	seen := map[string]int{}
	for i, h := range s.rows[0] {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if k := slices.Index(keyHeaders[:], h); k >= 0 {
			keyIdx[k] = i
			continue
		}
		switch h {
		case HeaderReason:
			reasonIdx, reasonCol = i, colLetter(i)
			continue
		case HeaderVersion:
			versionIdx, versionCol = i, colLetter(i)
			continue
		}
		it, form, ok := c.Item(h)
		if !ok {
			fail(1, colLetter(i), h, CodeHeaderUnknownItem, fmt.Sprintf("column header %q is not an item of the protocol in force; restore the header from a fresh template", h))
			continue
		}
		if formOID == "" {
			formOID = form
		} else if form != formOID {
			fail(1, colLetter(i), h, CodeHeaderOtherForm, fmt.Sprintf("item %s belongs to form %s, but this sheet holds form %s; move the column to its own sheet", h, form, formOID))
			continue
		}
		if j, dup := seen[h]; dup {
			fail(1, colLetter(i), h, CodeHeaderDuplicate, fmt.Sprintf("item %s has two columns (%s and %s); keep one", h, colLetter(j), colLetter(i)))
			continue
		}
		seen[h] = i
		items = append(items, itemCol{idx: i, item: it})
	}
	if formOID == "" {
		fail(1, "A", "", CodeHeaderNoItems, "the sheet has no item columns: row 1 must hold the item OIDs of one form")
		return
	}
	if keyIdx[1] < 0 {
		fail(1, "A", "", CodeEventMissing, "the sheet has no EVENT column; restore the header from a fresh template")
		return
	}
	form, _ := c.Form(formOID)
	repeatingGroup := map[string]bool{}
	for _, g := range form.Groups {
		for _, it := range g.Items {
			repeatingGroup[it.OID] = g.Repeating
		}
	}
	hasRepeating := repeatLimit(form) > 0
	cols := map[string]string{}
	var itemOIDs []string
	for i := range items {
		items[i].repeating = repeatingGroup[items[i].item.OID]
		cols[items[i].item.OID] = colLetter(items[i].idx)
		itemOIDs = append(itemOIDs, items[i].item.OID)
	}
	var keyCol [KeyColumns]string
	for k, i := range keyIdx {
		if i >= 0 {
			keyCol[k] = colLetter(i)
		} else {
			keyCol[k] = colLetter(0)
		}
	}

	type instKey struct {
		subject, event string
		repeat         int
	}
	insts := map[instKey]*Instance{}
	for ri := HeaderRows; ri < len(s.rows); ri++ {
		row := s.rows[ri]
		sheetRow := ri + 1
		vals := make([]protocol.ItemValue, len(items))
		hasValue := false
		anyRepeating := false
		for i, ic := range items {
			vals[i] = readCell(c, ic.item, cellAt(row, ic.idx), b.Date1904)
			if !vals[i].Empty() {
				hasValue = true
				anyRepeating = anyRepeating || ic.repeating
			}
		}
		if !hasValue {
			out.EmptyRows++
			continue
		}
		out.DataRows++
		subject := cellAt(row, keyIdx[0])
		event := cellAt(row, keyIdx[1])
		bad := false
		if subject == "" {
			fail(sheetRow, keyCol[0], "", CodeSubjectMissing, "the row has values but no subject ID")
			bad = true
		}
		if event == "" {
			fail(sheetRow, keyCol[1], "", CodeEventMissing, "the row has values but no event")
			bad = true
		}
		repeat := 1
		if r := cellAt(row, keyIdx[2]); r != "" {
			n, err := strconv.Atoi(cleanNumber(r))
			if err != nil || n < 1 || n > 9999 {
				fail(sheetRow, keyCol[2], "", CodeEventRepeat, fmt.Sprintf("event repeat %q is not a number from 1 to 9999", r))
				bad = true
			}
			repeat = n
		}
		groupRow := 0
		if hasRepeating {
			r := cellAt(row, keyIdx[3])
			switch {
			case r == "" && anyRepeating:
				fail(sheetRow, keyCol[3], "", CodeRowInvalid, "the row has values of the repeating group but no Row number; number the rows 1, 2, 3 ...")
				bad = true
			case r != "":
				n, err := strconv.Atoi(cleanNumber(r))
				if err != nil || n < 1 {
					fail(sheetRow, keyCol[3], "", CodeRowInvalid, fmt.Sprintf("Row %q is not a number from 1", r))
					bad = true
				}
				groupRow = n
			}
		}
		version := 0
		if v := cellAt(row, versionIdx); v != "" {
			n, err := strconv.Atoi(cleanNumber(v))
			if err != nil || n < 1 {
				fail(sheetRow, versionCol, "", CodeVersionInvalid, fmt.Sprintf("VERSION %q is not a form version (a whole number from 1); leave the pre-filled value as it is, or empty for a form not on the ledger", v))
				bad = true
			}
			version = n
		}
		if bad {
			continue
		}
		k := instKey{subject, event, repeat}
		in := insts[k]
		if in == nil {
			in = &Instance{Sheet: s.name, Row: sheetRow, Key: types.FormKey{Study: study, Subject: subject, Event: event, EventRepeat: repeat, Form: formOID},
				Items: itemOIDs, cols: cols, cells: map[cellKey]int{}, repRow: map[int]int{}, keyCol: keyCol, reasonCol: reasonCol, versionCol: versionCol}
			insts[k] = in
			out.Instances = append(out.Instances, in)
		}
		switch {
		case version == 0:
		case in.LedgerVersion == 0:
			in.LedgerVersion = version
		case in.LedgerVersion != version:
			fail(sheetRow, versionCol, "", CodeVersionInvalid, fmt.Sprintf("VERSION %d differs from VERSION %d on sheet row %d of the same form; leave the pre-filled values as they are", version, in.LedgerVersion, in.Row))
		}
		if r := cellAt(row, reasonIdx); r != "" {
			switch {
			case in.Reason == "":
				in.Reason = r
			case in.Reason != r:
				fail(sheetRow, reasonCol, "", CodeReasonConflict, fmt.Sprintf("this row gives another reason for change than an earlier row of the same form (%q); give the reason once per form", clip(in.Reason, 40)))
			}
		}
		if _, ok := in.repRow[groupRow]; !ok {
			in.repRow[groupRow] = sheetRow
		}
		for i, ic := range items {
			if vals[i].Empty() {
				continue
			}
			rep := 0
			if ic.repeating {
				rep = groupRow
			}
			vals[i].Repeat = rep
			ck := cellKey{ic.item.OID, rep}
			if prev, dup := in.cells[ck]; dup {
				where := ""
				if rep > 0 {
					where = fmt.Sprintf("row %d of ", rep)
				}
				same := slices.Contains(in.Values, vals[i])
				if !same || ic.repeating {
					fail(sheetRow, cols[ic.item.OID], ic.item.OID, CodeCellDuplicate,
						fmt.Sprintf("%s%s for subject %s at %s is also given on sheet row %d; keep one", where, ic.item.OID, subject, event, prev))
				}
				continue
			}
			in.cells[ck] = sheetRow
			in.Values = append(in.Values, vals[i])
		}
	}
	for _, in := range insts {
		in.Values = c.CanonicalValues(formOID, in.Values)
	}
}
