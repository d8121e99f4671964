package keyring

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

const keySuffix = ".key"

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Info describes a stored key. It is readable without the passphrase.
type Info struct {
	Name    string            `json:"name"`
	PubKey  ed25519.PublicKey `json:"pubkey"`
	Created time.Time         `json:"created"`
}

// PubKeyBase64 returns the public key in standard base64, the form the
// ledger and the command line show.
func (i Info) PubKeyBase64() string {
	return base64.StdEncoding.EncodeToString(i.PubKey)
}

// Keyring is a directory of encrypted key files, one <name>.key per key.
// Its methods are safe for concurrent use, also by several processes: a key
// file is only ever created whole (temporary file, fsync, atomic link or
// rename) or removed.
type Keyring struct {
	dir string
	kdf KDFParams
}

// Option configures a Keyring.
type Option func(*Keyring)

// WithKDF sets the argon2id parameters new keys are encrypted with
// (default DefaultKDF). Existing keys are unlocked with the parameters in
// their own files whatever this says.
func WithKDF(p KDFParams) Option {
	return func(k *Keyring) { k.kdf = p }
}

// Open opens the keyring in dir, creating the directory (mode 0700) if it
// does not exist.
func Open(dir string, opts ...Option) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("no keyring directory given")
	}
	k := &Keyring{dir: filepath.Clean(dir), kdf: DefaultKDF}
	for _, o := range opts {
		o(k)
	}
	if err := k.kdf.validate(); err != nil {
		return nil, fmt.Errorf("invalid key derivation parameters: %v", err)
	}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create keyring directory %s: %w", k.dir, pathCause(err))
	}
	st, err := os.Stat(k.dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open keyring directory %s: %w", k.dir, pathCause(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("keyring path %s is not a directory", k.dir)
	}
	return k, nil
}

// Dir returns the keyring's directory.
func (k *Keyring) Dir() string { return k.dir }

// ValidateName reports, as a sentence wrapping ErrInvalidName, why name is
// not a valid key name, or nil if it is.
func ValidateName(name string) error {
	if err := validateName(name); err != nil {
		return newError(ErrInvalidName, fmt.Sprintf("invalid key name %q: use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name), nil)
	}
	return nil
}

func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return ErrInvalidName
	}
	return nil
}

func checkPassphrase(passphrase, what string) error {
	if passphrase == "" {
		return newError(ErrEmptyPassphrase, "empty "+what+": keys must be protected by a non-empty passphrase", nil)
	}
	return nil
}

func (k *Keyring) path(name string) string {
	return filepath.Join(k.dir, name+keySuffix)
}

// Add generates a new ed25519 key called name, encrypted under passphrase.
func (k *Keyring) Add(name, passphrase string) (Info, error) {
	if err := k.precheckNew(name); err != nil {
		return Info{}, err
	}
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return Info{}, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Info{}, fmt.Errorf("cannot generate a key: %w", err)
	}
	defer clear(priv)
	return k.store(name, passphrase, priv.Seed(), pub, time.Now())
}

// Import stores an existing key under name, encrypted under passphrase.
// seedOrPrivateKey is a 32-byte ed25519 seed or a 64-byte ed25519 private
// key (seed followed by public key, as crypto/ed25519 lays it out).
func (k *Keyring) Import(name, passphrase string, seedOrPrivateKey []byte) (Info, error) {
	if err := k.precheckNew(name); err != nil {
		return Info{}, err
	}
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return Info{}, err
	}
	var seed []byte
	switch len(seedOrPrivateKey) {
	case ed25519.SeedSize:
		seed = seedOrPrivateKey
	case ed25519.PrivateKeySize:
		seed = seedOrPrivateKey[:ed25519.SeedSize]
	default:
		return Info{}, newError(ErrInvalidKey, fmt.Sprintf("cannot import key %q: an ed25519 key is a 32-byte seed or a 64-byte private key, not %d bytes", name, len(seedOrPrivateKey)), nil)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	defer clear(priv)
	pub := ed25519.PublicKey(append([]byte(nil), priv[ed25519.SeedSize:]...))
	if len(seedOrPrivateKey) == ed25519.PrivateKeySize && !bytes.Equal(pub, seedOrPrivateKey[ed25519.SeedSize:]) {
		return Info{}, newError(ErrInvalidKey, fmt.Sprintf("cannot import key %q: the private key's public half does not match its seed", name), nil)
	}
	return k.store(name, passphrase, priv.Seed(), pub, time.Now())
}

// Export returns the key called name as an armored text block, encrypted
// under exportPassphrase (which may differ from the keyring passphrase), for
// moving it to another machine with ImportArmored.
func (k *Keyring) Export(name, passphrase, exportPassphrase string) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return nil, err
	}
	if err := checkPassphrase(exportPassphrase, "export passphrase"); err != nil {
		return nil, err
	}
	s, _, err := k.read(name)
	if err != nil {
		return nil, err
	}
	priv, err := k.unlock(s, passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(priv)
	e, err := seal(domainExport, s.name, priv.Seed(), s.pub, s.created, exportPassphrase, k.kdf)
	if err != nil {
		return nil, fmt.Errorf("cannot export key %q: %w", name, err)
	}
	return armor(e)
}

// ImportArmored stores a key exported with Export under name (or, if name
// is empty, under the name recorded in the block), decrypting it with
// filePassphrase and encrypting it under newPassphrase. The key keeps its
// original creation time.
func (k *Keyring) ImportArmored(name string, armored []byte, filePassphrase, newPassphrase string) (Info, error) {
	if name != "" {
		if err := k.precheckNew(name); err != nil {
			return Info{}, err
		}
	}
	if err := checkPassphrase(filePassphrase, "passphrase for the exported key"); err != nil {
		return Info{}, err
	}
	if err := checkPassphrase(newPassphrase, "passphrase"); err != nil {
		return Info{}, err
	}
	s, err := unarmor(armored)
	if err != nil {
		return Info{}, newError(ErrCorrupt, "the exported key block is damaged or has been tampered with: "+err.Error(), nil)
	}
	if name == "" {
		name = s.name
		if err := k.precheckNew(name); err != nil {
			return Info{}, err
		}
	}
	priv, err := s.open(domainExport, filePassphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return Info{}, newError(ErrWrongPassphrase, fmt.Sprintf("wrong passphrase for the exported key %q", s.name), nil)
	}
	if err != nil {
		return Info{}, newError(ErrCorrupt, "the exported key block is damaged or has been tampered with: "+err.Error(), nil)
	}
	defer clear(priv)
	return k.store(name, newPassphrase, priv.Seed(), s.pub, s.created)
}

// List returns every key in the keyring, sorted by name. It needs no
// passphrase. Files that are not key files (other names, temporary files)
// are ignored; a damaged key file is an error wrapping ErrCorrupt.
func (k *Keyring) List() ([]Info, error) {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read keyring directory %s: %w", k.dir, pathCause(err))
	}
	var out []Info
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), keySuffix)
		if !ok || validateName(name) != nil || e.IsDir() {
			continue
		}
		s, _, err := k.read(name)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Show returns the name, public key and creation time of the key called
// name. It needs no passphrase.
func (k *Keyring) Show(name string) (Info, error) {
	if err := ValidateName(name); err != nil {
		return Info{}, err
	}
	s, _, err := k.read(name)
	if err != nil {
		return Info{}, err
	}
	return s.info(), nil
}

// Delete removes the key called name. The passphrase must unlock it, to
// show the caller owns it.
func (k *Keyring) Delete(name, passphrase string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return err
	}
	s, raw, err := k.read(name)
	if err != nil {
		return err
	}
	priv, err := k.unlock(s, passphrase)
	if err != nil {
		return err
	}
	clear(priv)
	// The file must still be the one whose passphrase was proven.
	_, again, err := k.read(name)
	if err != nil {
		return err
	}
	if !bytes.Equal(raw, again) {
		return fmt.Errorf("key %q changed while it was being deleted; nothing was deleted, try again", name)
	}
	if err := os.Remove(k.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return k.notFound(name)
		}
		return fmt.Errorf("cannot delete key %q: %w", name, pathCause(err))
	}
	if err := syncDir(k.dir); err != nil {
		return fmt.Errorf("key %q was deleted but the keyring directory could not be synced: %w", name, err)
	}
	return nil
}

// Signer unlocks the key called name and returns a Signer holding its
// private key in memory until Close.
func (k *Keyring) Signer(name, passphrase string) (*Signer, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := checkPassphrase(passphrase, "passphrase"); err != nil {
		return nil, err
	}
	s, _, err := k.read(name)
	if err != nil {
		return nil, err
	}
	priv, err := k.unlock(s, passphrase)
	if err != nil {
		return nil, err
	}
	return &Signer{name: name, priv: priv, pub: append(ed25519.PublicKey(nil), s.pub...)}, nil
}

// precheckNew validates a name for a new key and fails early, before the
// expensive key derivation, if it is taken. store makes the final,
// race-free check.
func (k *Keyring) precheckNew(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if _, err := os.Lstat(k.path(name)); err == nil {
		return k.exists(name)
	}
	return nil
}

func (k *Keyring) notFound(name string) error {
	return newError(ErrNotFound, fmt.Sprintf("no key named %q in %s; list keys with: veritrial keys list", name, k.dir), nil)
}

func (k *Keyring) exists(name string) error {
	return newError(ErrExists, fmt.Sprintf("a key named %q already exists in %s; choose another name, or delete it first with: veritrial keys delete %s", name, k.dir, name), nil)
}

func (k *Keyring) corrupt(name, detail string) error {
	return newError(ErrCorrupt, fmt.Sprintf("key file %s is damaged or has been tampered with: %s", k.path(name), detail), nil)
}

// read loads and validates the file of key name, returning also its bytes.
func (k *Keyring) read(name string) (*sealedKey, []byte, error) {
	f, err := os.Open(k.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, k.notFound(name)
		}
		return nil, nil, fmt.Errorf("cannot read key %q: %w", name, pathCause(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxEncodedSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read key %q: %w", name, pathCause(err))
	}
	if len(raw) > maxEncodedSize {
		return nil, nil, k.corrupt(name, fmt.Sprintf("it is larger than %d bytes", maxEncodedSize))
	}
	s, err := decodeKey(raw)
	if err != nil {
		return nil, nil, k.corrupt(name, err.Error())
	}
	if s.name != name {
		return nil, nil, k.corrupt(name, fmt.Sprintf("it holds the key named %q", s.name))
	}
	return s, raw, nil
}

// unlock decrypts a key read from this keyring.
func (k *Keyring) unlock(s *sealedKey, passphrase string) (ed25519.PrivateKey, error) {
	priv, err := s.open(domainFile, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, newError(ErrWrongPassphrase, fmt.Sprintf("wrong passphrase for key %q", s.name), nil)
	}
	if err != nil {
		return nil, k.corrupt(s.name, err.Error())
	}
	return priv, nil
}

// store encrypts seed and creates the key file for name, failing with
// ErrExists if it exists (also when another process wins a race for it).
// On failure nothing is left behind.
func (k *Keyring) store(name, passphrase string, seed []byte, pub ed25519.PublicKey, created time.Time) (Info, error) {
	e, err := seal(domainFile, name, seed, pub, created, passphrase, k.kdf)
	if err != nil {
		return Info{}, fmt.Errorf("cannot store key %q: %w", name, err)
	}
	data, err := marshalFile(e)
	if err != nil {
		return Info{}, fmt.Errorf("cannot store key %q: %w", name, err)
	}
	if err := k.createFile(name, data); err != nil {
		return Info{}, err
	}
	s, err := decodeKey(data)
	if err != nil {
		return Info{}, fmt.Errorf("cannot store key %q: %w", name, err)
	}
	return s.info(), nil
}

// createFile writes data to a temporary file in the keyring directory,
// syncs it and links it into place without replacing an existing file.
func (k *Keyring) createFile(name string, data []byte) (err error) {
	final := k.path(name)
	tmp, err := os.CreateTemp(k.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot store key %q: %w", name, pathCause(err))
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		os.Remove(tmpName)
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("cannot store key %q: %w", name, pathCause(err))
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot store key %q: %w", name, pathCause(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot store key %q: %w", name, pathCause(err))
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("cannot store key %q: %w", name, pathCause(err))
	}
	// A hard link fails atomically if the name is taken, so concurrent
	// writers of one name cannot overwrite each other.
	if lerr := os.Link(tmpName, final); lerr != nil {
		if errors.Is(lerr, fs.ErrExist) {
			return k.exists(name)
		}
		// No hard links on this file system: check, then rename.
		if _, serr := os.Lstat(final); serr == nil {
			return k.exists(name)
		}
		if rerr := os.Rename(tmpName, final); rerr != nil {
			return fmt.Errorf("cannot store key %q: %w", name, pathCause(rerr))
		}
	}
	if err := syncDir(k.dir); err != nil {
		return fmt.Errorf("key %q was written but the keyring directory could not be synced: %w", name, err)
	}
	return nil
}

func marshalFile(e *encodedKey) ([]byte, error) {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// syncDir makes a directory's entries durable. Windows cannot sync
// directories; there it is a no-op.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return pathCause(err)
	}
	defer d.Close()
	return pathCause(d.Sync())
}

// pathCause strips the operation and path from a *fs.PathError, whose
// text would repeat what the caller's sentence already says.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
