package app_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

func TestEnvelope(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	enroll := func(id string) types.Msg { return apptest.EnrollMsg(id, "site1") }
	coord := c.Person("site1-coordinator")
	signed := func(mod func(b *types.Body)) []byte {
		b := c.Body("site1-coordinator", enroll("S1-900"))
		mod(&b)
		return c.SignBody(b, coord)
	}
	// reencode re-marshals raw through a generic map: keys sorted, which
	// reorders "sig" and "body" relative to the canonical struct order.
	reorder := func(raw []byte) []byte {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteString(`{"sig":`)
		b.Write(m["sig"])
		b.WriteString(`,"body":`)
		b.Write(m["body"])
		b.WriteString(`}`)
		return b.Bytes()
	}
	good := c.Tx("site1-coordinator", enroll("S1-901"))
	forgedSig := append([]byte(nil), good...)
	i := bytes.Index(forgedSig, []byte(`"sig":"`)) + len(`"sig":"`)
	if forgedSig[i] == 'A' {
		forgedSig[i] = 'B'
	} else {
		forgedSig[i] = 'A'
	}
	big := c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(150, 90)))
	big = append(big[:len(big)-1], []byte(strings.Repeat(" ", types.MaxTxBytes))...)
	two := enroll("S1-902")
	two.ActivateSite = &types.MsgActivateSite{Study: study, Site: "site2"}

	cases := []struct {
		name string
		raw  []byte
		want types.Code
	}{
		{"wrong chain", signed(func(b *types.Body) { b.ChainID = "other-chain" }), types.CodeWrongChain},
		{"unsupported version", signed(func(b *types.Body) { b.V = 2 }), types.CodeUnsupportedVer},
		{"nonce not hex", signed(func(b *types.Body) { b.Nonce = "not-a-nonce-at-all" }), types.CodeTxMalformed},
		{"nonce too short", signed(func(b *types.Body) { b.Nonce = "abcd" }), types.CodeTxMalformed},
		{"zero messages", signed(func(b *types.Body) { b.Msg = types.Msg{} }), types.CodeTxMalformed},
		{"two messages", signed(func(b *types.Body) { b.Msg = two }), types.CodeTxMalformed},
		{"unknown signer", c.TxAs("ghost", &apptest.Person{Key: apptest.KeyFor("ghost")}, enroll("S1-903")), types.CodeUnknownSigner},
		{"forged signature (another person's key)", c.TxAs("site1-coordinator", c.Person("site1-investigator"), enroll("S1-904")), types.CodeBadSignature},
		{"tampered signature", forgedSig, types.CodeBadSignature},
		{"no signature", signedNoSig(t, c), types.CodeBadSignature},
		{"tampered body", bytes.Replace(c.Tx("site1-coordinator", enroll("S1-905")), []byte("S1-905"), []byte("S1-906"), 1), types.CodeBadSignature},
		{"extra whitespace", bytes.Replace(c.Tx("site1-coordinator", enroll("S1-907")), []byte(`{"body":`), []byte(`{ "body":`), 1), types.CodeTxNotCanonical},
		{"trailing newline", append(c.Tx("site1-coordinator", enroll("S1-908")), '\n'), types.CodeTxNotCanonical},
		{"reordered fields", reorder(c.Tx("site1-coordinator", enroll("S1-909"))), types.CodeTxNotCanonical},
		{"escaped character", bytes.Replace(c.Tx("site1-coordinator", enroll("S1-910")), []byte(`"S1-910"`), []byte(`"\u005391\u0030"`), 1), types.CodeTxNotCanonical},
		{"unknown field", bytes.Replace(c.Tx("site1-coordinator", enroll("S1-911")), []byte(`"body":{`), []byte(`"body":{"x":1,`), 1), types.CodeTxMalformed},
		{"unknown message field", bytes.Replace(c.Tx("site1-coordinator", enroll("S1-912")), []byte(`"study":`), []byte(`"name":"Jane Doe","study":`), 1), types.CodeTxMalformed},
		{"trailing data", append(c.Tx("site1-coordinator", enroll("S1-913")), []byte(`{}`)...), types.CodeTxMalformed},
		{"not JSON", []byte("hello"), types.CodeTxMalformed},
		{"empty", []byte{}, types.CodeTxMalformed},
		{"too large", big, types.CodeTxTooLarge},
	}
	for _, tc := range cases {
		runRaw(t, c, tc.name, tc.raw, tc.want, true)
	}
	// Expiry is relative to the height the tx is checked for (next block).
	runRaw(t, c, "expired", signed(func(b *types.Body) { b.Expires = c.Height }), types.CodeTxExpired, true)
	runRaw(t, c, "expiry too far", signed(func(b *types.Body) { b.Expires = c.Height + 1 + types.DefaultParams().MaxTxTTL + 1 }), types.CodeExpiryTooFar, true)
	runRaw(t, c, "expiry at the limit", signed(func(b *types.Body) { b.Expires = c.Height + 1 + types.DefaultParams().MaxTxTTL }), types.CodeOK, true)
	runRaw(t, c, "expiry this block", signed(func(b *types.Body) { b.Expires = c.Height + 1; b.Msg = enroll("S1-950") }), types.CodeOK, true)
	if len(big) <= types.MaxTxBytes {
		t.Fatalf("fixture is %d bytes, not above the limit", len(big))
	}

	// Replay: across blocks, in the mempool, within one block.
	runRaw(t, c, "first use", good, types.CodeOK, false)
	runRaw(t, c, "replay in a later block", good, types.CodeNonceReused, true)

	b := c.Body("site1-coordinator", enroll("S1-920"))
	first := c.SignBody(b, coord)
	b.Msg = enroll("S1-921")
	sameNonce := c.SignBody(b, coord)
	if r := c.Check(first); r.Code != 0 {
		t.Fatalf("CheckTx: %s", r.Log)
	}
	if r := c.Check(first); types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("same tx twice in the mempool: code %d, want nonce_reused", r.Code)
	}
	if r := c.Check(sameNonce); types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("other tx with a nonce in the mempool: code %d, want nonce_reused", r.Code)
	}
	// The same nonce for another signer is independent.
	other := b
	other.Signer = "site1-investigator"
	other.Msg = enroll("S1-922")
	if r := c.Check(c.SignBody(other, c.Person("site1-investigator"))); r.Code != 0 {
		t.Errorf("same nonce, other signer: %s", r.Log)
	}
	res := c.Block(first, sameNonce, first)
	if res[0].Code != 0 || types.Code(res[1].Code) != types.CodeNonceReused || types.Code(res[2].Code) != types.CodeNonceReused {
		t.Errorf("one nonce thrice in a block: codes %d %d %d", res[0].Code, res[1].Code, res[2].Code)
	}
	// After Commit the mempool record is gone but the ledger remembers.
	if r := c.Check(sameNonce); types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("after commit: code %d, want nonce_reused", r.Code)
	}
	absent(t, c, types.KeySubject(study, "S1-921"))
	if k := nonceRecord(dumpNonces(t, c, 0, b.Expires), types.KeyNonce(b.Expires, "site1-coordinator", b.Nonce)); k == "" || rawGet(t, c, []byte(k), 0) == nil {
		t.Errorf("no nonce record for the committed tx")
	}
	// A signer's fresh tx with the same nonce but another expiry is another
	// signed tx, not a replay.
	later := c.Body("site1-coordinator", enroll("S1-923"))
	later.Nonce, later.Expires = b.Nonce, b.Expires+1
	runRaw(t, c, "same nonce, other expiry", c.SignBody(later, coord), types.CodeOK, false)

	// Out-of-order submissions by one person all succeed (no sequence).
	var txs [][]byte
	for i := 0; i < 5; i++ {
		txs = append(txs, c.Tx("site1-coordinator", enroll("S1-93"+string(rune('0'+i)))))
	}
	res = c.Block(txs[4], txs[2], txs[0])
	res2 := c.Block(txs[3], txs[1])
	for i, r := range append(res, res2...) {
		if r.Code != 0 {
			t.Errorf("out-of-order tx %d: %s", i, r.Log)
		}
	}
}

func signedNoSig(t *testing.T, c *apptest.Chain) []byte {
	t.Helper()
	tx := types.Tx{Body: c.Body("site1-coordinator", apptest.EnrollMsg("S1-999", "site1"))}
	raw, err := tx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestNonceExpiry checks that a nonce is remembered until its expiry has
// passed and that its records are pruned afterwards.
func TestNonceExpiry(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	b := c.Body("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	b.Expires = c.Height + 3
	raw := c.SignBody(b, c.Person("site1-coordinator"))
	runRaw(t, c, "ok", raw, types.CodeOK, false)
	expires := b.Expires
	if k := nonceRecord(dumpNonces(t, c, 0, expires), types.KeyNonce(expires, b.Signer, b.Nonce)); k == "" || rawGet(t, c, []byte(k), 0) == nil {
		t.Fatal("no nonce record")
	}
	for c.Height < expires {
		runRaw(t, c, "replay before expiry", raw, types.CodeNonceReused, true)
	}
	// The block at expires+1 prunes it; the replay is expired anyway.
	if r := c.Check(raw); types.Code(r.Code) != types.CodeTxExpired {
		t.Errorf("CheckTx after expiry: code %d, want tx_expired", r.Code)
	}
	if r := c.Block(raw)[0]; types.Code(r.Code) != types.CodeTxExpired {
		t.Errorf("FinalizeBlock after expiry: code %d, want tx_expired", r.Code)
	}
	if left := dumpNonces(t, c, 0, expires); len(left) != 0 {
		t.Errorf("nonce records of expiry %d left after it passed: %v", expires, left)
	}
}
