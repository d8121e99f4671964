package testnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// TestStateSyncJoin runs four validators under the clinical workload,
// taking a snapshot every 10 heights, then starts a fifth organisation's
// node (the regulator's second, not a validator, its node ID voted onto
// the ledger) with --state-sync on an empty home. It must
// restore a snapshot instead of replaying from height 1, catch up, and
// agree with the validators on every block it holds, on the app hash and
// on every record committed; older heights are refused with the reason.
func TestStateSyncJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five nodes for a minute or so; skipped under -short")
	}
	began := time.Now()
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	for _, n := range c.nodes {
		n.args = []string{"--snapshot-interval", "10"}
	}
	l, site1, site2 := c.startStudy()
	log := l.log
	l.start(site1, site2)
	c.waitAdvance(c.nodes, 0, 25, 90*time.Second)

	// The regulator's second node: the others let it peer once the
	// consortium has voted its node ID onto the ledger.
	joiner := c.addNode("regulator-2", "--state-sync", c.node("site-1").rpc+","+c.node("regulator").rpc)
	c.govTx("regulator", "consortium", "propose", "nodes", "--from", "regulator-admin", "--org", "regulator", "--node-id", c.nodeID(joiner))
	c.passProposal(1, "sponsor", "site-1", "site-2")
	c.start(joiner)
	c.waitUp(joiner, c.maxHeight(), 120*time.Second)
	joined := time.Since(began)
	ns := append(c.liveNodes(), joiner)
	c.waitAdvance(ns, c.maxHeight(), 3, 60*time.Second)
	l.finish()

	h, err := invCommonHeight(ns, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := joiner.cl.RPC().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := st.SyncInfo.EarliestBlockHeight
	logText := c.logTail(joiner, 1000)
	m := regexp.MustCompile(`state restored from a snapshot .*?height=(\d+)`).FindStringSubmatch(logText)
	if m == nil {
		t.Fatalf("the joining node's log shows no restored snapshot:\n%s", c.logTail(joiner, 60))
	}
	snap, _ := strconv.ParseInt(m[1], 10, 64)
	if snap < 10 || base != snap+1 || !strings.Contains(logText, "trusting the header verified from the genesis validators") ||
		!strings.Contains(logText, "caught up with the consortium") || !strings.Contains(logText, "by=\"state sync") {
		t.Fatalf("snapshot height %d, earliest block %d: want a snapshot after height 10 and blocks from the next height only; log:\n%s", snap, base, c.logTail(joiner, 60))
	}
	t.Logf("the joining node restored the snapshot of height %d and holds blocks %d to %d (joined %s after the consortium started)", snap, base, h, joined.Round(time.Second))
	for _, line := range strings.Split(logText, "\n") {
		for _, what := range []string{"trusting the header", "Snapshot accepted", "state restored from a snapshot", "caught up"} {
			if strings.Contains(line, what) {
				t.Log(line)
			}
		}
	}

	// Every block the joining node holds is the validators' block, and
	// every record committed, before or after the snapshot, reads the
	// same at the common height on the joining node as on a validator,
	// each with a valid proof.
	ref := c.nodes[0]
	if err := invBlocksAgree([]*tnode{ref, joiner}, base, h); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if err := invInfoAppHash(n); err != nil {
			t.Fatal(err)
		}
	}
	txs := log.all()
	if err := invRecordsAgree(ref, joiner, txs, h); err != nil {
		t.Fatal(err)
	}
	// A height before the snapshot is not on the joining node, and says so.
	r, err := joiner.cl.Query(ctx, &abci.RequestQuery{Path: types.QueryKey, Data: txs[0].Keys[0], Height: snap - 1, Prove: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 0 || !strings.Contains(r.Log, fmt.Sprintf("state sync from a snapshot at height %d", snap)) {
		t.Fatalf("query at height %d on the joining node: code %d %q", snap-1, r.Code, r.Log)
	}
	t.Logf("%d committed txs' records agree at height %d; whole test %s", len(txs), h, time.Since(began).Round(time.Second))
}

// addNode makes the home of a new organisation's node that is not a
// validator: its own keys, the consortium's genesis, every validator as a
// persistent peer, on free ports; args are added to its start. The node is
// not among c.nodes (the workload's): it is stopped when the test ends.
func (c *cluster) addNode(org string, args ...string) *tnode {
	c.t.Helper()
	base := freeBasePort(c.t, 1)
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(base+1)
	home := filepath.Join(c.dir, org)
	conf := node.Config(home, org, rpc, "tcp://127.0.0.1:"+strconv.Itoa(base), clusterTiming)
	var peers []string
	for _, n := range c.m.Nodes {
		peers = append(peers, n.NodeID+"@"+n.P2P)
	}
	conf.P2P.PersistentPeers = strings.Join(peers, ",")
	if _, err := node.InitFiles(conf); err != nil {
		c.t.Fatal(err)
	}
	gen, err := os.ReadFile(filepath.Join(c.node("sponsor").home, "config", "genesis.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(conf.GenesisFile(), gen, 0o600); err != nil {
		c.t.Fatal(err)
	}
	n := &tnode{org: org, home: home, rpc: rpc, cl: c.newClient(rpc), args: args}
	c.t.Cleanup(func() {
		if n.running() {
			c.stop(n)
		}
		if c.t.Failed() {
			c.t.Logf("---- log of node %s (last lines) ----\n%s", n.org, c.logTail(n, 40))
		}
	})
	return n
}

// nodeID is the CometBFT node ID of n's node key.
func (c *cluster) nodeID(n *tnode) string {
	c.t.Helper()
	k, err := p2p.LoadNodeKey(filepath.Join(n.home, "config", "node_key.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(k.ID())
}
