package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/safetext"
)

// stdout is where results go: one JSON document with --output json, text
// for people otherwise.
func stdout(c *cli.Context) io.Writer { return c.App.Writer }

// stderr is where progress, hints and warnings for people go; it never
// carries results.
func stderr(c *cli.Context) io.Writer { return c.App.ErrWriter }

// emit prints a command's result: v as one indented JSON document with
// --output json, else whatever text writes. A command calls emit at most
// once, after everything that can fail.
func emit(c *cli.Context, v any, text func(w io.Writer) error) error {
	if isJSON(c) {
		return emitJSON(c, v)
	}
	if text == nil {
		return nil
	}
	return text(stdout(c))
}

// emitJSON prints v as one indented JSON document on stdout, whatever the
// output format (for commands whose result is JSON either way).
func emitJSON(c *cli.Context, v any) error {
	if err := writeJSON(stdout(c), v); err != nil {
		return failf("cannot write the result as JSON: %v", err)
	}
	stateOf(c.App).emitted = true
	return nil
}

// writeJSON writes v to w as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	doc, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeVerbatim(w, append(doc, '\n'))
}

// writeVerbatim writes data as it is: JSON (whose strings are escaped
// already), or content the program made itself to be saved or sourced (a
// completion script, the example protocol, an exported key block). Text
// for people goes through printf or a table instead.
func writeVerbatim(w io.Writer, data []byte) error {
	_, err := w.Write(data)
	return err
}

// note prints a line for people on stderr (progress, hints), escaped as
// printf does.
func note(c *cli.Context, format string, args ...any) {
	printf(stderr(c), format+"\n", args...)
}

// printf is how every text printer writes for people: the format is the
// program's own layout and is written as it is; every argument that is
// text (a string, a string type, an error, a fmt.Stringer, or a slice of
// them) is escaped by safetext.Escape first, so that a value typed at a site (a form
// value, a reason, a comment) can neither move the cursor, recolour or
// clear the screen, reorder what follows (bidi controls) nor start a line
// of its own. A %q verb quotes the value as Go does, which escapes the
// same characters. JSON output is never escaped: it keeps the exact
// values.
func printf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, safeArgs(args)...)
}

// safeArgs wraps every argument that is or may print as text in
// safeValue.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = safeArg(a)
	}
	return out
}

func safeArg(a any) any {
	switch a.(type) {
	case nil, bool, int, int64, uint32, float64, []byte, safeLines:
		return a
	case error, fmt.Stringer:
		return safeValue{a}
	}
	switch rv := reflect.ValueOf(a); rv.Kind() {
	case reflect.String:
		return safeValue{a}
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = safeArg(rv.Index(i).Interface())
		}
		return out
	}
	return a
}

// safeValue prints a value whose text could come from anyone: with %s
// and %v its text (the string, the error's message, the String method's
// result) escaped by safetext.Escape; with %q quoted as strconv.Quote does, which
// escapes the same characters; with other verbs (%d of a numeric type
// that has a String method) as fmt prints the value.
type safeValue struct{ v any }

// Format implements fmt.Formatter.
func (s safeValue) Format(f fmt.State, verb rune) {
	var text string
	switch v := s.v.(type) {
	case error:
		text = v.Error()
	case fmt.Stringer:
		text = v.String()
	default:
		text = reflect.ValueOf(v).String()
	}
	switch verb {
	case 's', 'v':
		fmt.Fprintf(f, fmt.FormatString(f, verb), safetext.Escape(text))
	case 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), text)
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), s.v)
	}
}

// safeLines is text of several lines printed escaped line by line: its
// newlines are kept, everything else safetext.Escape escapes is escaped.
type safeLines string

// Format implements fmt.Formatter.
func (s safeLines) Format(f fmt.State, verb rune) {
	lines := strings.Split(string(s), "\n")
	for i, l := range lines {
		lines[i] = safetext.Escape(l)
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), strings.Join(lines, "\n"))
}

// shorten cuts s after its last whole word that fits in n characters,
// never inside a word, and marks the cut with " …" (a first word longer
// than n is kept whole).
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := ""
	for i, w := range strings.Split(s, " ") {
		next := w
		if i > 0 {
			if utf8.RuneCountInString(keep)+1+utf8.RuneCountInString(w) > n-2 {
				break
			}
			next = keep + " " + w
		}
		keep = next
	}
	if keep == s {
		return s
	}
	return strings.TrimRight(keep, " ") + " …"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
