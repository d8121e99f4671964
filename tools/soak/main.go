// Command soak is the memory soak behind make soak: one veritrial node with
// its default settings under saturated clinical load (tools/loadgen) for a
// long run, its resident memory and Go heap sampled throughout, and heap
// profiles kept from the middle and the end. It writes
// results/soak-<date>.json and prints the samples and a summary: whether
// the resident memory levelled off, and under which bound.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// options are the soak's settings.
type options struct {
	Duration    time.Duration
	Interval    time.Duration
	Subjects    int
	Concurrency int
	BasePort    int
	OutDir      string
	WorkDir     string
	Keep        bool
	Doctor      bool
}

// Sample is one look at the node.
type Sample struct {
	Minutes   float64 `json:"minutes"`
	Height    int64   `json:"height"`
	RSSMB     float64 `json:"rss_mb"`
	HWMMB     float64 `json:"rss_peak_mb"`
	HeapMB    float64 `json:"heap_alloc_mb"`
	GoSysMB   float64 `json:"go_sys_mb"`
	NextGCMB  float64 `json:"next_gc_mb"`
	StoreMB   float64 `json:"store_mb"`
	Goroutine int     `json:"goroutines"`
	// Mempool is the txs waiting in the node's mempool: above 0 while
	// the load runs, 0 once it has drained.
	Mempool int `json:"mempool_txs"`
}

// Report is the soak's result file.
type Report struct {
	Start       time.Time         `json:"start"`
	Duration    string            `json:"duration"`
	LoadAvg     string            `json:"loadavg_at_start"`
	Env         map[string]string `json:"env"`
	Samples     []Sample          `json:"samples"`
	Summary     Summary           `json:"summary"`
	Load        json.RawMessage   `json:"load,omitempty"`
	HeapProfile []string          `json:"heap_profiles"`
	Doctor      *DoctorRun        `json:"doctor,omitempty"`
}

// DoctorRun is veritrial doctor on the node's store after the soak.
type DoctorRun struct {
	Seconds float64 `json:"seconds"`
	Records int64   `json:"records"`
	OK      bool    `json:"ok"`
	// ItemValues is the item values the measured load committed.
	ItemValues int `json:"item_values_loaded"`
}

// Summary is what the samples say about the node's memory.
type Summary struct {
	CommittedTxs int     `json:"committed_txs"`
	TxPerSec     float64 `json:"committed_tx_per_s"`
	RSSMaxMB     float64 `json:"rss_max_mb"`
	RSSEndMB     float64 `json:"rss_end_mb"`
	RSSHalfMB    float64 `json:"rss_half_mb"`
	// GrowthLastHalfMBPerMin is the least-squares slope of the resident
	// memory over the second half of the run.
	GrowthLastHalfMBPerMin float64 `json:"rss_growth_last_half_mb_per_min"`
	HeapMaxMB              float64 `json:"heap_alloc_max_mb"`
	StoreEndMB             float64 `json:"store_end_mb"`
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	o := &options{}
	fs.DurationVar(&o.Duration, "duration", 30*time.Minute, "measured load phase")
	fs.DurationVar(&o.Interval, "interval", 15*time.Second, "time between samples")
	fs.IntVar(&o.Subjects, "subjects", 2000, "subjects enrolled before the load (loadgen --subjects)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "concurrent loadgen clients")
	fs.IntVar(&o.BasePort, "base-port", 27900, "first of the 127.0.0.1 ports the node uses (the next 9 too)")
	fs.StringVar(&o.OutDir, "out", "results", "directory of the results file and heap profiles")
	fs.StringVar(&o.WorkDir, "work", "", "scratch directory for binaries, the node's home and logs (default: a new one under .tmp/soak)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the scratch directory")
	fs.BoolVar(&o.Doctor, "doctor", true, "once the node has stopped, time veritrial doctor on its store")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.Duration < time.Minute || o.Interval <= 0 || o.Interval > o.Duration/4 {
		return nil, fmt.Errorf("--duration must be at least 1m and --interval at most a quarter of it")
	}
	return o, nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.WorkDir == "" {
		if err := os.MkdirAll(".tmp/soak", 0o755); err != nil {
			return err
		}
		if o.WorkDir, err = os.MkdirTemp(".tmp/soak", "run-"); err != nil {
			return err
		}
	}
	if !o.Keep {
		defer os.RemoveAll(o.WorkDir)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(o.WorkDir, "bin")
	for name, pkg := range map[string]string{"veritrial": "./cmd/veritrial", "loadgen": "./tools/loadgen"} {
		logf("building %s", name)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	home := filepath.Join(o.WorkDir, "node")
	b := o.BasePort
	rpc, pprofAddr := fmt.Sprintf("127.0.0.1:%d", b+1), fmt.Sprintf("127.0.0.1:%d", b+6)
	if out, err := exec.CommandContext(ctx, filepath.Join(bin, "veritrial"), "--home", home, "init", "--chain-id", "soak",
		"--rpc-port", strconv.Itoa(b+1), "--p2p-port", strconv.Itoa(b), "--http-port", strconv.Itoa(b+2)).CombinedOutput(); err != nil {
		return fmt.Errorf("veritrial init: %v\n%s", err, out)
	}
	if err := nodeproc.EnablePprof(home, b+6); err != nil {
		return err
	}
	nodeBin := filepath.Join(bin, "veritrial")
	p, err := nodeproc.Start(nodeBin, filepath.Join(o.WorkDir, "node.log"), "--home", home, "start")
	if err != nil {
		return err
	}
	defer p.Stop()
	if err := nodeproc.WaitHeight(rpc, 1, time.Minute); err != nil {
		return err
	}

	rep := &Report{Start: time.Now().UTC(), Duration: o.Duration.String(), LoadAvg: nodeproc.LoadAvg(), Env: goEnv()}
	loadOut := filepath.Join(o.WorkDir, "load.json")
	lg := exec.CommandContext(ctx, filepath.Join(bin, "loadgen"), "--nodes", rpc, "--homes", home,
		"--duration", o.Duration.String(), "--subjects", strconv.Itoa(o.Subjects),
		"--concurrency", strconv.Itoa(o.Concurrency), "--prebuild", "20000", "--out", loadOut, "--quiet")
	lgLog, err := os.Create(filepath.Join(o.WorkDir, "loadgen.log"))
	if err != nil {
		return err
	}
	defer lgLog.Close()
	lg.Stdout, lg.Stderr = lgLog, lgLog
	logf("load for %s against one node (pid %d), a sample every %s", o.Duration, p.PID(), o.Interval)
	if err := lg.Start(); err != nil {
		return err
	}
	lgDone := make(chan error, 1)
	go func() { lgDone <- lg.Wait() }()

	stamp := time.Now().UTC().Format("20060102-150405")
	t0 := time.Now()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	half := false
	var lgErr error
loop:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case lgErr = <-lgDone:
			break loop
		case <-tick.C:
		}
		if p.Exited() {
			return fmt.Errorf("the node exited during the soak (see %s)", filepath.Join(o.WorkDir, "node.log"))
		}
		s, err := sample(p.PID(), rpc, pprofAddr, home)
		if err != nil {
			logf("sample: %v", err)
			continue
		}
		s.Minutes = time.Since(t0).Minutes()
		rep.Samples = append(rep.Samples, s)
		fmt.Printf("%6.1f min  height %6d  mempool %5d  rss %7.1f MB  heap %7.1f MB  next gc %7.1f MB  go sys %7.1f MB  store %7.1f MB\n",
			s.Minutes, s.Height, s.Mempool, s.RSSMB, s.HeapMB, s.NextGCMB, s.GoSysMB, s.StoreMB)
		if !half && time.Since(t0) >= o.Duration/2 {
			half = true
			if f, err := saveHeap(pprofAddr, filepath.Join(o.OutDir, "soak-"+stamp+"-heap-half.pprof")); err == nil {
				rep.HeapProfile = append(rep.HeapProfile, f)
			}
		}
	}
	if f, err := saveHeap(pprofAddr, filepath.Join(o.OutDir, "soak-"+stamp+"-heap-end.pprof")); err == nil {
		rep.HeapProfile = append(rep.HeapProfile, f)
	}
	if lgErr != nil {
		bz, _ := os.ReadFile(filepath.Join(o.WorkDir, "loadgen.log"))
		return fmt.Errorf("loadgen: %v\n%s", lgErr, bz)
	}
	if bz, err := os.ReadFile(loadOut); err == nil {
		rep.Load = bz
		var l struct {
			Committed int     `json:"committed_txs"`
			PerSec    float64 `json:"committed_tx_per_s"`
		}
		if err := json.Unmarshal(bz, &l); err == nil {
			rep.Summary.CommittedTxs, rep.Summary.TxPerSec = l.Committed, l.PerSec
		}
	}
	summarize(rep)
	if o.Doctor {
		p.Stop()
		logf("veritrial doctor on the node's store")
		t := time.Now()
		out, err := exec.CommandContext(ctx, nodeBin, "--home", home, "doctor", "-o", "json").Output()
		if err != nil {
			return fmt.Errorf("veritrial doctor: %v\n%s", err, out)
		}
		d := &DoctorRun{Seconds: time.Since(t).Seconds()}
		var doc struct {
			OK      bool  `json:"ok"`
			Records int64 `json:"records"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return fmt.Errorf("veritrial doctor: %v\n%s", err, out)
		}
		d.OK, d.Records = doc.OK, doc.Records
		var l struct {
			ItemValues int `json:"item_values"`
		}
		if json.Unmarshal(rep.Load, &l) == nil {
			d.ItemValues = l.ItemValues
		}
		rep.Doctor = d
	}
	file := filepath.Join(o.OutDir, "soak-"+stamp+".json")
	bz, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(bz, '\n'), 0o644); err != nil {
		return err
	}
	s := rep.Summary
	fmt.Printf("\ncommitted %d txs (%.0f tx/s); while the load ran, resident memory: max %.0f MB, at half time %.0f MB, at the end %.0f MB, slope over the second half %+.1f MB/min; Go heap max %.0f MB; store %.0f MB\nresults: %s (heap profiles: %s)\n",
		s.CommittedTxs, s.TxPerSec, s.RSSMaxMB, s.RSSHalfMB, s.RSSEndMB, s.GrowthLastHalfMBPerMin, s.HeapMaxMB, s.StoreEndMB, file, strings.Join(rep.HeapProfile, ", "))
	if d := rep.Doctor; d != nil {
		fmt.Printf("veritrial doctor: %d records checked in %.1f s, intact: %v\n", d.Records, d.Seconds, d.OK)
	}
	return nil
}

// sample reads the node's resident memory from /proc, its Go heap from the
// pprof server's runtime.MemStats and its height from RPC.
func sample(pid int, rpc, pprofAddr, home string) (Sample, error) {
	var s Sample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSMB = kbToMB(v)
		case "VmHWM":
			s.HWMMB = kbToMB(v)
		}
	}
	if s.Height, err = nodeproc.Height(rpc); err != nil {
		return s, err
	}
	stats, err := memStats(pprofAddr)
	if err != nil {
		return s, err
	}
	s.HeapMB, s.GoSysMB, s.NextGCMB = stats["HeapAlloc"]/1e6, stats["Sys"]/1e6, stats["NextGC"]/1e6
	s.Goroutine = int(stats["goroutines"])
	s.StoreMB = float64(dirSize(filepath.Join(home, "data"))) / 1e6
	if body, err := get("http://" + rpc + "/num_unconfirmed_txs"); err == nil {
		var r struct {
			Result struct {
				N string `json:"n_txs"`
			} `json:"result"`
		}
		if json.Unmarshal(body, &r) == nil {
			s.Mempool, _ = strconv.Atoi(r.Result.N)
		}
	}
	return s, nil
}

// kbToMB turns a /proc status value ("  123456 kB") into MB.
func kbToMB(v string) float64 {
	n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
	return n * 1024 / 1e6
}

// memStats reads the "# Name = value" lines of runtime.MemStats at the end
// of /debug/pprof/heap?debug=1, and the goroutine count.
func memStats(addr string) (map[string]float64, error) {
	body, err := get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok || !strings.HasPrefix(line, "# ") {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			m[k] = n
		}
	}
	if g, err := get("http://" + addr + "/debug/pprof/goroutine?debug=1"); err == nil {
		if first, _, ok := strings.Cut(string(g), "\n"); ok {
			// "goroutine profile: total N"
			if i := strings.LastIndexByte(first, ' '); i >= 0 {
				n, _ := strconv.Atoi(first[i+1:])
				m["goroutines"] = float64(n)
			}
		}
	}
	if _, ok := m["HeapAlloc"]; !ok {
		return nil, errors.New("no runtime.MemStats in the heap profile")
	}
	return m, nil
}

// saveHeap writes the node's heap profile to file.
func saveHeap(addr, file string) (string, error) {
	body, err := get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		logf("heap profile: %v", err)
		return "", err
	}
	return file, os.WriteFile(file, body, 0o644)
}

// get fetches url within 30 s.
func get(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// summarize fills the report's summary from its samples while the load
// ran: up to the last one with txs in the mempool (after it, loadgen only
// reads the blocks back).
func summarize(rep *Report) {
	s := &rep.Summary
	load := rep.Samples
	for len(load) > 1 && load[len(load)-1].Mempool == 0 {
		load = load[:len(load)-1]
	}
	n := len(load)
	if n == 0 {
		return
	}
	for _, x := range load {
		s.RSSMaxMB = max(s.RSSMaxMB, x.RSSMB)
		s.HeapMaxMB = max(s.HeapMaxMB, x.HeapMB)
	}
	last := load[n-1]
	s.RSSEndMB, s.StoreEndMB = last.RSSMB, last.StoreMB
	second := load[n/2:]
	s.RSSHalfMB = second[0].RSSMB
	s.GrowthLastHalfMBPerMin = slope(second)
}

// slope is the least-squares slope of resident memory over minutes.
func slope(xs []Sample) float64 {
	if len(xs) < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, x := range xs {
		sx += x.Minutes
		sy += x.RSSMB
		sxx += x.Minutes * x.Minutes
		sxy += x.Minutes * x.RSSMB
	}
	k := float64(len(xs))
	d := k*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (k*sxy - sx*sy) / d
}

// goEnv is the GOGC and GOMEMLIMIT the node ran with ("" when unset: the
// node's defaults).
func goEnv() map[string]string {
	return map[string]string{"GOGC": os.Getenv("GOGC"), "GOMEMLIMIT": os.Getenv("GOMEMLIMIT")}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
