package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veritrial/veritrial/testnet"
	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

// lgResult is the part of a loadgen result the harness uses.
type lgResult struct {
	CommittedTxPerSec float64 `json:"committed_tx_per_s"`
	ValuesPerSec      float64 `json:"item_values_per_s"`
	MeanTxBytes       float64 `json:"mean_tx_bytes"`
	MeanBlockTxs      float64 `json:"mean_block_txs"`
	Latency           struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	CPU []struct {
		Node    string  `json:"node"`
		Percent float64 `json:"percent"`
	} `json:"cpu"`
	Invalid struct {
		Sent      int `json:"sent"`
		Rejected  int `json:"rejected"`
		Committed int `json:"committed"`
	} `json:"invalid"`
	LoadAvg string `json:"loadavg_at_start"`
}

// Setups of the load runs.
const (
	setupSingle   = "1 node"
	setupLocalnet = "4 validators"
)

// loadRun is one loadgen run.
type loadRun struct {
	Setup  string          `json:"setup"` // "1 node" or "4 validators"
	App    string          `json:"app"`
	Mode   string          `json:"mode"` // "saturated" or "rate"
	Rate   float64         `json:"offered_rate,omitempty"`
	Sum    lgResult        `json:"-"`
	Result json.RawMessage `json:"result"`
}

// ratio compares veritrial with kvstore in one setup and mode.
type ratio struct {
	Setup     string  `json:"setup"`
	Mode      string  `json:"mode"`
	Metric    string  `json:"metric"`
	Veritrial float64 `json:"veritrial"`
	KVStore   float64 `json:"kvstore"`
	Ratio     float64 `json:"ratio"`
}

// proc is a node process the harness started.
type proc struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	stopped bool
}

func startProc(name, logPath, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	return &proc{name: name, cmd: cmd, log: f}, nil
}

// stop ends the process with SIGTERM, then SIGKILL after 30 s.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil || p.stopped {
		return
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.log.Close()
}

func stopAll(ps []*proc) {
	for _, p := range ps {
		p.stop()
	}
}

func pidList(ps []*proc) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.Itoa(p.cmd.Process.Pid))
	}
	return strings.Join(s, ",")
}

// waitReady waits until the node at rpc (host:port) has committed a
// block.
func waitReady(ctx context.Context, rpc string, d time.Duration) error {
	deadline := time.Now().Add(d)
	cl := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		resp, err := cl.Get("http://" + rpc + "/status")
		if err == nil {
			var st struct {
				Result struct {
					SyncInfo struct {
						Height string `json:"latest_block_height"`
					} `json:"sync_info"`
				} `json:"result"`
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if h, _ := strconv.Atoi(st.Result.SyncInfo.Height); err == nil && h >= 1 {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("node at %s did not commit a block within %s", rpc, d)
}

// run runs a command of the harness's binaries and returns its output.
func (h *harness) runBin(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(h.bin, name), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// loadgen runs one load run and records it.
func (h *harness) loadgen(ctx context.Context, setup, app, mode string, rate float64, extra ...string) (*loadRun, error) {
	file := filepath.Join(h.o.WorkDir, fmt.Sprintf("load-%s-%s-%s.json", strings.ReplaceAll(setup, " ", ""), app, mode))
	d := h.o.Duration
	if setup == setupLocalnet {
		d = h.o.LocalDuration
	}
	args := append([]string{"--app", app, "--duration", d.String(), "--concurrency", strconv.Itoa(h.o.Concurrency),
		"--out", file, "--label", setup + " " + mode, "--quiet"}, extra...)
	if rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(rate, 'f', 0, 64))
	}
	logf("loadgen %s: %s %s", setup, app, mode)
	out, err := h.runBin(ctx, "loadgen", args...)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(os.Stderr, out)
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := &loadRun{Setup: setup, App: app, Mode: mode, Rate: rate, Result: raw}
	if err := json.Unmarshal(raw, &r.Sum); err != nil {
		return nil, err
	}
	h.rep.Load = append(h.rep.Load, *r)
	return r, nil
}

// singleNode measures veritrial and kvstore on one node each: saturated,
// then both at the same offered load for latency.
func (h *harness) singleNode(ctx context.Context) error {
	b := h.o.BasePort
	vtHome, kvHome := filepath.Join(h.o.WorkDir, "single-vt"), filepath.Join(h.o.WorkDir, "single-kv")
	vtRPC, kvRPC := fmt.Sprintf("127.0.0.1:%d", b+1), fmt.Sprintf("127.0.0.1:%d", b+11)
	if _, err := h.runBin(ctx, "veritrial", "--home", vtHome, "init", "--chain-id", "bench-single", "--rpc-port", strconv.Itoa(b+1), "--p2p-port", strconv.Itoa(b), "--http-port", strconv.Itoa(b+2)); err != nil {
		return err
	}
	if _, err := h.runBin(ctx, "veritrial", "--home", kvHome, "init", "--chain-id", "bench-kvstore", "--rpc-port", strconv.Itoa(b+11), "--p2p-port", strconv.Itoa(b+10), "--http-port", strconv.Itoa(b+12)); err != nil {
		return err
	}
	if err := nodeproc.EnablePprof(vtHome, b+6); err != nil {
		return err
	}
	vtNode := func(log string) (*proc, error) {
		p, err := startProc("veritrial", filepath.Join(h.o.WorkDir, log), filepath.Join(h.bin, "veritrial"), "--home", vtHome, "start")
		if err != nil {
			return nil, err
		}
		if err := waitReady(ctx, vtRPC, 60*time.Second); err != nil {
			p.stop()
			return nil, err
		}
		return p, nil
	}

	vt, err := vtNode("single-vt.log")
	if err != nil {
		return err
	}
	prof := filepath.Join(h.o.OutDir, fmt.Sprintf("bench-%s-node.pprof", h.stamp))
	vtSat, err := h.loadgen(ctx, setupSingle, "veritrial", "saturated", 0, "--nodes", vtRPC, "--homes", vtHome,
		"--pids", pidList([]*proc{vt}), "--pprof", fmt.Sprintf("127.0.0.1:%d", b+6), "--pprof-out", prof)
	vt.stop()
	if err != nil {
		return err
	}
	if top, err := pprofTop(ctx, filepath.Join(h.bin, "veritrial"), prof); err == nil {
		h.rep.NodeProfile = top
	}
	txBytes := strconv.Itoa(int(math.Round(vtSat.Sum.MeanTxBytes)))

	kv, err := startProc("kvnode", filepath.Join(h.o.WorkDir, "single-kv.log"), filepath.Join(h.bin, "kvnode"), "--home", kvHome)
	if err != nil {
		return err
	}
	defer kv.stop()
	if err := waitReady(ctx, kvRPC, 60*time.Second); err != nil {
		return err
	}
	kvSat, err := h.loadgen(ctx, setupSingle, "kvstore", "saturated", 0, "--nodes", kvRPC, "--tx-bytes", txBytes, "--pids", pidList([]*proc{kv}))
	if err != nil {
		return err
	}
	if h.o.Skip["rate"] {
		return nil
	}
	rate := math.Round(h.o.RateFraction * min(vtSat.Sum.CommittedTxPerSec, kvSat.Sum.CommittedTxPerSec))
	if rate < 1 {
		return fmt.Errorf("no throughput to derive an offered load from")
	}
	if _, err := h.loadgen(ctx, setupSingle, "kvstore", "rate", rate, "--nodes", kvRPC, "--tx-bytes", txBytes, "--pids", pidList([]*proc{kv})); err != nil {
		return err
	}
	kv.stop()
	vt, err = vtNode("single-vt-2.log")
	if err != nil {
		return err
	}
	defer vt.stop()
	_, err = h.loadgen(ctx, setupSingle, "veritrial", "rate", rate, "--nodes", vtRPC, "--homes", vtHome, "--pids", pidList([]*proc{vt}))
	return err
}

// consortium is a four-validator localnet generated by veritrial testnet
// init, run either with veritrial or with kvnode.
type consortium struct {
	app   string
	dir   string
	rpcs  []string
	homes []string
	orgs  []string
}

func (h *harness) newConsortium(ctx context.Context, app string, base int) (*consortium, error) {
	dir := filepath.Join(h.o.WorkDir, "localnet-"+app)
	if _, err := h.runBin(ctx, "veritrial", "testnet", "init", "--orgs", "sponsor,site-1,site-2,regulator",
		"--out", dir, "--base-port", strconv.Itoa(base), "--chain-id", "bench-localnet-"+app); err != nil {
		return nil, err
	}
	bz, err := os.ReadFile(filepath.Join(dir, testnet.ManifestFile))
	if err != nil {
		return nil, err
	}
	var m testnet.Manifest
	if err := json.Unmarshal(bz, &m); err != nil {
		return nil, err
	}
	c := &consortium{app: app, dir: dir}
	for _, n := range m.Nodes {
		c.rpcs = append(c.rpcs, strings.TrimPrefix(n.RPC, "tcp://"))
		c.homes = append(c.homes, filepath.Join(dir, n.Home))
		c.orgs = append(c.orgs, n.Org)
	}
	return c, nil
}

// start runs every node and waits until each has committed a block.
func (h *harness) start(ctx context.Context, c *consortium, run int) ([]*proc, error) {
	var procs []*proc
	for i, home := range c.homes {
		log := filepath.Join(c.dir, fmt.Sprintf("%s-%d.log", c.orgs[i], run))
		var p *proc
		var err error
		if c.app == "veritrial" {
			p, err = startProc(c.orgs[i], log, filepath.Join(h.bin, "veritrial"), "--home", home, "start")
		} else {
			p, err = startProc(c.orgs[i], log, filepath.Join(h.bin, "kvnode"), "--home", home)
		}
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		procs = append(procs, p)
	}
	for _, r := range c.rpcs {
		if err := waitReady(ctx, r, 90*time.Second); err != nil {
			stopAll(procs)
			return nil, err
		}
	}
	return procs, nil
}

// load runs loadgen against the running consortium.
func (h *harness) loadNet(ctx context.Context, c *consortium, procs []*proc, mode string, rate float64, txBytes string, extra ...string) (*loadRun, error) {
	args := append([]string{"--nodes", strings.Join(c.rpcs, ","), "--pids", pidList(procs)}, extra...)
	if c.app == "veritrial" {
		args = append(args, "--homes", strings.Join(c.homes, ","))
	} else if txBytes != "" {
		args = append(args, "--tx-bytes", txBytes)
	}
	return h.loadgen(ctx, setupLocalnet, c.app, mode, rate, args...)
}

// localnet measures a four-validator consortium on this machine made by
// veritrial testnet init, running veritrial and then kvstore nodes:
// saturated, then both at the same offered load.
func (h *harness) localnet(ctx context.Context) error {
	if _, err := h.runBin(ctx, "veritrial", "testnet", "init", "--help"); err != nil {
		h.rep.Skipped = append(h.rep.Skipped, "localnet (this veritrial has no testnet init)")
		return nil
	}
	vtNet, err := h.newConsortium(ctx, "veritrial", h.o.BasePort+100)
	if err != nil {
		return err
	}
	kvNet, err := h.newConsortium(ctx, "kvstore", h.o.BasePort+200)
	if err != nil {
		return err
	}
	// The first validator serves pprof in the saturated run: where a
	// validator's CPU goes when four share the machine.
	pport := h.o.BasePort + 96
	if err := nodeproc.EnablePprof(vtNet.homes[0], pport); err != nil {
		return err
	}
	procs, err := h.start(ctx, vtNet, 1)
	if err != nil {
		return err
	}
	prof := filepath.Join(h.o.OutDir, fmt.Sprintf("bench-%s-localnet-node.pprof", h.stamp))
	vtSat, err := h.loadNet(ctx, vtNet, procs, "saturated", 0, "", "--pprof", fmt.Sprintf("127.0.0.1:%d", pport), "--pprof-out", prof)
	stopAll(procs)
	if err != nil {
		return err
	}
	if top, err := pprofTop(ctx, filepath.Join(h.bin, "veritrial"), prof); err == nil {
		h.rep.LocalnetProfile = top
	}
	txBytes := strconv.Itoa(int(math.Round(vtSat.Sum.MeanTxBytes)))
	if procs, err = h.start(ctx, kvNet, 1); err != nil {
		return err
	}
	defer func() { stopAll(procs) }()
	kvSat, err := h.loadNet(ctx, kvNet, procs, "saturated", 0, txBytes)
	if err != nil || h.o.Skip["rate"] {
		return err
	}
	rate := math.Round(h.o.RateFraction * min(vtSat.Sum.CommittedTxPerSec, kvSat.Sum.CommittedTxPerSec))
	if rate < 1 {
		return fmt.Errorf("no throughput to derive an offered load from")
	}
	if _, err := h.loadNet(ctx, kvNet, procs, "rate", rate, txBytes); err != nil {
		return err
	}
	stopAll(procs)
	if procs, err = h.start(ctx, vtNet, 2); err != nil {
		return err
	}
	_, err = h.loadNet(ctx, vtNet, procs, "rate", rate, "")
	return err
}

// ratios pairs the runs of the two apps.
func ratios(runs []loadRun) []ratio {
	find := func(setup, app, mode string) *loadRun {
		for i := range runs {
			if runs[i].Setup == setup && runs[i].App == app && runs[i].Mode == mode {
				return &runs[i]
			}
		}
		return nil
	}
	var out []ratio
	add := func(setup, mode, metric string, get func(lgResult) float64) {
		v, k := find(setup, "veritrial", mode), find(setup, "kvstore", mode)
		if v == nil || k == nil || get(k.Sum) == 0 {
			return
		}
		a, b := get(v.Sum), get(k.Sum)
		out = append(out, ratio{Setup: setup, Mode: mode, Metric: metric, Veritrial: a, KVStore: b, Ratio: math.Round(a/b*100) / 100})
	}
	for _, setup := range []string{setupSingle, setupLocalnet} {
		add(setup, "saturated", "committed tx/s", func(r lgResult) float64 { return r.CommittedTxPerSec })
		add(setup, "saturated", "p50 latency ms", func(r lgResult) float64 { return r.Latency.P50 })
		add(setup, "rate", "committed tx/s", func(r lgResult) float64 { return r.CommittedTxPerSec })
		add(setup, "rate", "p50 latency ms", func(r lgResult) float64 { return r.Latency.P50 })
		add(setup, "rate", "p99 latency ms", func(r lgResult) float64 { return r.Latency.P99 })
	}
	return out
}

// printReport writes the tables of rep.
func printReport(w io.Writer, rep *Report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s; load %s -> %s\n", m.NProc, m.CPUModel, m.GoVersion, m.LoadStart, m.LoadEnd)
	if len(rep.Load) > 0 {
		fmt.Fprintf(w, "\n%-13s %-10s %-9s %9s %11s %9s %9s %8s  %s\n", "setup", "app", "mode", "offered", "committed/s", "values/s", "p50 ms", "p99 ms", "cpu % (nodes; loadgen)")
		for _, r := range rep.Load {
			var cpus []string
			for _, c := range r.Sum.CPU {
				cpus = append(cpus, fmt.Sprintf("%.0f", c.Percent))
			}
			offered := "max"
			if r.Rate > 0 {
				offered = fmt.Sprintf("%.0f", r.Rate)
			}
			fmt.Fprintf(w, "%-13s %-10s %-9s %9s %11.1f %9.0f %9.0f %8.0f  %s\n", r.Setup, r.App, r.Mode, offered,
				r.Sum.CommittedTxPerSec, r.Sum.ValuesPerSec, r.Sum.Latency.P50, r.Sum.Latency.P99, strings.Join(cpus, " "))
		}
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintf(w, "\n%-13s %-9s %-15s %10s %10s %6s\n", "setup", "mode", "metric", "veritrial", "kvstore", "ratio")
		for _, r := range rep.Ratios {
			fmt.Fprintf(w, "%-13s %-9s %-15s %10.1f %10.1f %6.2f\n", r.Setup, r.Mode, r.Metric, r.Veritrial, r.KVStore, r.Ratio)
		}
	}
	if len(rep.Curve) > 0 {
		fmt.Fprintf(w, "\nFinalizeBlock+Commit of 1,000 20-item forms (node path: CheckTx of each tx first)\n%10s %12s %9s %8s %12s %12s %15s\n", "prefill", "values after", "tx/s", "vs first", "values/s", "disk B/value", "node path tx/s")
		for _, c := range rep.Curve {
			fmt.Fprintf(w, "%10d %12.0f %9.0f %7.0f%% %12.0f %12.0f %15.0f\n", c.Prefill, c.Values, c.TxPerSec, 100*c.TxPerSec/rep.Curve[0].TxPerSec, c.ValuesPerSec, c.DiskPerValue, c.NodePathTxPerSec)
		}
	}
	if len(rep.Go) > 0 {
		fmt.Fprintf(w, "\n%-40s %14s %12s %12s\n", "Go benchmark", "ns/op", "B/op", "allocs/op")
		for _, b := range rep.Go {
			fmt.Fprintf(w, "%-40s %14.0f %12.0f %12.0f\n", filepath.Base(b.Package)+"."+b.Name, b.Metrics["ns/op"], b.Metrics["B/op"], b.Metrics["allocs/op"])
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", firstLine(e))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
