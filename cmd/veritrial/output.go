package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
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
	doc, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return failf("cannot encode the result as JSON: %v", err)
	}
	stateOf(c.App).emitted = true
	if _, err := fmt.Fprintf(stdout(c), "%s\n", doc); err != nil {
		return failf("cannot write the result: %v", err)
	}
	return nil
}

// note prints a line for people on stderr (progress, hints).
func note(c *cli.Context, format string, args ...any) {
	fmt.Fprintf(stderr(c), format+"\n", args...)
}

// newTable returns a tab-aligned writer for human tables; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
