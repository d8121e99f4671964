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
	"slices"
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
	LoadAvg    string `json:"loadavg_at_start"`
	FromHeight int64  `json:"from_height"`
	ToHeight   int64  `json:"to_height"`
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
	Run    int             `json:"run"`  // round, from 1
	Rate   float64         `json:"offered_rate,omitempty"`
	Sum    lgResult        `json:"-"`
	Result json.RawMessage `json:"result"`
	// Heights splits the measured heights of the node (the first
	// validator, on the localnet) into their steps, from its log.
	Heights *heightSplit `json:"heights,omitempty"`
}

// nodeCPUPerTx is the CPU the nodes spent per committed tx, in
// milliseconds (equally, CPU-seconds per 1,000 committed txs): the sum of
// the nodes' CPU over the measured phase, the load generator's own
// excluded, over the committed txs. It does not depend on how fast the
// machine's clock runs the way tx/s does.
func nodeCPUPerTx(r lgResult) float64 {
	if r.CommittedTxPerSec <= 0 {
		return 0
	}
	var pct float64
	for _, c := range r.CPU {
		if c.Node != "loadgen" {
			pct += c.Percent
		}
	}
	return pct / 100 / r.CommittedTxPerSec * 1000
}

// ratio compares veritrial with kvstore in one setup and mode over the
// rounds in which both ran: the apps' means, and the mean, least and
// greatest of the rounds' ratios.
type ratio struct {
	Setup     string  `json:"setup"`
	Mode      string  `json:"mode"`
	Metric    string  `json:"metric"`
	Veritrial float64 `json:"veritrial"`
	KVStore   float64 `json:"kvstore"`
	Ratio     float64 `json:"ratio"`
	Min       float64 `json:"ratio_min"`
	Max       float64 `json:"ratio_max"`
	Runs      int     `json:"runs"`
}

// proc is a node process the harness started.
type proc struct {
	name    string
	logPath string
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
	return &proc{name: name, logPath: logPath, cmd: cmd, log: f}, nil
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
// The node's log, nodeLog, gives the run's split of its heights.
func (h *harness) loadgen(ctx context.Context, setup, app, mode string, run int, rate float64, nodeLog string, extra ...string) (*loadRun, error) {
	file := filepath.Join(h.o.WorkDir, fmt.Sprintf("load-%s-%s-%s-%d.json", strings.ReplaceAll(setup, " ", ""), app, mode, run))
	d := h.o.Duration
	if setup == setupLocalnet {
		d = h.o.LocalDuration
	}
	args := append([]string{"--app", app, "--duration", d.String(), "--concurrency", strconv.Itoa(h.o.Concurrency),
		"--out", file, "--label", fmt.Sprintf("%s %s, round %d", setup, mode, run), "--quiet"}, extra...)
	if rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(rate, 'f', 0, 64))
	}
	logf("loadgen %s: %s %s, round %d of %d", setup, app, mode, run, h.o.Runs)
	out, err := h.runBin(ctx, "loadgen", args...)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(os.Stderr, out)
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := &loadRun{Setup: setup, App: app, Mode: mode, Run: run, Rate: rate, Result: raw}
	if err := json.Unmarshal(raw, &r.Sum); err != nil {
		return nil, err
	}
	if r.Heights, err = splitLog(nodeLog, r); err != nil {
		logf("no split of the heights of %s: %v", nodeLog, err)
	}
	h.rep.Load = append(h.rep.Load, *r)
	return r, nil
}

// singleNode measures veritrial and kvstore on one node each, in
// --runs rounds: saturated, then both at the same offered load for
// latency (the load derived from the first round's saturated runs, so
// that every round offers the same).
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
	node := func(rpc, log, bin string, args ...string) (*proc, error) {
		p, err := startProc(filepath.Base(bin), filepath.Join(h.o.WorkDir, log), bin, args...)
		if err != nil {
			return nil, err
		}
		if err := waitReady(ctx, rpc, 60*time.Second); err != nil {
			p.stop()
			return nil, err
		}
		return p, nil
	}
	vtNode := func(log string) (*proc, error) {
		return node(vtRPC, log, filepath.Join(h.bin, "veritrial"), "--home", vtHome, "start", "--log-level", consensusLogLevel)
	}
	kvNode := func(log string) (*proc, error) {
		return node(kvRPC, log, filepath.Join(h.bin, "kvnode"), "--home", kvHome, "--log-level", consensusLogLevel)
	}
	var rate float64
	for run := 1; run <= h.o.Runs; run++ {
		vt, err := vtNode(fmt.Sprintf("single-vt-%d.log", run))
		if err != nil {
			return err
		}
		extra := []string{"--nodes", vtRPC, "--homes", vtHome, "--pids", pidList([]*proc{vt})}
		prof := filepath.Join(h.o.OutDir, fmt.Sprintf("bench-%s-node.pprof", h.stamp))
		if run == 1 {
			extra = append(extra, "--pprof", fmt.Sprintf("127.0.0.1:%d", b+6), "--pprof-out", prof)
		}
		vtSat, err := h.loadgen(ctx, setupSingle, "veritrial", "saturated", run, 0, vt.logPath, extra...)
		vt.stop()
		if err != nil {
			return err
		}
		if run == 1 {
			if top, err := pprofTop(ctx, filepath.Join(h.bin, "veritrial"), prof); err == nil {
				h.rep.NodeProfile = top
			}
		}
		txBytes := strconv.Itoa(int(math.Round(vtSat.Sum.MeanTxBytes)))
		kv, err := kvNode(fmt.Sprintf("single-kv-%d.log", run))
		if err != nil {
			return err
		}
		kvArgs := []string{"--nodes", kvRPC, "--tx-bytes", txBytes, "--pids", pidList([]*proc{kv})}
		kvSat, err := h.loadgen(ctx, setupSingle, "kvstore", "saturated", run, 0, kv.logPath, kvArgs...)
		if err != nil || h.o.Skip["rate"] {
			kv.stop()
			if err != nil {
				return err
			}
			continue
		}
		if rate == 0 {
			if rate = math.Round(h.o.RateFraction * min(vtSat.Sum.CommittedTxPerSec, kvSat.Sum.CommittedTxPerSec)); rate < 1 {
				kv.stop()
				return fmt.Errorf("no throughput to derive an offered load from")
			}
		}
		_, err = h.loadgen(ctx, setupSingle, "kvstore", "rate", run, rate, kv.logPath, kvArgs...)
		kv.stop()
		if err != nil {
			return err
		}
		if vt, err = vtNode(fmt.Sprintf("single-vt-%d-rate.log", run)); err != nil {
			return err
		}
		_, err = h.loadgen(ctx, setupSingle, "veritrial", "rate", run, rate, vt.logPath, "--nodes", vtRPC, "--homes", vtHome, "--pids", pidList([]*proc{vt}))
		vt.stop()
		if err != nil {
			return err
		}
	}
	return nil
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
			p, err = startProc(c.orgs[i], log, filepath.Join(h.bin, "veritrial"), "--home", home, "start", "--log-level", consensusLogLevel)
		} else {
			p, err = startProc(c.orgs[i], log, filepath.Join(h.bin, "kvnode"), "--home", home, "--log-level", consensusLogLevel)
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
func (h *harness) loadNet(ctx context.Context, c *consortium, procs []*proc, mode string, run int, rate float64, txBytes string, extra ...string) (*loadRun, error) {
	args := append([]string{"--nodes", strings.Join(c.rpcs, ","), "--pids", pidList(procs)}, extra...)
	if c.app == "veritrial" {
		args = append(args, "--homes", strings.Join(c.homes, ","))
	} else if txBytes != "" {
		args = append(args, "--tx-bytes", txBytes)
	}
	return h.loadgen(ctx, setupLocalnet, c.app, mode, run, rate, procs[0].logPath, args...)
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
	var rate float64
	for run := 1; run <= h.o.Runs; run++ {
		if rate, err = h.localnetRound(ctx, vtNet, kvNet, run, pport, rate); err != nil {
			return err
		}
	}
	return nil
}

// localnetRound is one round of the localnet step; rate is the offered
// load of the latency runs, derived in the first round (rate 0) and
// returned for the next.
func (h *harness) localnetRound(ctx context.Context, vtNet, kvNet *consortium, run, pport int, rate float64) (float64, error) {
	procs, err := h.start(ctx, vtNet, 2*run-1)
	if err != nil {
		return rate, err
	}
	var extra []string
	prof := filepath.Join(h.o.OutDir, fmt.Sprintf("bench-%s-localnet-node.pprof", h.stamp))
	if run == 1 {
		extra = []string{"--pprof", fmt.Sprintf("127.0.0.1:%d", pport), "--pprof-out", prof}
	}
	vtSat, err := h.loadNet(ctx, vtNet, procs, "saturated", run, 0, "", extra...)
	stopAll(procs)
	if err != nil {
		return rate, err
	}
	if run == 1 {
		if top, err := pprofTop(ctx, filepath.Join(h.bin, "veritrial"), prof); err == nil {
			h.rep.LocalnetProfile = top
		}
	}
	txBytes := strconv.Itoa(int(math.Round(vtSat.Sum.MeanTxBytes)))
	if procs, err = h.start(ctx, kvNet, run); err != nil {
		return rate, err
	}
	defer func() { stopAll(procs) }()
	kvSat, err := h.loadNet(ctx, kvNet, procs, "saturated", run, 0, txBytes)
	if err != nil || h.o.Skip["rate"] {
		return rate, err
	}
	if rate == 0 {
		if rate = math.Round(h.o.RateFraction * min(vtSat.Sum.CommittedTxPerSec, kvSat.Sum.CommittedTxPerSec)); rate < 1 {
			return rate, fmt.Errorf("no throughput to derive an offered load from")
		}
	}
	if _, err := h.loadNet(ctx, kvNet, procs, "rate", run, rate, txBytes); err != nil {
		return rate, err
	}
	stopAll(procs)
	if procs, err = h.start(ctx, vtNet, 2*run); err != nil {
		return rate, err
	}
	_, err = h.loadNet(ctx, vtNet, procs, "rate", run, rate, "")
	return rate, err
}

// ratios pairs the runs of the two apps, round by round, and sums each
// pair up over the rounds.
func ratios(runs []loadRun) []ratio {
	find := func(setup, app, mode string, run int) *loadRun {
		for i := range runs {
			if r := &runs[i]; r.Setup == setup && r.App == app && r.Mode == mode && r.Run == run {
				return r
			}
		}
		return nil
	}
	last := 0
	for _, r := range runs {
		last = max(last, r.Run)
	}
	var out []ratio
	add := func(setup, mode, metric string, get func(lgResult) float64) {
		q := ratio{Setup: setup, Mode: mode, Metric: metric}
		var sum float64
		for run := 1; run <= last; run++ {
			v, k := find(setup, "veritrial", mode, run), find(setup, "kvstore", mode, run)
			if v == nil || k == nil || get(k.Sum) == 0 {
				continue
			}
			a, b := get(v.Sum), get(k.Sum)
			r := a / b
			if q.Runs == 0 || r < q.Min {
				q.Min = r
			}
			q.Max = max(q.Max, r)
			q.Veritrial, q.KVStore, sum = q.Veritrial+a, q.KVStore+b, sum+r
			q.Runs++
		}
		if q.Runs == 0 {
			return
		}
		n := float64(q.Runs)
		q.Veritrial, q.KVStore = round(q.Veritrial/n, 100), round(q.KVStore/n, 100)
		q.Ratio, q.Min, q.Max = round(sum/n, 100), round(q.Min, 100), round(q.Max, 100)
		out = append(out, q)
	}
	for _, setup := range []string{setupSingle, setupLocalnet} {
		add(setup, "saturated", "committed tx/s", func(r lgResult) float64 { return r.CommittedTxPerSec })
		add(setup, "saturated", "node CPU ms/tx", nodeCPUPerTx)
		add(setup, "saturated", "p50 latency ms", func(r lgResult) float64 { return r.Latency.P50 })
		add(setup, "rate", "committed tx/s", func(r lgResult) float64 { return r.CommittedTxPerSec })
		add(setup, "rate", "node CPU ms/tx", nodeCPUPerTx)
		add(setup, "rate", "p50 latency ms", func(r lgResult) float64 { return r.Latency.P50 })
		add(setup, "rate", "p99 latency ms", func(r lgResult) float64 { return r.Latency.P99 })
	}
	return out
}

// split is the mean height split of the rounds of one setup, app and
// mode.
type split struct {
	setup, app, mode string
	s                heightSplit
}

// heightSplits averages the runs' height splits over the rounds, in the
// order the runs first appear.
func heightSplits(runs []loadRun) []split {
	var out []split
	n := map[int]float64{}
	for _, r := range runs {
		if r.Heights == nil {
			continue
		}
		i := slices.IndexFunc(out, func(x split) bool { return x.setup == r.Setup && x.app == r.App && x.mode == r.Mode })
		if i < 0 {
			out = append(out, split{setup: r.Setup, app: r.App, mode: r.Mode})
			i = len(out) - 1
		}
		n[i]++
		a, b := &out[i].s, r.Heights
		a.Heights += b.Heights
		a.TxsPerBlock, a.Propose, a.Vote, a.Finalize = a.TxsPerBlock+b.TxsPerBlock, a.Propose+b.Propose, a.Vote+b.Vote, a.Finalize+b.Finalize
		a.Commit, a.Wait, a.Height = a.Commit+b.Commit, a.Wait+b.Wait, a.Height+b.Height
	}
	for i := range out {
		a := &out[i].s
		for _, f := range []*float64{&a.TxsPerBlock, &a.Propose, &a.Vote, &a.Finalize, &a.Commit, &a.Wait, &a.Height} {
			*f = round(*f/n[i], 10)
		}
	}
	return out
}

// round rounds x to 1/per.
func round(x, per float64) float64 { return math.Round(x*per) / per }

// printReport writes the tables of rep.
func printReport(w io.Writer, rep *Report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %s; load %s -> %s\n", m.NProc, m.CPUModel, m.GoVersion, m.LoadStart, m.LoadEnd)
	if len(rep.Load) > 0 {
		fmt.Fprintf(w, "\n%-13s %-10s %-9s %5s %9s %11s %9s %9s %8s %10s  %s\n", "setup", "app", "mode", "round", "offered", "committed/s", "values/s", "p50 ms", "p99 ms", "CPU ms/tx", "cpu % (nodes; loadgen)")
		for _, r := range rep.Load {
			var cpus []string
			for _, c := range r.Sum.CPU {
				cpus = append(cpus, fmt.Sprintf("%.0f", c.Percent))
			}
			offered := "max"
			if r.Rate > 0 {
				offered = fmt.Sprintf("%.0f", r.Rate)
			}
			fmt.Fprintf(w, "%-13s %-10s %-9s %5d %9s %11.1f %9.0f %9.0f %8.0f %10.3f  %s\n", r.Setup, r.App, r.Mode, r.Run, offered,
				r.Sum.CommittedTxPerSec, r.Sum.ValuesPerSec, r.Sum.Latency.P50, r.Sum.Latency.P99, nodeCPUPerTx(r.Sum), strings.Join(cpus, " "))
		}
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintf(w, "\nmeans over the rounds; ratio: mean of the rounds' ratios, and their range\n%-13s %-9s %-15s %10s %10s %6s %11s %6s\n", "setup", "mode", "metric", "veritrial", "kvstore", "ratio", "range", "rounds")
		for _, r := range rep.Ratios {
			fmt.Fprintf(w, "%-13s %-9s %-15s %10.2f %10.2f %6.2f %5.2f-%-5.2f %6d\n", r.Setup, r.Mode, r.Metric, r.Veritrial, r.KVStore, r.Ratio, r.Min, r.Max, r.Runs)
		}
	}
	if sp := heightSplits(rep.Load); len(sp) > 0 {
		fmt.Fprintf(w, "\nwhere a height's time goes, ms (means over the measured heights and the rounds; the first validator on the localnet)\n%-13s %-10s %-9s %7s %8s %8s %8s %8s %8s %8s\n", "setup", "app", "mode", "txs", "propose", "vote", "finalize", "commit", "wait", "height")
		for _, x := range sp {
			fmt.Fprintf(w, "%-13s %-10s %-9s %7.0f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n", x.setup, x.app, x.mode, x.s.TxsPerBlock, x.s.Propose, x.s.Vote, x.s.Finalize, x.s.Commit, x.s.Wait, x.s.Height)
		}
	}
	if len(rep.Curve) > 0 {
		fmt.Fprintf(w, "\nFinalizeBlock+Commit of 1,000 adverse event forms (node path: CheckTx of each tx first)\n%10s %12s %9s %8s %12s %12s %15s\n", "prefill", "values after", "tx/s", "vs first", "values/s", "disk B/value", "node path tx/s")
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
