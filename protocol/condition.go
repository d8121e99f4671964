package protocol

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that bound the cost of parsing and evaluating a condition.
const (
	// MaxConditionLength is the longest condition accepted, in bytes.
	MaxConditionLength = 4096
	// MaxConditionDepth is the deepest nesting of parentheses and "not".
	MaxConditionDepth = 64
)

// ConditionError is a syntax error in a condition. Pos is the 1-based
// column (in characters) where the problem starts; Fix suggests a repair.
type ConditionError struct {
	Pos int
	Msg string
	Fix string
}

// Error formats the error as `column 14: expected a value after "=" (write [age] >= 18)`.
func (e *ConditionError) Error() string {
	s := "column " + strconv.Itoa(e.Pos) + ": " + e.Msg
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// Condition is a parsed branching or edit-check condition; it is immutable
// and safe for concurrent use. The syntax is described in the package
// documentation.
type Condition struct {
	src  string
	root *condNode
	refs []string
}

type nodeKind uint8

const (
	nodeCmp nodeKind = iota
	nodeAnd
	nodeOr
	nodeNot
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opText = [...]string{opEq: "=", opNe: "<>", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

type operandKind uint8

const (
	operandRef operandKind = iota
	operandString
	operandNumber
)

// operand is one side of a comparison: an item reference, a checkbox
// reference [oid(code)], a string literal or a number literal.
type operand struct {
	kind     operandKind
	oid      string
	code     string
	checkbox bool
	text     string // literal value (string contents, or number as written)
}

type condNode struct {
	kind nodeKind
	op   cmpOp
	l, r operand
	kids []*condNode
}

// ParseCondition parses a condition such as `[age] >= 18 and [consent] = "1"`.
// Errors are *ConditionError; parsing never panics and its cost is bounded
// by MaxConditionLength and MaxConditionDepth.
func ParseCondition(expr string) (*Condition, error) {
	if len(expr) > MaxConditionLength {
		return nil, &ConditionError{
			Pos: utf8.RuneCountInString(expr[:MaxConditionLength]) + 1,
			Msg: "the condition is longer than " + strconv.Itoa(MaxConditionLength) + " bytes",
			Fix: "simplify it or split it into several checks",
		}
	}
	p := &condParser{src: expr}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.errAt(0, "the condition is empty", `write a comparison such as [age] >= 18`)
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokEOF:
	case tokRParen:
		return nil, p.errAt(p.tok.pos, `unexpected ")" without a matching "("`, `remove it or add "(" before the part it closes`)
	default:
		return nil, p.errAt(p.tok.pos, "expected and / or before "+p.tokText(), `join comparisons with and / or, e.g. [a] = "1" and [b] = "2"`)
	}
	c := &Condition{src: expr, root: root}
	seen := map[string]bool{}
	walkOperands(root, func(o *operand) {
		if o.kind == operandRef && !seen[o.oid] {
			seen[o.oid] = true
			c.refs = append(c.refs, o.oid)
		}
	})
	slices.Sort(c.refs)
	return c, nil
}

// Refs returns the item OIDs the condition refers to, sorted and unique;
// a checkbox reference [meds(3)] counts as "meds".
func (c *Condition) Refs() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.refs)
}

// Source returns the condition as it was written.
func (c *Condition) Source() string {
	if c == nil {
		return ""
	}
	return c.src
}

// String returns the condition in canonical form: single spaces, lower-case
// and / or / not, "=" and "<>" for equality, parentheses only where written
// and needed. Parsing the result gives the same condition.
func (c *Condition) String() string {
	if c == nil || c.root == nil {
		return ""
	}
	var b strings.Builder
	writeNode(&b, c.root)
	return b.String()
}

// Eval evaluates the condition. get returns an item's value; a reference
// to an item without a value (get returns "", or ok false) compares as
// the empty string. A nil Condition is true (an item without ShowIf is
// always shown).
func (c *Condition) Eval(get func(oid string) (string, bool)) bool {
	if c == nil || c.root == nil {
		return true
	}
	return evalNode(c.root, get)
}

func evalNode(n *condNode, get func(string) (string, bool)) bool {
	switch n.kind {
	case nodeAnd:
		for _, k := range n.kids {
			if !evalNode(k, get) {
				return false
			}
		}
		return true
	case nodeOr:
		for _, k := range n.kids {
			if evalNode(k, get) {
				return true
			}
		}
		return false
	case nodeNot:
		return !evalNode(n.kids[0], get)
	}
	return compareValues(n.op, operandValue(&n.l, get), operandValue(&n.r, get))
}

func operandValue(o *operand, get func(string) (string, bool)) string {
	if o.kind != operandRef {
		return o.text
	}
	v, ok := get(o.oid)
	if !ok {
		v = ""
	}
	if o.checkbox {
		if hasCode(v, o.code) {
			return "1"
		}
		return "0"
	}
	return v
}

// hasCode reports whether the comma-separated multichoice value v holds code.
func hasCode(v, code string) bool {
	for v != "" {
		i := strings.IndexByte(v, ',')
		part := v
		if i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if part == code {
			return true
		}
	}
	return false
}

// compareValues applies op to two values: numerically when both are
// decimals, chronologically when both are ISO dates or datetimes, and as
// text otherwise. Ordering comparisons involving "" or mixing kinds are
// false.
func compareValues(op cmpOp, a, b string) bool {
	c, ok := 0, false
	if da, okA := parseDecimal(a); okA {
		if db, okB := parseDecimal(b); okB {
			c, ok = da.Cmp(db), true
		}
	}
	if !ok {
		if ta, okA := parseTemporal(a); okA {
			if tb, okB := parseTemporal(b); okB {
				c, ok = cmpInt64(ta, tb), true
			}
		}
	}
	if !ok {
		switch op {
		case opEq:
			return a == b
		case opNe:
			return a != b
		}
		if a == "" || b == "" || isDecimal(a) || isDecimal(b) || isTemporal(a) || isTemporal(b) {
			return false
		}
		c = strings.Compare(a, b)
	}
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func isTemporal(s string) bool {
	_, ok := parseTemporal(s)
	return ok
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// walkOperands calls f on every operand of the condition.
func (c *Condition) walkOperands(f func(*operand)) { walkOperands(c.root, f) }

func walkOperands(n *condNode, f func(*operand)) {
	if n.kind == nodeCmp {
		f(&n.l)
		f(&n.r)
		return
	}
	for _, k := range n.kids {
		walkOperands(k, f)
	}
}

func writeNode(b *strings.Builder, n *condNode) {
	switch n.kind {
	case nodeCmp:
		writeOperand(b, &n.l)
		b.WriteByte(' ')
		b.WriteString(opText[n.op])
		b.WriteByte(' ')
		writeOperand(b, &n.r)
	case nodeNot:
		b.WriteString("not ")
		k := n.kids[0]
		if k.kind == nodeAnd || k.kind == nodeOr {
			b.WriteByte('(')
			writeNode(b, k)
			b.WriteByte(')')
		} else {
			writeNode(b, k)
		}
	default:
		sep := " and "
		if n.kind == nodeOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// "and" binds tighter than "or"; any other nesting came from
			// parentheses and keeps them.
			if k.kind == nodeOr || k.kind == nodeAnd && n.kind == nodeAnd {
				b.WriteByte('(')
				writeNode(b, k)
				b.WriteByte(')')
			} else {
				writeNode(b, k)
			}
		}
	}
}

func writeOperand(b *strings.Builder, o *operand) {
	switch o.kind {
	case operandRef:
		b.WriteByte('[')
		b.WriteString(o.oid)
		if o.checkbox {
			b.WriteByte('(')
			b.WriteString(o.code)
			b.WriteByte(')')
		}
		b.WriteByte(']')
	case operandNumber:
		b.WriteString(o.text)
	default:
		q := byte('"')
		if strings.IndexByte(o.text, '"') >= 0 {
			q = '\''
		}
		b.WriteByte(q)
		b.WriteString(o.text)
		b.WriteByte(q)
	}
}

// Lexer and parser.

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokRef
	tokString
	tokNumber
	tokOp
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
	tokArith // + - * / in a derivation
	tokComma // , between a function's arguments
	tokFunc  // a function name followed by "(" in a derivation
)

type token struct {
	kind tokKind
	pos  int // byte offset
	end  int
	op   cmpOp
	val  operand
}

type condParser struct {
	src string
	i   int
	tok token
	// arith lexes a derivation: + - * / , and function names are tokens.
	arith bool
}

func (p *condParser) errAt(bytePos int, msg, fix string) *ConditionError {
	if bytePos > len(p.src) {
		bytePos = len(p.src)
	}
	return &ConditionError{Pos: utf8.RuneCountInString(p.src[:bytePos]) + 1, Msg: msg, Fix: fix}
}

func (p *condParser) tokText() string {
	if p.tok.kind == tokEOF {
		return "the end"
	}
	return strconv.Quote(p.src[p.tok.pos:p.tok.end])
}

func isOIDStart(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isOIDByte(c byte) bool {
	return isOIDStart(c) || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// ValidOID reports whether s is a valid OID: a letter followed by letters,
// digits, "_" and ".".
func ValidOID(s string) bool {
	if s == "" || !isOIDStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isOIDByte(s[i]) {
			return false
		}
	}
	return true
}

func isCodeByte(c byte) bool { return isOIDByte(c) || c == '-' }

func isWordByte(c byte) bool { return isOIDByte(c) || c >= 0x80 }

// next reads the next token into p.tok.
func (p *condParser) next() *ConditionError {
	s := p.src
	for p.i < len(s) && (s[p.i] == ' ' || s[p.i] == '\t' || s[p.i] == '\n' || s[p.i] == '\r') {
		p.i++
	}
	start := p.i
	prev := p.tok.kind
	p.tok = token{kind: tokEOF, pos: start, end: start}
	if start >= len(s) {
		return nil
	}
	c := s[start]
	if p.arith {
		if done, err := p.lexArith(prev); done {
			return err
		}
	}
	switch {
	case c == '[':
		return p.lexRef()
	case c == '"' || c == '\'':
		end := strings.IndexByte(s[start+1:], c)
		if end < 0 {
			return p.errAt(start, "the text starting here is not closed with "+string(c), "add a closing "+string(c))
		}
		p.i = start + 1 + end + 1
		p.tok = token{kind: tokString, pos: start, end: p.i, val: operand{kind: operandString, text: s[start+1 : start+1+end]}}
		return nil
	case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
		return p.lexNumber()
	case c == '(':
		p.i++
		p.tok = token{kind: tokLParen, pos: start, end: p.i}
		return nil
	case c == ')':
		p.i++
		p.tok = token{kind: tokRParen, pos: start, end: p.i}
		return nil
	case c == '&' || c == '|':
		if start+1 < len(s) && s[start+1] == c {
			p.i += 2
			k := tokAnd
			if c == '|' {
				k = tokOr
			}
			p.tok = token{kind: k, pos: start, end: p.i}
			return nil
		}
		word := "and"
		if c == '|' {
			word = "or"
		}
		return p.errAt(start, "unexpected "+strconv.Quote(string(c)), "write "+word)
	case c == '=' || c == '<' || c == '>' || c == '!':
		return p.lexOp()
	case isWordByte(c):
		end := start
		for end < len(s) && isWordByte(s[end]) {
			end++
		}
		word := s[start:end]
		p.i = end
		switch strings.ToLower(word) {
		case "and":
			p.tok = token{kind: tokAnd, pos: start, end: end}
			return nil
		case "or":
			p.tok = token{kind: tokOr, pos: start, end: end}
			return nil
		case "not":
			p.tok = token{kind: tokNot, pos: start, end: end}
			return nil
		}
		if ValidOID(word) {
			return p.errAt(start, "unknown word "+strconv.Quote(word)+": item references are written in brackets and text in quotes",
				"write ["+word+"] or \""+word+"\"")
		}
		return p.errAt(start, "unknown word "+strconv.Quote(word), `write item references as [OID] and text in quotes`)
	}
	return p.errAt(start, "unexpected character "+quoteAt(s, start), `use only [items], "text", numbers, comparisons, and / or / not and parentheses`)
}

func (p *condParser) lexOp() *ConditionError {
	s, start := p.src, p.i
	two := ""
	if start+2 <= len(s) {
		two = s[start : start+2]
	}
	var op cmpOp
	n := 2
	switch two {
	case "<=":
		op = opLe
	case ">=":
		op = opGe
	case "<>", "!=":
		op = opNe
	case "==":
		op = opEq
	case "=<", "=>":
		return p.errAt(start, strconv.Quote(two)+" is not an operator", "write "+string(two[1])+"=")
	case "><":
		return p.errAt(start, `"><" is not an operator`, "write <>")
	default:
		n = 1
		switch s[start] {
		case '=':
			op = opEq
		case '<':
			op = opLt
		case '>':
			op = opGt
		default:
			return p.errAt(start, `unexpected "!"`, `write != to compare, or not to negate`)
		}
	}
	p.i = start + n
	p.tok = token{kind: tokOp, pos: start, end: p.i, op: op}
	return nil
}

func (p *condParser) lexNumber() *ConditionError {
	s, start := p.src, p.i
	end := start
	if s[end] == '-' || s[end] == '+' {
		end++
	}
	for end < len(s) && (isWordByte(s[end]) || s[end] == '.' || s[end] == '+' || s[end] == '-') {
		if (s[end] == '+' || s[end] == '-') && !(s[end-1] == 'e' || s[end-1] == 'E') {
			break
		}
		end++
	}
	text := s[start:end]
	if !isDecimal(text) {
		fix := "write numbers like 18, -2 or 37.5 (no exponent, no thousands separator)"
		switch {
		case text == "-" || text == "+":
			fix = "put a number right after the sign, e.g. -5"
		case strings.HasPrefix(text, ".") || strings.HasPrefix(text, "-.") || strings.HasPrefix(text, "+."):
			fix = "write a digit before the decimal point, e.g. 0.5"
		case strings.HasSuffix(text, "."):
			fix = "write a digit after the decimal point, e.g. 5.0, or drop the point"
		}
		return p.errAt(start, strconv.Quote(text)+" is not a number", fix)
	}
	p.i = end
	p.tok = token{kind: tokNumber, pos: start, end: end, val: operand{kind: operandNumber, text: text}}
	return nil
}

func (p *condParser) lexRef() *ConditionError {
	s, start := p.src, p.i
	i := start + 1
	for i < len(s) && isOIDByte(s[i]) {
		i++
	}
	oid := s[start+1 : i]
	const oidRule = "an item OID starts with a letter and holds only letters, digits, _ and ."
	if i >= len(s) {
		return p.errAt(start, "the item reference is not closed with ]", "write ["+oidOr(oid)+"]")
	}
	if oid == "" {
		if s[i] == ']' {
			return p.errAt(start, "empty item reference []", "write the item OID inside the brackets, e.g. [age]")
		}
		return p.errAt(i, "unexpected "+quoteAt(s, i)+" in an item reference: "+oidRule, "write e.g. [age]")
	}
	if !isOIDStart(oid[0]) {
		return p.errAt(start+1, strconv.Quote(oid)+" is not a valid item OID: "+oidRule, "rename the item, e.g. [v"+oid+"]")
	}
	val := operand{kind: operandRef, oid: oid}
	if s[i] == '(' {
		j := i + 1
		for j < len(s) && isCodeByte(s[j]) {
			j++
		}
		code := s[i+1 : j]
		if code == "" || j >= len(s) || s[j] != ')' {
			return p.errAt(i, "a checkbox reference needs a code in parentheses", "write ["+oid+"(3)]")
		}
		val.checkbox, val.code = true, code
		i = j + 1
		if i >= len(s) {
			return p.errAt(start, "the item reference is not closed with ]", "write ["+oid+"("+code+")]")
		}
	}
	if s[i] != ']' {
		return p.errAt(i, "unexpected "+quoteAt(s, i)+" in an item reference: "+oidRule, "write ["+oid+"]")
	}
	i++
	if i < len(s) && s[i] == '[' {
		return p.errAt(start, "event-prefixed references like [event][item] are not supported", "refer to the item alone; cross-form values come from the subject's other forms")
	}
	p.i = i
	p.tok = token{kind: tokRef, pos: start, end: i, val: val}
	return nil
}

func oidOr(s string) string {
	if s == "" {
		return "age"
	}
	return s
}

func quoteAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.Quote(string(r))
}

func (p *condParser) parseOr(depth int) (*condNode, *ConditionError) {
	first, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOr {
		return first, nil
	}
	n := &condNode{kind: nodeOr, kids: []*condNode{first}}
	for p.tok.kind == tokOr {
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
	return n, nil
}

func (p *condParser) parseAnd(depth int) (*condNode, *ConditionError) {
	first, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokAnd {
		return first, nil
	}
	n := &condNode{kind: nodeAnd, kids: []*condNode{first}}
	for p.tok.kind == tokAnd {
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
	return n, nil
}

func (p *condParser) parseUnary(depth int) (*condNode, *ConditionError) {
	switch p.tok.kind {
	case tokNot, tokLParen:
		if depth >= MaxConditionDepth {
			return nil, p.errAt(p.tok.pos, "the condition is nested more than "+strconv.Itoa(MaxConditionDepth)+" levels deep", "simplify it")
		}
	}
	switch p.tok.kind {
	case tokNot:
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &condNode{kind: nodeNot, kids: []*condNode{k}}, nil
	case tokLParen:
		open := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return nil, p.errAt(open, "empty parentheses", `put a comparison inside, e.g. ([a] = "1")`)
		}
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			if p.tok.kind == tokEOF {
				return nil, p.errAt(open, `the "(" opened here is not closed`, `add ")"`)
			}
			return nil, p.errAt(p.tok.pos, "expected and / or / ) before "+p.tokText(), `close the "(" at column `+strconv.Itoa(p.errAt(open, "", "").Pos)+` or join with and / or`)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.parseComparison()
}

func (p *condParser) parseComparison() (*condNode, *ConditionError) {
	if !isValueTok(p.tok.kind) {
		if p.tok.kind == tokEOF {
			return nil, p.errAt(p.tok.pos, "expected a comparison at the end", `complete it, e.g. [age] >= 18`)
		}
		return nil, p.errAt(p.tok.pos, "expected a comparison such as [age] >= 18, found "+p.tokText(), `start with an [item], "text" or a number`)
	}
	left := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokOp {
		lt := p.src[left.pos:left.end]
		return nil, p.errAt(p.tok.pos, "expected a comparison operator after "+lt, "write "+lt+` = "1"`)
	}
	opTok := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	if !isValueTok(p.tok.kind) {
		lt := p.src[left.pos:left.end]
		example := `"1"`
		if opTok.op >= opLt {
			example = "18"
		}
		return nil, p.errAt(p.tok.pos, "expected a value after "+strconv.Quote(p.src[opTok.pos:opTok.end]),
			"write "+lt+" "+p.src[opTok.pos:opTok.end]+" "+example)
	}
	n := &condNode{kind: nodeCmp, op: opTok.op, l: left.val, r: p.tok.val}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokOp {
		return nil, p.errAt(p.tok.pos, "comparisons cannot be chained", `join them with and, e.g. [a] > 1 and [a] < 5`)
	}
	return n, nil
}

func isValueTok(k tokKind) bool { return k == tokRef || k == tokString || k == tokNumber }
