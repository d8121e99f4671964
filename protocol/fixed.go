package protocol

import (
	"cmp"
	"math/bits"
)

// Limits of the numbers a derivation computes with.
const (
	// MaxDeriveDigits is the most significant digits a number in a
	// derivation holds; a result that needs more is an overflow.
	MaxDeriveDigits = 18
	// DivisionPlaces is the number of decimal places a quotient is
	// computed to, truncated toward zero.
	DivisionPlaces = 12
)

// maxCoef is the largest coefficient of a fixed: MaxDeriveDigits nines.
const maxCoef uint64 = 999_999_999_999_999_999

// pow10 holds 10^0 .. 10^19, every power of ten a uint64 holds.
var pow10 = [20]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// fixed is an exact decimal for derivations: (-1)^neg * c / 10^scale,
// c at most maxCoef and scale at most MaxDeriveDigits. It is plain integer
// arithmetic, so every validator computes the same digits, and it never
// allocates.
type fixed struct {
	c     uint64
	scale uint8
	neg   bool
}

// fixedStatus says why a computation gave no number.
type fixedStatus uint8

const (
	fixOK       fixedStatus = iota
	fixEmpty                // an input has no value
	fixDivZero              // division by zero
	fixOverflow             // more than MaxDeriveDigits digits
	fixBadInput             // an input is not a number (or not a date for datediff)
)

// parseFixed reads a value written in the Decimal syntax.
func parseFixed(s string) (fixed, fixedStatus) {
	d, ok := parseDecimal(s)
	if !ok {
		return fixed{}, fixBadInput
	}
	if d.places > MaxDeriveDigits || len(d.intp)+d.places > MaxDeriveDigits {
		return fixed{}, fixOverflow
	}
	var c uint64
	for i := 0; i < len(d.intp); i++ {
		c = c*10 + uint64(d.intp[i]-'0')
	}
	for i := 0; i < d.places; i++ {
		c *= 10
		if i < len(d.frac) {
			c += uint64(d.frac[i] - '0')
		}
	}
	return fixed{c: c, scale: uint8(d.places), neg: d.neg && c != 0}, fixOK
}

// appendFixed writes f with exactly f.scale decimal places.
func appendFixed(b []byte, f fixed) []byte {
	if f.neg && f.c != 0 {
		b = append(b, '-')
	}
	var digits [20]byte
	n := len(digits)
	c := f.c
	for c > 0 || n > len(digits)-int(f.scale)-1 {
		n--
		digits[n] = byte('0' + c%10)
		c /= 10
	}
	intLen := len(digits) - n - int(f.scale)
	b = append(b, digits[n:n+intLen]...)
	if f.scale > 0 {
		b = append(b, '.')
		b = append(b, digits[n+intLen:]...)
	}
	return b
}

// String returns f with exactly f.scale decimal places.
func (f fixed) String() string { return string(appendFixed(nil, f)) }

// fit makes a fixed of a 128-bit coefficient, or reports an overflow.
func fit(hi, lo uint64, scale int, neg bool) (fixed, fixedStatus) {
	if hi != 0 || lo > maxCoef || scale > MaxDeriveDigits {
		return fixed{}, fixOverflow
	}
	return fixed{c: lo, scale: uint8(scale), neg: neg && lo != 0}, fixOK
}

// scaleUp returns c * 10^k as 128 bits; ok is false when it needs more.
func scaleUp(c uint64, k int) (hi, lo uint64, ok bool) {
	lo = c
	for k > 0 {
		step := min(k, 19)
		h1, l := bits.Mul64(lo, pow10[step])
		h2, h3 := bits.Mul64(hi, pow10[step])
		h, carry := bits.Add64(h1, h3, 0)
		if h2 != 0 || carry != 0 {
			return 0, 0, false
		}
		hi, lo = h, l
		k -= step
	}
	return hi, lo, true
}

// div128 divides a 128-bit number by d (d > 0) and returns the quotient
// (128 bits) and the remainder.
func div128(hi, lo, d uint64) (qhi, qlo, rem uint64) {
	qhi, r := bits.Div64(0, hi, d)
	qlo, rem = bits.Div64(r, lo, d)
	return qhi, qlo, rem
}

// align returns a and b's coefficients at their larger scale.
func align(a, b fixed) (ac, bc uint64, scale int, st fixedStatus) {
	scale = int(max(a.scale, b.scale))
	hi, ac, ok := scaleUp(a.c, scale-int(a.scale))
	if !ok || hi != 0 || ac > maxCoef {
		return 0, 0, 0, fixOverflow
	}
	hi, bc, ok = scaleUp(b.c, scale-int(b.scale))
	if !ok || hi != 0 || bc > maxCoef {
		return 0, 0, 0, fixOverflow
	}
	return ac, bc, scale, fixOK
}

// add returns a+b at the larger of their scales.
func (a fixed) add(b fixed) (fixed, fixedStatus) {
	ac, bc, scale, st := align(a, b)
	if st != fixOK {
		return fixed{}, st
	}
	if a.neg == b.neg {
		return fit(0, ac+bc, scale, a.neg)
	}
	if ac >= bc {
		return fit(0, ac-bc, scale, a.neg)
	}
	return fit(0, bc-ac, scale, b.neg)
}

// negate returns -a.
func (a fixed) negate() fixed {
	a.neg = !a.neg && a.c != 0
	return a
}

// mul returns a*b with the sum of their scales; beyond MaxDeriveDigits
// places the product is truncated toward zero.
func (a fixed) mul(b fixed) (fixed, fixedStatus) {
	hi, lo := bits.Mul64(a.c, b.c)
	scale := int(a.scale) + int(b.scale)
	if scale > MaxDeriveDigits {
		hi, lo, _ = div128(hi, lo, pow10[scale-MaxDeriveDigits])
		scale = MaxDeriveDigits
	}
	return fit(hi, lo, scale, a.neg != b.neg)
}

// div returns a/b truncated toward zero to DivisionPlaces places, without
// trailing zeros.
func (a fixed) div(b fixed) (fixed, fixedStatus) {
	if b.c == 0 {
		return fixed{}, fixDivZero
	}
	// a/b = (a.c / b.c) * 10^(b.scale - a.scale); the quotient wants
	// DivisionPlaces places: a.c * 10^k / b.c.
	k := DivisionPlaces + int(b.scale) - int(a.scale)
	den := b.c
	var hi, lo uint64
	if k >= 0 {
		var ok bool
		if hi, lo, ok = scaleUp(a.c, k); !ok {
			return fixed{}, fixOverflow
		}
	} else {
		// a has more places than the quotient needs: scale b up instead.
		dh, dl, ok := scaleUp(b.c, -k)
		if !ok || dh != 0 {
			return fixed{}, fixOK // |a| < 2^64 <= the divisor: the quotient is 0
		}
		den, lo = dl, a.c
	}
	qhi, q, _ := div128(hi, lo, den)
	if qhi != 0 {
		return fixed{}, fixOverflow
	}
	f, st := fit(0, q, DivisionPlaces, a.neg != b.neg)
	if st != fixOK {
		return f, st
	}
	return f.trim(), fixOK
}

// trim drops trailing zeros of the fraction.
func (f fixed) trim() fixed {
	for f.scale > 0 && f.c%10 == 0 {
		f.c /= 10
		f.scale--
	}
	return f
}

// round returns f with exactly places decimal places, rounding half away
// from zero.
func (f fixed) round(places int) (fixed, fixedStatus) {
	if int(f.scale) <= places {
		hi, lo, ok := scaleUp(f.c, places-int(f.scale))
		if !ok {
			return fixed{}, fixOverflow
		}
		return fit(hi, lo, places, f.neg)
	}
	d := pow10[int(f.scale)-places]
	q, r := f.c/d, f.c%d
	if r >= d-r {
		q++
	}
	return fit(0, q, places, f.neg)
}

// cmp compares a and b: -1, 0 or +1.
func (a fixed) cmp(b fixed) int {
	sa, sb := a.sign(), b.sign()
	if sa != sb {
		return cmpInt64(int64(sa), int64(sb))
	}
	scale := int(max(a.scale, b.scale))
	ah, al, _ := scaleUp(a.c, scale-int(a.scale))
	bh, bl, _ := scaleUp(b.c, scale-int(b.scale))
	c := cmp.Or(cmp.Compare(ah, bh), cmp.Compare(al, bl))
	if sa < 0 {
		return -c
	}
	return c
}

func (a fixed) sign() int {
	switch {
	case a.c == 0:
		return 0
	case a.neg:
		return -1
	}
	return 1
}
