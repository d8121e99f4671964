package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Warning is something a loader accepted but could not import exactly (a
// REDCap calc field, an unknown validation type ...), or a valid protocol
// that cannot collect data as written (see designWarnings); Line is set
// for YAML, Row (1-based, header = row 1) and Sheet for CSV and XLSX.
type Warning struct {
	File   string `json:"file"`
	Sheet  string `json:"sheet,omitempty"`
	Line   int    `json:"line,omitempty"`
	Row    int    `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	Msg    string `json:"msg"`
}

// String formats the warning as "file:sheet:row N: column "C": msg".
func (w Warning) String() string {
	return position(w.File, w.Sheet, w.Line, w.Row, w.Column) + ": " + w.Msg
}

// LoadError is a loader error located in its file: which file, sheet, line
// or row, column, what is wrong and how to fix it. Others holds further
// errors found in the same file, in file order.
type LoadError struct {
	File   string
	Sheet  string
	Line   int
	Row    int
	Column string
	Msg    string
	Fix    string
	Others []*LoadError
	// Err is the underlying error, when there is one (a
	// *ziplimit.LimitError).
	Err error
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// Error lists the error and the others found with it, one per line.
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.one())
	for _, o := range e.Others {
		b.WriteString("\n")
		b.WriteString(o.one())
	}
	return b.String()
}

func (e *LoadError) one() string {
	s := position(e.File, e.Sheet, e.Line, e.Row, e.Column) + ": " + e.Msg
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	return s
}

// All returns the error and the others found with it.
func (e *LoadError) All() []*LoadError {
	return append([]*LoadError{e}, e.Others...)
}

func position(file, sheet string, line, row int, column string) string {
	var b strings.Builder
	b.WriteString(file)
	if sheet != "" {
		b.WriteString(": sheet " + sheet)
	}
	switch {
	case row > 0 && line > 0 && line != row:
		fmt.Fprintf(&b, ": row %d (line %d)", row, line)
	case row > 0:
		fmt.Fprintf(&b, ": row %d", row)
	case line > 0:
		fmt.Fprintf(&b, ":%d", line)
	}
	if column != "" {
		fmt.Fprintf(&b, ": column %q", column)
	}
	return b.String()
}

// JoinLoadErrors folds a list of errors into one *LoadError, or nil.
func JoinLoadErrors(errs []*LoadError) error {
	if len(errs) == 0 {
		return nil
	}
	first := *errs[0]
	first.Others = append([]*LoadError(nil), errs[1:]...)
	return &first
}

// MaxLoadErrors bounds how many errors one load reports.
const MaxLoadErrors = 50

// Locator maps a definition path ("forms[2].groups[0].items[3]") to a
// position in the source file.
type Locator func(path string) LoadError

// designWarnings lists what keeps a valid protocol from collecting data
// as written, each with the definition path it is about: no event
// collects any form. Such a protocol can still be registered, to commit
// its outcomes before the first subject, and be given forms by amendment,
// so this is a warning, not an error.
func designWarnings(c *Compiled) []designWarning {
	if len(c.eventForms) == 0 {
		return []designWarning{{"events", "no event collects any form, so no data can be entered under this protocol; list the forms each event collects (events[].forms)"}}
	}
	return nil
}

// designWarning is a design warning and the definition path it is about.
type designWarning struct{ path, msg string }

// CompileLocated runs Compile on p and maps each definition error, or on
// success each design warning, to a position in the file with loc.
func CompileLocated(p *Protocol, file string, loc Locator) ([]Warning, error) {
	c, err := Compile(p)
	if err == nil {
		var ws []Warning
		for _, d := range designWarnings(c) {
			le := loc(d.path)
			ws = append(ws, Warning{File: file, Sheet: le.Sheet, Line: le.Line, Row: le.Row, Column: le.Column, Msg: d.msg})
		}
		return ws, nil
	}
	var defs []*DefinitionError
	var many DefinitionErrors
	var one *DefinitionError
	switch {
	case errors.As(err, &many):
		defs = many
	case errors.As(err, &one):
		defs = []*DefinitionError{one}
	default:
		return nil, &LoadError{File: file, Msg: err.Error(), Fix: "correct the protocol definition"}
	}
	var out []*LoadError
	for _, d := range defs {
		if d == nil {
			continue
		}
		le := loc(d.Path)
		le.File = file
		msg := d.Msg
		if d.OID != "" && !strings.Contains(msg, d.OID) {
			msg = d.OID + ": " + msg
		}
		if d.Path != "" {
			msg += " [" + d.Path + "]"
		}
		le.Msg = msg
		le.Fix = d.Fix
		out = append(out, &le)
		if len(out) >= MaxLoadErrors {
			break
		}
	}
	if len(out) == 0 {
		return nil, &LoadError{File: file, Msg: err.Error(), Fix: "correct the protocol definition"}
	}
	return nil, JoinLoadErrors(out)
}

// LongestPrefix returns the entry of m whose key is the longest prefix of
// path on a segment boundary, and the rest of the path after it.
func LongestPrefix[T any](m map[string]T, path string) (T, string, bool) {
	p := path
	for {
		if v, ok := m[p]; ok {
			return v, strings.TrimPrefix(strings.TrimPrefix(path, p), "."), true
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			var zero T
			return zero, path, false
		}
		p = p[:i]
	}
}
