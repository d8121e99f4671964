package client_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
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

// TestReaderSignedByTheReader reads an in-process node through
// SignedQuery as different people: each reads what the read policy gives
// it, with proofs, and a record it may not read is reported as missing or
// not its to read, with the node's refusal.
func TestReaderSignedByTheReader(t *testing.T) {
	c := enrolled(t, 3)
	as := func(reader string) *client.Reader {
		q := client.SignedQuery(c.App.Query, apptest.ChainID, reader, c.Person(reader), nil)
		return client.NewReader(q, 0, hashes(c))
	}
	if s, err := as("site1-coordinator").Subject(context.Background(), study, subjectID(0)); err != nil || s.Site != "site1" {
		t.Fatalf("the site reads its subject: %+v, %v", s, err)
	}
	if subjects, err := as("regulator-auditor").Subjects(context.Background(), study); err != nil || len(subjects) != 3 {
		t.Fatalf("the regulator lists the study's subjects: %d, %v", len(subjects), err)
	}
	if subjects, err := as("site2-coordinator").Subjects(context.Background(), study); err != nil || len(subjects) != 0 {
		t.Fatalf("a site not in the study lists its subjects: %d, %v", len(subjects), err)
	}
	_, err := as("site2-coordinator").Study(context.Background(), study)
	var ref *client.Refusal
	if !errors.As(err, &ref) || ref.Code != types.CodeReadNotVisible || !strings.Contains(err.Error(), "is not registered, or you may not read it") {
		t.Fatalf("a site not in the study reads it: %v", err)
	}
	unsigned := client.NewReader(c.App.Query, 0, nil)
	if _, err := unsigned.Get(context.Background(), types.KeyStudy(study)); !errors.As(err, &ref) || ref.Code != types.CodeReadUnsigned {
		t.Fatalf("an unsigned read: %v", err)
	}
}
