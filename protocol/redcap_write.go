package protocol

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WriteREDCap writes p as a REDCap data dictionary (the 18 standard
// columns, CRLF line ends as REDCap exports). A first field record_id is
// added as REDCap requires; what REDCap cannot express (OIDs, hard ranges,
// units, groups, edit checks ...) is carried in @VT- action tags so that
// LoadREDCap with p as base gives back p's fingerprint. Study metadata and
// events are not written: they come from the base protocol.
func WriteREDCap(w io.Writer, p *Protocol) error {
	if p == nil {
		return fmt.Errorf("protocol: WriteREDCap of nil protocol")
	}
	c := Clone(p)
	Normalize(c)
	if len(c.Forms) == 0 {
		return fmt.Errorf("protocol: a REDCap data dictionary needs at least one form")
	}
	cls := map[string]*CodeList{}
	for i := range c.CodeLists {
		cls[c.CodeLists[i].OID] = &c.CodeLists[i]
	}
	usedVar := map[string]bool{}
	oidVar := map[string]string{}
	for _, f := range c.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				oidVar[it.OID] = uniqueName(redcapName(it.OID), usedVar)
			}
		}
	}
	recordID := uniqueName("record_id", usedVar)
	usedForm := map[string]bool{}

	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := make([]string, len(redcapColumns))
	for i, col := range redcapColumns {
		header[i] = col.header
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	first := true
	for _, f := range c.Forms {
		base := f.Name
		if base == "" {
			base = f.OID
		}
		fname := uniqueName(redcapName(base), usedForm)
		empty := !slices.ContainsFunc(f.Groups, func(g ItemGroup) bool { return len(g.Items) > 0 })
		if first {
			row := map[string]string{rcVar: recordID, rcForm: fname, rcType: "text", rcLabel: "Subject ID",
				rcAnnotation: "@VT-RECORD-ID"}
			if empty {
				// A first form without items is the record ID's instrument.
				row[rcAnnotation] = strings.Join(append([]string{row[rcAnnotation]}, formTags(&f)...), " ")
			}
			if err := writeRCRow(cw, row); err != nil {
				return err
			}
		}
		if empty && !first {
			return fmt.Errorf("protocol: form %s has no items: a REDCap data dictionary can hold an empty form only as its first, the record ID's", f.OID)
		}
		first = false
		firstInForm := true
		for _, g := range f.Groups {
			for k, it := range g.Items {
				var tags []string
				if firstInForm {
					tags = append(tags, formTags(&f)...)
					for _, ch := range f.Checks {
						b, err := jsonNoHTML(ch)
						if err != nil {
							return err
						}
						tags = append(tags, "@VT-CHECK="+string(b))
					}
					firstInForm = false
				}
				if k == 0 {
					tags = append(tags, "@VT-GROUP-OID="+tagValue(g.OID), "@VT-GROUP-NAME="+tagValue(g.Name))
					if g.Repeating {
						tags = append(tags, "@VT-REPEATING")
					}
					if g.MaxRepeats != 0 {
						tags = append(tags, "@VT-MAX-REPEATS="+strconv.Itoa(g.MaxRepeats))
					}
				}
				row, err := redcapItemRow(it, cls, oidVar, &tags)
				if err != nil {
					return err
				}
				row[rcForm] = fname
				annot := it.Annotation
				if strings.Contains(annot, "[identifier]") {
					row[rcIdentifier] = "y"
					annot = strings.TrimSpace(strings.ReplaceAll(annot, "[identifier]", ""))
				}
				row[rcAnnotation] = strings.TrimSpace(strings.Join(tags, " ") + " " + annot)
				if err := writeRCRow(cw, row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeRCRow(cw *csv.Writer, row map[string]string) error {
	rec := make([]string, len(redcapColumns))
	for i, col := range redcapColumns {
		rec[i] = row[col.key]
	}
	return cw.Write(rec)
}

// redcapItemRow fills the REDCap columns of one item and appends the
// action tags it needs.
func redcapItemRow(it Item, cls map[string]*CodeList, oidVar map[string]string, tags *[]string) (map[string]string, error) {
	v := oidVar[it.OID]
	row := map[string]string{rcVar: v, rcLabel: it.Label, rcNote: it.Note, rcSection: it.Section}
	if v != it.OID {
		*tags = append(*tags, "@VT-OID="+tagValue(it.OID))
	}
	if it.Required {
		row[rcRequired] = "y"
	}
	row[rcType] = "text"
	// patternDone: the validation written carries the item's pattern.
	patternDone := it.Pattern == ""
	switch it.Type {
	case TypeText:
		if name := redcapPatternName(it); name != "" {
			row[rcValidation], patternDone = name, true
		}
	case TypeInteger:
		row[rcValidation] = "integer"
	case TypeDecimal:
		row[rcValidation] = "number"
		if it.Digits >= 1 && it.Digits <= maxRedcapDP {
			if p, m := exactDecimalPattern(it.Digits); it.Pattern == p && it.PatternMessage == m {
				row[rcValidation], patternDone = fmt.Sprintf("number_%ddp", it.Digits), true
			}
		}
	case TypeDate:
		row[rcValidation] = "date_ymd"
	case TypeDateTime:
		row[rcValidation] = "datetime_ymd"
	case TypeTime:
		row[rcValidation] = "time"
	case TypeYesNo:
		row[rcType] = "yesno"
	case TypeChoice, TypeMultiChoice:
		row[rcType] = "radio"
		if it.Type == TypeMultiChoice {
			row[rcType] = "checkbox"
		}
		cl, ok := cls[it.CodeList]
		if !ok || len(cl.Items) == 0 {
			return nil, fmt.Errorf("protocol: item %s uses code list %q, which is missing or empty", it.OID, it.CodeList)
		}
		if it.Type == TypeChoice && len(cl.Items) > 4 {
			row[rcType] = "dropdown"
		}
		parts := make([]string, len(cl.Items))
		for i, ci := range cl.Items {
			if strings.Contains(ci.Code, ",") || strings.Contains(ci.Code, "|") || strings.Contains(ci.Decode, "|") {
				return nil, fmt.Errorf("protocol: code %q of code list %s contains ',' or '|', which REDCap choices cannot hold", ci.Code, cl.OID)
			}
			parts[i] = ci.Code + ", " + ci.Decode
		}
		row[rcChoices] = strings.Join(parts, " | ")
		*tags = append(*tags, "@VT-CODELIST="+tagValue(cl.OID), "@VT-CODELIST-NAME="+tagValue(cl.Name))
	default:
		// partial_date and any other type REDCap has no validation for.
		*tags = append(*tags, "@VT-TYPE="+tagValue(string(it.Type)))
	}
	if it.Digits != 0 && !strings.HasPrefix(row[rcValidation], "number_") {
		*tags = append(*tags, "@VT-DIGITS="+strconv.Itoa(it.Digits))
	}
	if !patternDone {
		*tags = append(*tags, "@VT-PATTERN="+tagValue(it.Pattern))
		if it.PatternMessage != "" {
			*tags = append(*tags, "@VT-PATTERN-MESSAGE="+tagValue(it.PatternMessage))
		}
	}
	if it.Unit != "" {
		*tags = append(*tags, "@VT-UNIT="+tagValue(it.Unit))
	}
	if it.MaxLength != 0 {
		*tags = append(*tags, "@VT-MAXLEN="+strconv.Itoa(it.MaxLength))
	}
	if it.Hard != nil {
		if it.Hard.Min != "" {
			*tags = append(*tags, "@VT-HARD-MIN="+tagValue(it.Hard.Min))
		}
		if it.Hard.Max != "" {
			*tags = append(*tags, "@VT-HARD-MAX="+tagValue(it.Hard.Max))
		}
	}
	if it.Soft != nil {
		row[rcMin], row[rcMax] = it.Soft.Min, it.Soft.Max
	}
	if it.ShowIf != "" {
		row[rcBranching] = rewriteOIDs(it.ShowIf, oidVar)
	}
	redcapCalcRow(it, row, oidVar, tags)
	return row, nil
}

// tagValue writes an action tag value bare when it is a simple token and
// as a JSON string otherwise.
func tagValue(s string) string {
	simple := s != ""
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '{' || r == '@' || r > 126 {
			simple = false
			break
		}
	}
	if simple && s[0] != '"' && s[0] != '{' {
		return s
	}
	b, _ := jsonNoHTML(s)
	return string(b)
}

// jsonNoHTML encodes v as compact JSON without HTML escaping.
func jsonNoHTML(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// rewriteOIDs rewrites [OID] to [variable] outside string literals.
func rewriteOIDs(logic string, oidVar map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(logic); i++ {
		c := logic[i]
		switch c {
		case '"', '\'':
			j := strings.IndexByte(logic[i+1:], c)
			if j < 0 {
				b.WriteString(logic[i:])
				return b.String()
			}
			b.WriteString(logic[i : i+j+2])
			i += j + 1
			continue
		case '[':
			j := strings.IndexByte(logic[i:], ']')
			if j > 0 {
				name := strings.TrimSpace(logic[i+1 : i+j])
				if v, ok := oidVar[name]; ok {
					name = v
				}
				b.WriteString("[" + name + "]")
				i += j
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// redcapName makes a REDCap variable or form name: lower case letters,
// digits and underscores, starting with a letter.
func redcapName(s string) string {
	n := strings.ToLower(sanitizeName(s, '_'))
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "v_" + n
	}
	if len(n) > 90 {
		n = n[:90]
	}
	return n
}

func uniqueName(n string, used map[string]bool) string {
	c := n
	for i := 2; used[c]; i++ {
		c = n + "_" + strconv.Itoa(i)
	}
	used[c] = true
	return c
}

// redcapPatternName is the REDCap text validation whose pattern and
// message are the item's, or "".
func redcapPatternName(it Item) string {
	names := make([]string, 0, len(redcapPatterns))
	for name := range redcapPatterns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if p := redcapPatterns[name]; p.pattern == it.Pattern && p.message == it.PatternMessage {
			return name
		}
	}
	return ""
}

// formTags are the tags of form f on its first field: its OID and name,
// and its roles (safety form, end-of-study form, seriousness item).
func formTags(f *Form) []string {
	tags := []string{"@VT-FORM-OID=" + tagValue(f.OID), "@VT-FORM-NAME=" + tagValue(f.Name)}
	if f.Safety {
		tags = append(tags, "@VT-SAFETY")
	}
	if f.EndOfStudy {
		tags = append(tags, "@VT-END-OF-STUDY")
	}
	if f.SeriousItem != "" {
		tags = append(tags, "@VT-SERIOUS-ITEM="+tagValue(f.SeriousItem))
	}
	return tags
}
