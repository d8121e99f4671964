// Package keyring is veritrial's encrypted on-disk keystore of ed25519
// signing keys, one passphrase-protected file per person (argon2id key
// derivation, XChaCha20-Poly1305 encryption), with the passphrase sources the
// command line uses to unlock them.
package keyring
