package types_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

func readKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("read-test/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func readBody() types.ReadBody {
	return types.ReadBody{V: types.ReadVersion, ChainID: "c", Reader: "site1-coordinator", Nonce: "0123456789abcdef0123456789abcdef",
		Expires: 1_900_000_000, Path: types.QueryKey, Data: []byte("study/VT-HTN-201"), Height: 7, Prove: true}
}

func TestReadRequestRoundTrip(t *testing.T) {
	key := readKey("alice")
	raw, err := types.SignRead(readBody(), func(m []byte) []byte { return ed25519.Sign(key, m) })
	if err != nil {
		t.Fatal(err)
	}
	r, e := types.DecodeRead(raw)
	if e != nil {
		t.Fatalf("decode: %v", e)
	}
	if !r.VerifySignature(key.Public().(ed25519.PublicKey)) {
		t.Fatal("signature does not verify with the signer's key")
	}
	if r.VerifySignature(readKey("mallory").Public().(ed25519.PublicKey)) {
		t.Fatal("signature verifies with another key")
	}
	// Any change to the body breaks the signature.
	r.Body.Data = []byte("study/OTHER")
	if r.VerifySignature(key.Public().(ed25519.PublicKey)) {
		t.Fatal("signature verifies over a changed body")
	}
	// A read signature is not a tx signature: the domains differ.
	b := readBody()
	sb, _ := b.SignBytes()
	if !bytes.HasPrefix(sb, []byte("veritrial/read/v1\n")) {
		t.Fatalf("sign bytes %q lack the read domain", sb[:20])
	}
}

func TestDecodeReadRefusals(t *testing.T) {
	key := readKey("alice")
	sign := func(b types.ReadBody) []byte {
		raw, err := types.SignRead(b, func(m []byte) []byte { return ed25519.Sign(key, m) })
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := sign(readBody())
	mod := func(f func(*types.ReadBody)) []byte { b := readBody(); f(&b); return sign(b) }
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "not valid"},
		{"not JSON", []byte("hello"), "not valid"},
		{"unknown field", bytes.Replace(good, []byte(`"body":{`), []byte(`"body":{"x":1,`), 1), "not valid"},
		{"trailing data", append(append([]byte(nil), good...), '{', '}'), "trailing"},
		{"not canonical", bytes.Replace(good, []byte(`{"body":`), []byte(`{ "body":`), 1), "canonical"},
		{"version", mod(func(b *types.ReadBody) { b.V = 2 }), "version 2"},
		{"nonce", mod(func(b *types.ReadBody) { b.Nonce = "xyz" }), "nonce"},
		{"path", mod(func(b *types.ReadBody) { b.Path = "/store" }), "path"},
		{"height", mod(func(b *types.ReadBody) { b.Height = -1 }), "negative"},
		{"too large", mod(func(b *types.ReadBody) { b.Data = []byte(strings.Repeat("k", types.MaxReadBytes)) }), "above the limit"},
	}
	for _, c := range cases {
		_, e := types.DecodeRead(c.raw)
		if e == nil || e.Code != types.CodeReadMalformed || !strings.Contains(e.Msg, c.want) {
			t.Errorf("%s: %v, want %s mentioning %q", c.name, e, types.CodeReadMalformed, c.want)
		}
	}
	var r types.ReadRequest
	if err := json.Unmarshal(good, &r); err != nil {
		t.Fatal(err)
	}
}
