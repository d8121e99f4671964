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
	mk := func(setup, app, mode string, tps, p50 float64) loadRun {
		r := loadRun{Setup: setup, App: app, Mode: mode}
		r.Sum.CommittedTxPerSec, r.Sum.Latency.P50 = tps, p50
		return r
	}
	runs := []loadRun{
		mk(setupSingle, "veritrial", "saturated", 1000, 900),
		mk(setupSingle, "kvstore", "saturated", 4000, 600),
		mk(setupLocalnet, "veritrial", "saturated", 300, 0),
	}
	got := ratios(runs)
	if len(got) != 2 || got[0].Metric != "committed tx/s" || got[0].Ratio != 0.25 || got[1].Metric != "p50 latency ms" || got[1].Ratio != 1.5 {
		t.Errorf("ratios %+v", got)
	}
}
