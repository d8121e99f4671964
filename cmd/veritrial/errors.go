package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes. Scripts may rely on them.
const (
	exitOK          = 0
	exitFailure     = 1 // the operation failed (I/O, node or internal error)
	exitUsage       = 2 // wrong flags or arguments
	exitInput       = 3 // an input file or value cannot be used
	exitKey         = 4 // key not found, wrong passphrase, no passphrase
	exitUnavailable = 5 // no node answers at the RPC address
	exitRejected    = 6 // the ledger rejected a transaction
)

// cliError is an error meant for a person: one clear sentence (or, for an
// input with several problems, one line per problem) and the exit code.
type cliError struct {
	code int
	msg  string
	err  error // the cause, for errors.Is/As; never printed separately
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// ExitCode returns the process exit code for the error.
func (e *cliError) ExitCode() int { return e.code }

func newErrorf(code int, format string, args ...any) error {
	return &cliError{code: code, msg: fmt.Sprintf(format, args...), err: findCause(args)}
}

// findCause returns the last error among args, so that a message built
// with %v from an error still unwraps to it.
func findCause(args []any) error {
	for i := len(args) - 1; i >= 0; i-- {
		if e, ok := args[i].(error); ok {
			return e
		}
	}
	return nil
}

// usageErrorf reports wrong flags or arguments (exit 2).
func usageErrorf(format string, args ...any) error { return newErrorf(exitUsage, format, args...) }

// inputErrorf reports an input file or value that cannot be used (exit 3).
func inputErrorf(format string, args ...any) error { return newErrorf(exitInput, format, args...) }

// failf reports a failed operation (exit 1).
func failf(format string, args ...any) error { return newErrorf(exitFailure, format, args...) }

// keyErrorf reports a key or passphrase problem (exit 4).
func keyErrorf(format string, args ...any) error { return newErrorf(exitKey, format, args...) }

// unavailableErrorf reports that no node answers (exit 5).
func unavailableErrorf(format string, args ...any) error {
	return newErrorf(exitUnavailable, format, args...)
}

// rejectedErrorf reports a transaction the ledger rejected (exit 6).
func rejectedErrorf(format string, args ...any) error {
	return newErrorf(exitRejected, format, args...)
}

// exitCodeOf returns the exit code for err: its own if it carries one, 1
// otherwise.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	if isMissingFlags(err) {
		return exitUsage
	}
	return exitFailure
}

// isMissingFlags reports urfave/cli's error for required flags not given
// (its type is unexported; its message is fixed: "Required flag(s) ...
// not set"), a usage error like any other wrong flag.
func isMissingFlags(err error) bool {
	m := err.Error()
	return strings.HasPrefix(m, "Required flag") && strings.HasSuffix(m, "not set")
}

// report prints err for a person on stderr (and, in JSON mode, as a
// document on stdout unless one was printed) and returns the exit code.
func report(a *cli.App, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitCodeOf(err)
	msg := strings.TrimSpace(err.Error())
	if isMissingFlags(err) {
		msg += ": see --help"
	}
	if msg == "" {
		msg = "failed"
	}
	printf(a.ErrWriter, "Error: %s\n", safeLines(msg))
	if st := stateOf(a); st.json && !st.emitted {
		_ = writeJSON(a.Writer, map[string]any{"error": msg, "exit_code": code})
	}
	return code
}
