package app_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// step is one transaction of a scenario and the code it must get.
type step struct {
	name   string
	signer string
	msg    types.Msg
	want   types.Code
	// atCheck: the rejection must already come from CheckTx.
	atCheck bool
	// logHas are substrings the rejection message must contain.
	logHas []string
}

func runSteps(t *testing.T, c *apptest.Chain, steps []step) {
	t.Helper()
	for _, s := range steps {
		raw := c.Tx(s.signer, s.msg)
		log := runRaw(t, c, s.name, raw, s.want, s.atCheck)
		for _, sub := range s.logHas {
			if !strings.Contains(log, sub) {
				t.Errorf("%s: log %q does not mention %q", s.name, log, sub)
			}
		}
	}
}

// runRaw sends raw through CheckTx and then, whatever CheckTx said, a block
// of its own: FinalizeBlock must give want. CheckTx may accept a tx whose
// rejection depends on domain state (FinalizeBlock decides), but it may not
// give another code. A rejection in the block changes nothing but the
// tx's nonce, which it consumes once the signature verified (see
// consumesNonce): runRaw then broadcasts the same bytes again in a block
// of their own, which must refuse them as a replay and change nothing.
func runRaw(t *testing.T, c *apptest.Chain, name string, raw []byte, want types.Code, atCheck bool) string {
	t.Helper()
	chk := c.Check(raw)
	if chk.Code != 0 && types.Code(chk.Code) != want {
		t.Errorf("%s: CheckTx code %d (%s) %q, want 0 or %d (%s)", name, chk.Code, types.Code(chk.Code), chk.Log, want, want)
	}
	if atCheck && types.Code(chk.Code) != want {
		t.Errorf("%s: CheckTx code %d (%s), want %d (%s) at CheckTx", name, chk.Code, types.Code(chk.Code), want, want)
	}
	var before map[string]string
	beforeHash := c.AppHash
	consumes := signatureVerifies(t, c, raw)
	if want != types.CodeOK && c.Height > 0 {
		before = dump(t, c, 0)
	}
	res := c.Block(raw)[0]
	if types.Code(res.Code) != want {
		t.Errorf("%s: FinalizeBlock code %d (%s) %q, want %d (%s)", name, res.Code, types.Code(res.Code), res.Log, want, want)
	}
	if want == types.CodeOK || types.Code(res.Code) == types.CodeOK {
		return res.Log
	}
	if res.Log == "" {
		t.Errorf("%s: rejection without a message", name)
	}
	if !consumes {
		if !bytes.Equal(beforeHash, c.AppHash) {
			t.Errorf("%s: tx rejected before its signature was verified changed the app hash", name)
		}
		return res.Log
	}
	after := dump(t, c, 0)
	if !nonceIn(after, nonceKeyOf(t, raw)) {
		t.Errorf("%s: tx rejected in the block did not consume its nonce", name)
	}
	if before != nil {
		if d := diffDumps(withoutNonces(before), withoutNonces(after)); d != "" {
			t.Errorf("%s: tx rejected in the block changed more than its nonce: %s", name, d)
		}
	}
	// The same bytes again, in a block of their own (as anyone who read
	// the block could broadcast them): refused as a replay, no change.
	replayHash := c.AppHash
	if r := c.Block(raw)[0]; types.Code(r.Code) != types.CodeNonceReused {
		t.Errorf("%s: replay of a tx rejected in a block: code %d (%s) %q, want %d (%s)", name, r.Code, types.Code(r.Code), r.Log, types.CodeNonceReused, types.CodeNonceReused)
	}
	if !bytes.Equal(replayHash, c.AppHash) {
		t.Errorf("%s: replay of a tx rejected in a block changed the app hash", name)
	}
	return res.Log
}

// signatureVerifies says whether raw, executed in the next block on the
// chain's last committed state, gets as far as consuming its nonce: it
// decodes, its message passes the stateless rules, it is for this chain
// and within its expiry, its nonce is unused, and its signature verifies
// with the current key of an active account. Every later rejection
// consumes the nonce; these earlier ones do not, as nobody's signature
// was shown to be on the tx.
func signatureVerifies(t testing.TB, c *apptest.Chain, raw []byte) bool {
	t.Helper()
	tx, e := types.DecodeTx(raw)
	if e != nil {
		return false
	}
	b := &tx.Body
	if !types.ValidNonce(b.Nonce) || b.ChainID != apptest.ChainID {
		return false
	}
	next := c.Height + 1
	if b.Expires < next || b.Expires > next+types.DefaultParams().MaxTxTTL {
		return false
	}
	kind, msg, e := b.Msg.Unpack()
	if e != nil || types.ValidateBasic(kind, msg) != nil {
		return false
	}
	if c.Height == 0 {
		return true // the genesis accounts, which every test signs with
	}
	var acct types.Account
	if !c.Get(types.KeyAccount(b.Signer), &acct) || acct.Status != types.AccountActive {
		return false
	}
	key := types.KeyNonce(b.Expires, b.Signer, b.Nonce)
	if nonceIn(dumpNonces(t, c, 0, b.Expires), key) {
		return false
	}
	return tx.VerifyReceived(acct.PubKey)
}

// nonceKeyOf is the replay-protection key of raw.
func nonceKeyOf(t testing.TB, raw []byte) []byte {
	t.Helper()
	tx, e := types.DecodeTx(raw)
	if e != nil {
		t.Fatalf("decoding tx: %v", e)
	}
	return types.KeyNonce(tx.Body.Expires, tx.Body.Signer, tx.Body.Nonce)
}

// withoutNonces is a dump without its replay-protection records (which
// every block also prunes as they expire).
func withoutNonces(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, types.PrefixNonce) && !strings.HasPrefix(k, types.PrefixNonceList) {
			out[k] = v
		}
	}
	return out
}

// nonceIn says whether a dump holds the nonce key (types.KeyNonce), in
// either layout: its own key (state-machine versions 1-3), or a line of
// a list of its expiry height (version 4 on).
func nonceIn(m map[string]string, key []byte) bool { return nonceRecord(m, key) != "" }

// nonceRecord is the key of the record of a dump that holds the nonce
// key, in either layout ("" if none).
func nonceRecord(m map[string]string, key []byte) string {
	if m[string(key)] != "" {
		return string(key)
	}
	p := len(types.PrefixNonce)
	expiry, entry := string(key[p:p+12]), string(key[p+13:])
	for k, v := range m {
		if strings.HasPrefix(k, types.PrefixNonceList+expiry+"/") && slices.Contains(strings.Split(v, "\n"), entry) {
			return k
		}
	}
	return ""
}

// dumpNonces returns the replay-protection records of expiry height
// expires at height h (0 = latest), in both layouts.
func dumpNonces(t testing.TB, c *apptest.Chain, h, expires int64) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range []string{string(types.KeyNonce(expires, "", ""))[:len(types.PrefixNonce)+13], string(types.NonceListPrefix(expires))} {
		for _, e := range list(t, c, p, h, 0) {
			m[e.Key] = string(e.Value)
		}
	}
	return m
}

// diffDumps names the keys that differ between two dumps ("" if none).
func diffDumps(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "removed "+k)
		} else if w != v {
			d = append(d, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	slices.Sort(d)
	return strings.Join(d, ", ")
}

// get reads and decodes key, verifying its proof; it fails when absent.
func get(t testing.TB, c *apptest.Chain, key []byte, out any) {
	t.Helper()
	if !c.Get(key, out) {
		t.Fatalf("key %q is absent", key)
	}
}

func absent(t *testing.T, c *apptest.Chain, key []byte) {
	t.Helper()
	var v json.RawMessage
	if c.Get(key, &v) {
		t.Fatalf("key %q is present: %s", key, v)
	}
}

// rawGet reads key at height h (0 = latest) and verifies its proof
// (membership or absence) against that height's app hash.
func rawGet(t testing.TB, c *apptest.Chain, key []byte, h int64) []byte {
	t.Helper()
	res := c.Query(types.QueryKey, key, h, true)
	if res.Code != 0 {
		t.Fatalf("query %q: %s", key, res.Log)
	}
	root := c.AppHash
	if h != 0 && h != c.Height {
		root = appHashAt(t, c, h)
	}
	if res.ProofOps == nil || len(res.ProofOps.Ops) != 1 || res.ProofOps.Ops[0].Type != types.ProofOpType {
		t.Fatalf("query %q: no ics23 proof", key)
	}
	if err := types.VerifyProof(root, key, res.Value, res.ProofOps.Ops[0].Data); err != nil {
		t.Fatalf("query %q at %d: %v", key, h, err)
	}
	return res.Value
}

func appHashAt(t testing.TB, c *apptest.Chain, h int64) []byte {
	t.Helper()
	root, ok := c.Hashes[h]
	if !ok {
		t.Fatalf("no recorded app hash for height %d", h)
	}
	return root
}

// setHard replaces the hard range of item oid in p.
func setHard(t testing.TB, p *protocol.Protocol, oid, min, max string) {
	t.Helper()
	for fi := range p.Forms {
		for gi := range p.Forms[fi].Groups {
			for ii := range p.Forms[fi].Groups[gi].Items {
				it := &p.Forms[fi].Groups[gi].Items[ii]
				if it.OID == oid {
					it.Hard = &protocol.Range{Min: min, Max: max}
					return
				}
			}
		}
	}
	t.Fatalf("item %s not in protocol", oid)
}

// formOf returns form oid of p.
func formOf(t testing.TB, p *protocol.Protocol, oid string) *protocol.Form {
	t.Helper()
	for i := range p.Forms {
		if p.Forms[i].OID == oid {
			return &p.Forms[i]
		}
	}
	t.Fatalf("form %s not in protocol", oid)
	return nil
}

// list returns every entry under prefix at height h, following pages.
func list(t testing.TB, c *apptest.Chain, prefix string, h int64, limit int) []types.ListEntry {
	t.Helper()
	var out []types.ListEntry
	after := ""
	for {
		bz, _ := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: limit})
		res := c.Query(types.QueryList, bz, h, false)
		if res.Code != 0 {
			t.Fatalf("list %s: %s", prefix, res.Log)
		}
		var lr types.ListResponse
		if err := json.Unmarshal(res.Value, &lr); err != nil {
			t.Fatal(err)
		}
		out = append(out, lr.Entries...)
		if !lr.More {
			return out
		}
		if len(lr.Entries) == 0 {
			t.Fatalf("list %s: More with no entries", prefix)
		}
		after = lr.Entries[len(lr.Entries)-1].Key
	}
}

// allPrefixes are the documented key prefixes of the store.
var allPrefixes = []string{
	types.PrefixOrg, types.PrefixAccount, types.PrefixAcctHist, types.PrefixPubKey,
	types.PrefixNonce, types.PrefixNonceList, types.PrefixStudy, types.PrefixProtocol,
	types.PrefixAmendment, types.PrefixSite, types.PrefixSubject, types.PrefixForm, types.PrefixHistory,
}

// everyPrefix is allPrefixes and the rest of the store: a dump under
// these holds every key.
var everyPrefix = append(slices.Clone(allPrefixes),
	types.PrefixQuery, types.PrefixQueryForm, types.PrefixSDV, types.PrefixDeviation, types.PrefixSignature, types.PrefixLock, types.PrefixDBLock,
	types.PrefixValKey, types.PrefixNodeID, types.PrefixProposal, string(types.KeyGovernance),
	types.KeyParams, types.KeyChainID, types.PrefixLabRanges, types.PrefixLabAssess)

// dump returns every key and value of the store at height h.
func dump(t testing.TB, c *apptest.Chain, h int64) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range everyPrefix {
		for _, e := range list(t, c, p, h, 0) {
			m[e.Key] = string(e.Value)
		}
	}
	return m
}
