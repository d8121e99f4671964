package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/node"
)

// binPath is the veritrial binary built once for the CLI tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "veritrial-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "veritrial")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// activateSite1 activates site1 for study as the demo does: the sponsor
// delegates monitoring and data management to the CRO and activates site1
// with its investigator as principal investigator, who delegates
// enrolment, data entry and query answers to the coordinator.
func activateSite1(t *testing.T, env []string, study string) {
	t.Helper()
	mustVT(t, env, "study", "delegate", "--from", "sponsor-dm", "--study", study, "--org", "cro", "--tasks", "monitoring,data_management")
	mustVT(t, env, "site", "activate", "--from", "sponsor-dm", "--study", study, "--site", "site1", "--pi", "site1-investigator")
	mustVT(t, env, "site", "delegate", "--from", "site1-investigator", "--study", study, "--site", "site1", "--account", "site1-coordinator", "--tasks", "enroll,entry,answer")
}

// exampleStudy registers the example protocol (written to work) as
// sponsor-dm, activates site1 (activateSite1) and returns a consent form
// file to enrol subjects with.
func exampleStudy(t *testing.T, env []string, work string) string {
	t.Helper()
	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	return icf
}

// readerEnv makes commands without --from sign their reads as the demo
// regulator's auditor, who reads the whole of every study the demo
// consortium registers (it approves them all) and the consortium.
const readerEnv = "VERITRIAL_FROM=regulator-auditor"

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// testEnv is a clean environment: no VERITRIAL_* from the developer's
// shell, and HOME in a temporary directory so ~/.veritrial is never
// touched.
func testEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	return append(env, extra...)
}

// vt runs the binary with args and env (nil: a clean one).
func vt(t *testing.T, env []string, args ...string) result {
	t.Helper()
	if env == nil {
		env = testEnv(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Stdin = nil
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("veritrial %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	checkNoStackTrace(t, r)
	return r
}

// mustVT runs the binary and fails the test unless it exits 0.
func mustVT(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := vt(t, env, args...)
	if r.code != 0 {
		t.Fatalf("veritrial %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// failVT runs the binary and checks it fails with code, saying want on
// stderr in one line.
func failVT(t *testing.T, env []string, code int, want string, args ...string) result {
	t.Helper()
	r := vt(t, env, args...)
	if r.code != code {
		t.Fatalf("veritrial %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("veritrial %s: stderr %q does not say %q", strings.Join(args, " "), r.stderr, want)
	}
	if !strings.HasPrefix(r.stderr, "Error: ") {
		t.Fatalf("veritrial %s: stderr %q does not start with \"Error: \"", strings.Join(args, " "), r.stderr)
	}
	return r
}

func checkNoStackTrace(t *testing.T, r result) {
	t.Helper()
	for _, s := range []string{"goroutine ", "panic:", ".go:"} {
		if strings.Contains(r.stderr, s) {
			t.Fatalf("stderr has a stack trace or source position (%q):\n%s", s, r.stderr)
		}
	}
}

// decode parses stdout as exactly one JSON document.
func decode(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, r.stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		t.Fatalf("stdout has more than one JSON document:\n%s", r.stdout)
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// testNode is a background veritrial start.
type testNode struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	stdout *bytes.Buffer
	done   chan error
}

func startNode(t *testing.T, env []string, home string, flags ...string) *testNode {
	t.Helper()
	n := &testNode{stderr: &bytes.Buffer{}, stdout: &bytes.Buffer{}, done: make(chan error, 1)}
	n.cmd = exec.Command(binPath, append([]string{"--home", home, "start"}, flags...)...)
	n.cmd.Env = env
	n.cmd.Stdout, n.cmd.Stderr = n.stdout, n.stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait() }()
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
			<-n.done
		}
	})
	return n
}

// stop sends SIGTERM and returns the exit code.
func (n *testNode) stop(t *testing.T) int {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-n.done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		t.Fatalf("node did not stop within 20 s of SIGTERM; log:\n%s", n.stderr)
	}
	return -1
}

// waitHeight polls status until the height reaches min.
func waitHeight(t *testing.T, env []string, home string, min int64, n *testNode) statusDoc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last result
	for time.Now().Before(deadline) {
		select {
		case err := <-n.done:
			n.done <- err
			t.Fatalf("node exited early (%v); log:\n%s", err, n.stderr)
		default:
		}
		last = vt(t, env, "--home", home, "status", "--from", "sponsor-dm", "--output", "json")
		if last.code == 0 {
			var st statusDoc
			decode(t, last, &st)
			if st.Height >= min {
				return st
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("height %d not reached in 30 s; last status: %+v; node log:\n%s", min, last, n.stderr)
	return statusDoc{}
}

// devNode initialises a demo home in a temporary work directory (the dev
// passphrase in the environment), starts its node on free ports and waits
// for the first block. Commands not given --from read as the regulator's
// auditor (readerEnv).
func devNode(t *testing.T) (work, home string, env []string, n *testNode) {
	t.Helper()
	work = t.TempDir()
	home = filepath.Join(work, "home")
	env = testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase, readerEnv)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	n = startNode(t, env, home)
	waitHeight(t, env, home, 1, n)
	return work, home, env, n
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	failVT(t, env, exitUsage, "flag provided but not defined", "init", "--bogus")
	failVT(t, env, exitUsage, "unknown command \"frobnicate\"", "frobnicate")
	failVT(t, env, exitUsage, "unknown command \"frob\"", "keys", "frob")
	failVT(t, env, exitUsage, "not a known format", "--output", "yaml", "keys", "list")
	failVT(t, env, exitUsage, "invalid value", "init", "--rpc-port", "abc")
	failVT(t, env, exitUsage, "no veritrial home", "--home", t.TempDir(), "start")
	failVT(t, env, exitUsage, "--cache-nodes 10 is too small", "--home", t.TempDir(), "start", "--cache-nodes", "10")
	failVT(t, env, exitUsage, "--snapshot-keep at least 1", "--home", t.TempDir(), "start", "--snapshot-keep", "0")
	failVT(t, env, exitUsage, "--state-sync needs the RPC addresses of two", "--home", t.TempDir(), "start", "--state-sync", "127.0.0.1:26657")
	failVT(t, env, exitUsage, "--state-sync address \"ftp://x:1\" is not an RPC address", "--home", t.TempDir(), "start", "--state-sync", "ftp://x:1,127.0.0.1:26657")
	port := freePorts(t, 1)[0]
	addr := "tcp://127.0.0.1:" + strconv.Itoa(port)
	r := failVT(t, env, exitUnavailable, "no veritrial node answers at "+addr+": start one with veritrial start", "--from", "sponsor-dm", "status", "--node", addr)
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("more than one line on stderr: %q", r.stderr)
	}
	// VERITRIAL_NODE is honoured; --node beats it.
	failVT(t, append(env, envNode+"="+addr), exitUnavailable, addr, "--from", "sponsor-dm", "status")
	failVT(t, append(env, envNode+"=tcp://127.0.0.1:1"), exitUnavailable, addr, "--from", "sponsor-dm", "--node", addr, "status")
	if r := mustVT(t, env, "--help"); !strings.Contains(r.stdout, "veritrial init") {
		t.Errorf("--help lacks an example:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "completion", "bash"); !strings.Contains(r.stdout, "complete -o bashdefault") {
		t.Errorf("bash completion:\n%s", r.stdout)
	}
	// --prove says whose header it checks against.
	for _, cmd := range [][]string{{"show", "form"}, {"query", "list"}} {
		r := mustVT(t, env, append(cmd, "--help")...)
		if !strings.Contains(r.stdout, "verified by the light client from the home's genesis") {
			t.Errorf("%s --help overstates --prove:\n%s", strings.Join(cmd, " "), r.stdout)
		}
	}
}

// TestEveryFlagIsExplained walks the whole command tree: every command
// has a usage line and every flag a usage text, so that --help explains
// each.
func TestEveryFlagIsExplained(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := path + " " + c.Name
			if c.Usage == "" {
				t.Errorf("%s has no usage line", p)
			}
			for _, f := range c.Flags {
				if d, ok := f.(cli.DocGenerationFlag); !ok || strings.TrimSpace(d.GetUsage()) == "" {
					t.Errorf("%s --%s has no usage text", p, f.Names()[0])
				}
			}
			walk(p, c.Subcommands)
		}
	}
	walk("veritrial", newApp(io.Discard, io.Discard).Commands)
}

// TestHelpSaysEachDefaultOnce checks help texts that once said a default
// twice (and wrongly) or cut a word, and that --repeat 0 is refused.
func TestHelpSaysEachDefaultOnce(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	line := func(out, flag string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), flag+" ") {
				return l
			}
		}
		t.Fatalf("no %s line in:\n%s", flag, out)
		return ""
	}
	if l := line(mustVT(t, env, "sign", "--help").stdout, "--repeat"); strings.Count(l, "default") != 1 || !strings.Contains(l, "(default: 1 with --event)") {
		t.Errorf("sign --repeat help: %q", l)
	}
	if l := line(mustVT(t, env, "study", "register", "--help").stdout, "--lock-quorum"); strings.Count(l, "default") != 1 || !strings.Contains(l, "(default: 2)") || !strings.Contains(l, "the sponsor's included") {
		t.Errorf("study register --lock-quorum help: %q", l)
	}
	if out := mustVT(t, env, "study", "--help").stdout; !strings.Contains(out, "reject a pending amendment") || strings.Contains(out, "rejecte ") {
		t.Errorf("study --help:\n%s", out)
	}
	failVT(t, env, exitUsage, "--repeat 0 is not an event repeat", "sign", "--from", "site1-investigator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--repeat", "0", "--meaning", "approval")
}

// TestVersion: version names the release, the commit and the state
// machine's version (the app version the node reports to CometBFT), in
// text and in JSON; a binary not built by make release says "dev".
func TestVersion(t *testing.T) {
	env := testEnv(t)
	var d versionDoc
	decode(t, mustVT(t, env, "version", "--output", "json"), &d)
	if d.Release != "dev" || d.Commit == "" || d.StateMachine != app.StateVersion() || d.CometBFT == "" || d.Go == "" || d.Platform == "" {
		t.Errorf("version: %+v", d)
	}
	r := mustVT(t, env, "version")
	for _, want := range []string{"Release        dev", fmt.Sprintf("State machine  version %d", app.StateVersion()), "CometBFT " + d.CometBFT} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version text lacks %q:\n%s", want, r.stdout)
		}
	}
	failVT(t, env, exitUsage, "", "version", "extra")
}
