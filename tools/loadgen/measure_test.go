package main

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/types"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, ms(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, ms(50)}, {99, ms(99)}, {100, ms(100)}, {0, ms(1)}, {0.5, ms(1)}, {99.5, ms(100)}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	if got := percentile([]time.Duration{ms(7)}, 99); got != ms(7) {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestSummariseSortsAndRounds(t *testing.T) {
	l := summarise([]time.Duration{ms(300), ms(100), ms(200), 1500 * time.Microsecond})
	want := latency{Samples: 4, P50: 100, P90: 300, P99: 300, Max: 300, Mean: 150.38}
	if l != want {
		t.Errorf("summarise = %+v, want %+v", l, want)
	}
	if (summarise(nil) != latency{}) {
		t.Error("summary of no samples is not zero")
	}
}

func signed(t *testing.T, msg types.Msg) []byte {
	t.Helper()
	raw, err := types.BuildTx("c", "site1-coordinator", 10, newFixedKey(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCountBlocks(t *testing.T) {
	k := example.FormKey("S1", "UNS", 2, "AE")
	submit := signed(t, example.SubmitMsg(k, example.AE(2, 1)))
	correct := signed(t, example.CorrectMsg(k, "typo", example.V("AE.TERM", "x"), example.V("AE.SEV", "1"), example.V("AE.OUT", "2")))
	invalid := signed(t, example.SubmitMsg(example.FormKey("S1", "UNS", 2, "VS"), example.VS(400, 80)))
	enroll := signed(t, example.EnrollMsg("S2", "site1"))
	blocks := []blockData{
		{Height: 5, Txs: [][]byte{submit, invalid}, Codes: []uint32{0, uint32(types.CodeEditCheckFailed)}, SAEs: 1},
		{Height: 6},
		{Height: 7, Txs: [][]byte{correct, enroll, []byte("junk")}, Codes: []uint32{0, 0, uint32(types.CodeTxMalformed)}, SAEs: 2},
	}
	got := countBlocks(blocks, itemValues)
	if got.Blocks != 3 || got.Txs != 5 || got.Committed != 3 || got.SAEs != 3 {
		t.Errorf("blocks %d txs %d committed %d SAEs %d, want 3 5 3 3", got.Blocks, got.Txs, got.Committed, got.SAEs)
	}
	// 18 values of the submission (neither row serious), 3 changes of the
	// correction, none for the enrolment; the rejected invalid form does
	// not count.
	if got.Values != 21 {
		t.Errorf("values %d, want 21", got.Values)
	}
	if got.Rejected[uint32(types.CodeEditCheckFailed)] != 1 || got.Rejected[uint32(types.CodeTxMalformed)] != 1 || len(got.Rejected) != 2 {
		t.Errorf("rejected %v", got.Rejected)
	}
	wantBytes := len(submit) + len(invalid) + len(correct) + len(enroll) + 4
	if got.Bytes != wantBytes {
		t.Errorf("bytes %d, want %d", got.Bytes, wantBytes)
	}
	if kv := countBlocks(blocks, nil); kv.Values != 0 || kv.Committed != 3 {
		t.Errorf("without a value counter: %+v", kv)
	}
}

func TestLatenciesAndFill(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c, d := []byte("a=1"), []byte("b=2"), []byte("c=3"), []byte("d=4")
	blocks := []blockData{
		{Height: 11, Time: t0.Add(time.Second), Txs: [][]byte{a, b}, Codes: []uint32{0, 0}, SAEs: 1},
		{Height: 12, Time: t0.Add(2 * time.Second), Txs: [][]byte{c}, Codes: []uint32{7}},
		{Height: 13, Time: t0.Add(3 * time.Second), SAEs: 4},
	}
	seen := map[int64]time.Time{10: t0, 11: t0.Add(1100 * time.Millisecond), 12: t0.Add(2100 * time.Millisecond), 13: t0.Add(3100 * time.Millisecond)}
	sent := []*sentTx{
		{hash: sha256.Sum256(a), kind: kindKV, at: t0.Add(100 * time.Millisecond), ok: true},
		{hash: sha256.Sum256(b), kind: kindKV, at: t0.Add(600 * time.Millisecond), ok: true},
		{hash: sha256.Sum256(c), kind: kindKV, at: t0.Add(700 * time.Millisecond), ok: true},
		{hash: sha256.Sum256(d), kind: kindKV, at: t0.Add(800 * time.Millisecond), ok: true}, // never committed
		{hash: sha256.Sum256([]byte("e")), kind: kindKV, at: t0, ok: true, code: 3},          // refused by CheckTx
		{hash: sha256.Sum256([]byte("f")), kind: kindKV, at: t0, ok: false},                  // no answer
	}
	lat, missing := latencies(sent, commitTimes(blocks, seen))
	if missing != 1 || len(lat) != 3 || lat[0] != ms(1000) || lat[1] != ms(500) || lat[2] != ms(1400) {
		t.Errorf("latencies %v missing %d", lat, missing)
	}
	r := &Result{}
	r.fill(&driveStats{sent: sent}, blocks, seen, 10, 12, false)
	if r.Blocks != 2 || r.BlockTxs != 3 || r.Committed != 2 || r.ElapsedSec != 2.1 || r.CommittedTxPerSec != 1 || r.SAEsOpened != 1 {
		t.Errorf("window: %+v", r)
	}
	if r.Sent != 6 || r.Accepted != 4 || r.Uncommitted != 1 || r.CheckRejections["3"] != 1 || r.BlockRejections["7"] != 1 {
		t.Errorf("counts: %+v", r)
	}
	if r.CommittedByKind["kv"] != 2 {
		t.Errorf("by kind %v", r.CommittedByKind)
	}
	// Without header sightings the block times give the interval.
	if e := elapsed(blocks, map[int64]time.Time{}, 10, 13); e != 2*time.Second {
		t.Errorf("elapsed from block times %v", e)
	}
}

func TestInvalidAccounting(t *testing.T) {
	bad1, bad2, bad3 := []byte("x1"), []byte("x2"), []byte("x3")
	blocks := []blockData{{Height: 2, Txs: [][]byte{bad1, bad2}, Codes: []uint32{410, 0}}}
	sent := []*sentTx{
		{hash: sha256.Sum256(bad1), kind: kindInvalid, ok: true},
		{hash: sha256.Sum256(bad2), kind: kindInvalid, ok: true},
		{hash: sha256.Sum256(bad3), kind: kindInvalid, ok: true, code: 410},
	}
	r := &Result{}
	r.fill(&driveStats{sent: sent}, blocks, map[int64]time.Time{}, 1, 2, true)
	if r.Invalid.Sent != 3 || r.Invalid.Rejected != 2 || r.Invalid.Committed != 1 {
		t.Errorf("invalid %+v", r.Invalid)
	}
	if r.BlockRejections["410 edit_check_failed"] != 1 || r.CheckRejections["410 edit_check_failed"] != 1 {
		t.Errorf("codes %v %v", r.CheckRejections, r.BlockRejections)
	}
}

func TestParseStatTicks(t *testing.T) {
	line := "1234 (veritrial (x) y) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 37 0 0 20 0 12 0 100 1000000 2000 18446744073709551615"
	n, err := parseStatTicks(line)
	if err != nil || n != 287 {
		t.Errorf("ticks %d, %v; want 287", n, err)
	}
	if _, err := parseStatTicks("garbage"); err == nil {
		t.Error("garbage parsed")
	}
	if n, err := procTicks(1); err != nil || n < 0 {
		t.Logf("pid 1 not readable here: %v", err)
	}
}

func TestCutRole(t *testing.T) {
	for name, want := range map[string][2]string{
		"sponsor-dm": {"sponsor", "dm"}, "site-1-coordinator": {"site-1", "coordinator"},
		"site1-coordinator": {"site1", "coordinator"}, "site1-investigator": {"site1", "investigator"},
		"site1-admin": {"", ""}, "-dm": {"", ""},
	} {
		org, role, ok := cutRole(name)
		if org != want[0] || role != want[1] || ok != (want[0] != "") {
			t.Errorf("cutRole(%q) = %q %q %v", name, org, role, ok)
		}
	}
}

func TestKVTx(t *testing.T) {
	a, b := kvTx("abcd", 1, 300), kvTx("abcd", 2, 300)
	if len(a) != 300 || bytes.Equal(a, b) || bytes.Count(a, []byte("=")) != 1 || bytes.Contains(a, []byte(":")) {
		t.Errorf("kv tx %q", a)
	}
	if _, err := newKV(10); err == nil {
		t.Error("tiny kv size accepted")
	}
}

func TestPlanShares(t *testing.T) {
	s := &site{org: "site1", coord: person{account: "site1-coordinator"}}
	w := &crf{invalid: 0.05, corrections: 0.10}
	for i := range 10 {
		w.subjects = append(w.subjects, subjectRef{site: s, subject: "S" + string(rune('0'+i))})
	}
	counts := map[txKind]int{}
	forms := map[types.FormKey]bool{}
	serious := 0
	for range 1000 {
		p := w.nextPlan()
		counts[p.kind]++
		if p.kind == kindSubmit {
			k, vals := p.msg.SubmitForm.FormKey, p.msg.SubmitForm.Values
			rows := 0
			for _, v := range vals {
				if v.Item == "AE.SER" && v.Value == "1" {
					rows++
				}
			}
			if forms[k] || k.EventRepeat < 2 || len(vals) != 18+rows {
				t.Fatalf("submission %+v repeats a form, uses the setup's repeat or is not 18 items and one per serious row (%d)", k, rows)
			}
			forms[k] = true
			serious += rows
		}
		if p.kind == kindCorrect && (p.msg.CorrectForm.EventRepeat != 1 || p.msg.CorrectForm.Reason == "") {
			t.Fatalf("correction %+v", p.msg.CorrectForm)
		}
	}
	// A correction due at the same tx as an invalid submission comes one
	// tx later, so the last one may not have come yet.
	if counts[kindInvalid] != 50 || counts[kindCorrect] < 99 || counts[kindCorrect] > 100 || counts[kindSubmit]+counts[kindCorrect] != 950 {
		t.Errorf("kinds %v, want 50 invalid, 100 corrections (or 99), 850 submissions", counts)
	}
	// One AE row in 20 is serious: row 2 of the submissions whose number
	// ends in 9.
	if want := (counts[kindSubmit] + 1) / 10; serious != want {
		t.Errorf("%d serious rows in %d submissions, want %d", serious, counts[kindSubmit], want)
	}
}

// TestSAEsOpened: a committed tx's events that name an SAE record are
// counted, no other.
func TestSAEsOpened(t *testing.T) {
	attr := func(k, v string) abci.EventAttribute { return abci.EventAttribute{Key: k, Value: v} }
	events := []abci.Event{
		{Type: "vt", Attributes: []abci.EventAttribute{attr("kind", "submit_form"), attr("signer", "site1-coordinator")}},
		{Type: "vt", Attributes: []abci.EventAttribute{attr("study", "VT-HTN-201"), attr("form", "AE")}},
		{Type: "vt", Attributes: []abci.EventAttribute{attr("study", "VT-HTN-201"), attr("subject", "S1-001"), attr("sae", "UNS/3/AE/2")}},
		{Type: "vt", Attributes: []abci.EventAttribute{attr("study", "VT-HTN-201"), attr("subject", "S1-001"), attr("sae", "UNS/3/AE/1")}},
		{Type: "other", Attributes: []abci.EventAttribute{attr("sae", "x")}},
	}
	if n := saesOpened(events); n != 2 {
		t.Errorf("%d SAEs opened, want 2", n)
	}
	if n := saesOpened(nil); n != 0 {
		t.Errorf("%d SAEs opened by no events", n)
	}
}
