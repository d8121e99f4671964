package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// accessRecorder is an access log that keeps its entries in memory, or
// fails while fail is set.
type accessRecorder struct {
	mu      sync.Mutex
	entries []types.AccessEntry
	fail    error
}

func (r *accessRecorder) Record(e types.AccessEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.entries = append(r.entries, e)
	return nil
}

func (r *accessRecorder) take() []types.AccessEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.entries
	r.entries = nil
	return out
}

// refused checks that res refuses a read with code want and carries
// nothing of the ledger: no value, key or proof, and no mention of key.
func refused(t *testing.T, what string, res *abci.ResponseQuery, want types.Code, key []byte) {
	t.Helper()
	if types.Code(res.Code) != want {
		t.Errorf("%s: code %d (%s), want %d (%s)", what, res.Code, res.Log, want, want)
	}
	if res.Value != nil || res.Key != nil || res.ProofOps != nil || strings.Contains(res.Log, string(key)) || res.Log == "" {
		t.Errorf("%s: the refusal carries data or no reason: %+v", what, res)
	}
}

// TestReadRefusals: every way a read request can be refused, each with
// its code and nothing of the ledger in the answer.
func TestReadRefusals(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.ActivateSite("site2")
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	key := types.KeySubject(study, "S1-001")
	now := time.Now()
	body := func(reader string) types.ReadBody { return c.ReadBody(reader, types.QueryKey, key, 0, true) }
	sign := func(reader string, edit func(*types.ReadBody)) []byte {
		b := body(reader)
		edit(&b)
		return c.SignRead(reader, b)
	}

	// The key rotated out: the investigator rotates its own key.
	oldKey := c.Person("site1-investigator")
	newKey := &apptest.Person{ID: oldKey.ID, Org: oldKey.Org, Name: oldKey.Name, Roles: oldKey.Roles, Key: apptest.KeyFor("investigator-next")}
	c.MustDo("site1-investigator", rotateMsg("site1-investigator", newKey.PubKey()))
	rotated := c.SignRead("site1-investigator", body("site1-investigator"))
	c.AddPerson(newKey)
	// A revoked account, and an organisation suspended by the consortium.
	c.MustDo("sponsor-admin", revokeMsg("sponsor-mm", "left the company"))
	n := proposeOK(t, c, "sponsor-admin", suspend("site2"))
	votes(t, c, n, "sponsor", "site1", "cro", "regulator")
	ghost := &apptest.Person{ID: "ghost", Org: "site1", Key: apptest.KeyFor("ghost")}
	c.AddPerson(ghost)

	valid := sign("site1-coordinator", func(*types.ReadBody) {})
	notCanonical := append([]byte(" "), sign("site1-coordinator", func(*types.ReadBody) {})...)
	wrongKey := body("site1-coordinator")
	forged, err := types.SignRead(wrongKey, c.Person("site1-investigator").Sign)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want types.Code
	}{
		{"not JSON", []byte("{"), types.CodeReadMalformed},
		{"not canonical", notCanonical, types.CodeReadMalformed},
		{"bad nonce", sign("site1-coordinator", func(b *types.ReadBody) { b.Nonce = "xyz" }), types.CodeReadMalformed},
		{"another path", sign("site1-coordinator", func(b *types.ReadBody) { b.Path = "/p2p/filter/id/x" }), types.CodeReadMalformed},
		{"a path of the read API", sign("site1-coordinator", func(b *types.ReadBody) { b.Path = types.ReadTxs }), types.CodeReadMalformed},
		{"wrong chain", sign("site1-coordinator", func(b *types.ReadBody) { b.ChainID = "other-chain" }), types.CodeReadWrongChain},
		{"expired", sign("site1-coordinator", func(b *types.ReadBody) { b.Expires = now.Unix() - 5 }), types.CodeReadExpired},
		{"too far ahead", sign("site1-coordinator", func(b *types.ReadBody) { b.Expires = now.Unix() + types.MaxReadTTL + 60 }), types.CodeReadExpired},
		{"unknown reader", sign("ghost", func(*types.ReadBody) {}), types.CodeReadUnknown},
		{"revoked reader", sign("sponsor-mm", func(*types.ReadBody) {}), types.CodeReadUnknown},
		{"suspended organisation", sign("site2-coordinator", func(*types.ReadBody) {}), types.CodeReadUnknown},
		{"signed by another key", forged, types.CodeReadBadSig},
		{"rotated-out key", rotated, types.CodeReadBadSig},
		{"hidden key", sign("regulator-auditor", func(b *types.ReadBody) { b.Data = types.KeyNonce(1, "x", "y") }), types.CodeReadNotVisible},
		{"valid", valid, types.CodeOK},
		{"replayed", valid, types.CodeReadReplayed},
		{"the new key", sign("site1-investigator", func(*types.ReadBody) {}), types.CodeOK},
	} {
		res := c.ReadRaw(tc.raw)
		if tc.want == types.CodeOK {
			if res.Code != 0 || res.Value == nil {
				t.Errorf("%s: code %d (%s)", tc.name, res.Code, res.Log)
			}
			continue
		}
		refused(t, tc.name, res, tc.want, key)
	}

	// /key and /list outside a signed request are refused.
	for _, q := range []abci.RequestQuery{
		{Path: types.QueryKey, Data: key, Prove: true},
		{Path: types.QueryList, Data: []byte(`{"prefix":"subj/"}`)},
	} {
		res, err := c.App.Query(context.Background(), &q)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "unsigned "+q.Path, res, types.CodeReadUnsigned, key)
	}
	res, err := c.App.Query(context.Background(), &abci.RequestQuery{Path: "/store/acc/key", Data: key})
	if err != nil {
		t.Fatal(err)
	}
	refused(t, "unknown path", res, types.CodeInvalidMsg, key)
}

// TestReadAuthenticate: App.Authenticate accepts a valid request once and
// names its reader; a Viewer answers as Query does.
func TestReadAuthenticate(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	raw := c.SignRead("site1-coordinator", c.ReadBody("site1-coordinator", types.QueryKey, types.KeyStudy(study), 0, false))
	r, e := c.App.Authenticate(raw, time.Now())
	if e != nil || r.Account.ID != "site1-coordinator" || r.Org.ID != "site1" || r.Body.Reader != "site1-coordinator" {
		t.Fatalf("Authenticate: %+v, %v", r, e)
	}
	if r, e := c.App.Authenticate(raw, time.Now()); r != nil || e == nil || e.Code != types.CodeReadReplayed {
		t.Fatalf("the same request again: %+v, %v", r, e)
	}
	if r, e := c.App.Authenticate(raw[1:], time.Now()); r != nil || e == nil || e.Code != types.CodeReadMalformed {
		t.Fatalf("a broken request: %+v, %v", r, e)
	}
	v := c.App.Viewer(r)
	s1 := apptest.FormKey("S1-001", "SCR", 1, "VS")
	for _, tc := range []struct {
		name string
		key  []byte
		msg  types.Msg
		want bool
	}{
		{"own subject", types.KeySubject(study, "S1-001"), apptest.SubmitMsg(s1, apptest.VS(120, 80)), true},
		{"another site's subject", types.KeySubject(study, "S7-777"), apptest.EnrollMsg("S7-777", "site2"), false},
		{"query on own subject", types.KeyQuery(study, 99), apptest.QueryMsg(types.KindQueryAnswer, 99, "x"), false},
		{"open a query on own form", types.KeyForm(s1), apptest.OpenQueryMsg(s1, "", "x"), true},
		{"the study", types.KeyStudy(study), apptest.AmendMsg(apptest.Example(), "x"), true},
		{"the reference ranges", types.KeyLabRanges(study, 1), apptest.SetLabRangesMsg(apptest.LabRanges(), "x"), true},
		{"assess a lab value of own form", types.KeyLabAssessments(s1, "LB.K", 0), apptest.AssessLabMsg(s1, "LB.K", 0, 1, false, ""), true},
		{"assess a lab value of another site's form", types.KeyLabAssessments(apptest.FormKey("S7-777", "SCR", 1, "LB"), "LB.K", 0), apptest.AssessLabMsg(apptest.FormKey("S7-777", "SCR", 1, "LB"), "LB.K", 0, 1, false, ""), false},
		{"register an allocation list", types.KeyRandStratum(study, "site1+SBP-LT160"), apptest.RegisterAllocationsMsg("site1+SBP-LT160", 1, strings.Repeat("a", 64)), false},
		{"randomise own subject", types.KeyAllocation(study, "S1-001"), apptest.RandomizeMsg("S1-001"), true},
		{"unblind own subject", types.KeyAllocation(study, "S1-001"), apptest.UnblindMsg("S1-001", "x"), true},
		{"randomise another site's subject", types.KeyAllocation(study, "S7-777"), apptest.RandomizeMsg("S7-777"), false},
		{"publish allocations", types.KeyRandStratum(study, "site1+SBP-LT160"), apptest.PublishMsg(types.AllocationReveal{Stratum: "site1+SBP-LT160", Seq: 1}), false},
		{"a CRO delegation", types.KeyStudyDelegation(study, "cro"), apptest.DelegateStudyMsg(study, "cro", apptest.CROTasks...), false},
		{"own site's delegation log", types.KeySiteDelegation(study, "site1", "site1-coordinator"), apptest.DelegateSiteMsg(study, "site1", "site1-coordinator", types.TaskEntry), true},
		{"a study lock", types.KeyLock(types.Scope{Study: study}), apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study}, ""), true},
		{"another site's lock", types.KeyLock(types.Scope{Study: study, Site: "site2"}), apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Site: "site2"}, ""), false},
		{"governance", types.KeyGovernance, proposeMsg(suspend("site2"), "x"), true},
		{"a colleague", types.KeyAccount("site1-admin"), revokeMsg("site1-admin", "x"), true},
		{"a person of no shared study", types.KeyAccount("nobody"), addMsg("nobody", "Nobody", apptest.KeyFor("nobody")[32:], types.RoleAdmin), false},
	} {
		if got := v.SeesKey(tc.key); got != tc.want {
			t.Errorf("%s: SeesKey %v, want %v", tc.name, got, tc.want)
		}
		if got := v.SeesTx(&tc.msg); got != tc.want {
			t.Errorf("%s: SeesTx %v, want %v", tc.name, got, tc.want)
		}
	}
	if v.SeesTx(&types.Msg{}) {
		t.Error("a tx without a message is visible")
	}
	if v.SeesTx(&types.Msg{PublishAllocations: &types.MsgPublishAllocations{Study: study}}) {
		t.Error("a publication without entries is visible")
	}
}

// TestReadAccessLog: every read answered or refused is recorded with its
// reader, organisation, path, scope, height, records and code; a read the
// log cannot record is not answered.
func TestReadAccessLog(t *testing.T) {
	log := &accessRecorder{}
	c := apptest.NewWithConfig(t, apptest.DefaultGenesis(), app.Config{Access: log})
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	log.take()
	subj := types.KeySubject(study, "S1-001")
	prefix := types.PrefixSubject + study + "/"
	listing, _ := json.Marshal(types.ListRequest{Prefix: prefix})
	ghost := &apptest.Person{ID: "ghost", Org: "site1", Key: apptest.KeyFor("ghost")}
	c.AddPerson(ghost)
	forged, err := types.SignRead(c.ReadBody("site1-coordinator", types.QueryKey, subj, 0, false), ghost.Sign)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.Read("site1-coordinator", types.QueryKey, subj, 0, true)
	c.Read("sponsor-dm", types.QueryKey, types.KeySubject(study, "S9-999"), c.Height-1, false)
	c.Read("site1-coordinator", types.QueryList, listing, 0, false)
	c.Read("site2-coordinator", types.QueryKey, subj, 0, false)
	c.ReadRaw([]byte("garbage"))
	c.Read("ghost", types.QueryKey, subj, 0, false)
	c.ReadRaw(forged)
	if _, err := c.App.Query(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: subj, Height: 3}); err != nil {
		t.Fatal(err)
	}
	h := c.Height
	want := []types.AccessEntry{
		{Reader: "site1-coordinator", Org: "site1", Path: types.QueryKey, Scope: string(subj), Height: h, Records: 1},
		{Reader: "sponsor-dm", Org: "sponsor", Path: types.QueryKey, Scope: "subj/" + study + "/S9-999", Height: h - 1},
		{Reader: "site1-coordinator", Org: "site1", Path: types.QueryList, Scope: prefix, Height: h, Records: 1},
		{Reader: "site2-coordinator", Org: "site2", Path: types.QueryKey, Scope: string(subj), Height: h, Code: types.CodeReadNotVisible},
		{Path: types.QueryRead, Code: types.CodeReadMalformed},
		{Reader: "ghost", Path: types.QueryKey, Scope: string(subj), Code: types.CodeReadUnknown},
		{Reader: "site1-coordinator", Org: "site1", Path: types.QueryKey, Scope: string(subj), Code: types.CodeReadBadSig},
		{Path: types.QueryKey, Scope: string(subj), Height: 3, Code: types.CodeReadUnsigned},
	}
	got := log.take()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		at, err := time.Parse(time.RFC3339Nano, got[i].Time)
		if err != nil || at.Before(start.Add(-time.Second)) || at.After(time.Now()) || !strings.HasSuffix(got[i].Time, "Z") {
			t.Errorf("entry %d: time %q", i, got[i].Time)
		}
		got[i].Time = ""
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	log.mu.Lock()
	log.fail = errors.New("disk full")
	log.mu.Unlock()
	refused(t, "answered while the log fails", c.Read("site1-coordinator", types.QueryKey, subj, 0, true), types.CodeInternal, subj)
	refused(t, "refused while the log fails", c.Read("site2-coordinator", types.QueryKey, subj, 0, true), types.CodeReadNotVisible, subj)
}

// TestConcurrentSignedReads sends signed reads on other goroutines while
// blocks execute and commit, and the same request from many goroutines at
// once: every read is answered, and each request exactly once. Run it
// with -race.
func TestConcurrentSignedReads(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	const readers, perReader, blocks = 4, 60, 10
	reqs := make([][][]byte, readers)
	for i := range reqs {
		for j := 0; j < perReader; j++ {
			key := types.KeyAccount("site1-coordinator")
			path, data := types.QueryKey, key
			if j%3 == 0 {
				path, data = types.QueryList, []byte(`{"prefix":"subj/`+study+`/","limit":5,"prove":true}`)
			}
			reqs[i] = append(reqs[i], c.SignRead("site1-coordinator", c.ReadBody("site1-coordinator", path, data, 0, true)))
		}
	}
	same := c.SignRead("site1-coordinator", c.ReadBody("site1-coordinator", types.QueryKey, types.KeyStudy(study), 0, false))
	var txs [][][]byte
	for b := 0; b < blocks; b++ {
		var block [][]byte
		for i := 0; i < 5; i++ {
			block = append(block, c.Tx("site1-coordinator", apptest.EnrollMsg(subjectID(b*5+i), "site1")))
		}
		txs = append(txs, block)
	}

	ctx := context.Background()
	errs := make(chan string, readers*perReader+64)
	codes := make(chan types.Code, 16)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, raw := range reqs[i] {
				res, err := c.App.Query(ctx, &abci.RequestQuery{Path: types.QueryRead, Data: raw})
				if err != nil || res.Code != 0 || res.Value == nil || res.Height < 1 {
					errs <- "signed read while blocks commit: " + res.Log
				}
			}
		}()
	}
	for i := 0; i < cap(codes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := c.App.Query(ctx, &abci.RequestQuery{Path: types.QueryRead, Data: same})
			codes <- types.Code(res.Code)
		}()
	}
	for _, block := range txs {
		for _, r := range c.Block(block...) {
			if r.Code != 0 {
				t.Fatalf("block %d: %s", c.Height, r.Log)
			}
		}
	}
	wg.Wait()
	close(errs)
	close(codes)
	for e := range errs {
		t.Error(e)
	}
	answered := 0
	for code := range codes {
		switch code {
		case types.CodeOK:
			answered++
		case types.CodeReadReplayed:
		default:
			t.Errorf("the same request at once: code %d", code)
		}
	}
	if answered != 1 {
		t.Errorf("the same request sent %d times at once was answered %d times", cap(codes), answered)
	}
}
