package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/term"
)

// maxPassphraseFile bounds how much of a passphrase file is read.
const maxPassphraseFile = 64 << 10

// PassphraseFromFile returns the first line of the file at path, without its
// line ending ("\n" or "\r\n"). An empty first line is refused.
func PassphraseFromFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read passphrase file %s: %w", path, pathCause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read passphrase file %s: %w", path, pathCause(err))
	}
	defer clear(data)
	line, _, found := bytes.Cut(data, []byte("\n"))
	if !found && len(data) > maxPassphraseFile {
		return "", fmt.Errorf("passphrase file %s has a first line longer than %d bytes", path, maxPassphraseFile)
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", newError(ErrEmptyPassphrase, fmt.Sprintf("passphrase file %s is empty: its first line must hold the passphrase", path), nil)
	}
	return string(line), nil
}

const noTerminalHint = "no terminal to ask for a passphrase: pass --passphrase-file or set VERITRIAL_PASSPHRASE"

// PromptPassphrase asks for a passphrase on the terminal (/dev/tty, or
// standard input when it is a terminal) without echoing it. With confirm it
// asks a second time and fails with ErrPassphraseMismatch unless both
// agree. An empty answer is refused. Without a terminal it fails with
// ErrNoTerminal. If the person interrupts the prompt (Ctrl-C), the
// terminal's echo is restored before the signal takes its usual course.
func PromptPassphrase(prompt string, confirm bool) (string, error) {
	t, err := openTerminal()
	if err != nil {
		return "", err
	}
	defer t.close()
	return askPassphrase(t.ask, prompt, confirm)
}

// ResolvePassphrase finds a passphrase in order: the file, if file is not
// empty; then the environment variable envVar, if allowEnv and it is set;
// then the terminal prompt. Commands that must prove a person is present
// (e-signatures) pass allowEnv=false.
func ResolvePassphrase(file, envVar string, allowEnv bool, prompt string) (string, error) {
	return resolve(file, envVar, allowEnv, prompt, false)
}

// ResolveNewPassphrase is ResolvePassphrase for choosing a new passphrase:
// at the prompt it is asked twice, and from any source it must meet the
// rule of CheckNewPassphrase.
func ResolveNewPassphrase(file, envVar string, allowEnv bool, prompt string) (string, error) {
	p, err := resolve(file, envVar, allowEnv, prompt, true)
	if err != nil {
		return "", err
	}
	if err := CheckNewPassphrase(p); err != nil {
		return "", err
	}
	return p, nil
}

// MinPassphraseChars is the fewest characters (Unicode code points) a new
// passphrase may have.
const MinPassphraseChars = 12

// PassphraseRule says the rule for a new passphrase, for help texts.
const PassphraseRule = "a new passphrase needs at least 12 characters, not all the same (a few unrelated words make a good one)"

// CheckNewPassphrase refuses a passphrase for a new key (or a key's new
// encryption) shorter than MinPassphraseChars characters or made of one
// character repeated, with ErrWeakPassphrase.
func CheckNewPassphrase(p string) error {
	n := utf8.RuneCountInString(p)
	first, _ := utf8.DecodeRuneInString(p)
	if n < MinPassphraseChars || strings.Count(p, string(first)) == n {
		return newError(ErrWeakPassphrase, fmt.Sprintf("the passphrase is too weak: %s", PassphraseRule), nil)
	}
	return nil
}

func resolve(file, envVar string, allowEnv bool, prompt string, confirm bool) (string, error) {
	if file != "" {
		return PassphraseFromFile(file)
	}
	if allowEnv && envVar != "" {
		if v, ok := os.LookupEnv(envVar); ok {
			if v == "" {
				return "", newError(ErrEmptyPassphrase, fmt.Sprintf("environment variable %s is set but empty: set it to the passphrase or unset it", envVar), nil)
			}
			return v, nil
		}
	}
	p, err := PromptPassphrase(prompt, confirm)
	if errors.Is(err, ErrNoTerminal) {
		msg := "no terminal to ask for a passphrase: pass --passphrase-file"
		if allowEnv && envVar != "" {
			msg += " or set " + envVar
		}
		return "", newError(ErrNoTerminal, msg, nil)
	}
	return p, err
}

// askPassphrase runs the prompt dialogue over ask, which shows a prompt
// and reads one line without echo.
func askPassphrase(ask func(prompt string) ([]byte, error), prompt string, confirm bool) (string, error) {
	if prompt == "" {
		prompt = "Passphrase: "
	}
	first, err := ask(prompt)
	if err != nil {
		return "", fmt.Errorf("cannot read the passphrase: %w", err)
	}
	defer clear(first)
	if len(first) == 0 {
		return "", newError(ErrEmptyPassphrase, "empty passphrase: keys must be protected by a non-empty passphrase", nil)
	}
	if confirm {
		second, err := ask("Repeat passphrase: ")
		if err != nil {
			return "", fmt.Errorf("cannot read the passphrase: %w", err)
		}
		defer clear(second)
		if !bytes.Equal(first, second) {
			return "", newError(ErrPassphraseMismatch, "the passphrases do not match; nothing was changed", nil)
		}
	}
	return string(first), nil
}

// terminal is where prompts are written and passphrases read.
type terminal struct {
	fd  int
	out io.Writer
	f   *os.File // opened by us, closed by close
}

// openTerminal is a variable so tests can simulate the absence of one.
var openTerminal = func() (*terminal, error) {
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		if fd := int(f.Fd()); term.IsTerminal(fd) {
			return &terminal{fd: fd, out: f, f: f}, nil
		}
		f.Close()
	}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		return &terminal{fd: fd, out: os.Stderr}, nil
	}
	return nil, newError(ErrNoTerminal, noTerminalHint, nil)
}

func (t *terminal) close() {
	if t.f != nil {
		t.f.Close()
	}
}

func (t *terminal) ask(prompt string) ([]byte, error) {
	fmt.Fprint(t.out, prompt)
	defer fmt.Fprintln(t.out)
	state, err := term.GetState(t.fd)
	if err != nil {
		return term.ReadPassword(t.fd)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			// ReadPassword turned echo off; give it back, then let the
			// signal do what it would have done.
			_ = term.Restore(t.fd, state)
			fmt.Fprintln(t.out)
			signal.Stop(sigs)
			if p, err := os.FindProcess(os.Getpid()); err != nil || p.Signal(s) != nil {
				os.Exit(130)
			}
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(done)
	}()
	return term.ReadPassword(t.fd)
}
