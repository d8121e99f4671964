package main

import (
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/veritrial/veritrial/protocol
BenchmarkValidate60Items-2   	  190230	      6184 ns/op	       0 B/op	       0 allocs/op
PASS
pkg: github.com/veritrial/veritrial/app
BenchmarkFinalizeCommit1000
    bench_test.go:117: prefilled 100000 item values in 4.2s
BenchmarkFinalizeCommit1000-2   	       3	 380543225 ns/op	        46.20 disk-B/value	      2628 txs/s	    180000 values
BenchmarkNoCPUSuffix   	  10	  5 ns/op
ok  	github.com/veritrial/veritrial/app	8.1s
`
	got := parseBench(out)
	if len(got) != 3 {
		t.Fatalf("parsed %d benchmarks: %+v", len(got), got)
	}
	v := got[0]
	if v.Package != "github.com/veritrial/veritrial/protocol" || v.Name != "Validate60Items" || v.Iterations != 190230 || v.Metrics["ns/op"] != 6184 || v.Metrics["allocs/op"] != 0 {
		t.Errorf("first: %+v", v)
	}
	f := got[1]
	if f.Package != "github.com/veritrial/veritrial/app" || f.Name != "FinalizeCommit1000" || f.Metrics["txs/s"] != 2628 || f.Metrics["values"] != 180000 || f.Metrics["disk-B/value"] != 46.2 {
		t.Errorf("second: %+v", f)
	}
	if got[2].Name != "NoCPUSuffix" {
		t.Errorf("third: %+v", got[2])
	}
}

func TestRatios(t *testing.T) {
	mk := func(setup, app, mode string, run int, tps, p50, cpu float64) loadRun {
		r := loadRun{Setup: setup, App: app, Mode: mode, Run: run}
		r.Sum.CommittedTxPerSec, r.Sum.Latency.P50 = tps, p50
		r.Sum.CPU = append(r.Sum.CPU, struct {
			Node    string  `json:"node"`
			Percent float64 `json:"percent"`
		}{"n1", cpu}, struct {
			Node    string  `json:"node"`
			Percent float64 `json:"percent"`
		}{"loadgen", 50})
		return r
	}
	runs := []loadRun{
		mk(setupSingle, "veritrial", "saturated", 1, 1000, 900, 150),
		mk(setupSingle, "kvstore", "saturated", 1, 4000, 600, 200),
		mk(setupSingle, "veritrial", "saturated", 2, 1500, 900, 150),
		mk(setupSingle, "kvstore", "saturated", 2, 3000, 450, 150),
		mk(setupSingle, "veritrial", "saturated", 3, 900, 900, 150), // kvstore's round 3 is missing
		mk(setupLocalnet, "veritrial", "saturated", 1, 300, 0, 100),
	}
	got := ratios(runs)
	if len(got) != 3 {
		t.Fatalf("ratios %+v", got)
	}
	// tx/s: 0.25 and 0.5; CPU ms/tx: 1.5/0.5 = 3 and 1/0.5 = 2; p50: 1.5 and 2.
	want := []ratio{
		{Setup: setupSingle, Mode: "saturated", Metric: "committed tx/s", Veritrial: 1250, KVStore: 3500, Ratio: 0.38, Min: 0.25, Max: 0.5, Runs: 2},
		{Setup: setupSingle, Mode: "saturated", Metric: "node CPU ms/tx", Veritrial: 1.25, KVStore: 0.5, Ratio: 2.5, Min: 2, Max: 3, Runs: 2},
		{Setup: setupSingle, Mode: "saturated", Metric: "p50 latency ms", Veritrial: 900, KVStore: 525, Ratio: 1.75, Min: 1.5, Max: 2, Runs: 2},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ratio %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNodeCPUPerTx(t *testing.T) {
	var r lgResult
	if nodeCPUPerTx(r) != 0 {
		t.Error("no committed txs must give 0")
	}
}
