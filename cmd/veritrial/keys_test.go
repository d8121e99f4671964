package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pass := filepath.Join(dir, "pass")
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	os.WriteFile(wrong, []byte("battery staple\n"), 0o600)
	h := []string{"--home", home}

	failVT(t, env, exitKey, "no keyring", append(h, "keys", "list")...)
	if _, err := os.Stat(home); err == nil {
		t.Fatal("keys list created the home")
	}

	var added keyJSON
	decode(t, mustVT(t, env, append(h, "keys", "add", "alice", "--passphrase-file", pass, "-o", "json")...), &added)
	if added.Name != "alice" || len(added.PubKey) != 44 {
		t.Fatalf("keys add: %+v", added)
	}
	// The passphrase from the environment, flags before the argument.
	mustVT(t, append(env, envPassphrase+"=env passphrase"), append(h, "keys", "add", "bob")...)
	failVT(t, env, exitUsage, "already exists", append(h, "keys", "add", "alice", "--passphrase-file", pass)...)
	failVT(t, env, exitUsage, "invalid key name", append(h, "keys", "add", "Alice!", "--passphrase-file", pass)...)
	failVT(t, env, exitKey, "no terminal", append(h, "keys", "add", "carol")...)
	failVT(t, append(env, envPassphrase+"=short"), exitKey, "at least 12 characters", append(h, "keys", "add", "carol")...)

	r := mustVT(t, env, append(h, "keys", "show", "alice")...)
	if strings.TrimSpace(r.stdout) != added.PubKey {
		t.Fatalf("keys show printed %q, want the public key %q", r.stdout, added.PubKey)
	}
	var list struct{ Keys []keyJSON }
	decode(t, mustVT(t, env, append(h, "keys", "list", "--output", "json")...), &list)
	if len(list.Keys) != 2 || list.Keys[0].Name != "alice" || list.Keys[1].Name != "bob" {
		t.Fatalf("keys list: %+v", list)
	}
	if r := mustVT(t, env, append(h, "keys", "list")...); !strings.Contains(r.stdout, added.PubKey) {
		t.Fatalf("keys list text lacks alice's key:\n%s", r.stdout)
	}

	// Export and import under another name.
	out := filepath.Join(dir, "alice.key")
	mustVT(t, env, append(h, "keys", "export", "alice", "--out", out, "--export-passphrase-file", wrong, "--passphrase-file", pass)...)
	failVT(t, env, exitUsage, "already exists", append(h, "keys", "export", "alice", "--out", out, "--export-passphrase-file", wrong, "--passphrase-file", pass)...)
	failVT(t, env, exitKey, "wrong passphrase", append(h, "keys", "import", "alice2", out, "--export-passphrase-file", pass, "--passphrase-file", pass)...)
	var imported keyJSON
	decode(t, mustVT(t, env, append(h, "keys", "import", "alice2", out, "--export-passphrase-file", wrong, "--passphrase-file", pass, "-o", "json")...), &imported)
	if imported.PubKey != added.PubKey {
		t.Fatalf("imported key %s differs from exported %s", imported.PubKey, added.PubKey)
	}

	failVT(t, env, exitKey, "wrong passphrase", append(h, "keys", "delete", "alice", "--passphrase-file", wrong)...)
	failVT(t, env, exitKey, "no key named", append(h, "keys", "show", "nobody")...)
	failVT(t, env, exitUsage, "missing NAME", append(h, "keys", "show")...)
	mustVT(t, env, append(h, "keys", "delete", "alice", "--passphrase-file", pass)...)
	decode(t, mustVT(t, env, append(h, "keys", "list", "-o", "json")...), &list)
	if len(list.Keys) != 2 || list.Keys[0].Name != "alice2" {
		t.Fatalf("after delete: %+v", list)
	}
}
