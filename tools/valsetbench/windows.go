package main

import (
	"fmt"
	"math"
	"time"
)

// block is one block: its header time (the consortium's clock: the
// median of the validators' times of the commit before it) and its txs.
// Height h's consensus runs from its header time to the next block's.
type block struct {
	Height    int64     `json:"height"`
	Time      time.Time `json:"time"`
	Txs       int       `json:"txs"`
	Committed int       `json:"committed"`
}

// window is heights From..To-1, the heights that ran during a span of
// time, whole, and what they committed.
type window struct {
	From      int64   `json:"from_height"`
	To        int64   `json:"to_height"`
	Seconds   float64 `json:"seconds"`
	Committed int     `json:"committed_txs"`
	TxPerSec  float64 `json:"committed_tx_per_s"`
	// BlockSec is the mean time a height took, LongestSec the longest.
	BlockSec   float64 `json:"mean_block_s"`
	LongestSec float64 `json:"longest_height_s"`
}

// windowAt returns the window of the heights that ran during [start,
// start+d]: from the one in progress at start (the last header time at or
// before it) to the one in progress at start+d (the last header time
// before it), each whole, so that a height a change stalls counts in full
// however far it runs past start+d. Its time runs from the first one's
// header to the header after the last. blocks are in height order,
// without gaps.
func windowAt(blocks []block, start time.Time, d time.Duration) (window, error) {
	end := start.Add(d)
	a, b := -1, -1
	for i, bl := range blocks {
		if !bl.Time.After(start) {
			a = i
		}
		if bl.Time.Before(end) {
			b = i + 1
		}
	}
	switch {
	case a < 0:
		return window{}, fmt.Errorf("no block read before %s", start.Format(time.RFC3339Nano))
	case b >= len(blocks):
		return window{}, fmt.Errorf("the height in progress at %s had not ended by the last block read", end.Format(time.RFC3339Nano))
	}
	w := window{From: blocks[a].Height, To: blocks[b].Height, Seconds: blocks[b].Time.Sub(blocks[a].Time).Seconds()}
	for i, bl := range blocks[a:b] {
		w.Committed += bl.Committed
		w.LongestSec = max(w.LongestSec, blocks[a+i+1].Time.Sub(bl.Time).Seconds())
	}
	w.TxPerSec = round(float64(w.Committed)/w.Seconds, 1)
	w.BlockSec = round(w.Seconds/float64(w.To-w.From), 3)
	w.Seconds, w.LongestSec = round(w.Seconds, 3), round(w.LongestSec, 3)
	return w, nil
}

// ratio is the change window's committed tx/s over the quiet window's.
func ratio(quiet, during window) float64 {
	if quiet.TxPerSec == 0 {
		return 0
	}
	return round(during.TxPerSec/quiet.TxPerSec, 3)
}

// lost is the time the change window would have needed at the quiet
// window's rate to commit what it did not: its length less what it
// committed over the quiet rate, in seconds and in the quiet window's
// block times. Negative: the change window committed more.
func lost(quiet, during window) (seconds, blocks float64) {
	if quiet.TxPerSec == 0 || quiet.BlockSec == 0 {
		return 0, 0
	}
	s := during.Seconds - float64(during.Committed)/quiet.TxPerSec
	return round(s, 2), round(s/quiet.BlockSec, 2)
}

// height is how long one height took (from its header time to the next
// block's) and how many txs its block holds.
type height struct {
	Height  int64   `json:"height"`
	Seconds float64 `json:"seconds"`
	Txs     int     `json:"txs"`
}

// heights returns the heights from..to that blocks time.
func heights(blocks []block, from, to int64) []height {
	var out []height
	for i := 0; i+1 < len(blocks); i++ {
		if h := blocks[i].Height; h >= from && h <= to {
			out = append(out, height{Height: h, Seconds: round(blocks[i+1].Time.Sub(blocks[i].Time).Seconds(), 3), Txs: blocks[i].Txs})
		}
	}
	return out
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}
