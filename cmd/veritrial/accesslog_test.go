package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/accesslog"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// recordReads appends n reads to the home's access log, as a node records
// them (the node must not be running).
func recordReads(t *testing.T, home string, from, n int) {
	t.Helper()
	l, err := accesslog.Open(node.AccessLogDir(home), accesslog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		e := types.AccessEntry{Reader: "site1-coordinator", Org: "site1", Path: "/key", Scope: "subj/VT-HTN-201/S1-" + strconv.Itoa(i), Height: int64(i), Records: 1}
		if i%3 == 0 {
			e.Reader, e.Org, e.Scope, e.Records, e.Code = "cro-monitor", "cro", "form/VT-HTN-201/", 0, types.CodeReadNotVisible
		}
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// verifyLog runs access-log verify with --output json.
func verifyLog(t *testing.T, env []string, args ...string) (accessLogVerifyDoc, result) {
	t.Helper()
	r := vt(t, env, append([]string{"access-log", "verify", "-o", "json"}, args...)...)
	var doc accessLogVerifyDoc
	decode(t, r, &doc)
	return doc, r
}

// TestAccessLogHeadsOnANode: a running node commits its access log's head
// with its node account; verify checks the log against the committed
// heads, and a log cut afterwards disagrees with them (the node commits
// nothing more for it and says why); show lists and filters the entries.
func TestAccessLogHeadsOnANode(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	recordReads(t, home, 1, 30)
	flags := []string{"--access-log-commit-every", "10", "--access-log-commit-interval", "1s"}
	n := startNode(t, env, home, flags...)
	waitHeight(t, env, home, 1, n)

	var doc accessLogVerifyDoc
	deadline := time.Now().Add(60 * time.Second)
	for doc.HeadsChecked == 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		var r result
		if doc, r = verifyLog(t, env); r.code != 0 {
			t.Fatalf("verify of an intact log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	// The node logs the reads made of it too (status, verify's reads of
	// the heads), so the log grows past the 30 entries written before it
	// started.
	if !doc.OK || doc.Committed == nil || doc.Committed.Entries < 30 || doc.Entries < doc.Committed.Entries || doc.Uncommitted != doc.Entries-doc.Committed.Entries ||
		doc.Committed.Stamp.Signer != "regulator-node" || doc.Committed.Node != doc.NodeID || (doc.Uncommitted == 0) != (doc.Committed.Head == doc.Head) {
		t.Fatalf("verify after the head was committed: %+v; node log:\n%s", doc, n.stderr)
	}
	if r := mustVT(t, env, "access-log", "verify"); !strings.Contains(r.stdout, "checks out: ") || !strings.Contains(r.stdout, " head node "+doc.NodeID) {
		t.Errorf("verify text:\n%s", r.stdout)
	}

	var shown accessLogShowDoc
	decode(t, mustVT(t, env, "access-log", "show", "--reader", "cro-monitor", "--limit", "4", "-o", "json"), &shown)
	if len(shown.Entries) != 4 || shown.More != 6 || shown.Entries[0].Seq != 3 || shown.Entries[0].Code != types.CodeReadNotVisible {
		t.Errorf("show --reader cro-monitor --limit 4: %+v", shown)
	}
	r := mustVT(t, env, "access-log", "show", "--since", "2000-01-01T00:00:00Z")
	if !strings.Contains(r.stdout, "refused (read_not_visible)") || !strings.Contains(r.stdout, "/key subj/VT-HTN-201/S1-29") {
		t.Errorf("show text:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "access-log", "show", "--since", "2999-01-01T00:00:00Z"); !strings.Contains(r.stdout, "No entries match") {
		t.Errorf("show of the future:\n%s", r.stdout)
	}
	failVT(t, env, exitUsage, "--since \"yesterday\" is not an RFC 3339 time", "access-log", "show", "--since", "yesterday")
	// The read API's own requests are in it too: the node's status,
	// which waitHeight read as sponsor-dm.
	var statuses accessLogShowDoc
	decode(t, mustVT(t, env, "access-log", "show", "--reader", "sponsor-dm", "-o", "json"), &statuses)
	if !slices.ContainsFunc(statuses.Entries, func(e accesslog.Entry) bool {
		return e.Path == types.ReadStatus && e.Org == "sponsor" && e.Code == types.CodeOK && e.Height > 0
	}) {
		t.Errorf("no answered status request of sponsor-dm in the log: %+v", statuses)
	}

	committedAt := doc.Committed.Stamp.Height
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
	// No node answers: the file alone checks out, and says the heads were
	// not checked; an explicit --node must answer.
	doc, r = verifyLog(t, env)
	if r.code != 0 || !doc.OK || doc.LedgerError == "" || doc.HeadsChecked != 0 {
		t.Errorf("verify without a node: exit %d %+v", r.code, doc)
	}
	failVT(t, env, exitUnavailable, "no veritrial node answers", "access-log", "verify", "--node", "tcp://127.0.0.1:"+strconv.Itoa(freePorts(t, 1)[0]))

	// The log is cut back to 20 entries, and a crash tears the next line.
	seg := filepath.Join(node.AccessLogDir(home), "access-0000000000000001.jsonl")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.SplitAfter(b, []byte("\n"))
	cut := append(bytes.Join(ls[:20], nil), ls[20][:40]...)
	if err := os.WriteFile(seg, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, env, home, flags...)
	waitHeight(t, env, home, committedAt+2, n)
	// The restarted node appends the reads made of it after entry 20, so
	// the log either ends before the committed head or holds other
	// entries where the head was: either way it disagrees with the ledger.
	doc, r = verifyLog(t, env)
	if r.code != exitFailure || doc.OK || doc.Damage == nil || doc.Damage.Seq < 21 || len(doc.Torn) != 1 ||
		!strings.Contains(doc.Damage.Reason, "but the ledger holds a head of ") && !strings.Contains(doc.Damage.Reason, "not to the head committed to the ledger") {
		t.Errorf("verify of a cut log: exit %d %+v", r.code, doc)
	}
	failVT(t, env, exitFailure, "fails at entry ", "access-log", "verify")
	time.Sleep(2 * time.Second) // the committer's look at the cut log
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
	for _, want := range []string{"the access log's last line was incomplete", "the access log is shorter than the head its node committed"} {
		if !strings.Contains(n.stderr.String(), want) {
			t.Errorf("the node's log lacks %q:\n%s", want, n.stderr)
		}
	}

	// An edited entry is named.
	b, _ = os.ReadFile(seg)
	os.WriteFile(seg, bytes.Replace(b, []byte("S1-5\""), []byte("S1-6\""), 1), 0o600)
	failVT(t, env, exitFailure, "fails at entry 5 (access-0000000000000001.jsonl line 5): its hash does not match its content", "access-log", "verify")
	failVT(t, env, exitFailure, "is damaged at entry 5", "access-log", "show")

	// The node account key: kept, never replaced; refused when others
	// may read it.
	var key nodeKeyDoc
	decode(t, mustVT(t, env, "access-log", "node-key", "--account", "regulator-node", "-o", "json"), &key)
	if key.Created || key.Account != "regulator-node" || key.PubKey == "" {
		t.Errorf("node-key on a home with one: %+v", key)
	}
	failVT(t, env, exitUsage, "already holds the key of node account regulator-node", "access-log", "node-key", "--account", "site1-node")
	os.Chmod(node.NodeAccountFile(home), 0o644)
	failVT(t, env, exitInput, "chmod 600", "start")
}

// TestAccessLogNodeKey: node-key makes a home's node account key once and
// says how to add the account.
func TestAccessLogNodeKey(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	home := filepath.Join(t.TempDir(), "home")
	conf := node.Config(home, "m", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", node.DefaultTiming)
	if _, err := node.InitFiles(conf); err != nil {
		t.Fatal(err)
	}
	failVT(t, env, exitUsage, "no access log in", "--home", home, "access-log", "show")
	r := mustVT(t, env, "--home", home, "access-log", "node-key", "--account", "site3-node")
	if !strings.Contains(r.stdout, "Created the key of node account site3-node") || !strings.Contains(r.stdout, "veritrial account add --from ORG-admin --account site3-node --name \"Node of ORG\" --role node --pubkey ") {
		t.Errorf("node-key:\n%s", r.stdout)
	}
	na, err := node.LoadNodeAccount(home)
	if err != nil || na.ID != "site3-node" {
		t.Fatalf("the key made: %+v %v", na, err)
	}
	var key nodeKeyDoc
	decode(t, mustVT(t, env, "--home", home, "access-log", "node-key", "--account", "site3-node", "-o", "json"), &key)
	if key.Created || key.Account != "site3-node" {
		t.Errorf("node-key again: %+v", key)
	}
	again, err := node.LoadNodeAccount(home)
	if err != nil || !bytes.Equal(again.PubKey(), na.PubKey()) {
		t.Fatal("node-key replaced the key")
	}
	failVT(t, env, exitUsage, "not a valid account ID", "--home", t.TempDir(), "access-log", "node-key", "--account", "bad id")
}
