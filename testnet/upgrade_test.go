package testnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// TestUpgradeFourValidators switches four validators under load to a
// next release at the height of an upgrade the consortium decided. The
// next release is this tree built with -tags upgradetest, whose registry
// carries the test migration upgrade-test (app/migration_upgradetest.go).
// Refused first: an upgrade height in the past, and a proposal that
// never reaches its quorum (its height passes without a halt, and the
// vote that would decide it afterwards is refused). Then the decided
// upgrade: every node stops after the height before it, saying which
// upgrade, height and release; the operators stop them; one node is
// first started with the old binary and one with a binary whose checksum
// is not the decided one, both refused with the reason; three start the
// next release and the chain goes on, the fourth later. At the end every
// node agrees on every block and app hash from height 1, ran the
// migration once, runs the next state-machine version (so do the
// headers from the height after the upgrade's), every committed record
// reads with a valid proof at its height and at the last, a record
// written before the upgrade is proven through the CLI against an app
// hash after it, the old binary refuses the upgraded ledger, and audit
// replay of the whole chain by the next release matches every height.
func TestUpgradeFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four nodes through an upgrade; skipped under -short")
	}
	began := time.Now()
	next := buildNextRelease(t)
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	for _, n := range c.nodes {
		c.start(n)
	}
	for _, n := range c.nodes {
		c.waitUp(n, 1, 60*time.Second)
	}
	sponsorHome := c.node("sponsor").home
	propose := func(name string, height int64, release ...string) (string, string, int) {
		args := append([]string{"--home", sponsorHome, "consortium", "propose", "upgrade", "--from", "sponsor-admin",
			"--name", name, "--height", strconv.FormatInt(height, 10), "--output", "json"}, release...)
		so, se, code, err := runVT(c.env, args...)
		if err != nil {
			t.Fatal(err)
		}
		return so, se, code
	}
	otherSums := filepath.Join(t.TempDir(), "SHA256SUMS")
	if err := os.WriteFile(otherSums, []byte(strings.Repeat("0e", 32)+"  veritrial-other-"+runtime.GOOS+"-"+runtime.GOARCH+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// An upgrade height in the past is refused by the ledger.
	if so, se, code := propose("upgrade-past", 2, "--sums", otherSums); code != 6 || !strings.Contains(se, "code 618 (upgrade_height)") {
		t.Fatalf("an upgrade height in the past: exit %d\nstdout: %s\nstderr: %s", code, so, se)
	}

	// A proposal a vote short of its quorum is never decided: its height
	// passes like any other. The notice counts from the proposal's block:
	// 8 blocks more leave room for a slow CLI on a loaded machine.
	undecided := c.maxHeight() + types.MinUpgradeMargin + 8
	so, se, code := propose("never-decided", undecided, "--sums", otherSums)
	if code != 0 {
		t.Fatalf("propose never-decided: exit %d\n%s\n%s", code, so, se)
	}
	for _, st := range c.voteUpgrade(1, "sponsor", "site-1") {
		if st != string(types.ProposalOpen) {
			t.Fatalf("proposal 1 after two yes votes: %s", st)
		}
	}

	// The work runs from here until the halt.
	l := newLoader(c, &ledgerLog{})
	c.setupStudy(l.log)
	site1, site2 := l.openSite("site-1", "S1"), l.openSite("site-2", "S2")
	l.start(site1, site2)

	// The upgrade: proposed with the checksum of the next release, decided
	// by three votes cast at once.
	bin := <-next
	if bin == "" {
		t.FailNow()
	}
	h := c.maxHeight() + types.MinUpgradeMargin + 14 // the deciding vote's block counts too
	if so, se, code = propose("upgrade-test", h, "--sha256", bin); code != 0 {
		t.Fatalf("propose upgrade-test: exit %d\n%s\n%s", code, so, se)
	}
	passed := false
	for _, st := range c.voteUpgrade(2, "site-1", "site-2", "regulator") {
		passed = passed || st == string(types.ProposalPassed)
	}
	if !passed {
		t.Fatal("upgrade-test not decided by three votes")
	}
	t.Logf("upgrade-test decided for height %d; never-decided proposed for height %d (at %s)", h, undecided, time.Since(began).Round(time.Second))

	// Every node stops after height h-1 and says why. The txs sent to
	// them meanwhile wait in their mempools: the work stops.
	c.waitAdvance(c.nodes, h-1, 0, 2*time.Minute)
	needed := fmt.Sprintf("UPGRADE upgrade-test NEEDED at height %d", h)
	for _, n := range c.nodes {
		c.waitUpgradeHalt(n, h)
	}
	l.wind()
	if got := c.maxHeight(); got != h-1 {
		t.Fatalf("a node went past height %d: %d", h-1, got)
	}
	so, se, code, err := runVT(c.env, "--home", sponsorHome, "status", "--from", "sponsor-admin")
	if err != nil || code != 1 || !strings.Contains(so, needed) || !strings.Contains(so, fileSHA256(t, bin)) ||
		!strings.Contains(se, fmt.Sprintf("stopped after height %d for upgrade upgrade-test", h-1)) {
		t.Fatalf("status of a stopped node: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, so, se)
	}
	t.Logf("every node stopped for the upgrade (at %s)", time.Since(began).Round(time.Second))
	for _, n := range c.nodes {
		if !regexp.MustCompile(needed + `[^\n]*Every node of this release stops here`).MatchString(c.logTail(n, 1<<20)) {
			t.Fatalf("node %s: no log line names the upgrade:\n%s", n.org, c.logTail(n, 10))
		}
		c.stop(n)
		if tail := c.logTail(n, 3); !strings.Contains(tail, fmt.Sprintf("stopped cleanly at height %d.\n%s", h-1, needed)) {
			t.Fatalf("node %s stopped without naming the upgrade:\n%s", n.org, tail)
		}
	}
	l.finish()

	// Refused: the old binary, and a binary whose checksum is not the one
	// decided.
	so, se, code, err = runVT(c.env, "--home", c.node("site-1").home, "start")
	if err != nil || code == 0 || !strings.Contains(se, "this binary cannot run this ledger: "+needed) {
		t.Fatalf("the old binary on site-1's node: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, so, se)
	}
	other := filepath.Join(t.TempDir(), "veritrial")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	so, se, code, err = runBin(c.env, other, "", "--home", c.node("site-2").home, "start")
	if err != nil || code == 0 || !strings.Contains(se, "is not the release the consortium agreed on") || !strings.Contains(se, "upgrade upgrade-test") {
		t.Fatalf("a binary with another checksum on site-2's node: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, so, se)
	}

	// The next release on three nodes: the chain goes on, and so does the
	// work. The fourth starts it later and catches up.
	for _, n := range c.nodes {
		n.bin = bin
	}
	late := c.node("regulator")
	three := []*tnode{c.node("sponsor"), c.node("site-1"), c.node("site-2")}
	for _, n := range three {
		c.start(n)
	}
	restarted := time.Now()
	c.waitAdvance(three, h, 1, 2*time.Minute)
	l.start(site1, site2)
	c.waitAdvance(three, h, 4, time.Minute)
	c.start(late)
	c.waitUp(late, c.maxHeight(), 90*time.Second)
	// A header's time is when the block before it was committed: h+1's
	// when block h was decided and the nodes stopped, h+2's when the
	// first block after the upgrade's was.
	haltAt, resumedAt := c.blockTime(c.nodes[0], h+1), c.blockTime(c.nodes[0], h+2)
	t.Logf("figure: the nodes stopped at height %d at %s and committed block %d, the first after the upgrade's, at %s: %s from the halt to the first block after the upgrade, %s of it after the third node of the next release was started (at %s)",
		h, haltAt.Format(time.TimeOnly), h+1, resumedAt.Format(time.TimeOnly), resumedAt.Sub(haltAt).Round(time.Millisecond),
		resumedAt.Sub(restarted).Round(time.Millisecond), time.Since(began).Round(time.Second))

	// Every invariant holds from height 1 on all four.
	c.waitAdvance(c.nodes, c.maxHeight(), 3, time.Minute)
	l.finish()
	top := c.checkAll("the upgrade", l.log)
	var before, after int
	for _, tx := range l.log.all() {
		if tx.Height < h {
			before++
		} else {
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d committed txs before the upgrade and %d after it: the workload did not run on both sides", before, after)
	}
	for _, n := range c.nodes {
		if k := strings.Count(c.logTail(n, 1<<20), "upgrade applied"); k != 1 {
			t.Errorf("node %s ran the migration %d times", n.org, k)
		}
		c.checkStateVersion(n, h, app.StateVersion())
	}

	// A record written before the upgrade, proven through the CLI against
	// an app hash after it.
	subject := ""
	for _, tx := range l.log.all() {
		if tx.Height < h && strings.HasPrefix(tx.What, "submit VS of ") {
			subject = strings.TrimPrefix(tx.What, "submit VS of ")
			break
		}
	}
	if subject == "" {
		t.Fatal("no form was committed before the upgrade")
	}
	so, se, code, err = runBin(c.env, bin, "", "--home", late.home, "show", "history", "--from", auditor, "--study", studyID,
		"--subject", subject, "--event", "SCR", "--form", "VS", "--prove")
	m := regexp.MustCompile(`Proof: every version verified against the app hash of height (\d+)`).FindStringSubmatch(so)
	if err != nil || code != 0 || m == nil {
		t.Fatalf("show history --prove of %s: exit %d (%v)\nstdout: %s\nstderr: %s", subject, code, err, so, se)
	}
	if proven, _ := strconv.ParseInt(m[1], 10, 64); proven <= h {
		t.Fatalf("the record of %s was proven at height %d, not after the upgrade at %d", subject, proven, h)
	}

	// The old binary refuses the upgraded ledger, and audit replay by the
	// next release re-executes the whole chain, the upgrade included.
	c.stop(late)
	so, se, code, err = runVT(c.env, "--home", late.home, "start")
	if err != nil || code == 0 || !strings.Contains(se, fmt.Sprintf("beyond this binary's version %d", app.StateVersion())) {
		t.Fatalf("the old binary on the upgraded ledger: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, so, se)
	}
	so, se, code, err = runBin(c.env, bin, "", "--home", late.home, "audit", "replay", "--output", "json")
	var rr audit.ReplayReport
	if err == nil {
		err = json.Unmarshal([]byte(so), &rr)
	}
	if err != nil || code != 0 || rr.Divergence != nil || rr.From != 1 || rr.To < top || rr.StateCompared != rr.To || len(rr.StateDifferences) != 0 {
		t.Fatalf("audit replay across the upgrade: exit %d (%v) %+v\nstderr: %s", code, err, rr, se)
	}

	// The proposal never decided cannot be decided now: its height is past.
	so, se, code, err = runVT(c.env, "--home", c.node("site-2").home, "consortium", "vote", "--from", "site-2-admin", "--proposal", "1", "--yes")
	if err != nil || code != 6 || !strings.Contains(se, "code 618 (upgrade_height)") {
		t.Fatalf("a late vote on never-decided: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, so, se)
	}
	t.Logf("%d blocks replayed across the upgrade in %.1f s; %d committed txs checked (%d before the upgrade); whole test %s",
		rr.Blocks, rr.Seconds, before+after, before, time.Since(began).Round(time.Second))
}

// buildNextRelease builds, in the background, the next release: this
// tree with -tags upgradetest, named as a release binary of this
// platform. The channel yields its path, or "" after failing the test.
func buildNextRelease(t *testing.T) <-chan string {
	t.Helper()
	out := make(chan string, 1)
	bin := filepath.Join(t.TempDir(), "veritrial-next-"+runtime.GOOS+"-"+runtime.GOARCH)
	go func() {
		b, err := exec.Command("go", "build", "-tags", "upgradetest", "-o", bin, "github.com/veritrial/veritrial/cmd/veritrial").CombinedOutput()
		if err != nil {
			t.Errorf("go build -tags upgradetest: %v\n%s", err, b)
			bin = ""
		}
		out <- bin
	}()
	return out
}

// fileSHA256 is the SHA-256 of a file, in hex.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// voteUpgrade votes yes on proposal n as the administrators of orgs, all
// at once, and returns the proposal's status after each vote.
func (c *cluster) voteUpgrade(n int, orgs ...string) []string {
	c.t.Helper()
	type outcome struct {
		so, se string
		code   int
		err    error
	}
	outs := make([]outcome, len(orgs))
	var wg sync.WaitGroup
	for i, org := range orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[i]
			o.so, o.se, o.code, o.err = runVT(c.env, "--home", c.node(org).home, "consortium", "vote", "--from", org+"-admin",
				"--proposal", strconv.Itoa(n), "--yes", "--output", "json")
		}()
	}
	wg.Wait()
	var sts []string
	for i, o := range outs {
		var v struct {
			Status string `json:"status"`
		}
		if o.err != nil || o.code != 0 || json.Unmarshal([]byte(o.so), &v) != nil {
			c.t.Fatalf("%s's vote on proposal %d: exit %d (%v)\nstdout: %s\nstderr: %s", orgs[i], n, o.code, o.err, o.so, o.se)
		}
		sts = append(sts, v.Status)
	}
	return sts
}

// waitUpgradeHalt waits until n's status says it stopped after height
// h-1 for upgrade-test, due at h.
func (c *cluster) waitUpgradeHalt(n *tnode, h int64) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		so, se, _, err := runVT(c.env, "--home", n.home, "status", "--from", n.org+"-admin", "--output", "json")
		var st struct {
			Halted *client.Halt `json:"halted"`
		}
		if err == nil && json.Unmarshal([]byte(so), &st) == nil && st.Halted != nil {
			if st.Halted.Upgrade != "upgrade-test" || st.Halted.Height != h-1 ||
				!strings.HasPrefix(st.Halted.Reason, fmt.Sprintf("UPGRADE upgrade-test NEEDED at height %d", h)) {
				c.t.Fatalf("node %s halted: %+v", n.org, st.Halted)
			}
			return
		}
		last = so + se
		time.Sleep(500 * time.Millisecond)
	}
	c.t.Fatalf("node %s did not stop for the upgrade at height %d within a minute; status: %s\nlog:\n%s", n.org, h, last, c.logTail(n, 30))
}

// blockTime is the header time of block h on n.
func (c *cluster) blockTime(n *tnode, h int64) time.Time {
	c.t.Helper()
	m, err := blockMetas(n, h, h)
	if err != nil {
		c.t.Fatal(err)
	}
	return m[h].time
}

// checkStateVersion checks that n reports state-machine version v+1,
// the headers up to h carry v and the headers after it v+1 (the block of
// an upgrade height updates the app version for the next).
func (c *cluster) checkStateVersion(n *tnode, h int64, v uint64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := n.cl.RPC().ABCIInfo(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	if info.Response.AppVersion != v+1 {
		c.t.Errorf("node %s: state-machine version %d after the upgrade, want %d", n.org, info.Response.AppVersion, v+1)
	}
	for height, want := range map[int64]uint64{h: v, h + 1: v + 1} {
		hd, err := n.cl.RPC().Header(ctx, &height)
		if err != nil {
			c.t.Fatal(err)
		}
		if hd.Header.Version.App != want {
			c.t.Errorf("node %s: the header of block %d carries app version %d, want %d", n.org, height, hd.Header.Version.App, want)
		}
	}
}
