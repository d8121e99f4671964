package protocol

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Limits applied by Compile and Validate.
const (
	// MaxRepeatsLimit caps the rows of a repeating group; ItemGroup.MaxRepeats
	// may lower it, never raise it.
	MaxRepeatsLimit = 500
	// DefaultMaxLength is the longest value accepted, in characters, when
	// Item.MaxLength is 0.
	DefaultMaxLength = 4000
	// MaxPatternLength bounds Item.Pattern, in bytes.
	MaxPatternLength = 512
)

// DefinitionError is one structural problem of a protocol found by Compile.
// Path locates it in the protocol ("forms[2].groups[0].items[3].hard"),
// OID names the offending element and Fix says how to repair it.
type DefinitionError struct {
	Path string
	OID  string
	Msg  string
	Fix  string
}

// Error formats the error as "path OID: message (fix: ...)".
func (e *DefinitionError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.OID != "" {
		if e.Path != "" {
			b.WriteByte(' ')
		}
		b.WriteString(e.OID)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(e.Fix)
		b.WriteByte(')')
	}
	return b.String()
}

// DefinitionErrors is every structural problem Compile found, in protocol
// order (study, events, forms, code lists).
type DefinitionErrors []*DefinitionError

// Error lists the problems, one per line.
func (d DefinitionErrors) Error() string {
	if len(d) == 1 {
		return d[0].Error()
	}
	var b strings.Builder
	b.WriteString("the protocol has ")
	b.WriteString(strconv.Itoa(len(d)))
	b.WriteString(" problems:")
	for _, e := range d {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors, for errors.Is and errors.As.
func (d DefinitionErrors) Unwrap() []error {
	out := make([]error, len(d))
	for i, e := range d {
		out[i] = e
	}
	return out
}

// Compiled is a structurally checked protocol with the indexes Validate
// needs. It is immutable and safe for concurrent use.
type Compiled struct {
	p          *Protocol
	forms      map[string]*cForm
	items      map[string]*cItem
	events     map[string]*Event
	eventForms map[[2]string]struct{}
	codeLists  map[string]*cCodeList
	// missingCodes are Protocol.MissingCodes by code.
	missingCodes map[string]*CodeItem
	maxItems     int
	scratch      sync.Pool
	// subjectIDPattern is the pattern subject IDs must match, subjectID
	// the same compiled to match a whole ID.
	subjectIDPattern string
	subjectID        *regexp.Regexp
	// readers lists, by form, the other forms that read its items.
	readers map[string][]string
}

type cForm struct {
	form   *Form
	items  []*cItem // protocol order
	groups []cGroup
	checks []*cCheck
	// derived are the form's non-repeating derived items, each after the
	// derived items it refers to.
	derived []*cItem
}

type cGroup struct {
	group      *ItemGroup
	first, end int // items[first:end] of the form
	repeating  bool
	max        int
	checks     []*cCheck // checks evaluated per row of this group
	derived    []*cItem  // derived items computed per row, in order
}

type cItem struct {
	item  *Item
	form  *cForm
	group int
	pos   int
	show  *Condition
	// showRefs are the items of the same form that show depends on.
	showRefs []*cItem
	codes    *cCodeList
	hard     cRange
	soft     cRange
	maxLen   int
	// derive computes a derived item; deriveRefs are the items of the
	// same form it refers to.
	derive     *Derivation
	deriveRefs []*cItem
	// pattern is Item.Pattern anchored at both ends, nil when unset.
	pattern *regexp.Regexp
}

type cRange struct {
	min, max cBound
}

type cBound struct {
	set  bool
	text string
	dec  Decimal
	t    int64
}

type cCodeList struct {
	list  *CodeList
	index map[string]int
}

type cCheck struct {
	check *EditCheck
	idx   int
	cond  *Condition
	group int // repeating group of the form it runs per row of, or -1
	first *cItem
	sev   Severity
}

var validTypes = []DataType{TypeText, TypeInteger, TypeDecimal, TypeDate, TypePartialDate,
	TypeDateTime, TypeTime, TypeYesNo, TypeChoice, TypeMultiChoice}

func knownType(t DataType) bool {
	for _, v := range validTypes {
		if v == t {
			return true
		}
	}
	return false
}

func typeList() string {
	s := make([]string, len(validTypes))
	for i, t := range validTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// rangeKind says how an item type's range bounds are written.
func rangeKind(t DataType) string {
	switch t {
	case TypeInteger, TypeDecimal:
		return "number"
	case TypeDate:
		return "date"
	case TypeDateTime:
		return "datetime"
	case TypeTime:
		return "time"
	}
	return ""
}

type compiler struct {
	c        *Compiled
	errs     DefinitionErrors
	formList []*cForm // by index in Protocol.Forms
	// where each OID was first defined, for duplicate messages
	formAt, groupAt, itemAt, listAt, eventAt, checkAt map[string]string
}

func (k *compiler) add(path, oid, msg, fix string) {
	k.errs = append(k.errs, &DefinitionError{Path: path, OID: oid, Msg: msg, Fix: fix})
}

// checkOID reports an empty, invalid or duplicate OID; it returns true when
// the OID is usable as an index key (valid and first of its name).
func (k *compiler) checkOID(path, kind, oid string, seen map[string]string, example string) bool {
	switch {
	case oid == "":
		k.add(path, "", kind+" has no OID", "give it an OID such as "+example)
		return false
	case !ValidOID(oid):
		k.add(path, oid, kind+" OID "+strconv.Quote(oid)+" is not valid: an OID starts with a letter and holds only letters, digits, _ and .",
			"rename it, e.g. "+example)
		return false
	}
	if first, dup := seen[oid]; dup {
		k.add(path, oid, "duplicate "+kind+" OID: "+oid+" is already used at "+first, "give each "+kind+" its own OID")
		return false
	}
	seen[oid] = path
	return true
}

// pathKey orders definition paths in protocol order: study, events, forms
// (groups and items, then checks), code lists. Field suffixes (".hard")
// do not count, so problems of one element keep the order they were found.
func pathKey(path string) []int {
	var key []int
	for seg := range strings.SplitSeq(path, ".") {
		name, index, indexed := strings.Cut(seg, "[")
		rank := 0
		switch name {
		case "events", "checks":
			rank = 1
		case "forms":
			if len(key) == 0 {
				rank = 2
			}
		case "codelists":
			rank = 3
		case "missing_codes":
			rank = 4
		}
		if len(key) > 0 && !indexed {
			break
		}
		key = append(key, rank)
		if !indexed {
			break
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(index, "]"))
		key = append(key, n)
	}
	return key
}

func idx(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

// Compile checks the structure of p and builds the indexes used by
// Validate. On failure the error is DefinitionErrors listing every problem
// found. Compile works on a deep copy: later changes to p have no effect.
func Compile(p *Protocol) (*Compiled, error) {
	if p == nil {
		return nil, DefinitionErrors{{Msg: "no protocol", Fix: "load a protocol first"}}
	}
	p = copyProtocol(p)
	c := &Compiled{
		p:          p,
		forms:      map[string]*cForm{},
		items:      map[string]*cItem{},
		events:     map[string]*Event{},
		eventForms: map[[2]string]struct{}{},
		codeLists:  map[string]*cCodeList{},
	}
	k := &compiler{c: c, formAt: map[string]string{}, groupAt: map[string]string{}, itemAt: map[string]string{},
		listAt: map[string]string{}, eventAt: map[string]string{}, checkAt: map[string]string{}}

	if strings.TrimSpace(p.Study.ID) == "" {
		k.add("study.id", "", "the study has no ID", "set study.id, e.g. VT-HTN-201")
	}
	if strings.TrimSpace(p.Study.Version) == "" {
		k.add("study.version", "", "the protocol has no version", `set study.version, e.g. "1.0"`)
	}

	// Index forms first so events can be checked in protocol order.
	formPaths := map[string]string{}
	for i := range p.Forms {
		if oid := p.Forms[i].OID; oid != "" {
			if _, dup := formPaths[oid]; !dup {
				formPaths[oid] = idx("forms", i)
			}
		}
	}
	k.compileSubjectID()
	k.compileEvents(formPaths)
	k.indexCodeLists()
	k.compileForms()
	k.compileConsent()
	k.compileSchedule()
	k.compileConditions()
	k.compileMissingCodes()
	k.compileDerivations()
	k.compileCodeLists()
	k.compileRandomization()

	if len(k.errs) > 0 {
		slices.SortStableFunc(k.errs, func(a, b *DefinitionError) int {
			return slices.Compare(pathKey(a.Path), pathKey(b.Path))
		})
		return nil, k.errs
	}
	c.scratch.New = func() any { return newScratch(c.maxItems) }
	c.readers = readers(c)
	return c, nil
}

func (k *compiler) compileEvents(formPaths map[string]string) {
	p := k.c.p
	for i := range p.Events {
		e := &p.Events[i]
		path := idx("events", i)
		if k.checkOID(path, "event", e.OID, k.eventAt, "SCREEN") {
			k.c.events[e.OID] = e
		}
		switch e.Type {
		case "", EventScheduled, EventUnscheduled, EventCommon:
		default:
			k.add(path+".type", e.OID, "unknown event type "+strconv.Quote(string(e.Type)), "use scheduled, unscheduled or common")
		}
		if e.WindowBefore < 0 || e.WindowAfter < 0 {
			k.add(path, e.OID, "the visit window is negative", "write window_before and window_after as days, 0 or more")
		}
		seen := map[string]bool{}
		for j, f := range e.Forms {
			fp := idx(path+".forms", j)
			if _, ok := formPaths[f]; !ok {
				k.add(fp, e.OID, "event "+e.OID+" names form "+strconv.Quote(f)+", which is not in the protocol", "add the form or remove it from the event")
				continue
			}
			if seen[f] {
				k.add(fp, e.OID, "event "+e.OID+" lists form "+f+" twice", "list each form once")
				continue
			}
			seen[f] = true
			k.c.eventForms[[2]string{e.OID, f}] = struct{}{}
		}
	}
}

func (k *compiler) indexCodeLists() {
	p := k.c.p
	for i := range p.CodeLists {
		cl := &p.CodeLists[i]
		if cl.OID == "" || !ValidOID(cl.OID) {
			continue
		}
		if _, dup := k.c.codeLists[cl.OID]; dup {
			continue
		}
		cc := &cCodeList{list: cl, index: make(map[string]int, len(cl.Items))}
		for j, ci := range cl.Items {
			if _, dup := cc.index[ci.Code]; !dup {
				cc.index[ci.Code] = j
			}
		}
		k.c.codeLists[cl.OID] = cc
	}
}

func (k *compiler) compileCodeLists() {
	p := k.c.p
	for i := range p.CodeLists {
		cl := &p.CodeLists[i]
		path := idx("codelists", i)
		k.checkOID(path, "code list", cl.OID, k.listAt, "SEX")
		if len(cl.Items) == 0 {
			k.add(path, cl.OID, "code list has no codes", "add at least one code with its decode")
		}
		seen := map[string]int{}
		for j, ci := range cl.Items {
			cp := idx(path+".items", j)
			switch {
			case ci.Code == "":
				k.add(cp, cl.OID, "empty code", "give every entry a code, e.g. 1")
				continue
			case strings.TrimSpace(ci.Code) != ci.Code:
				k.add(cp, cl.OID, "code "+strconv.Quote(ci.Code)+" has leading or trailing spaces", "remove the spaces")
			case strings.ContainsRune(ci.Code, ','):
				k.add(cp, cl.OID, "code "+strconv.Quote(ci.Code)+" contains a comma, which separates the codes of a multiple choice", "use a code without commas")
			}
			if first, dup := seen[ci.Code]; dup {
				k.add(cp, cl.OID, "code "+strconv.Quote(ci.Code)+" appears twice (first at "+idx(path+".items", first)+")", "give each entry its own code")
				continue
			}
			seen[ci.Code] = j
		}
	}
}

func (k *compiler) compileForms() {
	c := k.c
	p := c.p
	for fi := range p.Forms {
		f := &p.Forms[fi]
		fpath := idx("forms", fi)
		cf := &cForm{form: f}
		k.formList = append(k.formList, cf)
		if k.checkOID(fpath, "form", f.OID, k.formAt, "VS") {
			c.forms[f.OID] = cf
		}
		for gi := range f.Groups {
			g := &f.Groups[gi]
			gpath := idx(fpath+".groups", gi)
			k.checkOID(gpath, "item group", g.OID, k.groupAt, "VS.MAIN")
			cg := cGroup{group: g, first: len(cf.items), repeating: g.Repeating, max: MaxRepeatsLimit}
			switch {
			case g.MaxRepeats < 0:
				k.add(gpath+".max_repeats", g.OID, "max_repeats is negative", "use 0 for the default limit of "+strconv.Itoa(MaxRepeatsLimit)+" rows, or a positive number")
			case g.MaxRepeats > MaxRepeatsLimit:
				k.add(gpath+".max_repeats", g.OID, "max_repeats "+strconv.Itoa(g.MaxRepeats)+" is above the limit of "+strconv.Itoa(MaxRepeatsLimit)+" rows", "lower it to "+strconv.Itoa(MaxRepeatsLimit)+" or less")
			case g.MaxRepeats > 0:
				cg.max = g.MaxRepeats
			}
			if !g.Repeating {
				cg.max = 0
			}
			for ii := range g.Items {
				it := &g.Items[ii]
				ci := &cItem{item: it, form: cf, group: gi, pos: len(cf.items)}
				cf.items = append(cf.items, ci)
				ipath := idx(gpath+".items", ii)
				if k.checkOID(ipath, "item", it.OID, k.itemAt, "VS.SYSBP") {
					c.items[it.OID] = ci
				}
				k.compileItem(ci, ipath)
			}
			cg.end = len(cf.items)
			cf.groups = append(cf.groups, cg)
		}
		if len(cf.items) > c.maxItems {
			c.maxItems = len(cf.items)
		}
	}
}

func (k *compiler) compileItem(ci *cItem, path string) {
	it := ci.item
	oid := it.OID
	switch {
	case it.Type == "":
		k.add(path+".type", oid, "item has no data type", "set type to one of "+typeList())
	case !knownType(it.Type):
		k.add(path+".type", oid, "unknown data type "+strconv.Quote(string(it.Type)), "use one of "+typeList())
	}
	isChoice := it.Type == TypeChoice || it.Type == TypeMultiChoice
	switch {
	case isChoice && it.CodeList == "":
		k.add(path+".codelist", oid, "a "+string(it.Type)+" item needs a code list", "set codelist to the OID of a code list")
	case isChoice:
		if cl, ok := k.c.codeLists[it.CodeList]; ok {
			ci.codes = cl
		} else {
			k.add(path+".codelist", oid, "code list "+strconv.Quote(it.CodeList)+" is not in the protocol", "add the code list or correct the OID")
		}
	case it.CodeList != "":
		k.add(path+".codelist", oid, "a "+string(it.Type)+" item cannot have a code list", "remove codelist or make the item a choice or multichoice")
	}
	if it.Digits < 0 {
		k.add(path+".digits", oid, "digits is negative", "set digits to the number of decimal places allowed, 0 for no limit")
	} else if it.Digits > 0 && it.Type != TypeDecimal {
		k.add(path+".digits", oid, "digits applies only to decimal items", "remove digits or make the item a decimal")
	}
	ci.maxLen = DefaultMaxLength
	if it.MaxLength < 0 {
		k.add(path+".max_length", oid, "max_length is negative", "set a positive number of characters, or 0 for the default "+strconv.Itoa(DefaultMaxLength))
	} else if it.MaxLength > 0 {
		ci.maxLen = it.MaxLength
	}
	k.compilePattern(ci, path, oid)
	kind := rangeKind(it.Type)
	hardOK := k.compileRange(&ci.hard, it.Hard, kind, path+".hard", "hard", oid, it.Type)
	softOK := k.compileRange(&ci.soft, it.Soft, kind, path+".soft", "soft", oid, it.Type)
	if hardOK && softOK && it.Hard != nil && it.Soft != nil {
		h, s := &ci.hard, &ci.soft
		if s.min.set && h.min.set && cmpBound(kind, s.min, h.min) < 0 {
			k.add(path+".soft.min", oid, "soft range min "+s.min.text+" is below the hard range min "+h.min.text, "soft ranges must lie inside hard ranges")
		}
		if s.max.set && h.max.set && cmpBound(kind, s.max, h.max) > 0 {
			k.add(path+".soft.max", oid, "soft range max "+s.max.text+" is above the hard range max "+h.max.text, "soft ranges must lie inside hard ranges")
		}
		if s.min.set && h.max.set && cmpBound(kind, s.min, h.max) > 0 {
			k.add(path+".soft.min", oid, "soft range min "+s.min.text+" is above the hard range max "+h.max.text, "soft ranges must lie inside hard ranges")
		}
		if s.max.set && h.min.set && cmpBound(kind, s.max, h.min) < 0 {
			k.add(path+".soft.max", oid, "soft range max "+s.max.text+" is below the hard range min "+h.min.text, "soft ranges must lie inside hard ranges")
		}
	}
}

func cmpBound(kind string, a, b cBound) int {
	if kind == "number" {
		return a.dec.Cmp(b.dec)
	}
	return cmpInt64(a.t, b.t)
}

var boundExample = map[string]string{
	"number":   "120 or 37.5",
	"date":     "2025-01-31",
	"datetime": "2025-01-31T08:30",
	"time":     "08:30",
}

// compileRange parses r into out; it returns false when r has errors.
func (k *compiler) compileRange(out *cRange, r *Range, kind, path, name, oid string, t DataType) bool {
	if r == nil || (r.Min == "" && r.Max == "") {
		return true
	}
	if kind == "" {
		if knownType(t) {
			k.add(path, oid, "a "+string(t)+" item cannot have a "+name+" range", "remove the range; ranges apply to integer, decimal, date, datetime and time items")
		}
		return false
	}
	ok := true
	parse := func(s, which string, b *cBound) {
		if s == "" {
			return
		}
		b.text = s
		good := false
		switch kind {
		case "number":
			b.dec, good = parseDecimal(s)
		case "date":
			var st parseStatus
			b.t, st = parseDate(s)
			good = st == parseOK
		case "datetime":
			var st parseStatus
			b.t, st = parseDateTime(s)
			good = st == parseOK
		case "time":
			b.t, good = parseClock(s)
		}
		if !good {
			ok = false
			k.add(path+"."+which, oid, name+" range "+which+" "+strconv.Quote(s)+" is not a valid "+kind, "write it like "+boundExample[kind])
			return
		}
		b.set = true
	}
	parse(r.Min, "min", &out.min)
	parse(r.Max, "max", &out.max)
	if ok && out.min.set && out.max.set && cmpBound(kind, out.min, out.max) > 0 {
		k.add(path, oid, name+" range min "+out.min.text+" is above max "+out.max.text, "swap the bounds")
		ok = false
	}
	return ok
}

// compileConditions parses ShowIf conditions and edit checks once every
// item is indexed.
func (k *compiler) compileConditions() {
	c := k.c
	for fi := range c.p.Forms {
		f := &c.p.Forms[fi]
		fpath := idx("forms", fi)
		cf := k.formList[fi]
		for gi := range f.Groups {
			g := &f.Groups[gi]
			for ii := range g.Items {
				it := &g.Items[ii]
				ipath := idx(idx(fpath+".groups", gi)+".items", ii)
				ci := c.items[it.OID]
				if ci == nil || ci.item != it {
					ci = nil
				}
				if strings.TrimSpace(it.ShowIf) == "" {
					continue
				}
				cond := k.parseCond(ipath+".show_if", it.OID, "show_if", it.ShowIf)
				if cond == nil {
					continue
				}
				k.checkRefs(ipath+".show_if", it.OID, "show_if", cond.walkOperands, f, gi, it.OID)
				if ci != nil {
					ci.show = cond
					for _, oid := range cond.refs {
						if ri, ok := c.items[oid]; ok && ri.form == ci.form {
							ci.showRefs = append(ci.showRefs, ri)
						}
					}
				}
			}
		}
		for ci := range f.Checks {
			k.compileCheck(f, cf, fi, ci)
		}
		for gi := range cf.groups {
			for _, ch := range cf.checks {
				if ch.group == gi {
					cf.groups[gi].checks = append(cf.groups[gi].checks, ch)
				}
			}
		}
	}
}

func (k *compiler) parseCond(path, oid, field, src string) *Condition {
	cond, err := ParseCondition(src)
	if err != nil {
		ce, _ := err.(*ConditionError)
		if ce == nil {
			k.add(path, oid, field+": "+err.Error(), "")
			return nil
		}
		k.add(path, oid, field+" column "+strconv.Itoa(ce.Pos)+": "+ce.Msg, ce.Fix)
		return nil
	}
	return cond
}

// groupOf returns the form and group of an item OID when the item is known.
func (k *compiler) groupOf(oid string) (*cItem, bool) {
	ci, ok := k.c.items[oid]
	return ci, ok
}

// checkRefs reports references to unknown items, misused checkbox syntax
// and references into repeating groups the condition cannot see. group is
// the group of the condition's own item, or -1 for an edit check; self is
// the item owning a ShowIf.
func (k *compiler) checkRefs(path, oid, field string, walk func(func(*operand)), f *Form, group int, self string) {
	walk(func(o *operand) {
		if o.kind != operandRef {
			return
		}
		ri, ok := k.groupOf(o.oid)
		if !ok {
			k.add(path, oid, field+" refers to ["+o.oid+"], which is not an item of the protocol", "correct the OID or add the item")
			return
		}
		if o.checkbox {
			if ri.item.Type != TypeMultiChoice {
				k.add(path, oid, field+" uses checkbox syntax ["+o.oid+"("+o.code+")] but "+o.oid+" is a "+string(ri.item.Type)+" item", "write ["+o.oid+`] = "`+o.code+`"`)
			} else if ri.codes != nil {
				if _, ok := ri.codes.index[o.code]; !ok {
					k.add(path, oid, field+" refers to code "+strconv.Quote(o.code)+" of "+o.oid+", which is not in code list "+ri.codes.list.OID, "use one of the list's codes")
				}
			}
		}
		if o.oid == self {
			k.add(path, oid, field+" refers to the item itself", "base the condition on other items")
			return
		}
		if group < 0 || ri.form.form != f {
			return
		}
		rg := &ri.form.groups[ri.group]
		if !rg.repeating || ri.group == group {
			return
		}
		if f.Groups[group].Repeating {
			k.add(path, oid, field+" in repeating group "+f.Groups[group].OID+" refers to ["+o.oid+"] of another repeating group "+rg.group.OID,
				"a row can only see its own group's items and the form's non-repeating items")
		} else {
			k.add(path, oid, field+" refers to ["+o.oid+"] of repeating group "+rg.group.OID+", which has one value per row",
				"move the item into that group or refer to a non-repeating item")
		}
	})
}

func (k *compiler) compileCheck(f *Form, cf *cForm, fi, i int) {
	ch := &f.Checks[i]
	path := idx(idx("forms", fi)+".checks", i)
	k.checkOID(path, "edit check", ch.OID, k.checkAt, "VS.CHK1")
	cc := &cCheck{check: ch, idx: i, group: -1, sev: ch.Severity}
	ok := true
	switch ch.Severity {
	case "":
		cc.sev = Hard
	case Hard, Soft:
	default:
		k.add(path+".severity", ch.OID, "unknown severity "+strconv.Quote(string(ch.Severity)), "use hard or soft")
		ok = false
	}
	// The repeating group the check runs per row of, from its condition and items.
	setGroup := func(ci *cItem, what string) {
		if ci.form.form != f || !ci.form.groups[ci.group].repeating {
			return
		}
		if cc.group >= 0 && cc.group != ci.group {
			k.add(path, ch.OID, "edit check mixes items of repeating groups "+cf.groups[cc.group].group.OID+" and "+ci.form.groups[ci.group].group.OID+" ("+what+")",
				"an edit check can see the rows of one repeating group only")
			ok = false
			return
		}
		cc.group = ci.group
	}
	if len(ch.Items) == 0 {
		k.add(path+".items", ch.OID, "edit check names no items", "list the items the problem is reported on")
		ok = false
	}
	for j, oid := range ch.Items {
		ci, known := k.c.items[oid]
		switch {
		case !known:
			k.add(idx(path+".items", j), ch.OID, "edit check names unknown item "+strconv.Quote(oid), "correct the OID or add the item")
			ok = false
			continue
		case ci.form.form != f:
			k.add(idx(path+".items", j), ch.OID, "edit check names item "+oid+" of form "+ci.form.form.OID+"; problems are reported on this form's items", "list items of form "+f.OID)
			ok = false
			continue
		}
		if j == 0 {
			cc.first = ci
		}
		setGroup(ci, oid)
	}
	if strings.TrimSpace(ch.Condition) == "" {
		k.add(path+".condition", ch.OID, "edit check has no condition", `write the condition that must hold, e.g. [VS.DIABP] < [VS.SYSBP]`)
		return
	}
	cond := k.parseCond(path+".condition", ch.OID, "condition", ch.Condition)
	if cond == nil {
		return
	}
	cc.cond = cond
	nerr := len(k.errs)
	k.checkRefs(path+".condition", ch.OID, "condition", cond.walkOperands, f, -1, "")
	if len(k.errs) > nerr {
		ok = false
	}
	for _, oid := range cond.refs {
		if ci, known := k.c.items[oid]; known {
			setGroup(ci, "["+oid+"]")
		}
	}
	if ok && cc.first != nil {
		cf.checks = append(cf.checks, cc)
	}
}

// copyProtocol returns a deep copy of p, so a Compiled cannot be changed
// behind its back.
func copyProtocol(p *Protocol) *Protocol {
	c := *p
	c.Study.PrimaryOutcomes = append([]Outcome(nil), p.Study.PrimaryOutcomes...)
	c.Study.SecondaryOutcomes = append([]Outcome(nil), p.Study.SecondaryOutcomes...)
	c.Study.Arms = append([]Arm(nil), p.Study.Arms...)
	c.Events = append([]Event(nil), p.Events...)
	for i := range c.Events {
		c.Events[i].Forms = append([]string(nil), c.Events[i].Forms...)
	}
	c.Forms = append([]Form(nil), p.Forms...)
	for i := range c.Forms {
		f := &c.Forms[i]
		f.Groups = append([]ItemGroup(nil), f.Groups...)
		for j := range f.Groups {
			g := &f.Groups[j]
			g.Items = append([]Item(nil), g.Items...)
			for n := range g.Items {
				it := &g.Items[n]
				if it.Hard != nil {
					r := *it.Hard
					it.Hard = &r
				}
				if it.Soft != nil {
					r := *it.Soft
					it.Soft = &r
				}
				it.Missing = slices.Clone(it.Missing)
			}
		}
		f.Checks = append([]EditCheck(nil), f.Checks...)
		for j := range f.Checks {
			f.Checks[j].Items = append([]string(nil), f.Checks[j].Items...)
		}
	}
	c.CodeLists = append([]CodeList(nil), p.CodeLists...)
	for i := range c.CodeLists {
		c.CodeLists[i].Items = append([]CodeItem(nil), c.CodeLists[i].Items...)
	}
	c.MissingCodes = slices.Clone(p.MissingCodes)
	c.Randomization = cloneRandomization(p.Randomization)
	return &c
}

// Protocol returns the compiled protocol; it must not be modified.
func (c *Compiled) Protocol() *Protocol { return c.p }

// Form returns the form with the given OID.
func (c *Compiled) Form(oid string) (*Form, bool) {
	f, ok := c.forms[oid]
	if !ok {
		return nil, false
	}
	return f.form, true
}

// Item returns the item with the given OID and the OID of its form.
func (c *Compiled) Item(oid string) (*Item, string, bool) {
	ci, ok := c.items[oid]
	if !ok {
		return nil, "", false
	}
	return ci.item, ci.form.form.OID, true
}

// Event returns the event with the given OID.
func (c *Compiled) Event(oid string) (*Event, bool) {
	e, ok := c.events[oid]
	return e, ok
}

// FormInEvent reports whether the event collects the form.
func (c *Compiled) FormInEvent(eventOID, formOID string) bool {
	_, ok := c.eventForms[[2]string{eventOID, formOID}]
	return ok
}

// CodeList returns the code list with the given OID.
func (c *Compiled) CodeList(oid string) (*CodeList, bool) {
	cl, ok := c.codeLists[oid]
	if !ok {
		return nil, false
	}
	return cl.list, true
}

// ShowIf returns the parsed branching condition of an item, nil when the
// item is always shown or unknown.
func (c *Compiled) ShowIf(itemOID string) *Condition {
	if ci, ok := c.items[itemOID]; ok {
		return ci.show
	}
	return nil
}

// compilePattern compiles the item's pattern, anchored to match the whole
// value.
func (k *compiler) compilePattern(ci *cItem, path, oid string) {
	it := ci.item
	switch {
	case it.Pattern == "" && it.PatternMessage != "":
		k.add(path+".pattern_message", oid, "pattern_message without a pattern", "add the pattern or remove pattern_message")
		return
	case it.Pattern == "":
		return
	case len(it.Pattern) > MaxPatternLength:
		k.add(path+".pattern", oid, "the pattern is longer than "+strconv.Itoa(MaxPatternLength)+" bytes", "shorten the pattern")
		return
	case it.Type == TypeChoice || it.Type == TypeMultiChoice || it.Type == TypeYesNo:
		k.add(path+".pattern", oid, "a "+string(it.Type)+" item cannot have a pattern: its codes already say what is allowed", "remove the pattern")
		return
	}
	re, err := regexp.Compile(`^(?:` + it.Pattern + `)$`)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		k.add(path+".pattern", oid, "the pattern is not a regular expression: "+msg, `write it in RE2 syntax, e.g. [0-9]{5}(-[0-9]{4})? for a US ZIP code`)
		return
	}
	ci.pattern = re
}
