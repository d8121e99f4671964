package main

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/veritrial/veritrial/app/safetext"
)

// table lays rows out in aligned columns for people. Every cell is
// escaped (safetext.Escape). Written to a terminal narrower than the table, the
// widest columns are narrowed, widest first, and their cells wrapped at
// spaces onto more lines, never inside a word (a column keeps at least
// its longest word); written anywhere else (a pipe, a file) every cell
// keeps its full text on one line.
type table struct {
	w      io.Writer
	indent string
	rows   [][]string
	// width is the terminal's width in characters; 0: no limit.
	width int
}

// columnGap separates the columns of a table.
const columnGap = "  "

// minWrapWidth is the narrowest a column is wrapped to (unless one of
// its words is longer).
const minWrapWidth = 12

// newTable starts a table written to w, with the header cells given;
// add rows with row and write it with flush.
func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w, width: terminalWidth(w)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// indented is newTable with every line indented by indent.
func indented(w io.Writer, indent string, header ...string) *table {
	t := newTable(w, header...)
	t.indent = indent
	return t
}

// terminalWidth is the width of the terminal w writes to, 0 when w is not
// a terminal.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// row adds a row of cells.
func (t *table) row(cells ...string) {
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = safetext.Escape(c)
	}
	t.rows = append(t.rows, r)
}

// flush writes the table.
func (t *table) flush() error {
	widths := t.columnWidths()
	for _, r := range t.rows {
		lines := make([][]string, len(r))
		height := 1
		for i, c := range r {
			lines[i] = []string{c}
			if i < len(widths) && utf8.RuneCountInString(c) > widths[i] {
				lines[i] = wrapWords(c, widths[i])
			}
			height = max(height, len(lines[i]))
		}
		for l := range height {
			var b strings.Builder
			b.WriteString(t.indent)
			for i := range r {
				cell := ""
				if l < len(lines[i]) {
					cell = lines[i][l]
				}
				if i == len(r)-1 {
					b.WriteString(cell)
					break
				}
				b.WriteString(cell)
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)))
				b.WriteString(columnGap)
			}
			b.WriteString("\n")
			if _, err := io.WriteString(t.w, strings.TrimRight(b.String(), " \n")+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}

// columnWidths returns the width of every column: its widest cell, then,
// when the table is wider than the terminal, narrowed widest first.
func (t *table) columnWidths() []int {
	var widths, floors []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths, floors = append(widths, 0), append(floors, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
			for _, w := range strings.Split(c, " ") {
				floors[i] = max(floors[i], utf8.RuneCountInString(w))
			}
		}
	}
	if t.width <= 0 || len(widths) == 0 {
		return widths
	}
	for i := range floors {
		floors[i] = max(floors[i], min(widths[i], minWrapWidth))
	}
	for {
		total := utf8.RuneCountInString(t.indent) + len(columnGap)*(len(widths)-1)
		widest, next := -1, 0
		for i, w := range widths {
			total += w
			if w > floors[i] && (widest < 0 || w > widths[widest]) {
				widest = i
			}
		}
		if total <= t.width || widest < 0 {
			return widths
		}
		for i, w := range widths {
			if i != widest && w > next {
				next = w
			}
		}
		// Narrow the widest column to the next widest, or less if that
		// is enough.
		widths[widest] = max(floors[widest], min(widths[widest]-1, max(next, widths[widest]-(total-t.width))))
	}
}

// wrapWords breaks s into lines of at most width characters at spaces; a
// word longer than width gets a line of its own.
func wrapWords(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Split(s, " ") {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}
