package types

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/protocol"
)

// Fields added for data management are omitempty: a tx encoded before
// they existed still decodes and re-encodes to the same bytes.
func TestDataManagementFieldsKeepOldTxsCanonical(t *testing.T) {
	k := FormKey{Study: "S", Subject: "P1", Event: "SCR", EventRepeat: 1, Form: "VS"}
	for _, m := range []Msg{
		{CorrectForm: &MsgCorrectForm{FormKey: k, Changes: []protocol.ItemValue{{Item: "VS.HR", Value: "60"}}, Reason: "r"}},
		{RegisterStudy: &MsgRegisterStudy{Fingerprint: strings.Repeat("a", 64)}},
	} {
		tx := Tx{Body: Body{V: TxVersion, ChainID: "c", Signer: "a", Nonce: strings.Repeat("0", 32), Expires: 5, Msg: m}, Signature: []byte{1}}
		raw, err := tx.Encode()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"resolves", "signature_meanings", "sdv_policy", "lock_approvers", "lock_quorum"} {
			if strings.Contains(string(raw), `"`+f+`"`) {
				t.Errorf("empty %s is encoded: %s", f, raw)
			}
		}
		if _, e := DecodeTx(raw); e != nil && e.Code == CodeTxNotCanonical {
			t.Errorf("not canonical: %s", raw)
		}
	}
}

func TestSignedContentHash(t *testing.T) {
	m := &MsgSign{Study: "S", Subject: "P1", Event: "SCR", EventRepeat: 1}
	forms := []FormRecord{
		{FormKey: FormKey{Study: "S", Subject: "P1", Event: "SCR", EventRepeat: 1, Form: "LB"}, Version: 1, Values: []protocol.ItemValue{{Item: "LB.HGB", Value: "14"}}},
		{FormKey: FormKey{Study: "S", Subject: "P1", Event: "SCR", EventRepeat: 1, Form: "VS"}, Version: 2, Values: []protocol.ItemValue{{Item: "VS.HR", Value: "60"}}},
		{FormKey: FormKey{Study: "S", Subject: "P1", Event: "D1", EventRepeat: 1, Form: "VS"}, Version: 1, Values: []protocol.ItemValue{{Item: "VS.HR", Value: "61"}}},
		{FormKey: FormKey{Study: "S", Subject: "P2", Event: "SCR", EventRepeat: 1, Form: "VS"}, Version: 1},
	}
	c := m.Content(forms)
	if len(c.Forms) != 2 || c.Level != SignEvent {
		t.Fatalf("event content %+v", c)
	}
	h := c.Hash()
	if len(h) != 64 || h != m.Content(forms).Hash() {
		t.Fatal("hash not stable")
	}
	// Any change of a value or a version changes the hash.
	forms[1].Values[0].Value = "61"
	if m.Content(forms).Hash() == h {
		t.Error("value change keeps the hash")
	}
	forms[1].Values[0].Value = "60"
	forms[1].Version = 3
	if m.Content(forms).Hash() == h {
		t.Error("version change keeps the hash")
	}
	// The hash is over the JSON of exactly the content.
	bz, _ := json.Marshal(c)
	if !strings.Contains(string(bz), `"level":"event"`) {
		t.Errorf("content %s", bz)
	}
	cb := &MsgSign{Study: "S", Subject: "P1"}
	if got := cb.Content(forms); len(got.Forms) != 3 || got.Level != SignCasebook {
		t.Errorf("casebook content %+v", got)
	}
	fm := &MsgSign{Study: "S", Subject: "P1", Event: "SCR", EventRepeat: 1, Form: "VS"}
	if got := fm.Content(forms); len(got.Forms) != 1 || got.Forms[0].Version != 3 {
		t.Errorf("form content %+v", got)
	}
}

func TestCodesHaveNames(t *testing.T) {
	for c := CodeUnknownQuery; c <= CodeItemNotInForm; c++ {
		if c.String() == "unknown_code" {
			t.Errorf("code %d has no name", c)
		}
	}
}

func TestActionMsgsRoundTrip(t *testing.T) {
	a := &MsgQueryAction{Study: "ST", Number: 1}
	for _, k := range []Kind{KindQueryAnswer, KindQueryClose, KindQueryReopen, KindQueryCancel} {
		m, ok := QueryActionMsg(k, a)
		if kind, got, e := m.Unpack(); !ok || e != nil || kind != k || got != a {
			t.Errorf("%s: ok %v, unpacked %s %v %v", k, ok, kind, got, e)
		}
	}
	s := &MsgScope{Scope: Scope{Study: "ST"}}
	for _, k := range []Kind{KindFreeze, KindUnfreeze, KindLock, KindUnlock} {
		m, ok := ScopeActionMsg(k, s)
		if kind, got, e := m.Unpack(); !ok || e != nil || kind != k || got != s {
			t.Errorf("%s: ok %v, unpacked %s %v %v", k, ok, kind, got, e)
		}
	}
	if _, ok := QueryActionMsg(KindLock, a); ok {
		t.Error("a lock wrapped as a query action")
	}
	if _, ok := ScopeActionMsg(KindQueryClose, s); ok {
		t.Error("a query action wrapped as a scope action")
	}
}
