package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/testnet"
	"github.com/veritrial/veritrial/tools/internal/nodeproc"
)

// The changes a run makes, in order.
const (
	kindPower    = "power 10 -> 7"
	kindRotation = "key rotation"
	kindAdd      = "add a validator"
)

var changeKinds = []string{kindPower, kindRotation, kindAdd}

// The four validators, as testnet init makes them, and the organisation
// that joins later (node index 4). loadgen is sent to the four; its
// first node, which it counts the blocks on, is never restarted.
var orgs = []string{"sponsor", "site-1", "site-2", "regulator"}

const (
	lateOrg = "ethics"
	// latePassphrase protects the later organisation's administrator
	// key: consortium join refuses the dev passphrase.
	latePassphrase = "valsetbench ethics committee passphrase"
)

// runInfo is one run.
type runInfo struct {
	Run       int    `json:"run"`
	Dir       string `json:"dir"`
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
	// FromHeight and ToHeight bound the heights under load, from the
	// start of loadgen's measured phase; TxPerSec is what they committed
	// per second, changes included.
	FromHeight int64         `json:"from_height"`
	ToHeight   int64         `json:"to_height"`
	TxPerSec   float64       `json:"committed_tx_per_s"`
	Changes    []*changeInfo `json:"changes"`
}

// changeInfo is one validator-set change and its windows.
type changeInfo struct {
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`
	Proposal int    `json:"proposal"`
	// Sent is when the proposal was sent and Decided when the deciding
	// vote's block was committed; Applied is that block's height and
	// Effective the first height the new set signs (Applied+2).
	Sent      time.Time `json:"proposed_at"`
	Decided   time.Time `json:"decided_at"`
	Applied   int64     `json:"applied_height"`
	Effective int64     `json:"effective_height"`
	// NodeDownSec is how long the changed validator's node took from the
	// decision until it had caught up: a rotated one's restart with its
	// new key, an added one's first start and block sync from the
	// genesis. StillCatchingUp: the added one had not caught up when
	// the run ended.
	NodeDownSec     float64 `json:"node_down_s,omitempty"`
	StillCatchingUp bool    `json:"still_catching_up,omitempty"`
	LoadAvg         string  `json:"loadavg"`
	// Quiet is the window just before the proposal was sent; During the
	// same length from the height after the one that applied the change.
	Quiet  window `json:"before"`
	During window `json:"after"`
	// Ratio is the after window's committed tx/s over the before one's.
	Ratio      float64  `json:"after_over_before"`
	LostSec    float64  `json:"lost_s"`
	LostBlocks float64  `json:"lost_block_times"`
	Heights    []height `json:"heights"`
}

// harness runs one run's consortium.
type harness struct {
	o      *options
	n      int
	dir    string
	homes  []string // the four validators', then the later organisation's
	rpcs   []string // host:port, in the same order
	keys   []string // the four validators' public keys
	procs  []*nodeproc.Proc
	logs   []string
	member string
	// joined gets how long the added validator's node took to catch up.
	joined chan float64
}

func newHarness(o *options, n int) *harness {
	return &harness{o: o, n: n, dir: filepath.Join(o.Work, fmt.Sprintf("run-%d", n))}
}

// vt runs the veritrial binary with the testnet's keys (HOME is the
// run's directory) or, with late, as the later organisation's machine,
// and returns its stdout.
func (h *harness) vt(late bool, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(h.o.Bin, "veritrial"), args...)
	cmd.Env = []string{"HOME=" + h.dir, "PATH=" + os.Getenv("PATH"), "VERITRIAL_PASSPHRASE=" + node.DevPassphrase}
	if late {
		cmd.Env = []string{"HOME=" + filepath.Join(h.dir, lateOrg+"-machine"), "PATH=" + os.Getenv("PATH"), "VERITRIAL_PASSPHRASE=" + latePassphrase}
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		return so.String(), fmt.Errorf("veritrial %s: %v\n%s%s", strings.Join(args, " "), err, so.String(), se.String())
	}
	return so.String(), nil
}

// notInBlock is the CLI's error for a tx a mempool took that was not in
// a block within its wait (a minute).
var notInBlock = regexp.MustCompile(`transaction ([0-9A-F]{64}) was accepted by the mempool but is not in a block`)

// gov runs a consortium command of the testnet's keys and returns its
// JSON output's proposal, status and height. Under saturating load the
// nodes' mempools are full most of the time and refuse the command's tx
// ("mempool is full"), as they refuse loadgen's: it is sent again until a
// mempool takes it, within 3 minutes. A tx taken but not in a block
// within the CLI's minute is waited for up to 5 minutes more, and its
// outcome read from its events.
func (h *harness) gov(args ...string) (govOutcome, error) {
	var g govOutcome
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := h.vt(false, args...)
		if err == nil {
			if err := json.Unmarshal([]byte(out), &g); err != nil {
				return g, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
			}
			return g, nil
		}
		if m := notInBlock.FindStringSubmatch(err.Error()); m != nil {
			return h.awaitTx(m[1])
		}
		if !strings.Contains(err.Error(), "mempool is full") || time.Now().After(deadline) {
			return g, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// govOutcome is what the consortium commands' JSON output says.
type govOutcome struct {
	Proposal int    `json:"proposal"`
	Status   string `json:"status"`
	Height   int64  `json:"height"`
}

// awaitTx waits up to 5 minutes for the governance tx with hash to be in
// a block and returns its outcome.
func (h *harness) awaitTx(hash string) (govOutcome, error) {
	var g govOutcome
	cl, err := client.New(h.rpcs[0])
	if err != nil {
		return g, err
	}
	cl.Timeout = 5 * time.Minute
	res, err := cl.Wait(context.Background(), hash)
	if err != nil {
		return g, err
	}
	if !res.OK() {
		return g, fmt.Errorf("tx %s: code %d (%s): %s", hash, res.Code, res.Name, res.Log)
	}
	g.Proposal, _ = strconv.Atoi(res.Attr("proposal"))
	g.Status, g.Height = res.Attr("status"), res.Height
	return g, nil
}

func (h *harness) run() (*runInfo, error) {
	if err := os.RemoveAll(h.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(h.dir, lateOrg+"-machine"), 0o755); err != nil {
		return nil, err
	}
	ri := &runInfo{Run: h.n, Dir: h.dir, LoadStart: nodeproc.LoadAvg()}
	if err := h.makeConsortium(); err != nil {
		return nil, err
	}
	if err := h.startNodes(); err != nil {
		h.stopNodes()
		return nil, err
	}
	defer h.stopNodes()
	lg, err := h.startLoadgen()
	if err != nil {
		return nil, err
	}
	defer lg.stop()
	select {
	case <-lg.measuring:
	case <-lg.done:
		return nil, fmt.Errorf("loadgen ended before its measured phase: %v", lg.err)
	}
	t0 := time.Now()
	if ri.FromHeight, err = nodeproc.Height(h.rpcs[0]); err != nil {
		return nil, err
	}
	// Each proposal comes a whole window after the last change's window
	// (and a margin for the block it ends in): the window before it holds
	// no change.
	w, margin := h.o.Window, h.o.Window/3
	next := t0.Add(margin + w)
	for _, change := range []func() (*changeInfo, error){h.powerChange, h.rotation, h.addValidator} {
		time.Sleep(time.Until(next))
		c, err := change()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "valsetbench: run %d: %s (%s) applied at height %d\n", h.n, c.Kind, c.Detail, c.Applied)
		ri.Changes = append(ri.Changes, c)
		next = c.Decided.Add(w + margin + w)
	}
	time.Sleep(time.Until(next.Add(-w)))
	select {
	case <-lg.done:
		return nil, fmt.Errorf("loadgen's measured phase ended before the last change's window: raise --max-duration (%v)", lg.err)
	default:
	}
	add := ri.Changes[len(ri.Changes)-1]
	select {
	case add.NodeDownSec = <-h.joined:
	default:
		add.StillCatchingUp = true
	}
	ri.LoadEnd = nodeproc.LoadAvg()
	// The height in progress when the last window ends must end too: two
	// more blocks, still under the load.
	if ri.ToHeight, err = h.advance(2, 3*time.Minute); err != nil {
		return nil, err
	}
	// The blocks are read without the load: under it, reading each
	// block's results takes seconds.
	lg.stop()
	blocks, err := fetchBlocks(h.rpcs[0], ri.FromHeight, ri.ToHeight)
	if err != nil {
		return nil, err
	}
	return ri, ri.count(blocks, w)
}

// advance waits until the first validator has committed n more blocks
// and returns its height.
func (h *harness) advance(n int64, within time.Duration) (int64, error) {
	from, err := nodeproc.Height(h.rpcs[0])
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if top, err := nodeproc.Height(h.rpcs[0]); err == nil && top >= from+n {
			return top, nil
		}
	}
	return 0, fmt.Errorf("the chain did not advance %d blocks from height %d within %s", n, from, within)
}

// count fills in the run's tx/s over FromHeight..ToHeight and each
// change's windows from blocks, which start at FromHeight and may go on
// past ToHeight.
func (ri *runInfo) count(blocks []block, w time.Duration) error {
	last := int(ri.ToHeight - ri.FromHeight)
	if last >= len(blocks) {
		return fmt.Errorf("blocks up to %d read, the run ends at %d", blocks[len(blocks)-1].Height, ri.ToHeight)
	}
	all, err := windowAt(blocks[:last+1], blocks[0].Time, blocks[last].Time.Sub(blocks[0].Time)-time.Nanosecond)
	if err != nil {
		return err
	}
	ri.TxPerSec = all.TxPerSec
	for _, c := range ri.Changes {
		if err := c.measure(blocks, w); err != nil {
			return fmt.Errorf("%s: %w", c.Kind, err)
		}
	}
	return nil
}

// measure fills in c's windows from the blocks.
func (c *changeInfo) measure(blocks []block, d time.Duration) error {
	var next time.Time
	for _, b := range blocks {
		if b.Height == c.Applied+1 {
			next = b.Time
		}
	}
	if next.IsZero() {
		return fmt.Errorf("block %d was not fetched", c.Applied+1)
	}
	var err error
	if c.Quiet, err = windowAt(blocks, c.Sent.Add(-d), d); err != nil {
		return err
	}
	if c.During, err = windowAt(blocks, next, d); err != nil {
		return err
	}
	c.Ratio = ratio(c.Quiet, c.During)
	c.LostSec, c.LostBlocks = lost(c.Quiet, c.During)
	c.Heights = heights(blocks, c.Applied-1, c.Applied+8)
	return nil
}

// fetchBlocks reads blocks from..to from the node at rpc: header times,
// txs, and the txs committed (code 0).
func fetchBlocks(rpc string, from, to int64) ([]block, error) {
	cl, err := client.New(rpc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []block
	for lo := from; lo <= to; lo += 20 {
		res, err := cl.RPC().BlockchainInfo(ctx, lo, min(lo+19, to))
		if err != nil {
			return nil, err
		}
		// BlockchainInfo lists the newest first.
		for i := len(res.BlockMetas) - 1; i >= 0; i-- {
			m := res.BlockMetas[i]
			b := block{Height: m.Header.Height, Time: m.Header.Time, Txs: m.NumTxs}
			r, err := cl.RPC().BlockResults(ctx, &b.Height)
			if err != nil {
				return nil, err
			}
			for _, tx := range r.TxsResults {
				if tx.Code == 0 {
					b.Committed++
				}
			}
			out = append(out, b)
		}
	}
	for i, b := range out {
		if b.Height != from+int64(i) {
			return nil, fmt.Errorf("block %d is missing from the node's answers", from+int64(i))
		}
	}
	return out, nil
}

// makeConsortium makes the four validators' homes with testnet init and
// the later organisation's on its own "machine": consortium join --later
// and install --later. A testnet has no draft: the one its genesis
// matches is written first (chain ID, genesis time, default rules).
func (h *harness) makeConsortium() error {
	net := filepath.Join(h.dir, "net")
	if _, err := h.vt(false, "testnet", "init", "--orgs", strings.Join(orgs, ","), "--out", net, "--base-port", strconv.Itoa(h.o.BasePort),
		"--chain-id", fmt.Sprintf("valsetbench-%d", h.n)); err != nil {
		return err
	}
	m, err := testnet.ReadManifest(net)
	if err != nil {
		return err
	}
	for _, n := range m.Nodes {
		h.homes = append(h.homes, filepath.Join(net, n.Home))
		h.rpcs = append(h.rpcs, strings.TrimPrefix(n.RPC, "tcp://"))
		h.keys = append(h.keys, n.ValidatorPubKey)
		h.logs = append(h.logs, filepath.Join(h.dir, n.Org+".log"))
	}
	genesis := filepath.Join(h.homes[0], "config", "genesis.json")
	doc, err := cmttypes.GenesisDocFromFile(genesis)
	if err != nil {
		return err
	}
	draft, home := filepath.Join(h.dir, "draft.json"), filepath.Join(h.dir, lateOrg)
	h.member = filepath.Join(h.dir, lateOrg+".member.json")
	for _, args := range [][]string{
		{"consortium", "new", "--chain-id", doc.ChainID, "--genesis-time", doc.GenesisTime.Format(time.RFC3339Nano), "--out", draft},
		{"consortium", "join", draft, "--later", "--home", home, "--org", lateOrg, "--kind", lateOrg, "--host", "127.0.0.1",
			"--p2p-port", strconv.Itoa(h.o.BasePort + 40), "--rpc-port", strconv.Itoa(h.o.BasePort + 41), "--out", h.member},
		{"consortium", "install", genesis, "--later", "--home", home},
	} {
		if _, err := h.vt(true, args...); err != nil {
			return err
		}
	}
	h.homes = append(h.homes, home)
	h.rpcs = append(h.rpcs, fmt.Sprintf("127.0.0.1:%d", h.o.BasePort+41))
	h.logs = append(h.logs, filepath.Join(h.dir, lateOrg+".log"))
	return nil
}

// startNodes starts the four validators' nodes and waits until each has
// caught up. The later organisation's node starts once the vote that
// adds it is decided: until its node ID is on the ledger the members'
// nodes refuse it as a peer (filter_peers).
func (h *harness) startNodes() error {
	h.procs = make([]*nodeproc.Proc, len(h.homes))
	for i := range orgs {
		if err := h.startNode(i); err != nil {
			return err
		}
	}
	for i := range orgs {
		if err := h.caughtUp(i, 1, 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) startNode(i int) error {
	p, err := nodeproc.Start(filepath.Join(h.o.Bin, "veritrial"), h.logs[i], "--home", h.homes[i], "start")
	h.procs[i] = p
	return err
}

// caughtUp waits until node i has committed height min and is no longer
// catching up.
func (h *harness) caughtUp(i int, min int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if h.procs[i].Exited() {
			return fmt.Errorf("the node of %s exited; see %s", h.homes[i], h.logs[i])
		}
		if st, err := nodeproc.GetStatus(h.rpcs[i]); err == nil && st.Height >= min && !st.CatchingUp {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the node of %s did not catch up with height %d within %s; see %s", h.homes[i], min, within, h.logs[i])
}

func (h *harness) stopNodes() {
	for _, p := range h.procs {
		if p != nil {
			p.Stop()
		}
	}
}

// loadgenRun is loadgen running in the background.
type loadgenRun struct {
	cmd       *exec.Cmd
	measuring chan struct{}
	done      chan struct{}
	err       error
}

// startLoadgen starts loadgen on the four validators, its output copied
// to our stderr; measuring is closed when its measured phase starts. The
// blocks are counted here, not by loadgen, which is stopped once the
// changes are measured.
func (h *harness) startLoadgen() (*loadgenRun, error) {
	lg := &loadgenRun{measuring: make(chan struct{}), done: make(chan struct{})}
	lg.cmd = exec.Command(filepath.Join(h.o.Bin, "loadgen"), "--nodes", strings.Join(h.rpcs[:4], ","), "--homes", strings.Join(h.homes[:4], ","),
		"--duration", h.o.MaxDuration.String(), "--concurrency", strconv.Itoa(h.o.Concurrency), "--prebuild", "5000",
		"--label", fmt.Sprintf("valsetbench run %d", h.n))
	lg.cmd.Stdout = os.Stderr
	stderr, err := lg.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := lg.cmd.Start(); err != nil {
		return nil, err
	}
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, sc.Text())
			if strings.Contains(sc.Text(), "measuring for") {
				once.Do(func() { close(lg.measuring) })
			}
		}
		lg.err = lg.cmd.Wait()
		close(lg.done)
	}()
	return lg, nil
}

// stop ends loadgen (SIGTERM), unless it has ended, and waits for it.
func (lg *loadgenRun) stop() {
	lg.cmd.Process.Signal(syscall.SIGTERM)
	<-lg.done
}

// propose sends a proposal as org's administrator and returns its number
// and when it was sent.
func (h *harness) propose(org int, args ...string) (int, time.Time, error) {
	sent := time.Now()
	p, err := h.gov(append([]string{"--home", h.homes[org], "consortium", "propose"}, append(args, "--from", orgs[org]+"-admin", "--output", "json")...)...)
	return p.Proposal, sent, err
}

// pass votes yes on proposal n as the administrators of the voters, all
// at once as organisations would, and returns the height of the block
// that applied it and when it was committed.
func (h *harness) pass(n int, voters ...int) (int64, time.Time, error) {
	votes := make([]govOutcome, len(voters))
	errs := make([]error, len(voters))
	var wg sync.WaitGroup
	for k, i := range voters {
		wg.Go(func() {
			votes[k], errs[k] = h.gov("--home", h.homes[i], "consortium", "vote", "--from", orgs[i]+"-admin", "--proposal", strconv.Itoa(n), "--yes", "--output", "json")
		})
	}
	wg.Wait()
	decided := time.Now()
	for k := range votes {
		if errs[k] != nil {
			return 0, decided, errs[k]
		}
		if votes[k].Status == string(types.ProposalPassed) {
			return votes[k].Height, decided, nil
		}
	}
	return 0, decided, fmt.Errorf("proposal %d did not pass with the votes of %v", n, voters)
}

// change proposes as org's administrator, passes the proposal with the
// voters' votes and describes it.
func (h *harness) change(kind, detail string, org int, voters []int, args ...string) (*changeInfo, error) {
	c := &changeInfo{Kind: kind, Detail: detail, LoadAvg: nodeproc.LoadAvg()}
	var err error
	if c.Proposal, c.Sent, err = h.propose(org, args...); err != nil {
		return nil, err
	}
	if c.Applied, c.Decided, err = h.pass(c.Proposal, voters...); err != nil {
		return nil, err
	}
	c.Effective = c.Applied + 2
	return c, nil
}

// powerChange lowers site-1's power from 10 to 7.
func (h *harness) powerChange() (*changeInfo, error) {
	return h.change(kindPower, "site-1's validator", 1, []int{0, 2, 3}, "validator", "--org", orgs[1], "--pubkey", h.keys[1], "--power", "7")
}

// rotation gives site-2's validator a new key; once decided, its node
// restarts with the new key file.
func (h *harness) rotation() (*changeInfo, error) {
	keyFile := filepath.Join(h.dir, "site-2-new-key.json")
	pv := privval.GenFilePV(keyFile, filepath.Join(h.dir, "site-2-new-key-state.json"))
	pv.Save()
	c, err := h.change(kindRotation, "site-2's validator, its node restarted with the new key", 2, []int{0, 1, 3},
		"validator", "--org", orgs[2], "--pubkey", types.KeyText(pv.Key.PubKey.Bytes()))
	if err != nil {
		return nil, err
	}
	down := time.Now()
	h.procs[2].Stop()
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(h.homes[2], "config", "priv_validator_key.json"), key, 0o600); err != nil {
		return nil, err
	}
	top, err := h.startBehind(2)
	if err != nil {
		return nil, err
	}
	if err := h.caughtUp(2, top, 5*time.Minute); err != nil {
		return nil, err
	}
	c.NodeDownSec = round(time.Since(down).Seconds(), 2)
	return c, nil
}

// addValidator adds the later organisation with its member file; once
// decided, its node starts and catches up by block sync from the
// genesis. Under the load that takes longer than the rest of the run
// (minutes: every block since the genesis replayed on the same two
// cores), so it is timed in the background, and h.joined gets the time
// if it caught up.
func (h *harness) addValidator() (*changeInfo, error) {
	c, err := h.change(kindAdd, "the ethics committee that joined later, proposed with its member file; its node started once decided", 0, []int{1, 2, 3},
		"add-org", "--member", h.member)
	if err != nil {
		return nil, err
	}
	down, i := time.Now(), len(orgs)
	top, err := h.startBehind(i)
	if err != nil {
		return nil, err
	}
	h.joined = make(chan float64, 1)
	go func() {
		if h.caughtUp(i, top, time.Hour) == nil {
			h.joined <- round(time.Since(down).Seconds(), 2)
		}
	}()
	return c, nil
}

// startBehind starts node i and returns the first validator's height at
// its start, which it must reach to have caught up.
func (h *harness) startBehind(i int) (int64, error) {
	top, err := nodeproc.Height(h.rpcs[0])
	if err != nil {
		return 0, err
	}
	return top, h.startNode(i)
}

// recount reads the result file o.Recount and counts each run's windows
// again from the blocks its first validator stored: the node is started
// again from its home in the run's directory, alone (it commits nothing
// more), and serves them.
func recount(o *options) (*report, error) {
	bz, err := os.ReadFile(o.Recount)
	if err != nil {
		return nil, err
	}
	var rep report
	if err := json.Unmarshal(bz, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Recount, err)
	}
	for _, ri := range rep.Runs {
		if err := recountRun(o, ri, rep.Options.Window); err != nil {
			return nil, fmt.Errorf("run %d: %w", ri.Run, err)
		}
	}
	return &rep, nil
}

func recountRun(o *options, ri *runInfo, w time.Duration) error {
	net := filepath.Join(ri.Dir, "net")
	m, err := testnet.ReadManifest(net)
	if err != nil {
		return err
	}
	rpc := strings.TrimPrefix(m.Nodes[0].RPC, "tcp://")
	p, err := nodeproc.Start(filepath.Join(o.Bin, "veritrial"), filepath.Join(ri.Dir, m.Nodes[0].Org+".log"), "--home", filepath.Join(net, m.Nodes[0].Home), "start")
	if err != nil {
		return err
	}
	defer p.Stop()
	var top int64
	for deadline := time.Now().Add(2 * time.Minute); top == 0; time.Sleep(250 * time.Millisecond) {
		if p.Exited() || time.Now().After(deadline) {
			return fmt.Errorf("the node of %s did not serve its blocks", m.Nodes[0].Org)
		}
		if st, err := nodeproc.GetStatus(rpc); err == nil {
			top = st.Height
		}
	}
	blocks, err := fetchBlocks(rpc, ri.FromHeight, top)
	if err != nil {
		return err
	}
	return ri.count(blocks, w)
}
