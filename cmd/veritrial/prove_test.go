package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/veritrial/veritrial/app/node"
)

// TestProveVerifiesHeaders: show --prove checks its proofs against
// headers the light client verified from the home's genesis. With a
// genesis naming another validator key (as a node signing a chain of its
// own would look) the node's headers do not verify and nothing is shown;
// with the consortium's genesis the read is proven and the verified
// headers are kept in the home's trust store.
func TestProveVerifiesHeaders(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	n := startNode(t, env, home)
	waitHeight(t, env, home, 2, n)

	path := filepath.Join(home, "config", "genesis.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := json.Unmarshal(orig, &g); err != nil {
		t.Fatal(err)
	}
	vals := g["validators"].([]any)
	v := vals[0].(map[string]any)
	v["pub_key"] = map[string]any{"type": "tendermint/PubKeyEd25519", "value": ed25519.GenPrivKey().PubKey().Bytes()}
	delete(v, "address")
	forged, _ := json.Marshal(g)
	if err := os.WriteFile(path, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	show := []string{"--from", "site1-admin", "show", "account", "--account", "site1-coordinator", "--prove"}
	failVT(t, env, exitFailure, "do not verify from the genesis", show...)
	failVT(t, env, exitFailure, "do not verify from the genesis", "--from", "regulator-admin", "consortium", "members", "--prove")

	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mustVT(t, env, show...); !strings.Contains(r.stdout, "site1-coordinator") || !strings.Contains(r.stdout, "verified by the light client from the genesis") {
		t.Errorf("show --prove with the consortium's genesis:\n%s", r.stdout)
	}
	if ents, err := os.ReadDir(filepath.Join(home, "audit")); err != nil || len(ents) != 1 {
		t.Errorf("no trust store in the home: %v %v", ents, err)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d", code)
	}
}
