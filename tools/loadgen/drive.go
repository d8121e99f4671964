package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

// sentTx is what the driver remembers of one broadcast.
type sentTx struct {
	hash [32]byte
	kind txKind
	at   time.Time // first broadcast attempt
	code uint32    // CheckTx code; 0 = accepted into the mempool
	ok   bool      // the broadcast got an answer
}

// watcher records when the client first sees each block: a websocket
// subscription to NewBlockHeader events of the first node. The time a tx
// is first seen in a block is the time its block's header event arrives.
type watcher struct {
	mu     sync.Mutex
	seen   map[int64]time.Time
	latest atomic.Int64
}

func watch(ctx context.Context, rpc *rpchttp.HTTP) (*watcher, error) {
	if err := rpc.Start(); err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	ch, err := rpc.Subscribe(ctx, "loadgen", cmttypes.EventQueryNewBlockHeader.String(), 1000)
	if err != nil {
		return nil, fmt.Errorf("subscribing to new block headers: %w", err)
	}
	w := &watcher{seen: map[int64]time.Time{}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				now := time.Now()
				if d, ok := ev.Data.(cmttypes.EventDataNewBlockHeader); ok {
					w.mu.Lock()
					if _, dup := w.seen[d.Header.Height]; !dup {
						w.seen[d.Header.Height] = now
					}
					w.mu.Unlock()
					if d.Header.Height > w.latest.Load() {
						w.latest.Store(d.Header.Height)
					}
				}
			}
		}
	}()
	return w, nil
}

func (w *watcher) seenAt() map[int64]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int64]time.Time, len(w.seen))
	for h, t := range w.seen {
		out[h] = t
	}
	return out
}

// waitHeight waits until the watcher has seen a block above h, up to d.
func (w *watcher) waitAbove(ctx context.Context, h int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for w.latest.Load() <= h && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	return w.latest.Load()
}

// driveStats are the client-side counts of the measured phase.
type driveStats struct {
	sent        []*sentTx
	mempoolFull int64
	rpcErrors   int64
	lastErr     string
}

// drive broadcasts txs from wl with c.Concurrency clients until the
// duration is over, pacing at c.Rate if set.
func drive(ctx context.Context, c *config, rpcs []*rpchttp.HTTP, wl workload) *driveStats {
	var (
		mu      sync.Mutex
		st      = &driveStats{}
		tickets atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(c.Duration)
	for wi := range c.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rpc := rpcs[wi%len(rpcs)]
			var mine []*sentTx
			defer func() {
				mu.Lock()
				st.sent = append(st.sent, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				i := tickets.Add(1) - 1
				if c.Rate > 0 {
					at := start.Add(time.Duration(float64(i) / c.Rate * float64(time.Second)))
					if at.After(end) {
						return
					}
					if d := time.Until(at); d > 0 {
						time.Sleep(d)
					}
				}
				if !time.Now().Before(end) {
					return
				}
				tx, err := wl.next()
				if err != nil {
					mu.Lock()
					st.rpcErrors++
					st.lastErr = "building a tx: " + err.Error()
					mu.Unlock()
					return
				}
				s := &sentTx{hash: sha256.Sum256(tx.raw), kind: tx.kind, at: time.Now()}
				for ctx.Err() == nil && time.Now().Before(end) {
					res, err := rpc.BroadcastTxSync(ctx, tx.raw)
					if err == nil {
						s.code, s.ok = res.Code, true
						break
					}
					if strings.Contains(err.Error(), "mempool is full") {
						atomic.AddInt64(&st.mempoolFull, 1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					mu.Lock()
					st.rpcErrors++
					st.lastErr = err.Error()
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					break
				}
				mine = append(mine, s)
			}
		}()
	}
	wg.Wait()
	return st
}

// drain waits until no node holds unconfirmed txs, up to d.
func drain(ctx context.Context, rpcs []*rpchttp.HTTP, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		empty := true
		for _, r := range rpcs {
			res, err := r.NumUnconfirmedTxs(ctx)
			if err != nil || res.Total > 0 {
				empty = false
				break
			}
		}
		if empty {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// fetchBlocks reads blocks from+1..to with their results.
func fetchBlocks(ctx context.Context, rpc *rpchttp.HTTP, from, to int64) ([]blockData, error) {
	var out []blockData
	for h := from + 1; h <= to; h++ {
		b, err := rpc.Block(ctx, &h)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
		r, err := rpc.BlockResults(ctx, &h)
		if err != nil {
			return nil, fmt.Errorf("block_results %d: %w", h, err)
		}
		bd := blockData{Height: h, Time: b.Block.Time}
		for i, tx := range b.Block.Txs {
			bd.Txs = append(bd.Txs, tx)
			code := uint32(0)
			if i < len(r.TxsResults) {
				code = r.TxsResults[i].Code
				if code == 0 {
					bd.SAEs += saesOpened(r.TxsResults[i].Events)
				}
			}
			bd.Codes = append(bd.Codes, code)
		}
		out = append(out, bd)
	}
	return out, nil
}

// saesOpened counts the serious adverse event records a committed
// submission or correction opened: its events that name one ("sae").
func saesOpened(events []abci.Event) int {
	n := 0
	for _, ev := range events {
		if ev.Type == "vt" && slices.ContainsFunc(ev.Attributes, func(a abci.EventAttribute) bool { return a.Key == "sae" }) {
			n++
		}
	}
	return n
}

// fetchProfile takes a CPU profile of seconds from a node's pprof server.
func fetchProfile(ctx context.Context, addr string, seconds int, out string) error {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", addr, seconds), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %s", resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runLoad runs the setup, the measured phase, the drain and the count.
func runLoad(ctx context.Context, c *config, logf func(string, ...any)) (*Result, error) {
	var rpcs []*rpchttp.HTTP
	var clients []*client.Client
	for _, n := range c.Nodes {
		cl, err := client.New(n)
		if err != nil {
			return nil, err
		}
		if _, err := cl.RPC().Status(ctx); err != nil {
			return nil, fmt.Errorf("node %s does not answer: %w", n, err)
		}
		clients = append(clients, cl)
		rpcs = append(rpcs, cl.RPC())
	}
	res := &Result{Label: c.Label, App: c.App, Nodes: c.Nodes, Concurrency: c.Concurrency,
		DurationSec: c.Duration.Seconds(), Rate: c.Rate, Start: time.Now().UTC(), LoadAvg: nodeproc.LoadAvg()}

	var wl workload
	switch c.App {
	case "veritrial":
		w, err := setupCRF(ctx, c, clients[0], logf)
		if err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
		res.Invalid.Share, res.CorrectionShare = c.Invalid, c.Corrections
		res.Subjects, res.Sites = len(w.subjects), len(w.sites)
		wl = w
	case "kvstore":
		size := c.TxBytes
		if size == 0 {
			n, err := sampleTxBytes()
			if err != nil {
				return nil, err
			}
			size = n
		}
		w, err := newKV(size)
		if err != nil {
			return nil, err
		}
		wl = w
	}
	logf("signing %d txs in advance", c.Prebuild)
	pb, err := prebuild(wl, c.Prebuild)
	if err != nil {
		return nil, fmt.Errorf("building txs: %w", err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := watch(wctx, rpcs[0])
	if err != nil {
		return nil, err
	}
	defer func() { _ = rpcs[0].Stop() }()
	h0 := w.waitAbove(ctx, 0, 15*time.Second)
	if h0 == 0 {
		return nil, fmt.Errorf("no new block from %s within 15 s", c.Nodes[0])
	}
	// Start right after a block so the first interval is a whole one.
	h0 = w.waitAbove(ctx, h0, 15*time.Second)

	cpu0 := sampleCPU(c.PIDs)
	profErr := make(chan error, 1)
	if c.PprofURL != "" {
		secs := max(1, int(c.Duration.Seconds())-2)
		go func() { profErr <- fetchProfile(ctx, c.PprofURL, min(secs, 30), c.PprofOut) }()
	}
	logf("measuring for %s from height %d with %d clients over %d node(s)", c.Duration, h0, c.Concurrency, len(rpcs))
	st := drive(ctx, c, rpcs, pb)
	h1 := w.latest.Load()
	cpu1 := sampleCPU(c.PIDs)
	res.CPU = cpuUsage(c.PIDs, c.Nodes, cpu0, cpu1)
	logf("measured phase over at height %d; draining", h1)
	res.Drained = drain(ctx, rpcs, c.Drain)
	// One more block, so that the last txs taken out of the mempool are in
	// the blocks fetched.
	hEnd := w.latest.Load()
	if st, err := rpcs[0].Status(ctx); err == nil {
		hEnd = max(hEnd, st.SyncInfo.LatestBlockHeight)
	}
	hEnd = w.waitAbove(ctx, hEnd, 7*time.Second)
	if c.PprofURL != "" {
		if err := <-profErr; err != nil {
			res.ProfileError = err.Error()
		} else {
			res.Profile = c.PprofOut
		}
	}
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	blocks, err := fetchBlocks(ctx, rpcs[0], h0, hEnd)
	if err != nil {
		return nil, err
	}
	res.fill(st, blocks, w.seenAt(), h0, h1, c.App == "veritrial")
	res.SignedOnDemand = pb.onFly.Load()
	return res, nil
}
