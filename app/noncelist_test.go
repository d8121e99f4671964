package app_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// TestNonceLayouts: a ledger at state-machine version 3 keeps one nonce
// record per tx; from version 4 a block keeps one list per expiry height,
// sorted, holding the nonces of the txs it accepted and of those it
// refused after their signature verified. Under both, a replay is refused
// by CheckTx and FinalizeBlock, also after a restart (the Bloom filter is
// rebuilt from the records), and the records go once their expiry has
// passed.
func TestNonceLayouts(t *testing.T) {
	for _, v := range []uint64{3, 4} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			c := apptest.NewAtVersion(t, v)
			c.SetupStudy()
			signed := func(subject string, expires int64) ([]byte, []byte) {
				b := c.Body("site1-coordinator", apptest.EnrollMsg(subject, "site1"))
				b.Expires = expires
				return c.SignBody(b, c.Person("site1-coordinator")), types.KeyNonce(b.Expires, b.Signer, b.Nonce)
			}
			e1, e2 := c.Height+20, c.Height+22
			a, aKey := signed("S1-801", e1)
			b, bKey := signed("S1-801", e2) // refused in the block: subject_exists
			a2, a2Key := signed("S1-802", e1)
			res := c.Block(a, b, a2)
			if res[0].Code != 0 || types.Code(res[1].Code) != types.CodeSubjectExists || res[2].Code != 0 {
				t.Fatalf("block codes %d %d %d", res[0].Code, res[1].Code, res[2].Code)
			}
			h := c.Height
			m := dumpNonces(t, c, 0, e1)
			maps.Copy(m, dumpNonces(t, c, 0, e2))
			if v < 4 {
				for _, k := range [][]byte{aKey, bKey, a2Key} {
					if m[string(k)] != "\x01" {
						t.Errorf("no record %q: %v", k, m)
					}
				}
				if len(m) != 3 {
					t.Errorf("records %v, want one per tx", m)
				}
			} else {
				entry := func(k []byte) string { return string(k[len(types.PrefixNonce)+13:]) }
				want := map[string]string{
					string(types.KeyNonceList(e1, h)): strings.Join(slices.Sorted(slices.Values([]string{entry(aKey), entry(a2Key)})), "\n") + "\n",
					string(types.KeyNonceList(e2, h)): entry(bKey) + "\n",
				}
				if !maps.Equal(m, want) {
					t.Errorf("records %q, want %q", m, want)
				}
			}
			replays := func(when string) {
				t.Helper()
				for _, raw := range [][]byte{a, b, a2} {
					if r := c.Check(raw); types.Code(r.Code) != types.CodeNonceReused {
						t.Errorf("%s: CheckTx of a replay: code %d %s", when, r.Code, r.Log)
					}
					if r := c.Block(raw)[0]; types.Code(r.Code) != types.CodeNonceReused {
						t.Errorf("%s: FinalizeBlock of a replay: code %d %s", when, r.Code, r.Log)
					}
				}
			}
			replays("after the block")
			c.Reopen()
			replays("after a restart")
			for c.Height <= e2 {
				c.Block()
			}
			for _, e := range []int64{e1, e2} {
				if left := dumpNonces(t, c, 0, e); len(left) != 0 {
					t.Errorf("records of expiry %d left at height %d: %v", e, c.Height, left)
				}
			}
			if r := c.Check(a); types.Code(r.Code) != types.CodeTxExpired {
				t.Errorf("CheckTx after the expiry: code %d %s", r.Code, r.Log)
			}
		})
	}
}

// TestNonceListsUpgrade: upgrade v4 moves the nonces a version-3 ledger
// still remembers into lists, so a tx committed before the upgrade is
// refused as a replay after it, also after a restart; the upgrade's own
// block and the blocks after it keep their nonces in lists, and a node
// that replays every block from genesis reaches the same app hashes.
func TestNonceListsUpgrade(t *testing.T) {
	c := apptest.NewAtVersion(t, 3)
	var blocks [][][]byte
	block := func(txs ...[]byte) []*abci.ExecTxResult {
		blocks = append(blocks, txs)
		return c.Block(txs...)
	}
	before := c.Tx("site1-admin", addMsg("site1-c8", "C8", pub("site1-c8"), types.RoleCoordinator))
	if r := block(before); r[0].Code != 0 {
		t.Fatal(r[0].Log)
	}
	bKey := nonceKeyOf(t, before)
	h := c.Height + 1 + types.MinUpgradeMargin + 10
	decideUpgrade(t, c, &blocks, "v4", h)
	for c.Height < h-1 {
		block()
	}
	if m := list(t, c, types.PrefixNonceList, 0, 0); len(m) != 0 {
		t.Fatalf("lists before the upgrade: %v", m)
	}
	at := c.Tx("site1-admin", addMsg("site1-c9", "C9", pub("site1-c9"), types.RoleCoordinator))
	if r := block(at); r[0].Code != 0 {
		t.Fatal(r[0].Log)
	}
	if c.Height != h {
		t.Fatalf("height %d, want the upgrade's %d", c.Height, h)
	}
	if old := list(t, c, types.PrefixNonce, 0, 0); len(old) != 0 {
		t.Errorf("per-tx nonce records left after the upgrade: %d", len(old))
	}
	expires := func(raw []byte) int64 {
		tx, _ := types.DecodeTx(raw)
		return tx.Body.Expires
	}
	if k := nonceRecord(dumpNonces(t, c, 0, expires(before)), bKey); k != string(types.KeyNonceList(expires(before), h-1)) {
		t.Errorf("the nonce of the tx before the upgrade is in %q", k)
	}
	if k := nonceRecord(dumpNonces(t, c, 0, expires(at)), nonceKeyOf(t, at)); k != string(types.KeyNonceList(expires(at), h)) {
		t.Errorf("the nonce of the tx of the upgrade's block is in %q", k)
	}
	for _, when := range []string{"after the upgrade", "after a restart"} {
		if when != "after the upgrade" {
			c.Reopen()
		}
		for _, raw := range [][]byte{before, at} {
			if r := c.Check(raw); types.Code(r.Code) != types.CodeNonceReused {
				t.Errorf("%s: CheckTx of a replay: code %d %s", when, r.Code, r.Log)
			}
			if r := block(raw)[0]; types.Code(r.Code) != types.CodeNonceReused {
				t.Errorf("%s: FinalizeBlock of a replay: code %d %s", when, r.Code, r.Log)
			}
		}
	}
	replica := apptest.NewAtVersion(t, 3)
	for i, txs := range blocks {
		replica.Block(txs...)
		if hh := int64(i + 1); !bytes.Equal(replica.AppHash, c.Hashes[hh]) {
			t.Fatalf("replay: app hash at height %d differs", hh)
		}
	}
}
