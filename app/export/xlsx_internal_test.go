package export

import (
	"strings"
	"testing"
)

// TestDecimalValue checks that a spreadsheet number is used only when its
// written form is exactly the ledger's decimal.
func TestDecimalValue(t *testing.T) {
	for in, want := range map[string]any{
		"72.5":               72.5,
		"72.50":              72.5, // canonical 72.5: the cell format shows the places
		"-0.1":               -0.1,
		"0.000001":           0.000001,
		"123456789012345":    float64(123456789012345),
		"1234567890123456":   "1234567890123456", // 16 significant digits: text
		"0.1234567890123456": "0.1234567890123456",
		"1e3":                "1e3",
		"abc":                "abc",
	} {
		if got := decimalValue(in); got != want {
			t.Errorf("decimalValue(%q) = %#v, want %#v", in, got, want)
		}
	}
	for s, ok := range map[string]bool{"0": true, "-12": true, "007": false, "+1": false, "-0": false, "": false, "1.0": false, "123456789012345678": true, "1234567890123456789": false} {
		if canonicalInt(s) != ok {
			t.Errorf("canonicalInt(%q) = %v", s, !ok)
		}
	}
}

func TestCommentEscape(t *testing.T) {
	for _, s := range []string{"a--b", "---", "----", "50%", "%2D", "form/S--1/E/0001/F\tab", "-"} {
		e := commentEscape(s)
		if strings.Contains(e, "--") || commentUnescape(e) != s {
			t.Errorf("%q -> %q -> %q", s, e, commentUnescape(e))
		}
	}
}
