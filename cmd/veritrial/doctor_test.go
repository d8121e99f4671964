package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/node"
)

// TestDoctor: doctor finds a stopped node's state intact; after one
// account's name is altered in the stored tree (the stored root, and so
// the app hash the node reports, unchanged) doctor exits 1 naming the
// record, and start refuses to run on the damaged state; with the state
// moved aside, the node rebuilds it from its stored blocks.
func TestDoctor(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	failVT(t, env, exitFailure, "holds no committed height", "doctor")
	n := startNode(t, env, home)
	waitHeight(t, env, home, 3, n)
	failVT(t, env, exitFailure, "in use by a running node: stop it first", "doctor")
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d", code)
	}

	var doc doctorDoc
	decode(t, mustVT(t, env, "doctor", "-o", "json"), &doc)
	if !doc.OK || doc.Records == 0 || !strings.HasPrefix(doc.SignedSource, "the header of height") && !strings.HasPrefix(doc.SignedSource, "CometBFT's state") ||
		!bytes.Equal(doc.StoredRoot, doc.RecomputedRoot) || len(doc.Damaged) != 0 {
		t.Fatalf("doctor on an intact home: %+v", doc)
	}
	if r := mustVT(t, env, "doctor"); !strings.Contains(r.stdout, "The ledger state is intact") {
		t.Errorf("doctor text:\n%s", r.stdout)
	}

	// One letter of an account's name, in the leaf that stores it.
	db, err := leveldb.OpenFile(filepath.Join(node.AppDataDir(home), "app.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	it := db.NewIterator(util.BytesPrefix([]byte("s/")), nil)
	altered := false
	for it.Next() && !altered {
		v := it.Value()
		if i := bytes.Index(v, []byte(`"name":"`)); i >= 0 {
			v = bytes.Clone(v)
			v[i+8] ^= 0x20 // the name's first letter, in the other case
			if err := db.Put(bytes.Clone(it.Key()), v, nil); err != nil {
				t.Fatal(err)
			}
			altered = true
		}
	}
	it.Release()
	db.Close()
	if !altered {
		t.Fatal("no stored account leaf found")
	}

	r := vt(t, env, "doctor", "-o", "json")
	var bad doctorDoc
	decode(t, r, &bad)
	if r.code != exitFailure || bad.OK || !bytes.Equal(bad.StoredRoot, doc.StoredRoot) || bytes.Equal(bad.RecomputedRoot, doc.StoredRoot) || len(bad.Damaged) == 0 {
		t.Fatalf("doctor on an altered home: exit %d %+v", r.code, bad)
	}
	named := false
	for _, d := range bad.Damaged {
		named = named || strings.HasPrefix(d.Key, `"acct/`)
	}
	if !named {
		t.Errorf("no account named damaged: %+v", bad.Damaged)
	}
	r = failVT(t, env, exitFailure, "is damaged", "doctor")
	if !strings.Contains(r.stdout, "the state was altered on disk") || !strings.Contains(r.stdout, "acct/") || !strings.Contains(r.stdout, "replays its stored blocks") {
		t.Errorf("doctor text on an altered home:\n%s", r.stdout)
	}
	// audit replay re-executes every block and finds the record the node
	// holds otherwise, though every app hash matches.
	var rr audit.ReplayReport
	r = vt(t, env, "audit", "replay", "-o", "json")
	decode(t, r, &rr)
	if r.code != exitFailure || rr.Divergence != nil || rr.StateCompared != doc.Height || len(rr.StateDifferences) != 1 || !strings.HasPrefix(rr.StateDifferences[0].Key, `"acct/`) {
		t.Errorf("audit replay of an altered home: exit %d %+v", r.code, rr)
	}
	if r := vt(t, env, "start"); r.code != exitFailure || !strings.Contains(r.stderr, "is damaged") || !strings.Contains(r.stderr, "run veritrial doctor") {
		t.Errorf("start on an altered home: exit %d\n%s", r.code, r.stderr)
	}

	// The repair: the state moved aside, the node rebuilds it from its
	// own stored blocks, and doctor finds it intact again.
	if err := os.Rename(node.AppDataDir(home), node.AppDataDir(home)+".damaged"); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, env, home)
	waitHeight(t, env, home, doc.Height+2, n)
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d", code)
	}
	var again doctorDoc
	decode(t, mustVT(t, env, "doctor", "-o", "json"), &again)
	if !again.OK || again.Height < doc.Height+2 {
		t.Fatalf("doctor after the repair: %+v", again)
	}
}
