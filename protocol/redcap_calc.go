package protocol

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// REDCap calc fields become derived items (Item.Derive). The expression
// is kept when veritrial computes it the same way: arithmetic, round,
// min, max, abs and if, on fields that are imported. Anything else is
// named in a warning and the field is not imported: REDCap functions
// veritrial does not have (sum, mean, sqrt ...), the ^ operator, and
// datediff, which REDCap computes unsigned by default and in fractional
// months and years, where veritrial counts signed, completed ones.

// redcapCalcFuncs are the REDCap functions a derivation computes alike.
var redcapCalcFuncs = map[string]bool{"round": true, "min": true, "max": true, "abs": true, "if": true}

var calcFuncRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// translateCalcs translates every calc field of rows into l.calcs (by
// variable); a field that cannot be translated, or refers to one, is
// marked skipped with the reason in l.calcWhy.
func (l *redcapLoader) translateCalcs(rows []*rcRow, varOID, skipped map[string]string) {
	l.calcs, l.calcWhy = map[string]string{}, map[string]string{}
	for changed := true; changed; {
		changed = false
		for _, r := range rows {
			v := r.get(rcVar)
			if strings.ToLower(r.get(rcType)) != "calc" || skipped[v] != "" {
				continue
			}
			derive, why := translateCalc(r.get(rcChoices), varOID, skipped)
			if why != "" {
				skipped[v] = "calc"
				l.calcWhy[v] = why
				delete(varOID, v)
				delete(l.calcs, v)
				changed = true
				continue
			}
			l.calcs[v] = derive
		}
	}
}

// translateCalc turns a REDCap calculation into a derivation, or says
// why it cannot.
func translateCalc(expr string, varOID, skipped map[string]string) (string, string) {
	if strings.TrimSpace(expr) == "" {
		return "", "it has no calculation"
	}
	// Outside text and [references]: function names and operators.
	var code strings.Builder
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch c {
		case '"', '\'':
			j := strings.IndexByte(expr[i+1:], c)
			if j < 0 {
				j = len(expr) - i - 2
			}
			b.WriteString(expr[i : i+j+2])
			i += j + 1
			continue
		case '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return "", "it does not parse: a [ is not closed"
			}
			name, code0, _ := strings.Cut(expr[i+1:i+j], "(")
			name = strings.TrimSpace(name)
			if i+j+1 < len(expr) && expr[i+j+1] == '[' {
				return "", "it uses the [event_name][variable] syntax of longitudinal projects"
			}
			if kind := skipped[name]; kind != "" {
				return "", "it refers to " + kind + " field " + strconv.Quote(name) + ", which is not imported"
			}
			oid, ok := varOID[name]
			if !ok {
				return "", "it refers to " + strconv.Quote(name) + ", which is not a field of the dictionary"
			}
			b.WriteString("[" + oid)
			if code0 != "" {
				b.WriteString("(" + code0)
			}
			b.WriteString("]")
			i += j
			continue
		}
		code.WriteByte(c)
		b.WriteByte(c)
	}
	var missing []string
	for _, m := range calcFuncRE.FindAllStringSubmatch(code.String(), -1) {
		if name := strings.ToLower(m[1]); !redcapCalcFuncs[name] && !slices.Contains(missing, name+"()") {
			missing = append(missing, name+"()")
		}
	}
	if strings.Contains(code.String(), "^") {
		missing = append(missing, "the ^ operator")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		why := "it uses " + strings.Join(missing, ", ") + ", which veritrial cannot compute the same way (derivations have +, -, *, /, round, min, max, abs and if"
		if slices.Contains(missing, "datediff()") {
			why += `; REDCap's datediff is unsigned and counts fractional months and years, veritrial's datediff is signed and counts completed ones: write the derived item in the protocol`
		}
		return "", why + ")"
	}
	d, err := ParseDerivation(b.String())
	if err != nil {
		return "", "it does not parse: " + err.Error()
	}
	return d.String(), ""
}

// calcField makes a REDCap calc field a derived item: decimal unless
// @VT-TYPE says otherwise.
func (l *redcapLoader) calcField(r *rcRow, it *Item) {
	it.Type = TypeDecimal
	it.Derive = l.calcs[r.get(rcVar)]
}

// redcapCalcRow writes a derived item as a REDCap calc field, its type in
// an action tag (redcapItemRow writes its digits).
func redcapCalcRow(it Item, row map[string]string, oidVar map[string]string, tags *[]string) {
	if it.Derive == "" {
		return
	}
	row[rcType] = "calc"
	row[rcValidation] = ""
	row[rcChoices] = rewriteOIDs(it.Derive, oidVar)
	if it.Type != TypeDecimal {
		*tags = append(*tags, "@VT-TYPE="+tagValue(string(it.Type)))
	}
}
