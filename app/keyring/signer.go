package keyring

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
)

// Signer signs with one unlocked key. It holds the private key in memory
// until Close, which zeroes it. It is safe for concurrent use.
type Signer struct {
	mu   sync.RWMutex
	name string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// Name returns the name of the key in the keyring.
func (s *Signer) Name() string {
	if s == nil {
		return ""
	}
	return s.name
}

// PubKey returns a copy of the public key.
func (s *Signer) PubKey() ed25519.PublicKey {
	if s == nil {
		return nil
	}
	return append(ed25519.PublicKey(nil), s.pub...)
}

// Sign returns the ed25519 signature of msg, or nil if the Signer has been
// closed.
func (s *Signer) Sign(msg []byte) []byte {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.priv == nil {
		return nil
	}
	return ed25519.Sign(s.priv, msg)
}

// Close zeroes the private key. Later calls to Sign return nil. Close is
// idempotent and always returns nil.
func (s *Signer) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.priv)
	s.priv = nil
	return nil
}

// UnlockFile opens a key held outside a keyring: the bytes of a key file
// (KEYRING/NAME.key) or of an exported key block (Export), decrypted with
// passphrase. The signer is named by the name the file records. A browser
// signs with it (app/webui): the key file is opened on the person's device
// and its key never leaves it in clear.
func UnlockFile(data []byte, passphrase string) (*Signer, error) {
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return nil, err
	}
	if len(data) > maxEncodedSize {
		return nil, newError(ErrCorrupt, fmt.Sprintf("this is not a veritrial key file: it is larger than %d bytes", maxEncodedSize), nil)
	}
	domain := domainFile
	var s *sealedKey
	var err error
	if bytes.Contains(data, []byte(armorBegin)) {
		domain = domainExport
		s, err = unarmor(data)
	} else {
		s, err = decodeKey(data)
	}
	if err != nil {
		return nil, newError(ErrCorrupt, "this is not a veritrial key file, or it is damaged: "+err.Error(), nil)
	}
	priv, err := s.open(domain, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, newError(ErrWrongPassphrase, fmt.Sprintf("wrong passphrase for key %q", s.name), nil)
	}
	if err != nil {
		return nil, newError(ErrCorrupt, fmt.Sprintf("key file of %q is damaged or has been tampered with: %v", s.name, err), nil)
	}
	return &Signer{name: s.name, priv: priv, pub: append(ed25519.PublicKey(nil), s.pub...)}, nil
}
