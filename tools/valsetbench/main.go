// Command valsetbench measures what changing the validator set costs a
// consortium under load. Four validators made by veritrial testnet init
// take loadgen's saturating clinical load; during one measured phase the
// consortium votes, through the CLI, a power change, a key rotation (the
// node restarted with its new key) and a fifth validator (an
// organisation that joined later, proposed with its member file).
// Committed tx/s in a window after each change is compared with the
// same-length window just before its proposal, counted from the blocks
// (header times, block_results), and the time lost is given in block
// times. See docs/PERFORMANCE.md, "Validator-set changes under load".
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "valsetbench:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	Bin, Work   string
	Runs        int
	Window      time.Duration
	MaxDuration time.Duration
	Concurrency int
	BasePort    int
	Out         string
	Recount     string `json:",omitempty"`
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("valsetbench", flag.ContinueOnError)
	o := &options{}
	fs.StringVar(&o.Bin, "bin", "", "directory holding the veritrial and loadgen binaries (required)")
	fs.StringVar(&o.Work, "work", "", "scratch directory (required): run N is made afresh in WORK/run-N")
	fs.IntVar(&o.Runs, "runs", 3, "runs, each on a new consortium")
	fs.DurationVar(&o.Window, "window", 45*time.Second, "length of the window before each proposal and of the one after each change")
	fs.DurationVar(&o.MaxDuration, "max-duration", 20*time.Minute, "loadgen's measured phase at most; it is stopped once the last change's window is over")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "loadgen's clients")
	fs.IntVar(&o.BasePort, "base-port", 29700, "the validators use this port and the next 31, the fifth node base+40 and base+41 (127.0.0.1)")
	fs.StringVar(&o.Out, "out", "", "JSON result file")
	fs.StringVar(&o.Recount, "recount", "", "instead of new runs, count the windows of this result file's runs again, from the blocks of each run's first validator (started again from its home in the run's directory)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.Bin == "" || (o.Work == "" && o.Recount == ""):
		return nil, errors.New("--bin and --work (or --recount) are required")
	case o.Runs < 1:
		return nil, errors.New("--runs must be at least 1")
	case o.Window < 10*time.Second:
		return nil, errors.New("--window must be at least 10s: a block takes seconds under saturating load")
	case o.MaxDuration < 8*o.Window:
		return nil, errors.New("--max-duration must be at least 8 windows")
	}
	return o, nil
}

// report is the JSON result.
type report struct {
	Started time.Time  `json:"started"`
	Options options    `json:"options"`
	Runs    []*runInfo `json:"runs"`
	Means   []mean     `json:"means"`
}

// mean is one kind of change over the runs.
type mean struct {
	Kind       string  `json:"kind"`
	Runs       int     `json:"runs"`
	QuietTxPS  float64 `json:"quiet_tx_per_s"`
	DuringTxPS float64 `json:"during_tx_per_s"`
	Ratio      float64 `json:"after_over_before"`
	LostSec    float64 `json:"lost_s"`
	LostBlocks float64 `json:"lost_block_times"`
	BlockSec   float64 `json:"quiet_mean_block_s"`
	// QuietLongest and DuringLongest are the longest height of each
	// window.
	QuietLongest  float64 `json:"quiet_longest_height_s"`
	DuringLongest float64 `json:"during_longest_height_s"`
	// NodeDownSec is the mean over the changes whose node caught up
	// within the run; StillCatchingUp counts the others.
	NodeDownSec     float64 `json:"node_down_s,omitempty"`
	StillCatchingUp int     `json:"still_catching_up,omitempty"`
}

func run(args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rep := &report{Started: time.Now().UTC(), Options: *o}
	if o.Recount != "" {
		if rep, err = recount(o); err != nil {
			return err
		}
		for _, ri := range rep.Runs {
			printRun(stdout, ri)
		}
	} else {
		if o.Work, err = filepath.Abs(o.Work); err != nil {
			return err
		}
		rep.Options.Work = o.Work
		for r := 1; r <= o.Runs; r++ {
			ri, err := newHarness(o, r).run()
			if err != nil {
				return fmt.Errorf("run %d: %w", r, err)
			}
			rep.Runs = append(rep.Runs, ri)
			printRun(stdout, ri)
		}
	}
	rep.Means = means(rep.Runs)
	printMeans(stdout, rep.Means)
	if o.Out != "" {
		bz, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.Out, append(bz, '\n'), 0o644)
	}
	return nil
}

// means averages each kind of change over the runs.
func means(runs []*runInfo) []mean {
	var out []mean
	for _, kind := range changeKinds {
		m := mean{Kind: kind}
		for _, r := range runs {
			for _, c := range r.Changes {
				if c.Kind != kind {
					continue
				}
				m.Runs++
				m.QuietTxPS += c.Quiet.TxPerSec
				m.DuringTxPS += c.During.TxPerSec
				m.Ratio += c.Ratio
				m.LostSec += c.LostSec
				m.LostBlocks += c.LostBlocks
				m.BlockSec += c.Quiet.BlockSec
				m.QuietLongest += c.Quiet.LongestSec
				m.DuringLongest += c.During.LongestSec
				m.NodeDownSec += c.NodeDownSec
				if c.StillCatchingUp {
					m.StillCatchingUp++
				}
			}
		}
		if m.Runs == 0 {
			continue
		}
		n := float64(m.Runs)
		m.QuietTxPS, m.DuringTxPS = round(m.QuietTxPS/n, 1), round(m.DuringTxPS/n, 1)
		m.Ratio, m.LostSec, m.LostBlocks, m.BlockSec = round(m.Ratio/n, 3), round(m.LostSec/n, 2), round(m.LostBlocks/n, 2), round(m.BlockSec/n, 3)
		m.QuietLongest, m.DuringLongest = round(m.QuietLongest/n, 2), round(m.DuringLongest/n, 2)
		if caught := m.Runs - m.StillCatchingUp; caught > 0 {
			m.NodeDownSec = round(m.NodeDownSec/float64(caught), 1)
		}
		out = append(out, m)
	}
	return out
}

func printRun(w io.Writer, r *runInfo) {
	fmt.Fprintf(w, "run %d: load average %s at the start, %s at the end; %.1f tx/s over heights %d-%d, changes included\n",
		r.Run, r.LoadStart, r.LoadEnd, r.TxPerSec, r.FromHeight, r.ToHeight)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  change\tapplied\tbefore tx/s\tafter tx/s\tafter/before\tlost s\tlost blocks\tlongest height s before, after\tnode down s\tseconds of heights applied-1 to applied+8")
	for _, c := range r.Changes {
		var gs []string
		for _, g := range c.Heights {
			gs = append(gs, fmt.Sprintf("%.2f", g.Seconds))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%.3f\t%.2f\t%.2f\t%.2f, %.2f\t%s\t%s\n", c.Kind, c.Applied, c.Quiet.TxPerSec, c.During.TxPerSec, c.Ratio,
			c.LostSec, c.LostBlocks, c.Quiet.LongestSec, c.During.LongestSec, downText(c.NodeDownSec, c.StillCatchingUp), strings.Join(gs, " "))
	}
	tw.Flush()
}

func printMeans(w io.Writer, ms []mean) {
	fmt.Fprintln(w, "mean over the runs:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  change\truns\tbefore tx/s\tafter tx/s\tafter/before\tlost s\tlost block times\tmean block s before\tlongest height s before, after\tnode down s")
	for _, m := range ms {
		fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%.3f\t%.2f\t%.2f\t%.3f\t%.2f, %.2f\t%s\n", m.Kind, m.Runs, m.QuietTxPS, m.DuringTxPS, m.Ratio,
			m.LostSec, m.LostBlocks, m.BlockSec, m.QuietLongest, m.DuringLongest, downText(m.NodeDownSec, m.StillCatchingUp > 0))
	}
	tw.Flush()
}

// downText is how long a node was down, "-" for a change that stops no
// node, and notes one still catching up when the run ended.
func downText(sec float64, catching bool) string {
	switch {
	case catching && sec == 0:
		return "still catching up"
	case catching:
		return fmt.Sprintf("%.1f (some still catching up)", sec)
	case sec == 0:
		return "-"
	}
	return fmt.Sprintf("%.1f", sec)
}
