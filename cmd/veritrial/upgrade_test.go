package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// TestUpgradeReleaseChecksums: propose upgrade reads the platforms and
// checksums from SHA256SUMS and from the binaries themselves, and
// refuses names without a platform and conflicting checksums.
func TestUpgradeReleaseChecksums(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s1, s2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	sums := write("SHA256SUMS", s2+"  veritrial-v2.0-rc1-linux-arm64\n"+s1+"  veritrial-v2.0-rc1-darwin-arm64\n")
	bin := write("veritrial-v2.0-rc1-linux-amd64", "a release binary")
	h := sha256.Sum256([]byte("a release binary"))
	binSum := hex.EncodeToString(h[:])

	got, err := releaseChecksums(sums, []string{bin})
	want := []types.UpgradeBinary{{Platform: "darwin/arm64", SHA256: s1}, {Platform: "linux/amd64", SHA256: binSum}, {Platform: "linux/arm64", SHA256: s2}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("releaseChecksums = %v, %v; want %v", got, err, want)
	}
	conflict := write("SUMS2", s1+"  veritrial-v2-linux-amd64\n")
	for _, tc := range []struct {
		name  string
		sums  string
		files []string
		want  string
	}{
		{name: "nothing", want: "--sums"},
		{name: "a binary without a platform", files: []string{write("veritrial", "x")}, want: "platform is unknown"},
		{name: "a malformed line", sums: write("BAD", "just-one-field\n"), want: "is not"},
		{name: "two checksums for one platform", sums: conflict, files: []string{bin}, want: "two different checksums for linux/amd64"},
		{name: "no such file", files: []string{filepath.Join(dir, "veritrial-v2-linux-amd64")}, want: "cannot read release binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := releaseChecksums(tc.sums, tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestUpgradeAtHeightOnANode switches a real node to a new binary at the
// height of a decided upgrade: the running binary stops at the height
// without committing it, its log, its status and its exit naming the
// upgrade, the height and the release to start, and started again exits
// at the same height, saying so; the binary that carries the upgrade (built
// with -tags upgradetest) refuses to start when its checksum is not the
// decided one, and with it the node migrates and carries on at the version after the
// release's own;
// audit replay then matches every height across the upgrade.
func TestUpgradeAtHeightOnANode(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "veritrial-test-"+runtime.GOOS+"-"+runtime.GOARCH)
	if out, err := exec.Command("go", "build", "-tags", "upgradetest", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags upgradetest: %v\n%s", err, out)
	}
	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase, readerEnv)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	// A block every half second, not only for txs, to reach the height.
	conf := filepath.Join(home, "config", "config.toml")
	toml, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	toml = regexp.MustCompile(`create_empty_blocks_interval = "[^"]*"`).ReplaceAll(toml, []byte(`create_empty_blocks_interval = "0s"`))
	if err := os.WriteFile(conf, toml, 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, env, home)
	st := waitHeight(t, env, home, 1, n)
	h := st.Height + types.MinUpgradeMargin + 15
	needed := fmt.Sprintf("UPGRADE upgrade-test NEEDED at height %d", h)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	binSum := sha256.Sum256(data)
	sum := hex.EncodeToString(binSum[:])
	mustVT(t, env, "consortium", "propose", "upgrade", "--from", "sponsor-admin", "--name", "upgrade-test", "--height", strconv.FormatInt(h, 10), "--sha256", bin)
	mustVT(t, env, "consortium", "vote", "--from", validatorOrg+"-admin", "--proposal", "1", "--yes")

	halted := func(n *testNode) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			var st statusDoc
			if r := vt(t, env, "status", "--from", "sponsor-dm", "-o", "json"); r.stdout != "" {
				decode(t, r, &st)
			}
			if st.NodeStatus != nil && st.Halted != nil {
				if st.Height > h || st.Halted.Height != h-1 || st.Halted.Upgrade != "upgrade-test" || !strings.HasPrefix(st.Halted.Reason, needed) || !strings.Contains(st.Halted.Reason, sum) {
					t.Fatalf("halted at %d: %+v", st.Height, st.Halted)
				}
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("no halt at height %d in 90 s; log:\n%s", h, n.stderr)
	}
	halted(n)
	// The operator's status names the upgrade, the height and the
	// release; so do the node's log and what it prints when stopped.
	if r := vt(t, env, "status", "--from", "sponsor-dm"); r.code != 1 || !strings.Contains(r.stdout, needed) ||
		!strings.Contains(r.stderr, fmt.Sprintf("stopped after height %d for upgrade upgrade-test", h-1)) {
		t.Fatalf("status of the stopped node: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if code := n.stop(t); code != 0 || !strings.Contains(n.stderr.String(), needed) || !strings.Contains(n.stderr.String(), "Every node of this release stops here") ||
		!strings.Contains(n.stdout.String(), fmt.Sprintf("stopped cleanly at height %d.\n%s", h-1, needed)) {
		t.Fatalf("the stopped node: exit %d\nstdout:\n%s\nlog:\n%s", code, n.stdout, n.stderr)
	}
	// Started again, it replays the stored block of the height and stops.
	if r := vt(t, env, "start"); r.code == 0 || !strings.Contains(r.stderr, "this binary cannot run this ledger: "+needed) {
		t.Fatalf("the old binary restarted: exit %d\n%s", r.code, r.stderr)
	}

	// The new binary: a copy with another checksum refuses to start.
	other := filepath.Join(t.TempDir(), "veritrial")
	if err := os.WriteFile(other, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	var started *exec.Cmd
	for _, b := range []string{other, bin} {
		cmd := exec.Command(b, "--home", home, "start")
		cmd.Env = env
		var se bytes.Buffer
		cmd.Stderr = &se
		if b == other {
			if err := cmd.Run(); err == nil || !strings.Contains(se.String(), "is not the release the consortium agreed on") {
				t.Fatalf("a binary with another checksum: %v\n%s", err, se.String())
			}
			continue
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		started = cmd
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st statusDoc
		if r := vt(t, env, "status", "--from", "sponsor-dm", "-o", "json"); r.code == 0 {
			decode(t, r, &st)
		}
		if st.NodeStatus != nil && st.Height > h {
			if st.StateMachineVersion != app.StateVersion()+1 {
				t.Errorf("state machine version after the upgrade: %d", st.StateMachineVersion)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new binary did not pass height %d in 60 s: %+v", h, st)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// audit replay, with the new binary, executes every height from
	// genesis, the upgrade's included, and matches every app hash and the
	// node's state.
	if err := started.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := started.Wait(); err != nil {
		t.Fatalf("the new binary stopped with %v", err)
	}
	cmd := exec.Command(bin, "audit", "replay", "--output", "json")
	cmd.Env = env
	out, err := cmd.Output()
	var rr audit.ReplayReport
	if err == nil {
		err = json.Unmarshal(out, &rr)
	}
	if err != nil || rr.Divergence != nil || rr.To <= h || rr.StateCompared != rr.To || len(rr.StateDifferences) != 0 {
		t.Fatalf("replay across the upgrade: %v %+v", err, rr)
	}
}
