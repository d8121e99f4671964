package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStartStatusRestart(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 2)
	mustVT(t, env, "--home", home, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]))

	n := startNode(t, env, home)
	st := waitHeight(t, env, home, 2, n)
	if len(st.Validators) != 1 || st.Validators[0].Org != "sponsor" || st.Validators[0].Power != 10 {
		t.Errorf("status validators: %+v", st.Validators)
	}
	if st.ChainID != defaultChainID || len(st.AppHash) != 64 || st.LatestBlockTime == "" {
		t.Errorf("status: %+v", st)
	}
	if r := mustVT(t, env, "--home", home, "status"); !strings.Contains(r.stdout, "sponsor") || !strings.Contains(r.stdout, st.AppHash) {
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

	// The restart sizes the Merkle tree's node cache.
	n = startNode(t, env, home, "--cache-nodes", "50000")
	st = waitHeight(t, env, home, before, n)
	if code := n.stop(t); code != 0 {
		t.Fatalf("restarted node exited %d after SIGTERM; log:\n%s", code, n.stderr)
	}
	if !strings.Contains(n.stderr.String(), "cache_nodes=50000") {
		t.Errorf("the restart did not use --cache-nodes 50000; log:\n%s", n.stderr)
	}
	if st.Height < before {
		t.Fatalf("restart resumed at height %d, below %d", st.Height, before)
	}
}
