// Package safetext shows text that anyone could have written (a reason
// for change, a query's text, an item value) so that it cannot deceive
// the person reading it: on a terminal it cannot clear the screen, move
// the cursor, reorder what follows (bidirectional controls) or start a
// line of its own; in a workbook cell it keeps its lines but not the
// characters a workbook cannot carry or a reader would not see. JSON
// output never goes through it: it keeps the exact values.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that a terminal would not show as
// itself written visibly instead, Go style: newlines, tabs and carriage
// returns as \n, \t and \r, the other C0 controls, DEL and bytes that
// are not UTF-8 as \xNN, and the C1 controls, the bidirectional controls
// (U+200E, U+200F, U+061C, U+202A to U+202E, U+2066 to U+2069), the
// other invisible format characters (Unicode category Cf, such as
// U+200B or U+FEFF) and the line and paragraph separators as \uNNNN (or
// \UNNNNNNNN). Everything else, a backslash included, is left as it is.
func Escape(s string) string { return escape(s, false) }

// escape is Escape, keeping newlines, tabs and carriage returns when
// lines is set.
func escape(s string, lines bool) string {
	esc := func(r rune, n int) bool {
		return needsEscape(r, n) && !(lines && (r == '\n' || r == '\t' || r == '\r'))
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if esc(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !esc(r, n):
			b.WriteString(s[i : i+n])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError || r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether the rune r, n bytes long in its string,
// must be escaped (see Escape).
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r < 0x20, r == 0x7f:
		return true
	case r < 0x80:
		return false
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

// MaxCellChars is the most characters (UTF-16 code units) a workbook cell
// holds.
const MaxCellChars = 32767

// Cell returns s for a workbook cell of a report a person reads (the
// audit trail and report workbooks; the dataset export has its own exact
// encoding, docs/EXPORT.md): newlines, tabs and carriage returns kept,
// every other character Escape escapes written as Escape writes it, and a
// text longer than a cell holds cut, with a note of its whole length at
// the cut, so that nothing is altered silently.
func Cell(s string) string {
	out := escape(s, true)
	if UTF16Len(out) <= MaxCellChars {
		return out
	}
	note := fmt.Sprintf(" … [cut: %d characters in all; the JSON output holds the whole text]", UTF16Len(out))
	budget := MaxCellChars - UTF16Len(note)
	n, cut := 0, 0
	for i, r := range out {
		w := 1
		if r > 0xffff {
			w = 2
		}
		if n+w > budget {
			break
		}
		n += w
		cut = i + utf8.RuneLen(r)
	}
	return out[:cut] + note
}

// UTF16Len is the length of s in UTF-16 code units, as a workbook counts
// a cell's characters.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++
		}
	}
	return n
}
