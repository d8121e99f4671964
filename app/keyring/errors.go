package keyring

import (
	"errors"
)

// Sentinel errors. Every error returned by this package is a complete
// sentence meant for a person (it names the key and, where useful, the next
// command to run); programs test its kind with errors.Is against these.
var (
	// ErrWrongPassphrase: the passphrase does not unlock the key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrNotFound: there is no key with that name in the keyring.
	ErrNotFound = errors.New("key not found")
	// ErrExists: a key with that name already exists.
	ErrExists = errors.New("key already exists")
	// ErrCorrupt: a key file or exported key block is damaged, tampered with
	// or in a format this version does not understand.
	ErrCorrupt = errors.New("key data damaged or tampered with")
	// ErrInvalidName: the key name does not match ^[a-z0-9][a-z0-9._-]{0,63}$.
	ErrInvalidName = errors.New("invalid key name")
	// ErrEmptyPassphrase: an empty passphrase was given; keys are never
	// stored unprotected.
	ErrEmptyPassphrase = errors.New("empty passphrase")
	// ErrInvalidKey: the key material given to Import is not an ed25519
	// seed or private key.
	ErrInvalidKey = errors.New("invalid key material")
	// ErrNoTerminal: a passphrase had to be asked for but there is no
	// terminal to ask on.
	ErrNoTerminal = errors.New("no terminal")
	// ErrPassphraseMismatch: the passphrase and its confirmation differ.
	ErrPassphraseMismatch = errors.New("passphrases do not match")
	// ErrWeakPassphrase: a new passphrase does not meet the rule of
	// CheckNewPassphrase.
	ErrWeakPassphrase = errors.New("passphrase too weak")
)

// kindError carries a sentence for people and a sentinel kind (and
// optionally an underlying cause) for programs.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

func newError(kind error, msg string, cause error) error {
	return &kindError{kind: kind, msg: msg, cause: cause}
}
