package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
)

func TestStartStatusRestart(t *testing.T) {
	t.Parallel()
	env := testEnv(t, readerEnv, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 3)
	mustVT(t, env, "--home", home, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))

	n := startNode(t, env, home)
	st := waitHeight(t, env, home, 2, n)
	if len(st.Validators) != 1 || st.Validators[0].Org != validatorOrg || st.Validators[0].Power != 10 {
		t.Errorf("status validators: %+v", st.Validators)
	}
	if st.ChainID != defaultChainID || len(st.AppHash) != 64 || st.LatestBlockTime.IsZero() || st.StateMachineVersion != app.StateVersion() {
		t.Errorf("status: %+v", st)
	}
	if r := mustVT(t, env, "--home", home, "status", "--from", "sponsor-dm"); !strings.Contains(r.stdout, validatorOrg) || !strings.Contains(r.stdout, st.AppHash) ||
		!regexp.MustCompile(fmt.Sprintf(`State machine +version %d\n`, app.StateVersion())).MatchString(r.stdout) {
		t.Errorf("status text:\n%s", r.stdout)
	}
	// A second node on the same home is refused.
	second := vt(t, env, "--home", home, "start")
	if second.code == 0 || !strings.Contains(second.stderr, "in use") {
		t.Errorf("a second start on the same home: exit %d, stderr %q", second.code, second.stderr)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("start exited %d after SIGTERM; log:\n%s", code, n.stderr)
	}
	if !strings.Contains(n.stdout.String(), "stopped cleanly") {
		t.Errorf("no stop summary on stdout: %q", n.stdout)
	}
	before := st.Height

	// The restart sizes the Merkle tree's node cache, takes a snapshot at
	// every height, and ignores --state-sync: the home has ledger state
	// (the addresses named are never dialled).
	n = startNode(t, env, home, "--cache-nodes", "50000", "--snapshot-interval", "1", "--state-sync", "127.0.0.1:1,127.0.0.1:2")
	st = waitHeight(t, env, home, before+2, n)
	if code := n.stop(t); code != 0 {
		t.Fatalf("restarted node exited %d after SIGTERM; log:\n%s", code, n.stderr)
	}
	for _, want := range []string{"cache_nodes=50000", "--state-sync ignored: the ledger state is not empty", "snapshot taken"} {
		if !strings.Contains(n.stderr.String(), want) {
			t.Errorf("the restart's log lacks %q; log:\n%s", want, n.stderr)
		}
	}
	if st.Height < before {
		t.Fatalf("restart resumed at height %d, below %d", st.Height, before)
	}
}

// TestStartIndexesBlocksTheIndexMissed: a node whose tx index lost blocks
// it had committed (CometBFT stops feeding its indexer before consensus on
// shutdown, and a killed node loses its last ones) indexes them from the
// stored blocks when it starts, so every committed tx is found by its hash.
func TestStartIndexesBlocksTheIndexMissed(t *testing.T) {
	t.Parallel()
	_, home, env, n := devNode(t)
	var res struct {
		Hash   string `json:"tx_hash"`
		Height int64  `json:"height"`
	}
	decode(t, mustVT(t, env, "account", "set-roles", "--from", "site1-admin", "--account", "site1-coordinator",
		"--role", "coordinator,investigator", "-o", "json"), &res)
	if res.Hash == "" || res.Height == 0 {
		t.Fatalf("set-roles result: %+v", res)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
	// The index as a node that missed every block would have it.
	if err := os.RemoveAll(filepath.Join(home, "data", "tx_index.db")); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, env, home)
	waitHeight(t, env, home, res.Height+1, n)

	rpcAddr, ok := node.RPCAddr(home)
	if !ok {
		t.Fatal("the home names no RPC address")
	}
	rpc, err := client.DialRPC(rpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := hex.DecodeString(res.Hash)
	tx, err := rpc.Tx(context.Background(), hash, false)
	if err != nil {
		t.Fatalf("committed tx %s not found by hash after the restart: %v\nnode log:\n%s", res.Hash, err, n.stderr)
	}
	if tx.Height != res.Height || tx.TxResult.Code != 0 {
		t.Fatalf("tx found at height %d code %d, want height %d code 0", tx.Height, tx.TxResult.Code, res.Height)
	}
	// The block index answers too (block_search by height).
	blocks, err := rpc.BlockSearch(context.Background(), "block.height = 1", nil, nil, "asc")
	if err != nil || blocks.TotalCount != 1 {
		out, _ := json.Marshal(blocks)
		t.Fatalf("block search after the restart: %v %s", err, out)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
}

// TestStartRefusesExposedRPC: a node as init makes it answers RPC on
// loopback only, not on the machine's other addresses; an RPC listen
// address other machines reach is refused (exit 2, the setting and both
// ways out named) unless --expose-rpc is given; then the node runs, its
// RPC answers on the other address, and its log warns what it serves.
func TestStartRefusesExposedRPC(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 3)
	mustVT(t, env, "--home", home, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	rpcPort := strconv.Itoa(ports[0])
	other := nonLoopbackIP(t)
	answers := func(host string) bool {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, rpcPort), 2*time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
	n := startNode(t, env, home)
	waitHeight(t, env, home, 1, n)
	if !answers("127.0.0.1") || other != "" && answers(other) {
		t.Errorf("RPC on 127.0.0.1: %v; on %s, another address of this machine: %v; want loopback only", answers("127.0.0.1"), other, other != "" && answers(other))
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("start exited %d; log:\n%s", code, n.stderr)
	}

	path := filepath.Join(home, "config", "config.toml")
	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	loopback := `laddr = "tcp://127.0.0.1:` + strconv.Itoa(ports[0]) + `"`
	exposed := `laddr = "tcp://0.0.0.0:` + strconv.Itoa(ports[0]) + `"`
	if !strings.Contains(string(conf), loopback) {
		t.Fatalf("config.toml has no %s", loopback)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(conf), loopback, exposed, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := failVT(t, env, exitUsage, `rpc.laddr = "tcp://0.0.0.0:`+strconv.Itoa(ports[0])+`" in `+path+" listens beyond this machine", "--home", home, "start")
	for _, want := range []string{"every block, transaction", "127.0.0.1", "--expose-rpc"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal does not say %q: %s", want, r.stderr)
		}
	}

	n = startNode(t, env, home, "--expose-rpc")
	waitHeight(t, env, home, 1, n)
	if other != "" && !answers(other) {
		t.Errorf("with --expose-rpc the RPC does not answer on %s", other)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("start --expose-rpc exited %d; log:\n%s", code, n.stderr)
	}
	if log := n.stderr.String(); !strings.Contains(log, "WARNING: --expose-rpc: the RPC listens beyond this machine") || !strings.Contains(log, "tcp://0.0.0.0:"+strconv.Itoa(ports[0])) {
		t.Errorf("the log has no warning naming the exposed RPC:\n%s", log)
	}
}

// nonLoopbackIP returns an IPv4 address of this machine that is not
// loopback, "" when it has none (the test then checks loopback only).
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Log("this machine has no address besides loopback: only the listen settings are checked")
	return ""
}
