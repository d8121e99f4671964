package app_test

import (
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// TestTxCacheKeyRotation: a tx CheckTx verified with the signer's old key
// is refused in the block once the key was rotated in between, exactly
// as on a node that never saw the tx in its mempool.
func TestTxCacheKeyRotation(t *testing.T) {
	for _, checked := range []bool{true, false} {
		c := apptest.New(t)
		c.SetupStudy()
		tx := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
		if checked {
			if r := c.Check(tx); r.Code != 0 {
				t.Fatalf("CheckTx: %s", r.Log)
			}
		}
		c.MustDo("site1-coordinator", rotateMsg("site1-coordinator", pub("coordinator-key-9")))
		res := c.Block(tx)[0]
		if types.Code(res.Code) != types.CodeBadSignature {
			t.Errorf("checked=%v: tx signed with the rotated-away key: code %d (%s), want bad_signature", checked, res.Code, res.Log)
		}
	}
}

// TestTxCacheSameResults: blocks whose txs went through CheckTx first
// (decoded and verified once, taken from the cache) give the same results
// and app hashes as blocks on a node that never saw them.
func TestTxCacheSameResults(t *testing.T) {
	a, b := apptest.New(t), apptest.New(t)
	a.SetupStudy()
	b.SetupStudy()
	var txs [][]byte
	for i := 0; i < 30; i++ {
		txs = append(txs, a.Tx("site1-coordinator", apptest.EnrollMsg(subjectID(i), "site1")))
	}
	// A duplicate inside the block.
	txs = append(txs, txs[3])
	for _, tx := range txs {
		a.Check(tx)
	}
	ra, rb := a.Block(txs...), b.Block(txs...)
	for i := range ra {
		if ra[i].Code != rb[i].Code || ra[i].Log != rb[i].Log {
			t.Errorf("tx %d: checked node %d %q, unchecked node %d %q", i, ra[i].Code, ra[i].Log, rb[i].Code, rb[i].Log)
		}
	}
	if string(a.AppHash) != string(b.AppHash) {
		t.Fatalf("app hashes differ: %X vs %X", a.AppHash, b.AppHash)
	}
	if types.Code(ra[30].Code) != types.CodeNonceReused {
		t.Errorf("duplicate in the block: code %d, want nonce_reused", ra[30].Code)
	}
}

// TestReplayRejectedAtCheckAfterRestart: the nonce filter CheckTx uses is
// rebuilt from the ledger when the node starts, so a replay of a tx
// committed before the restart is still refused by CheckTx.
func TestReplayRejectedAtCheckAfterRestart(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	tx := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	if r := c.Block(tx)[0]; r.Code != 0 {
		t.Fatal(r.Log)
	}
	if r := c.Check(tx); types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("replay before restart: code %d, want nonce_reused", r.Code)
	}
	c.Reopen()
	if r := c.Check(tx); types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("replay after restart: code %d (%s), want nonce_reused", r.Code, r.Log)
	}
	// A fresh tx still passes.
	if r := c.Check(c.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))); r.Code != 0 {
		t.Errorf("fresh tx after restart: %s", r.Log)
	}
}

// TestTxCacheKeepsWhatCheckTxAccepts: CheckTx keeps a tx it accepts for
// FinalizeBlock (a form submission with its verdict on the values), which
// takes it, and keeps nothing of a tx it refuses, whichever check refused
// it.
func TestTxCacheKeepsWhatCheckTxAccepts(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	enroll := c.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	form := c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(120, 80)))
	for _, tc := range []struct {
		name    string
		tx      []byte
		verdict bool
	}{{"enrolment", enroll, false}, {"form", form, true}} {
		if r := c.Check(tc.tx); r.Code != 0 {
			t.Fatalf("%s: CheckTx %d %q", tc.name, r.Code, r.Log)
		}
		if cached, verdict := c.App.TxCached(tc.tx); !cached || verdict != tc.verdict {
			t.Errorf("%s accepted by CheckTx: cached %v with a verdict %v, want true and %v", tc.name, cached, verdict, tc.verdict)
		}
	}
	first, e := types.DecodeTx(enroll)
	if e != nil {
		t.Fatal(e)
	}
	body := c.Body("site1-coordinator", apptest.EnrollMsg("S1-004", "site1"))
	body.Nonce = first.Body.Nonce
	sameNonce := c.SignBody(body, c.Person("site1-coordinator"))
	for _, tc := range []struct {
		name string
		tx   []byte
		want types.Code
	}{
		{"out-of-range form", c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(400, 80))), types.CodeEditCheckFailed},
		{"enrolment by an auditor", c.Tx("regulator-auditor", apptest.EnrollMsg("S1-003", "site1")), types.CodeUnauthorized},
		{"nonce of a tx in the mempool", sameNonce, types.CodeNonceReused},
	} {
		if r := c.Check(tc.tx); types.Code(r.Code) != tc.want {
			t.Fatalf("%s: CheckTx %d %q, want %d", tc.name, r.Code, r.Log, tc.want)
		}
		if cached, _ := c.App.TxCached(tc.tx); cached {
			t.Errorf("%s refused by CheckTx is kept in the tx cache", tc.name)
		}
	}
	for i, r := range c.Block(enroll, form) {
		if r.Code != 0 {
			t.Fatalf("block tx %d: %d %q", i, r.Code, r.Log)
		}
	}
	for _, tx := range [][]byte{enroll, form} {
		if cached, _ := c.App.TxCached(tx); cached {
			t.Error("FinalizeBlock left a tx it delivered in the tx cache")
		}
	}
}
