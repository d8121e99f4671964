package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPassphraseFromFile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"secret\n":             "secret",
		"secret":               "secret",
		"secret\r\nsecond\n":   "secret",
		"  spaced out  \n":     "  spaced out  ",
		"two\nlines\n":         "two",
		"unicode pässwörd 🔑\n": "unicode pässwörd 🔑",
	}
	i := 0
	for content, want := range cases {
		i++
		p := filepath.Join(dir, "p"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := PassphraseFromFile(p)
		if err != nil || got != want {
			t.Errorf("PassphraseFromFile(%q) = %q, %v; want %q", content, got, err, want)
		}
	}
	for _, content := range []string{"", "\n", "\r\n", "\nsecond line\n"} {
		p := filepath.Join(dir, "empty")
		os.WriteFile(p, []byte(content), 0o600)
		_, err := PassphraseFromFile(p)
		wantErr(t, err, ErrEmptyPassphrase, "passphrase file "+p+" is empty")
	}
	missing := filepath.Join(dir, "missing")
	_, err := PassphraseFromFile(missing)
	if err == nil || !errors.Is(err, os.ErrNotExist) || err.Error() != "cannot read passphrase file "+missing+": no such file or directory" {
		t.Errorf("missing file error = %v", err)
	}
}

// fakeTerminal answers prompts from a script.
func fakeAsk(answers ...string) func(string) ([]byte, error) {
	return func(string) ([]byte, error) {
		if len(answers) == 0 {
			return nil, errors.New("EOF")
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
}

func TestAskPassphrase(t *testing.T) {
	got, err := askPassphrase(fakeAsk("s3cret"), "Passphrase: ", false)
	if err != nil || got != "s3cret" {
		t.Fatalf("= %q, %v", got, err)
	}
	got, err = askPassphrase(fakeAsk("s3cret", "s3cret"), "", true)
	if err != nil || got != "s3cret" {
		t.Fatalf("confirmed = %q, %v", got, err)
	}
	_, err = askPassphrase(fakeAsk("s3cret", "s3cre"), "", true)
	wantErr(t, err, ErrPassphraseMismatch, "do not match")
	_, err = askPassphrase(fakeAsk(""), "", true)
	wantErr(t, err, ErrEmptyPassphrase, "")
	if _, err := askPassphrase(fakeAsk(), "", false); err == nil {
		t.Fatal("read error not reported")
	}
}

func noTerminal(t *testing.T) {
	old := openTerminal
	openTerminal = func() (*terminal, error) { return nil, newError(ErrNoTerminal, noTerminalHint, nil) }
	t.Cleanup(func() { openTerminal = old })
}

func TestPromptWithoutTerminal(t *testing.T) {
	noTerminal(t)
	_, err := PromptPassphrase("Passphrase: ", false)
	wantErr(t, err, ErrNoTerminal, "")
	if err.Error() != "no terminal to ask for a passphrase: pass --passphrase-file or set VERITRIAL_PASSPHRASE" {
		t.Errorf("message = %q", err)
	}
}

func TestResolvePassphrase(t *testing.T) {
	noTerminal(t)
	const env = "VERITRIAL_TEST_PASSPHRASE"
	file := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(file, []byte("from-file\n"), 0o600)

	t.Setenv(env, "from-env-variable")
	if got, err := ResolvePassphrase(file, env, true, ""); err != nil || got != "from-file" {
		t.Errorf("file first: %q, %v", got, err)
	}
	if got, err := ResolvePassphrase("", env, true, ""); err != nil || got != "from-env-variable" {
		t.Errorf("env second: %q, %v", got, err)
	}
	if got, err := ResolveNewPassphrase("", env, true, ""); err != nil || got != "from-env-variable" {
		t.Errorf("new from env: %q, %v", got, err)
	}
	_, err := ResolvePassphrase("", env, false, "")
	wantErr(t, err, ErrNoTerminal, "")
	if err.Error() != "no terminal to ask for a passphrase: pass --passphrase-file" {
		t.Errorf("env not allowed: message %q", err)
	}
	if got, err := ResolvePassphrase(file, env, false, ""); err != nil || got != "from-file" {
		t.Errorf("file without env: %q, %v", got, err)
	}

	t.Setenv(env, "")
	_, err = ResolvePassphrase("", env, true, "")
	wantErr(t, err, ErrEmptyPassphrase, env+" is set but empty")

	os.Unsetenv(env)
	_, err = ResolvePassphrase("", env, true, "")
	wantErr(t, err, ErrNoTerminal, "or set "+env)

	_, err = ResolvePassphrase(filepath.Join(t.TempDir(), "nope"), env, true, "")
	if err == nil || errors.Is(err, ErrNoTerminal) {
		t.Errorf("missing file: %v", err)
	}
}

// TestNewPassphraseRule: a new passphrase needs 12 characters, not all
// the same, from a file as from anywhere; an existing key's passphrase is
// not held to it.
func TestNewPassphraseRule(t *testing.T) {
	for p, ok := range map[string]bool{
		"x": false, "elevenchars": false, "aaaaaaaaaaaaaaaa": false, "ééééééééééé": false,
		"twelve chars": true, "veritrial-dev": true, "ééééééééééé!": true,
	} {
		if err := CheckNewPassphrase(p); (err == nil) != ok || err != nil && !errors.Is(err, ErrWeakPassphrase) {
			t.Errorf("CheckNewPassphrase(%q) = %v", p, err)
		}
	}
	file := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(file, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveNewPassphrase(file, "", false, ""); !errors.Is(err, ErrWeakPassphrase) || !strings.Contains(err.Error(), "at least 12 characters") {
		t.Errorf("new passphrase from a file: %v", err)
	}
	if p, err := ResolvePassphrase(file, "", false, ""); err != nil || p != "short" {
		t.Errorf("existing passphrase from a file: %q, %v", p, err)
	}
}
