package types_test

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// stdlibAccepts is DecodeTx's rule with encoding/json alone: one value,
// no unknown fields, nothing but whitespace after it, the envelope
// version, re-encoding to exactly the bytes received, one message.
func stdlibAccepts(raw []byte) (*types.Tx, bool) {
	if len(raw) > types.MaxTxBytes {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var tx types.Tx
	if dec.Decode(&tx) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	if tx.Body.V != types.TxVersion {
		return nil, false
	}
	again, err := json.Marshal(&tx)
	if err != nil || !bytes.Equal(again, raw) {
		return nil, false
	}
	if _, _, e := tx.Body.Msg.Unpack(); e != nil {
		return nil, false
	}
	return &tx, true
}

// FuzzDecodeTxMatchesStdlib: DecodeTx decodes with goccy/go-json for
// speed, and form txs with its own canonical parser; the envelopes it
// accepts, and what they decode to, must be exactly those of
// encoding/json, and its verdict, error code and decoded tx exactly those
// of its general path alone.
func FuzzDecodeTxMatchesStdlib(f *testing.F) {
	form := types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "ST", Subject: "S1", Event: "UNS", EventRepeat: 1, Form: "AE"},
		Values: []protocol.ItemValue{{Item: "AE.TERM", Value: "Headache <mild> & \u00e9", Repeat: 1}, {Item: "AE.SEV", Value: "1", Repeat: 2}}}}
	for _, m := range []types.Msg{enroll, form} {
		b := body(m)
		tx, err := types.Sign(b, key("alice"))
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := tx.Encode()
		f.Add(raw)
		s := string(raw)
		f.Add([]byte(s + " "))
		f.Add([]byte(s + "x"))
		f.Add([]byte(s + "{}"))
		f.Add([]byte(strings.Replace(s, `"v":1`, `"v":1,"v":1`, 1)))
		f.Add([]byte(strings.Replace(s, `"v":1`, `"v":1.0`, 1)))
		f.Add([]byte(strings.Replace(s, `"v":1`, `"v":1e0`, 1)))
		f.Add([]byte(strings.Replace(s, `"v":1`, `"V":1`, 1)))
		f.Add([]byte(strings.Replace(s, `"v":1`, `"v":1,"extra":2`, 1)))
		f.Add([]byte(strings.Replace(s, `"S1"`, `"S\u0031"`, 1)))
		f.Add([]byte(strings.Replace(s, `"S1"`, "\"S\xff\"", 1)))
		f.Add([]byte(strings.Replace(s, `"S1"`, `null`, 1)))
		f.Add([]byte(strings.Replace(s, `"expires":10`, `"expires":"10"`, 1)))
		f.Add([]byte(strings.Replace(s, `"expires":10`, `"expires":99999999999999999999`, 1)))
		f.Add([]byte(strings.Replace(s, `{"body"`, ` {"body"`, 1)))
	}
	for _, raw := range formTxs(f) {
		f.Add(raw)
		for _, m := range mutations {
			if mut, ok := mutate(raw, m.old, m.new); ok {
				f.Add(mut)
			}
		}
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"body":{},"sig":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, ok := stdlibAccepts(raw)
		got, e := types.DecodeTx(raw)
		if ok != (e == nil) {
			t.Fatalf("encoding/json accepts: %v; DecodeTx: %v; input %q", ok, e, raw)
		}
		if ok && !reflect.DeepEqual(got.Body, want.Body) {
			t.Fatalf("decoded bodies differ:\n%+v\n%+v", got.Body, want.Body)
		}
		sameVerdict(t, raw)
	})
}

// TestDecodedTxsStayIntact: the ledger keeps decoded txs (its tx cache)
// while it decodes others. goccy/go-json reuses internal buffers, so
// decode many different txs, keep every result, and only then compare
// each with encoding/json's decode of the same bytes.
func TestDecodedTxsStayIntact(t *testing.T) {
	var raws [][]byte
	var kept []*types.Tx
	for i := 0; i < 500; i++ {
		vals := make([]protocol.ItemValue, 1+i%40)
		for j := range vals {
			vals[j] = protocol.ItemValue{Item: "AE.TERM", Value: strings.Repeat(string(rune('a'+(i+j)%26)), 1+(i*j)%50), Repeat: j + 1}
		}
		b := body(types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "ST", Subject: "S" + strings.Repeat("9", 1+i%7), Event: "UNS", EventRepeat: i + 1, Form: "AE"}, Values: vals}})
		tx, err := types.Sign(b, key("alice"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tx.Encode()
		got, e := types.DecodeTx(raw)
		if e != nil {
			t.Fatal(e.Msg)
		}
		raws, kept = append(raws, raw), append(kept, got)
	}
	for i, raw := range raws {
		want, ok := stdlibAccepts(raw)
		if !ok || !reflect.DeepEqual(kept[i].Body, want.Body) {
			t.Fatalf("tx %d changed after later decodes", i)
		}
		if again, _ := kept[i].Encode(); string(again) != string(raw) {
			t.Fatalf("tx %d re-encodes differently after later decodes", i)
		}
	}
}
