package entry

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Workbook layout.
const (
	// InstructionsSheet is the first, visible sheet.
	InstructionsSheet = "Instructions"
	// ListsSheet (hidden) holds the drop-down entries of code lists.
	ListsSheet = "Lists"
	// MetaSheet (hidden) records where the workbook comes from.
	MetaSheet = "_veritrial"
	// FormatName identifies the layout in MetaSheet.
	FormatName = "veritrial-entry/1"
	// HeaderRows are frozen: item OIDs, labels with units, allowed values.
	HeaderRows = 3
	// FirstDataRow is the first row of data on a form sheet.
	FirstDataRow = HeaderRows + 1
	// KeyColumns come before the item columns of a form sheet.
	KeyColumns = 4
	// DefaultRepeatRows is the number of rows offered per subject-event
	// for a form with a repeating group.
	DefaultRepeatRows = 5
	// validationSpare extends data validation below the last data row, for
	// rows a person adds.
	validationSpare = 1000
)

// Row-1 headers of the key columns (machine-readable, like item OIDs).
const (
	HeaderSubject = "SUBJECT"
	HeaderEvent   = "EVENT"
	HeaderRepeat  = "EVENT_REPEAT"
	HeaderRow     = "ROW"
	// HeaderReason, the first column after the items, is the reason for
	// change of a correction, per form (the import's --reason is its
	// default).
	HeaderReason = "REASON"
	// HeaderVersion, the last column, holds the version of the form on the
	// ledger that a pre-filled row's values come from (empty when the row
	// was not pre-filled from a form): a form that has changed since is
	// not overwritten by the import.
	HeaderVersion = "VERSION"
)

var keyHeaders = [KeyColumns]string{HeaderSubject, HeaderEvent, HeaderRepeat, HeaderRow}

// Meta says where a workbook comes from. WriteTemplate shows it on the
// Instructions sheet and keeps it on the hidden meta sheet for the import.
type Meta struct {
	Study           string `json:"study"`
	Site            string `json:"site,omitempty"` // empty: subjects of every site
	ProtocolVersion int    `json:"protocol_version"`
	ProtocolLabel   string `json:"protocol_label,omitempty"`
	Fingerprint     string `json:"fingerprint"`
	// Height is the block height the protocol and subjects were read at;
	// the workbook carries no wall-clock time, so it is reproducible.
	Height    int64 `json:"height"`
	Prefilled bool  `json:"prefilled"`
}

// TemplateOptions chooses what WriteTemplate lists.
type TemplateOptions struct {
	Meta Meta
	// Subjects get rows, sorted by ID.
	Subjects []types.Subject
	// Records are the forms on the ledger: repeats of repeatable events
	// they use get rows, and with Meta.Prefilled their values are written.
	Records []types.FormRecord
	// Events restricts the rows to these event OIDs (empty: every event).
	Events []string
	// RepeatRows is the number of rows per subject-event for forms with a
	// repeating group (0: DefaultRepeatRows).
	RepeatRows int
}

// SheetInfo describes one form sheet of a generated workbook.
type SheetInfo struct {
	Sheet string `json:"sheet"`
	Form  string `json:"form"`
	Name  string `json:"name"`
	Rows  int    `json:"rows"`
}

// TemplateSummary is what WriteTemplate wrote.
type TemplateSummary struct {
	Sheets   []SheetInfo `json:"sheets"`
	Subjects int         `json:"subjects"`
	Rows     int         `json:"rows"`
}

// styles are the cell styles of a workbook.
type styles struct {
	oid, label, allowed, key, keyNum, text, date, number int
}

func newStyles(f *excelize.File) (*styles, error) {
	s := &styles{}
	textFmt := 49 // "@"
	dateFmt := "yyyy-mm-dd"
	fill := func(color string) excelize.Fill {
		return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
	}
	border := []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}}
	defs := []struct {
		dst *int
		st  *excelize.Style
	}{
		{&s.oid, &excelize.Style{Font: &excelize.Font{Size: 8, Color: "595959"}, Fill: fill("EDEDED"), NumFmt: textFmt}},
		{&s.label, &excelize.Style{Font: &excelize.Font{Bold: true}, Fill: fill("DDEBF7"), Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&s.allowed, &excelize.Style{Font: &excelize.Font{Italic: true, Size: 9}, Fill: fill("FFF2CC"), Border: border, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&s.key, &excelize.Style{Fill: fill("EDEDED"), NumFmt: textFmt}},
		{&s.keyNum, &excelize.Style{Fill: fill("EDEDED")}},
		{&s.text, &excelize.Style{NumFmt: textFmt}},
		{&s.date, &excelize.Style{CustomNumFmt: &dateFmt}},
		{&s.number, &excelize.Style{}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(d.st)
		if err != nil {
			return nil, err
		}
		*d.dst = id
	}
	return s, nil
}

// column is one item column of a form sheet.
type column struct {
	item      *protocol.Item
	repeating bool
	name      string // column letter
}

// formColumns lists the items of a form in protocol order, without
// derived items: the ledger computes those, nobody types them.
func formColumns(f *protocol.Form) []column {
	var cols []column
	for _, g := range f.Groups {
		for i := range g.Items {
			if g.Items[i].Derive != "" {
				continue
			}
			n, _ := excelize.ColumnNumberToName(KeyColumns + len(cols) + 1)
			cols = append(cols, column{item: &g.Items[i], repeating: g.Repeating, name: n})
		}
	}
	return cols
}

// repeatLimit is the most rows of the form's repeating groups, 0 when it
// has none.
func repeatLimit(f *protocol.Form) int {
	limit := 0
	for _, g := range f.Groups {
		if !g.Repeating {
			continue
		}
		m := g.MaxRepeats
		if m <= 0 || m > protocol.MaxRepeatsLimit {
			m = protocol.MaxRepeatsLimit
		}
		if limit == 0 || m < limit {
			limit = m
		}
	}
	return limit
}

// sheetName makes a valid, unused sheet name from a form OID.
func sheetName(oid string, used map[string]bool) string {
	name := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\'`, r) {
			return '_'
		}
		return r
	}, oid)
	if utf8.RuneCountInString(name) > 28 {
		name = string([]rune(name)[:28])
	}
	base := name
	for i := 2; used[strings.ToLower(name)] || name == ""; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	used[strings.ToLower(name)] = true
	return name
}

// WriteTemplate writes a data-entry workbook for the protocol c:
//
//   - Instructions: what to do, the legend, the study, protocol version and
//     fingerprint, the site and the block height it was generated at, and
//     the list of form sheets.
//   - one sheet per form that an event of the workbook collects (every
//     event, or opt.Events), named by the form OID: key columns Subject,
//     Event, Event repeat and Row (the row of the repeating group; blank for
//     forms without one), then one column per item in protocol order. Row 1
//     holds the item OIDs, row 2 the labels with units (* marks required
//     items), row 3 the allowed values; they and the key columns are
//     frozen. From row 4 there is one row per subject and event where the
//     form is collected (RepeatRows rows for a repeating group), with data
//     validation: drop-downs for code lists and yes/no, whole-number and
//     decimal ranges from the hard range, dates, text length. Code and text
//     cells are formatted as text so leading zeros stay. An item that
//     allows missing-data codes takes one in its cell ("ND", "ND=Not done",
//     either with ": reason"): row 3 and the Instructions say so, its
//     drop-down offers the codes, and its range only warns.
//   - Lists (hidden): the drop-down entries ("1=Male") of each code list,
//     then of each choice item that allows missing-data codes.
//   - _veritrial (hidden): the Meta, read back by the import.
//
// The data sheets are written with excelize's StreamWriter. The output
// depends only on its inputs.
func WriteTemplate(w io.Writer, c *protocol.Compiled, opt TemplateOptions) (*TemplateSummary, error) {
	if c == nil {
		return nil, fmt.Errorf("entry: no protocol")
	}
	p := c.Protocol()
	for _, e := range opt.Events {
		if _, ok := c.Event(e); !ok {
			return nil, fmt.Errorf("event %q is not in the schedule of protocol version %d", e, opt.Meta.ProtocolVersion)
		}
	}
	repeatRows := opt.RepeatRows
	if repeatRows <= 0 {
		repeatRows = DefaultRepeatRows
	}
	subjects := slices.Clone(opt.Subjects)
	slices.SortFunc(subjects, func(a, b types.Subject) int { return strings.Compare(a.ID, b.ID) })

	// Ledger records by form key; repeats used per subject-event.
	recs := map[types.FormKey]*types.FormRecord{}
	repeats := map[[2]string]int{}
	for i := range opt.Records {
		r := &opt.Records[i]
		recs[r.FormKey] = r
		k := [2]string{r.Subject, r.Event}
		repeats[k] = max(repeats[k], r.EventRepeat)
	}

	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", InstructionsSheet); err != nil {
		return nil, err
	}
	used := map[string]bool{strings.ToLower(InstructionsSheet): true, strings.ToLower(ListsSheet): true, strings.ToLower(MetaSheet): true}

	lists := listRefs(c)

	events := p.Events
	if len(opt.Events) > 0 {
		events = nil
		for _, e := range p.Events {
			if slices.Contains(opt.Events, e.OID) {
				events = append(events, e)
			}
		}
	}

	sum := &TemplateSummary{Subjects: len(subjects)}
	for fi := range p.Forms {
		form := &p.Forms[fi]
		if !slices.ContainsFunc(events, func(e protocol.Event) bool { return c.FormInEvent(e.OID, form.OID) }) {
			continue // no chosen event collects it
		}
		name := sheetName(form.OID, used)
		if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		rows, err := writeFormSheet(f, c, st, lists, name, form, subjects, events, recs, repeats, repeatRows, opt.Meta.Prefilled)
		if err != nil {
			return nil, fmt.Errorf("sheet %s: %w", name, err)
		}
		sum.Sheets = append(sum.Sheets, SheetInfo{Sheet: name, Form: form.OID, Name: form.Name, Rows: rows})
		sum.Rows += rows
	}
	if err := writeLists(f, c); err != nil {
		return nil, err
	}
	if err := writeInstructions(f, st, p, opt.Meta, sum, events); err != nil {
		return nil, err
	}
	if err := writeMeta(f, opt.Meta); err != nil {
		return nil, err
	}
	// The hidden sheets go last, after every form sheet.
	for _, s := range []string{ListsSheet, MetaSheet} {
		if err := f.SetSheetVisible(s, false); err != nil {
			return nil, err
		}
	}
	f.SetActiveSheet(0)
	var raw bytes.Buffer
	if err := f.Write(&raw); err != nil {
		return nil, err
	}
	data, err := sortZip(raw.Bytes())
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	return sum, nil
}

// sortZip rewrites a zip with its entries in name order: excelize writes
// streamed sheets in map order, and a reproducible file needs a fixed one.
// Entries are copied without recompression.
func sortZip(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range files {
		if err := zw.Copy(zf); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// listColumn is one column of the Lists sheet: the drop-down entries
// ("1=Male") of a code list, or of a choice item that allows
// missing-data codes (its code list's entries, then the codes').
type listColumn struct {
	key, header string // key: the code list OID, or itemListKey + item OID
	entries     []string
}

// itemListKey prefixes the key of a choice item's own list column.
const itemListKey = "item:"

// listColumns are the columns of the Lists sheet, in order: the
// non-empty code lists, then the choice items that allow missing-data
// codes.
func listColumns(c *protocol.Compiled) []listColumn {
	var out []listColumn
	entries := func(cl *protocol.CodeList) []string {
		var es []string
		for _, ci := range cl.Items {
			es = append(es, entryText(ci.Code, ci.Decode))
		}
		return es
	}
	for i := range c.Protocol().CodeLists {
		if cl := &c.Protocol().CodeLists[i]; len(cl.Items) > 0 {
			out = append(out, listColumn{key: cl.OID, header: cl.OID, entries: entries(cl)})
		}
	}
	for _, f := range c.Protocol().Forms {
		for _, g := range f.Groups {
			for i := range g.Items {
				it := &g.Items[i]
				if cl, ok := c.CodeList(it.CodeList); ok && it.Type == protocol.TypeChoice && len(it.Missing) > 0 && len(cl.Items) > 0 {
					out = append(out, listColumn{key: itemListKey + it.OID, header: it.OID, entries: append(entries(cl), missingEntries(c, it)...)})
				}
			}
		}
	}
	return out
}

// listRefs returns the range reference on the Lists sheet of each list
// column by its key: one column each, entries from row 2.
func listRefs(c *protocol.Compiled) map[string]string {
	refs := map[string]string{}
	for i, lc := range listColumns(c) {
		name, _ := excelize.ColumnNumberToName(i + 1)
		refs[lc.key] = fmt.Sprintf("%s!$%s$2:$%s$%d", ListsSheet, name, name, len(lc.entries)+1)
	}
	return refs
}

// writeLists writes the Lists sheet: each list column's header and
// drop-down entries, in the columns listRefs names.
func writeLists(f *excelize.File, c *protocol.Compiled) error {
	if _, err := f.NewSheet(ListsSheet); err != nil {
		return err
	}
	for i, lc := range listColumns(c) {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(ListsSheet, name+"1", lc.header); err != nil {
			return err
		}
		for j, e := range lc.entries {
			if err := f.SetCellStr(ListsSheet, name+strconv.Itoa(j+2), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// allowedText is the row-3 description of what an item accepts.
func allowedText(c *protocol.Compiled, it *protocol.Item) string {
	var parts []string
	if it.Required {
		parts = append(parts, "required")
	}
	rng := func(r *protocol.Range) string {
		switch {
		case r == nil || r.Min == "" && r.Max == "":
			return ""
		case r.Min != "" && r.Max != "":
			return r.Min + " to " + r.Max
		case r.Min != "":
			return "at least " + r.Min
		}
		return "at most " + r.Max
	}
	switch it.Type {
	case protocol.TypeInteger, protocol.TypeDecimal:
		t := "whole number"
		if it.Type == protocol.TypeDecimal {
			t = "number"
			if it.Digits > 0 {
				t += fmt.Sprintf(", up to %d decimal place(s)", it.Digits)
			}
		}
		if r := rng(it.Hard); r != "" {
			t += ", " + r
		}
		if r := rng(it.Soft); r != "" {
			t += " (expected " + r + ")"
		}
		parts = append(parts, t)
	case protocol.TypeDate:
		t := "date YYYY-MM-DD"
		if r := rng(it.Hard); r != "" {
			t += ", " + r
		}
		parts = append(parts, t)
	case protocol.TypePartialDate:
		parts = append(parts, "YYYY, YYYY-MM or YYYY-MM-DD")
	case protocol.TypeDateTime:
		parts = append(parts, "YYYY-MM-DDTHH:MM")
	case protocol.TypeTime:
		parts = append(parts, "HH:MM (24 h)")
	case protocol.TypeYesNo:
		parts = append(parts, "1=Yes, 0=No")
	case protocol.TypeChoice, protocol.TypeMultiChoice:
		cl, _ := c.CodeList(it.CodeList)
		var es []string
		if cl != nil {
			for _, ci := range cl.Items {
				es = append(es, entryText(ci.Code, ci.Decode))
			}
		}
		t := strings.Join(es, ", ")
		if it.Type == protocol.TypeMultiChoice {
			t = "one or more codes, comma-separated: " + t
		}
		parts = append(parts, t)
	case protocol.TypeText:
		n := it.MaxLength
		if n <= 0 {
			n = protocol.DefaultMaxLength
		}
		parts = append(parts, fmt.Sprintf("text, at most %d characters", n))
	}
	if len(it.Missing) > 0 {
		parts = append(parts, "or "+missingHelp(c, it))
	}
	if it.ShowIf != "" {
		parts = append(parts, "only when "+it.ShowIf)
	}
	return strings.Join(parts, "; ")
}

// missingHelp says how to enter the missing-data codes an item allows.
func missingHelp(c *protocol.Compiled, it *protocol.Item) string {
	return "a missing-data code: " + strings.Join(missingEntries(c, it), ", ") + " (type " + it.Missing[0] + " or " + it.Missing[0] + ": reason)"
}

// labelText is the row-2 header: label, unit, and * when required.
func labelText(it *protocol.Item) string {
	s := it.Label
	if s == "" {
		s = it.OID
	}
	if it.Unit != "" {
		s += " (" + it.Unit + ")"
	}
	if it.Required {
		s += " *"
	}
	return s
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func writeFormSheet(f *excelize.File, c *protocol.Compiled, st *styles, lists map[string]string, name string,
	form *protocol.Form, subjects []types.Subject, events []protocol.Event, recs map[types.FormKey]*types.FormRecord,
	repeats map[[2]string]int, repeatRows int, prefill bool) (int, error) {
	cols := formColumns(form)
	limit := repeatLimit(form)
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return 0, err
	}
	if err := sw.SetColWidth(1, 1, 14); err != nil {
		return 0, err
	}
	if err := sw.SetColWidth(2, 2, 9); err != nil {
		return 0, err
	}
	if err := sw.SetColWidth(3, 3, 13); err != nil {
		return 0, err
	}
	if err := sw.SetColWidth(4, 4, 8); err != nil {
		return 0, err
	}
	for i, col := range cols {
		w := float64(min(max(utf8.RuneCountInString(labelText(col.item))/2+4, 14), 40))
		if err := sw.SetColWidth(KeyColumns+i+1, KeyColumns+i+1, w); err != nil {
			return 0, err
		}
	}
	reasonCol := KeyColumns + len(cols) + 1
	if err := sw.SetColWidth(reasonCol, reasonCol, 36); err != nil {
		return 0, err
	}
	if err := sw.SetColWidth(reasonCol+1, reasonCol+1, 12); err != nil {
		return 0, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, XSplit: KeyColumns, YSplit: HeaderRows,
		TopLeftCell: cellName(KeyColumns+1, FirstDataRow), ActivePane: "bottomRight",
		Selection: []excelize.Selection{{SQRef: cellName(KeyColumns+1, FirstDataRow), ActiveCell: cellName(KeyColumns+1, FirstDataRow), Pane: "bottomRight"}}}); err != nil {
		return 0, err
	}
	h1 := make([]any, 0, KeyColumns+len(cols)+2)
	h2 := make([]any, 0, KeyColumns+len(cols)+2)
	h3 := make([]any, 0, KeyColumns+len(cols)+2)
	for i, k := range keyHeaders {
		h1 = append(h1, excelize.Cell{StyleID: st.oid, Value: k})
		h2 = append(h2, excelize.Cell{StyleID: st.label, Value: [...]string{"Subject", "Event", "Event repeat", "Row"}[i]})
		h3 = append(h3, excelize.Cell{StyleID: st.allowed, Value: [...]string{"pre-filled", "pre-filled", "1 unless the event repeats", "row of the repeating group"}[i]})
	}
	if limit == 0 {
		h3[3] = excelize.Cell{StyleID: st.allowed, Value: "(not used)"}
	}
	for _, col := range cols {
		h1 = append(h1, excelize.Cell{StyleID: st.oid, Value: col.item.OID})
		h2 = append(h2, excelize.Cell{StyleID: st.label, Value: labelText(col.item)})
		h3 = append(h3, excelize.Cell{StyleID: st.allowed, Value: allowedText(c, col.item)})
	}
	h1 = append(h1, excelize.Cell{StyleID: st.oid, Value: HeaderReason})
	h2 = append(h2, excelize.Cell{StyleID: st.label, Value: "Reason for change"})
	h3 = append(h3, excelize.Cell{StyleID: st.allowed, Value: "a correction of a form on the ledger needs one (once per form; default: the import's --reason)"})
	h1 = append(h1, excelize.Cell{StyleID: st.oid, Value: HeaderVersion})
	h2 = append(h2, excelize.Cell{StyleID: st.label, Value: "Ledger version"})
	h3 = append(h3, excelize.Cell{StyleID: st.allowed, Value: "pre-filled: the form version the values come from; leave as is"})
	if err := sw.SetRow("A1", h1); err != nil {
		return 0, err
	}
	if err := sw.SetRow("A2", h2, excelize.RowOpts{Height: 45}); err != nil {
		return 0, err
	}
	if err := sw.SetRow("A3", h3, excelize.RowOpts{Height: 60}); err != nil {
		return 0, err
	}

	cellStyle := make([]int, len(cols))
	for i, col := range cols {
		switch col.item.Type {
		case protocol.TypeDate:
			cellStyle[i] = st.date
		case protocol.TypeInteger, protocol.TypeDecimal:
			cellStyle[i] = st.number
		default:
			cellStyle[i] = st.text
		}
	}

	row := FirstDataRow
	for _, sub := range subjects {
		for _, ev := range events {
			if !c.FormInEvent(ev.OID, form.OID) {
				continue
			}
			nrep := 1
			if ev.Repeatable {
				nrep = repeats[[2]string{sub.ID, ev.OID}] + 1
			}
			for er := 1; er <= nrep; er++ {
				key := types.FormKey{Study: sub.Study, Subject: sub.ID, Event: ev.OID, EventRepeat: er, Form: form.OID}
				var vals map[string]protocol.ItemValue
				maxRow := 0
				version := excelize.Cell{StyleID: st.keyNum}
				if rec := recs[key]; rec != nil && prefill {
					version.Value = rec.Version
					vals = map[string]protocol.ItemValue{}
					for _, v := range rec.Values {
						vals[v.Item+"|"+strconv.Itoa(v.Repeat)] = v
						maxRow = max(maxRow, v.Repeat)
					}
				}
				n := 1
				if limit > 0 {
					n = min(max(repeatRows, maxRow+1), limit)
				}
				for r := 1; r <= n; r++ {
					cells := make([]any, 0, KeyColumns+len(cols)+2)
					rowCell := excelize.Cell{StyleID: st.keyNum}
					if limit > 0 {
						rowCell.Value = r
					}
					cells = append(cells, excelize.Cell{StyleID: st.key, Value: sub.ID}, excelize.Cell{StyleID: st.key, Value: ev.OID},
						excelize.Cell{StyleID: st.keyNum, Value: er}, rowCell)
					for i, col := range cols {
						cell := excelize.Cell{StyleID: cellStyle[i]}
						rep := 0
						if col.repeating {
							rep = r
						}
						if vals != nil && (col.repeating || r == 1) {
							if v, ok := vals[col.item.OID+"|"+strconv.Itoa(rep)]; ok {
								cell.Value = cellValue(c, col.item, v.Value)
								if v.Missing != "" {
									cell.Value = v.MissingText()
								}
							}
						}
						cells = append(cells, cell)
					}
					cells = append(cells, excelize.Cell{StyleID: st.text}, version)
					if err := sw.SetRow("A"+strconv.Itoa(row), cells); err != nil {
						return 0, err
					}
					row++
				}
			}
		}
	}
	last := min(max(row-1, FirstDataRow)+validationSpare, excelize.TotalRows)
	for _, col := range cols {
		dv, err := validationFor(c, lists, col, fmt.Sprintf("%s%d:%s%d", col.name, FirstDataRow, col.name, last))
		if err != nil {
			return 0, err
		}
		if dv != nil {
			if err := f.AddDataValidation(name, dv); err != nil {
				return 0, err
			}
		}
	}
	if err := sw.Flush(); err != nil {
		return 0, err
	}
	return row - FirstDataRow, nil
}

func cellName(col, row int) string {
	n, _ := excelize.CoordinatesToCellName(col, row)
	return n
}

// cellValue is how a ledger value is pre-filled: drop-down entries for
// codes, date serials for dates, numbers for numbers (as text when they
// have more significant digits than a spreadsheet keeps).
func cellValue(c *protocol.Compiled, it *protocol.Item, v string) any {
	switch it.Type {
	case protocol.TypeYesNo:
		switch v {
		case "1":
			return "1=Yes"
		case "0":
			return "0=No"
		}
	case protocol.TypeChoice:
		if d := c.Decode(it.OID, v); d != v {
			return entryText(v, d)
		}
	case protocol.TypeDate:
		if n, ok := dateSerial(v); ok {
			return int(n)
		}
	case protocol.TypeInteger, protocol.TypeDecimal:
		if isNumber(v) && cleanNumber(v) == v && !strings.ContainsAny(v, "eE") {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
			if fl, err := strconv.ParseFloat(v, 64); err == nil && strconv.FormatFloat(fl, 'f', -1, 64) == strings.TrimRight(strings.TrimRight(v, "0"), ".") {
				return fl
			}
		}
	}
	return v
}

// validationFor returns the data validation of an item column.
func validationFor(c *protocol.Compiled, lists map[string]string, col column, sqref string) (*excelize.DataValidation, error) {
	it := col.item
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(sqref)
	title := clip(it.Label, 32)
	prompt := allowedText(c, it)
	if it.Note != "" {
		prompt += ". " + it.Note
	}
	dv.SetInput(title, clip(prompt, 250))
	// A cell of an item that allows missing-data codes takes a code as
	// well as a value: the spreadsheet warns instead of refusing.
	stop := func(msg string) {
		if len(it.Missing) > 0 {
			dv.SetError(excelize.DataValidationErrorStyleWarning, "Value or missing-data code", clip(msg+" Or type "+missingHelp(c, it)+".", 250))
			return
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "Not allowed", clip(msg, 250))
	}
	hardBounds := func(lo, hi string) (string, string) {
		if it.Hard != nil {
			if it.Hard.Min != "" {
				lo = it.Hard.Min
			}
			if it.Hard.Max != "" {
				hi = it.Hard.Max
			}
		}
		return lo, hi
	}
	switch it.Type {
	case protocol.TypeYesNo:
		if err := dv.SetDropList(append([]string{"1=Yes", "0=No"}, missingEntries(c, it)...)); err != nil {
			return nil, err
		}
		dv.SetError(excelize.DataValidationErrorStyleWarning, "Yes or no", "Choose 1=Yes or 0=No from the list.")
	case protocol.TypeChoice:
		ref, ok := lists[itemListKey+it.OID]
		if !ok {
			ref, ok = lists[it.CodeList]
		}
		if !ok {
			return dv, nil
		}
		dv.SetSqrefDropList(ref)
		dv.SetError(excelize.DataValidationErrorStyleWarning, "Not in the list", clip("Choose from the list ("+allowedText(c, it)+"); a code alone is accepted too.", 250))
	case protocol.TypeInteger:
		lo, hi := hardBounds("-999999999999999", "999999999999999")
		if err := dv.SetRange(lo, hi, excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween); err != nil {
			return nil, err
		}
		stop("Enter a whole number from " + lo + " to " + hi + ".")
	case protocol.TypeDecimal:
		lo, hi := hardBounds("-999999999999999", "999999999999999")
		if err := dv.SetRange(lo, hi, excelize.DataValidationTypeDecimal, excelize.DataValidationOperatorBetween); err != nil {
			return nil, err
		}
		stop("Enter a number from " + lo + " to " + hi + ".")
	case protocol.TypeDate:
		lo, hi := "1900-03-01", "9999-12-31"
		lo, hi = hardBounds(lo, hi)
		ls, ok1 := dateSerial(lo)
		hs, ok2 := dateSerial(hi)
		if !ok1 || !ok2 {
			return dv, nil
		}
		if err := dv.SetRange(int(ls), int(hs), excelize.DataValidationTypeDate, excelize.DataValidationOperatorBetween); err != nil {
			return nil, err
		}
		stop("Enter a date (YYYY-MM-DD) from " + lo + " to " + hi + ".")
	case protocol.TypeText:
		n := it.MaxLength
		if n <= 0 {
			n = protocol.DefaultMaxLength
		}
		if err := dv.SetRange(0, n, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween); err != nil {
			return nil, err
		}
		stop(fmt.Sprintf("At most %d characters.", n))
	default:
		dv.Type = "none"
	}
	return dv, nil
}

// writeInstructions fills the Instructions sheet.
func writeInstructions(f *excelize.File, st *styles, p *protocol.Protocol, m Meta, sum *TemplateSummary, events []protocol.Event) error {
	sh := InstructionsSheet
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	title, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	if err != nil {
		return err
	}
	row := 1
	put := func(style int, a string, b ...string) error {
		if err := f.SetCellStr(sh, "A"+strconv.Itoa(row), a); err != nil {
			return err
		}
		if style != 0 {
			if err := f.SetCellStyle(sh, "A"+strconv.Itoa(row), "A"+strconv.Itoa(row), style); err != nil {
				return err
			}
		}
		for i, v := range b {
			if err := f.SetCellStr(sh, cellName(i+2, row), v); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	site := m.Site
	if site == "" {
		site = "all sites"
	}
	prefilled := "no (empty cells)"
	if m.Prefilled {
		prefilled = "yes: cells hold the values on the ledger at that height"
	}
	type line struct {
		style int
		a     string
		b     []string
	}
	lines := []line{
		{title, "Data entry workbook: " + m.Study, nil},
		{0, "", nil},
		{bold, "Study", []string{m.Study + ": " + p.Study.Title}},
		{bold, "Protocol version", []string{fmt.Sprintf("%d (label %q)", m.ProtocolVersion, m.ProtocolLabel)}},
		{bold, "Protocol fingerprint", []string{m.Fingerprint}},
		{bold, "Site", []string{site}},
		{bold, "Generated at block height", []string{strconv.FormatInt(m.Height, 10)}},
		{bold, "Pre-filled from the ledger", []string{prefilled}},
		{0, "", nil},
		{bold, "What to do", nil},
		{0, "1. Each form has its own sheet. Find the row of the subject and event and type the values in the item columns.", nil},
		{0, "2. Leave the grey key columns (Subject, Event, Event repeat, Row) as they are. For more rows of a repeating group (adverse events, medications), copy a row and raise Row.", nil},
		{0, "3. Leave a row empty when the form was not done: empty rows are skipped.", nil},
		{0, "4. Save as .xlsx and import: veritrial form import FILE.xlsx --from YOUR-KEY. Every row is checked first; problems are listed as SHEET!CELL, and nothing is sent until all are fixed.", nil},
		{0, "5. Importing again is safe: forms already on the ledger with the same values are skipped. Changed forms are sent as corrections and need a reason: type it in the form's REASON cell (the import's --reason is the default).", nil},
		{0, "6. To change forms already on the ledger, start from a workbook pre-filled from the ledger (form template --prefill): its VERSION column says which version each form's values come from, and a form someone changed on the ledger since is refused, never silently reverted. An emptied cell clears nothing unless the import says --clear-emptied; to record that a value cannot be had, type a missing-data code where the item allows one.", nil},
		{0, "", nil},
		{bold, "Legend", nil},
		{0, "Row 1", []string{"item OID (machine-readable; do not change)"}},
		{0, "Row 2", []string{"question label and unit; * marks a required item"}},
		{0, "Row 3", []string{"allowed values: code list (1=Yes, 0=No), range, date format; 'only when ...' marks an item that applies only under a condition"}},
		{0, "Drop-down cells", []string{"choose an entry such as 1=Male; the code alone (1) or the wording (Male) are accepted too"}},
		{0, "Dates", []string{"type YYYY-MM-DD; partial dates (year or year-month) and times (HH:MM) are typed as text"}},
		{0, "Numbers", []string{"type digits with a decimal point; the hard range is enforced, values outside the expected range are accepted and become data queries"}},
	}
	if len(p.MissingCodes) > 0 {
		var codes []string
		for _, mc := range p.MissingCodes {
			codes = append(codes, entryText(mc.Code, mc.Decode))
		}
		lines = append(lines, line{0, "Missing-data codes", []string{"where row 3 allows it, type a code instead of a value that cannot be had: the code alone (ND), its drop-down entry (ND=Not done), or either with the reason after a colon (ND: sample haemolysed). Only the codes row 3 lists for the item count as codes; anything else is read as a value. Codes of this study: " + strings.Join(codes, ", ")}})
	}
	lines = append(lines, line{0, "", nil}, line{bold, "Form sheets", []string{"Form", "Rows"}})
	for _, l := range lines {
		if err := put(l.style, l.a, l.b...); err != nil {
			return err
		}
	}
	for _, s := range sum.Sheets {
		if err := put(0, s.Sheet, s.Name, strconv.Itoa(s.Rows)); err != nil {
			return err
		}
	}
	if err := put(0, ""); err != nil {
		return err
	}
	if err := put(bold, "Events", "Name", "Repeats"); err != nil {
		return err
	}
	for _, e := range events {
		rep := "no"
		if e.Repeatable {
			rep = "yes: use Event repeat 1, 2, ..."
		}
		if err := put(0, e.OID, e.Name, rep); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(sh, "A", "A", 28); err != nil {
		return err
	}
	return f.SetColWidth(sh, "B", "D", 40)
}

// metaKeys are the rows of the meta sheet, in order.
var metaKeys = []string{"format", "study", "site", "protocol_version", "protocol_label", "fingerprint", "height", "prefilled"}

func writeMeta(f *excelize.File, m Meta) error {
	if _, err := f.NewSheet(MetaSheet); err != nil {
		return err
	}
	vals := map[string]string{
		"format": FormatName, "study": m.Study, "site": m.Site, "protocol_version": strconv.Itoa(m.ProtocolVersion),
		"protocol_label": m.ProtocolLabel, "fingerprint": m.Fingerprint, "height": strconv.FormatInt(m.Height, 10),
		"prefilled": strconv.FormatBool(m.Prefilled),
	}
	for i, k := range metaKeys {
		if err := f.SetCellStr(MetaSheet, "A"+strconv.Itoa(i+1), k); err != nil {
			return err
		}
		if err := f.SetCellStr(MetaSheet, "B"+strconv.Itoa(i+1), vals[k]); err != nil {
			return err
		}
	}
	return nil
}
