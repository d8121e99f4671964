package protocol

import (
	"errors"
	"strings"
)

// Decimal is an exact decimal number of any length, as written in a value,
// a range bound or a condition. It never goes through floating point, so
// every validator compares numbers to the last digit in the same way.
//
// The accepted syntax is an optional sign, at least one digit, then
// optionally a point followed by at least one digit: "12", "-12.50", "+3",
// "0.5", "007". Rejected: ".5", "5.", "1e3", "NaN", "Inf", "0x1F", "1,5",
// "1_000" and any space. The zero value is 0.
type Decimal struct {
	neg    bool
	intp   string // integer digits without leading zeros ("" for 0)
	frac   string // fraction digits without trailing zeros
	places int    // fraction digits as written, trailing zeros included
}

var errDecimalSyntax = errors.New(`not a decimal number: write digits with an optional sign and decimal point, like -12.50 (no exponent, spaces or thousands separators)`)

// ParseDecimal parses s with the syntax described on Decimal.
func ParseDecimal(s string) (Decimal, error) {
	d, ok := parseDecimal(s)
	if !ok {
		return Decimal{}, errDecimalSyntax
	}
	return d, nil
}

// parseDecimal is ParseDecimal without the error value; it never allocates.
func parseDecimal(s string) (Decimal, bool) {
	var d Decimal
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		d.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return Decimal{}, false
	}
	intp := s[start:i]
	frac := ""
	if i < len(s) {
		if s[i] != '.' {
			return Decimal{}, false
		}
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs || i != len(s) {
			return Decimal{}, false
		}
		frac = s[fs:i]
	}
	d.places = len(frac)
	d.intp = strings.TrimLeft(intp, "0")
	d.frac = strings.TrimRight(frac, "0")
	if d.intp == "" && d.frac == "" {
		d.neg = false
	}
	return d, true
}

// isDecimal reports whether s is a decimal number.
func isDecimal(s string) bool {
	_, ok := parseDecimal(s)
	return ok
}

// isInteger reports whether s is an optionally signed run of digits.
func isInteger(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Cmp compares d and e: -1 if d < e, 0 if equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int {
	switch {
	case d.neg && !e.neg:
		return -1
	case !d.neg && e.neg:
		return 1
	}
	c := cmpMagnitude(d, e)
	if d.neg {
		return -c
	}
	return c
}

func cmpMagnitude(d, e Decimal) int {
	if len(d.intp) != len(e.intp) {
		if len(d.intp) < len(e.intp) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(d.intp, e.intp); c != 0 {
		return c
	}
	// Fractions have no trailing zeros, so byte order is numeric order.
	return strings.Compare(d.frac, e.frac)
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	switch {
	case d.intp == "" && d.frac == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// Places is the number of digits written after the decimal point,
// trailing zeros included ("72.50" has 2).
func (d Decimal) Places() int { return d.places }

// IsInteger reports whether d has no fractional part ("5.00" is one).
func (d Decimal) IsInteger() bool { return d.frac == "" }

// String returns the canonical form: no "+" sign, no leading zeros in the
// integer part, no trailing zeros in the fraction, "0" for zero.
func (d Decimal) String() string {
	if d.Sign() == 0 {
		return "0"
	}
	var b strings.Builder
	b.Grow(len(d.intp) + len(d.frac) + 3)
	if d.neg {
		b.WriteByte('-')
	}
	if d.intp == "" {
		b.WriteByte('0')
	} else {
		b.WriteString(d.intp)
	}
	if d.frac != "" {
		b.WriteByte('.')
		b.WriteString(d.frac)
	}
	return b.String()
}
