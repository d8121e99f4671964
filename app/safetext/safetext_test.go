package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestEscape: every character a terminal would not show as itself is
// written visibly, Go style; everything else is left as it is.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"148 mmHg, Café — ok":          "148 mmHg, Café — ok",
		"a\x1b[2J\x1b[31mred":          `a\x1b[2J\x1b[31mred`,
		"line1\nline2\tx\r":            `line1\nline2\tx\r`,
		"del\x7f nul\x00 bell\x07":     `del\x7f nul\x00 bell\x07`,
		"c1\u0085 \u009b2J":            `c1\u0085 \u009b2J`,
		"\u202eevil\u202c":             `\u202eevil\u202c`,
		"\u2066iso\u2069 \u200e\u200f": `\u2066iso\u2069 \u200e\u200f`,
		"arabic\u061cmark":             `arabic\u061cmark`,
		"zero\u200bwidth\ufeff":        `zero\u200bwidth\ufeff`,
		"sep\u2028par\u2029":           `sep\u2028par\u2029`,
		"tag\U000e0041":                `tag\U000e0041`,
		"bad\xff\xfeutf8":              `bad\xff\xfeutf8`,
		`a\nb`:                         `a\nb`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCell: a cell keeps its lines and tabs, escapes the rest as Escape
// does, and a text longer than a cell holds is cut at a whole character
// with its whole length noted.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"line1\nline2\tx\r":   "line1\nline2\tx\r",
		"a\x1b[2J\x1b[31mred": `a\x1b[2J\x1b[31mred`,
		"\u202eevil\u202c":    `\u202eevil\u202c`,
		"nul\x00CR":           `nul\x00CR`,
		"148 mmHg, Café":      "148 mmHg, Café",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("é", MaxCellChars-1) + "\U0001F600"
	got := Cell(long)
	if UTF16Len(got) > MaxCellChars || !utf8.ValidString(got) || !strings.HasSuffix(got, " … [cut: 32768 characters in all; the JSON output holds the whole text]") {
		t.Errorf("Cell of %d UTF-16 units: %d units, ends %q", UTF16Len(long), UTF16Len(got), got[len(got)-80:])
	}
	if fits := strings.Repeat("a", MaxCellChars); Cell(fits) != fits {
		t.Error("a text that fits was cut")
	}
}
