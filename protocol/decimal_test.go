package protocol

import (
	"math/big"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

func TestDecimalParse(t *testing.T) {
	good := map[string]string{
		"0": "0", "-0": "0", "+0.000": "0", "12": "12", "-12.50": "-12.5", "+3": "3",
		"0.5": "0.5", "007": "7", "100": "100", "1.000": "1",
		"123456789012345678901234567890.000000000000000000001": "123456789012345678901234567890.000000000000000000001",
	}
	for in, want := range good {
		d, err := ParseDecimal(in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", in, err)
			continue
		}
		if d.String() != want {
			t.Errorf("ParseDecimal(%q).String() = %q, want %q", in, d.String(), want)
		}
	}
	for _, in := range []string{"", "-", "+", ".5", "5.", "1e3", "1E3", "NaN", "nan", "Inf", "-Inf", "0x1F",
		" 1", "1 ", "1 000", "1,5", "1_000", "--1", "+-1", "1.2.3", "١٢", "1.5e", "0b1"} {
		if _, err := ParseDecimal(in); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", in)
		}
	}
}

func TestDecimalPlacesAndInteger(t *testing.T) {
	for in, want := range map[string]int{"72": 0, "72.5": 1, "72.50": 2, "-0.001": 3} {
		d, _ := ParseDecimal(in)
		if d.Places() != want {
			t.Errorf("%q places = %d, want %d", in, d.Places(), want)
		}
	}
	if d, _ := ParseDecimal("5.00"); !d.IsInteger() {
		t.Error("5.00 should be an integer value")
	}
	if d, _ := ParseDecimal("5.01"); d.IsInteger() {
		t.Error("5.01 is not an integer value")
	}
	if !isInteger("-42") || !isInteger("+7") || isInteger("4.0") || isInteger("") || isInteger("-") {
		t.Error("isInteger")
	}
}

func TestDecimalCmp(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1", "1.0", 0}, {"-0", "0", 0}, {"0.5", "0.50", 0}, {"2", "10", -1}, {"-2", "-10", 1},
		{"0.51", "0.6", -1}, {"-0.51", "-0.6", 1}, {"99.99", "100", -1}, {"-1", "0", -1},
		{"0.000001", "0", 1}, {"-0.000001", "0", -1}, {"250", "250.0000000000000000001", -1},
	}
	for _, c := range cases {
		a, _ := ParseDecimal(c.a)
		b, _ := ParseDecimal(c.b)
		if got := a.Cmp(b); got != c.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := b.Cmp(a); got != -c.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	if s := (Decimal{}).Sign(); s != 0 {
		t.Errorf("zero Sign = %d", s)
	}
}

// TestDecimalCmpMatchesBigRat checks Cmp against math/big on random decimals.
func TestDecimalCmpMatchesBigRat(t *testing.T) {
	gen := rapid.Custom(func(t *rapid.T) string {
		s := rapid.SampledFrom([]string{"", "-", "+"}).Draw(t, "sign")
		s += rapid.StringMatching(`[0-9]{1,25}`).Draw(t, "int")
		if rapid.Bool().Draw(t, "frac") {
			s += "." + rapid.StringMatching(`[0-9]{1,25}`).Draw(t, "fracdigits")
		}
		return s
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		da, err1 := ParseDecimal(a)
		db, err2 := ParseDecimal(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("valid decimals rejected: %q %q", a, b)
		}
		ra, _ := new(big.Rat).SetString(a)
		rb, _ := new(big.Rat).SetString(b)
		if got, want := da.Cmp(db), ra.Cmp(rb); got != want {
			t.Fatalf("Cmp(%s, %s) = %d, big.Rat says %d", a, b, got, want)
		}
		// The canonical string is the same number.
		rc, _ := new(big.Rat).SetString(da.String())
		if rc.Cmp(ra) != 0 {
			t.Fatalf("String(%s) = %s changes the value", a, da.String())
		}
	})
}

func TestDecimalMatchesStrconvInts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := rapid.Int64().Draw(t, "a"), rapid.Int64().Draw(t, "b")
		da, _ := ParseDecimal(strconv.FormatInt(a, 10))
		db, _ := ParseDecimal(strconv.FormatInt(b, 10))
		want := 0
		if a < b {
			want = -1
		} else if a > b {
			want = 1
		}
		if got := da.Cmp(db); got != want {
			t.Fatalf("Cmp(%d, %d) = %d", a, b, got)
		}
	})
}
