package protocol

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// REDCap data dictionary columns, by the canonical key used in this file.
const (
	rcVar        = "var"
	rcForm       = "form"
	rcSection    = "section"
	rcType       = "type"
	rcLabel      = "label"
	rcChoices    = "choices"
	rcNote       = "note"
	rcValidation = "validation"
	rcMin        = "min"
	rcMax        = "max"
	rcIdentifier = "identifier"
	rcBranching  = "branching"
	rcRequired   = "required"
	rcAlignment  = "alignment"
	rcQuestion   = "question"
	rcMatrix     = "matrix"
	rcRanking    = "ranking"
	rcAnnotation = "annotation"
)

// redcapColumns lists the 18 standard columns in export order, with the
// header REDCap writes.
var redcapColumns = []struct{ key, header string }{
	{rcVar, "Variable / Field Name"},
	{rcForm, "Form Name"},
	{rcSection, "Section Header"},
	{rcType, "Field Type"},
	{rcLabel, "Field Label"},
	{rcChoices, "Choices, Calculations, OR Slider Labels"},
	{rcNote, "Field Note"},
	{rcValidation, "Text Validation Type OR Show Slider Number"},
	{rcMin, "Text Validation Min"},
	{rcMax, "Text Validation Max"},
	{rcIdentifier, "Identifier?"},
	{rcBranching, "Branching Logic (Show field only if...)"},
	{rcRequired, "Required Field?"},
	{rcAlignment, "Custom Alignment"},
	{rcQuestion, "Question Number (surveys only)"},
	{rcMatrix, "Matrix Group Name"},
	{rcRanking, "Matrix Ranking?"},
	{rcAnnotation, "Field Annotation"},
}

func redcapHeaderName(key string) string {
	for _, c := range redcapColumns {
		if c.key == key {
			return c.header
		}
	}
	return key
}

// redcapHeaderKey recognises the header variants of real exports
// (REDCap's own, the API's snake_case names, older short forms).
func redcapHeaderKey(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	switch {
	case s == "variablefieldname" || s == "fieldname" || s == "variable" || s == "variablename":
		return rcVar
	case s == "formname" || s == "form" || s == "instrument" || s == "instrumentname":
		return rcForm
	case strings.HasPrefix(s, "sectionheader"):
		return rcSection
	case s == "fieldtype" || s == "type":
		return rcType
	case s == "fieldlabel" || s == "label":
		return rcLabel
	case strings.HasPrefix(s, "choices") || strings.HasPrefix(s, "selectchoices"):
		return rcChoices
	case s == "fieldnote" || s == "note":
		return rcNote
	case strings.HasPrefix(s, "textvalidationtype") || s == "validation" || s == "validationtype":
		return rcValidation
	case s == "textvalidationmin" || s == "validationmin" || s == "min":
		return rcMin
	case s == "textvalidationmax" || s == "validationmax" || s == "max":
		return rcMax
	case s == "identifier":
		return rcIdentifier
	case strings.HasPrefix(s, "branchinglogic"):
		return rcBranching
	case s == "requiredfield" || s == "required":
		return rcRequired
	case s == "customalignment":
		return rcAlignment
	case strings.HasPrefix(s, "questionnumber"):
		return rcQuestion
	case s == "matrixgroupname" || s == "matrixgroup":
		return rcMatrix
	case s == "matrixranking":
		return rcRanking
	case s == "fieldannotation" || s == "annotation":
		return rcAnnotation
	}
	return ""
}

// rcRow is one data row of a dictionary with its position.
type rcRow struct {
	row, line int
	cells     map[string]string
	tags      map[string]string
	checks    []string // @VT-CHECK values, in order
	annot     string
}

func (r *rcRow) get(key string) string { return r.cells[key] }

// redcapLoader holds the state of one LoadREDCap call.
type redcapLoader struct {
	name     string
	headers  map[string]string // key -> header text in the file
	warnings []Warning
	errs     []*LoadError
	// calcs are the translated calc fields by variable, calcWhy why the
	// others are not imported (see redcap_calc.go).
	calcs, calcWhy map[string]string
}

func (l *redcapLoader) warn(r *rcRow, key, msg string) {
	w := Warning{File: l.name, Column: l.col(key), Msg: msg}
	if r != nil {
		w.Row, w.Line = r.row, r.line
	}
	l.warnings = append(l.warnings, w)
}

func (l *redcapLoader) fail(r *rcRow, key, msg, fix string) {
	if len(l.errs) >= MaxLoadErrors {
		return
	}
	e := &LoadError{File: l.name, Column: l.col(key), Msg: msg, Fix: fix}
	if r != nil {
		e.Row, e.Line = r.row, r.line
	}
	l.errs = append(l.errs, e)
}

func (l *redcapLoader) col(key string) string {
	if key == "" {
		return ""
	}
	if h, ok := l.headers[key]; ok && h != "" {
		return h
	}
	return redcapHeaderName(key)
}

// sniffDelimiter picks the delimiter of the header row: of comma,
// semicolon and tab, the one that splits it into the most REDCap data
// dictionary columns (spreadsheet exports in some locales use semicolons
// or tabs, and REDCap's own header holds a comma in "Choices,
// Calculations, OR Slider Labels"); comma when none does.
func sniffDelimiter(b []byte) rune {
	best, bestN := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		cr := csv.NewReader(bytes.NewReader(b))
		cr.Comma = d
		cr.FieldsPerRecord = -1
		cr.LazyQuotes = true
		rec, err := cr.Read()
		if err != nil {
			continue
		}
		n := 0
		for _, h := range rec {
			if redcapHeaderKey(strings.TrimPrefix(h, "\ufeff")) != "" {
				n++
			}
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// LoadREDCap reads a REDCap data dictionary CSV. base, which may be nil,
// supplies the study metadata and the schedule of events, which a data
// dictionary does not carry; without it the study ID is derived from the
// file name and one event "EVENT_1" collects every form (as in a classic,
// non-longitudinal REDCap project). veritrial action tags (@VT-OID=,
// @VT-HARD-MIN= ...) in the Field Annotation carry what REDCap cannot
// express; docs/PROTOCOL.md lists them and what is not imported.
func LoadREDCap(r io.Reader, name string, base *Protocol) (*Protocol, []Warning, error) {
	b, err := ReadLimited(r, name)
	if err != nil {
		return nil, nil, err
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	l := &redcapLoader{name: name, headers: map[string]string{}}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil, &LoadError{File: name, Row: 1, Msg: "the data dictionary is empty",
			Fix: "export it from REDCap (Project Setup > Data Dictionary > Download) or run `protocol example --format redcap`"}
	}
	recs, lines, err := readCSV(b, false)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote) {
			recs, lines, err = readCSV(b, true)
			if err == nil {
				l.warn(&rcRow{row: 0, line: pe.Line}, "", "a cell holds a stray double quote; read leniently, check the cells of this line")
			}
		}
	}
	if err != nil {
		// The record that failed is the one after those read.
		return nil, l.warnings, csvError(name, len(recs)+1, err)
	}
	header := recs[0]
	width := len(header)
	for width > 0 && strings.TrimSpace(header[width-1]) == "" {
		width--
	}
	colKey := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			continue
		}
		k := redcapHeaderKey(h)
		if k == "" {
			l.warn(&rcRow{row: 1, line: 1}, "", fmt.Sprintf("column %d %q is not a REDCap data dictionary column: ignored", i+1, h))
			continue
		}
		if prev, dup := l.headers[k]; dup {
			return nil, nil, &LoadError{File: name, Row: 1, Line: 1, Column: h,
				Msg: fmt.Sprintf("column %q repeats column %q", h, prev), Fix: "delete one of the two columns"}
		}
		l.headers[k] = h
		colKey[i] = k
	}
	for _, k := range []string{rcVar, rcForm, rcType, rcLabel} {
		if _, ok := l.headers[k]; !ok {
			return nil, nil, &LoadError{File: name, Row: 1, Line: 1, Column: redcapHeaderName(k),
				Msg: fmt.Sprintf("the header row has no %q column", redcapHeaderName(k)),
				Fix: "the first row must be the REDCap data dictionary header: " + redcapHeaderList()}
		}
	}
	var rows []*rcRow
	for ri, cells := range recs[1:] {
		row := &rcRow{row: ri + 2, line: lines[ri+1], cells: make(map[string]string, len(l.headers))}
		empty := true
		for i, c := range cells {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			empty = false
			if i >= len(colKey) {
				l.fail(row, "", fmt.Sprintf("row has %d columns but the header has %d; cell %d holds %q", len(cells), len(header), i+1, Clip(c)),
					"remove the extra cell or quote the value that contains a comma")
				break
			}
			if colKey[i] != "" {
				row.cells[colKey[i]] = c
			}
		}
		if empty {
			continue
		}
		if len(cells) < width {
			l.fail(row, "", fmt.Sprintf("row has %d columns but the header has %d: the file looks cut short, or a cell's quotes do not match", len(cells), width),
				"export the data dictionary again from REDCap, or complete the row")
			continue
		}
		rows = append(rows, row)
	}
	if len(l.errs) > 0 {
		return nil, l.warnings, JoinLoadErrors(l.errs)
	}
	if len(rows) == 0 {
		return nil, l.warnings, &LoadError{File: name, Row: 2, Msg: "the data dictionary has a header but no fields",
			Fix: "add one row per field"}
	}
	p := l.build(rows, base)
	if len(l.errs) > 0 {
		return nil, l.warnings, JoinLoadErrors(l.errs)
	}
	return p, l.warnings, nil
}

// readCSV reads every record of a dictionary with the line each starts on;
// on an error, it returns the records read before it.
func readCSV(b []byte, lazy bool) ([][]string, []int, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comma = sniffDelimiter(b)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = lazy
	var recs [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return recs, nil, err
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
	if len(recs) == 0 {
		return nil, nil, &csv.ParseError{StartLine: 1, Line: 1, Err: errors.New("no header row")}
	}
	return recs, lines, nil
}

func redcapHeaderList() string {
	var hs []string
	for _, c := range redcapColumns {
		hs = append(hs, strconv.Quote(c.header))
	}
	return strings.Join(hs, ", ")
}

// Clip shortens s to 40 bytes and "..." for quoting input in a message.
func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func csvError(name string, row int, err error) error {
	le := &LoadError{File: name, Row: row, Msg: "malformed CSV: " + err.Error(),
		Fix: "save the file as CSV (comma separated, UTF-8) and quote cells that contain commas, quotes or line breaks"}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		le.Line = pe.Line
		le.Msg = "malformed CSV: " + pe.Err.Error()
		if pe.Column > 0 {
			le.Msg += fmt.Sprintf(" (character %d)", pe.Column)
		}
		if errors.Is(pe.Err, csv.ErrQuote) {
			le.Msg += fmt.Sprintf("; the quoted cell that starts on line %d is not closed: the file looks cut short", pe.StartLine)
		}
	}
	return le
}

// itemPos remembers where a definition came from, for Compile errors.
type itemPos struct {
	row *rcRow
	key string
}

// rcField is an imported field before the protocol is assembled.
type rcField struct {
	row  *rcRow
	item Item
}

var rcVarNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func (l *redcapLoader) build(rows []*rcRow, base *Protocol) *Protocol {
	p := &Protocol{}
	if base != nil {
		c := Clone(base)
		p.Study = c.Study
		p.Events = c.Events
		p.Randomization = c.Randomization
	} else {
		id := strings.TrimSuffix(filepath.Base(l.name), filepath.Ext(l.name))
		id = strings.ToUpper(sanitizeName(id, '-'))
		if id == "" {
			id = "REDCAP-IMPORT"
		}
		p.Study = Study{ID: id, Version: "1.0", Title: "Imported from REDCap data dictionary " + l.name}
		l.warn(nil, "", fmt.Sprintf("no base protocol: study ID %q, version 1.0 and title are placeholders and there are no outcomes or arms; load with a base protocol to set them", id))
	}
	// Pass 1: tags, variable names, variable -> OID map.
	varOID := map[string]string{}
	skipped := map[string]string{} // variable -> field type not imported
	seenVar := map[string]*rcRow{}
	oidRow := map[string]*rcRow{}
	for i, r := range rows {
		r.tags, r.annot = l.parseTags(r)
		v := r.get(rcVar)
		switch {
		case v == "":
			l.fail(r, rcVar, "the field has no variable name", "give it a unique lower-case name such as vs_sysbp")
			continue
		case !rcVarNameRE.MatchString(v):
			l.fail(r, rcVar, fmt.Sprintf("variable name %q is not valid", v), "use letters, digits and underscores, starting with a letter")
			continue
		}
		if prev, dup := seenVar[v]; dup {
			l.fail(r, rcVar, fmt.Sprintf("variable %q is already defined in row %d", v, prev.row), "rename one of them")
			continue
		}
		seenVar[v] = r
		if i == 0 {
			// The first field of a REDCap project is its record ID.
			continue
		}
		ft := strings.ToLower(r.get(rcType))
		switch ft {
		case "descriptive", "file", "sql":
			skipped[v] = ft
			continue
		}
		oid := v
		if t, ok := r.tags["OID"]; ok && t != "" {
			oid = t
		}
		if prev, dup := oidRow[oid]; dup {
			l.fail(r, rcAnnotation, fmt.Sprintf("item OID %q is already used by the field in row %d", oid, prev.row), "give each field its own @VT-OID")
			continue
		}
		oidRow[oid] = r
		varOID[v] = oid
	}
	if len(l.errs) > 0 {
		return nil
	}
	l.translateCalcs(rows[1:], varOID, skipped)
	first := rows[0]
	if _, ok := first.tags["RECORD-ID"]; !ok {
		l.warn(first, rcVar, fmt.Sprintf("field %q is the record ID (the first field of every REDCap project): not imported, subject pseudonyms are carried by the ledger", first.get(rcVar)))
	}

	// The first field's instrument may hold nothing else (REDCap projects
	// often start with an enrolment instrument holding the record ID only):
	// it is kept as a form without items, so that events naming it stay
	// valid, and reported.
	pos := map[string]itemPos{}
	recordForm := first.get(rcForm)
	alone := recordForm != ""
	for _, r := range rows[1:] {
		alone = alone && r.get(rcForm) != recordForm
	}
	if alone {
		p.Forms = append(p.Forms, Form{OID: recordForm, Name: humanize(recordForm)})
		if t, ok := first.tags["FORM-OID"]; ok && t != "" {
			p.Forms[0].OID = t
		}
		if t, ok := first.tags["FORM-NAME"]; ok {
			p.Forms[0].Name = t
		}
		formRoles(&p.Forms[0], first.tags)
		pos["forms[0]"] = itemPos{row: first, key: rcForm}
		l.warn(first, rcForm, fmt.Sprintf("instrument %q holds only the record ID field %q: kept as form %s with no items; add its fields to the dictionary, or remove the form from the events of the base protocol", recordForm, first.get(rcVar), p.Forms[0].OID))
	}

	// Pass 2: forms, groups, items.
	codeLists := map[string]*CodeList{}
	clRow := map[string]*rcRow{}
	var clOrder []string
	formIndex := map[string]int{}
	if alone {
		formIndex[recordForm] = 0
	}
	var curForm *Form
	var curFormKey string
	var curGroup *ItemGroup
	var curMatrix string
	var pendingSection string
	layout := map[string]int{}
	formRow := map[string]*rcRow{}

	for _, r := range rows[1:] {
		v := r.get(rcVar)
		fname := r.get(rcForm)
		if fname == "" {
			l.fail(r, rcForm, fmt.Sprintf("field %q has no form name", v), "fill in the Form Name (the instrument's unique name)")
			continue
		}
		for _, k := range []string{rcAlignment, rcQuestion, rcRanking} {
			if r.get(k) != "" {
				layout[k]++
			}
		}
		if fname != curFormKey {
			if _, again := formIndex[fname]; again {
				l.fail(r, rcForm, fmt.Sprintf("form %q started in row %d and appears again after another form", fname, formRow[fname].row),
					"keep the rows of each form together, as REDCap exports them")
				continue
			}
			p.Forms = append(p.Forms, Form{OID: fname, Name: humanize(fname)})
			formIndex[fname] = len(p.Forms) - 1
			formRow[fname] = r
			curFormKey = fname
			curForm = &p.Forms[len(p.Forms)-1]
			pos[fmt.Sprintf("forms[%d]", len(p.Forms)-1)] = itemPos{row: r, key: rcForm}
			curGroup = nil
			curMatrix = ""
			pendingSection = ""
		}
		curForm = &p.Forms[formIndex[fname]]
		fi := formIndex[fname]
		if t, ok := r.tags["FORM-OID"]; ok {
			curForm.OID = t
		}
		if t, ok := r.tags["FORM-NAME"]; ok {
			curForm.Name = t
		}
		formRoles(curForm, r.tags)
		for _, t := range r.checks {
			var ch EditCheck
			dec := json.NewDecoder(strings.NewReader(t))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ch); err != nil {
				l.fail(r, rcAnnotation, "@VT-CHECK is not a valid JSON edit check: "+err.Error(),
					`write @VT-CHECK={"oid":"VS.CHK1","condition":"[VS.DIABP] < [VS.SYSBP]","severity":"hard","message":"...","items":["VS.DIABP","VS.SYSBP"]}`)
				continue
			}
			ch.Condition = l.rewriteLogic(r, ch.Condition, varOID, skipped, true)
			curForm.Checks = append(curForm.Checks, ch)
			pos[fmt.Sprintf("forms[%d].checks[%d]", fi, len(curForm.Checks)-1)] = itemPos{row: r, key: rcAnnotation}
		}
		ft := strings.ToLower(r.get(rcType))
		section := r.get(rcSection)
		if kind, skip := skipped[v]; skip {
			msg := fmt.Sprintf("%s field %q not imported: ", kind, v)
			switch kind {
			case "calc":
				msg += fmt.Sprintf("calculation %q: %s", Clip(r.get(rcChoices)), l.calcWhy[v])
			case "descriptive":
				msg += "it displays text only and holds no data"
			case "file":
				msg += "file uploads are not trial data in veritrial; keep source documents in the site file"
			case "sql":
				msg += "dynamic SQL fields depend on the REDCap server"
			}
			if section != "" {
				msg += fmt.Sprintf("; its section header %q moves to the next field", Clip(section))
				if pendingSection == "" {
					pendingSection = section
				}
			}
			l.warn(r, rcType, msg)
			continue
		}
		oid, ok := varOID[v]
		if !ok {
			continue
		}
		// Group boundaries: a matrix group, a @VT-GROUP-OID, the end of a matrix.
		matrix := r.get(rcMatrix)
		gtag, hasG := r.tags["GROUP-OID"]
		switch {
		case hasG && (curGroup == nil || curGroup.OID != gtag):
			curForm.Groups = append(curForm.Groups, ItemGroup{OID: gtag, Name: humanize(gtag)})
			curGroup = &curForm.Groups[len(curForm.Groups)-1]
			curMatrix = matrix
		case !hasG && matrix != "" && matrix != curMatrix:
			curForm.Groups = append(curForm.Groups, ItemGroup{OID: matrix, Name: humanize(matrix)})
			curGroup = &curForm.Groups[len(curForm.Groups)-1]
			curMatrix = matrix
		case curGroup == nil || (matrix == "" && curMatrix != ""):
			goid := fname
			if n := len(curForm.Groups); n > 0 {
				goid = fmt.Sprintf("%s_%d", fname, n+1)
			}
			curForm.Groups = append(curForm.Groups, ItemGroup{OID: goid, Name: curForm.Name})
			curGroup = &curForm.Groups[len(curForm.Groups)-1]
			curMatrix = ""
		}
		gi := len(curForm.Groups) - 1
		if len(curGroup.Items) == 0 {
			pos[fmt.Sprintf("forms[%d].groups[%d]", fi, gi)] = itemPos{row: r, key: rcAnnotation}
		}
		if t, ok := r.tags["GROUP-NAME"]; ok {
			curGroup.Name = t
		}
		if _, ok := r.tags["REPEATING"]; ok {
			curGroup.Repeating = r.tags["REPEATING"] == "" || parseYes(r.tags["REPEATING"])
		}
		if t, ok := r.tags["MAX-REPEATS"]; ok {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				l.fail(r, rcAnnotation, fmt.Sprintf("@VT-MAX-REPEATS=%s is not a whole number", t), "write @VT-MAX-REPEATS=99")
			} else {
				curGroup.MaxRepeats = n
			}
		}

		it := Item{OID: oid, Label: r.get(rcLabel), Note: r.get(rcNote), Section: section}
		if it.Section == "" && pendingSection != "" {
			it.Section = pendingSection
		}
		pendingSection = ""
		if r.get(rcRequired) != "" {
			it.Required = parseYes(r.get(rcRequired))
		}
		annot := r.annot
		if parseYes(r.get(rcIdentifier)) {
			l.fail(r, rcIdentifier, fmt.Sprintf("field %q is marked as an identifier: the ledger holds pseudonymised data only, and every validator keeps a copy forever", v),
				"delete the row, as the site keeps who a subject is in its own records, linked by the subject's pseudonym; if the field identifies no one, clear its Identifier? cell")
			continue
		}
		l.fieldType(r, ft, &it, &annot, codeLists, clRow, &clOrder)
		it.Annotation = annot
		if t, ok := r.tags["UNIT"]; ok {
			it.Unit = t
		}
		if t, ok := r.tags["MAXLEN"]; ok {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				l.fail(r, rcAnnotation, fmt.Sprintf("@VT-MAXLEN=%s is not a whole number", t), "write @VT-MAXLEN=200")
			} else {
				it.MaxLength = n
			}
		}
		if t, ok := r.tags["DIGITS"]; ok {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				l.fail(r, rcAnnotation, fmt.Sprintf("@VT-DIGITS=%s is not a whole number", t), "write @VT-DIGITS=2")
			} else {
				it.Digits = n
			}
		}
		if t, ok := r.tags["TYPE"]; ok {
			it.Type = DataType(strings.ToLower(t))
		}
		if t, ok := r.tags["PATTERN"]; ok {
			it.Pattern, it.PatternMessage = t, ""
		}
		if t, ok := r.tags["PATTERN-MESSAGE"]; ok {
			it.PatternMessage = t
		}
		soft := &Range{Min: r.get(rcMin), Max: r.get(rcMax)}
		for _, b := range []*string{&soft.Min, &soft.Max} {
			switch strings.ToLower(*b) {
			case "today", "now":
				l.warn(r, rcMin, fmt.Sprintf("min/max %q of field %q not imported: ranges are fixed values in veritrial", *b, v))
				*b = ""
			default:
				*b = isoDateTime(*b)
			}
		}
		if ft == "slider" {
			// REDCap sliders are bounded, 0-100 unless the field sets its
			// min/max: those are hard limits.
			if it.Hard == nil {
				it.Hard = &Range{Min: "0", Max: "100"}
			}
			if soft.Min != "" {
				it.Hard.Min = soft.Min
			}
			if soft.Max != "" {
				it.Hard.Max = soft.Max
			}
			soft = nil
		}
		if soft != nil && (soft.Min != "" || soft.Max != "") {
			it.Soft = soft
		}
		hmin, okMin := r.tags["HARD-MIN"]
		hmax, okMax := r.tags["HARD-MAX"]
		if okMin || okMax {
			if it.Hard == nil {
				it.Hard = &Range{}
			}
			if okMin {
				it.Hard.Min = isoDateTime(hmin)
			}
			if okMax {
				it.Hard.Max = isoDateTime(hmax)
			}
		}
		if ft == "slider" && r.get(rcChoices) != "" {
			l.warn(r, rcChoices, fmt.Sprintf("slider field %q: slider labels %q not imported (the item takes %s values%s)", v, Clip(r.get(rcChoices)), it.Type, rangeWords(it.Hard)))
		}
		if bl := r.get(rcBranching); bl != "" {
			it.ShowIf = l.rewriteLogic(r, bl, varOID, skipped, false)
		}
		curGroup.Items = append(curGroup.Items, it)
		path := fmt.Sprintf("forms[%d].groups[%d].items[%d]", fi, gi, len(curGroup.Items)-1)
		pos[path] = itemPos{row: r, key: rcVar}
		if it.CodeList != "" {
			if _, ok := pos["codelists:"+it.CodeList]; !ok {
				pos["codelists:"+it.CodeList] = itemPos{row: r, key: rcChoices}
			}
		}
	}
	for _, k := range []string{rcAlignment, rcQuestion, rcRanking} {
		if n := layout[k]; n > 0 {
			l.warn(nil, k, fmt.Sprintf("%d field(s) have a value in this column: layout only, not imported", n))
		}
	}
	if len(l.errs) > 0 {
		return nil
	}
	for _, oid := range clOrder {
		p.CodeLists = append(p.CodeLists, *codeLists[oid])
	}
	if base == nil {
		ev := Event{OID: "EVENT_1", Name: "Event 1", Type: EventScheduled, Day: 1}
		for _, f := range p.Forms {
			ev.Forms = append(ev.Forms, f.OID)
		}
		p.Events = []Event{ev}
		l.warn(nil, "", "a data dictionary has no schedule of events: created one event EVENT_1 collecting every form; load with a base protocol to set the schedule")
	}
	Normalize(p)
	// Normalize sorts code lists: record their paths afterwards.
	for i, cl := range p.CodeLists {
		if ip, ok := pos["codelists:"+cl.OID]; ok {
			pos[fmt.Sprintf("codelists[%d]", i)] = ip
		}
	}
	loc := func(path string) LoadError {
		ip, rest, ok := LongestPrefix(pos, path)
		if !ok {
			if strings.HasPrefix(path, "events") || strings.HasPrefix(path, "study") {
				return LoadError{Column: "(base protocol " + path + ")"}
			}
			return LoadError{}
		}
		key := ip.key
		switch {
		case strings.HasPrefix(rest, "show_if"):
			key = rcBranching
		case strings.HasPrefix(rest, "codelist"):
			key = rcChoices
		case strings.HasPrefix(rest, "soft"):
			key = rcMin
		case strings.HasPrefix(rest, "label"):
			key = rcLabel
		case rest != "":
			key = rcAnnotation
		}
		return LoadError{Row: ip.row.row, Line: ip.row.line, Column: l.col(key)}
	}
	ws, err := CompileLocated(p, l.name, loc)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			l.errs = append(l.errs, le.All()...)
		} else {
			l.errs = append(l.errs, &LoadError{File: l.name, Msg: err.Error()})
		}
		return nil
	}
	l.warnings = append(l.warnings, ws...)
	return p
}

// rangeWords states a hard range for a warning: " from -1 to 101",
// " from 10", " up to 50", or nothing when there is none.
func rangeWords(r *Range) string {
	switch {
	case r == nil || r.Min == "" && r.Max == "":
		return ""
	case r.Max == "":
		return " from " + r.Min
	case r.Min == "":
		return " up to " + r.Max
	}
	return " from " + r.Min + " to " + r.Max
}

// fieldType maps the REDCap field type and validation onto it.
func (l *redcapLoader) fieldType(r *rcRow, ft string, it *Item, annot *string, cls map[string]*CodeList, clRow map[string]*rcRow, order *[]string) {
	v := r.get(rcVar)
	switch ft {
	case "text":
		l.validation(r, it, annot)
	case "notes":
		it.Type = TypeText
		if r.get(rcValidation) != "" {
			l.warn(r, rcValidation, fmt.Sprintf("notes field %q: validation %q ignored (REDCap does not apply it to notes)", v, r.get(rcValidation)))
		}
	case "radio", "dropdown", "checkbox":
		it.Type = TypeChoice
		if ft == "checkbox" {
			it.Type = TypeMultiChoice
		}
		codes, ok := l.parseChoices(r)
		if !ok {
			return
		}
		oid := "CL." + v
		if t, ok := r.tags["CODELIST"]; ok && t != "" {
			oid = t
		}
		name := it.Label
		if t, ok := r.tags["CODELIST-NAME"]; ok {
			name = t
		}
		l.addCodeList(r, oid, name, codes, cls, clRow, order)
		it.CodeList = oid
	case "yesno":
		it.Type = TypeYesNo
	case "truefalse":
		it.Type = TypeChoice
		oid := "TRUEFALSE"
		if t, ok := r.tags["CODELIST"]; ok && t != "" {
			oid = t
		}
		l.addCodeList(r, oid, "True / false", []CodeItem{{Code: "1", Decode: "True"}, {Code: "0", Decode: "False"}}, cls, clRow, order)
		it.CodeList = oid
	case "slider":
		it.Type = TypeInteger
	case "calc":
		l.calcField(r, it)
	case "":
		l.fail(r, rcType, fmt.Sprintf("field %q has no field type", v), "write one of text, notes, radio, dropdown, checkbox, yesno, truefalse, slider")
	default:
		it.Type = TypeText
		l.warn(r, rcType, fmt.Sprintf("field %q: unknown field type %q imported as free text", v, ft))
	}
}

var numberDPRE = regexp.MustCompile(`^number_(\d+)dp(_comma_decimal)?$`)

// validation maps a text field's validation type onto the item.
func (l *redcapLoader) validation(r *rcRow, it *Item, annot *string) {
	val := strings.ToLower(r.get(rcValidation))
	v := r.get(rcVar)
	it.Type = TypeText
	switch {
	case val == "":
	case val == "date_ymd" || val == "date_dmy" || val == "date_mdy":
		it.Type = TypeDate
	case strings.HasPrefix(val, "datetime_"):
		it.Type = TypeDateTime
	case val == "time" || val == "time_hh_mm_ss":
		it.Type = TypeTime
	case val == "integer" || val == "int":
		it.Type = TypeInteger
	case val == "number" || val == "float":
		it.Type = TypeDecimal
	case val == "number_comma_decimal":
		it.Type = TypeDecimal
		l.warn(r, rcValidation, fmt.Sprintf("field %q: %q values must be submitted with a decimal point, not a comma", v, val))
	case numberDPRE.MatchString(val):
		sm := numberDPRE.FindStringSubmatch(val)
		n, err := strconv.Atoi(sm[1])
		if err != nil || n < 1 || n > maxRedcapDP {
			l.fail(r, rcValidation, fmt.Sprintf("field %q: validation %q asks for %s decimal places", v, val, sm[1]),
				fmt.Sprintf("use number_1dp to number_%ddp", maxRedcapDP))
			return
		}
		it.Type = TypeDecimal
		it.Digits = n
		it.Pattern, it.PatternMessage = exactDecimalPattern(n)
		if sm[2] != "" {
			l.warn(r, rcValidation, fmt.Sprintf("field %q: %q values must be submitted with a decimal point, not a comma", v, val))
		}
	case redcapIdentifierValidation[val]:
		l.fail(r, rcValidation, fmt.Sprintf("field %q is validated as %s: it holds a personal identifier, and the ledger holds pseudonymised data only, every validator keeping a copy forever", v, val),
			"delete the row: the site keeps who a subject is in its own records, linked by the subject's pseudonym")
	case redcapPatterns[val].pattern != "":
		it.Pattern, it.PatternMessage = redcapPatterns[val].pattern, redcapPatterns[val].message
		if val == "email" || strings.HasPrefix(val, "phone") {
			l.warn(r, rcValidation, fmt.Sprintf("field %q: %s validation imported as a pattern; an e-mail address or phone number usually identifies a person, and the ledger keeps every value forever: keep the field only if it identifies no subject (a site's contact, say)", v, val))
		}
	case val == "time_mm_ss":
		*annot = joinAnnot(*annot, "[REDCap validation time_mm_ss]")
		l.warn(r, rcValidation, fmt.Sprintf("field %q: validation time_mm_ss (minutes:seconds) imported as text: veritrial times are HH:MM[:SS]; the pattern is not enforced", v))
	case knownTextValidation[val]:
		*annot = joinAnnot(*annot, "[REDCap validation "+val+"]")
		l.warn(r, rcValidation, fmt.Sprintf("field %q: validation %q imported as free text; the name is kept in the annotation but the pattern is not enforced", v, val))
	default:
		*annot = joinAnnot(*annot, "[REDCap validation "+val+"]")
		l.warn(r, rcValidation, fmt.Sprintf("field %q: unknown validation type %q imported as free text; the pattern is not enforced", v, val))
	}
}

// knownTextValidation lists REDCap's text validations that veritrial
// keeps by name only.
var knownTextValidation = map[string]bool{
	"postalcode_french": true, "postalcode_uk": true, "signature": true, "number_to_words": true,
}

// redcapIdentifierValidation lists REDCap's text validations for personal
// identifiers (social security and medical record numbers).
var redcapIdentifierValidation = map[string]bool{"ssn": true, "mrn_10d": true, "mrn_generic": true, "vmrn": true}

// maxRedcapDP is the most decimal places a REDCap number_Ndp validation
// names.
const maxRedcapDP = 4

// redcapPatterns are the REDCap text validations veritrial enforces as an
// item pattern (RE2 syntax, matching the whole value, as REDCap's own
// expressions do), with the words a site sees when a value does not match.
var redcapPatterns = map[string]struct{ pattern, message string }{
	"email":                {`[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}`, "an e-mail address such as name@example.org"},
	"phone":                {`\(?([2-9]0[1-9]|[2-9]1[02-9]|[2-9][2-9][0-9])\)?\s*([.-]\s*)?[2-9][0-9]{2}\s*([.-]\s*)?[0-9]{4}(\s*(#|x\.?|ext\.?|extension)\s*[0-9]+)?`, "a North American phone number such as (555) 555-0123"},
	"phone_australia":      {`(\(0[2-8]\)|0[2-8])\s*[0-9]{4}\s*[0-9]{4}`, "an Australian phone number such as (02) 5550 1234"},
	"zipcode":              {`[0-9]{5}(-[0-9]{4})?`, "a US ZIP code such as 02139 or 02139-4307"},
	"postalcode_australia": {`[0-9]{4}`, "an Australian postcode of 4 digits"},
	"postalcode_canada":    {`[ABCEGHJKLMNPRSTVXYabceghjklmnprstvxy][0-9][A-Za-z]\s*[0-9][A-Za-z][0-9]`, "a Canadian postal code such as K1A 0B1"},
	"postalcode_germany":   {`[0-9]{5}`, "a German postcode of 5 digits"},
	"alpha_only":           {`[A-Za-z]+`, "letters only (A to Z)"},
	"letters_only":         {`[A-Za-z]+`, "letters only (A to Z)"},
}

// exactDecimalPattern is the pattern and message of REDCap's number_Ndp
// validation: exactly n decimal places.
func exactDecimalPattern(n int) (pattern, message string) {
	places := "places"
	if n == 1 {
		places = "place"
	}
	return `-?[0-9]+\.[0-9]{` + strconv.Itoa(n) + `}`, fmt.Sprintf("a number with exactly %d decimal %s", n, places)
}

func joinAnnot(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func parseYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "1", "true", "x":
		return true
	}
	return false
}

// parseChoices reads "1, Yes | 0, No".
func (l *redcapLoader) parseChoices(r *rcRow) ([]CodeItem, bool) {
	raw := r.get(rcChoices)
	v := r.get(rcVar)
	if raw == "" {
		l.fail(r, rcChoices, fmt.Sprintf("field %q has no choices", v), `write the choices as "1, Yes | 0, No"`)
		return nil, false
	}
	var out []CodeItem
	seen := map[string]bool{}
	for _, part := range strings.Split(raw, "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, decode, ok := strings.Cut(part, ",")
		code, decode = strings.TrimSpace(code), strings.TrimSpace(decode)
		if !ok {
			l.warn(r, rcChoices, fmt.Sprintf("field %q: choice %q has no comma; used as both code and label", v, Clip(part)))
			decode = code
		}
		if code == "" {
			l.fail(r, rcChoices, fmt.Sprintf("field %q: choice %q has an empty code", v, Clip(part)), `write each choice as "code, label"`)
			return nil, false
		}
		if seen[code] {
			l.fail(r, rcChoices, fmt.Sprintf("field %q: code %q appears twice", v, code), "give each choice its own code")
			return nil, false
		}
		seen[code] = true
		out = append(out, CodeItem{Code: code, Decode: decode})
	}
	if len(out) == 0 {
		l.fail(r, rcChoices, fmt.Sprintf("field %q has no choices", v), `write the choices as "1, Yes | 0, No"`)
		return nil, false
	}
	return out, true
}

func (l *redcapLoader) addCodeList(r *rcRow, oid, name string, codes []CodeItem, cls map[string]*CodeList, clRow map[string]*rcRow, order *[]string) {
	if prev, ok := cls[oid]; ok {
		same := len(prev.Items) == len(codes)
		for i := 0; same && i < len(codes); i++ {
			same = prev.Items[i] == codes[i]
		}
		if !same {
			l.fail(r, rcChoices, fmt.Sprintf("code list %q has different choices than in row %d", oid, clRow[oid].row),
				"make the choices identical or give this field its own @VT-CODELIST")
		}
		return
	}
	cls[oid] = &CodeList{OID: oid, Name: name, Items: codes}
	clRow[oid] = r
	*order = append(*order, oid)
}

// rewriteLogic rewrites [variable] to [OID] in REDCap branching logic.
// Logic that uses what veritrial cannot evaluate (event-prefixed fields,
// checkbox options, smart variables, fields not imported) is dropped with
// a warning and "" is returned.
func (l *redcapLoader) rewriteLogic(r *rcRow, logic string, varOID map[string]string, skipped map[string]string, check bool) string {
	var b strings.Builder
	what := "branching logic"
	key := rcBranching
	if check {
		what = "@VT-CHECK condition"
		key = rcAnnotation
	}
	drop := func(why string) string {
		l.warn(r, key, fmt.Sprintf("field %q: %s %q not imported: %s; the field is always shown", r.get(rcVar), what, Clip(logic), why))
		return ""
	}
	for i := 0; i < len(logic); i++ {
		c := logic[i]
		switch c {
		case '"', '\'':
			j := strings.IndexByte(logic[i+1:], c)
			if j < 0 {
				b.WriteString(logic[i:])
				return b.String()
			}
			b.WriteByte(c)
			b.WriteString(isoDateTime(logic[i+1 : i+1+j]))
			b.WriteByte(c)
			i += j + 1
			continue
		case '[':
			j := strings.IndexByte(logic[i:], ']')
			if j < 0 {
				b.WriteString(logic[i:])
				return b.String()
			}
			name := strings.TrimSpace(logic[i+1 : i+j])
			next := i + j + 1
			if next < len(logic) && logic[next] == '[' {
				if check {
					break
				}
				return drop("the [event_name][variable] syntax of longitudinal projects is not supported")
			}
			if v, code, ok := checkboxRef(name); ok && !check {
				if kind, skip := skipped[v]; skip {
					return drop(fmt.Sprintf("it refers to %s field %q, which is not imported", kind, v))
				}
				if oid, known := varOID[v]; known {
					b.WriteString("[" + oid + "(" + code + ")]")
					i = next - 1
					continue
				}
			}
			if strings.ContainsAny(name, "(:-") {
				if check {
					break
				}
				return drop(fmt.Sprintf("[%s] (smart variable or unknown checkbox field) is not supported", name))
			}
			if kind, ok := skipped[name]; ok {
				return drop(fmt.Sprintf("it refers to %s field %q, which is not imported", kind, name))
			}
			if oid, ok := varOID[name]; ok {
				name = oid
			}
			b.WriteString("[" + name + "]")
			i = next - 1
			continue
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// checkboxRef splits a REDCap checkbox option reference "meds(3)" into
// the variable and the code.
func checkboxRef(name string) (variable, code string, ok bool) {
	v, rest, found := strings.Cut(name, "(")
	if !found || !strings.HasSuffix(rest, ")") || !rcVarNameRE.MatchString(v) {
		return "", "", false
	}
	code = strings.TrimSuffix(rest, ")")
	if code == "" || strings.ContainsAny(code, "()[]:") {
		return "", "", false
	}
	return v, code, true
}

// redcapDateTimeRE matches a datetime as REDCap writes it, with a space
// between date and time.
var redcapDateTimeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?$`)

// isoDateTime rewrites a REDCap datetime "2024-01-15 13:45" as veritrial's
// ISO 8601 "2024-01-15T13:45"; any other text is returned as it is.
func isoDateTime(s string) string {
	if redcapDateTimeRE.MatchString(s) {
		return s[:10] + "T" + s[11:]
	}
	return s
}

var vtTagRE = regexp.MustCompile(`@VT-([A-Z][A-Z0-9-]*)`)

// parseTags extracts the veritrial action tags of the Field Annotation and
// returns them with the remaining annotation text.
func (l *redcapLoader) parseTags(r *rcRow) (map[string]string, string) {
	a := r.get(rcAnnotation)
	if !strings.Contains(a, "@VT-") {
		return nil, a
	}
	tags := map[string]string{}
	var rest strings.Builder
	i := 0
	for {
		loc := vtTagRE.FindStringSubmatchIndex(a[i:])
		if loc == nil {
			rest.WriteString(a[i:])
			break
		}
		rest.WriteString(a[i : i+loc[0]])
		name := a[i+loc[2] : i+loc[3]]
		j := i + loc[1]
		val := ""
		if j < len(a) && a[j] == '=' {
			j++
			switch {
			case j < len(a) && (a[j] == '"' || a[j] == '{'):
				dec := json.NewDecoder(strings.NewReader(a[j:]))
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					l.fail(r, rcAnnotation, fmt.Sprintf("@VT-%s value is not valid: %v", name, err),
						`quote values with spaces as JSON strings: @VT-UNIT="mL/min/1.73m2"`)
					return tags, strings.TrimSpace(rest.String())
				}
				n := int(dec.InputOffset())
				if a[j] == '"' {
					_ = json.Unmarshal(raw, &val)
				} else {
					val = string(raw)
				}
				j += n
			default:
				k := j
				for k < len(a) && !unicode.IsSpace(rune(a[k])) {
					k++
				}
				val = a[j:k]
				j = k
			}
		}
		if name == "CHECK" {
			r.checks = append(r.checks, val)
		} else if !knownVTTags[name] {
			l.warn(r, rcAnnotation, fmt.Sprintf("unknown action tag @VT-%s ignored", name))
		} else if _, dup := tags[name]; dup {
			l.fail(r, rcAnnotation, fmt.Sprintf("action tag @VT-%s appears twice", name), "keep one")
		} else {
			tags[name] = val
		}
		i = j
	}
	return tags, strings.TrimSpace(rest.String())
}

var knownVTTags = map[string]bool{
	"OID": true, "TYPE": true, "DIGITS": true, "UNIT": true, "MAXLEN": true, "HARD-MIN": true, "HARD-MAX": true,
	"CODELIST": true, "CODELIST-NAME": true, "GROUP-OID": true, "GROUP-NAME": true, "REPEATING": true,
	"MAX-REPEATS": true, "FORM-OID": true, "FORM-NAME": true, "CHECK": true, "RECORD-ID": true,
	"PATTERN": true, "PATTERN-MESSAGE": true, "SAFETY": true, "END-OF-STUDY": true, "SERIOUS-ITEM": true,
}

// formRoles sets what the form-level tags @VT-SAFETY, @VT-END-OF-STUDY
// and @VT-SERIOUS-ITEM= among tags say of f.
func formRoles(f *Form, tags map[string]string) {
	if t, ok := tags["SAFETY"]; ok {
		f.Safety = t == "" || parseYes(t)
	}
	if t, ok := tags["END-OF-STUDY"]; ok {
		f.EndOfStudy = t == "" || parseYes(t)
	}
	if t, ok := tags["SERIOUS-ITEM"]; ok {
		f.SeriousItem = t
	}
}

// humanize turns "vital_signs" into "Vital signs".
func humanize(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", " "))
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// sanitizeName keeps letters, digits and underscores, replacing the rest
// with sep and collapsing runs.
func sanitizeName(s string, sep byte) string {
	var b strings.Builder
	lastSep := true
	for _, r := range s {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			lastSep = false
		} else if !lastSep {
			b.WriteByte(sep)
			lastSep = true
		}
	}
	return strings.TrimRight(b.String(), string(sep))
}
