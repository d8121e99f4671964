package main

import (
	"strings"
	"testing"
)

// A node's consensus log as CometBFT v0.38 writes it at consensusLogLevel
// (hashes shortened), with a timeout of another step and a height outside
// the measured range.
const consensusLog = `I[2026-12-07|09:41:51.548] Timed out                                    module=consensus dur=368.915963ms height=50 round=0 step=RoundStepNewHeight
I[2026-12-07|09:41:51.600] received complete proposal block             module=consensus height=50 hash=23DB07
I[2026-12-07|09:41:51.628] finalizing commit of block                   module=consensus height=50 hash=23DB07 root=FDA872
I[2026-12-07|09:41:51.691] finalized block                              module=state height=50 num_txs_res=412 num_val_updates=0 block_app_hash=EFF208
I[2026-12-07|09:41:51.691] executed block                               module=state height=50 app_hash=EFF208
I[2026-12-07|09:41:51.748] committed state                              module=state height=50 block_app_hash=FDA872
I[2026-12-07|09:41:52.128] Timed out                                    module=consensus dur=345.419195ms height=51 round=0 step=RoundStepNewHeight
I[2026-12-07|09:41:52.150] Timed out                                    module=consensus dur=3s height=51 round=0 step=RoundStepPropose
I[2026-12-07|09:41:52.161] received complete proposal block             module=consensus height=51 hash=E0C20E
I[2026-12-07|09:41:52.201] finalizing commit of block                   module=consensus height=51 hash=E0C20E root=EFF208
I[2026-12-07|09:41:52.204] finalized block                              module=state height=51 num_txs_res=434 num_val_updates=0 block_app_hash=00ECBD
E[2026-12-07|09:41:52.210] some error                                   module=rpc height=51
I[2026-12-07|09:41:52.234] committed state                              module=state height=51 block_app_hash=EFF208
I[2026-12-07|09:41:52.702] Timed out                                    module=consensus dur=443.755429ms height=52 round=0 step=RoundStepNewHeight
I[2026-12-07|09:41:52.750] received complete proposal block             module=consensus height=52 hash=AAAAAA
`

func TestSplitHeights(t *testing.T) {
	s, err := splitHeights(strings.NewReader(consensusLog), 49, 51)
	if err != nil {
		t.Fatal(err)
	}
	// Height 50: 52, 28, 63, 57 and 380 ms; height 51: 33, 40, 3, 30 and
	// 468 ms; 580 and 574 ms in all.
	want := heightSplit{Heights: 2, TxsPerBlock: 423, Propose: 42.5, Vote: 34, Finalize: 33, Commit: 43.5, Wait: 424, Height: 577}
	if s != want {
		t.Errorf("split %+v, want %+v", s, want)
	}
	// Height 52 lacks its steps and the next height's start.
	if _, err := splitHeights(strings.NewReader(consensusLog), 51, 52); err == nil {
		t.Error("a range without a complete height must be an error")
	}
}

func TestHeightSplitsAverageRounds(t *testing.T) {
	r := func(run int, commit float64) loadRun {
		return loadRun{Setup: setupSingle, App: "veritrial", Mode: "rate", Run: run, Heights: &heightSplit{Heights: 10, Commit: commit, Height: 600}}
	}
	got := heightSplits([]loadRun{r(1, 40), {Setup: setupSingle, App: "kvstore", Mode: "rate", Run: 1}, r(2, 60)})
	if len(got) != 1 || got[0].s.Commit != 50 || got[0].s.Height != 600 || got[0].s.Heights != 20 {
		t.Errorf("splits %+v", got)
	}
}
