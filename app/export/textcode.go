package export

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The text escape of the workbook and ODM formats (docs/EXPORT.md, "Exact
// values"): OOXML's ST_Xstring convention. A character XML 1.0 cannot
// carry (the C0 controls other than tab, line feed and carriage return,
// U+FFFE and U+FFFF) is written _xHHHH_ with its code point in four
// upper-case hex digits, and an underscore that would otherwise be read as
// the start of one (a literal _xHHHH_, or _xHHHH before an escaped
// character) is written _x005F_, so DecodeText(EncodeText(s)) == s. The
// workbook writer puts the result in the worksheet XML as it is
// (xlsxTable.value), where excelize and Excel decode it.

// xmlChar reports whether XML 1.0 can carry r.
func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// isEscape reports whether s starts with _xHHHH_ (any case of hex digit).
func isEscape(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for i := 2; i < 6; i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// literalEscape reports whether s starts with an underscore that EncodeText
// writes _x005F_: one followed by xHHHH and then an underscore or a
// character that is itself escaped (whose escape starts with one).
func literalEscape(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' {
		return false
	}
	for i := 2; i < 6; i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s[6:])
	return r == '_' || !xmlChar(r)
}

// hasEscape reports whether s holds _xHHHH_ anywhere.
func hasEscape(s string) bool {
	for i := strings.Index(s, "_x"); i >= 0; {
		if isEscape(s[i:]) {
			return true
		}
		j := strings.Index(s[i+1:], "_x")
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// needsEscape reports whether EncodeText changes s.
func needsEscape(s string) bool {
	for i, r := range s {
		if !xmlChar(r) || r == '_' && literalEscape(s[i:]) {
			return true
		}
	}
	return false
}

// EncodeText writes s in the text escape. s must be valid UTF-8.
func EncodeText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid UTF-8, which no export format can carry exactly", s)
	}
	if !needsEscape(s) {
		return s, nil
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case !xmlChar(r):
			fmt.Fprintf(&b, "_x%04X_", r)
		case r == '_' && literalEscape(s[i:]):
			b.WriteString("_x005F_")
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// DecodeText reverses EncodeText: every _xHHHH_ becomes U+HHHH.
func DecodeText(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if isEscape(s[i:]) {
			n, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
			b.WriteRune(rune(n))
			i += 7
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
