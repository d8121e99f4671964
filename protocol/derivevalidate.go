package protocol

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// derive computes a derived item in one row once its inputs are checked,
// and checks the result like a typed value (its ranges). An input with a
// hard problem leaves it empty, as does an empty input; a computation
// that fails (division by zero, overflow, an input that is not a number)
// leaves it empty with a soft problem, which becomes a data query.
func (v *validator) derive(ci *cItem, repeat int, get func(string) (string, bool)) {
	s := v.s
	for _, ri := range ci.deriveRefs {
		if st := s.state[ri.pos]; st == stBad || st == stDup {
			return
		}
	}
	f, st := ci.derive.eval(get)
	v.deriving = true
	v.setDerived(ci, repeat, f, st)
	v.deriving = false
}

// setDerived records the outcome of a derived item's computation.
func (v *validator) setDerived(ci *cItem, repeat int, f fixed, st fixedStatus) {
	s := v.s
	switch st {
	case fixOK:
	case fixEmpty:
		return
	default:
		why := map[fixedStatus]string{
			fixDivZero:  CodeDerivedDivByZero + ": it divides by zero",
			fixOverflow: CodeDerivedOverflow + ": a number in it needs more than " + strconv.Itoa(MaxDeriveDigits) + " digits",
			fixBadInput: CodeDerivedInputInvalid + ": an input is not a number (or datediff's not a date)",
		}[st]
		code, msg, _ := strings.Cut(why, ": ")
		v.soft(ci, repeat, code, itemName(ci)+" could not be computed: "+msg+"; check "+strings.Join(ci.derive.refs, ", "))
		return
	}
	// The text lives in the scratch buffer, which is only appended to
	// until the call ends: no allocation on the happy path. Nothing keeps
	// it beyond the call (messages copy it, the derived values are cloned).
	start := len(s.buf)
	s.buf = appendFixed(s.buf, f)
	val := unsafe.String(&s.buf[start], len(s.buf)-start)
	s.vals[ci.pos] = val
	s.state[ci.pos] = stValue
	v.checkCell(ci, repeat)
	if v.derived != nil {
		*v.derived = append(*v.derived, ItemValue{Item: ci.item.OID, Repeat: repeat, Value: strings.Clone(val)})
	}
}

// checkMissing checks a missing-data code given in place of a value; it
// returns false when it is refused.
func (v *validator) checkMissing(ci *cItem, iv *ItemValue) bool {
	it := ci.item
	msg := ""
	code := CodeMissingInvalid
	switch {
	case iv.Missing == "":
		msg = itemName(ci) + " has a missing-data reason but no missing-data code; give the code (" + v.c.missingHint(it) + ") or drop the reason"
	case iv.Value != "":
		msg = itemName(ci) + " has both the value " + quoteValue(iv.Value) + " and missing-data code " + quoteValue(iv.Missing) + "; give one of them"
	case !slices.Contains(it.Missing, iv.Missing):
		code = CodeMissingNotAllowed
		msg = itemName(ci) + " does not allow missing-data code " + quoteValue(iv.Missing) + "; " + v.c.missingHint(it)
	case len(iv.Reason) > DefaultMaxLength && utf8.RuneCountInString(iv.Reason) > DefaultMaxLength:
		msg = itemName(ci) + " has a missing-data reason longer than " + strconv.Itoa(DefaultMaxLength) + " characters"
	default:
		return true
	}
	v.bad(ci, iv.Repeat, code, rowPrefix(iv.Repeat)+msg)
	return false
}

// missingHint lists the missing-data codes an item allows.
func (c *Compiled) missingHint(it *Item) string {
	if len(it.Missing) == 0 {
		return "it allows no missing-data code: give a value"
	}
	var b strings.Builder
	b.WriteString("allowed: ")
	for i, code := range it.Missing {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(code)
		if mc := c.missingCodes[code]; mc != nil && mc.Decode != "" {
			b.WriteString(" (" + mc.Decode + ")")
		}
	}
	return b.String()
}

// Derivation returns the parsed derivation of an item, nil when the item
// is not derived or unknown.
func (c *Compiled) Derivation(itemOID string) *Derivation {
	if ci, ok := c.items[itemOID]; ok {
		return ci.derive
	}
	return nil
}

// Inputs returns values without those of derived items: what a form
// holds that was typed, to correct and validate again.
func (c *Compiled) Inputs(values []ItemValue) []ItemValue {
	return slices.DeleteFunc(slices.Clone(values), func(v ItemValue) bool { return c.Derivation(v.Item) != nil })
}

// MissingCode returns the declared missing-data code with its decode.
func (c *Compiled) MissingCode(code string) (CodeItem, bool) {
	if mc := c.missingCodes[code]; mc != nil {
		return *mc, true
	}
	return CodeItem{}, false
}
