// Command readbench measures a node's read API under readers: the latency
// and throughput of reading subjects' casebooks (what veritrial show
// subject reads: the subject and its forms), each read a request signed
// by the reader and checked by the node, at each concurrency asked; and,
// with --loadgen, the committed tx/s of a write load with and without
// concurrent readers, in the same run. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "readbench:", err)
		os.Exit(1)
	}
}

// config is a run's settings.
type config struct {
	Node        string
	Home        string
	From        string
	Passphrase  string
	Study       string
	Concurrency []int
	Duration    time.Duration
	Out         string

	// The write load, run by loadgen.
	Loadgen     string
	LoadArgs    []string
	Readers     int
	LoadResults string
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("readbench", flag.ContinueOnError)
	fs.SetOutput(out)
	c := &config{}
	var conc, loadArgs string
	fs.StringVar(&c.Node, "node", "http://127.0.0.1:26680", "the node's read API URL")
	fs.StringVar(&c.Home, "home", "", "home whose keyring holds the reader's key")
	fs.StringVar(&c.From, "from", "sponsor-dm", "the reader's key (its name is the account ID)")
	fs.StringVar(&c.Passphrase, "passphrase", node.DevPassphrase, "passphrase of the reader's key")
	fs.StringVar(&c.Study, "study", "VT-HTN-201", "the study whose subjects are read")
	fs.StringVar(&conc, "concurrency", "1,50", "concurrent readers of each read phase, comma-separated")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "length of each read phase")
	fs.StringVar(&c.Out, "out", "", "write the JSON result to this file")
	fs.StringVar(&c.Loadgen, "loadgen", "", "loadgen binary: also measure committed tx/s without and with --readers readers")
	fs.StringVar(&loadArgs, "load-args", "", "loadgen's arguments (space-separated; --out is added)")
	fs.IntVar(&c.Readers, "readers", 50, "concurrent readers during the second write load")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: readbench --node URL --home DIR [--from KEY] [--concurrency 1,50] [--duration 20s] [--loadgen PATH --load-args \"...\"] [--out result.json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, p := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--concurrency: %q is not a number of readers from 1 to 1024", p)
		}
		c.Concurrency = append(c.Concurrency, n)
	}
	c.LoadArgs = strings.Fields(loadArgs)
	switch {
	case c.Home == "":
		return nil, errors.New("--home: give the home whose keyring holds the reader's key")
	case c.Duration <= 0 || c.Duration > time.Hour:
		return nil, errors.New("--duration must be above 0 and at most 1h")
	case c.Loadgen != "" && (c.Readers < 1 || c.Readers > 1024):
		return nil, errors.New("--readers must be 1 to 1024")
	case c.Loadgen == "" && len(c.LoadArgs) > 0:
		return nil, errors.New("--load-args needs --loadgen")
	}
	return c, nil
}

// Result is what a run measured.
type Result struct {
	Node     string    `json:"node"`
	Reader   string    `json:"reader"`
	Study    string    `json:"study"`
	Subjects int       `json:"subjects"`
	Start    time.Time `json:"start"`
	// Phases are the read phases, one per concurrency.
	Phases []Phase `json:"phases"`
	// Write is the write load without and with readers (with --loadgen).
	Write *Write `json:"write,omitempty"`
}

// Phase is one read phase: readers reading casebooks for a duration.
type Phase struct {
	Readers int `json:"readers"`
	// Casebooks read in full, and failed reads.
	Casebooks int     `json:"casebooks"`
	Errors    int64   `json:"errors"`
	LastError string  `json:"last_error,omitempty"`
	Seconds   float64 `json:"seconds"`
	// PerSec is casebooks read per second; Requests per second counts the
	// API requests (one per record read or page listed).
	PerSec      float64 `json:"casebooks_per_s"`
	RequestsSec float64 `json:"requests_per_s"`
	// Latency of one casebook, in milliseconds.
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	Mean float64 `json:"mean_ms"`
	// Forms is the mean number of forms per casebook read.
	Forms float64 `json:"forms_per_casebook"`
}

// Write is committed tx/s of the same write load without and with
// concurrent readers.
type Write struct {
	Readers       int     `json:"readers"`
	Alone         float64 `json:"committed_tx_per_s_alone"`
	WithReaders   float64 `json:"committed_tx_per_s_with_readers"`
	Ratio         float64 `json:"ratio"`
	ReadsDuring   Phase   `json:"reads_during_load"`
	AloneFile     string  `json:"loadgen_alone"`
	WithReadsFile string  `json:"loadgen_with_readers"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	kr, err := keyring.Open(node.KeyringDir(c.Home))
	if err != nil {
		return err
	}
	s, err := kr.Signer(c.From, c.Passphrase)
	if err != nil {
		return err
	}
	defer s.Close()
	cl, err := client.New(c.Node)
	if err != nil {
		return err
	}
	cl.ReadAs(c.From, func() (types.Signer, error) { return s, nil })
	res, err := bench(ctx, c, cl, func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) })
	if err != nil {
		return err
	}
	writeTable(stdout, res)
	if c.Out == "" {
		return nil
	}
	bz, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.Out, append(bz, '\n'), 0o644)
}

// bench runs the read phases and, with a loadgen, the write loads.
func bench(ctx context.Context, c *config, cl *client.Client, logf func(string, ...any)) (*Result, error) {
	subjects, err := subjectsOf(ctx, cl, c.Study)
	if err != nil {
		return nil, err
	}
	res := &Result{Node: c.Node, Reader: c.From, Study: c.Study, Subjects: len(subjects), Start: time.Now().UTC()}
	for _, n := range c.Concurrency {
		logf("reading casebooks with %d reader(s) for %s", n, c.Duration)
		res.Phases = append(res.Phases, readPhase(ctx, cl, c.Study, subjects, n, c.Duration))
	}
	if c.Loadgen != "" {
		if res.Write, err = writeLoads(ctx, c, cl, subjects, logf); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// subjectsOf lists the IDs of a study's subjects.
func subjectsOf(ctx context.Context, cl *client.Client, study string) ([]string, error) {
	var ids []string
	err := client.ScanJSON(ctx, cl.Reader(0, false), types.PrefixSubject+study+"/", func(_ string, s *types.Subject) error {
		ids = append(ids, s.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the subjects of %s: %w", study, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("study %s has no subjects the reader may see", study)
	}
	return ids, nil
}

// readPhase runs readers that each read random subjects' casebooks, one
// after the other, for d.
func readPhase(ctx context.Context, cl *client.Client, study string, subjects []string, readers int, d time.Duration) Phase {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		lat       []time.Duration
		forms     int
		requests  atomic.Int64
		errs      atomic.Int64
		lastError atomic.Value
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := subjects[rand.IntN(len(subjects))]
				t0 := time.Now()
				n, req, err := casebook(ctx, cl, study, id)
				requests.Add(int64(req))
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						lastError.Store(err.Error())
					}
					continue
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				forms += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	p := Phase{Readers: readers, Casebooks: len(lat), Errors: errs.Load(), Seconds: secs,
		PerSec: float64(len(lat)) / secs, RequestsSec: float64(requests.Load()) / secs}
	if e, ok := lastError.Load().(string); ok {
		p.LastError = e
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		p.P50, p.P95 = ms(rank(lat, 0.50)), ms(rank(lat, 0.95))
		p.Mean, p.Forms = ms(sum/time.Duration(len(lat))), float64(forms)/float64(len(lat))
	}
	return p
}

// casebook reads what show subject shows of the forms: the subject and
// every form of it, at the latest height. It returns the forms read and
// the API requests sent.
func casebook(ctx context.Context, cl *client.Client, study, subject string) (int, int, error) {
	var requests int
	q := func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		requests++
		return cl.Query(ctx, req)
	}
	rd := client.NewReader(q, 0, nil)
	if _, err := rd.Subject(ctx, study, subject); err != nil {
		return 0, requests, err
	}
	forms, err := rd.SubjectForms(ctx, study, subject)
	return len(forms), requests, err
}

// rank is the nearest-rank percentile of sorted durations.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// writeLoads runs loadgen alone, then again with c.Readers readers
// reading casebooks throughout, and compares the committed tx/s.
func writeLoads(ctx context.Context, c *config, cl *client.Client, subjects []string, logf func(string, ...any)) (*Write, error) {
	dir, err := os.MkdirTemp("", "readbench-")
	if err != nil {
		return nil, err
	}
	w := &Write{Readers: c.Readers, AloneFile: filepath.Join(dir, "alone.json"), WithReadsFile: filepath.Join(dir, "with-readers.json")}
	logf("write load alone (loadgen %s)", strings.Join(c.LoadArgs, " "))
	if w.Alone, err = loadgen(ctx, c, w.AloneFile); err != nil {
		return nil, err
	}
	logf("write load with %d readers", c.Readers)
	rctx, stop := context.WithCancel(ctx)
	reads := make(chan Phase, 1)
	go func() { reads <- readPhase(rctx, cl, c.Study, subjects, c.Readers, 24*time.Hour) }()
	w.WithReaders, err = loadgen(ctx, c, w.WithReadsFile)
	stop()
	w.ReadsDuring = <-reads
	if err != nil {
		return nil, err
	}
	if w.Alone > 0 {
		w.Ratio = w.WithReaders / w.Alone
	}
	return w, nil
}

// loadgen runs the loadgen binary once and returns its committed tx/s.
func loadgen(ctx context.Context, c *config, out string) (float64, error) {
	cmd := exec.CommandContext(ctx, c.Loadgen, append(append([]string{}, c.LoadArgs...), "--quiet", "--out", out)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("loadgen: %w", err)
	}
	bz, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	var r struct {
		TxPerSec float64 `json:"committed_tx_per_s"`
	}
	if err := json.Unmarshal(bz, &r); err != nil {
		return 0, fmt.Errorf("loadgen's result %s: %w", out, err)
	}
	return r.TxPerSec, nil
}

// writeTable prints the result for people.
func writeTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "read API %s, reader %s, study %s (%d subjects)\n", r.Node, r.Reader, r.Study, r.Subjects)
	fmt.Fprintf(w, "%8s %10s %12s %10s %10s %10s %8s %7s\n", "READERS", "CASEBOOKS", "CASEBOOKS/S", "REQUESTS/S", "P50 MS", "P95 MS", "FORMS", "ERRORS")
	row := func(label string, p Phase) {
		fmt.Fprintf(w, "%8s %10d %12.1f %10.1f %10.1f %10.1f %8.1f %7d\n", label, p.Casebooks, p.PerSec, p.RequestsSec, p.P50, p.P95, p.Forms, p.Errors)
	}
	for _, p := range r.Phases {
		row(strconv.Itoa(p.Readers), p)
	}
	if wr := r.Write; wr != nil {
		row(strconv.Itoa(wr.Readers)+"+load", wr.ReadsDuring)
		fmt.Fprintf(w, "committed tx/s: %.1f alone, %.1f with %d readers (ratio %.2f)\n", wr.Alone, wr.WithReaders, wr.Readers, wr.Ratio)
	}
}
