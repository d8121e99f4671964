package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
)

// passphrase returns the keyring passphrase: --passphrase-file, else
// VERITRIAL_PASSPHRASE, else a prompt on the terminal (no echo).
func passphrase(c *cli.Context, prompt string) (string, error) {
	p, err := keyring.ResolvePassphrase(globalValue(c, flagPassphraseFile, ""), envPassphrase, true, prompt)
	if err != nil {
		return "", keyringError(err)
	}
	return p, nil
}

// newPassphrase is passphrase for choosing a passphrase: at the prompt it
// is asked twice.
func newPassphrase(c *cli.Context, prompt string) (string, error) {
	p, err := keyring.ResolveNewPassphrase(globalValue(c, flagPassphraseFile, ""), envPassphrase, true, prompt)
	if err != nil {
		return "", keyringError(err)
	}
	return p, nil
}

// presentPassphrase is passphrase for acts that must prove a person is
// present (electronic signatures): the environment variable is not
// accepted.
func presentPassphrase(c *cli.Context, prompt string) (string, error) {
	p, err := keyring.ResolvePassphrase(globalValue(c, flagPassphraseFile, ""), "", false, prompt)
	if err != nil {
		return "", keyringError(err)
	}
	return p, nil
}

// openKeyring opens the keyring in <home>/keyring. Only commands that
// store a key pass create; the others refuse a missing keyring rather than
// leave an empty one behind.
func openKeyring(c *cli.Context, create bool) (*keyring.Keyring, error) {
	home, err := homeDir(c)
	if err != nil {
		return nil, err
	}
	dir := node.KeyringDir(home)
	if !create {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, keyErrorf("no keyring in %s: create a home with veritrial init, add a key with veritrial keys add, or pass --home", home)
		}
	}
	kr, err := keyring.Open(dir)
	if err != nil {
		return nil, failf("%v", err)
	}
	return kr, nil
}

// signer unlocks the --from key for signing and reading. The key stays
// unlocked for the rest of the run, which closes it (so a command that
// reads and writes asks for the passphrase once).
func signer(c *cli.Context) (*keyring.Signer, error) {
	name, err := fromKey(c)
	if err != nil {
		return nil, err
	}
	return keptSigner(c, name)
}

// keptSigner unlocks key name once per run, as signer does the --from
// key.
func keptSigner(c *cli.Context, name string) (*keyring.Signer, error) {
	st := stateOf(c.App)
	if s, ok := st.signers[name]; ok {
		return s, nil
	}
	s, err := unlockKey(c, name, func() (string, error) { return passphrase(c, "Passphrase for key "+name+": ") })
	if err != nil {
		return nil, err
	}
	st.keep(name, s)
	return s, nil
}

// unlockKey opens the keyring, checks that key name exists (before asking
// for anything), then unlocks it with the passphrase pass obtains.
func unlockKey(c *cli.Context, name string, pass func() (string, error)) (*keyring.Signer, error) {
	kr, err := openKeyring(c, false)
	if err != nil {
		return nil, err
	}
	if _, err := kr.Show(name); err != nil {
		return nil, keyringError(err)
	}
	p, err := pass()
	if err != nil {
		return nil, err
	}
	s, err := kr.Signer(name, p)
	if err != nil {
		return nil, keyringError(err)
	}
	return s, nil
}

// keyringError gives a keyring error its exit code; its message is
// already a sentence for people.
func keyringError(err error) error {
	if err == nil {
		return nil
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	code := exitFailure
	switch {
	case errors.Is(err, keyring.ErrWrongPassphrase), errors.Is(err, keyring.ErrNotFound),
		errors.Is(err, keyring.ErrEmptyPassphrase), errors.Is(err, keyring.ErrNoTerminal),
		errors.Is(err, keyring.ErrPassphraseMismatch), errors.Is(err, keyring.ErrCorrupt), errors.Is(err, keyring.ErrWeakPassphrase):
		code = exitKey
	case errors.Is(err, keyring.ErrInvalidName), errors.Is(err, keyring.ErrExists):
		code = exitUsage
	case errors.Is(err, keyring.ErrInvalidKey):
		code = exitInput
	}
	return &cliError{code: code, msg: err.Error(), err: err}
}
