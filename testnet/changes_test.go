package testnet

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/ceremony"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// maxBlockGap bounds the time between two consecutive blocks while the
// consortium changes under load. A normal block takes about a second here
// (timeout_commit 400 ms and the time to execute a few dozen forms, on
// two cores shared by five nodes and the workload); a validator that is
// down when its turn to propose comes costs one round more
// (timeout_propose 1 s, then the nil votes). The bound leaves room for a
// loaded machine, and none for a chain that stops.
const maxBlockGap = 6 * time.Second

// TestConsortiumChangesUnderLoad changes the consortium by vote while
// both sites' coordinators enter data without pause. Four validators of
// power 10 (sponsor, site-1, site-2, regulator) take a snapshot every 10
// heights. An ethics committee joins later as a real organisation
// would (consortium join --later and install --later, on a machine of
// its own, under its own passphrase); the sponsor proposes it with its
// member file; once it is voted in, its node (which the members' nodes
// refuse as a peer until then) catches up by state sync from two
// members' snapshots and its validator signs blocks. site-1 rotates
// its validator key and restarts its node with the new key file. site-2
// closes: its work stops, the consortium removes it, its validator
// leaves the set and its administrator can no longer sign. Throughout, no
// block takes longer than maxBlockGap. At the end every node agrees on
// every block it holds and on the app hash at a common height, every
// committed tx is found with valid proofs, and audit verify-chain, run
// from the genesis, follows every validator-set change at the height it
// took effect.
func TestConsortiumChangesUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five nodes under load for a minute or two; skipped under -short")
	}
	began := time.Now()
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	founders := slices.Clone(c.nodes)
	late, member, ethics := c.joinLater("ethics", types.OrgEthics)
	for _, n := range founders {
		n.args = []string{"--snapshot-interval", "10"}
		c.start(n)
	}
	for _, n := range founders {
		c.waitUp(n, 1, 60*time.Second)
	}
	log := &ledgerLog{}
	c.setupStudy(log)
	l := newLoader(c, log)
	site2 := l.openSite("site-2", "S2")
	l.start(l.openSite("site-1", "S1"), site2)
	loadFrom := c.maxHeight()
	keys := map[string]string{}
	for _, n := range c.m.Nodes {
		keys[n.Org] = n.ValidatorPubKey
	}

	// The sponsor proposes the ethics committee with its member file.
	// Once it is voted in, its node ID is on the ledger and the members'
	// nodes accept its node as a peer (filter_peers): it catches up by
	// state sync, and its validator, in the set from two blocks after the
	// vote's, signs once it has.
	c.waitAdvance(founders, 0, 15, 90*time.Second)
	if n := c.propose("sponsor", "add-org", "--from", "sponsor-admin", "--member", member); n != 1 {
		t.Fatalf("the proposal to add the ethics committee is number %d", n)
	}
	added := c.passProposal(1, "site-1", "site-2", "regulator")
	b := mustMember(t, member).Body
	keys["ethics"] = types.KeyText(b.Validator.PubKey)
	ethics.args = []string{"--state-sync", c.node("site-1").rpc + "," + c.node("regulator").rpc}
	c.start(ethics)
	c.waitUp(ethics, c.maxHeight(), 120*time.Second)
	if !strings.Contains(c.logTail(ethics, 1000), "state restored from a snapshot") {
		t.Fatalf("the ethics committee's node restored no snapshot; log:\n%s", c.logTail(ethics, 60))
	}
	caught := c.maxHeight()
	c.waitAdvance(c.nodes, caught, 8, 60*time.Second)
	signed, err := c.node("sponsor").firstSigned(cmted25519.PubKey(b.Validator.PubKey).Address(), added+2, caught+8)
	if err != nil {
		t.Fatalf("the ethics committee's validator, in the set from height %d: %v", added+2, err)
	}
	t.Logf("ethics added by the vote in block %d; its validator signs from block %d", added, signed)

	// site-1 rotates its validator key; its node restarts with it.
	pv, keyFile := newValidatorKey(t)
	old := keys["site-1"]
	keys["site-1"] = types.KeyText(pv.Key.PubKey.Bytes())
	if n := c.propose("site-1", "validator", "--from", "site-1-admin", "--org", "site-1", "--pubkey", keys["site-1"]); n != 2 {
		t.Fatalf("the rotation is proposal %d", n)
	}
	late.vote(t, ethics.home, 2)
	rotated := c.passProposal(2, "sponsor", "site-2", "regulator")
	c.restartWithKey(c.node("site-1"), keyFile)
	c.waitAdvance(c.liveNodes(), rotated, 8, 90*time.Second)
	if signed, err = c.node("sponsor").firstSigned(pv.Key.PubKey.Address(), rotated+2, rotated+8); err != nil {
		t.Fatalf("site-1's new key, in the set from height %d: %v", rotated+2, err)
	}
	t.Logf("site-1's key rotated by the vote in block %d; the new key signs from block %d", rotated, signed)

	// site-2 closes: its work stops and the consortium removes it.
	l.retire(site2)
	if n := c.propose("sponsor", "remove-org", "--from", "sponsor-admin", "--org", "site-2", "--reason", "site closed: recruitment target reached"); n != 3 {
		t.Fatalf("the removal is proposal %d", n)
	}
	late.vote(t, ethics.home, 3)
	removed := c.passProposal(3, "sponsor", "site-1", "regulator")
	c.waitAdvance(c.nodes, removed, 3, 60*time.Second)
	person, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	so, se, code, err := runVT(c.env, "--home", c.node("site-2").home, "account", "add", "--from", "site-2-admin", "--account", "site-2-late",
		"--name", "Late Coordinator", "--role", "coordinator", "--pubkey", types.KeyText(person))
	if err != nil || code != 6 || !strings.Contains(se, "code 607 (organisation_removed)") {
		t.Fatalf("a tx by the removed site-2's administrator: exit %d (%v), want 6 and code 607\nstdout: %s\nstderr: %s", code, err, so, se)
	}
	t.Logf("site-2 removed by the vote in block %d; its administrator's tx: %s", removed, strings.TrimSpace(se))
	delete(keys, "site-2")
	c.waitAdvance(c.nodes, c.maxHeight(), 5, 60*time.Second)
	l.finish()

	// Every node agrees on every block it holds and on the app hash at a
	// common height; every committed tx is found with its proofs.
	h, err := invCommonHeight(c.nodes, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ethics.cl.RPC().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base := st.SyncInfo.EarliestBlockHeight
	if base <= 10 {
		t.Fatalf("the ethics committee's node holds blocks from %d: it replayed instead of restoring a snapshot", base)
	}
	if err := invBlocksAgree(founders, 1, h); err != nil {
		t.Fatal(err)
	}
	if err := invBlocksAgree([]*tnode{founders[0], ethics}, base, h); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		if err := invInfoAppHash(n); err != nil {
			t.Fatal(err)
		}
	}
	txs := log.all()
	if err := invTxsCommitted(founders, txs, h); err != nil {
		t.Fatal(err)
	}
	if err := invRecordsAgree(founders[0], ethics, txs, h); err != nil {
		t.Fatal(err)
	}
	t.Logf("all %d nodes agree up to height %d (the ethics committee's from %d); %d committed txs found with proofs", len(c.nodes), h, base, len(txs))

	// The chain never stopped.
	c.checkBlockTimes(loadFrom, h, []change{{"ethics added", added}, {"site-1's key rotated", rotated}, {"site-2 removed", removed}})

	// An auditor verifies every header from the genesis through the
	// three validator-set changes.
	out := c.govTx("regulator", "audit", "verify-chain", "--from", "regulator-admin", "--genesis", filepath.Join(c.node("sponsor").home, "config", "genesis.json"),
		"--node", c.node("regulator").rpc, "--witness", c.node("sponsor").rpc, "--trust-dir", t.TempDir(), "--to", strconv.FormatInt(h, 10), "--output", "json")
	var rep audit.ChainReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.From != 1 || rep.To != h || !rep.CrossChecked {
		t.Fatalf("verify-chain: from %d to %d (want 1 to %d), cross-checked %v, failure %+v", rep.From, rep.To, h, rep.CrossChecked, rep.Failure)
	}
	genesis := []string{c.m.Nodes[0].ValidatorPubKey, c.m.Nodes[1].ValidatorPubKey, c.m.Nodes[2].ValidatorPubKey, c.m.Nodes[3].ValidatorPubKey}
	withEthics := append(slices.Clone(genesis), keys["ethics"])
	rotatedSet := slices.Clone(withEthics)
	rotatedSet[slices.Index(rotatedSet, old)] = keys["site-1"]
	want := []struct {
		height int64
		keys   []string
	}{{1, genesis}, {added + 2, withEthics}, {rotated + 2, rotatedSet}, {removed + 2, slices.Collect(maps.Values(keys))}}
	if len(rep.ValidatorHistory) != len(want) {
		t.Fatalf("verify-chain lists %d validator sets, want %d: %+v", len(rep.ValidatorHistory), len(want), rep.ValidatorHistory)
	}
	for i, w := range want {
		got := rep.ValidatorHistory[i]
		var gotKeys []string
		for _, v := range got.Validators {
			gotKeys = append(gotKeys, v.PubKey)
			if v.Power != 10 {
				t.Errorf("validator %s has power %d in the set from height %d", v.PubKey, v.Power, got.Height)
			}
		}
		sort.Strings(gotKeys)
		sort.Strings(w.keys)
		if got.Height != w.height || !slices.Equal(gotKeys, w.keys) {
			t.Fatalf("validator set %d: from height %d with %v, want from height %d with %v", i, got.Height, gotKeys, w.height, w.keys)
		}
	}
	t.Logf("verify-chain: %d headers from the genesis, validator sets from heights %d, %d, %d and %d; whole test %s",
		rep.To, want[0].height, want[1].height, want[2].height, want[3].height, time.Since(began).Round(time.Second))
}

// joinLater makes org, of kind k, join the running consortium as an
// organisation would on its own machine: consortium join --later with
// the consortium's draft under its own passphrase, then install --later
// of the consortium's genesis. A consortium made by testnet init has no
// draft: the machine writes the one its genesis matches (chain ID,
// genesis time, the ledger's default rules). The node, on free ports and
// with the cluster's timing, is added to c.nodes but not started. It
// returns the machine, the member file and the node.
func (c *cluster) joinLater(org string, k types.OrgKind) (*machine, string, *tnode) {
	c.t.Helper()
	t := c.t
	m := newMachine(t, t.TempDir(), org)
	genesis := filepath.Join(c.node("sponsor").home, "config", "genesis.json")
	doc, err := cmttypes.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(m.dir, "draft.json")
	m.mustRun(t, "consortium", "new", "--chain-id", doc.ChainID, "--genesis-time", doc.GenesisTime.Format(time.RFC3339Nano), "--out", draft)
	base := freeBasePort(t, 1)
	home, member := filepath.Join(m.dir, "home"), filepath.Join(m.dir, org+".member.json")
	m.mustRun(t, "consortium", "join", draft, "--later", "--home", home, "--org", org, "--kind", string(k), "--host", "127.0.0.1",
		"--p2p-port", strconv.Itoa(base), "--rpc-port", strconv.Itoa(base+1), "--out", member)
	n := m.install(t, org, genesis, c.m.GenesisSHA256, base+1, true)
	n.cl = c.newClient(n.rpc) // the node answers only signed reads: the auditor's, as on the founders' nodes
	conf, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	conf.Consensus.TimeoutPropose, conf.Consensus.TimeoutCommit = clusterTiming.Propose, clusterTiming.Commit
	conf.Consensus.CreateEmptyBlocksInterval = clusterTiming.EmptyBlocksInterval
	if err := node.WriteConfigFile(node.ConfigFile(home), conf); err != nil {
		t.Fatal(err)
	}
	c.nodes = append(c.nodes, n)
	return m, member, n
}

// vote votes yes on proposal n as the machine's organisation's
// administrator, with the home's keyring.
func (m *machine) vote(t *testing.T, home string, n int) {
	t.Helper()
	m.mustRun(t, "--home", home, "consortium", "vote", "--from", ceremony.AdminKey(m.name), "--proposal", strconv.Itoa(n), "--yes")
}

// propose runs consortium propose KIND as org's home and returns the
// proposal's number.
func (c *cluster) propose(org, kind string, args ...string) int {
	c.t.Helper()
	out := c.govTx(org, append([]string{"consortium", "propose", kind, "--output", "json"}, args...)...)
	var p struct {
		Proposal int `json:"proposal"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		c.t.Fatalf("propose %s: %v\n%s", kind, err, out)
	}
	return p.Proposal
}

// mustMember reads a member file.
func mustMember(t *testing.T, path string) *ceremony.Member {
	t.Helper()
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ceremony.ParseMember(bz)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// change is a consortium change and the block that applied it.
type change struct {
	what string
	at   int64
}

// checkBlockTimes fails the test if two consecutive blocks of from..to
// are more than maxBlockGap apart (header times), and logs the median
// gap, the longest, and the gaps around each change (a change applied in
// block H takes effect in consensus at H+2).
func (c *cluster) checkBlockTimes(from, to int64, changes []change) {
	c.t.Helper()
	metas, err := blockMetas(c.nodes[0], from, to)
	if err != nil {
		c.t.Fatal(err)
	}
	gap := func(h int64) time.Duration { return metas[h].time.Sub(metas[h-1].time) }
	var gaps []time.Duration
	longest := from + 1
	for h := from + 1; h <= to; h++ {
		gaps = append(gaps, gap(h))
		if gap(h) > gap(longest) {
			longest = h
		}
	}
	slices.Sort(gaps)
	c.t.Logf("blocks %d to %d under load: median gap %s, longest %s (before block %d)", from, to, gaps[len(gaps)/2], gap(longest), longest)
	for _, ch := range changes {
		var around []string
		for h := ch.at - 1; h <= min(ch.at+4, to); h++ {
			around = append(around, fmt.Sprintf("%d:%s", h, gap(h).Round(10*time.Millisecond)))
		}
		c.t.Logf("%s in block %d; gaps before blocks %s", ch.what, ch.at, strings.Join(around, " "))
	}
	if gap(longest) > maxBlockGap {
		c.t.Fatalf("block %d came %s after block %d: the chain stalled (at most %s allowed)", longest, gap(longest), longest-1, maxBlockGap)
	}
}
