package client_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

type edSigner ed25519.PrivateKey

func (s edSigner) PubKey() ed25519.PublicKey {
	return ed25519.PrivateKey(s).Public().(ed25519.PublicKey)
}
func (s edSigner) Sign(m []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(s), m) }

func TestSignedQueryWrapsReads(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	var got []*abci.RequestQuery
	inner := func(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		got = append(got, req)
		return &abci.ResponseQuery{Height: 3}, nil
	}
	now := time.Unix(1_800_000_000, 0)
	q := client.SignedQuery(inner, "chain-x", "regulator-auditor", edSigner(priv), func() time.Time { return now })
	if _, err := q(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: []byte("study/S"), Height: 3, Prove: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := q(context.Background(), &abci.RequestQuery{Path: "/p2p/filter/id/abc"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != types.QueryRead || got[1].Path != "/p2p/filter/id/abc" {
		t.Fatalf("inner queries %+v", got)
	}
	r, e := types.DecodeRead(got[0].Data)
	if e != nil {
		t.Fatal(e)
	}
	b := r.Body
	if b.ChainID != "chain-x" || b.Reader != "regulator-auditor" || b.Path != types.QueryKey || string(b.Data) != "study/S" ||
		b.Height != 3 || !b.Prove || b.Expires != now.Add(client.ReadTTL).Unix() {
		t.Fatalf("read body %+v", b)
	}
	if !r.VerifySignature(edSigner(priv).PubKey()) {
		t.Fatal("the request's signature does not verify with the reader's key")
	}
	// Each request has a nonce of its own.
	q(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: []byte("study/S")})
	r2, _ := types.DecodeRead(got[2].Data)
	if r2.Body.Nonce == b.Nonce {
		t.Fatal("two requests share a nonce")
	}
}
