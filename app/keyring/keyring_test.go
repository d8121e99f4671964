package keyring

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastKDF keeps tests quick; real keys use DefaultKDF.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

const pass = "correct horse battery staple"

func newKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := Open(filepath.Join(t.TempDir(), "keys"), WithKDF(fastKDF))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustAdd(t testing.TB, k *Keyring, name, passphrase string) Info {
	t.Helper()
	info, err := k.Add(name, passphrase)
	if err != nil {
		t.Fatalf("Add(%q): %v", name, err)
	}
	return info
}

// editFile decodes a key file as generic JSON, lets edit change it and
// writes it back.
func editFile(t *testing.T, path string, edit func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func flipBase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

func wantErr(t *testing.T, err, kind error, contains string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	if contains != "" && !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not contain %q", err, contains)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	k := newKeyring(t)
	before := time.Now().UTC().Truncate(time.Second)
	info := mustAdd(t, k, "site1-coordinator", pass)
	if info.Name != "site1-coordinator" || len(info.PubKey) != ed25519.PublicKeySize {
		t.Fatalf("Add returned %+v", info)
	}
	if info.Created.Before(before) || info.Created.After(time.Now()) || info.Created.Location() != time.UTC {
		t.Fatalf("Created = %v", info.Created)
	}
	if got := info.PubKeyBase64(); got != base64.StdEncoding.EncodeToString(info.PubKey) {
		t.Fatalf("PubKeyBase64 = %q", got)
	}

	shown, err := k.Show("site1-coordinator")
	if err != nil {
		t.Fatal(err)
	}
	if shown.Name != info.Name || !shown.PubKey.Equal(info.PubKey) || !shown.Created.Equal(info.Created) {
		t.Fatalf("Show = %+v, want %+v", shown, info)
	}

	s, err := k.Signer("site1-coordinator", pass)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.PubKey().Equal(info.PubKey) || s.Name() != "site1-coordinator" {
		t.Fatalf("Signer pubkey/name mismatch")
	}
	msg := []byte("form VT-HTN-201/site1/S001/BASELINE/VITALS")
	sig := s.Sign(msg)
	if !ed25519.Verify(info.PubKey, msg, sig) {
		t.Fatal("signature does not verify")
	}
}

func TestFileFormat(t *testing.T) {
	k := newKeyring(t)
	info := mustAdd(t, k, "alice", pass)
	data, err := os.ReadFile(filepath.Join(k.Dir(), "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"version", "name", "pubkey", "kdf", "cipher", "nonce", "ciphertext", "created"} {
		if _, ok := m[f]; !ok {
			t.Errorf("key file has no %q field", f)
		}
	}
	if m["version"] != 1.0 || m["name"] != "alice" || m["cipher"] != "xchacha20poly1305" || m["pubkey"] != info.PubKeyBase64() {
		t.Errorf("unexpected header fields: %v", m)
	}
	kdf := m["kdf"].(map[string]any)
	if kdf["name"] != "argon2id" || kdf["time"] != 1.0 || kdf["memory_kib"] != 64.0 || kdf["threads"] != 1.0 {
		t.Errorf("unexpected kdf: %v", kdf)
	}
	created := m["created"].(string)
	if ts, err := time.Parse(time.RFC3339, created); err != nil || !strings.HasSuffix(created, "Z") || !ts.Equal(info.Created) {
		t.Errorf("created %q is not RFC 3339 UTC matching %v", created, info.Created)
	}
	if bytes.Contains(data, []byte(pass)) {
		t.Error("passphrase appears in key file")
	}
}

func TestListWithoutPassphrase(t *testing.T) {
	k := newKeyring(t)
	want := map[string]Info{}
	for _, n := range []string{"b", "a.b", "a", "regulator-auditor"} {
		want[n] = mustAdd(t, k, n, pass+n)
	}
	// Things that are not keys are ignored.
	for _, junk := range []string{".a.tmp-123", "README", "UPPER.key", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(k.Dir(), junk), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(k.Dir(), "sub.key"), 0o700); err != nil {
		t.Fatal(err)
	}
	list, err := k.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
		if !i.PubKey.Equal(want[i.Name].PubKey) || !i.Created.Equal(want[i.Name].Created) {
			t.Errorf("List entry %+v, want %+v", i, want[i.Name])
		}
	}
	if got := strings.Join(names, ","); got != "a,a.b,b,regulator-auditor" {
		t.Fatalf("List order = %s", got)
	}

	empty, err := newKeyring(t).List()
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty List = %v, %v", empty, err)
	}
}

func TestListReportsCorruptFile(t *testing.T) {
	k := newKeyring(t)
	mustAdd(t, k, "alice", pass)
	if err := os.WriteFile(filepath.Join(k.Dir(), "bob.key"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := k.List()
	wantErr(t, err, ErrCorrupt, "bob.key")
}

func TestWrongPassphrase(t *testing.T) {
	k := newKeyring(t)
	mustAdd(t, k, "alice", pass)
	_, err := k.Signer("alice", "not it")
	wantErr(t, err, ErrWrongPassphrase, `wrong passphrase for key "alice"`)
	if err.Error() != `wrong passphrase for key "alice"` {
		t.Errorf("message = %q", err)
	}
	_, err = k.Export("alice", "not it", "export")
	wantErr(t, err, ErrWrongPassphrase, "")
	wantErr(t, k.Delete("alice", "not it"), ErrWrongPassphrase, "")
	if _, err := k.Show("alice"); err != nil {
		t.Fatalf("key gone after failed Delete: %v", err)
	}
}

func TestNotFoundAndExists(t *testing.T) {
	k := newKeyring(t)
	_, err := k.Show("nobody")
	wantErr(t, err, ErrNotFound, `no key named "nobody" in `+k.Dir()+"; list keys with: veritrial keys list")
	_, err = k.Signer("nobody", pass)
	wantErr(t, err, ErrNotFound, "")
	wantErr(t, k.Delete("nobody", pass), ErrNotFound, "")
	_, err = k.Export("nobody", pass, pass)
	wantErr(t, err, ErrNotFound, "")

	first := mustAdd(t, k, "alice", pass)
	_, err = k.Add("alice", "other")
	wantErr(t, err, ErrExists, `a key named "alice" already exists`)
	_, err = k.Import("alice", "other", make([]byte, 32))
	wantErr(t, err, ErrExists, "")
	if got, _ := k.Show("alice"); !got.PubKey.Equal(first.PubKey) {
		t.Fatal("existing key was replaced")
	}
	if names := dirNames(t, k.Dir()); len(names) != 1 {
		t.Fatalf("directory holds %v after failed Adds", names)
	}
}

func TestDelete(t *testing.T) {
	k := newKeyring(t)
	mustAdd(t, k, "alice", pass)
	mustAdd(t, k, "bob", pass)
	if err := k.Delete("alice", pass); err != nil {
		t.Fatal(err)
	}
	_, err := k.Show("alice")
	wantErr(t, err, ErrNotFound, "")
	if list, _ := k.List(); len(list) != 1 || list[0].Name != "bob" {
		t.Fatalf("List after Delete = %v", list)
	}
}

func TestTampering(t *testing.T) {
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name string
		edit func(m map[string]any)
		kind error // from Signer with the right passphrase
	}{
		{"ciphertext", func(m map[string]any) { m["ciphertext"] = flipBase64(t, m["ciphertext"].(string)) }, ErrCorrupt},
		{"nonce", func(m map[string]any) { m["nonce"] = flipBase64(t, m["nonce"].(string)) }, ErrCorrupt},
		{"pubkey", func(m map[string]any) { m["pubkey"] = base64.StdEncoding.EncodeToString(other) }, ErrCorrupt},
		{"created", func(m map[string]any) { m["created"] = "2001-01-01T00:00:00Z" }, ErrCorrupt},
		{"truncated ciphertext", func(m map[string]any) { m["ciphertext"] = m["ciphertext"].(string)[:20] }, ErrCorrupt},
		{"short pubkey", func(m map[string]any) { m["pubkey"] = "AAAA" }, ErrCorrupt},
		{"bad base64", func(m map[string]any) { m["nonce"] = "!!!" }, ErrCorrupt},
		{"version", func(m map[string]any) { m["version"] = 2 }, ErrCorrupt},
		{"cipher", func(m map[string]any) { m["cipher"] = "none" }, ErrCorrupt},
		{"kdf name", func(m map[string]any) { m["kdf"].(map[string]any)["name"] = "scrypt" }, ErrCorrupt},
		{"kdf huge memory", func(m map[string]any) { m["kdf"].(map[string]any)["memory_kib"] = 1 << 31 }, ErrCorrupt},
		{"kdf zero time", func(m map[string]any) { m["kdf"].(map[string]any)["time"] = 0 }, ErrCorrupt},
		{"kdf zero threads", func(m map[string]any) { m["kdf"].(map[string]any)["threads"] = 0 }, ErrCorrupt},
		{"kdf threads overflow", func(m map[string]any) { m["kdf"].(map[string]any)["threads"] = 300 }, ErrCorrupt},
		{"kdf missing", func(m map[string]any) { delete(m, "kdf") }, ErrCorrupt},
		{"created garbage", func(m map[string]any) { m["created"] = "yesterday" }, ErrCorrupt},
		// Changing the KDF inputs changes the derived key: indistinguishable
		// from a wrong passphrase, but never a successful unlock.
		{"salt", func(m map[string]any) {
			m["kdf"].(map[string]any)["salt"] = flipBase64(t, m["kdf"].(map[string]any)["salt"].(string))
		}, ErrWrongPassphrase},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKeyring(t)
			mustAdd(t, k, "alice", pass)
			editFile(t, filepath.Join(k.Dir(), "alice.key"), c.edit)
			s, err := k.Signer("alice", pass)
			if s != nil {
				t.Fatal("tampered key unlocked")
			}
			wantErr(t, err, c.kind, "")
			if c.kind == ErrCorrupt && !strings.Contains(err.Error(), "alice.key is damaged or has been tampered with") {
				t.Errorf("message = %q", err)
			}
		})
	}

	t.Run("garbage file", func(t *testing.T) {
		k := newKeyring(t)
		for _, data := range []string{"", "null", "[]", "{}", "{\"version\":1}", strings.Repeat("x", maxEncodedSize+10)} {
			if err := os.WriteFile(filepath.Join(k.Dir(), "alice.key"), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := k.Show("alice")
			wantErr(t, err, ErrCorrupt, "")
		}
	})
}

func TestSwappedFiles(t *testing.T) {
	k := newKeyring(t)
	alice := mustAdd(t, k, "alice", pass)
	mustAdd(t, k, "bob", pass)
	alicePath, bobPath := filepath.Join(k.Dir(), "alice.key"), filepath.Join(k.Dir(), "bob.key")
	aliceData, _ := os.ReadFile(alicePath)
	bobData, _ := os.ReadFile(bobPath)

	// Alice's file under Bob's name: the name inside gives it away.
	if err := os.WriteFile(bobPath, aliceData, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := k.Show("bob")
	wantErr(t, err, ErrCorrupt, `it holds the key named "alice"`)

	// ... and renaming it inside too: the name is authenticated.
	editFile(t, bobPath, func(m map[string]any) { m["name"] = "bob" })
	if info, err := k.Show("bob"); err != nil || !info.PubKey.Equal(alice.PubKey) {
		t.Fatalf("Show of relabelled file = %v, %v", info, err)
	}
	_, err = k.Signer("bob", pass)
	wantErr(t, err, ErrCorrupt, "does not authenticate")

	// Bob's ciphertext under Alice's public key.
	if err := os.WriteFile(bobPath, bobData, 0o600); err != nil {
		t.Fatal(err)
	}
	editFile(t, bobPath, func(m map[string]any) { m["pubkey"] = alice.PubKeyBase64() })
	_, err = k.Signer("bob", pass)
	wantErr(t, err, ErrCorrupt, "")
}

func TestImport(t *testing.T) {
	k := newKeyring(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)

	info, err := k.Import("from-seed", pass, priv.Seed())
	if err != nil || !info.PubKey.Equal(pub) {
		t.Fatalf("Import seed = %+v, %v", info, err)
	}
	info, err = k.Import("from-priv", pass, priv)
	if err != nil || !info.PubKey.Equal(pub) {
		t.Fatalf("Import private key = %+v, %v", info, err)
	}
	s, err := k.Signer("from-priv", pass)
	if err != nil {
		t.Fatal(err)
	}
	if sig := s.Sign([]byte("m")); !bytes.Equal(sig, ed25519.Sign(priv, []byte("m"))) {
		t.Fatal("imported key signs differently")
	}
	s.Close()

	mismatched := append(append([]byte(nil), priv.Seed()...), make([]byte, 32)...)
	_, err = k.Import("bad", pass, mismatched)
	wantErr(t, err, ErrInvalidKey, "does not match")
	for _, n := range []int{0, 31, 33, 63, 65} {
		_, err = k.Import("bad", pass, make([]byte, n))
		wantErr(t, err, ErrInvalidKey, "")
	}
	if _, err := k.Show("bad"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed Import left a key: %v", err)
	}
}

func TestExportImportAcrossKeyrings(t *testing.T) {
	src, dst := newKeyring(t), newKeyring(t)
	orig := mustAdd(t, src, "sponsor-dm", pass)
	armored, err := src.Export("sponsor-dm", pass, "transit passphrase")
	if err != nil {
		t.Fatal(err)
	}
	text := string(armored)
	if !strings.HasPrefix(text, armorBegin+"\n") || !strings.HasSuffix(text, armorEnd+"\n") ||
		!strings.Contains(text, "Name: sponsor-dm\n") || !strings.Contains(text, "Public-Key: "+orig.PubKeyBase64()) {
		t.Fatalf("armored block:\n%s", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 200 {
			t.Fatalf("armored line too long: %d", len(line))
		}
	}

	_, err = dst.ImportArmored("", armored, "wrong", "new pass")
	wantErr(t, err, ErrWrongPassphrase, `wrong passphrase for the exported key "sponsor-dm"`)
	_, err = dst.ImportArmored("", armored, pass, "new pass") // keyring passphrase is not the export one
	wantErr(t, err, ErrWrongPassphrase, "")

	// Surrounding text (an e-mail, say) and CRLF line endings are tolerated.
	wrapped := []byte("Hi, here is my key:\r\n\r\n" + strings.ReplaceAll(text, "\n", "\r\n") + "\r\nBye\r\n")
	info, err := dst.ImportArmored("", wrapped, "transit passphrase", "new pass")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "sponsor-dm" || !info.PubKey.Equal(orig.PubKey) || !info.Created.Equal(orig.Created) {
		t.Fatalf("imported %+v, want %+v", info, orig)
	}
	renamed, err := dst.ImportArmored("dm-laptop", armored, "transit passphrase", "another")
	if err != nil || renamed.Name != "dm-laptop" || !renamed.PubKey.Equal(orig.PubKey) {
		t.Fatalf("ImportArmored under a new name = %+v, %v", renamed, err)
	}
	_, err = dst.ImportArmored("", armored, "transit passphrase", "new pass")
	wantErr(t, err, ErrExists, "")

	s1, err := src.Signer("sponsor-dm", pass)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := dst.Signer("sponsor-dm", "new pass")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1.Sign([]byte("x")), s2.Sign([]byte("x"))) {
		t.Fatal("imported key differs from exported one")
	}
	s1.Close()
	s2.Close()
	if _, err := dst.Signer("sponsor-dm", "transit passphrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("imported key opens with the transit passphrase: %v", err)
	}
}

// rewriteArmored decodes the body of an armored block, edits its JSON and
// re-armors it, keeping the original headers.
func rewriteArmored(t *testing.T, armored []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	lines := strings.Split(string(armored), "\n")
	var head, body []string
	i := 0
	for ; lines[i] != ""; i++ {
		head = append(head, lines[i])
	}
	for i++; lines[i] != armorEnd; i++ {
		body = append(body, lines[i])
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(body, ""))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	raw, _ = json.Marshal(m)
	return []byte(strings.Join(head, "\n") + "\n\n" + base64.StdEncoding.EncodeToString(raw) + "\n" + armorEnd + "\n")
}

func TestImportArmoredDamaged(t *testing.T) {
	src, dst := newKeyring(t), newKeyring(t)
	mustAdd(t, src, "alice", pass)
	mustAdd(t, src, "bob", pass)
	armored, err := src.Export("alice", pass, "t")
	if err != nil {
		t.Fatal(err)
	}
	bobArmored, _ := src.Export("bob", pass, "t")
	bobInfo, _ := src.Show("bob")

	bad := map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("hello"),
		"no end":          []byte(strings.TrimSuffix(string(armored), armorEnd+"\n")),
		"bad base64":      []byte(strings.Replace(string(armored), "\n\n", "\n\n!!", 1)),
		"header name":     []byte(strings.Replace(string(armored), "Name: alice", "Name: bob", 1)),
		"header pubkey":   []byte(strings.Replace(string(armored), "Public-Key: ", "Public-Key: x", 1)),
		"ciphertext":      rewriteArmored(t, armored, func(m map[string]any) { m["ciphertext"] = flipBase64(t, m["ciphertext"].(string)) }),
		"relabelled":      rewriteArmored(t, bobArmored, func(m map[string]any) { m["name"] = "alice" }),
		"swapped pubkey":  rewriteArmored(t, armored, func(m map[string]any) { m["pubkey"] = bobInfo.PubKeyBase64() }),
		"huge":            bytes.Repeat([]byte("A"), maxEncodedSize+1),
		"kdf memory bomb": rewriteArmored(t, armored, func(m map[string]any) { m["kdf"].(map[string]any)["memory_kib"] = 1 << 31 }),
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := dst.ImportArmored("x", data, "t", "n")
			wantErr(t, err, ErrCorrupt, "the exported key block is damaged")
		})
	}
	if list, _ := dst.List(); len(list) != 0 {
		t.Fatalf("damaged imports left keys: %v", list)
	}

	// An exported block is not a key file, nor the other way round.
	t.Run("domain separation", func(t *testing.T) {
		lines := strings.Split(string(armored), "\n")
		var body []string
		i := 0
		for lines[i] != "" {
			i++
		}
		for i++; lines[i] != armorEnd; i++ {
			body = append(body, lines[i])
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.Join(body, ""))
		if err := os.WriteFile(filepath.Join(dst.Dir(), "alice.key"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := dst.Signer("alice", "t")
		wantErr(t, err, ErrCorrupt, "")

		fileData, _ := os.ReadFile(filepath.Join(src.Dir(), "bob.key"))
		fake := armorBegin + "\n\n" + base64.StdEncoding.EncodeToString(fileData) + "\n" + armorEnd + "\n"
		_, err = dst.ImportArmored("bob", []byte(fake), pass, "n")
		wantErr(t, err, ErrCorrupt, "")
	})
}

func TestBadNames(t *testing.T) {
	k := newKeyring(t)
	bad := []string{"", "A", "Alice", "-a", ".a", "_a", "a/b", "../x", "..", "a b", "a\x00", "é", "a:b", strings.Repeat("a", 65)}
	for _, n := range bad {
		_, err := k.Add(n, pass)
		wantErr(t, err, ErrInvalidName, "invalid key name")
		_, err = k.Import(n, pass, make([]byte, 32))
		wantErr(t, err, ErrInvalidName, "")
		_, err = k.Show(n)
		wantErr(t, err, ErrInvalidName, "")
		_, err = k.Signer(n, pass)
		wantErr(t, err, ErrInvalidName, "")
		_, err = k.Export(n, pass, pass)
		wantErr(t, err, ErrInvalidName, "")
		wantErr(t, k.Delete(n, pass), ErrInvalidName, "")
		if n != "" {
			_, err = k.ImportArmored(n, nil, pass, pass)
			wantErr(t, err, ErrInvalidName, "")
		}
	}
	if names := dirNames(t, k.Dir()); len(names) != 0 {
		t.Fatalf("bad names left files: %v", names)
	}
	for _, n := range []string{"a", "0", "site1-coordinator", "a.b_c-d", "a..b", strings.Repeat("z", 64)} {
		mustAdd(t, k, n, pass)
	}
}

func TestEmptyPassphrase(t *testing.T) {
	k := newKeyring(t)
	_, err := k.Add("alice", "")
	wantErr(t, err, ErrEmptyPassphrase, "empty passphrase")
	_, err = k.Import("alice", "", make([]byte, 32))
	wantErr(t, err, ErrEmptyPassphrase, "")
	if names := dirNames(t, k.Dir()); len(names) != 0 {
		t.Fatalf("refused Add left files: %v", names)
	}
	mustAdd(t, k, "alice", pass)
	_, err = k.Signer("alice", "")
	wantErr(t, err, ErrEmptyPassphrase, "")
	wantErr(t, k.Delete("alice", ""), ErrEmptyPassphrase, "")
	_, err = k.Export("alice", pass, "")
	wantErr(t, err, ErrEmptyPassphrase, "export passphrase")
	armored, err := k.Export("alice", pass, "t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.ImportArmored("bob", armored, "", "n")
	wantErr(t, err, ErrEmptyPassphrase, "")
	_, err = k.ImportArmored("bob", armored, "t", "")
	wantErr(t, err, ErrEmptyPassphrase, "")
}

func TestConcurrentAdd(t *testing.T) {
	k := newKeyring(t)
	const n = 16
	var wg sync.WaitGroup
	infos := make([]Info, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// A second Keyring on the same directory stands in for another
			// process.
			kr, err := Open(k.Dir(), WithKDF(fastKDF))
			if err != nil {
				errs[i] = err
				return
			}
			infos[i], errs[i] = kr.Add("shared", pass+string(rune('a'+i)))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("Adds %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Add succeeded")
	}
	if names := dirNames(t, k.Dir()); len(names) != 1 || names[0] != "shared.key" {
		t.Fatalf("directory holds %v", names)
	}
	s, err := k.Signer("shared", pass+string(rune('a'+winner)))
	if err != nil {
		t.Fatalf("winner's key does not open: %v", err)
	}
	defer s.Close()
	if !s.PubKey().Equal(infos[winner].PubKey) {
		t.Fatal("stored key is not the winner's")
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "a", "keys")
	k, err := Open(dir, WithKDF(fastKDF))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("keyring dir mode = %v, want 0700", st.Mode().Perm())
	}
	mustAdd(t, k, "alice", pass)
	armored, _ := k.Export("alice", pass, "t")
	if _, err := k.ImportArmored("bob", armored, "t", pass); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Import("carol", pass, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		st, err := os.Stat(filepath.Join(dir, n+".key"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s.key mode = %v, want 0600", n, st.Mode().Perm())
		}
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file); err == nil {
		t.Error("Open of a file succeeded")
	}
	for _, p := range []KDFParams{{}, {Time: 1, MemoryKiB: 64, Threads: 0}, {Time: 1, MemoryKiB: 1, Threads: 1}, {Time: 1, MemoryKiB: 4 << 20, Threads: 1}} {
		if _, err := Open(t.TempDir(), WithKDF(p)); err == nil {
			t.Errorf("Open with KDF %+v succeeded", p)
		}
	}
	if err := DefaultKDF.validate(); err != nil {
		t.Errorf("DefaultKDF invalid: %v", err)
	}
}

func TestSignerClose(t *testing.T) {
	k := newKeyring(t)
	mustAdd(t, k, "alice", pass)
	s, err := k.Signer("alice", pass)
	if err != nil {
		t.Fatal(err)
	}
	priv := s.priv
	if s.Close() != nil || s.Close() != nil {
		t.Fatal("Close failed")
	}
	if !bytes.Equal(priv, make([]byte, len(priv))) {
		t.Fatal("Close did not zero the private key")
	}
	if sig := s.Sign([]byte("x")); sig != nil {
		t.Fatal("Sign after Close returned a signature")
	}
	if len(s.PubKey()) != ed25519.PublicKeySize {
		t.Fatal("PubKey lost after Close")
	}
	var nilSigner *Signer
	if nilSigner.Sign(nil) != nil || nilSigner.PubKey() != nil || nilSigner.Close() != nil {
		t.Fatal("nil Signer misbehaves")
	}
}

func TestInfoJSON(t *testing.T) {
	k := newKeyring(t)
	info := mustAdd(t, k, "alice", pass)
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"alice","pubkey":"` + info.PubKeyBase64() + `","created":"` + info.Created.Format(time.RFC3339) + `"}`
	if string(data) != want {
		t.Fatalf("Info JSON = %s, want %s", data, want)
	}
}

// FuzzDecode checks that no key file or armored block, however malformed,
// makes the decoders panic.
func FuzzDecode(f *testing.F) {
	k := newKeyring(f)
	mustAdd(f, k, "alice", pass)
	data, _ := os.ReadFile(filepath.Join(k.Dir(), "alice.key"))
	armored, _ := k.Export("alice", pass, "t")
	f.Add(data)
	f.Add(armored)
	f.Add([]byte(armorBegin + "\nName\n" + armorEnd))
	f.Fuzz(func(t *testing.T, in []byte) {
		// Opening is only tried with cheap KDF parameters: the cap on what
		// a file may ask for (2 GiB) is too much for a fuzzing worker.
		if s, err := decodeKey(in); err == nil && s.kdf.MemoryKiB <= 1024 && s.kdf.Time <= 2 {
			s.open(domainFile, "p")
		}
		if s, err := unarmor(in); err == nil && s.kdf.MemoryKiB <= 1024 && s.kdf.Time <= 2 {
			s.open(domainExport, "p")
		}
	})
}

// BenchmarkUnlock measures unlocking a key created with DefaultKDF: the
// delay a person waits for each signature.
func BenchmarkUnlock(b *testing.B) {
	k, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := k.Add("alice", pass); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := k.Signer("alice", pass)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func TestUnlockFile(t *testing.T) {
	k := newKeyring(t)
	info := mustAdd(t, k, "site1-coordinator", pass)
	file, err := os.ReadFile(k.path("site1-coordinator"))
	if err != nil {
		t.Fatal(err)
	}
	armored, err := k.Export("site1-coordinator", pass, "transit passphrase")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what       string
		data       []byte
		passphrase string
	}{{"key file", file, pass}, {"exported block", armored, "transit passphrase"}} {
		s, err := UnlockFile(c.data, c.passphrase)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if s.Name() != "site1-coordinator" || !s.PubKey().Equal(info.PubKey) || !ed25519.Verify(info.PubKey, []byte("m"), s.Sign([]byte("m"))) {
			t.Errorf("%s: signer %q does not sign as the key", c.what, s.Name())
		}
		_, err = UnlockFile(c.data, "wrong")
		wantErr(t, err, ErrWrongPassphrase, `wrong passphrase for key "site1-coordinator"`)
	}
	_, err = UnlockFile(file, "")
	wantErr(t, err, ErrEmptyPassphrase, "")
	_, err = UnlockFile([]byte("not a key"), pass)
	wantErr(t, err, ErrCorrupt, "this is not a veritrial key file")
	edited := bytes.Replace(file, []byte(`"site1-coordinator"`), []byte(`"site1-investigator"`), 1)
	if bytes.Equal(edited, file) {
		t.Fatal("key file does not hold its name as expected")
	}
	_, err = UnlockFile(edited, pass)
	wantErr(t, err, ErrCorrupt, "tampered")
}
