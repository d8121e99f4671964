package node_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/veritrial/veritrial/app/node"
)

// TestNodeAccountFile: the node account's key is written once, readable
// by its owner only, and read back without a prompt; a file others may
// read is refused, and so is a damaged one.
func TestNodeAccountFile(t *testing.T) {
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, "config"), 0o700)
	if _, err := node.LoadNodeAccount(home); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	made, err := node.CreateNodeAccount(home, "site1-node")
	if err != nil {
		t.Fatal(err)
	}
	path := node.NodeAccountFile(home)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", st.Mode(), err)
	}
	if _, err := node.CreateNodeAccount(home, "site1-node"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("an existing key replaced: %v", err)
	}
	got, err := node.LoadNodeAccount(home)
	if err != nil || got.ID != "site1-node" || !bytes.Equal(got.PubKey(), made.PubKey()) {
		t.Fatalf("loaded %+v %v", got, err)
	}
	if !ed25519.Verify(made.PubKey(), []byte("m"), got.Sign([]byte("m"))) {
		t.Fatal("the loaded key does not sign as the created one")
	}
	os.Chmod(path, 0o640)
	if _, err := node.LoadNodeAccount(home); !errors.Is(err, node.ErrNodeAccountExposed) {
		t.Fatalf("a group-readable key: %v", err)
	}
	os.WriteFile(path, []byte(`{"account":"site1-node","seed":"AAAA"}`), 0o600)
	os.Chmod(path, 0o600)
	if _, err := node.LoadNodeAccount(home); err == nil {
		t.Fatal("a damaged key file accepted")
	}
	if _, err := node.CreateNodeAccount(t.TempDir(), "bad id"); err == nil {
		t.Fatal("an invalid account ID accepted")
	}
}
