// Command loadgen drives a realistic CRF workload against one or more
// veritrial nodes over RPC (or, with --app kvstore, key=value txs of the
// same size against CometBFT's kvstore baseline) and reports committed
// tx/s and item values/s counted from the blocks, latency from broadcast to
// commit, rejections by code and CPU per node, as a table and a JSON file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veritrial/veritrial/app/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// config holds the command-line settings.
type config struct {
	App         string
	Nodes       []string
	Homes       []string
	Passphrase  string
	Concurrency int
	Duration    time.Duration
	Rate        float64
	Invalid     float64
	Corrections float64
	Subjects    int
	TxBytes     int
	Prebuild    int
	TTL         int64
	Drain       time.Duration
	PIDs        []int
	Out         string
	Label       string
	PprofURL    string
	PprofOut    string
	Quiet       bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var nodes, homes, pids string
	fs.StringVar(&c.App, "app", "veritrial", "application behind the nodes: veritrial or kvstore")
	fs.StringVar(&nodes, "nodes", "127.0.0.1:26657", "comma-separated RPC addresses; txs are spread over them")
	fs.StringVar(&homes, "homes", "", "comma-separated veritrial homes whose keyrings hold the keys (veritrial only)")
	fs.StringVar(&c.Passphrase, "passphrase", node.DevPassphrase, "passphrase of the keys (the dev passphrase by default)")
	fs.IntVar(&c.Concurrency, "concurrency", 16, "concurrent broadcast_tx_sync clients")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "length of the measured phase")
	fs.Float64Var(&c.Rate, "rate", 0, "offered load in tx/s over all clients; 0 sends as fast as the nodes admit")
	fs.Float64Var(&c.Invalid, "invalid", 0.05, "share of submissions with an out-of-range value, which must be rejected")
	fs.Float64Var(&c.Corrections, "corrections", 0.10, "share of corrections (with a reason) of forms entered in the setup")
	fs.IntVar(&c.Subjects, "subjects", 200, "subjects enrolled in the setup, spread over the sites")
	fs.IntVar(&c.TxBytes, "tx-bytes", 0, "kvstore tx size; 0 means the size of a signed veritrial adverse event submission")
	fs.IntVar(&c.Prebuild, "prebuild", -1, "txs signed before the measured phase; -1 means 5,000 per second of --duration (max 200,000)")
	fs.Int64Var(&c.TTL, "ttl", 500, "blocks a signed veritrial tx stays valid")
	fs.DurationVar(&c.Drain, "drain", 20*time.Second, "how long to wait after the measured phase for accepted txs to commit")
	fs.StringVar(&pids, "pids", "", "comma-separated node process IDs, in --nodes order, for CPU per node")
	fs.StringVar(&c.Out, "out", "", "write the JSON result to this file")
	fs.StringVar(&c.Label, "label", "", "label of the run in the result")
	fs.StringVar(&c.PprofURL, "pprof", "", "pprof address of a node (e.g. 127.0.0.1:6060): take a CPU profile during the measured phase")
	fs.StringVar(&c.PprofOut, "pprof-out", "cpu.pprof", "where to write the CPU profile")
	fs.BoolVar(&c.Quiet, "quiet", false, "print only the result table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadgen [--app veritrial|kvstore] [--nodes ADDR,...] [--homes DIR,...] [--duration 30s] [--concurrency 16] [--out result.json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Nodes = splitList(nodes)
	c.Homes = splitList(homes)
	for _, p := range splitList(pids) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--pids: %q is not a process ID", p)
		}
		c.PIDs = append(c.PIDs, n)
	}
	switch {
	case c.App != "veritrial" && c.App != "kvstore":
		return nil, fmt.Errorf("--app %q: use veritrial or kvstore", c.App)
	case len(c.Nodes) == 0:
		return nil, errors.New("--nodes: give at least one RPC address")
	case c.App == "veritrial" && len(c.Homes) == 0:
		return nil, errors.New("--homes: give the veritrial home(s) whose keyrings hold a data manager (*-dm) and site coordinator (*-coordinator) keys")
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return nil, errors.New("--concurrency must be 1 to 1024")
	case c.Duration <= 0 || c.Duration > time.Hour:
		return nil, errors.New("--duration must be above 0 and at most 1h")
	case c.Rate < 0:
		return nil, errors.New("--rate must be 0 or more")
	case c.Invalid < 0 || c.Corrections < 0 || c.Invalid+c.Corrections > 1:
		return nil, errors.New("--invalid and --corrections are shares from 0 to 1 with a sum of at most 1")
	case c.Subjects < 1 || c.Subjects > 99999:
		return nil, errors.New("--subjects must be 1 to 99,999")
	case len(c.PIDs) > 0 && len(c.PIDs) != len(c.Nodes):
		return nil, fmt.Errorf("--pids has %d entries for %d nodes", len(c.PIDs), len(c.Nodes))
	case c.TTL < 10:
		return nil, errors.New("--ttl must be at least 10 blocks")
	}
	if c.Prebuild < 0 {
		c.Prebuild = min(200000, int(c.Duration.Seconds()*5000))
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func run(args []string, stdout io.Writer) error {
	c, err := parseFlags(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) {
		if !c.Quiet {
			fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", a...)
		}
	}
	res, err := runLoad(ctx, c, logf)
	if err != nil {
		return err
	}
	printResult(stdout, res)
	if c.Out != "" {
		bz, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.Out, append(bz, '\n'), 0o644); err != nil {
			return err
		}
	}
	if res.Invalid.Committed > 0 {
		return fmt.Errorf("%d invalid submissions were committed: the ledger must reject them", res.Invalid.Committed)
	}
	return nil
}
