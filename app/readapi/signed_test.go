package readapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/light/provider"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// accessLog is an access log that keeps its entries in memory, or fails
// while fail is set.
type accessLog struct {
	mu      sync.Mutex
	entries []types.AccessEntry
	fail    error
}

func (l *accessLog) Record(e types.AccessEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.entries = append(l.entries, e)
	return nil
}

func (l *accessLog) setFail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = err
}

// last returns the last entry recorded for reader on path.
func (l *accessLog) last(t *testing.T, reader, path string) types.AccessEntry {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.entries) - 1; i >= 0; i-- {
		if e := l.entries[i]; e.Reader == reader && e.Path == path {
			return e
		}
	}
	t.Fatalf("no access log entry of %s on %s", reader, path)
	return types.AccessEntry{}
}

// signedBody is a read request of reader for path and data, signed with
// reader's test key.
func signedBody(t *testing.T, reader, path string, data []byte) []byte {
	t.Helper()
	nonce := make([]byte, 16)
	rand.Read(nonce)
	raw, err := types.SignRead(types.ReadBody{V: types.ReadVersion, ChainID: apptest.ChainID, Reader: reader, Nonce: hex.EncodeToString(nonce),
		Expires: time.Now().Unix() + 60, Path: path, Data: data}, person(reader).Sign)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// send has signer send msg through the API and wait for its block.
func (tn *testNode) send(signer string, msg types.Msg) *client.Result {
	tn.t.Helper()
	res, err := tn.client(signer).Send(context.Background(), signer, person(signer), msg)
	if err != nil || !res.OK() {
		tn.t.Fatalf("%s: %+v %v", signer, res, err)
	}
	return res
}

// TestSignedEndpoints: the API's own requests (status, a tx's status,
// light blocks, the txs of a range of blocks, evidence) are answered to
// an authenticated member only, with what the read policy lets it see;
// each, answered or refused, is in the access log, and an answer the log
// cannot record is not given.
func TestSignedEndpoints(t *testing.T) {
	log := &accessLog{}
	tn := startNode(t, log)
	ctx := context.Background()
	study := apptest.StudyID
	var sent []string
	for _, tx := range []struct {
		signer string
		msg    types.Msg
	}{
		{"sponsor-dm", apptest.RegisterMsg(apptest.Example())},
		{"sponsor-dm", apptest.DelegateStudyMsg(study, "cro", apptest.CROTasks...)},
		{"sponsor-dm", apptest.ActivateMsg(study, "site1", "site1-investigator")},
		{"sponsor-dm", apptest.ActivateMsg(study, "site2", "site2-investigator")},
		{"site1-investigator", apptest.DelegateSiteMsg(study, "site1", "site1-coordinator", apptest.CoordinatorTasks...)},
		{"site2-investigator", apptest.DelegateSiteMsg(study, "site2", "site2-coordinator", apptest.CoordinatorTasks...)},
		{"site1-coordinator", apptest.EnrollMsg("S1-001", "site1")},
		{"site2-coordinator", apptest.EnrollMsg("S2-001", "site2")},
	} {
		sent = append(sent, tn.send(tx.signer, tx.msg).Hash)
	}
	site2Enrol := sent[7]

	t.Run("status", func(t *testing.T) {
		st, err := tn.client("site1-coordinator").Status(ctx)
		if err != nil || st.ChainID != apptest.ChainID || st.Height < 2 || len(st.Validators) != 1 {
			t.Fatalf("status: %+v %v", st, err)
		}
		if e := log.last(t, "site1-coordinator", types.ReadStatus); e.Code != 0 || e.Org != "site1" || e.Height < st.Height {
			t.Errorf("access log: %+v", e)
		}
		// An account the ledger does not know reads nothing.
		cl, _ := client.New(tn.URL)
		stranger := &apptest.Person{ID: "stranger", Key: apptest.KeyFor("stranger")}
		cl.ReadAs("stranger", func() (types.Signer, error) { return stranger, nil })
		var ae *client.APIError
		if _, err := cl.Status(ctx); !errors.As(err, &ae) || ae.Code != types.CodeReadUnknown || ae.Status != http.StatusUnauthorized {
			t.Fatalf("a stranger's status: %v", err)
		}
		if e := log.last(t, "stranger", types.ReadStatus); e.Code != types.CodeReadUnknown {
			t.Errorf("access log of the stranger: %+v", e)
		}
	})

	t.Run("tx status", func(t *testing.T) {
		for _, reader := range []string{"site2-coordinator", "sponsor-dm", "cro-monitor"} {
			r, err := tn.client(reader).Tx(ctx, site2Enrol)
			if err != nil || r.Hash != site2Enrol || !r.OK() || r.Height < 2 {
				t.Errorf("%s reads the status of site2's enrolment: %+v %v", reader, r, err)
			}
		}
		// Another site's coordinator is answered as if no block held it,
		// and the log says why.
		if r, err := tn.client("site1-coordinator").Tx(ctx, site2Enrol); !errors.Is(err, client.ErrTxNotFound) {
			t.Errorf("site1 reads the status of site2's enrolment: %+v %v", r, err)
		}
		if e := log.last(t, "site1-coordinator", types.ReadTxStatus); e.Code != types.CodeReadNotVisible || e.Scope != site2Enrol || e.Records != 0 {
			t.Errorf("access log: %+v", e)
		}
		absent := strings.Repeat("AB", 32)
		if _, err := tn.client("sponsor-dm").Tx(ctx, absent); !errors.Is(err, client.ErrTxNotFound) {
			t.Errorf("an absent tx: %v", err)
		}
		if e := log.last(t, "sponsor-dm", types.ReadTxStatus); e.Code != types.CodeReadNotFound || e.Scope != absent {
			t.Errorf("access log: %+v", e)
		}
	})

	t.Run("txs", func(t *testing.T) {
		read := func(reader string) []string {
			t.Helper()
			var hashes []string
			cl := tn.client(reader)
			r := client.TxRange{From: 1}
			for {
				page, err := cl.Txs(ctx, r)
				if err != nil {
					t.Fatalf("%s: %v", reader, err)
				}
				for i := range page.Blocks {
					b := &page.Blocks[i]
					header, next, err := b.Headers()
					if err == nil {
						err = b.Verify(header, next)
					}
					if err != nil || next == nil && b.Height < page.Latest {
						t.Fatalf("%s: block %d: %v (next header %v)", reader, b.Height, err, next != nil)
					}
					for _, tx := range b.Txs {
						hashes = append(hashes, tx.Hash)
					}
				}
				if page.Next == 0 {
					return hashes
				}
				r = client.TxRange{From: page.Next, To: page.To}
			}
		}
		if got := read("sponsor-dm"); !slices.Equal(got, sent) {
			t.Errorf("the sponsor sees txs\n%v\nwant\n%v", got, sent)
		}
		// site1 sees the study's registration, its own activation,
		// delegation and subject; nothing of site2, nor the CRO's
		// delegation.
		want := []string{sent[0], sent[2], sent[4], sent[6]}
		if got := read("site1-coordinator"); !slices.Equal(got, want) {
			t.Errorf("site1 sees txs\n%v\nwant\n%v", got, want)
		}
		if e := log.last(t, "site1-coordinator", types.ReadTxs); e.Code != 0 || e.Records != len(want) || !strings.Contains(e.Scope, `"from":1`) {
			t.Errorf("access log: %+v", e)
		}
	})

	t.Run("light block", func(t *testing.T) {
		cl := tn.client("site2-coordinator")
		lb, err := cl.LightBlock(ctx, 2)
		if err != nil || lb.Height != 2 {
			t.Fatalf("light block 2: %v", err)
		}
		if err := lb.ValidatorSet.VerifyCommitLight(apptest.ChainID, lb.Commit.BlockID, 2, lb.Commit); err != nil {
			t.Errorf("light block 2 is not signed by its validators: %v", err)
		}
		if _, err := cl.LightBlock(ctx, 1_000_000); !errors.Is(err, provider.ErrHeightTooHigh) {
			t.Errorf("a height not yet made: %v", err)
		}
		if e := log.last(t, "site2-coordinator", types.ReadLightBlock); e.Code != types.CodeReadNotFound || e.Scope != "1000000" {
			t.Errorf("access log: %+v", e)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		codeOf := func(doc map[string]any) types.Code { return types.Code(doc["code"].(float64)) }
		// A request names the endpoint's path: a status request posted
		// to /v1/txs is refused without spending its nonce.
		body := signedBody(t, "site1-coordinator", types.ReadStatus, nil)
		if st, _, doc := call(t, http.MethodPost, tn.URL+client.APITxs, "application/json", body); st != http.StatusBadRequest || codeOf(doc) != types.CodeReadMalformed {
			t.Errorf("a status request to /v1/txs: %d %v", st, doc)
		}
		if st, _, doc := call(t, http.MethodPost, tn.URL+client.APIStatus, "application/json", body); st != http.StatusOK || doc["chain_id"] != apptest.ChainID {
			t.Errorf("the same request to /v1/status: %d %v", st, doc)
		}
		// A request is answered once.
		if st, _, doc := call(t, http.MethodPost, tn.URL+client.APIStatus, "application/json", body); st != http.StatusUnauthorized || codeOf(doc) != types.CodeReadReplayed {
			t.Errorf("a replayed request: %d %v", st, doc)
		}
		for _, c := range []struct {
			path, inner, data string
			say               string
		}{
			{client.APITxStatus, types.ReadTxStatus, "S2-001", "64 hex characters"},
			{client.APILightBlock, types.ReadLightBlock, "-1", "a height in decimal"},
			{client.APITxs, types.ReadTxs, `{"from":9,"to":3}`, "not a range of heights"},
			{client.APIEvidence, types.ReadEvidence, "not evidence", "CometBFT Evidence"},
		} {
			st, _, doc := call(t, http.MethodPost, tn.URL+c.path, "application/json", signedBody(t, "sponsor-dm", c.inner, []byte(c.data)))
			if st != http.StatusBadRequest || codeOf(doc) != types.CodeReadMalformed || !strings.Contains(doc["log"].(string), c.say) {
				t.Errorf("%s %q: %d %v", c.path, c.data, st, doc)
			}
		}
		// An answer the access log cannot record is not given.
		log.setFail(errors.New("disk full"))
		st, _, doc := call(t, http.MethodPost, tn.URL+client.APILightBlock, "application/json", signedBody(t, "sponsor-dm", types.ReadLightBlock, []byte(strconv.Itoa(1))))
		log.setFail(nil)
		if st != http.StatusInternalServerError || codeOf(doc) != types.CodeInternal || doc["light_block"] != nil {
			t.Errorf("an answer the log cannot record: %d %v", st, doc)
		}
	})
}
