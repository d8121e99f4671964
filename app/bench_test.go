package app_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// Benchmarks of the figures. The store is prefilled once per
// process with VERITRIAL_BENCH_PREFILL item values (default 100,000; the
// issue's figure uses 1,000,000) as adverse event forms of two rows of
// AE.LOG (apptest.AE: 18 items, 19 in the one form in ten with a serious
// row) at unscheduled visits.
//
//	VERITRIAL_BENCH_PREFILL=1000000 go test ./app -run '^$' -bench FinalizeCommit1000 -benchtime 5x -timeout 60m

const (
	benchBlock       = 1000
	maxValuesPerForm = 20 // two serious rows
	formsPerSubject  = 200
	benchSubjectSite = "site1"
)

type benchFixture struct {
	c       *apptest.Chain
	dir     string
	values  int // item values stored
	subject int // next subject number
	repeat  int // next UNS repeat of the current subject
	// serious makes every row of the forms serious (apptest.SeriousAE)
	// instead of one in 20 (apptest.AE).
	serious bool
	err     error
}

var (
	benchOnce sync.Once
	bench     *benchFixture
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bench != nil {
		_ = bench.c.App.Close()
		_ = os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func prefillTarget() int {
	if s := os.Getenv("VERITRIAL_BENCH_PREFILL"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && n >= 0 {
			return n
		}
	}
	return 100_000
}

// nextForms signs n AE submissions for new forms, enrolling subjects as
// needed (the enrolments are committed in their own block first), and
// returns them with the number of item values they hold.
func (f *benchFixture) nextForms(b testing.TB, n int) ([][]byte, int) {
	var enroll, txs [][]byte
	values := 0
	ae := apptest.AE
	if f.serious {
		ae = apptest.SeriousAE
	}
	for i := 0; i < n; i++ {
		if f.repeat == 0 || f.repeat > formsPerSubject {
			f.subject++
			f.repeat = 1
			enroll = append(enroll, f.c.Tx("site1-coordinator", apptest.EnrollMsg(benchSubject(f.subject), benchSubjectSite)))
		}
		k := apptest.FormKey(benchSubject(f.subject), "UNS", f.repeat, "AE")
		vals := ae(2, f.subject*10000+f.repeat)
		txs = append(txs, f.c.Tx("site1-coordinator", apptest.SubmitMsg(k, vals)))
		values += len(vals)
		f.repeat++
	}
	if len(enroll) > 0 {
		mustAllOK(b, f.c.Block(enroll...))
	}
	return txs, values
}

// prefill stores new forms, in blocks of at most benchBlock, until the
// store holds at least target item values.
func (f *benchFixture) prefill(b testing.TB, target int) {
	for f.values < target {
		txs, values := f.nextForms(b, min(benchBlock, (target-f.values+maxValuesPerForm-1)/maxValuesPerForm))
		mustAllOK(b, f.c.Block(txs...))
		f.values += values
	}
}

// benchSubject is the n-th subject of the fixture, a pseudonym of the
// default pattern at site1.
func benchSubject(n int) string { return fmt.Sprintf("S1-%05d", n) }

func mustAllOK(b testing.TB, res []*abci.ExecTxResult) {
	b.Helper()
	for i, r := range res {
		if r.Code != 0 {
			b.Fatalf("tx %d: %s", i, r.Log)
		}
	}
}

func fixture(b *testing.B) *benchFixture {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "veritrial-bench-")
		if err != nil {
			bench = &benchFixture{err: err}
			return
		}
		f := &benchFixture{dir: dir, c: apptest.NewUnmanaged(b, dir)}
		bench = f
		f.c.SetupStudy()
		start := time.Now()
		f.prefill(b, prefillTarget())
		b.Logf("prefilled %d item values in %s", f.values, time.Since(start).Round(time.Millisecond))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	bench.c.T = b
	return bench
}

// BenchmarkFinalizeCommit1000 measures FinalizeBlock + Commit of one block
// of 1,000 signed form submissions on the prefilled store.
func BenchmarkFinalizeCommit1000(b *testing.B) {
	f := runBlocks(b, false)
	b.ReportMetric(float64(dirSize(b, f.dir))/float64(f.values), "disk-B/value")
}

// BenchmarkCheckFinalizeCommit1000 measures what a validator spends on
// each tx it receives from a client: CheckTx of 1,000 signed form
// submissions (the mempool's checks), then FinalizeBlock + Commit of the
// block that holds them.
func BenchmarkCheckFinalizeCommit1000(b *testing.B) {
	runBlocks(b, true)
}

// runBlocks times b.N blocks of benchBlock new forms on the fixture, each
// tx through CheckTx first when check is set, and reports tx/s, item
// values/s and the values stored.
func runBlocks(b *testing.B, check bool) *benchFixture {
	f := fixture(b)
	b.ResetTimer()
	var elapsed time.Duration
	added := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		txs, values := f.nextForms(b, benchBlock)
		b.StartTimer()
		t0 := time.Now()
		if check {
			for _, tx := range txs {
				if r := f.c.Check(tx); r.Code != 0 {
					b.Fatalf("CheckTx: %s", r.Log)
				}
			}
		}
		res := f.c.Block(txs...)
		elapsed += time.Since(t0)
		b.StopTimer()
		mustAllOK(b, res)
		f.values += values
		added += values
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(benchBlock*b.N)/elapsed.Seconds(), "txs/s")
	b.ReportMetric(float64(added)/elapsed.Seconds(), "values/s")
	b.ReportMetric(float64(f.values), "values")
	return f
}

func dirSize(b testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDecodeVerify measures what every node does to each tx before
// looking at state: bounded canonical decode and the ed25519 check.
func BenchmarkDecodeVerify(b *testing.B) {
	c := apptest.New(b)
	const n = 256
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "UNS", i+1, "AE"), apptest.AE(2, i)))
	}
	pk := c.Person("site1-coordinator").PubKey()
	b.SetBytes(int64(len(txs[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, e := types.DecodeTx(txs[i%n])
		if e != nil {
			b.Fatal(e.Msg)
		}
		if !tx.VerifySignature(ed25519.PublicKey(pk)) {
			b.Fatal("signature")
		}
	}
}

// proofFixture is a store of 2,000 AE forms (36,200 values).
func proofFixture(b *testing.B) (*apptest.Chain, [][]byte) {
	c := apptest.New(b)
	c.SetupStudy()
	f := &benchFixture{c: c}
	var keys [][]byte
	for blk := 0; blk < 2; blk++ {
		txs, _ := f.nextForms(b, benchBlock)
		mustAllOK(b, c.Block(txs...))
	}
	for s := 1; s <= f.subject; s++ {
		for r := 1; r <= formsPerSubject; r++ {
			keys = append(keys, types.KeyForm(apptest.FormKey(benchSubject(s), "UNS", r, "AE")))
		}
	}
	return c, keys
}

// BenchmarkQueryWithProof measures a /key read with its ics23 proof, as
// the node itself reads (App.TrustedQuery: no request to check, no read
// policy; BenchmarkSignedReadWithProof adds them).
func BenchmarkQueryWithProof(b *testing.B) {
	c, keys := proofFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := c.Query(types.QueryKey, keys[i%len(keys)], 0, true)
		if res.Code != 0 || res.Value == nil || res.ProofOps == nil {
			b.Fatalf("query: %s", res.Log)
		}
	}
}

// BenchmarkSignedReadWithProof measures the same reads as signed read
// requests through App.Query, as a site's coordinator: decoding, the
// signature, replay protection and the read policy (the subject's site
// looked up) come on top of BenchmarkQueryWithProof. The requests are
// signed beforehand: signing is the client's work.
func BenchmarkSignedReadWithProof(b *testing.B) {
	c, keys := proofFixture(b)
	reqs := make([][]byte, b.N)
	for i := range reqs {
		reqs[i] = c.SignRead("site1-coordinator", c.ReadBody("site1-coordinator", types.QueryKey, keys[i%len(keys)], 0, true))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := c.ReadRaw(reqs[i])
		if res.Code != 0 || res.Value == nil || res.ProofOps == nil {
			b.Fatalf("read: %s", res.Log)
		}
	}
}

// BenchmarkVerifyProof measures client-side verification of one proof
// against the app hash.
func BenchmarkVerifyProof(b *testing.B) {
	c, keys := proofFixture(b)
	key := keys[len(keys)/2]
	res := c.Query(types.QueryKey, key, 0, true)
	proof := res.ProofOps.Ops[0].Data
	b.SetBytes(int64(len(proof)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := types.VerifyProof(c.AppHash, key, res.Value, proof); err != nil {
			b.Fatal(err)
		}
	}
}

// casebook is one subject's casebook as veritrial show subject and
// tools/readbench read it: the subject's record (/key) and a page of its
// forms (/list, up to 1,000), without proofs.
func casebook(f *benchFixture, i int) [][2][]byte {
	s := benchSubject(i%f.subject + 1)
	list, _ := json.Marshal(types.ListRequest{Prefix: types.PrefixForm + apptest.StudyID + "/" + s + "/", Limit: 1000})
	return [][2][]byte{{[]byte(types.QueryKey), types.KeySubject(apptest.StudyID, s)}, {[]byte(types.QueryList), list}}
}

// checkCasebook fails the benchmark unless res answers the casebook read
// j with its records.
func checkCasebook(b *testing.B, j int, res *abci.ResponseQuery) {
	if res.Code != 0 || res.Value == nil {
		b.Fatalf("casebook read %d: %d %s", j, res.Code, res.Log)
	}
	if j == 1 {
		var lr types.ListResponse
		if err := json.Unmarshal(res.Value, &lr); err != nil || len(lr.Entries) == 0 || lr.More {
			b.Fatalf("casebook forms: %v, %d entries", err, len(lr.Entries))
		}
	}
}

// BenchmarkCasebookTrusted reads casebooks of the prefilled store's
// subjects (200 forms each) as the node itself reads (App.TrustedQuery:
// no request to check, no read policy).
func BenchmarkCasebookTrusted(b *testing.B) {
	f := fixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, r := range casebook(f, i) {
			checkCasebook(b, j, f.c.Query(string(r[0]), r[1], 0, false))
		}
	}
}

// BenchmarkCasebookSigned reads the same casebooks as signed read
// requests of the subjects' site coordinator through App.Query: decoding,
// expiry, replay protection, the reader's account and signature, and the
// read policy on the subject and on every form listed come on top of
// BenchmarkCasebookTrusted. The requests are signed beforehand (signing
// is the client's work).
func BenchmarkCasebookSigned(b *testing.B) {
	f := fixture(b)
	reqs := make([][][]byte, b.N)
	for i := range reqs {
		for _, r := range casebook(f, i) {
			reqs[i] = append(reqs[i], f.c.SignRead("site1-coordinator", f.c.ReadBody("site1-coordinator", string(r[0]), r[1], 0, false)))
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, raw := range reqs[i] {
			checkCasebook(b, j, f.c.ReadRaw(raw))
		}
	}
}
