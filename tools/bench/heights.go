package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"
)

// consensusLogLevel makes a node log the steps of every height (a few
// lines per height, in plain format), which heightSplit times.
const consensusLogLevel = "consensus:info,state:info,*:error"

// heightSplit is where the time of a node's heights went, from its
// consensus log: means over the measured heights, in milliseconds.
type heightSplit struct {
	Heights     int     `json:"heights"`
	TxsPerBlock float64 `json:"txs_per_block"`
	// Propose: from the start of the height (timeout_commit over) to the
	// complete proposal: reaping the mempool, PrepareProposal, making
	// and gossiping the block.
	Propose float64 `json:"propose_ms"`
	// Vote: from the complete proposal to the block decided:
	// ProcessProposal, prevotes and precommits.
	Vote float64 `json:"vote_ms"`
	// Finalize: from the decision to FinalizeBlock's return (with
	// optimistic execution, the wait for the execution begun at
	// ProcessProposal).
	Finalize float64 `json:"finalize_ms"`
	// Commit: from FinalizeBlock's return to the state committed: the
	// app's Commit, the mempool's update and recheck.
	Commit float64 `json:"commit_ms"`
	// Wait: from the state committed to the next height's start (the
	// rest of timeout_commit).
	Wait   float64 `json:"wait_ms"`
	Height float64 `json:"height_ms"`
}

// heightSteps are the log messages that mark the steps of a height, in
// order; the first ("Timed out" with step RoundStepNewHeight) is the end
// of the previous height's timeout_commit.
var heightSteps = []string{"Timed out", "received complete proposal block", "finalizing commit of block", "finalized block", "committed state"}

var (
	logLine       = regexp.MustCompile(`^I\[(\d{4}-\d{2}-\d{2}\|\d{2}:\d{2}:\d{2}\.\d{3})\] (.+?)\s{2,}module=\S+.*? height=(\d+)`)
	newHeightStep = regexp.MustCompile(`step=RoundStepNewHeight`)
	numTxsRes     = regexp.MustCompile(`num_txs_res=(\d+)`)
)

// maxLogLine bounds a log line read; longer lines are skipped.
const maxLogLine = 1 << 20

// splitHeights times the heights from+1 to to in the CometBFT plain log
// r: each needs every step and the next height's start.
func splitHeights(r io.Reader, from, to int64) (heightSplit, error) {
	at := map[int64][]time.Time{}
	txs := map[int64]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	for sc.Scan() {
		m := logLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		h, err := strconv.ParseInt(string(m[3]), 10, 64)
		if err != nil || h <= from || h > to+1 {
			continue
		}
		step := -1
		for i, s := range heightSteps {
			if string(m[2]) == s {
				step = i
			}
		}
		if step < 0 || (step == 0 && !newHeightStep.Match(sc.Bytes())) {
			continue
		}
		t, err := time.Parse("2006-01-02|15:04:05.000", string(m[1]))
		if err != nil {
			continue
		}
		if at[h] == nil {
			at[h] = make([]time.Time, len(heightSteps))
		}
		if at[h][step].IsZero() {
			at[h][step] = t
		}
		if step == 3 {
			if n := numTxsRes.FindSubmatch(sc.Bytes()); n != nil {
				txs[h], _ = strconv.Atoi(string(n[1]))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return heightSplit{}, err
	}
	var s heightSplit
	ms := func(a, b time.Time) float64 { return float64(b.Sub(a).Microseconds()) / 1000 }
	for h := from + 1; h <= to; h++ {
		cur, next := at[h], at[h+1]
		if cur == nil || next == nil || next[0].IsZero() || hasZero(cur) {
			continue
		}
		s.Heights++
		s.TxsPerBlock += float64(txs[h])
		s.Propose += ms(cur[0], cur[1])
		s.Vote += ms(cur[1], cur[2])
		s.Finalize += ms(cur[2], cur[3])
		s.Commit += ms(cur[3], cur[4])
		s.Wait += ms(cur[4], next[0])
		s.Height += ms(cur[0], next[0])
	}
	if s.Heights == 0 {
		return s, fmt.Errorf("no height between %d and %d with every step in the log (is the log level %q?)", from+1, to, consensusLogLevel)
	}
	n := float64(s.Heights)
	for _, f := range []*float64{&s.TxsPerBlock, &s.Propose, &s.Vote, &s.Finalize, &s.Commit, &s.Wait, &s.Height} {
		*f = round(*f/n, 10)
	}
	return s, nil
}

func hasZero(ts []time.Time) bool {
	for _, t := range ts {
		if t.IsZero() {
			return true
		}
	}
	return false
}

// splitLog times the measured heights of run r in the node log at path.
func splitLog(path string, r *loadRun) (*heightSplit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := splitHeights(f, r.Sum.FromHeight, r.Sum.ToHeight)
	if err != nil {
		return nil, err
	}
	return &s, nil
}
