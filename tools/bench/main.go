// Command bench is the harness behind make bench: it runs veritrial's Go
// benchmarks, the FinalizeBlock+Commit curve against stored item values,
// and loadgen runs of veritrial against CometBFT's kvstore baseline on one
// node and on a four-validator localnet, then writes
// results/bench-<date>.json and prints a table of figures and ratios.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the harness settings.
type options struct {
	OutDir        string
	WorkDir       string
	Budget        time.Duration
	Duration      time.Duration
	LocalDuration time.Duration
	Concurrency   int
	Prefills      []int
	ProfilePrefil int
	CurveBlocks   int
	BenchRE       string
	Benchtime     string
	Skip          map[string]bool
	BasePort      int
	RateFraction  float64
	Runs          int
	Keep          bool
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := &options{}
	var prefills, skip string
	fs.StringVar(&o.OutDir, "out", "results", "directory of the results file")
	fs.StringVar(&o.WorkDir, "work", "", "scratch directory for binaries, node homes and logs (default: a new one under .tmp/bench)")
	fs.DurationVar(&o.Budget, "budget", 40*time.Minute, "wall-clock limit of the whole run; steps that no longer fit are skipped")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "measured phase of each load run")
	fs.DurationVar(&o.LocalDuration, "localnet-duration", 40*time.Second, "measured phase of the four-validator runs (their blocks are few and large)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "concurrent broadcast_tx_sync clients of each load run")
	fs.StringVar(&prefills, "prefill", "0,100000,1000000,10000000", "stored item values before the FinalizeBlock+Commit benchmark, one run each")
	fs.IntVar(&o.CurveBlocks, "curve-blocks", 5, "blocks measured per curve point (go test -benchtime Nx)")
	fs.IntVar(&o.ProfilePrefil, "profile-prefill", -1, "prefill of the run that also writes a CPU profile (-1: the largest)")
	fs.StringVar(&o.BenchRE, "bench", `Validate60Items$|Compile$|DecodeVerify|QueryWithProof|VerifyProof|VerifyHeaders|Export|Audit`, "Go benchmarks to run (besides the FinalizeCommit curve)")
	fs.StringVar(&o.Benchtime, "benchtime", "1s", "go test -benchtime of those benchmarks")
	fs.StringVar(&skip, "skip", "", "steps to skip, comma-separated: go, curve, load, rate, localnet")
	fs.IntVar(&o.BasePort, "base-port", 27700, "first of the 127.0.0.1 ports the nodes use (the next 240 too); keep it below the ephemeral range (32768)")
	fs.Float64Var(&o.RateFraction, "rate-fraction", 0.5, "latency runs offer this share of the lower saturated throughput of the two apps")
	fs.IntVar(&o.Runs, "runs", 3, "rounds of the load and localnet steps; ratios are reported as the mean and spread of the rounds")
	fs.BoolVar(&o.Keep, "keep", false, "keep the scratch directory")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, p := range strings.Split(prefills, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--prefill: %q is not a count", p)
		}
		o.Prefills = append(o.Prefills, n)
	}
	if o.ProfilePrefil < 0 && len(o.Prefills) > 0 {
		o.ProfilePrefil = o.Prefills[len(o.Prefills)-1]
	}
	o.Skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Skip[s] = true
		}
	}
	if o.Runs < 1 {
		return nil, errors.New("--runs must be at least 1")
	}
	if o.RateFraction <= 0 || o.RateFraction > 1 {
		return nil, errors.New("--rate-fraction must be above 0 and at most 1")
	}
	return o, nil
}

// Report is the results file.
type Report struct {
	Date        time.Time      `json:"date"`
	Machine     machine        `json:"machine"`
	Options     map[string]any `json:"options"`
	Go          []goBench      `json:"go_benchmarks,omitempty"`
	Curve       []curvePoint   `json:"finalize_commit_curve,omitempty"`
	ProfileTop  []string       `json:"bench_profile_top,omitempty"`
	NodeProfile []string       `json:"node_profile_top,omitempty"`
	// LocalnetProfile is the same for the first of the four validators
	// in the saturated localnet run.
	LocalnetProfile []string  `json:"localnet_node_profile_top,omitempty"`
	Load            []loadRun `json:"load,omitempty"`
	Ratios          []ratio   `json:"ratios,omitempty"`
	Skipped         []string  `json:"skipped,omitempty"`
	Errors          []string  `json:"errors,omitempty"`
	ElapsedSec      float64   `json:"elapsed_s"`
}

// machine describes where the figures were measured.
type machine struct {
	NProc       int    `json:"nproc"`
	CPUModel    string `json:"cpu_model"`
	GoVersion   string `json:"go_version"`
	Kernel      string `json:"kernel"`
	LoadStart   string `json:"loadavg_start"`
	LoadEnd     string `json:"loadavg_end"`
	MemTotalKiB int64  `json:"mem_total_kib"`
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Budget)
	defer cancel()
	start := time.Now()
	if o.WorkDir == "" {
		if err := os.MkdirAll(".tmp/bench", 0o755); err != nil {
			return err
		}
		if o.WorkDir, err = os.MkdirTemp(".tmp/bench", "run-"); err != nil {
			return err
		}
		if !o.Keep {
			defer os.RemoveAll(o.WorkDir)
		}
	}
	if o.WorkDir, err = filepath.Abs(o.WorkDir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	stamp := start.UTC().Format("20060102-150405")
	rep := &Report{Date: start.UTC(), Machine: describeMachine(), Options: map[string]any{
		"duration": o.Duration.String(), "localnet_duration": o.LocalDuration.String(), "concurrency": o.Concurrency, "prefill": o.Prefills, "curve_blocks": o.CurveBlocks,
		"benchtime": o.Benchtime, "rate_fraction": o.RateFraction, "budget": o.Budget.String(), "runs": o.Runs,
	}}
	h := &harness{o: o, rep: rep, stamp: stamp, bin: filepath.Join(o.WorkDir, "bin")}
	logf("building veritrial, loadgen and kvnode into %s", h.bin)
	if err := h.build(ctx); err != nil {
		return err
	}
	h.step(ctx, "go", 2*time.Minute, h.goBenchmarks)
	h.step(ctx, "curve", 6*time.Minute, h.curve)
	rounds := time.Duration(o.Runs)
	h.step(ctx, "load", rounds*4*(o.Duration+30*time.Second), h.singleNode)
	h.step(ctx, "localnet", rounds*4*(o.LocalDuration+45*time.Second), h.localnet)
	rep.Ratios = ratios(rep.Load)
	rep.Machine.LoadEnd = nodeproc.LoadAvg()
	rep.ElapsedSec = time.Since(start).Round(time.Second).Seconds()

	out := filepath.Join(o.OutDir, "bench-"+stamp+".json")
	bz, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(bz, '\n'), 0o644); err != nil {
		return err
	}
	printReport(os.Stdout, rep)
	fmt.Printf("\nresults: %s\n", out)
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d step(s) failed: %s", len(rep.Errors), strings.Join(rep.Errors, "; "))
	}
	return nil
}

// harness runs the steps and fills the report.
type harness struct {
	o     *options
	rep   *Report
	stamp string
	bin   string
}

// step runs fn unless skipped or unless less than need is left of the
// budget; a failing step is recorded and the others still run.
func (h *harness) step(ctx context.Context, name string, need time.Duration, fn func(context.Context) error) {
	if h.o.Skip[name] {
		h.rep.Skipped = append(h.rep.Skipped, name+" (--skip)")
		return
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < need {
		h.rep.Skipped = append(h.rep.Skipped, fmt.Sprintf("%s (needs about %s, %s left of the budget)", name, need, time.Until(dl).Round(time.Second)))
		return
	}
	logf("step %s", name)
	if err := fn(ctx); err != nil {
		logf("step %s failed: %v", name, err)
		h.rep.Errors = append(h.rep.Errors, name+": "+err.Error())
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func describeMachine() machine {
	m := machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: nodeproc.LoadAvg()}
	if bz, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(bz), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if bz, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(bz))
	}
	if bz, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(bz), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				m.MemTotalKiB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return m
}
