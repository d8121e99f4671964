package testnet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// TestHaltedNodeSaysSo: a validator whose state disagrees with the
// consortium's halts on a real consensus failure (its genesis differs in
// one consensus parameter, so the first block the other three commit is
// invalid to it, and CometBFT stops its consensus on "+2/3 committed an
// invalid block"). Its process and read API keep running, as CometBFT's
// do; its status says it halted and exits 1, and its read API refuses
// every read with node_halted (its status too: halted before its first
// block, it cannot authenticate a reader; app/readapi's tests cover the
// status of a node halted later), while a healthy node's status exits 0.
func TestHaltedNodeSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validators")
	}
	t.Parallel()
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	victim := c.node("site-2")
	gen := filepath.Join(victim.home, "config", "genesis.json")
	bz, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(bz, &doc); err != nil {
		t.Fatal(err)
	}
	var params map[string]map[string]json.RawMessage
	if err := json.Unmarshal(doc["consensus_params"], &params); err != nil {
		t.Fatal(err)
	}
	// max_gas is hashed into every header's ConsensusHash.
	params["block"]["max_gas"] = json.RawMessage(`"1000000000"`)
	if doc["consensus_params"], err = json.Marshal(params); err != nil {
		t.Fatal(err)
	}
	if bz, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gen, bz, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		c.start(n)
	}
	healthy := []*tnode{c.node("sponsor"), c.node("site-1"), c.node("regulator")}
	c.waitAdvance(healthy, 0, 4, 2*time.Minute)

	// The victim's log says why; the process runs on.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(c.logTail(victim, 400), "this node has stopped following the chain") {
		if time.Now().After(deadline) {
			t.Fatalf("the victim did not report its halt:\n%s", c.logTail(victim, 40))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !victim.running() {
		t.Fatal("the halted node's process ended")
	}
	var api string
	for _, n := range c.m.Nodes {
		if n.Org == victim.org {
			api = n.API
		}
	}
	regHome := c.node("regulator").home

	// Halted before its first block, it cannot authenticate even a
	// status request: it refuses that too, saying why.
	so, se, code, err := runVT(c.env, "--home", regHome, "status", "--from", auditor, "--node", api)
	if err != nil || code != 1 || !strings.Contains(se, types.CodeNodeHalted.String()) || !strings.Contains(se, "invalid block") {
		t.Fatalf("status of the halted node: exit %d (%v)\nstdout %s\nstderr %s", code, err, so, se)
	}

	// Reads through it are refused, saying why.
	so, se, code, _ = runVT(c.env, "--home", regHome, "consortium", "members", "--from", auditor, "--node", api)
	if code != 1 || !strings.Contains(se, types.CodeNodeHalted.String()) || !strings.Contains(se, "read from another node") {
		t.Errorf("a read through the halted node: exit %d\nstdout %s\nstderr %s", code, so, se)
	}

	// A healthy node says nothing of the sort.
	so, se, code, _ = runVT(c.env, "--home", regHome, "status", "--from", auditor, "-o", "json")
	if code != 0 || strings.Contains(so, `"halted"`) || strings.Contains(so, "stalled_for") {
		t.Errorf("status of a healthy node: exit %d\nstdout %s\nstderr %s", code, so, se)
	}
}
