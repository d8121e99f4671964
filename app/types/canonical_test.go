package types_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// awkward holds characters json.Marshal escapes, and ones it writes raw
// that a parser could mistake for them.
var awkward = []string{"a", "Z", "0", " ", "<", ">", "&", `"`, `\`, "/", "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f",
	"\x7f", "é", "日", "\u2028", "\u2029", "\ufffd", "😀", "\u0080", "u", "003c"}

// formTxs are canonical encodings of form submissions and corrections
// that use every optional field, awkward strings and extreme integers.
func formTxs(tb testing.TB) [][]byte {
	k := types.FormKey{Study: "ST", Subject: "S1", Event: "UNS", EventRepeat: 1, Form: "AE"}
	vals := []protocol.ItemValue{
		{Item: "AE.TERM", Value: "Headache <mild> & \u00e9 \u2028\u2029 \"x\\y\" \n\t\x01\x7f 日", Repeat: 1},
		{Item: "AE.SEV", Value: "", Repeat: -3, Missing: "ND", Reason: "not done"},
		{Item: "AE.SER", Value: "1", Repeat: math.MaxInt64, Missing: "NA"},
		{Item: "AE.REL", Value: "2", Repeat: math.MinInt64, Reason: "r"},
	}
	msgs := []types.Msg{
		{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: vals}},
		{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "<ST>", Subject: "", Event: "\u2028", EventRepeat: -1, Form: "&"}}},
		{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: []protocol.ItemValue{}}},
		{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: vals, Reason: "typo & <fix>", Resolves: []int{1, 0, -2, math.MaxInt64}, BaseVersion: 7}},
		{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: vals[:1], Reason: "", BaseVersion: -1}},
		{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: vals[1:2], Reason: "r", Resolves: []int{3}}},
		// Invalid UTF-8 encodes as \ufffd, which decodes to a valid
		// U+FFFD: the client's bytes for it are not canonical.
		{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: []protocol.ItemValue{{Item: "AE.TERM", Value: "bad \xff"}}}},
	}
	var out [][]byte
	for i, m := range msgs {
		b := body(m)
		b.Expires = []int64{10, 0, -5, math.MaxInt64, math.MinInt64, 1, 999999999999999999}[i]
		out = append(out, encode(tb, b))
	}
	return out
}

// mutations rewrite canonical bytes: reordered, repeated, unknown or
// missing fields, whitespace, needless or wrong escapes, zero omitempty
// fields, non-canonical numbers, bad base64, trailing data. Most make the
// bytes non-canonical; a few give the canonical bytes of another tx.
var mutations = []struct{ old, new string }{
	{`"study":"ST","subject":"S1"`, `"subject":"S1","study":"ST"`},
	{`"v":1,"chain_id"`, `"chain_id":"c","v":1,"chain_id"`},
	{`"v":1`, `"v": 1`},
	{`{"body":`, `{ "body":`},
	{`,"sig":`, `, "sig":`},
	{`}}},"sig"`, "}}}\n,\"sig\""},
	{`"ST"`, `"S\u0054"`},
	{`"ST"`, `"S\u0054"`},
	{`"AE"`, `"A\/E"`},
	{`\u003c`, `\u003C`},
	{`\u003c`, `<`},
	{`\u2028`, "\u2028"},
	{`\u2028`, `\u2028\u2029`},
	{`\n`, `\u000a`},
	{`\u0001`, `\u0001\u0000`},
	{`\u0001`, `\u0020`},
	{`\u0001`, "\x01"},
	{`é`, `\u00e9`},
	{`"AE.TERM"`, "\"AE.\xffTERM\""},
	{`"AE.TERM"`, "\"AE.\xed\xa0\x80TERM\""},
	{`\"x`, `\"x\`},
	{`{"item":"AE.TERM","value"`, `{"item":"AE.TERM","repeat":0,"value"`},
	{`"repeat":1,`, ``},
	{`"repeat":1,`, `"repeat":01,`},
	{`"repeat":1,`, `"repeat":+1,`},
	{`"repeat":1,`, `"repeat":1.0,`},
	{`"repeat":1,`, `"repeat":1e0,`},
	{`"repeat":-3,`, `"repeat":-03,`},
	{`"event_repeat":1`, `"event_repeat":-0`},
	{`"event_repeat":1`, `"event_repeat":"1"`},
	{`"event_repeat":1`, `"event_repeat":9223372036854775808`},
	{`"event_repeat":1`, `"event_repeat":-9223372036854775809`},
	{`"event_repeat":1`, `"event_repeat":99999999999999999999`},
	{`"event_repeat":1`, `"event_repeat":null`},
	{`"missing":"ND"`, `"missing":""`},
	{`,"missing":"NA"`, `,"missing":"NA","missing":"NA"`},
	{`,"missing":"NA"`, `,"reason":"","missing":"NA"`},
	{`"value":"1","missing":"NA"`, `"value":"1","missing":"NA","reason":""`},
	{`,"resolves":[1,0,-2,9223372036854775807]`, ``},
	{`,"resolves":[1,0,-2,9223372036854775807]`, `,"resolves":[]`},
	{`,"resolves":[1,0,-2,9223372036854775807]`, `,"resolves":[1,0,-2,9223372036854775807,]`},
	{`,"resolves":[1,0,-2,9223372036854775807]`, `,"resolves":null`},
	{`"base_version":7`, `"base_version":0`},
	{`,"base_version":7`, `,"base_version":7,"base_version":7`},
	{`,"base_version":7`, ``},
	{`,"resolves":[3]`, `,"base_version":0,"resolves":[3]`},
	{`"resolves":[3]}}}`, `"resolves":[3],"reason":"r"}}}`},
	{`"resolves":[3]}}}`, `"resolves":[3],"extra":1}}}`},
	{`"v":1`, `"v":1,"extra":2`},
	{`"v":1`, `"V":1`},
	{`"v":1`, `"v":2`},
	{`"v":1`, `"v":0`},
	{`"study":`, `"Study":`},
	{`"values":[]`, `"values":null`},
	{`"values":[]`, `"values":{}`},
	{`"values":[]`, `"values":[ ]`},
	{`"values":[]`, `"values":[null]`},
	{`"values":[]`, ``},
	{`{"submit_form":`, `{"correct_form":`},
	{`{"correct_form":`, `{"submit_form":`},
	{`{"submit_form":`, `{"enroll_subject":null,"submit_form":`},
	{`}}},"sig"`, `},"correct_form":{"study":"S","subject":"s","event":"E","event_repeat":1,"form":"F","changes":null,"reason":"r"}}},"sig"`},
	{`}}},"sig"`, `}},"extra":{}},"sig"`},
	{`"sig":"`, `"sig":"=`},
	{`=="}`, `="}`},
	{`=="}`, `"}`},
	{`=="}`, `==="}`},
	{`=="}`, `==\n"}`},
	{`=="}`, "==\n\"}"},
	{`"sig":"`, "\"sig\":\"\r"},
	{`=="}`, `\u003d="}`},
	{`"sig":"`, `"sig":"\n`},
	{`"}`, `" }`},
	{`"}`, `"}x`},
	{`"}`, `"}{}`},
	{`"}`, `"}}`},
	{`"}`, `"`},
	{`{"body":`, `[{"body":`},
}

// mutate returns raw with the first m.old replaced, and whether there was
// one.
func mutate(raw []byte, old, new string) ([]byte, bool) {
	s := string(raw)
	if !strings.Contains(s, old) {
		return nil, false
	}
	return []byte(strings.Replace(s, old, new, 1)), true
}

// sameVerdict fails t unless DecodeTx and its general path alone decide
// raw alike: both accept it with equal Tx values, or both reject it with
// the same code.
func sameVerdict(t *testing.T, raw []byte) (accepted bool) {
	t.Helper()
	got, e := types.DecodeTx(raw)
	want, we := types.DecodeTxGeneral(raw)
	if (e == nil) != (we == nil) || e != nil && e.Code != we.Code {
		t.Fatalf("DecodeTx: %v; general path: %v; input %q", e, we, raw)
	}
	if e != nil {
		return false
	}
	if !reflect.DeepEqual(got.Body, want.Body) || !reflect.DeepEqual(got.Signature, want.Signature) {
		t.Fatalf("decoded txs differ for %q:\n%#v\n%#v", raw, got, want)
	}
	if !bytes.Equal(got.ReceivedSignBytes(), want.ReceivedSignBytes()) {
		t.Fatalf("sign bytes differ for %q", raw)
	}
	return true
}

// TestCanonicalFastPath: form txs as the client encodes them, with
// random awkward strings and integers, take the fast path and decode to
// what the general path decodes them to. One in ten has a string of
// invalid UTF-8, which the client writes as \ufffd: both paths reject it.
func TestCanonicalFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(awkward[rng.IntN(len(awkward))])
		}
		return b.String()
	}
	num := func() int {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return rng.IntN(20) - 10
		case 2:
			return int(rng.Uint64())
		}
		return []int{math.MaxInt64, math.MinInt64, math.MaxInt32, 1e18, -1e18}[rng.IntN(5)]
	}
	items := func() []protocol.ItemValue {
		if rng.IntN(8) == 0 {
			return nil
		}
		vs := make([]protocol.ItemValue, rng.IntN(5))
		for i := range vs {
			vs[i] = protocol.ItemValue{Item: str(), Repeat: num(), Value: str(), Missing: str(), Reason: str()}
		}
		return vs
	}
	for i := range 3000 {
		k := types.FormKey{Study: str(), Subject: str(), Event: str(), EventRepeat: num(), Form: str()}
		var m types.Msg
		if i%2 == 0 {
			m.SubmitForm = &types.MsgSubmitForm{FormKey: k, Values: items()}
		} else {
			var res []int
			for range rng.IntN(4) {
				res = append(res, num())
			}
			m.CorrectForm = &types.MsgCorrectForm{FormKey: k, Changes: items(), Reason: str(), Resolves: res, BaseVersion: num()}
		}
		b := types.Body{V: types.TxVersion, ChainID: str(), Signer: str(), Nonce: str(), Expires: int64(num()), Msg: m}
		invalid := rng.IntN(10) == 0
		if invalid {
			b.Signer += []string{"\xff", "\xed\xa0\x80", "\xc3"}[rng.IntN(3)]
		}
		raw := encode(t, b)
		_, fast := types.DecodeCanonical(raw)
		if sameVerdict(t, raw) == invalid || fast == invalid {
			t.Fatalf("invalid UTF-8 %v, fast path %v: %q", invalid, fast, raw)
		}
	}
}

// TestCanonicalMutations: bytes that differ from the canonical ones in
// any way get the general path's verdict, never the fast path's.
func TestCanonicalMutations(t *testing.T) {
	txs := formTxs(t)
	for _, m := range mutations {
		hit := false
		for _, raw := range txs {
			mut, ok := mutate(raw, m.old, m.new)
			if !ok {
				continue
			}
			hit = true
			sameVerdict(t, mut)
		}
		if !hit {
			t.Errorf("mutation %q -> %q applies to no tx", m.old, m.new)
		}
	}
	for _, raw := range txs {
		sameVerdict(t, raw)
		for i := range raw {
			sameVerdict(t, raw[:i])
		}
	}
}
