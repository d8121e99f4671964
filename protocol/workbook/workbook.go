// Package workbook is the protocol's third door: the CRF specification
// workbook (.xlsx) written by WriteTemplate and WriteXLSX and read by
// LoadXLSX (docs/PROTOCOL.md describes its sheets). It also holds LoadFile,
// which picks the door by a file's extension, and ExampleBytes. It lives
// apart from package protocol so that what links the model without reading
// Excel, such as the web pages' WebAssembly module, does not carry the
// Excel library.
package workbook

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/protocol"
)

// xlsxCol describes one column of a CRF specification sheet.
type xlsxCol struct {
	key      string // canonical key
	header   string // header text written in row 1
	note     string // cell comment on the header
	list     []string
	text     bool // formatted as text so "01" and "1.50" stay as typed
	width    float64
	required bool // the column must be present when loading
}

type xlsxSheet struct {
	name string
	note string
	cols []xlsxCol
}

var yesNoList = []string{"yes", "no"}

var dataTypeList = []string{string(protocol.TypeText), string(protocol.TypeInteger), string(protocol.TypeDecimal), string(protocol.TypeDate),
	string(protocol.TypePartialDate), string(protocol.TypeDateTime), string(protocol.TypeTime), string(protocol.TypeYesNo), string(protocol.TypeChoice),
	string(protocol.TypeMultiChoice)}

// xlsxSheets is the workbook layout, documented in docs/PROTOCOL.md.
var xlsxSheets = []xlsxSheet{
	{name: "Study", note: "One row per field of the study metadata.", cols: []xlsxCol{
		{key: "field", header: "Field", required: true, width: 24, note: "One of: id, version, title, phase, sponsor, protocol_doc_sha256, sap_sha256, subject_id_pattern, anchor_event, consent_version, reconsent."},
		{key: "value", header: "Value", required: true, text: true, width: 80, note: "The value. Hashes are the lower-case hex SHA-256 of the protocol document and of the statistical analysis plan. subject_id_pattern is the regular expression every subject ID must match (empty: " + protocol.DefaultSubjectIDPattern + "). consent_version is the version of the consent document; reconsent is refuse (default) or flag: what a form for a subject not yet re-consented meets."},
	}},
	{name: "Outcomes", cols: []xlsxCol{
		{key: "kind", header: "Kind", required: true, list: []string{"primary", "secondary"}, width: 12, note: "primary or secondary. Changing outcomes after the start is outcome switching: every amendment report flags it."},
		{key: "measure", header: "Measure", required: true, width: 60, note: "The outcome measure, as registered."},
		{key: "timeframe", header: "Time Frame", width: 30, note: "When it is assessed, e.g. Baseline to week 12."},
		{key: "description", header: "Description", width: 60, note: "Optional detail."},
	}},
	{name: "Arms", cols: []xlsxCol{
		{key: "oid", header: "Arm OID", required: true, width: 16, note: "Stable identifier of the arm, e.g. ARM.PBO."},
		{key: "name", header: "Name", required: true, width: 30, note: "Arm name."},
		{key: "description", header: "Description", width: 60, note: "Optional description of the intervention."},
	}},
	{name: "Events", cols: []xlsxCol{
		{key: "oid", header: "Event OID", required: true, width: 12, note: "Stable identifier of the visit, e.g. SCR, W4."},
		{key: "name", header: "Name", required: true, width: 30, note: "Visit name."},
		{key: "type", header: "Type", list: []string{string(protocol.EventScheduled), string(protocol.EventUnscheduled), string(protocol.EventCommon)}, width: 14, note: "scheduled (default), unscheduled, or common (e.g. early termination)."},
		{key: "day", header: "Day", width: 8, note: "Nominal study day; day 1 is baseline. Whole number, may be negative."},
		{key: "before", header: "Window Before", width: 10, note: "Days allowed before the nominal day."},
		{key: "after", header: "Window After", width: 10, note: "Days allowed after the nominal day."},
		{key: "repeatable", header: "Repeatable", list: yesNoList, width: 11, note: "yes if the visit can occur more than once (unscheduled visits)."},
		{key: "forms", header: "Forms", required: true, width: 40, note: "Form OIDs collected at this visit, comma-separated, e.g. VS, LB, AE."},
		{key: "visitdate", header: "Visit Date Item", width: 14, note: "The date item whose value is the visit's date, e.g. VS.DATE; empty: the window is not checked."},
		{key: "windowhard", header: "Window Hard", list: yesNoList, width: 11, note: "yes to refuse a visit date outside the window; no (default) records it as a protocol deviation."},
	}},
	{name: "Forms", cols: []xlsxCol{
		{key: "oid", header: "Form OID", required: true, width: 12, note: "Stable identifier of the case report form, e.g. VS."},
		{key: "name", header: "Name", required: true, width: 30, note: "Form title."},
		{key: "safety", header: "Safety", list: yesNoList, width: 9, note: "yes for a safety form (adverse events): accepted while a subject awaits re-consent or is withdrawn from follow-up."},
		{key: "endofstudy", header: "End Of Study", list: yesNoList, width: 9, note: "yes for the end-of-study form, accepted like a safety form."},
		{key: "seriousitem", header: "Serious Item", width: 14, note: "The yes/no item of the form that says an adverse event is serious, e.g. AE.SER: a yes opens a serious adverse event record."},
	}},
	{name: "Groups", cols: []xlsxCol{
		{key: "form", header: "Form OID", required: true, width: 12, note: "The form the group belongs to (sheet Forms)."},
		{key: "oid", header: "Group OID", required: true, width: 14, note: "Stable identifier of the item group, e.g. AE.LOG."},
		{key: "name", header: "Name", width: 30, note: "Group title."},
		{key: "repeating", header: "Repeating", list: yesNoList, width: 11, note: "yes for one row per repeat (one row per adverse event)."},
		{key: "maxrepeats", header: "Max Repeats", width: 11, note: "Largest number of rows of a repeating group; empty or 0 for no limit."},
	}},
	{name: "Items", cols: []xlsxCol{
		{key: "form", header: "Form OID", required: true, width: 10, note: "The item's form (sheet Forms)."},
		{key: "group", header: "Group OID", required: true, width: 12, note: "The item's group (sheet Groups). Items appear in the order of this sheet."},
		{key: "oid", header: "Item OID", required: true, width: 14, note: "Stable identifier, unique in the protocol, e.g. VS.SYSBP. Conditions refer to items as [OID]."},
		{key: "label", header: "Label", required: true, width: 40, note: "The question as shown to the person entering data."},
		{key: "type", header: "Type", required: true, list: dataTypeList, width: 13, note: "text, integer, decimal, date (YYYY-MM-DD), partial_date, datetime, time, yesno (1/0), choice or multichoice (with a code list)."},
		{key: "digits", header: "Digits", width: 7, note: "decimal only: decimal places allowed."},
		{key: "unit", header: "Unit", text: true, width: 10, note: "Unit of measure, e.g. mmHg."},
		{key: "codelist", header: "Code List", width: 14, note: "choice and multichoice: the code list OID (sheet CodeLists)."},
		{key: "hardmin", header: "Hard Min", text: true, width: 10, note: "Values below are rejected. Exact decimal, or YYYY-MM-DD for dates. Typed as text so 1.50 stays 1.50."},
		{key: "hardmax", header: "Hard Max", text: true, width: 10, note: "Values above are rejected."},
		{key: "softmin", header: "Soft Min", text: true, width: 10, note: "Values below are accepted with a warning that becomes a data query."},
		{key: "softmax", header: "Soft Max", text: true, width: 10, note: "Values above are accepted with a warning that becomes a data query."},
		{key: "required", header: "Required", list: yesNoList, width: 10, note: "yes if a value is required whenever the item is shown."},
		{key: "maxlength", header: "Max Length", width: 10, note: "text: largest number of characters."},
		{key: "showif", header: "Show If", text: true, width: 36, note: "Branching condition, REDCap syntax: [DM.SEX] = \"2\" and [DM.CBP] = \"1\". Empty: always shown."},
		{key: "section", header: "Section", width: 24, note: "Section header shown above the item."},
		{key: "note", header: "Note", width: 30, note: "Field note for the person entering data."},
		{key: "annotation", header: "Annotation", width: 24, note: "Free annotation, not interpreted."},
		{key: "derive", header: "Derive", text: true, width: 36, note: "Derived items only: the expression the ledger computes the value with, e.g. round([DM.WEIGHT] / ([DM.HEIGHT] / 100 * ([DM.HEIGHT] / 100)), 1). Nobody types a derived item."},
		{key: "pattern", header: "Pattern", text: true, width: 20, note: "Regular expression (RE2 syntax) the whole value must match, e.g. [0-9]{5} for a 5-digit postcode. Empty: none."},
		{key: "patternmessage", header: "Pattern Message", width: 28, note: "What the pattern expects, in words a site understands, e.g. a 5-digit postcode."},
	}},
	{name: "CodeLists", cols: []xlsxCol{
		{key: "oid", header: "Code List OID", required: true, width: 16, note: "One row per code; repeat the code list OID on each row."},
		{key: "name", header: "Name", width: 24, note: "Code list name (on its first row, may be repeated)."},
		{key: "code", header: "Code", required: true, text: true, width: 10, note: "The stored value, e.g. 1. Typed as text so 01 stays 01."},
		{key: "decode", header: "Decode", required: true, width: 36, note: "What the code means, e.g. Male."},
	}},
	{name: "Checks", cols: []xlsxCol{
		{key: "form", header: "Form OID", required: true, width: 10, note: "The form the check runs on."},
		{key: "oid", header: "Check OID", required: true, width: 20, note: "Stable identifier of the edit check."},
		{key: "condition", header: "Condition", required: true, text: true, width: 50, note: "Must be true when all its items have values, e.g. [VS.DIABP] < [VS.SYSBP]."},
		{key: "severity", header: "Severity", list: []string{string(protocol.Hard), string(protocol.Soft)}, width: 10, note: "hard rejects the form; soft raises a data query."},
		{key: "message", header: "Message", width: 50, note: "What the site coordinator reads."},
		{key: "items", header: "Items", width: 30, note: "Item OIDs the check names, comma-separated; the first gets the message."},
	}},
}

var studyFields = []string{"id", "version", "title", "phase", "sponsor", "protocol_doc_sha256", "sap_sha256", "subject_id_pattern", "anchor_event", "consent_version", "reconsent", "randomization"}

// xlsxValidationRows is how many rows below the header get drop-downs.
const xlsxValidationRows = 2000

func colName(i int) string {
	n, _ := excelize.ColumnNumberToName(i + 1)
	return n
}

// newWorkbook creates the sheets with headers, notes, formats and data
// validation.
func newWorkbook() (*excelize.File, error) {
	f := excelize.NewFile()
	hdr, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"305496"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"},
	})
	if err != nil {
		return nil, err
	}
	textFmt, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return nil, err
	}
	for si, s := range xlsxSheets {
		if si == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			return nil, err
		}
		for ci, c := range s.cols {
			col := colName(ci)
			cell := col + "1"
			if err := f.SetCellStr(s.name, cell, c.header); err != nil {
				return nil, err
			}
			if err := f.SetColWidth(s.name, col, col, c.width); err != nil {
				return nil, err
			}
			if c.text {
				if err := f.SetColStyle(s.name, col, textFmt); err != nil {
					return nil, err
				}
			}
			note := c.note
			if c.required {
				note = "Required column. " + note
			}
			if err := f.AddComment(s.name, excelize.Comment{Cell: cell, Author: "veritrial",
				Paragraph: []excelize.RichTextRun{{Text: note}}, Width: 300, Height: 90}); err != nil {
				return nil, err
			}
			if len(c.list) > 0 {
				dv := excelize.NewDataValidation(true)
				dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, xlsxValidationRows))
				if err := dv.SetDropList(c.list); err != nil {
					return nil, err
				}
				dv.SetError(excelize.DataValidationErrorStyleStop, c.header, "Choose one of: "+strings.Join(c.list, ", "))
				if err := f.AddDataValidation(s.name, dv); err != nil {
					return nil, err
				}
			}
		}
		last := colName(len(s.cols)-1) + "1"
		if err := f.SetCellStyle(s.name, "A1", last, hdr); err != nil {
			return nil, err
		}
		if err := f.SetPanes(s.name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, err
		}
	}
	f.SetActiveSheet(0)
	return f, nil
}

// WriteTemplate writes a blank CRF specification workbook: every sheet
// with its header row, a note on each header cell explaining the column,
// and drop-downs for data types, yes/no columns, event types and
// severities; the Study sheet lists its fields.
func WriteTemplate(w io.Writer) error {
	f, err := newWorkbook()
	if err != nil {
		return err
	}
	defer f.Close()
	for i, k := range studyFields {
		if err := f.SetCellStr("Study", fmt.Sprintf("A%d", i+2), k); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// WriteXLSX writes p as a CRF specification workbook; LoadXLSX of the
// result gives back p's fingerprint.
func WriteXLSX(w io.Writer, p *protocol.Protocol) error {
	if p == nil {
		return fmt.Errorf("protocol: WriteXLSX of nil protocol")
	}
	c := protocol.Clone(p)
	protocol.Normalize(c)
	f, err := newWorkbook()
	if err != nil {
		return err
	}
	defer f.Close()
	put := func(sheet string, row int, vals ...any) error {
		for i, v := range vals {
			cell := fmt.Sprintf("%s%d", colName(i), row)
			var err error
			switch x := v.(type) {
			case int:
				err = f.SetCellInt(sheet, cell, int64(x))
			case string:
				err = f.SetCellStr(sheet, cell, x)
			case bool:
				s := "no"
				if x {
					s = "yes"
				}
				err = f.SetCellStr(sheet, cell, s)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	st := c.Study
	for i, kv := range [][2]string{{"id", st.ID}, {"version", st.Version}, {"title", st.Title}, {"phase", st.Phase},
		{"sponsor", st.Sponsor}, {"protocol_doc_sha256", st.ProtocolDocSHA256}, {"sap_sha256", st.SAPSHA256}, {"subject_id_pattern", st.SubjectIDPattern}, {"anchor_event", st.AnchorEvent},
		{"consent_version", st.ConsentVersion}, {"reconsent", st.Reconsent},
		{"randomization", protocol.RandomizationJSON(c.Randomization)}} {
		if err := put("Study", i+2, kv[0], kv[1]); err != nil {
			return err
		}
	}
	row := 2
	for _, o := range st.PrimaryOutcomes {
		if err := put("Outcomes", row, "primary", o.Measure, o.TimeFrame, o.Description); err != nil {
			return err
		}
		row++
	}
	for _, o := range st.SecondaryOutcomes {
		if err := put("Outcomes", row, "secondary", o.Measure, o.TimeFrame, o.Description); err != nil {
			return err
		}
		row++
	}
	for i, a := range st.Arms {
		if err := put("Arms", i+2, a.OID, a.Name, a.Description); err != nil {
			return err
		}
	}
	for i, e := range c.Events {
		if err := put("Events", i+2, e.OID, e.Name, string(e.Type), e.Day, e.WindowBefore, e.WindowAfter, e.Repeatable,
			strings.Join(e.Forms, ", "), e.VisitDate, e.WindowHard); err != nil {
			return err
		}
	}
	grow, irow, crow := 2, 2, 2
	for i, fm := range c.Forms {
		if err := put("Forms", i+2, fm.OID, fm.Name, fm.Safety, fm.EndOfStudy, fm.SeriousItem); err != nil {
			return err
		}
		for _, g := range fm.Groups {
			if err := put("Groups", grow, fm.OID, g.OID, g.Name, g.Repeating, intCell(g.MaxRepeats)); err != nil {
				return err
			}
			grow++
			for _, it := range g.Items {
				var hmin, hmax, smin, smax string
				if it.Hard != nil {
					hmin, hmax = it.Hard.Min, it.Hard.Max
				}
				if it.Soft != nil {
					smin, smax = it.Soft.Min, it.Soft.Max
				}
				if err := put("Items", irow, fm.OID, g.OID, it.OID, it.Label, string(it.Type), intCell(it.Digits), it.Unit,
					it.CodeList, hmin, hmax, smin, smax, it.Required, intCell(it.MaxLength), it.ShowIf, it.Section,
					it.Note, it.Annotation, it.Derive, it.Pattern, it.PatternMessage); err != nil {
					return err
				}
				irow++
			}
		}
		for _, ch := range fm.Checks {
			if err := put("Checks", crow, fm.OID, ch.OID, ch.Condition, string(ch.Severity), ch.Message,
				strings.Join(ch.Items, ", ")); err != nil {
				return err
			}
			crow++
		}
	}
	row = 2
	for _, cl := range c.CodeLists {
		if len(cl.Items) == 0 {
			if err := put("CodeLists", row, cl.OID, cl.Name, "", ""); err != nil {
				return err
			}
			row++
		}
		for _, ci := range cl.Items {
			if err := put("CodeLists", row, cl.OID, cl.Name, ci.Code, ci.Decode); err != nil {
				return err
			}
			row++
		}
	}
	return f.Write(w)
}

// intCell leaves zero cells empty.
func intCell(n int) any {
	if n == 0 {
		return ""
	}
	return n
}

// xlsxLoader holds the state of one LoadXLSX call.
type xlsxLoader struct {
	name     string
	warnings []protocol.Warning
	errs     []*protocol.LoadError
}

type xlsxPos struct {
	sheet, col string
	row        int
}

func (l *xlsxLoader) fail(sheet string, row int, col, msg, fix string) {
	if len(l.errs) < protocol.MaxLoadErrors {
		l.errs = append(l.errs, &protocol.LoadError{File: l.name, Sheet: sheet, Row: row, Column: col, Msg: msg, Fix: fix})
	}
}

func (l *xlsxLoader) warn(sheet string, row int, col, msg string) {
	l.warnings = append(l.warnings, protocol.Warning{File: l.name, Sheet: sheet, Row: row, Column: col, Msg: msg})
}

// xlsxTable is a loaded sheet: rows by column key.
type xlsxTable struct {
	sheet   xlsxSheet
	headers map[string]string
	rows    []xlsxRow
}

type xlsxRow struct {
	n     int
	cells map[string]string
}

func (t *xlsxTable) col(key string) string {
	if h, ok := t.headers[key]; ok {
		return h
	}
	for _, c := range t.sheet.cols {
		if c.key == key {
			return c.header
		}
	}
	return key
}

func headerKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LoadXLSX reads a CRF specification workbook (sheets Study, Outcomes,
// Arms, Events, Forms, Groups, Items, CodeLists, Checks as written by
// WriteTemplate; docs/PROTOCOL.md describes them). Columns may be in any
// order; Outcomes, Arms, CodeLists and Checks may be absent.
func LoadXLSX(r io.Reader, name string) (p *protocol.Protocol, warnings []protocol.Warning, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			p, warnings = nil, nil
			err = &protocol.LoadError{File: name, Msg: fmt.Sprintf("the workbook could not be read (%v)", rec),
				Fix: "open it in Excel or LibreOffice and save it again as .xlsx"}
		}
	}()
	b, err := protocol.ReadLimited(r, name)
	if err != nil {
		return nil, nil, err
	}
	f, err := ziplimit.OpenWorkbook(b, ziplimit.Import)
	var le *ziplimit.LimitError
	if errors.As(err, &le) {
		return nil, nil, &protocol.LoadError{File: name, Msg: "the workbook is refused: " + err.Error(),
			Fix: "check the file: a protocol workbook is far smaller; start from `protocol template`", Err: err}
	}
	if err != nil {
		return nil, nil, &protocol.LoadError{File: name, Msg: "not a readable .xlsx workbook: " + err.Error(),
			Fix: "save the file from Excel or LibreOffice as Excel 2007-365 (.xlsx), or start from `protocol template`"}
	}
	defer f.Close()
	l := &xlsxLoader{name: name}
	tables := map[string]*xlsxTable{}
	for _, sh := range xlsxSheets {
		sheetName := ""
		for _, s := range f.GetSheetList() {
			if strings.EqualFold(strings.ReplaceAll(s, " ", ""), sh.name) {
				sheetName = s
				break
			}
		}
		optional := sh.name == "Outcomes" || sh.name == "Arms" || sh.name == "CodeLists" || sh.name == "Checks"
		if sheetName == "" {
			if !optional {
				l.fail(sh.name, 0, "", fmt.Sprintf("the workbook has no sheet %q", sh.name),
					"add the sheet (start from the template written by `protocol template`)")
			}
			tables[sh.name] = &xlsxTable{sheet: sh, headers: map[string]string{}}
			continue
		}
		rows, err := f.GetRows(sheetName)
		if err != nil {
			l.fail(sheetName, 0, "", "cannot read the sheet: "+err.Error(), "save the workbook again from Excel or LibreOffice")
			continue
		}
		tables[sh.name] = l.table(sh, sheetName, rows)
	}
	for _, s := range f.GetSheetList() {
		known := false
		for _, sh := range xlsxSheets {
			if strings.EqualFold(strings.ReplaceAll(s, " ", ""), sh.name) {
				known = true
			}
		}
		if !known {
			l.warn(s, 0, "", "sheet not part of a CRF specification workbook: ignored")
		}
	}
	if len(l.errs) > 0 {
		return nil, l.warnings, protocol.JoinLoadErrors(l.errs)
	}
	p = l.build(tables)
	if len(l.errs) > 0 {
		return nil, l.warnings, protocol.JoinLoadErrors(l.errs)
	}
	return p, l.warnings, nil
}

// table maps a sheet's header row to column keys and reads its rows.
func (l *xlsxLoader) table(sh xlsxSheet, sheetName string, rows [][]string) *xlsxTable {
	t := &xlsxTable{sheet: sh, headers: map[string]string{}}
	t.sheet.name = sheetName
	if len(rows) == 0 {
		l.fail(sheetName, 1, "", "the sheet has no header row", "copy the header row from the template")
		return t
	}
	byHeader := map[string]string{}
	for _, c := range sh.cols {
		byHeader[headerKey(c.header)] = c.key
		byHeader[c.key] = c.key
	}
	keys := make([]string, len(rows[0]))
	for i, h := range rows[0] {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		k, ok := byHeader[headerKey(h)]
		if !ok {
			l.warn(sheetName, 1, colName(i), fmt.Sprintf("column %q is not part of sheet %s: ignored", h, sh.name))
			continue
		}
		if _, dup := t.headers[k]; dup {
			l.fail(sheetName, 1, colName(i), fmt.Sprintf("column %q appears twice", h), "delete one of the two columns")
			continue
		}
		t.headers[k] = h
		keys[i] = k
	}
	for _, c := range sh.cols {
		if _, ok := t.headers[c.key]; !ok && c.required {
			l.fail(sheetName, 1, c.header, fmt.Sprintf("the header row has no %q column", c.header),
				"add the column (headers: "+sheetHeaders(sh)+")")
		}
	}
	for ri, r := range rows[1:] {
		row := xlsxRow{n: ri + 2, cells: map[string]string{}}
		for i, c := range r {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			if i >= len(keys) || keys[i] == "" {
				l.warn(sheetName, row.n, colName(i), fmt.Sprintf("value %q is in a column without a known header: ignored", protocol.Clip(c)))
				continue
			}
			row.cells[keys[i]] = c
		}
		if len(row.cells) > 0 {
			t.rows = append(t.rows, row)
		}
	}
	return t
}

func sheetHeaders(sh xlsxSheet) string {
	var hs []string
	for _, c := range sh.cols {
		hs = append(hs, c.header)
	}
	return strings.Join(hs, ", ")
}

func (l *xlsxLoader) intCell(t *xlsxTable, r xlsxRow, key string) int {
	s := r.cells[key]
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, ".0"))
	if err != nil {
		l.fail(t.sheet.name, r.n, t.col(key), fmt.Sprintf("%q is not a whole number", protocol.Clip(s)), "write a whole number such as 3, or leave it empty")
	}
	return n
}

func (l *xlsxLoader) boolCell(t *xlsxTable, r xlsxRow, key string) bool {
	switch strings.ToLower(r.cells[key]) {
	case "", "no", "n", "false", "0":
		return false
	case "yes", "y", "true", "1", "x":
		return true
	}
	l.fail(t.sheet.name, r.n, t.col(key), fmt.Sprintf("%q is not yes or no", protocol.Clip(r.cells[key])), "write yes or no")
	return false
}

func splitList(s string) []string {
	out := []string{}
	for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (l *xlsxLoader) build(tables map[string]*xlsxTable) *protocol.Protocol {
	p := &protocol.Protocol{}
	pos := map[string]xlsxPos{}
	at := func(t *xlsxTable, r xlsxRow, key string) xlsxPos {
		return xlsxPos{sheet: t.sheet.name, row: r.n, col: t.col(key)}
	}

	t := tables["Study"]
	seenField := map[string]int{}
	for _, r := range t.rows {
		k := strings.ToLower(strings.TrimSpace(r.cells["field"]))
		v := r.cells["value"]
		if prev, dup := seenField[k]; dup && k != "" {
			l.fail(t.sheet.name, r.n, t.col("field"), fmt.Sprintf("field %q already given in row %d", k, prev), "keep one row per field")
			continue
		}
		seenField[k] = r.n
		pos["study."+k] = at(t, r, "value")
		switch k {
		case "id":
			p.Study.ID = v
		case "version":
			p.Study.Version = v
		case "title":
			p.Study.Title = v
		case "phase":
			p.Study.Phase = v
		case "sponsor":
			p.Study.Sponsor = v
		case "protocol_doc_sha256", "protocoldocsha256":
			p.Study.ProtocolDocSHA256 = v
		case "sap_sha256", "sapsha256":
			p.Study.SAPSHA256 = v
		case "subject_id_pattern", "subjectidpattern":
			p.Study.SubjectIDPattern = v
		case "anchor_event", "anchorevent":
			p.Study.AnchorEvent = v
		case "consent_version", "consentversion":
			p.Study.ConsentVersion = v
		case "reconsent":
			p.Study.Reconsent = v
		case "randomization", "randomisation":
			pos["randomization"] = at(t, r, "value")
			rz, err := protocol.ParseRandomizationJSON(v)
			if err != nil {
				l.fail(t.sheet.name, r.n, t.col("value"), err.Error(), `write the section as JSON on one line, e.g. {"event":"SCR","form":"IE","item":"IE.ELIG"}, or leave it empty`)
			}
			p.Randomization = rz
		default:
			l.warn(t.sheet.name, r.n, t.col("field"), fmt.Sprintf("unknown study field %q ignored (fields: %s)", protocol.Clip(k), strings.Join(studyFields, ", ")))
		}
	}

	t = tables["Outcomes"]
	for _, r := range t.rows {
		o := protocol.Outcome{Measure: r.cells["measure"], TimeFrame: r.cells["timeframe"], Description: r.cells["description"]}
		switch strings.ToLower(r.cells["kind"]) {
		case "primary":
			pos[fmt.Sprintf("study.primary_outcomes[%d]", len(p.Study.PrimaryOutcomes))] = at(t, r, "measure")
			p.Study.PrimaryOutcomes = append(p.Study.PrimaryOutcomes, o)
		case "secondary":
			pos[fmt.Sprintf("study.secondary_outcomes[%d]", len(p.Study.SecondaryOutcomes))] = at(t, r, "measure")
			p.Study.SecondaryOutcomes = append(p.Study.SecondaryOutcomes, o)
		default:
			l.fail(t.sheet.name, r.n, t.col("kind"), fmt.Sprintf("outcome kind %q is not primary or secondary", protocol.Clip(r.cells["kind"])), "write primary or secondary")
		}
	}

	t = tables["Arms"]
	for _, r := range t.rows {
		pos[fmt.Sprintf("study.arms[%d]", len(p.Study.Arms))] = at(t, r, "oid")
		p.Study.Arms = append(p.Study.Arms, protocol.Arm{OID: r.cells["oid"], Name: r.cells["name"], Description: r.cells["description"]})
	}

	t = tables["Events"]
	pos["events"] = xlsxPos{sheet: t.sheet.name, col: t.col("forms")}
	for _, r := range t.rows {
		e := protocol.Event{OID: r.cells["oid"], Name: r.cells["name"], Type: protocol.EventType(strings.ToLower(r.cells["type"])),
			Day: l.intCell(t, r, "day"), WindowBefore: l.intCell(t, r, "before"), WindowAfter: l.intCell(t, r, "after"),
			Repeatable: l.boolCell(t, r, "repeatable"), Forms: splitList(r.cells["forms"]),
			VisitDate: r.cells["visitdate"], WindowHard: l.boolCell(t, r, "windowhard")}
		pos[fmt.Sprintf("events[%d]", len(p.Events))] = at(t, r, "oid")
		pos[fmt.Sprintf("events[%d].forms", len(p.Events))] = at(t, r, "forms")
		p.Events = append(p.Events, e)
	}

	t = tables["Forms"]
	formIdx := map[string]int{}
	for _, r := range t.rows {
		oid := r.cells["oid"]
		if oid == "" {
			l.fail(t.sheet.name, r.n, t.col("oid"), "the form has no OID", "give each form a unique OID such as VS")
			continue
		}
		if _, dup := formIdx[oid]; dup {
			l.fail(t.sheet.name, r.n, t.col("oid"), fmt.Sprintf("form %q is listed twice", oid), "keep one row per form")
			continue
		}
		formIdx[oid] = len(p.Forms)
		pos[fmt.Sprintf("forms[%d]", len(p.Forms))] = at(t, r, "oid")
		p.Forms = append(p.Forms, protocol.Form{OID: oid, Name: r.cells["name"], Safety: l.boolCell(t, r, "safety"),
			EndOfStudy: l.boolCell(t, r, "endofstudy"), SeriousItem: r.cells["seriousitem"]})
	}

	t = tables["Groups"]
	type gkey struct{ form, group string }
	groupIdx := map[gkey]int{}
	for _, r := range t.rows {
		fo := r.cells["form"]
		fi, ok := formIdx[fo]
		if !ok {
			l.fail(t.sheet.name, r.n, t.col("form"), fmt.Sprintf("form %q is not on sheet Forms", protocol.Clip(fo)), "add the form to sheet Forms or correct the OID")
			continue
		}
		oid := r.cells["oid"]
		k := gkey{fo, oid}
		if _, dup := groupIdx[k]; dup {
			l.fail(t.sheet.name, r.n, t.col("oid"), fmt.Sprintf("group %q of form %q is listed twice", oid, fo), "keep one row per group")
			continue
		}
		fm := &p.Forms[fi]
		groupIdx[k] = len(fm.Groups)
		pos[fmt.Sprintf("forms[%d].groups[%d]", fi, len(fm.Groups))] = at(t, r, "oid")
		fm.Groups = append(fm.Groups, protocol.ItemGroup{OID: oid, Name: r.cells["name"], Repeating: l.boolCell(t, r, "repeating"),
			MaxRepeats: l.intCell(t, r, "maxrepeats")})
	}

	t = tables["Items"]
	for _, r := range t.rows {
		fo, gro := r.cells["form"], r.cells["group"]
		fi, ok := formIdx[fo]
		if !ok {
			l.fail(t.sheet.name, r.n, t.col("form"), fmt.Sprintf("form %q is not on sheet Forms", protocol.Clip(fo)), "add the form to sheet Forms or correct the OID")
			continue
		}
		gi, ok := groupIdx[gkey{fo, gro}]
		if !ok {
			l.fail(t.sheet.name, r.n, t.col("group"), fmt.Sprintf("group %q of form %q is not on sheet Groups", protocol.Clip(gro), fo),
				"add the group to sheet Groups or correct the OID")
			continue
		}
		it := protocol.Item{OID: r.cells["oid"], Label: r.cells["label"], Type: protocol.DataType(strings.ToLower(r.cells["type"])),
			Digits: l.intCell(t, r, "digits"), Unit: r.cells["unit"], CodeList: r.cells["codelist"],
			Required: l.boolCell(t, r, "required"), MaxLength: l.intCell(t, r, "maxlength"), ShowIf: r.cells["showif"],
			Section: r.cells["section"], Note: r.cells["note"], Annotation: r.cells["annotation"], Derive: r.cells["derive"],
			Pattern: r.cells["pattern"], PatternMessage: r.cells["patternmessage"]}
		if r.cells["hardmin"] != "" || r.cells["hardmax"] != "" {
			it.Hard = &protocol.Range{Min: r.cells["hardmin"], Max: r.cells["hardmax"]}
		}
		if r.cells["softmin"] != "" || r.cells["softmax"] != "" {
			it.Soft = &protocol.Range{Min: r.cells["softmin"], Max: r.cells["softmax"]}
		}
		g := &p.Forms[fi].Groups[gi]
		path := fmt.Sprintf("forms[%d].groups[%d].items[%d]", fi, gi, len(g.Items))
		pos[path] = at(t, r, "oid")
		for _, f := range [][2]string{{"show_if", "showif"}, {"codelist", "codelist"}, {"hard", "hardmin"}, {"soft", "softmin"},
			{"type", "type"}, {"digits", "digits"}, {"label", "label"}, {"max_length", "maxlength"}, {"derive", "derive"},
			{"pattern", "pattern"}, {"pattern_message", "patternmessage"}} {
			pos[path+"."+f[0]] = at(t, r, f[1])
		}
		g.Items = append(g.Items, it)
	}

	t = tables["CodeLists"]
	clIdx := map[string]int{}
	clFirst := map[string]xlsxPos{}
	for _, r := range t.rows {
		oid := r.cells["oid"]
		if oid == "" {
			l.fail(t.sheet.name, r.n, t.col("oid"), "the row has no code list OID", "repeat the code list OID on every row of its codes")
			continue
		}
		i, ok := clIdx[oid]
		if !ok {
			i = len(p.CodeLists)
			clIdx[oid] = i
			clFirst[oid] = at(t, r, "oid")
			p.CodeLists = append(p.CodeLists, protocol.CodeList{OID: oid, Name: r.cells["name"]})
		}
		cl := &p.CodeLists[i]
		if n := r.cells["name"]; n != "" && cl.Name != n {
			if cl.Name == "" {
				cl.Name = n
			} else {
				l.fail(t.sheet.name, r.n, t.col("name"), fmt.Sprintf("code list %q is named %q here and %q above", oid, protocol.Clip(n), protocol.Clip(cl.Name)),
					"use one name per code list (or leave the name empty after its first row)")
			}
		}
		code, decode := r.cells["code"], r.cells["decode"]
		if code == "" {
			if decode != "" {
				l.fail(t.sheet.name, r.n, t.col("code"), fmt.Sprintf("decode %q has no code", protocol.Clip(decode)), "fill in the code")
			}
			continue
		}
		for _, ci := range cl.Items {
			if ci.Code == code {
				l.fail(t.sheet.name, r.n, t.col("code"), fmt.Sprintf("code %q appears twice in code list %q", code, oid), "give each code its own value")
			}
		}
		cl.Items = append(cl.Items, protocol.CodeItem{Code: code, Decode: decode})
	}

	t = tables["Checks"]
	for _, r := range t.rows {
		fo := r.cells["form"]
		fi, ok := formIdx[fo]
		if !ok {
			l.fail(t.sheet.name, r.n, t.col("form"), fmt.Sprintf("form %q is not on sheet Forms", protocol.Clip(fo)), "add the form to sheet Forms or correct the OID")
			continue
		}
		fm := &p.Forms[fi]
		path := fmt.Sprintf("forms[%d].checks[%d]", fi, len(fm.Checks))
		pos[path] = at(t, r, "oid")
		pos[path+".condition"] = at(t, r, "condition")
		pos[path+".items"] = at(t, r, "items")
		fm.Checks = append(fm.Checks, protocol.EditCheck{OID: r.cells["oid"], Condition: r.cells["condition"],
			Severity: protocol.Severity(strings.ToLower(r.cells["severity"])), Message: r.cells["message"], Items: splitList(r.cells["items"])})
	}
	if len(l.errs) > 0 {
		return nil
	}
	protocol.Normalize(p)
	for i, cl := range p.CodeLists {
		if ps, ok := clFirst[cl.OID]; ok {
			pos[fmt.Sprintf("codelists[%d]", i)] = ps
		}
	}
	loc := func(path string) protocol.LoadError {
		ps, _, ok := protocol.LongestPrefix(pos, path)
		if !ok {
			return protocol.LoadError{}
		}
		return protocol.LoadError{Sheet: ps.sheet, Row: ps.row, Column: ps.col}
	}
	ws, err := protocol.CompileLocated(p, l.name, loc)
	if err != nil {
		if le, ok := err.(*protocol.LoadError); ok {
			l.errs = append(l.errs, le.All()...)
		} else {
			l.errs = append(l.errs, &protocol.LoadError{File: l.name, Msg: err.Error()})
		}
		return nil
	}
	l.warnings = append(l.warnings, ws...)
	return p
}
