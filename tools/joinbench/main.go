// Command joinbench times a new node catching up with a running veritrial
// chain by state sync and by block replay. It builds a chain of a given
// number of stored item values on one validator with loadgen, lets the
// validator take a snapshot, then starts a fresh non-validator node on
// the same genesis, alternately with --state-sync and without, and times
// each until it has caught up (CometBFT's catching_up is false at the
// validator's height). See docs/PERFORMANCE.md, "Joining a running
// consortium".
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "joinbench:", err)
		os.Exit(1)
	}
}

// result is one timed catch-up.
type result struct {
	Mode   string  `json:"mode"` // "state sync" or "replay"
	Run    int     `json:"run"`
	Target int64   `json:"target_height"`
	Sec    float64 `json:"seconds"`
	// LogLines are the joining node's lines about what it trusted, the
	// restore and catching up.
	LogLines []string `json:"log_lines"`
}

type report struct {
	Values    int      `json:"item_values"`
	Height    int64    `json:"validator_height"`
	Snapshot  string   `json:"snapshot_log_line"`
	Results   []result `json:"results"`
	MeanSync  float64  `json:"mean_state_sync_s"`
	MeanPlay  float64  `json:"mean_replay_s"`
	Ratio     float64  `json:"replay_over_state_sync"`
	StartedAt string   `json:"started_at"`
}

func run() error {
	bin := flag.String("bin", "", "directory holding the veritrial and loadgen binaries (required)")
	work := flag.String("work", "", "scratch directory (required; the validator's home is kept there and reused when it exists)")
	values := flag.Int("values", 1_000_000, "item values to store before the timed runs")
	runs := flag.Int("runs", 3, "catch-ups timed per mode")
	base := flag.Int("base-port", 28700, "validator p2p port; RPC and the read API are the next two, the joining node uses base+10 to base+12")
	out := flag.String("out", "", "JSON result file")
	flag.Parse()
	if *bin == "" || *work == "" {
		return errors.New("--bin and --work are required")
	}
	vt := filepath.Join(*bin, "veritrial")
	h := &harness{vt: vt, loadgen: filepath.Join(*bin, "loadgen"), work: *work, base: *base}
	rep := &report{StartedAt: time.Now().UTC().Format(time.RFC3339)}
	var err error
	if rep.Values, err = h.buildChain(*values); err != nil {
		return err
	}
	val, snapLine, err := h.startValidator(true)
	if err != nil {
		return err
	}
	defer val.Stop()
	rep.Snapshot = snapLine
	if rep.Height, err = nodeproc.Height(h.rpc(0)); err != nil {
		return err
	}
	var sums [2]float64
	for r := 1; r <= *runs; r++ {
		for m, mode := range []string{"state sync", "replay"} {
			res, err := h.join(mode, r)
			if err != nil {
				return err
			}
			fmt.Printf("%-10s run %d: caught up with height %d in %.1f s\n", mode, r, res.Target, res.Sec)
			rep.Results = append(rep.Results, *res)
			sums[m] += res.Sec
		}
	}
	rep.MeanSync, rep.MeanPlay = sums[0]/float64(*runs), sums[1]/float64(*runs)
	rep.Ratio = rep.MeanPlay / rep.MeanSync
	fmt.Printf("%d item values, height %d: state sync %.1f s, replay %.1f s (mean of %d), replay / state sync = %.1f\n",
		rep.Values, rep.Height, rep.MeanSync, rep.MeanPlay, *runs, rep.Ratio)
	if *out != "" {
		bz, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(*out, append(bz, '\n'), 0o644)
	}
	return nil
}

type harness struct {
	vt, loadgen, work string
	base              int
}

func (h *harness) home(name string) string { return filepath.Join(h.work, name) }

// rpc is the RPC address of node i (0: the validator, 1: the joining node).
func (h *harness) rpc(i int) string { return fmt.Sprintf("127.0.0.1:%d", h.base+10*i+1) }

// buildChain makes the validator's home and fills it with loadgen until
// it holds at least values item values; a home already holding them (the
// count is kept in values.txt) is reused.
func (h *harness) buildChain(values int) (int, error) {
	countFile := h.home("values.txt")
	have := 0
	if bz, err := os.ReadFile(countFile); err == nil {
		have, _ = strconv.Atoi(strings.TrimSpace(string(bz)))
	} else {
		if err := os.MkdirAll(h.work, 0o755); err != nil {
			return 0, err
		}
		if err := h.vtRun("--home", h.home("val"), "init", "--rpc-port", strconv.Itoa(h.base+1), "--p2p-port", strconv.Itoa(h.base), "--http-port", strconv.Itoa(h.base+2)); err != nil {
			return 0, err
		}
	}
	if have >= values {
		return have, nil
	}
	val, _, err := h.startValidator(false)
	if err != nil {
		return 0, err
	}
	defer val.Stop()
	for have < values {
		d := min(120, max(20, (values-have)/60_000)) // about 60k values/s on one node
		res := filepath.Join(h.work, "loadgen.json")
		cmd := exec.Command(h.loadgen, "--nodes", h.rpc(0), "--homes", h.home("val"), "--duration", fmt.Sprintf("%ds", d),
			"--invalid", "0", "--corrections", "0", "--ttl", "500", "--quiet", "--out", res)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return have, fmt.Errorf("loadgen: %w", err)
		}
		var r struct {
			Values int `json:"item_values"`
		}
		bz, err := os.ReadFile(res)
		if err == nil {
			err = json.Unmarshal(bz, &r)
		}
		if err != nil {
			return have, err
		}
		have += r.Values
		if err := os.WriteFile(countFile, []byte(strconv.Itoa(have)), 0o644); err != nil {
			return have, err
		}
		fmt.Printf("the chain holds about %d item values\n", have)
	}
	return have, nil
}

// startValidator starts the validator. With snapshot set it takes one
// snapshot, a few blocks after the current height, waits until it is
// offered to joining nodes and returns its log line; no other is taken
// during the runs.
func (h *harness) startValidator(snapshot bool) (*nodeproc.Proc, string, error) {
	args := []string{"--home", h.home("val"), "start", "--snapshot-interval", "0"}
	if snapshot {
		// Start once to learn the height, then restart with an interval
		// just above it: one snapshot a few blocks later, the next far off.
		p, err := h.launchValidator(args)
		if err != nil {
			return nil, "", err
		}
		cur, err := nodeproc.Height(h.rpc(0))
		p.Stop()
		if err != nil {
			return nil, "", err
		}
		args[len(args)-1] = strconv.FormatInt(cur+3, 10)
	}
	var logged int64
	if st, err := os.Stat(h.home("val.log")); err == nil {
		logged = st.Size()
	}
	p, err := h.launchValidator(args)
	if err != nil || !snapshot {
		return p, "", err
	}
	line, err := waitLog(h.home("val.log"), logged, "snapshot taken", 30*time.Minute)
	if err == nil {
		// A snapshot is offered once the two heights after it are committed.
		m := regexp.MustCompile(`height=(\d+)`).FindStringSubmatch(line)
		if m == nil {
			err = fmt.Errorf("no height in %q", line)
		} else {
			snap, _ := strconv.ParseInt(m[1], 10, 64)
			err = nodeproc.WaitHeight(h.rpc(0), snap+2, time.Minute)
		}
	}
	if err != nil {
		p.Stop()
	}
	return p, line, err
}

// launchValidator starts the validator with args and waits for its
// first block.
func (h *harness) launchValidator(args []string) (*nodeproc.Proc, error) {
	p, err := nodeproc.Start(h.vt, h.home("val.log"), args...)
	if err != nil {
		return nil, err
	}
	if err := nodeproc.WaitHeight(h.rpc(0), 1, time.Minute); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// join makes a fresh home for a node that is not a validator, on the
// validator's genesis with the validator as its peer, starts it (with
// --state-sync in mode "state sync") and times it until it has caught up
// with the validator's height at its start.
func (h *harness) join(mode string, run int) (*result, error) {
	home := h.home("join")
	if err := os.RemoveAll(home); err != nil {
		return nil, err
	}
	if err := h.vtRun("--home", home, "init", "--rpc-port", strconv.Itoa(h.base+11), "--p2p-port", strconv.Itoa(h.base+10), "--http-port", strconv.Itoa(h.base+12)); err != nil {
		return nil, err
	}
	gen, err := os.ReadFile(filepath.Join(h.home("val"), "config", "genesis.json"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), gen, 0o600); err != nil {
		return nil, err
	}
	key, err := p2p.LoadNodeKey(filepath.Join(h.home("val"), "config", "node_key.json"))
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(home, "config", "config.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	peer := fmt.Sprintf("%s@127.0.0.1:%d", key.ID(), h.base)
	cfg = regexp.MustCompile(`(?m)^persistent_peers = .*$`).ReplaceAll(cfg, []byte(`persistent_peers = "`+peer+`"`))
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, err
	}
	target, err := nodeproc.Height(h.rpc(0))
	if err != nil {
		return nil, err
	}
	args := []string{"--home", home, "start", "--snapshot-interval", "0"}
	if mode == "state sync" {
		args = append(args, "--state-sync", h.rpc(0)+","+h.rpc(0))
	}
	logPath := filepath.Join(h.work, fmt.Sprintf("join-%s-%d.log", strings.ReplaceAll(mode, " ", ""), run))
	t0 := time.Now()
	p, err := nodeproc.Start(h.vt, logPath, args...)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	for {
		if time.Since(t0) > 2*time.Hour {
			return nil, fmt.Errorf("%s run %d: not caught up after 2 h", mode, run)
		}
		if p.Exited() {
			return nil, fmt.Errorf("%s run %d: the node exited; see %s", mode, run, logPath)
		}
		st, err := nodeproc.GetStatus(h.rpc(1))
		if err == nil && !st.CatchingUp && st.Height >= target {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := &result{Mode: mode, Run: run, Target: target, Sec: time.Since(t0).Seconds()}
	bz, _ := os.ReadFile(logPath)
	for _, l := range strings.Split(string(bz), "\n") {
		for _, what := range []string{"trusting the header", "state restored from a snapshot", "caught up with the consortium"} {
			if strings.Contains(l, what) {
				res.LogLines = append(res.LogLines, l)
			}
		}
	}
	return res, nil
}

func (h *harness) vtRun(args ...string) error {
	out, err := exec.Command(h.vt, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("veritrial %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// waitLog waits for a line containing what in the log after its first
// from bytes.
func waitLog(path string, from int64, what string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		bz, err := os.ReadFile(path)
		if err == nil && int64(len(bz)) > from {
			for _, l := range strings.Split(string(bz[from:]), "\n") {
				if strings.Contains(l, what) {
					return l, nil
				}
			}
		}
		time.Sleep(time.Second)
	}
	return "", fmt.Errorf("no %q in %s within %s", what, path, within)
}
