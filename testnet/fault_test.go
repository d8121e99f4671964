package testnet

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFaults runs a four-organisation consortium as four real `veritrial
// start` processes under a clinical workload and perturbs it in the ways
// CometBFT's e2e runner and Jepsen do: kill -9 of one validator, of two
// (a halt), a rolling graceful restart, a long SIGSTOP, and kill -9 with
// the tails of the goleveldb logs and the consensus WAL cut off. After
// each, every invariant is checked over RPC on every live node.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests run four nodes for a few minutes; skipped under -short")
	}
	began := time.Now()
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	l, site1, site2 := c.startStudy()
	log := l.log
	c.checkAll("setup", log)
	t.Logf("setup done in %s", time.Since(began).Round(time.Millisecond))

	phase := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		t.Logf("=== perturbation: %s", name)
		l.start(site1, site2)
		f()
		l.finish()
		c.checkAll(name, log)
		t.Logf("=== %s: done in %s", name, time.Since(start).Round(time.Millisecond))
	}

	phase("kill -9 one validator under load", func() {
		time.Sleep(2 * time.Second)
		victim := c.node("site-2")
		c.kill(victim)
		others := c.liveNodes()
		c.waitAdvance(others, c.maxHeight(), 4, 60*time.Second)
		time.Sleep(time.Second)
		c.start(victim)
		c.waitUp(victim, c.maxHeight(), 90*time.Second)
	})

	phase("kill -9 two validators: halt, then resume", func() {
		time.Sleep(2 * time.Second)
		a, b := c.node("site-1"), c.node("regulator")
		c.kill(a)
		c.kill(b)
		// A block already past its precommits may still land; after that
		// the two remaining validators (half the power) cannot commit.
		time.Sleep(3 * time.Second)
		live := c.liveNodes()
		before := heights(t, live)
		time.Sleep(5 * time.Second)
		after := heights(t, live)
		for i, n := range live {
			if after[i] != before[i] {
				t.Fatalf("invariant \"no commits without a quorum\" broken on node %s: height %d -> %d with two of four validators down", n.org, before[i], after[i])
			}
		}
		h := c.maxHeight()
		if err := invBlocksAgree(live, 1, h); err != nil {
			t.Fatalf("during the halt: %v", err)
		}
		t.Logf("chain halted at height %d with 2 of 4 validators down", h)
		c.start(a)
		c.waitAdvance(append(live, a), h, 3, 90*time.Second)
		t.Logf("chain resumed with 3 of 4 validators")
		c.start(b)
		c.waitUp(b, c.maxHeight(), 90*time.Second)
	})

	phase("rolling graceful restart", func() {
		for _, n := range c.nodes {
			c.stop(n)
			c.start(n)
			c.waitUp(n, c.maxHeight()+1, 90*time.Second)
		}
	})

	phase("SIGSTOP a validator for several blocks", func() {
		victim := c.node("site-1")
		c.pause(victim)
		c.waitAdvance(c.liveNodes(), c.maxHeight(), 6, 60*time.Second)
		c.resume(victim)
		c.waitUp(victim, c.maxHeight(), 90*time.Second)
	})

	phase("kill -9, cut the tail of the app store's log and of the consensus WAL", func() {
		c.truncationCase(c.node("site-2"), []string{"data/app/app.db/*.log", "data/cs.wal/wal"})
	})

	phase("kill -9, cut the tail of CometBFT's block and state store logs and of the WAL", func() {
		c.truncationCase(c.node("sponsor"), []string{"data/blockstore.db/*.log", "data/state.db/*.log", "data/cs.wal/wal"})
	})

	// The regulator's auditor reads a site's data through the regulator's
	// own node, each version proven against the app hash.
	out := c.mustVT("--home", c.node("regulator").home, "show", "history", "--from", auditor, "--study", studyID,
		"--subject", "S1-001", "--event", "SCR", "--form", "VS", "--prove")
	if !strings.Contains(out, "2 version(s)") || !strings.Contains(out, "Proof: every version verified") {
		t.Fatalf("show history through the regulator's node:\n%s", out)
	}
	t.Logf("fault suite done in %s; %d committed txs checked on every node after every perturbation", time.Since(began).Round(time.Second), len(log.all()))
}

// heights returns the heights of ns, failing on a node that does not
// answer.
func heights(t *testing.T, ns []*tnode) []int64 {
	t.Helper()
	out := make([]int64, len(ns))
	for i, n := range ns {
		h, err := n.height()
		if err != nil {
			t.Fatalf("node %s does not answer: %v", n.org, err)
		}
		out[i] = h
	}
	return out
}

// recoveryHint is what a refusal to start must say: what is damaged and
// what to do about it.
var recoveryHint = regexp.MustCompile(`(?i)(damaged|corrupt).*(move|restore|remove|reset)`)

// truncationCase kills victim, cuts the last third of each file matching
// globs (relative to its home; for globs with several matches, the newest
// file) and restarts it. The node must either recover (by replay or by
// syncing from its peers) and then satisfy every invariant, or refuse to
// start with a message naming the damage and the recovery step; in that
// case the test follows the recovery step and the node must then catch up.
func (c *cluster) truncationCase(victim *tnode, globs []string) {
	c.t.Helper()
	time.Sleep(2 * time.Second)
	c.kill(victim)
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(victim.home, g))
		if err != nil || len(matches) == 0 {
			c.t.Fatalf("no file %s in %s (%v)", g, victim.home, err)
		}
		sort.Slice(matches, func(i, j int) bool { return modTime(matches[i]).After(modTime(matches[j])) })
		f := matches[0]
		st, err := os.Stat(f)
		if err != nil {
			c.t.Fatal(err)
		}
		cut := st.Size() / 3
		if err := os.Truncate(f, st.Size()-cut); err != nil {
			c.t.Fatal(err)
		}
		rel, _ := filepath.Rel(victim.home, f)
		c.t.Logf("node %s: cut %d of %d bytes from the end of %s", victim.org, cut, st.Size(), rel)
	}
	c.start(victim)
	target := c.maxHeight()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if !victim.running() {
			code := victim.reap()
			msg := lastError(c.logTail(victim, 60))
			if code == 0 || !recoveryHint.MatchString(msg) {
				c.t.Fatalf("node %s: refused to start (exit %d) without naming the damage and the recovery step:\n%s", victim.org, code, c.logTail(victim, 40))
			}
			c.t.Logf("node %s refused to start (exit %d): %s", victim.org, code, msg)
			c.recoverByResync(victim)
			return
		}
		if h, err := victim.height(); err == nil && h >= target {
			victim.setReady()
			c.t.Logf("node %s recovered by itself and caught up to height %d", victim.org, h)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	c.t.Fatalf("node %s: neither caught up to height %d nor refused to start within 90 s; log:\n%s", victim.org, target, c.logTail(victim, 40))
}

// recoverByResync follows the documented recovery step for a damaged
// validator: move its chain data aside, keeping the validator's sign
// state (so it can never sign twice), and let it sync from its peers.
func (c *cluster) recoverByResync(n *tnode) {
	c.t.Helper()
	data := filepath.Join(n.home, "data")
	aside := filepath.Join(n.home, fmt.Sprintf("data.damaged-%d", time.Now().UnixNano()))
	if err := os.Rename(data, aside); err != nil {
		c.t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		c.t.Fatal(err)
	}
	st, err := os.ReadFile(filepath.Join(aside, "priv_validator_state.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "priv_validator_state.json"), st, 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.start(n)
	c.waitUp(n, c.maxHeight(), 120*time.Second)
	c.t.Logf("node %s: resynced from its peers after moving its data aside", n.org)
}

// lastError returns the error line of a log: the line starting "Error:".
func lastError(log string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "Error: ") {
			return lines[i]
		}
	}
	return log
}

func modTime(p string) time.Time {
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}
