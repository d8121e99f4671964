package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// tnode is one organisation's `veritrial start` process, driven only
// through signals, its RPC address and its files.
type tnode struct {
	org  string
	home string
	rpc  string
	cl   *client.Client
	// args are added to `veritrial start`.
	args []string
	// netns is the network namespace the node, and the CLI on its home,
	// run in ("": the test's own).
	netns string
	// bin is the binary `veritrial start` runs ("": binPath).
	bin string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	paused  bool
	// ready is set once the node has caught up after a start: the
	// workload sends it txs only then.
	ready bool
	log   *os.File
}

// cluster is a generated consortium and its processes.
type cluster struct {
	t     *testing.T
	dir   string
	m     *Manifest
	nodes []*tnode
	env   []string
}

// freeBasePort finds a base port whose 3n node ports (base+10*i, +1, +2)
// are all free on 127.0.0.1. It stays below Linux's ephemeral range (32768
// up), so that a killed node's ports are not taken meanwhile by an
// outgoing connection or another test's port-0 listener.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(12000-portStride*n)
		ok := true
		for i := 0; i < n && ok; i++ {
			for _, p := range []int{base + portStride*i, base + portStride*i + 1, base + portStride*i + 2} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range found in 100 tries")
	return 0
}

// vtCommand returns the command that runs the binary bin with args, in
// the network namespace netns unless it is "" (`ip netns exec` execs the
// binary, so the process is the node itself).
func vtCommand(ctx context.Context, bin, netns string, args ...string) *exec.Cmd {
	if netns == "" {
		return exec.CommandContext(ctx, bin, args...)
	}
	return exec.CommandContext(ctx, ipPath, append([]string{"netns", "exec", netns, bin}, args...)...)
}

// runVT runs the binary with args and returns stdout, stderr and the exit
// code, bounded by 90 s.
func runVT(env []string, args ...string) (string, string, int, error) {
	return runVTIn(env, "", args...)
}

// runVTIn is runVT in the network namespace netns.
func runVTIn(env []string, netns string, args ...string) (string, string, int, error) {
	return runBin(env, binPath, netns, args...)
}

// runBin is runVTIn with the binary bin.
func runBin(env []string, bin, netns string, args ...string) (string, string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := vtCommand(ctx, bin, netns, args...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return so.String(), se.String(), -1, err
		}
		code = ee.ExitCode()
	}
	return so.String(), se.String(), code, nil
}

// mustVT runs the binary and fails the test unless it exits 0.
func (c *cluster) mustVT(args ...string) string {
	c.t.Helper()
	return c.mustVTIn("", args...)
}

// mustVTIn is mustVT in the network namespace netns.
func (c *cluster) mustVTIn(netns string, args ...string) string {
	c.t.Helper()
	so, se, code, err := runVTIn(c.env, netns, args...)
	if err != nil || code != 0 {
		c.t.Fatalf("veritrial %s: exit %d (%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, err, so, se)
	}
	return so
}

// clusterTiming are the consensus timeouts of every test node: a fast
// chain, with an empty block every second when idle.
var clusterTiming = node.Timing{Propose: time.Second, Commit: 400 * time.Millisecond, EmptyBlocksInterval: time.Second}

// newCluster generates a consortium of orgs with the CLI on free ports in
// a temporary directory. Nothing is started.
func newCluster(t *testing.T, orgs ...string) *cluster {
	t.Helper()
	return newClusterWith(t, nil, orgs...)
}

// newClusterWith is newCluster with initArgs added to `testnet init`.
func newClusterWith(t *testing.T, initArgs []string, orgs ...string) *cluster {
	t.Helper()
	work := t.TempDir()
	c := &cluster{t: t, dir: filepath.Join(work, "net"),
		env: []string{"HOME=" + work, "PATH=" + os.Getenv("PATH"), "VERITRIAL_PASSPHRASE=" + node.DevPassphrase}}
	base := freeBasePort(t, len(orgs))
	c.mustVT(append([]string{"testnet", "init", "--orgs", strings.Join(orgs, ","), "--out", c.dir, "--base-port", strconv.Itoa(base),
		"--chain-id", "vt-fault-test", "--timeout-propose", clusterTiming.Propose.String(), "--timeout-commit", clusterTiming.Commit.String(),
		"--empty-blocks-interval", clusterTiming.EmptyBlocksInterval.String(), "--output", "json"}, initArgs...)...)
	m, err := ReadManifest(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	c.m = m
	for _, n := range m.Nodes {
		c.nodes = append(c.nodes, &tnode{org: n.Org, home: filepath.Join(c.dir, n.Home), rpc: n.RPC, cl: c.newClient(n.RPC)})
	}
	t.Cleanup(c.shutdown)
	return c
}

// auditor is the reader of every record the tests check: the regulator's
// auditor, who reads the whole of the study the workload runs (the
// regulator approves it) and the consortium.
const auditor = "regulator-auditor"

// newClient returns a client of the node at rpc whose reads are signed
// by the auditor, with its key from the regulator's keyring.
func (c *cluster) newClient(rpc string) *client.Client {
	c.t.Helper()
	cl, err := client.New(rpc)
	if err != nil {
		c.t.Fatal(err)
	}
	cl.Timeout = 90 * time.Second
	cl.ReadAs(auditor, func() (types.Signer, error) {
		kr, err := keyring.Open(node.KeyringDir(filepath.Join(c.dir, "regulator")))
		if err != nil {
			return nil, err
		}
		return kr.Signer(auditor, node.DevPassphrase)
	})
	return cl
}

// node returns the node of org.
func (c *cluster) node(org string) *tnode {
	c.t.Helper()
	return c.nodes[c.indexOf(org)]
}

// indexOf returns the index of org's node in c.nodes.
func (c *cluster) indexOf(org string) int {
	c.t.Helper()
	for i, n := range c.nodes {
		if n.org == org {
			return i
		}
	}
	c.t.Fatalf("no node %s", org)
	return -1
}

// start launches the node's process; its output is appended to
// <home>/node.log.
func (c *cluster) start(n *tnode) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		c.t.Fatalf("node %s is already running", n.org)
	}
	f, err := os.OpenFile(filepath.Join(n.home, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== test: start at %s\n", time.Now().Format(time.RFC3339Nano))
	bin := n.bin
	if bin == "" {
		bin = binPath
	}
	cmd := vtCommand(context.Background(), bin, n.netns, append([]string{"--home", n.home, "start"}, n.args...)...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		c.t.Fatal(err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.exitErr, n.paused, n.ready, n.log = cmd, done, nil, false, false, f
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.exitErr = err
		n.mu.Unlock()
		close(done)
	}()
}

// running reports whether the process is alive (paused counts).
func (n *tnode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// live reports whether the node runs and is not paused.
func (n *tnode) live() bool {
	if !n.running() {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.paused
}

// usable reports whether the workload may send the node txs: live and
// caught up since its last start.
func (n *tnode) usable() bool {
	if !n.live() {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ready
}

func (n *tnode) setReady() {
	n.mu.Lock()
	n.ready = true
	n.mu.Unlock()
}

// reap forgets a finished process and returns its exit code.
func (n *tnode) reap() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	code := 0
	if n.exitErr != nil {
		var ee *exec.ExitError
		code = -1
		if errors.As(n.exitErr, &ee) {
			code = ee.ExitCode()
		}
	}
	if n.log != nil {
		n.log.Close()
	}
	n.cmd, n.log = nil, nil
	return code
}

// kill sends SIGKILL and waits for the process to end.
func (c *cluster) kill(n *tnode) {
	c.t.Helper()
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("node %s is not running", n.org)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	n.reap()
	c.t.Logf("node %s: killed (SIGKILL)", n.org)
}

// stop sends SIGTERM and requires a clean exit within 30 s.
func (c *cluster) stop(n *tnode) {
	c.t.Helper()
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("node %s is not running", n.org)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		n.reap()
		c.t.Fatalf("node %s: did not stop within 30 s of SIGTERM; log:\n%s", n.org, c.logTail(n, 40))
	}
	if code := n.reap(); code != 0 {
		c.t.Fatalf("node %s: exited %d after SIGTERM; log:\n%s", n.org, code, c.logTail(n, 40))
	}
	c.t.Logf("node %s: stopped cleanly (SIGTERM)", n.org)
}

// pause and resume send SIGSTOP and SIGCONT.
func (c *cluster) pause(n *tnode) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	n.paused = true
	c.t.Logf("node %s: paused (SIGSTOP)", n.org)
}

func (c *cluster) resume(n *tnode) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	n.paused = false
	c.t.Logf("node %s: resumed (SIGCONT)", n.org)
}

// shutdown stops every process still running (resuming paused ones) and,
// when the test failed, prints the end of every node's log.
func (c *cluster) shutdown() {
	for _, n := range c.nodes {
		n.mu.Lock()
		cmd, done, paused := n.cmd, n.done, n.paused
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		if paused {
			cmd.Process.Signal(syscall.SIGCONT)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		n.reap()
	}
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("---- log of node %s (last lines) ----\n%s", n.org, c.logTail(n, 25))
		}
	}
}

// logTail returns the last lines of the node's log.
func (c *cluster) logTail(n *tnode, lines int) string {
	b, err := os.ReadFile(filepath.Join(n.home, "node.log"))
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// liveNodes returns the nodes that run and are not paused.
func (c *cluster) liveNodes() []*tnode {
	var out []*tnode
	for _, n := range c.nodes {
		if n.live() {
			out = append(out, n)
		}
	}
	return out
}

// height asks a node for its last committed height, within 5 s.
func (n *tnode) height() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return n.cl.Height(ctx)
}

// waitUp waits until the node answers RPC with a height of at least min,
// failing if the process exits first.
func (c *cluster) waitUp(n *tnode, min int64, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if !n.running() {
			c.t.Fatalf("node %s: exited while starting (exit %d); log:\n%s", n.org, n.reap(), c.logTail(n, 40))
		}
		h, err := n.height()
		if err == nil && h >= min {
			n.setReady()
			return
		}
		last = err
		if err == nil {
			last = fmt.Errorf("at height %d", h)
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("node %s: height %d not reached within %s (%v); log:\n%s", n.org, min, within, last, c.logTail(n, 40))
}

// maxHeight is the highest height any live node reports.
func (c *cluster) maxHeight() int64 {
	var m int64
	for _, n := range c.liveNodes() {
		if h, err := n.height(); err == nil && h > m {
			m = h
		}
	}
	return m
}

// waitAdvance waits until every node in ns has committed at least blocks
// more blocks than from.
func (c *cluster) waitAdvance(ns []*tnode, from, blocks int64, within time.Duration) {
	c.t.Helper()
	for _, n := range ns {
		c.waitUp(n, from+blocks, within)
	}
}
