package keyring

import (
	"crypto/ed25519"
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
