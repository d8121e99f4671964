package protocol

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Derivation is a parsed Item.Derive expression: arithmetic on exact
// decimals with round, min, max, abs, if and datediff, as described in the
// package documentation. It is immutable and safe for concurrent use.
type Derivation struct {
	src  string
	root *exprNode
	refs []string
}

type exprKind uint8

const (
	exNum  exprKind = iota // a number literal
	exRef                  // an item reference
	exDate                 // a date literal (datediff arguments only)
	exNeg
	exAdd
	exSub
	exMul
	exDiv
	exRound
	exMin
	exMax
	exAbs
	exIf
	exDateDiff
)

// exprNode is one node of a derivation.
type exprNode struct {
	kind   exprKind
	num    fixed     // exNum
	text   string    // exNum and exDate as written
	ref    operand   // exRef
	days   int64     // exDate
	places int       // exRound
	unit   string    // exDateDiff: "d", "M" or "y"
	cond   *condNode // exIf
	args   []*exprNode
	pos    int // byte offset in the source, for messages
}

// deriveFuncs are the functions of a derivation, by lower-case name.
var deriveFuncs = map[string]exprKind{
	"round": exRound, "min": exMin, "max": exMax, "abs": exAbs, "if": exIf, "datediff": exDateDiff,
}

const funcList = "round, min, max, abs, if and datediff"

// lexArith reads the tokens only a derivation has: + - * / , and a
// function name before "(". It reports done when it set p.tok (or an
// error); otherwise the condition lexer goes on.
func (p *condParser) lexArith(prev tokKind) (bool, *ConditionError) {
	s, start := p.src, p.i
	c := s[start]
	afterValue := prev == tokRef || prev == tokString || prev == tokNumber || prev == tokRParen
	switch {
	case c == '*' || c == '/' || c == ',':
		p.i++
		k := tokArith
		if c == ',' {
			k = tokComma
		}
		p.tok = token{kind: k, pos: start, end: p.i, val: operand{text: string(c)}}
		return true, nil
	case c == '+' || c == '-':
		if !afterValue && start+1 < len(s) && s[start+1] >= '0' && s[start+1] <= '9' {
			return false, nil // a signed number
		}
		p.i++
		p.tok = token{kind: tokArith, pos: start, end: p.i, val: operand{text: string(c)}}
		return true, nil
	case isWordByte(c):
		end := start
		for end < len(s) && isWordByte(s[end]) {
			end++
		}
		j := end
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= len(s) || s[j] != '(' {
			return false, nil
		}
		name := strings.ToLower(s[start:end])
		if name == "and" || name == "or" || name == "not" {
			return false, nil
		}
		if _, ok := deriveFuncs[name]; !ok {
			return true, p.errAt(start, "unknown function "+strconv.Quote(s[start:end]), "use "+funcList)
		}
		p.i = end
		p.tok = token{kind: tokFunc, pos: start, end: end, val: operand{text: name}}
		return true, nil
	}
	return false, nil
}

// ParseDerivation parses a derivation such as
// `round([DM.WEIGHT] / (([DM.HEIGHT] / 100) * ([DM.HEIGHT] / 100)), 1)`.
// Errors are *ConditionError; parsing never panics and its cost is
// bounded by MaxConditionLength and MaxConditionDepth.
func ParseDerivation(expr string) (*Derivation, error) {
	if len(expr) > MaxConditionLength {
		return nil, &ConditionError{
			Pos: utf8.RuneCountInString(expr[:MaxConditionLength]) + 1,
			Msg: "the derivation is longer than " + strconv.Itoa(MaxConditionLength) + " bytes",
			Fix: "simplify it or derive intermediate items",
		}
	}
	p := &condParser{src: expr, arith: true}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.errAt(0, "the derivation is empty", "write an expression such as [VS.SYSBP] - [VS.DIABP]")
	}
	root, err := p.parseSum(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		if p.tok.kind == tokRParen {
			return nil, p.errAt(p.tok.pos, `unexpected ")" without a matching "("`, `remove it or add "(" before the part it closes`)
		}
		return nil, p.errAt(p.tok.pos, "expected + - * / before "+p.tokText(), "join values with an operator, e.g. [a] + [b]")
	}
	d := &Derivation{src: expr, root: root}
	seen := map[string]bool{}
	d.walkOperands(func(o *operand) {
		if o.kind == operandRef && !seen[o.oid] {
			seen[o.oid] = true
			d.refs = append(d.refs, o.oid)
		}
	})
	slices.Sort(d.refs)
	return d, nil
}

// Refs returns the item OIDs the derivation refers to, sorted and unique.
func (d *Derivation) Refs() []string {
	if d == nil {
		return nil
	}
	return slices.Clone(d.refs)
}

// Source returns the derivation as it was written.
func (d *Derivation) Source() string {
	if d == nil {
		return ""
	}
	return d.src
}

// walkOperands calls f on every item reference and literal of the
// derivation, those of if() conditions included.
func (d *Derivation) walkOperands(f func(*operand)) { walkExpr(d.root, f) }

func walkExpr(n *exprNode, f func(*operand)) {
	switch n.kind {
	case exRef:
		f(&n.ref)
	case exIf:
		walkOperands(n.cond, f)
	}
	for _, a := range n.args {
		walkExpr(a, f)
	}
}

func (p *condParser) parseSum(depth int) (*exprNode, *ConditionError) {
	left, err := p.parseProduct(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokArith && (p.tok.val.text == "+" || p.tok.val.text == "-") {
		n := &exprNode{kind: exAdd, pos: p.tok.pos}
		if p.tok.val.text == "-" {
			n.kind = exSub
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := p.parseProduct(depth)
		if err != nil {
			return nil, err
		}
		n.args = []*exprNode{left, right}
		left = n
	}
	return left, nil
}

func (p *condParser) parseProduct(depth int) (*exprNode, *ConditionError) {
	left, err := p.parseFactor(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokArith && (p.tok.val.text == "*" || p.tok.val.text == "/") {
		n := &exprNode{kind: exMul, pos: p.tok.pos}
		if p.tok.val.text == "/" {
			n.kind = exDiv
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := p.parseFactor(depth)
		if err != nil {
			return nil, err
		}
		n.args = []*exprNode{left, right}
		left = n
	}
	return left, nil
}

func (p *condParser) parseFactor(depth int) (*exprNode, *ConditionError) {
	if depth >= MaxConditionDepth {
		return nil, p.errAt(p.tok.pos, "the derivation is nested more than "+strconv.Itoa(MaxConditionDepth)+" levels deep", "simplify it")
	}
	t := p.tok
	switch t.kind {
	case tokArith:
		if t.val.text != "-" && t.val.text != "+" {
			return nil, p.errAt(t.pos, "expected a value before "+p.tokText(), "write e.g. [a] "+t.val.text+" 2")
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := p.parseFactor(depth + 1)
		if err != nil {
			return nil, err
		}
		if t.val.text == "+" {
			return k, nil
		}
		return &exprNode{kind: exNeg, pos: t.pos, args: []*exprNode{k}}, nil
	case tokNumber:
		f, st := parseFixed(t.val.text)
		if st != fixOK {
			return nil, p.errAt(t.pos, strconv.Quote(t.val.text)+" has more than "+strconv.Itoa(MaxDeriveDigits)+" digits", "write a shorter number")
		}
		return p.advance(&exprNode{kind: exNum, num: f, text: t.val.text, pos: t.pos})
	case tokRef:
		return p.advance(&exprNode{kind: exRef, ref: t.val, pos: t.pos})
	case tokString:
		return nil, p.errAt(t.pos, "text "+p.tokText()+" is not a number", `only datediff takes text: a date "2025-01-31" or its unit "d", "M" or "y"`)
	case tokLParen:
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return nil, p.errAt(t.pos, "empty parentheses", "put an expression inside, e.g. ([a] + [b])")
		}
		n, err := p.parseSum(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errAt(t.pos, `the "(" opened here is not closed`, `add ")"`)
		}
		return p.advance(n)
	case tokFunc:
		return p.parseCall(depth + 1)
	case tokEOF:
		return nil, p.errAt(t.pos, "expected a value at the end", "complete the expression")
	}
	return nil, p.errAt(t.pos, "expected a value, found "+p.tokText(), `write an [item], a number, a function such as round(...) or "(" ... ")"`)
}

// advance moves past the current token and returns n.
func (p *condParser) advance(n *exprNode) (*exprNode, *ConditionError) {
	if err := p.next(); err != nil {
		return nil, err
	}
	return n, nil
}

// parseCall parses name(arguments) with the name as the current token.
func (p *condParser) parseCall(depth int) (*exprNode, *ConditionError) {
	name, start := p.tok.val.text, p.tok.pos
	n := &exprNode{kind: deriveFuncs[name], pos: start}
	if err := p.next(); err != nil { // the name
		return nil, err
	}
	if err := p.next(); err != nil { // "("
		return nil, err
	}
	usage := map[exprKind]string{
		exRound: "round(value, places)", exMin: "min(a, b, ...)", exMax: "max(a, b, ...)", exAbs: "abs(value)",
		exIf: `if(condition, value if true, value if false)`, exDateDiff: `datediff([start], [end], "d")`,
	}[n.kind]
	for arg := 0; ; arg++ {
		if p.tok.kind == tokRParen && arg == 0 {
			return nil, p.errAt(p.tok.pos, name+"() needs arguments", "write "+usage)
		}
		switch {
		case n.kind == exIf && arg == 0:
			c, err := p.parseOr(depth)
			if err != nil {
				return nil, err
			}
			n.cond = c
		case n.kind == exDateDiff && arg == 2:
			if p.tok.kind != tokString {
				return nil, p.errAt(p.tok.pos, "datediff's unit must be \"d\", \"M\" or \"y\"", "write "+usage)
			}
			switch u := p.tok.val.text; u {
			case "d", "M", "y":
				n.unit = u
			case "m":
				return nil, p.errAt(p.tok.pos, `datediff unit "m" means minutes`, `write "M" for months or "d" for days`)
			default:
				return nil, p.errAt(p.tok.pos, "unknown datediff unit "+strconv.Quote(u), `use "d" (days), "M" (months) or "y" (years)`)
			}
			if err := p.next(); err != nil {
				return nil, err
			}
		case n.kind == exDateDiff && p.tok.kind == tokString:
			days, ok := DateDays(p.tok.val.text)
			if !ok {
				return nil, p.errAt(p.tok.pos, p.tokText()+" is not a date", "write it YYYY-MM-DD")
			}
			a := &exprNode{kind: exDate, days: days, text: p.tok.val.text, pos: p.tok.pos}
			if err := p.next(); err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
		case n.kind == exRound && arg == 1:
			if p.tok.kind != tokNumber || !isInteger(p.tok.val.text) || strings.HasPrefix(p.tok.val.text, "-") {
				return nil, p.errAt(p.tok.pos, "round's places must be a whole number from 0 to "+strconv.Itoa(DivisionPlaces), "write e.g. round([a] / [b], 1)")
			}
			places, err := strconv.Atoi(strings.TrimPrefix(p.tok.val.text, "+"))
			if err != nil || places > DivisionPlaces {
				return nil, p.errAt(p.tok.pos, "round's places must be a whole number from 0 to "+strconv.Itoa(DivisionPlaces), "write e.g. round([a] / [b], 1)")
			}
			n.places = places
			if err := p.next(); err != nil {
				return nil, err
			}
		default:
			a, err := p.parseSum(depth)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
		}
		if p.tok.kind == tokComma {
			if err := p.next(); err != nil {
				return nil, err
			}
			continue
		}
		if p.tok.kind != tokRParen {
			if p.tok.kind == tokEOF {
				return nil, p.errAt(start, name+"( is not closed", `add ")"`)
			}
			return nil, p.errAt(p.tok.pos, "expected , or ) in "+name+"(), found "+p.tokText(), "write "+usage)
		}
		got := arg + 1
		want := map[exprKind][2]int{exRound: {1, 2}, exMin: {1, 1 << 30}, exMax: {1, 1 << 30}, exAbs: {1, 1}, exIf: {3, 3}, exDateDiff: {3, 3}}[n.kind]
		if got < want[0] || got > want[1] {
			return nil, p.errAt(start, name+"() takes "+argCount(want)+" argument(s), not "+strconv.Itoa(got), "write "+usage)
		}
		return p.advance(n)
	}
}

func argCount(w [2]int) string {
	switch {
	case w[0] == w[1]:
		return strconv.Itoa(w[0])
	case w[1] > 100:
		return strconv.Itoa(w[0]) + " or more"
	}
	return strconv.Itoa(w[0]) + " to " + strconv.Itoa(w[1])
}

// String returns the derivation in canonical form: single spaces around
// operators, lower-case function names, parentheses where needed.
// Parsing the result gives the same derivation.
func (d *Derivation) String() string {
	if d == nil || d.root == nil {
		return ""
	}
	var b strings.Builder
	writeExpr(&b, d.root, 0)
	return b.String()
}

// precedence of a node as an operand: 1 sums, 2 products, 3 the rest.
func precedence(n *exprNode) int {
	switch n.kind {
	case exAdd, exSub:
		return 1
	case exMul, exDiv:
		return 2
	}
	return 3
}

var funcName = map[exprKind]string{exRound: "round", exMin: "min", exMax: "max", exAbs: "abs", exIf: "if", exDateDiff: "datediff"}

func writeExpr(b *strings.Builder, n *exprNode, min int) {
	if precedence(n) < min {
		b.WriteByte('(')
		writeExpr(b, n, 0)
		b.WriteByte(')')
		return
	}
	switch n.kind {
	case exNum:
		b.WriteString(n.text)
	case exRef:
		writeOperand(b, &n.ref)
	case exDate:
		b.WriteString(`"` + n.text + `"`)
	case exNeg:
		b.WriteByte('-')
		writeExpr(b, n.args[0], 3)
	case exAdd, exSub, exMul, exDiv:
		op := map[exprKind]string{exAdd: " + ", exSub: " - ", exMul: " * ", exDiv: " / "}[n.kind]
		p := precedence(n)
		writeExpr(b, n.args[0], p)
		b.WriteString(op)
		writeExpr(b, n.args[1], p+1) // left-associative
	default:
		b.WriteString(funcName[n.kind])
		b.WriteByte('(')
		if n.kind == exIf {
			writeNode(b, n.cond)
			b.WriteString(", ")
		}
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, a, 0)
		}
		switch n.kind {
		case exRound:
			b.WriteString(", " + strconv.Itoa(n.places))
		case exDateDiff:
			b.WriteString(`, "` + n.unit + `"`)
		}
		b.WriteByte(')')
	}
}

// eval computes the derivation; get returns an item's value as for a
// condition.
func (d *Derivation) eval(get func(string) (string, bool)) (fixed, fixedStatus) {
	return evalExpr(d.root, get)
}

func evalExpr(n *exprNode, get func(string) (string, bool)) (fixed, fixedStatus) {
	switch n.kind {
	case exNum:
		return n.num, fixOK
	case exRef:
		v := operandValue(&n.ref, get)
		if v == "" {
			return fixed{}, fixEmpty
		}
		return parseFixed(v)
	case exIf:
		if evalNode(n.cond, get) {
			return evalExpr(n.args[0], get)
		}
		return evalExpr(n.args[1], get)
	case exDateDiff:
		return evalDateDiff(n, get)
	}
	a, st := evalExpr(n.args[0], get)
	if st != fixOK {
		return a, st
	}
	switch n.kind {
	case exNeg:
		return a.negate(), fixOK
	case exAbs:
		a.neg = false
		return a, fixOK
	case exRound:
		return a.round(n.places)
	case exMin, exMax:
		for _, arg := range n.args[1:] {
			b, st := evalExpr(arg, get)
			if st != fixOK {
				return b, st
			}
			if c := b.cmp(a); n.kind == exMin && c < 0 || n.kind == exMax && c > 0 {
				a = b
			}
		}
		return a, fixOK
	}
	b, st := evalExpr(n.args[1], get)
	if st != fixOK {
		return b, st
	}
	switch n.kind {
	case exAdd:
		return a.add(b)
	case exSub:
		return a.add(b.negate())
	case exMul:
		return a.mul(b)
	}
	return a.div(b)
}

// evalDateDiff counts from the first date to the second: days, or
// completed calendar months or years, negative when the second is
// earlier.
func evalDateDiff(n *exprNode, get func(string) (string, bool)) (fixed, fixedStatus) {
	var ds [2]string
	for i, a := range n.args {
		if a.kind == exDate {
			ds[i] = a.text
			continue
		}
		ds[i] = operandValue(&a.ref, get)
		if ds[i] == "" {
			return fixed{}, fixEmpty
		}
		if _, st := parseDate(ds[i]); st != parseOK {
			return fixed{}, fixBadInput
		}
	}
	var diff int64
	if n.unit == "d" {
		a, _ := DateDays(ds[0])
		b, _ := DateDays(ds[1])
		diff = b - a
	} else {
		diff = int64(completedMonths(ds[0], ds[1]))
		if n.unit == "y" {
			diff /= 12 // toward zero: completed years either way
		}
	}
	f := fixed{c: uint64(diff), neg: diff < 0}
	if diff < 0 {
		f.c = uint64(-diff)
	}
	return f, fixOK
}

// completedMonths counts the whole calendar months from date a to date b
// (both valid YYYY-MM-DD), negative when b is before a. A month is
// complete on the same day of the month (2025-01-31 to 2025-02-28 is 0
// months, to 2025-03-31 is 2).
func completedMonths(a, b string) int {
	if b < a {
		return -completedMonths(b, a)
	}
	ya, _ := digitsAt(a, 0, 4)
	ma, _ := digitsAt(a, 5, 2)
	da, _ := digitsAt(a, 8, 2)
	yb, _ := digitsAt(b, 0, 4)
	mb, _ := digitsAt(b, 5, 2)
	db, _ := digitsAt(b, 8, 2)
	m := (yb-ya)*12 + mb - ma
	if db < da {
		m--
	}
	return m
}
