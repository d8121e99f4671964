package protocol

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reason codes of Validate problems; doc.go explains each one.
const (
	CodeFormUnknown          = "form.unknown"
	CodeItemUnknown          = "item.unknown"
	CodeItemNotInForm        = "item.not_in_form"
	CodeItemDuplicate        = "item.duplicate"
	CodeRepeatInvalid        = "repeat.invalid"
	CodeRepeatTooMany        = "repeat.too_many"
	CodeRequiredMissing      = "required.missing"
	CodeHiddenHasValue       = "hidden.has_value"
	CodeTextTooLong          = "text.too_long"
	CodePatternMismatch      = "pattern.mismatch"
	CodeNotInteger           = "type.not_integer"
	CodeNotDecimal           = "type.not_decimal"
	CodeDecimalTooManyDigits = "decimal.too_many_digits"
	CodeDateInvalid          = "date.invalid"
	CodeDateNotExist         = "date.not_exist"
	CodePartialDateInvalid   = "partial_date.invalid"
	CodeDateTimeInvalid      = "datetime.invalid"
	CodeTimeInvalid          = "time.invalid"
	CodeYesNoInvalid         = "yesno.invalid"
	CodeChoiceNotInCodeList  = "choice.not_in_codelist"
	CodeMultiChoiceInvalid   = "multichoice.invalid"
	CodeRangeBelowMin        = "range.below_min"
	CodeRangeAboveMax        = "range.above_max"
	CodeRangeBelowExpected   = "range.below_expected"
	CodeRangeAboveExpected   = "range.above_expected"
	CodeCheckFailed          = "check.failed"
	CodeDerivedNotInput      = "derived.not_input"
	CodeDerivedDivByZero     = "derived.div_by_zero"
	CodeDerivedOverflow      = "derived.overflow"
	CodeDerivedInputInvalid  = "derived.input_invalid"
	CodeMissingNotAllowed    = "missing.not_allowed"
	CodeMissingInvalid       = "missing.invalid"
)

// Cell states in the validation scratch space.
const (
	stNone    uint8 = iota // no value
	stValue                // a value that passed the hard checks (so far)
	stDup                  // given more than once
	stBad                  // a value with a hard problem
	stMissing              // a missing-data code in place of a value
)

// Problem sections, in output order.
const (
	secItem    uint8 = iota // items of the form, protocol order
	secForeign              // items not on the form, by OID
	secCheck                // edit checks, protocol order
)

type vEntry struct {
	group, repeat, pos, vi int
	dup                    bool
	bad                    bool // a refused missing-data code
}

type keyedProblem struct {
	sec  uint8
	a    int
	drop bool // superseded by hidden.has_value
	p    Problem
}

// span is the range of s.probs holding one cell's value problems.
type span struct{ from, to int }

// scratch is the reusable working space of one Validate call.
type scratch struct {
	entries []vEntry
	vals    []string
	state   []uint8
	spans   []span
	probs   []keyedProblem
	// buf holds the text of derived values; s.vals refers into it until
	// the call ends (see validator.derive).
	buf []byte
}

func newScratch(n int) *scratch {
	return &scratch{entries: make([]vEntry, 0, 64), vals: make([]string, n), state: make([]uint8, n), spans: make([]span, n)}
}

type validator struct {
	c      *Compiled
	f      *cForm
	s      *scratch
	lookup Lookup
	// valueHard: a hard problem of the values themselves was found (see
	// ValidateAlone).
	valueHard bool
	// deriving: the problems added are those of a derived value, which
	// may depend on other forms.
	deriving bool
	// derived, when not nil, collects the derived values.
	derived *[]ItemValue
}

// Validate checks one submission of a form and returns its problems in a
// deterministic order: items in protocol order (then repeat), then items
// that are not on the form (by OID), then failed edit checks. lookup
// supplies values of the subject's other forms and may be nil. Validate
// is safe for concurrent use and does not allocate when there is no
// problem.
func (c *Compiled) Validate(formOID string, values []ItemValue, lookup Lookup) []Problem {
	out, _ := c.validate(formOID, values, lookup, nil)
	return out
}

// ValidateAlone is Validate without the subject's other forms, for a
// first look before they are known (a node's CheckTx, while other
// submissions may wait in its mempool). It reports whether the verdict,
// "has a hard problem" or not, is the one Validate gives whatever the
// other forms hold: so when no condition asked for another form's value,
// or when a value itself is wrong (a type, code list, length, date or
// hard range problem, an item not of the form, a bad row number, a value
// given twice). Such a problem stands whatever a condition says: when the
// item turns out hidden it gives way to hidden.has_value, which is hard
// too. The problems listed may still differ from Validate's when final
// is true only for the second reason.
func (c *Compiled) ValidateAlone(formOID string, values []ItemValue) (problems []Problem, final bool) {
	problems, _, final = c.EvaluateAlone(formOID, values)
	return problems, final
}

// Evaluate is Validate that also returns the values of the form's
// derived items, computed from values and the subject's other forms
// (lookup): what the ledger stores with the values. A derived item
// without a value (an input is empty, or the computation failed, which
// is a soft problem) is left out.
func (c *Compiled) Evaluate(formOID string, values []ItemValue, lookup Lookup) (problems []Problem, derived []ItemValue) {
	problems, _ = c.validate(formOID, values, lookup, &derived)
	return problems, derived
}

// EvaluateAlone is ValidateAlone that also returns the derived values;
// they are the ones Evaluate gives when no condition or derivation read
// another form.
func (c *Compiled) EvaluateAlone(formOID string, values []ItemValue) (problems []Problem, derived []ItemValue, final bool) {
	asked := false
	problems, valueHard := c.validate(formOID, values, func(string) (string, bool) {
		asked = true
		return "", false
	}, &derived)
	return problems, derived, !asked || valueHard
}

// validate is Validate; valueHard says whether a hard problem of the
// values themselves was found (see ValidateAlone). derived, when not
// nil, receives the derived values.
func (c *Compiled) validate(formOID string, values []ItemValue, lookup Lookup, derived *[]ItemValue) ([]Problem, bool) {
	f, ok := c.forms[formOID]
	if !ok {
		return []Problem{{Severity: Hard, Code: CodeFormUnknown,
			Message: "Form " + strconv.Quote(formOID) + " is not in the protocol; check the form OID"}}, true
	}
	s, _ := c.scratch.Get().(*scratch)
	if s == nil || len(s.vals) < len(f.items) {
		s = newScratch(max(c.maxItems, len(f.items)))
	}
	v := &validator{c: c, f: f, s: s, lookup: lookup, derived: derived}
	get := func(oid string) (string, bool) {
		ri, ok := c.items[oid]
		if !ok {
			return "", false
		}
		if ri.form != f {
			if lookup == nil {
				return "", false
			}
			return lookup(oid)
		}
		val := s.vals[ri.pos]
		return val, val != ""
	}
	v.run(values, get)
	out := v.finish()
	clear(s.vals[:len(f.items)])
	clear(s.state[:len(f.items)])
	clear(s.spans[:len(f.items)])
	s.entries = s.entries[:0]
	s.buf = s.buf[:0]
	clear(s.probs)
	s.probs = s.probs[:0]
	c.scratch.Put(s)
	return out, v.valueHard
}

func cmpEntry(a, b vEntry) int {
	if c := cmp.Compare(a.group, b.group); c != 0 {
		return c
	}
	if c := cmp.Compare(a.repeat, b.repeat); c != 0 {
		return c
	}
	return cmp.Compare(a.pos, b.pos)
}

func (v *validator) run(values []ItemValue, get func(string) (string, bool)) {
	c, f, s := v.c, v.f, v.s
	for i := range values {
		iv := &values[i]
		ci, ok := c.items[iv.Item]
		if !ok {
			v.add(secForeign, 0, iv.Item, iv.Repeat, Hard, CodeItemUnknown,
				strconv.Quote(iv.Item)+" is not an item of this protocol; remove it or correct the OID")
			continue
		}
		if ci.form != f {
			v.add(secForeign, 0, iv.Item, iv.Repeat, Hard, CodeItemNotInForm,
				itemName(ci)+" ("+iv.Item+") belongs to form "+formName(ci.form)+", not to form "+formName(f))
			continue
		}
		g := &f.groups[ci.group]
		switch {
		case g.repeating && iv.Repeat < 1:
			v.add(secItem, ci.pos, iv.Item, iv.Repeat, Hard, CodeRepeatInvalid,
				itemName(ci)+" is in repeating group "+groupName(g)+", so it needs a row number from 1 to "+strconv.Itoa(g.max)+", not "+strconv.Itoa(iv.Repeat)+" ("+iv.Item+")")
			continue
		case g.repeating && iv.Repeat > g.max:
			v.add(secItem, ci.pos, iv.Item, iv.Repeat, Hard, CodeRepeatTooMany,
				itemName(ci)+" row "+strconv.Itoa(iv.Repeat)+" is beyond the maximum of "+strconv.Itoa(g.max)+" rows of "+groupName(g)+" ("+iv.Item+")")
			continue
		case !g.repeating && iv.Repeat != 0:
			v.add(secItem, ci.pos, iv.Item, iv.Repeat, Hard, CodeRepeatInvalid,
				itemName(ci)+" is not in a repeating group, so its row number must be 0, not "+strconv.Itoa(iv.Repeat)+" ("+iv.Item+")")
			continue
		}
		if iv.Empty() && iv.Reason == "" {
			continue
		}
		if ci.derive != nil {
			v.bad(ci, iv.Repeat, CodeDerivedNotInput, rowPrefix(iv.Repeat)+itemName(ci)+" is derived: the ledger computes it from "+strings.Join(ci.derive.refs, ", ")+"; do not send it")
			continue
		}
		bad := (iv.Missing != "" || iv.Reason != "") && !v.checkMissing(ci, iv)
		s.entries = append(s.entries, vEntry{group: ci.group, repeat: iv.Repeat, pos: ci.pos, vi: i, bad: bad})
	}
	if !slices.IsSortedFunc(s.entries, cmpEntry) {
		slices.SortFunc(s.entries, cmpEntry)
	}
	// Collapse duplicates: one entry per cell, flagged when given twice.
	w := 0
	for i := 0; i < len(s.entries); {
		j := i + 1
		for j < len(s.entries) && cmpEntry(s.entries[i], s.entries[j]) == 0 {
			j++
		}
		e := s.entries[i]
		if j-i > 1 {
			e.dup = true
			ci := f.items[e.pos]
			v.add(secItem, e.pos, ci.item.OID, e.repeat, Hard, CodeItemDuplicate,
				rowPrefix(e.repeat)+itemName(ci)+" was given "+strconv.Itoa(j-i)+" times; send one value ("+ci.item.OID+")")
		}
		s.entries[w] = e
		w++
		i = j
	}
	s.entries = s.entries[:w]

	// Non-repeating values are visible to every condition of the form.
	for _, e := range s.entries {
		if !f.groups[e.group].repeating {
			v.load(e, values)
		}
	}
	for pass := range 2 {
		if pass == 1 {
			for _, ci := range f.derived {
				v.derive(ci, 0, get)
			}
		}
		for gi := range f.groups {
			g := &f.groups[gi]
			if g.repeating {
				continue
			}
			for pos := g.first; pos < g.end; pos++ {
				if pass == 0 {
					v.checkCell(f.items[pos], 0)
				} else {
					v.checkBranch(f.items[pos], 0, get)
				}
			}
		}
	}
	// Repeating groups, row by row.
	for i := 0; i < len(s.entries); {
		e := s.entries[i]
		g := &f.groups[e.group]
		if !g.repeating {
			i++
			continue
		}
		j := i
		for j < len(s.entries) && s.entries[j].group == e.group && s.entries[j].repeat == e.repeat {
			v.load(s.entries[j], values)
			j++
		}
		for pos := g.first; pos < g.end; pos++ {
			v.checkCell(f.items[pos], e.repeat)
		}
		for _, ci := range g.derived {
			v.derive(ci, e.repeat, get)
		}
		for pos := g.first; pos < g.end; pos++ {
			v.checkBranch(f.items[pos], e.repeat, get)
		}
		for _, cc := range g.checks {
			v.runCheck(cc, e.repeat, get)
		}
		clear(s.vals[g.first:g.end])
		clear(s.state[g.first:g.end])
		clear(s.spans[g.first:g.end])
		i = j
	}
	for _, cc := range f.checks {
		if cc.group < 0 {
			v.runCheck(cc, 0, get)
		}
	}
}

func (v *validator) load(e vEntry, values []ItemValue) {
	switch {
	case e.dup:
		v.s.state[e.pos] = stDup
	case e.bad:
		v.s.state[e.pos] = stBad
	case values[e.vi].Missing != "":
		v.s.state[e.pos] = stMissing
	default:
		v.s.vals[e.pos] = values[e.vi].Value
		v.s.state[e.pos] = stValue
	}
}

// checkCell checks the value of one item in one row (type, code list,
// length, ranges) and records where its problems are.
func (v *validator) checkCell(ci *cItem, repeat int) {
	s := v.s
	if s.state[ci.pos] != stValue {
		return
	}
	from := len(s.probs)
	if !v.checkValue(ci, s.vals[ci.pos], repeat) {
		s.state[ci.pos] = stBad
	}
	s.spans[ci.pos] = span{from, len(s.probs)}
}

// checkBranch applies the item's ShowIf once every value it may depend on
// is checked: a hidden item must be empty (its value problems give way to
// that one), a shown required item must have a value. When the condition
// depends on a value of the form with a hard problem, neither rule applies
// until that value is corrected.
func (v *validator) checkBranch(ci *cItem, repeat int, get func(string) (string, bool)) {
	s := v.s
	st := s.state[ci.pos]
	if st == stDup || (st == stNone && !ci.item.Required) {
		return
	}
	shown := true
	if ci.show != nil {
		for _, ri := range ci.showRefs {
			if rs := s.state[ri.pos]; rs == stBad || rs == stDup {
				return
			}
		}
		shown = ci.show.Eval(get)
	}
	if st == stNone {
		if shown {
			v.add(secItem, ci.pos, ci.item.OID, repeat, Hard, CodeRequiredMissing,
				rowPrefix(repeat)+itemName(ci)+" is required ("+ci.item.OID+")")
		}
		return
	}
	if shown {
		return
	}
	sp := s.spans[ci.pos]
	for i := sp.from; i < sp.to && i < len(s.probs); i++ {
		s.probs[i].drop = true
	}
	s.state[ci.pos] = stBad
	v.add(secItem, ci.pos, ci.item.OID, repeat, Hard, CodeHiddenHasValue,
		rowPrefix(repeat)+itemName(ci)+" must be empty: it only applies when "+ci.show.String()+" ("+ci.item.OID+")")
}

// checkValue checks type, code list, length and ranges; it returns false
// when the value has a hard problem.
func (v *validator) checkValue(ci *cItem, val string, repeat int) bool {
	it := ci.item
	if len(val) > ci.maxLen {
		if n := utf8.RuneCountInString(val); n > ci.maxLen {
			v.bad(ci, repeat, CodeTextTooLong, itemName(ci)+" is "+strconv.Itoa(n)+" characters long; at most "+strconv.Itoa(ci.maxLen)+" are allowed")
			return false
		}
	}
	kind := ""
	var dec Decimal
	var t int64
	switch it.Type {
	case TypeInteger:
		if !isInteger(val) {
			v.bad(ci, repeat, CodeNotInteger, itemName(ci)+" "+quoteValue(val)+" is not a whole number")
			return false
		}
		dec, _ = parseDecimal(val)
		kind = "number"
	case TypeDecimal:
		var ok bool
		if dec, ok = parseDecimal(val); !ok {
			v.bad(ci, repeat, CodeNotDecimal, itemName(ci)+" "+quoteValue(val)+" is not a number; write it like 72.5")
			return false
		}
		if it.Digits > 0 && dec.Places() > it.Digits {
			v.bad(ci, repeat, CodeDecimalTooManyDigits, itemName(ci)+" "+withUnit(ci, val)+" has "+strconv.Itoa(dec.Places())+
				" decimal places; at most "+strconv.Itoa(it.Digits)+" allowed")
			return false
		}
		kind = "number"
	case TypeDate:
		var st parseStatus
		t, st = parseDate(val)
		if !v.dateStatus(ci, repeat, val, st, CodeDateInvalid, "YYYY-MM-DD") {
			return false
		}
		kind = "date"
	case TypeDateTime:
		var st parseStatus
		t, st = parseDateTime(val)
		if !v.dateStatus(ci, repeat, val, st, CodeDateTimeInvalid, "YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS") {
			return false
		}
		kind = "datetime"
	case TypePartialDate:
		if !v.dateStatus(ci, repeat, val, parsePartialDate(val), CodePartialDateInvalid, "YYYY, YYYY-MM or YYYY-MM-DD") {
			return false
		}
	case TypeTime:
		var ok bool
		if t, ok = parseClock(val); !ok {
			v.bad(ci, repeat, CodeTimeInvalid, itemName(ci)+" "+quoteValue(val)+" is not a time; write HH:MM or HH:MM:SS (24-hour clock)")
			return false
		}
		kind = "time"
	case TypeYesNo:
		if val != "1" && val != "0" {
			v.bad(ci, repeat, CodeYesNoInvalid, itemName(ci)+" "+quoteValue(val)+" must be 1 (Yes) or 0 (No)")
			return false
		}
	case TypeChoice:
		if _, ok := ci.codes.index[val]; !ok {
			v.bad(ci, repeat, CodeChoiceNotInCodeList, itemName(ci)+" "+quoteValue(val)+" is not an allowed code; "+codeHint(ci.codes))
			return false
		}
	case TypeMultiChoice:
		if msg := checkMulti(ci.codes, val); msg != "" {
			v.bad(ci, repeat, CodeMultiChoiceInvalid, itemName(ci)+" "+quoteValue(val)+": "+msg)
			return false
		}
	}
	if ci.pattern != nil && !ci.pattern.MatchString(val) {
		v.bad(ci, repeat, CodePatternMismatch, itemName(ci)+" "+quoteValue(val)+" is not "+patternWords(ci))
		return false
	}
	if kind == "" {
		return true
	}
	cmpTo := func(b cBound) int {
		if kind == "number" {
			return dec.Cmp(b.dec)
		}
		return cmpInt64(t, b.t)
	}
	num := kind == "number"
	if h := &ci.hard; h.min.set && cmpTo(h.min) < 0 {
		v.bad(ci, repeat, CodeRangeBelowMin, itemName(ci)+" "+withUnit(ci, val)+pick(num, " is below the minimum ", " is before the earliest allowed ")+h.min.text)
		return false
	} else if h.max.set && cmpTo(h.max) > 0 {
		v.bad(ci, repeat, CodeRangeAboveMax, itemName(ci)+" "+withUnit(ci, val)+pick(num, " is above the maximum ", " is after the latest allowed ")+h.max.text)
		return false
	}
	if sr := &ci.soft; sr.min.set && cmpTo(sr.min) < 0 {
		v.soft(ci, repeat, CodeRangeBelowExpected, itemName(ci)+" "+withUnit(ci, val)+pick(num, " is below the expected ", " is before the expected earliest ")+sr.min.text)
	} else if sr.max.set && cmpTo(sr.max) > 0 {
		v.soft(ci, repeat, CodeRangeAboveExpected, itemName(ci)+" "+withUnit(ci, val)+pick(num, " is above the expected ", " is after the expected latest ")+sr.max.text)
	}
	return true
}

func (v *validator) dateStatus(ci *cItem, repeat int, val string, st parseStatus, badCode, format string) bool {
	switch st {
	case parseBad:
		v.bad(ci, repeat, badCode, itemName(ci)+" "+quoteValue(val)+" is not written as "+format)
		return false
	case parseNotExist:
		// A well-formed value: shown as written, like a range message.
		v.bad(ci, repeat, CodeDateNotExist, itemName(ci)+" "+val+" is not a real date")
		return false
	}
	return true
}

// checkMulti checks a multichoice value: known codes, comma-separated, each
// once, in code-list order. It returns "" when the value is valid.
func checkMulti(cl *cCodeList, val string) string {
	last := -1
	rest := val
	for {
		i := strings.IndexByte(rest, ',')
		part := rest
		if i >= 0 {
			part = rest[:i]
		}
		if part == "" {
			return "codes must be separated by single commas, without empty entries or spaces"
		}
		n, ok := cl.index[part]
		if !ok {
			return "code " + strconv.Quote(part) + " is not allowed; " + codeHint(cl)
		}
		if n == last {
			return "code " + strconv.Quote(part) + " is given twice"
		}
		if n < last {
			return "codes must be listed once each, in code-list order (" + codeOrder(cl) + ")"
		}
		last = n
		if i < 0 {
			return ""
		}
		rest = rest[i+1:]
	}
}

func (v *validator) runCheck(cc *cCheck, repeat int, get func(string) (string, bool)) {
	c, s := v.c, v.s
	for _, oid := range cc.cond.refs {
		ri := c.items[oid]
		if ri.form == v.f {
			if s.state[ri.pos] != stValue {
				return
			}
			continue
		}
		if val, ok := get(oid); !ok || val == "" {
			return
		}
	}
	if cc.cond.Eval(get) {
		return
	}
	row := 0
	if cc.group >= 0 && cc.first.group == cc.group {
		row = repeat
	}
	msg := cc.check.Message
	if msg == "" {
		msg = "Edit check failed: " + cc.cond.String()
	}
	v.s.probs = append(v.s.probs, keyedProblem{sec: secCheck, a: cc.idx, p: Problem{
		Item: cc.first.item.OID, Repeat: row, Severity: cc.sev, Code: CodeCheckFailed,
		Message: rowPrefix(repeat) + msg + " (" + cc.check.OID + ")",
	}})
}

func (v *validator) add(sec uint8, a int, item string, repeat int, sev Severity, code, msg string) {
	if sev == Hard && code != CodeRequiredMissing && code != CodeHiddenHasValue && !v.deriving {
		v.valueHard = true // runCheck adds check.failed problems itself
	}
	v.s.probs = append(v.s.probs, keyedProblem{sec: sec, a: a, p: Problem{Item: item, Repeat: repeat, Severity: sev, Code: code, Message: msg}})
}

func (v *validator) bad(ci *cItem, repeat int, code, msg string) {
	v.add(secItem, ci.pos, ci.item.OID, repeat, Hard, code, rowPrefix(repeat)+msg+" ("+ci.item.OID+")")
}

func (v *validator) soft(ci *cItem, repeat int, code, msg string) {
	v.add(secItem, ci.pos, ci.item.OID, repeat, Soft, code, rowPrefix(repeat)+msg+" ("+ci.item.OID+")")
}

func cmpKeyed(a, b keyedProblem) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(a.a, b.a); c != 0 {
		return c
	}
	if c := strings.Compare(a.p.Item, b.p.Item); c != 0 {
		return c
	}
	if c := cmp.Compare(a.p.Repeat, b.p.Repeat); c != 0 {
		return c
	}
	if c := strings.Compare(a.p.Code, b.p.Code); c != 0 {
		return c
	}
	return strings.Compare(a.p.Message, b.p.Message)
}

// finish sorts the problems, drops exact repeats and returns a fresh slice.
func (v *validator) finish() []Problem {
	ps := v.s.probs
	if len(ps) == 0 {
		return nil
	}
	ps = slices.DeleteFunc(ps, func(k keyedProblem) bool { return k.drop })
	slices.SortFunc(ps, cmpKeyed)
	out := make([]Problem, 0, len(ps))
	for i := range ps {
		if i > 0 && ps[i].p == ps[i-1].p {
			continue
		}
		out = append(out, ps[i].p)
	}
	return out
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func itemName(ci *cItem) string {
	if ci.item.Label != "" {
		return ci.item.Label
	}
	return ci.item.OID
}

func formName(f *cForm) string {
	if f.form.Name != "" {
		return f.form.Name + " (" + f.form.OID + ")"
	}
	return f.form.OID
}

func groupName(g *cGroup) string {
	if g.group.Name != "" {
		return g.group.Name
	}
	return g.group.OID
}

func rowPrefix(repeat int) string {
	if repeat <= 0 {
		return ""
	}
	return "Row " + strconv.Itoa(repeat) + ": "
}

func withUnit(ci *cItem, val string) string {
	if ci.item.Unit == "" {
		return val
	}
	return val + " " + ci.item.Unit
}

// quoteValue quotes a value for a message, shortened when long.
func quoteValue(val string) string {
	const maxShown = 40
	if utf8.RuneCountInString(val) > maxShown {
		n := 0
		for i := range val {
			if n == maxShown {
				val = val[:i] + "..."
				break
			}
			n++
		}
	}
	return strconv.Quote(val)
}

// codeHint lists the codes of a short code list, or names a long one.
func codeHint(cl *cCodeList) string {
	if len(cl.list.Items) > 10 {
		return "use a code of code list " + cl.list.OID
	}
	var b strings.Builder
	b.WriteString("use ")
	for i, c := range cl.list.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Code)
		if c.Decode != "" {
			b.WriteString(" (" + c.Decode + ")")
		}
	}
	return b.String()
}

func codeOrder(cl *cCodeList) string {
	codes := make([]string, 0, len(cl.list.Items))
	for _, c := range cl.list.Items {
		codes = append(codes, c.Code)
	}
	return strings.Join(codes, ",")
}

// CanonicalValues returns a copy of values without empty values, sorted in
// protocol order: group, then repeat, then item; values of items that are
// not on the form come last, sorted by OID, repeat and value. This is the
// form the ledger stores.
func (c *Compiled) CanonicalValues(formOID string, values []ItemValue) []ItemValue {
	f := c.forms[formOID]
	type keyed struct {
		known           bool
		group, rep, pos int
		v               ItemValue
	}
	ks := make([]keyed, 0, len(values))
	for _, v := range values {
		if v.Empty() && v.Reason == "" {
			continue
		}
		k := keyed{v: v, rep: v.Repeat}
		if ci, ok := c.items[v.Item]; ok && f != nil && ci.form == f {
			k.known, k.group, k.pos = true, ci.group, ci.pos
		}
		ks = append(ks, k)
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if a.known != b.known {
			if a.known {
				return -1
			}
			return 1
		}
		if a.known {
			if c := cmp.Compare(a.group, b.group); c != 0 {
				return c
			}
			if c := cmp.Compare(a.rep, b.rep); c != 0 {
				return c
			}
			if c := cmp.Compare(a.pos, b.pos); c != 0 {
				return c
			}
		} else {
			if c := strings.Compare(a.v.Item, b.v.Item); c != 0 {
				return c
			}
			if c := cmp.Compare(a.rep, b.rep); c != 0 {
				return c
			}
		}
		return cmp.Or(strings.Compare(a.v.Value, b.v.Value), strings.Compare(a.v.Missing, b.v.Missing), strings.Compare(a.v.Reason, b.v.Reason))
	})
	out := make([]ItemValue, len(ks))
	for i, k := range ks {
		out[i] = k.v
	}
	return out
}

// Decode returns the text a reader should see for a value: the decode of a
// code ("Female"), decodes joined by ", " for multiple choice, "Yes" or
// "No" for yes/no items, and the value itself otherwise.
func (c *Compiled) Decode(itemOID, value string) string {
	ci, ok := c.items[itemOID]
	if !ok || value == "" {
		return value
	}
	switch ci.item.Type {
	case TypeYesNo:
		switch value {
		case "1":
			return "Yes"
		case "0":
			return "No"
		}
	case TypeChoice:
		return decodeCode(ci.codes, value)
	case TypeMultiChoice:
		parts := strings.Split(value, ",")
		for i, p := range parts {
			parts[i] = decodeCode(ci.codes, p)
		}
		return strings.Join(parts, ", ")
	}
	return value
}

func decodeCode(cl *cCodeList, code string) string {
	if cl == nil {
		return code
	}
	if i, ok := cl.index[code]; ok && cl.list.Items[i].Decode != "" {
		return cl.list.Items[i].Decode
	}
	return code
}

// patternWords says what an item's pattern expects: its message, or the
// pattern itself.
func patternWords(ci *cItem) string {
	if ci.item.PatternMessage != "" {
		return ci.item.PatternMessage
	}
	return "of the expected form " + ci.item.Pattern
}
