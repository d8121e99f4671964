package main

import (
	"testing"
	"time"
)

// series is blocks 1..n, one a second from t0, each committing perBlock
// txs, but height slow, which takes 3 s and commits as many.
func series(t0 time.Time, n int, perBlock int, slow int64) []block {
	var out []block
	at := t0
	for h := int64(1); h <= int64(n); h++ {
		out = append(out, block{Height: h, Time: at, Txs: perBlock + 1, Committed: perBlock})
		at = at.Add(time.Second)
		if h == slow {
			at = at.Add(2 * time.Second)
		}
	}
	return out
}

func TestWindows(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	bs := series(t0, 40, 100, 25)
	// Height h starts at t0+(h-1) s until the slow one: [2.5 s, 12.5 s]
	// is heights 3 (in progress at 2.5 s) to 13 (in progress at 12.5 s).
	quiet, err := windowAt(bs, t0.Add(2500*time.Millisecond), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := window{From: 3, To: 14, Seconds: 11, Committed: 1100, TxPerSec: 100, BlockSec: 1, LongestSec: 1}
	if quiet != want {
		t.Fatalf("quiet window %+v, want %+v", quiet, want)
	}
	// From 21 s (height 22): height 25 takes 3 s, so 10 s hold heights
	// 22..29: 8 heights, 2 s lost, two block times.
	during, err := windowAt(bs, t0.Add(21*time.Second), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if during.From != 22 || during.To != 30 || during.Committed != 800 || during.Seconds != 10 || during.LongestSec != 3 {
		t.Fatalf("window with the slow height %+v", during)
	}
	if s, b := lost(quiet, during); s != 2 || b != 2 {
		t.Errorf("lost %v s, %v block times; want 2 and 2", s, b)
	}
	// A window that ends while the slow height runs holds it whole:
	// [21 s, 25 s] is heights 22..25, 6 s.
	short, err := windowAt(bs, t0.Add(21*time.Second), 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if short.From != 22 || short.To != 26 || short.Seconds != 6 || short.Committed != 400 || short.LongestSec != 3 {
		t.Fatalf("window ending inside the slow height %+v", short)
	}
	// One that starts while it runs holds it from its start.
	inside, err := windowAt(bs, t0.Add(25*time.Second), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inside.From != 25 || inside.To != 26 || inside.Seconds != 3 {
		t.Fatalf("window inside the slow height %+v", inside)
	}
	if r := ratio(quiet, during); r != 0.8 {
		t.Errorf("after/before %v, want 0.8", r)
	}
	if s, b := lost(quiet, quiet); s != 0 || b != 0 {
		t.Errorf("a window against itself lost %v s, %v block times", s, b)
	}
	if _, err := windowAt(bs, t0.Add(time.Hour), 10*time.Second); err == nil {
		t.Error("a window after the last block was measured")
	}
	if _, err := windowAt(bs, t0.Add(-time.Second), 10*time.Second); err == nil {
		t.Error("a window starting before the first block was measured")
	}
	hs := heights(bs, 24, 26)
	if len(hs) != 3 || hs[0].Seconds != 1 || hs[1].Seconds != 3 || hs[2].Seconds != 1 || hs[1].Txs != 101 {
		t.Errorf("heights around the slow one %+v", hs)
	}
}

func TestMeans(t *testing.T) {
	change := func(kind string, before, after, longest float64) *changeInfo {
		q := window{TxPerSec: before, BlockSec: 2, LongestSec: 3}
		d := window{TxPerSec: after, BlockSec: 2, LongestSec: longest}
		return &changeInfo{Kind: kind, Quiet: q, During: d, Ratio: ratio(q, d)}
	}
	runs := []*runInfo{
		{Changes: []*changeInfo{change(kindPower, 100, 90, 4), change(kindAdd, 100, 100, 3)}},
		{Changes: []*changeInfo{change(kindPower, 200, 140, 6)}},
	}
	ms := means(runs)
	if len(ms) != 2 || ms[0].Kind != kindPower || ms[1].Kind != kindAdd {
		t.Fatalf("means of %+v", ms)
	}
	want := mean{Kind: kindPower, Runs: 2, QuietTxPS: 150, DuringTxPS: 115, Ratio: 0.8, BlockSec: 2, QuietLongest: 3, DuringLongest: 5}
	if ms[0] != want {
		t.Errorf("power change mean %+v, want %+v", ms[0], want)
	}
	if ms[1].Runs != 1 || ms[1].Ratio != 1 {
		t.Errorf("add mean %+v", ms[1])
	}
}
