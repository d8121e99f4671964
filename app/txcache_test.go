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
		tx := c.Tx("site1-coordinator", apptest.EnrollMsg("S001", "site1"))
		if checked {
			if r := c.Check(tx); r.Code != 0 {
				t.Fatalf("CheckTx: %s", r.Log)
			}
		}
		c.MustDo("site1-admin", rotateMsg("site1-coordinator", pub("coordinator-key-9")))
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
	tx := c.Tx("site1-coordinator", apptest.EnrollMsg("S001", "site1"))
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
	if r := c.Check(c.Tx("site1-coordinator", apptest.EnrollMsg("S002", "site1"))); r.Code != 0 {
		t.Errorf("fresh tx after restart: %s", r.Log)
	}
}
