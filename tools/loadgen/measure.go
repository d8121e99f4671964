package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// Result is the JSON result of one run.
type Result struct {
	Label       string    `json:"label,omitempty"`
	App         string    `json:"app"`
	Nodes       []string  `json:"nodes"`
	Concurrency int       `json:"concurrency"`
	DurationSec float64   `json:"duration_s"`
	Rate        float64   `json:"offered_rate,omitempty"`
	Start       time.Time `json:"start"`
	LoadAvg     string    `json:"loadavg_at_start"`
	Subjects    int       `json:"subjects,omitempty"`
	Sites       int       `json:"sites,omitempty"`
	// CorrectionShare is the planned share of corrections.
	CorrectionShare float64 `json:"correction_share,omitempty"`

	// FromHeight and ToHeight bound the measured blocks: FromHeight+1 to
	// ToHeight, the blocks committed during the measured phase.
	FromHeight int64   `json:"from_height"`
	ToHeight   int64   `json:"to_height"`
	Blocks     int     `json:"blocks"`
	ElapsedSec float64 `json:"elapsed_s"`
	// BlockTxs counts every tx in the measured blocks, Committed those
	// with code 0; the rates are per second of ElapsedSec.
	BlockTxs          int            `json:"block_txs"`
	Committed         int            `json:"committed_txs"`
	CommittedByKind   map[string]int `json:"committed_by_kind"`
	CommittedTxPerSec float64        `json:"committed_tx_per_s"`
	ItemValues        int            `json:"item_values"`
	ValuesPerSec      float64        `json:"item_values_per_s"`
	MeanTxBytes       float64        `json:"mean_tx_bytes"`
	MeanBlockTxs      float64        `json:"mean_block_txs"`
	// SAEsOpened counts the serious adverse event records the committed
	// txs opened (from their events; the load acknowledges none).
	SAEsOpened int `json:"saes_opened"`

	Sent            int            `json:"sent"`
	Accepted        int            `json:"accepted"`
	MempoolFull     int64          `json:"mempool_full_retries"`
	RPCErrors       int64          `json:"rpc_errors"`
	LastRPCError    string         `json:"last_rpc_error,omitempty"`
	CheckRejections map[string]int `json:"check_rejections"`
	BlockRejections map[string]int `json:"block_rejections"`
	Invalid         invalidCount   `json:"invalid"`

	Latency     latency `json:"latency_ms"`
	Uncommitted int     `json:"accepted_not_committed"`
	Drained     bool    `json:"drained"`

	CPU            []cpuUse `json:"cpu,omitempty"`
	SignedOnDemand int64    `json:"signed_on_demand"`
	Profile        string   `json:"profile,omitempty"`
	ProfileError   string   `json:"profile_error,omitempty"`
}

// invalidCount tracks the submissions that must be rejected.
type invalidCount struct {
	Share     float64 `json:"share"`
	Sent      int     `json:"sent"`
	Rejected  int     `json:"rejected"`
	Committed int     `json:"committed"`
}

// latency summarises broadcast-to-commit times in milliseconds.
type latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
}

// blockData is one block's txs, their result codes and the serious
// adverse event records they opened.
type blockData struct {
	Height int64
	Time   time.Time
	Txs    [][]byte
	Codes  []uint32
	SAEs   int
}

// tally is what a range of blocks holds.
type tally struct {
	Blocks    int
	Txs       int
	Bytes     int
	Committed int
	Values    int
	SAEs      int
	Rejected  map[uint32]int
}

// countBlocks counts the txs, committed txs (code 0), item values of the
// committed txs (values gives a tx's count), SAE records opened and
// rejections by code.
func countBlocks(blocks []blockData, values func([]byte) int) tally {
	t := tally{Rejected: map[uint32]int{}}
	for _, b := range blocks {
		t.Blocks++
		t.SAEs += b.SAEs
		for i, tx := range b.Txs {
			t.Txs++
			t.Bytes += len(tx)
			if b.Codes[i] != 0 {
				t.Rejected[b.Codes[i]]++
				continue
			}
			t.Committed++
			if values != nil {
				t.Values += values(tx)
			}
		}
	}
	return t
}

// itemValues is the number of item values a veritrial tx stores: the
// values of a submission or the changes of a correction.
func itemValues(raw []byte) int {
	tx, e := types.DecodeTx(raw)
	if e != nil {
		return 0
	}
	switch {
	case tx.Body.Msg.SubmitForm != nil:
		return len(tx.Body.Msg.SubmitForm.Values)
	case tx.Body.Msg.CorrectForm != nil:
		return len(tx.Body.Msg.CorrectForm.Changes)
	}
	return 0
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func summarise(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	return latency{
		Samples: len(sorted),
		P50:     ms(percentile(sorted, 50)),
		P90:     ms(percentile(sorted, 90)),
		P99:     ms(percentile(sorted, 99)),
		Max:     ms(sorted[len(sorted)-1]),
		Mean:    ms(sum / time.Duration(len(sorted))),
	}
}

// commitTimes maps each tx hash in blocks to the time its block was first
// seen and to its result code.
func commitTimes(blocks []blockData, seen map[int64]time.Time) map[[32]byte]commitInfo {
	out := map[[32]byte]commitInfo{}
	for _, b := range blocks {
		at, ok := seen[b.Height]
		for i, tx := range b.Txs {
			h := sha256.Sum256(tx)
			if _, dup := out[h]; !dup {
				out[h] = commitInfo{at: at, seen: ok, code: b.Codes[i]}
			}
		}
	}
	return out
}

type commitInfo struct {
	at   time.Time
	seen bool
	code uint32
}

// latencies returns broadcast-to-commit times of the accepted txs, and how
// many accepted txs never reached a block.
func latencies(sent []*sentTx, commits map[[32]byte]commitInfo) ([]time.Duration, int) {
	var out []time.Duration
	missing := 0
	for _, s := range sent {
		if !s.ok || s.code != 0 {
			continue
		}
		c, ok := commits[s.hash]
		if !ok {
			missing++
			continue
		}
		if c.seen {
			out = append(out, c.at.Sub(s.at))
		}
	}
	return out, missing
}

// elapsed is the measured interval: from the first sight of block from to
// that of block to, else the difference of their block times.
func elapsed(blocks []blockData, seen map[int64]time.Time, from, to int64) time.Duration {
	a, okA := seen[from]
	b, okB := seen[to]
	if okA && okB && b.After(a) {
		return b.Sub(a)
	}
	var ta, tb time.Time
	for _, bl := range blocks {
		if bl.Height == from+1 {
			ta = bl.Time
		}
		if bl.Height == to {
			tb = bl.Time
		}
	}
	return tb.Sub(ta)
}

func codeName(code uint32, veritrial bool) string {
	if veritrial {
		return fmt.Sprintf("%d %s", code, types.Code(code).String())
	}
	return fmt.Sprint(code)
}

// fill computes the result from the client's counts and the blocks.
func (r *Result) fill(st *driveStats, blocks []blockData, seen map[int64]time.Time, from, to int64, veritrial bool) {
	var window []blockData
	for _, b := range blocks {
		if b.Height > from && b.Height <= to {
			window = append(window, b)
		}
	}
	var values func([]byte) int
	if veritrial {
		values = itemValues
	}
	t := countBlocks(window, values)
	r.FromHeight, r.ToHeight, r.Blocks = from, to, t.Blocks
	r.ElapsedSec = elapsed(blocks, seen, from, to).Seconds()
	r.BlockTxs, r.Committed, r.ItemValues, r.SAEsOpened = t.Txs, t.Committed, t.Values, t.SAEs
	if r.ElapsedSec > 0 {
		r.CommittedTxPerSec = round1(float64(t.Committed) / r.ElapsedSec)
		r.ValuesPerSec = round1(float64(t.Values) / r.ElapsedSec)
	}
	if t.Txs > 0 {
		r.MeanTxBytes = round1(float64(t.Bytes) / float64(t.Txs))
	}
	if t.Blocks > 0 {
		r.MeanBlockTxs = round1(float64(t.Txs) / float64(t.Blocks))
	}
	r.BlockRejections = map[string]int{}
	for code, n := range t.Rejected {
		r.BlockRejections[codeName(code, veritrial)] += n
	}

	commits := commitTimes(blocks, seen)
	kinds := map[[32]byte]txKind{}
	r.CheckRejections = map[string]int{}
	for _, s := range st.sent {
		kinds[s.hash] = s.kind
		r.Sent++
		if s.kind == kindInvalid {
			r.Invalid.Sent++
		}
		if !s.ok {
			continue
		}
		if s.code != 0 {
			r.CheckRejections[codeName(s.code, veritrial)]++
			if s.kind == kindInvalid {
				r.Invalid.Rejected++
			}
			continue
		}
		r.Accepted++
		if s.kind == kindInvalid {
			if c, ok := commits[s.hash]; ok && c.code == 0 {
				r.Invalid.Committed++
			} else if ok {
				r.Invalid.Rejected++
			}
		}
	}
	r.CommittedByKind = map[string]int{}
	for _, b := range window {
		for i, tx := range b.Txs {
			if b.Codes[i] == 0 {
				k, ok := kinds[sha256.Sum256(tx)]
				name := "other"
				if ok {
					name = k.String()
				}
				r.CommittedByKind[name]++
			}
		}
	}
	lat, missing := latencies(st.sent, commits)
	r.Latency, r.Uncommitted = summarise(lat), missing
	r.MempoolFull, r.RPCErrors, r.LastRPCError = st.mempoolFull, st.rpcErrors, st.lastErr
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// printResult writes a short table of r.
func printResult(w io.Writer, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "app\t%s (%d node(s), %d clients, %.0fs", r.App, len(r.Nodes), r.Concurrency, r.DurationSec)
	if r.Rate > 0 {
		fmt.Fprintf(tw, ", offered %.0f tx/s", r.Rate)
	}
	fmt.Fprintf(tw, ")\n")
	fmt.Fprintf(tw, "blocks\t%d (heights %d-%d, %.1fs, %.0f txs/block)\n", r.Blocks, r.FromHeight+1, r.ToHeight, r.ElapsedSec, r.MeanBlockTxs)
	fmt.Fprintf(tw, "committed\t%.1f tx/s (%d txs, %.0f B/tx)\n", r.CommittedTxPerSec, r.Committed, r.MeanTxBytes)
	if r.App == "veritrial" {
		fmt.Fprintf(tw, "item values\t%.1f /s (%d)\n", r.ValuesPerSec, r.ItemValues)
		fmt.Fprintf(tw, "serious AEs\t%d SAE records opened by %d committed AE forms\n", r.SAEsOpened, r.CommittedByKind[kindSubmit.String()])
		fmt.Fprintf(tw, "invalid\t%d sent, %d rejected, %d committed\n", r.Invalid.Sent, r.Invalid.Rejected, r.Invalid.Committed)
	}
	fmt.Fprintf(tw, "latency\tp50 %.0f ms, p90 %.0f ms, p99 %.0f ms (%d samples, %d accepted but not committed)\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Samples, r.Uncommitted)
	fmt.Fprintf(tw, "sent\t%d (%d accepted, %d mempool-full retries, %d RPC errors)\n", r.Sent, r.Accepted, r.MempoolFull, r.RPCErrors)
	fmt.Fprintf(tw, "rejections\tcheck %s; block %s\n", codes(r.CheckRejections), codes(r.BlockRejections))
	for _, c := range r.CPU {
		fmt.Fprintf(tw, "cpu\t%s: %.0f%% of a core\n", c.Node, c.Percent)
	}
	tw.Flush()
}

func codes(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
