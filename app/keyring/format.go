package keyring

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Format constants of version 1 key files and exported key blocks.
const (
	formatVersion = 1
	kdfName       = "argon2id"
	cipherName    = "xchacha20poly1305"

	saltLen  = 16
	checkLen = 16
	seedLen  = ed25519.SeedSize

	// Additional-data domains: a key file's ciphertext cannot be passed off
	// as an exported block, nor the other way round.
	domainFile   = "veritrial/keyring/file/v1"
	domainExport = "veritrial/keyring/export/v1"
	checkLabel   = "veritrial/keyring/passphrase-check/v1"

	// maxEncodedSize bounds what is read from a key file or armored block.
	maxEncodedSize = 64 << 10
)

// Bounds on KDF parameters, both for WithKDF and for what a file may ask
// for (a hostile file must not make us allocate unbounded memory or spin).
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 2 << 20 // 2 GiB
	maxKDFThreads   = 64
)

// KDFParams are the argon2id cost parameters used to derive the encryption
// key from a passphrase. Unlocking a key costs one derivation with the
// parameters stored in its file.
type KDFParams struct {
	// Time is the number of passes over memory.
	Time uint32
	// MemoryKiB is the memory cost in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultKDF holds the parameters new keys are encrypted with unless Open is
// given WithKDF: RFC 9106's second recommended argon2id option (3 passes,
// 64 MiB, 4 lanes), suited to interactive use. Tests in other packages may
// lower it to keep them fast; it must not be changed while keyrings are in
// use.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

func (p KDFParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("argon2id time %d is outside 1..%d", p.Time, maxKDFTime)
	case p.Threads < 1 || p.Threads > maxKDFThreads:
		return fmt.Errorf("argon2id threads %d is outside 1..%d", p.Threads, maxKDFThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB is outside %d..%d KiB", p.MemoryKiB, 8*uint32(p.Threads), maxKDFMemoryKiB)
	}
	return nil
}

// encodedKey is the JSON form of a key file and of the body of an exported
// key block.
type encodedKey struct {
	Version    int        `json:"version"`
	Name       string     `json:"name"`
	PubKey     string     `json:"pubkey"`
	KDF        encodedKDF `json:"kdf"`
	Cipher     string     `json:"cipher"`
	Nonce      string     `json:"nonce"`
	Ciphertext string     `json:"ciphertext"`
	Created    string     `json:"created"`
}

type encodedKDF struct {
	Name      string `json:"name"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      string `json:"salt"`
	// Check is a MAC, under a second KDF output, of a fixed label. It tells
	// a wrong passphrase apart from a damaged ciphertext; it gives an
	// attacker nothing the ciphertext does not already give.
	Check string `json:"check"`
}

// sealedKey is a decoded and structurally validated encodedKey.
type sealedKey struct {
	name       string
	pub        ed25519.PublicKey
	kdf        KDFParams
	salt       []byte
	check      []byte
	nonce      []byte
	ciphertext []byte
	created    time.Time
	createdRaw string
}

func (s *sealedKey) info() Info {
	return Info{Name: s.name, PubKey: append(ed25519.PublicKey(nil), s.pub...), Created: s.created}
}

// additionalData binds the name, public key and creation time to the
// ciphertext: moving or editing any of them makes decryption fail.
func additionalData(domain, name string, pub ed25519.PublicKey, created string) []byte {
	var b bytes.Buffer
	b.WriteString(domain)
	b.WriteByte(0)
	b.WriteString(name)
	b.WriteByte(0)
	b.WriteString(created)
	b.WriteByte(0)
	b.Write(pub)
	return b.Bytes()
}

// deriveKeys runs argon2id once and splits its output into the encryption
// key and the passphrase check value.
func deriveKeys(passphrase string, salt []byte, p KDFParams) (encKey, check []byte) {
	out := argon2.IDKey([]byte(passphrase), salt, p.Time, p.MemoryKiB, p.Threads, 2*chacha20poly1305.KeySize)
	encKey = append([]byte(nil), out[:chacha20poly1305.KeySize]...)
	mac := hmac.New(sha256.New, out[chacha20poly1305.KeySize:])
	mac.Write([]byte(checkLabel))
	check = mac.Sum(nil)[:checkLen]
	clear(out)
	return encKey, check
}

// seal encrypts seed under passphrase. The caller has validated the name,
// the passphrase and the parameters.
func seal(domain, name string, seed []byte, pub ed25519.PublicKey, created time.Time, passphrase string, p KDFParams) (*encodedKey, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("cannot read random bytes: %w", err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cannot read random bytes: %w", err)
	}
	encKey, check := deriveKeys(passphrase, salt, p)
	defer clear(encKey)
	aead, err := chacha20poly1305.NewX(encKey)
	if err != nil {
		return nil, err
	}
	createdRaw := created.UTC().Format(time.RFC3339)
	ct := aead.Seal(nil, nonce, seed, additionalData(domain, name, pub, createdRaw))
	b64 := base64.StdEncoding.EncodeToString
	return &encodedKey{
		Version: formatVersion,
		Name:    name,
		PubKey:  b64(pub),
		KDF: encodedKDF{
			Name: kdfName, Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads,
			Salt: b64(salt), Check: b64(check),
		},
		Cipher:     cipherName,
		Nonce:      b64(nonce),
		Ciphertext: b64(ct),
		Created:    createdRaw,
	}, nil
}

// decodeKey parses and validates the JSON of a key file or exported block.
// The returned error is a short phrase describing what is wrong.
func decodeKey(data []byte) (*sealedKey, error) {
	var e encodedKey
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("it is not a valid key document (%v)", err)
	}
	if e.Version != formatVersion {
		return nil, fmt.Errorf("it has format version %d, which this veritrial does not understand", e.Version)
	}
	if err := validateName(e.Name); err != nil {
		return nil, fmt.Errorf("the name inside (%q) is not a valid key name", e.Name)
	}
	s := &sealedKey{name: e.Name, createdRaw: e.Created}
	b64 := func(field, v string, want int) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("its %s is not valid base64", field)
		}
		if want >= 0 && len(b) != want {
			return nil, fmt.Errorf("its %s has %d bytes, want %d", field, len(b), want)
		}
		return b, nil
	}
	pub, err := b64("pubkey", e.PubKey, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	s.pub = pub
	if e.KDF.Name != kdfName {
		return nil, fmt.Errorf("its kdf %q is not %q", e.KDF.Name, kdfName)
	}
	s.kdf = KDFParams{Time: e.KDF.Time, MemoryKiB: e.KDF.MemoryKiB, Threads: e.KDF.Threads}
	if err := s.kdf.validate(); err != nil {
		return nil, fmt.Errorf("its %v", err)
	}
	if s.salt, err = b64("salt", e.KDF.Salt, saltLen); err != nil {
		return nil, err
	}
	if s.check, err = b64("passphrase check", e.KDF.Check, checkLen); err != nil {
		return nil, err
	}
	if e.Cipher != cipherName {
		return nil, fmt.Errorf("its cipher %q is not %q", e.Cipher, cipherName)
	}
	if s.nonce, err = b64("nonce", e.Nonce, chacha20poly1305.NonceSizeX); err != nil {
		return nil, err
	}
	if s.ciphertext, err = b64("ciphertext", e.Ciphertext, seedLen+chacha20poly1305.Overhead); err != nil {
		return nil, err
	}
	created, err := time.Parse(time.RFC3339, e.Created)
	if err != nil {
		return nil, fmt.Errorf("its creation time %q is not an RFC 3339 time", e.Created)
	}
	s.created = created.UTC()
	return s, nil
}

// open decrypts the seed. It returns ErrWrongPassphrase when the passphrase
// check fails, and a descriptive error (to be reported as corrupt) when
// the check passes but the data do not authenticate or do not match the
// public key. The caller zeroes the returned private key.
func (s *sealedKey) open(domain, passphrase string) (ed25519.PrivateKey, error) {
	encKey, check := deriveKeys(passphrase, s.salt, s.kdf)
	defer clear(encKey)
	if !hmac.Equal(check, s.check) {
		return nil, ErrWrongPassphrase
	}
	aead, err := chacha20poly1305.NewX(encKey)
	if err != nil {
		return nil, err
	}
	seed, err := aead.Open(nil, s.nonce, s.ciphertext, additionalData(domain, s.name, s.pub, s.createdRaw))
	if err != nil {
		return nil, fmt.Errorf("its encrypted key does not authenticate (edited, or moved from another name)")
	}
	defer clear(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(priv[seedLen:], s.pub) {
		clear(priv)
		return nil, fmt.Errorf("its private key does not match its public key")
	}
	return priv, nil
}

// Armor framing of exported keys.
const (
	armorBegin = "-----BEGIN VERITRIAL ENCRYPTED KEY-----"
	armorEnd   = "-----END VERITRIAL ENCRYPTED KEY-----"
	armorWidth = 64
)

// armor renders an exported key: informational headers, a blank line, and
// the base64 of the JSON document, which is authoritative.
func armor(e *encodedKey) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	fmt.Fprintf(&b, "Name: %s\n", e.Name)
	fmt.Fprintf(&b, "Public-Key: %s\n", e.PubKey)
	fmt.Fprintf(&b, "Created: %s\n", e.Created)
	b.WriteString("Comment: ed25519 key encrypted with its own passphrase; import it with: veritrial keys import\n\n")
	enc := base64.StdEncoding.EncodeToString(body)
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(armorEnd + "\n")
	return b.Bytes(), nil
}

// unarmor finds the first exported key block in text, checks its headers
// against its body and decodes it.
func unarmor(text []byte) (*sealedKey, error) {
	if len(text) > maxEncodedSize {
		return nil, fmt.Errorf("it is larger than %d bytes", maxEncodedSize)
	}
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) != armorBegin {
		i++
	}
	if i == len(lines) {
		return nil, fmt.Errorf("it has no %q line", armorBegin)
	}
	i++
	headers := map[string]string{}
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			i++
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("its header line %q is not \"Key: value\"", line)
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	var body strings.Builder
	ended := false
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == armorEnd {
			ended = true
			break
		}
		body.WriteString(line)
	}
	if !ended {
		return nil, fmt.Errorf("it has no %q line", armorEnd)
	}
	raw, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		return nil, fmt.Errorf("its body is not valid base64")
	}
	s, err := decodeKey(raw)
	if err != nil {
		return nil, err
	}
	if v, ok := headers["Name"]; ok && v != s.name {
		return nil, fmt.Errorf("its Name header %q differs from the name inside %q", v, s.name)
	}
	if v, ok := headers["Public-Key"]; ok && v != base64.StdEncoding.EncodeToString(s.pub) {
		return nil, fmt.Errorf("its Public-Key header differs from the public key inside")
	}
	return s, nil
}
