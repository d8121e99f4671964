package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// populated builds the same small ledger every time: study, two sites,
// subjects, forms, a correction.
func populated(t *testing.T) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site2-coordinator", apptest.EnrollMsg("S2-101", "site2"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(150, 90)))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "AE"), apptest.AE(2, 1)))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), "typo", apptest.V("VS.HR", "70")))
	return c
}

// TestBlockOfRejectedTxsChangesNothing: a block of txs that all fail
// changes nothing but the nonces of those whose signature verified, which
// they consume, and an empty block changes nothing at all.
func TestBlockOfRejectedTxsChangesNothing(t *testing.T) {
	c := populated(t)
	done := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	c.Block(done)
	before := dump(t, c, 0)
	txs := []struct {
		raw      []byte
		consumes bool
	}{
		{done, false}, // replay
		{c.Tx("site1-coordinator", apptest.EnrollMsg("S1-001", "site1")), true},
		{c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(300, 90))), true},
		{c.Tx("sponsor-dm", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(150, 90))), true},
		{c.TxAs("site1-coordinator", c.Person("site2-coordinator"), apptest.EnrollMsg("S1-003", "site1")), false},
		{c.Tx("site2-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), "x", apptest.V("VS.HR", "71"))), true},
		{c.Tx("site1-admin", revokeMsg("site1-admin", "x")), true},
		{append(c.Tx("site1-coordinator", apptest.EnrollMsg("S1-004", "site1")), ' '), false},
	}
	var raws [][]byte
	for _, tx := range txs {
		raws = append(raws, tx.raw)
	}
	res := c.Block(raws...)
	for i, r := range res {
		if r.Code == 0 {
			t.Errorf("tx %d succeeded", i)
		}
	}
	after := dump(t, c, 0)
	for i, tx := range txs {
		if i == len(txs)-1 {
			break // not canonical: its nonce is the same tx's without the space
		}
		key := nonceKeyOf(t, tx.raw)
		if !nonceIn(before, key) && nonceIn(after, key) != tx.consumes {
			t.Errorf("tx %d (code %d): nonce consumed %v, want %v", i, res[i].Code, nonceIn(after, key), tx.consumes)
		}
	}
	if d := diffDumps(withoutNonces(before), withoutNonces(after)); d != "" {
		t.Fatalf("a block of rejected txs changed the state: %s", d)
	}
	// An empty block changes nothing.
	beforeHash := c.AppHash
	c.Block()
	if !bytes.Equal(c.AppHash, beforeHash) {
		t.Fatalf("an empty block changed the app hash")
	}
}

// TestMixedBlock: a block with failing txs ends in exactly the state of a
// block holding only its successful txs, but for the nonces the failing
// ones consumed.
func TestMixedBlock(t *testing.T) {
	a, b := populated(t), populated(t)
	if !bytes.Equal(a.AppHash, b.AppHash) {
		t.Fatal("the same scenario built twice differs")
	}
	k := apptest.FormKey
	txs := []struct {
		raw []byte
		ok  bool
	}{
		{a.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1")), true},
		{a.Tx("site1-investigator", apptest.EnrollMsg("S1-002", "site1")), false},
		{a.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-002", "SCR", 1, "VS"), apptest.VS(140, 80))), true},
		{a.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-002", "D1", 1, "VS"), apptest.VS(140, 180))), false},
		{a.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-003", "SCR", 1, "VS"), apptest.VS(140, 80))), false},
		{a.Tx("site1-coordinator", apptest.EnrollMsg("S1-003", "site1")), true},
		{a.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-003", "SCR", 1, "VS"), apptest.VS(141, 80))), true},
		{a.Tx("site1-coordinator", apptest.CorrectMsg(k("S1-002", "SCR", 1, "VS"), "typo", apptest.V("VS.SYSBP", "999"))), false},
		{a.Tx("site1-coordinator", apptest.CorrectMsg(k("S1-002", "SCR", 1, "VS"), "typo", apptest.V("VS.SYSBP", "142"))), true},
		{a.Tx("site1-investigator", apptest.WithdrawMsg("S1-003", "moved away")), true},
		{a.Tx("site1-coordinator", apptest.SubmitMsg(k("S1-003", "D1", 1, "VS"), apptest.VS(141, 80))), false},
		{a.Tx("site2-coordinator", apptest.WithdrawMsg("S1-002", "x")), false},
	}
	var all, good [][]byte
	for _, tx := range txs {
		all = append(all, tx.raw)
		if tx.ok {
			good = append(good, tx.raw)
		}
	}
	res := a.Block(all...)
	for i, r := range res {
		if (r.Code == 0) != txs[i].ok {
			t.Errorf("tx %d: code %d (%s), want ok=%v", i, r.Code, r.Log, txs[i].ok)
		}
	}
	resB := b.Block(good...)
	for i, r := range resB {
		if r.Code != 0 {
			t.Errorf("successful tx %d alone: %s", i, r.Log)
		}
	}
	da, db := dump(t, a, 0), dump(t, b, 0)
	for i, tx := range txs {
		if key := nonceKeyOf(t, tx.raw); !nonceIn(da, key) || nonceIn(db, key) != tx.ok {
			t.Errorf("tx %d: nonce in the mixed block's state %v, in the successes' %v", i, nonceIn(da, key), nonceIn(db, key))
		}
	}
	if d := diffDumps(withoutNonces(da), withoutNonces(db)); d != "" {
		t.Fatalf("states differ: %s", d)
	}
}

func TestQueryProofs(t *testing.T) {
	c := populated(t)
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	hBefore := c.Height
	c.MustDo("site1-coordinator", apptest.CorrectMsg(scr, "re-read", apptest.V("VS.SYSBP", "149")))
	c.MustDo("site1-admin", addMsg("site1-c3", "C3", pub("site1-c3"), types.RoleCoordinator))

	// Every record, under every documented prefix, with a proof against
	// the app hash; /list and /key agree.
	all := dump(t, c, 0)
	seen := map[string]bool{}
	for key, val := range all {
		got := rawGet(t, c, []byte(key), 0)
		if string(got) != val {
			t.Errorf("%s: /key %q, /list %q", key, got, val)
		}
		for _, p := range allPrefixes {
			if len(key) >= len(p) && key[:len(p)] == p {
				seen[p] = true
			}
		}
	}
	for _, p := range allPrefixes {
		// No amendment on this chain; no nonce under version 3's layout.
		if !seen[p] && p != types.PrefixAmendment && p != types.PrefixNonce {
			t.Errorf("no record under prefix %s", p)
		}
	}

	// Proved list entries.
	bz, _ := json.Marshal(types.ListRequest{Prefix: types.PrefixForm, Prove: true})
	res := c.Query(types.QueryList, bz, 0, false)
	var lr types.ListResponse
	if err := json.Unmarshal(res.Value, &lr); err != nil || len(lr.Entries) != 2 {
		t.Fatalf("list forms: %v %+v", err, lr)
	}
	for _, e := range lr.Entries {
		if err := types.VerifyProof(c.AppHash, []byte(e.Key), e.Value, e.Proof); err != nil {
			t.Errorf("list proof: %v", err)
		}
	}
	// A proof does not verify another value, another key or another root.
	e := lr.Entries[0]
	if types.VerifyProof(c.AppHash, []byte(e.Key), append([]byte(nil), append(e.Value, ' ')...), e.Proof) == nil {
		t.Error("proof verified a changed value")
	}
	if types.VerifyProof(c.AppHash, []byte(lr.Entries[1].Key), e.Value, e.Proof) == nil {
		t.Error("proof verified another key")
	}
	if types.VerifyProof(appHashAt(t, c, hBefore), []byte(e.Key), e.Value, e.Proof) == nil {
		t.Error("proof verified against an older app hash")
	}

	// Absent keys have valid non-membership proofs, which do not prove
	// membership and do not hold for present keys.
	missing := types.KeySubject(study, "S1-777")
	if v := rawGet(t, c, missing, 0); v != nil {
		t.Fatalf("S1-777 present: %s", v)
	}
	res = c.Query(types.QueryKey, missing, 0, true)
	if types.VerifyProof(c.AppHash, missing, []byte("{}"), res.ProofOps.Ops[0].Data) == nil {
		t.Error("non-membership proof verified as membership")
	}
	res = c.Query(types.QueryKey, types.KeySubject(study, "S1-001"), 0, true)
	if types.VerifyProof(c.AppHash, types.KeySubject(study, "S1-001"), nil, res.ProofOps.Ops[0].Data) == nil {
		t.Error("membership proof verified as absence")
	}
	if types.VerifyProof(c.AppHash, missing, nil, []byte("garbage")) == nil {
		t.Error("garbage proof verified")
	}

	// Past heights: the old version, proved against that height's hash.
	var old, cur types.FormRecord
	if err := json.Unmarshal(rawGet(t, c, types.KeyForm(scr), hBefore), &old); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rawGet(t, c, types.KeyForm(scr), 0), &cur); err != nil {
		t.Fatal(err)
	}
	if old.Version != 2 || cur.Version != 3 {
		t.Errorf("versions at %d and latest: %d, %d", hBefore, old.Version, cur.Version)
	}
	if v := rawGet(t, c, types.KeyAccount("site1-c3"), hBefore); v != nil {
		t.Errorf("account present before it was added")
	}
	if v := rawGet(t, c, types.KeyStudy(study), 1); v == nil {
		t.Errorf("study absent at height 1")
	}
	if !reflect.DeepEqual(dump(t, c, hBefore)[string(types.KeyForm(scr))], string(rawGet(t, c, types.KeyForm(scr), hBefore))) {
		t.Error("list and key disagree at a past height")
	}
	res = c.Query(types.QueryKey, types.KeyForm(scr), hBefore, true)
	if res.Height != hBefore {
		t.Errorf("response height %d, want %d", res.Height, hBefore)
	}

	// Refusals.
	for name, q := range map[string]struct {
		path string
		data []byte
		h    int64
	}{
		"height beyond latest": {types.QueryKey, types.KeyStudy(study), c.Height + 1},
		"negative height":      {types.QueryKey, types.KeyStudy(study), -1},
		"unknown path":         {"/nope", types.KeyStudy(study), 0},
		"empty key":            {types.QueryKey, nil, 0},
		"list without prefix":  {types.QueryList, []byte(`{}`), 0},
		"list bad JSON":        {types.QueryList, []byte(`{`), 0},
	} {
		if r := c.Query(q.path, q.data, q.h, true); r.Code == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	fresh := apptest.New(t)
	if r := fresh.Query(types.QueryKey, types.KeyStudy(study), 0, false); r.Code == 0 {
		t.Error("query before the first block accepted")
	}
}

func TestListPagination(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	// More subjects than one page holds, in one block.
	n := types.MaxListLimit + 7
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = c.Tx("site1-coordinator", apptest.EnrollMsg(subjectID(i), "site1"))
	}
	for i, r := range c.Block(txs...) {
		if r.Code != 0 {
			t.Fatalf("enroll %d: %s", i, r.Log)
		}
	}
	bz, _ := json.Marshal(types.ListRequest{Prefix: types.PrefixSubject})
	var lr types.ListResponse
	if err := json.Unmarshal(c.Query(types.QueryList, bz, 0, false).Value, &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Entries) != types.MaxListLimit || !lr.More {
		t.Fatalf("first page: %d entries, more=%v", len(lr.Entries), lr.More)
	}
	full := list(t, c, types.PrefixSubject, 0, 0)
	small := list(t, c, types.PrefixSubject, 0, 10)
	if len(full) != n || len(small) != n {
		t.Fatalf("pages hold %d and %d entries, want %d", len(full), len(small), n)
	}
	for i := range full {
		if full[i].Key != small[i].Key || full[i].Key != string(types.KeySubject(study, subjectID(i))) {
			t.Fatalf("entry %d: %s / %s", i, full[i].Key, small[i].Key)
		}
	}
	// After is exclusive.
	after := full[499].Key
	bz, _ = json.Marshal(types.ListRequest{Prefix: types.PrefixSubject, After: after, Limit: 2})
	if err := json.Unmarshal(c.Query(types.QueryList, bz, 0, false).Value, &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Entries) != 2 || lr.Entries[0].Key != full[500].Key || lr.Entries[1].Key != full[501].Key || !lr.More {
		t.Fatalf("after %s: %+v", after, lr)
	}
	// An After that sorts before the prefix does not widen the listing.
	bz, _ = json.Marshal(types.ListRequest{Prefix: types.PrefixSubject, After: "acct/zzz", Limit: 3})
	if err := json.Unmarshal(c.Query(types.QueryList, bz, 0, false).Value, &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Entries) != 3 || lr.Entries[0].Key != full[0].Key {
		t.Fatalf("after a key below the prefix: %d entries, want the first 3 subjects", len(lr.Entries))
	}
	// An After beyond the prefix lists nothing.
	bz, _ = json.Marshal(types.ListRequest{Prefix: types.PrefixSite, After: "zzz"})
	if err := json.Unmarshal(c.Query(types.QueryList, bz, 0, false).Value, &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Entries) != 0 || lr.More {
		t.Fatalf("after a key above the prefix: %+v", lr.Entries)
	}
	// The prefix bounds the listing.
	for _, e := range list(t, c, types.PrefixSite, 0, 0) {
		if e.Key[:len(types.PrefixSite)] != types.PrefixSite {
			t.Fatalf("list site/ returned %s", e.Key)
		}
	}
}

// subjectID is the pseudonym of the i-th subject; IDs sort in i order.
func subjectID(i int) string { return fmt.Sprintf("S1-%05d", i) }

func TestRestart(t *testing.T) {
	c := populated(t)
	h, hash := c.Height, c.AppHash
	before := dump(t, c, 0)
	past := dump(t, c, h-2)
	c.Reopen()
	if c.Height != h || !bytes.Equal(c.AppHash, hash) {
		t.Fatalf("after restart: height %d hash %X, want %d %X", c.Height, c.AppHash, h, hash)
	}
	if !reflect.DeepEqual(dump(t, c, 0), before) || !reflect.DeepEqual(dump(t, c, h-2), past) {
		t.Fatal("queries differ after restart")
	}
	rawGet(t, c, types.KeyForm(apptest.FormKey("S1-001", "SCR", 1, "VS")), h-1)
	// The chain goes on; replay protection and params survived.
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), apptest.VS(150, 90)))
	if c.Height != h+2 {
		t.Fatalf("height %d after two blocks on %d", c.Height, h)
	}
	// The same chain from scratch, without restart, reaches the same hash.
	d := populated(t)
	d.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	d.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), apptest.VS(150, 90)))
	if !bytes.Equal(c.AppHash, d.AppHash) {
		t.Fatal("restarted chain diverged from an uninterrupted one")
	}
	// Replay protection survives a restart.
	c.Reopen()
	raw := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-003", "site1"))
	runRaw(t, c, "first", raw, types.CodeOK, false)
	c.Reopen()
	runRaw(t, c, "replay after restart", raw, types.CodeNonceReused, true)
}

// A node cache below the minimum is refused before the store is opened.
func TestCacheSizeBelowMinimum(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := app.New(app.Config{DataDir: dir, CacheSize: app.MinCacheSize - 1})
	if err == nil || !strings.Contains(err.Error(), "below the minimum") {
		t.Fatalf("New with a node cache of %d: %v", app.MinCacheSize-1, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the refused New left %s behind (%v)", dir, err)
	}
}
