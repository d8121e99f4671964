package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

const study = apptest.StudyID

// subjectsPrefix lists the example study's subjects.
var subjectsPrefix = types.PrefixSubject + study + "/"

// enrolled runs the example study in process with n subjects enrolled at
// site1, 200 per block, the first one's vital signs entered and
// corrected.
func enrolled(t *testing.T, n int) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudy()
	enroll(t, c, 0, n)
	vs := apptest.FormKey(subjectID(0), "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(128, 84)))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "71")))
	return c
}

func subjectID(i int) string { return fmt.Sprintf("S1-%05d", i+1) }

// enroll enrolls subjects from..to-1, 200 per block.
func enroll(t testing.TB, c *apptest.Chain, from, to int) {
	t.Helper()
	var txs [][]byte
	for i := from; i < to; i++ {
		txs = append(txs, c.Tx("site1-coordinator", apptest.EnrollMsg(subjectID(i), "site1")))
		if len(txs) == 200 || i == to-1 {
			for _, r := range c.Block(txs...) {
				if r.Code != 0 {
					t.Fatalf("enrolment refused: %s", r.Log)
				}
			}
			txs = txs[:0]
		}
	}
}

// hashes is the RootSource of an in-process chain: the app hash each
// height committed (what the header of the next block carries).
func hashes(c *apptest.Chain) client.RootSource {
	return func(_ context.Context, h int64) ([]byte, error) {
		if root, ok := c.Hashes[h]; ok {
			return root, nil
		}
		return nil, fmt.Errorf("no app hash for height %d", h)
	}
}

// counted counts the queries of each path q answers.
func counted(q client.QueryFunc, n map[string]int) client.QueryFunc {
	return func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		n[req.Path]++
		return q(ctx, req)
	}
}

func scanKeys(t *testing.T, r *client.Reader, prefix string) []string {
	t.Helper()
	var keys []string
	if err := r.Scan(context.Background(), prefix, func(e types.ListEntry) error {
		keys = append(keys, e.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestReaderPaging lists more than three pages of subjects, with and
// without proofs: every key once, in order, one /list query per page.
func TestReaderPaging(t *testing.T) {
	n := 2*types.MaxListLimit + 345
	c := enrolled(t, n)
	for _, prove := range []bool{false, true} {
		calls := map[string]int{}
		var roots client.RootSource
		if prove {
			roots = hashes(c)
		}
		r := client.NewReader(counted(c.App.TrustedQuery, calls), 0, roots)
		keys := scanKeys(t, r, subjectsPrefix)
		if len(keys) != n || keys[0] != subjectsPrefix+subjectID(0) || keys[n-1] != subjectsPrefix+subjectID(n-1) {
			t.Fatalf("prove=%v: %d keys, first %q, last %q", prove, len(keys), keys[0], keys[len(keys)-1])
		}
		for i := 1; i < n; i++ {
			if keys[i] <= keys[i-1] {
				t.Fatalf("prove=%v: %q after %q", prove, keys[i], keys[i-1])
			}
		}
		if calls[types.QueryList] != 3 || r.Height() != c.Height {
			t.Errorf("prove=%v: %d list queries, height %d (chain at %d)", prove, calls[types.QueryList], r.Height(), c.Height)
		}
		if proofs, _ := r.Proofs(); prove && (proofs != int64(n) || !bytes.Equal(r.AppHash(), c.AppHash)) {
			t.Errorf("%d proofs checked against %X, want %d against %X", proofs, r.AppHash(), n, c.AppHash)
		}
		// One page at a time, from a key on.
		page, more, err := r.List(context.Background(), subjectsPrefix, keys[10], 5)
		if err != nil || !more || len(page) != 5 || page[0].Key != keys[11] {
			t.Errorf("prove=%v: page after %s: %v %v %v", prove, keys[10], page, more, err)
		}
	}
	// The getters read through the same pages.
	r := client.NewReader(c.App.TrustedQuery, 0, hashes(c))
	subs, err := r.Subjects(context.Background(), study)
	if err != nil || len(subs) != n {
		t.Fatalf("Subjects: %d, %v", len(subs), err)
	}
	hist, err := r.FormHistory(context.Background(), apptest.FormKey(subjectID(0), "SCR", 1, "VS"))
	if err != nil || len(hist) != 2 || hist[0].Version != 1 || hist[1].Version != 2 {
		t.Errorf("FormHistory: %+v %v", hist, err)
	}
}

// TestReaderPinsHeight reads at the latest height while the chain moves
// on between pages: every page and key is read at the height of the first
// answer, and shows the ledger as it was then.
func TestReaderPinsHeight(t *testing.T) {
	n := types.MaxListLimit + 500
	c := enrolled(t, n)
	first := c.Height
	var heights []int64
	more := n
	moving := func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		heights = append(heights, req.Height)
		res, err := c.App.TrustedQuery(ctx, req)
		enroll(t, c, more, more+10) // a block after every answer
		more += 10
		return res, err
	}
	r := client.NewReader(moving, 0, hashes(c))
	keys := scanKeys(t, r, subjectsPrefix)
	if len(keys) != n || r.Height() != first || c.Height <= first {
		t.Fatalf("%d keys at height %d; want %d at %d (chain now at %d)", len(keys), r.Height(), n, first, c.Height)
	}
	st, err := r.Study(context.Background(), study)
	if err != nil || st.ID != study {
		t.Fatalf("study at the pinned height: %v", err)
	}
	if heights[0] != 0 {
		t.Errorf("first query at height %d, want 0 (latest)", heights[0])
	}
	for i, h := range heights[1:] {
		if h != first {
			t.Errorf("query %d at height %d, want %d", i+1, h, first)
		}
	}
	// A reader made for a past height reads that height.
	old := client.NewReader(c.App.TrustedQuery, first, hashes(c))
	if keys := scanKeys(t, old, subjectsPrefix); len(keys) != n {
		t.Errorf("%d subjects at height %d, want %d", len(keys), first, n)
	}
}

// TestReaderRefusesAnotherHeight: a transport that answers at another
// height than the reader's is refused, for a key and for a page.
func TestReaderRefusesAnotherHeight(t *testing.T) {
	c := enrolled(t, 3)
	latest := func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		r := *req
		r.Height = 0
		return c.App.TrustedQuery(ctx, &r)
	}
	ctx := context.Background()
	r := client.NewReader(latest, c.Height-1, nil)
	if _, err := r.Get(ctx, types.KeyStudy(study)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("answered at height %d, not at height %d", c.Height, c.Height-1)) {
		t.Errorf("key answered at the latest height: %v", err)
	}
	if _, _, err := r.List(ctx, subjectsPrefix, "", 0); err == nil || !strings.Contains(err.Error(), "not at height") {
		t.Errorf("page answered at the latest height: %v", err)
	}
	// Pinned at the first answer, refused once the chain moved on.
	r = client.NewReader(latest, 0, nil)
	if _, err := r.Get(ctx, types.KeyStudy(study)); err != nil {
		t.Fatal(err)
	}
	enroll(t, c, 3, 4)
	if _, err := r.Subjects(ctx, study); err == nil || !strings.Contains(err.Error(), "not at height") {
		t.Errorf("page after the chain moved on: %v", err)
	}
	if r.Height() != c.Height-1 {
		t.Errorf("reader at height %d, want %d", r.Height(), c.Height-1)
	}
}

// tamper returns the chain's query function with edit applied to its
// answers.
func tamper(c *apptest.Chain, edit func(req *abci.RequestQuery, res *abci.ResponseQuery)) client.QueryFunc {
	return func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		res, err := c.App.TrustedQuery(ctx, req)
		if err == nil {
			edit(req, res)
		}
		return res, err
	}
}

// editList applies edit to the entries of every /list answer.
func editList(c *apptest.Chain, edit func(lr *types.ListResponse)) client.QueryFunc {
	return tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) {
		if req.Path != types.QueryList {
			return
		}
		var lr types.ListResponse
		if err := json.Unmarshal(res.Value, &lr); err != nil {
			panic(err)
		}
		edit(&lr)
		res.Value, _ = json.Marshal(lr)
	})
}

// TestReaderProofs: with proofs, values and absences that match the app
// hash are read; a changed value, a dropped or substituted proof, an
// absence claimed for a record that exists, an entry slipped into a
// listing and another height's app hash are each refused as not proven.
func TestReaderProofs(t *testing.T) {
	c := enrolled(t, 5)
	ctx := context.Background()
	key := types.KeySubject(study, subjectID(2))
	absent := types.KeySubject(study, "S1-99999")

	r := client.NewReader(c.App.TrustedQuery, 0, hashes(c))
	v, err := r.Get(ctx, key)
	if err != nil || !bytes.Contains(v, []byte(subjectID(2))) {
		t.Fatalf("proven read: %q %v", v, err)
	}
	if v, err := r.Get(ctx, absent); err != nil || v != nil {
		t.Fatalf("proven absence: %q %v", v, err)
	}
	if _, err := r.Subject(ctx, study, "S1-99999"); err == nil || !strings.Contains(err.Error(), "is not enrolled") {
		t.Errorf("absent subject: %v", err)
	}

	absenceProof := c.Query(types.QueryKey, absent, 0, true).ProofOps
	for name, q := range map[string]client.QueryFunc{
		"changed value": tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) {
			res.Value = bytes.Replace(res.Value, []byte("site1"), []byte("site2"), 1)
		}),
		"no proof": tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) { res.ProofOps = nil }),
		"flipped proof byte": tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) {
			res.ProofOps.Ops[0].Data[len(res.ProofOps.Ops[0].Data)/2] ^= 0x55
		}),
		"absence claimed": tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) {
			res.Value, res.ProofOps = nil, absenceProof
		}),
		"absence without its proof": tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) { res.Value = nil }),
	} {
		_, err := client.NewReader(q, 0, hashes(c)).Get(ctx, key)
		if !errors.Is(err, client.ErrProof) {
			t.Errorf("%s: %v", name, err)
		}
	}

	listed := c.Query(types.QueryKey, key, 0, true)
	for name, q := range map[string]client.QueryFunc{
		"changed entry": editList(c, func(lr *types.ListResponse) {
			lr.Entries[1].Value = bytes.Replace(lr.Entries[1].Value, []byte("site1"), []byte("site2"), 1)
		}),
		"entry without proof":    editList(c, func(lr *types.ListResponse) { lr.Entries[3].Proof = nil }),
		"proof of another entry": editList(c, func(lr *types.ListResponse) { lr.Entries[0].Proof = lr.Entries[1].Proof }),
		"entry slipped in with an absence proof": editList(c, func(lr *types.ListResponse) {
			fake := types.ListEntry{Key: string(absent), Value: nil, Proof: absenceProof.Ops[0].Data}
			lr.Entries = append(lr.Entries, fake)
		}),
		"entry slipped in with another's proof": editList(c, func(lr *types.ListResponse) {
			fake := types.ListEntry{Key: string(absent), Value: listed.Value, Proof: listed.ProofOps.Ops[0].Data}
			lr.Entries = append(lr.Entries, fake)
		}),
	} {
		err := client.NewReader(q, 0, hashes(c)).Scan(ctx, subjectsPrefix, func(types.ListEntry) error { return nil })
		if !errors.Is(err, client.ErrProof) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// The app hash of another height proves nothing at this one.
	r = client.NewReader(c.App.TrustedQuery, c.Height, client.FixedRoot(c.Height, c.Hashes[c.Height-1]))
	if _, err := r.Get(ctx, key); !errors.Is(err, client.ErrProof) {
		t.Errorf("another height's app hash: %v", err)
	}
	r = client.NewReader(c.App.TrustedQuery, c.Height, client.FixedRoot(c.Height-1, c.Hashes[c.Height-1]))
	if _, err := r.Get(ctx, key); err == nil || !strings.Contains(err.Error(), "is not known") {
		t.Errorf("a root source of another height: %v", err)
	}
	// Without proofs the same tampering goes through: proofs are what
	// catch it.
	v, err = client.NewReader(tamper(c, func(req *abci.RequestQuery, res *abci.ResponseQuery) { res.Value = []byte(`{}`) }), 0, nil).Get(ctx, key)
	if err != nil || string(v) != `{}` {
		t.Errorf("unproven read: %q %v", v, err)
	}
}

// TestReaderRefusesDisorder: a listing out of key order or outside its
// prefix is refused, proofs or not.
func TestReaderRefusesDisorder(t *testing.T) {
	c := enrolled(t, 4)
	for name, q := range map[string]client.QueryFunc{
		"out of order": editList(c, func(lr *types.ListResponse) { lr.Entries[1], lr.Entries[2] = lr.Entries[2], lr.Entries[1] }),
		"outside the prefix": editList(c, func(lr *types.ListResponse) {
			lr.Entries = append(lr.Entries, types.ListEntry{Key: "zzz", Value: []byte("{}")})
		}),
	} {
		if _, err := client.NewReader(q, 0, nil).Subjects(context.Background(), study); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestMemQuery: records held in memory read like the App's, page by page,
// at their one height, without proofs.
func TestMemQuery(t *testing.T) {
	n := types.MaxListLimit + 20
	c := enrolled(t, n)
	ctx := context.Background()
	records := map[string][]byte{}
	if err := client.NewReader(c.App.TrustedQuery, c.Height, nil).Scan(ctx, types.PrefixSubject, func(e types.ListEntry) error {
		records[e.Key] = e.Value
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := client.NewReader(client.MemQuery(c.Height, records), 0, nil)
	keys := scanKeys(t, m, subjectsPrefix)
	if len(keys) != n || m.Height() != c.Height {
		t.Fatalf("%d keys at height %d, want %d at %d", len(keys), m.Height(), n, c.Height)
	}
	for _, after := range []string{"", "a", subjectsPrefix + subjectID(7), "zzz"} {
		want, wmore, err1 := client.NewReader(c.App.TrustedQuery, c.Height, nil).List(ctx, subjectsPrefix, after, 3)
		got, gmore, err2 := m.List(ctx, subjectsPrefix, after, 3)
		if err1 != nil || err2 != nil || wmore != gmore || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after %q: %v %v (%v), want %v %v (%v)", after, got, gmore, err2, want, wmore, err1)
		}
	}
	if v, err := m.Get(ctx, types.KeySubject(study, subjectID(3))); err != nil || !bytes.Equal(v, records[subjectsPrefix+subjectID(3)]) {
		t.Errorf("get: %q %v", v, err)
	}
	if _, err := client.NewReader(client.MemQuery(c.Height, records), c.Height-1, nil).Get(ctx, []byte("x")); err == nil {
		t.Error("another height served from memory")
	}
	if _, err := client.NewReader(client.MemQuery(c.Height, records), 0, client.FixedRoot(c.Height, c.AppHash)).Get(ctx, []byte("x")); err == nil {
		t.Error("a proof served from memory")
	}
}
