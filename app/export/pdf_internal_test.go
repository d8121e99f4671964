package export

import "testing"

// TestPDFText checks how text reaches the core fonts: Windows-1252
// characters as their byte, line feeds kept, everything else written as
// a visible escape and the backslash doubled, so nothing is dropped.
func TestPDFText(t *testing.T) {
	for in, want := range map[string]string{
		"Kopfschmerz & \"Übelkeit\" €5": "Kopfschmerz & \"\xdcbelkeit\" \x805",
		"头痛":                            `\u5934\u75DB`,
		"ok 😀":                          `ok \U0001F600`,
		`C:\temp`:                       `C:\\temp`,
		"a\tb\r\nc":                     "a\\u0009b\\u000D\nc",
		"\x00\x7f\u0085":                `\u0000\u007F\u0085`,
		"bad \xff byte":                 `bad \xFF byte`,
	} {
		if got := pdfText(in); got != want {
			t.Errorf("pdfText(%q) = %q, want %q", in, got, want)
		}
	}
}
