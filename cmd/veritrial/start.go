package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/readapi"
	"github.com/veritrial/veritrial/app/webui"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:     "start",
		Category: categoryNode,
		Usage:    "run the node: CometBFT and the veritrial ledger in one process",
		UsageText: `veritrial start [--log-level LEVEL] [--cache-nodes N] [--snapshot-interval N] [--snapshot-keep N] [--state-sync RPC1,RPC2]
   [--expose-rpc] [--http-port N] [--tls-cert FILE --tls-key FILE | --tls-proxy]
   [--access-log-commit-every N] [--access-log-commit-interval D]

Example:
   veritrial start
   veritrial --home /tmp/vt start --log-level info
   veritrial --home ~/veritrial start --state-sync tcp://10.0.0.11:26657,tcp://10.0.0.12:26657`,
		Description: `Runs consensus, the RPC server, the read API and the application on the home's
config and data until SIGINT (Ctrl-C) or SIGTERM, then stops cleanly and exits
0. A restart resumes from the last committed block. Logs go to stderr (JSON
lines with --output json); on stop a summary is printed on stdout.

The read API (docs/API.md) is how people and tools read the ledger and send
txs: HTTP+JSON, every read signed by the reader's key. Its settings are the
[api] section of the home's config/veritrial.toml (veritrial init writes it);
the log names its URL. --http-port, --tls-cert, --tls-key and --tls-proxy
override them. Without a certificate it listens on 127.0.0.1 only: a
non-loopback address needs --tls-cert and --tls-key (HTTPS), or --tls-proxy
when a reverse proxy in front of it terminates TLS.

--log-level takes CometBFT's syntax: a level (debug, info, error) or
module:level pairs, e.g. "state:info,veritrial:debug,*:error". The default is
the home's config.toml log_level.

--cache-nodes sizes the in-memory cache of the ledger's Merkle tree, in tree
nodes of about 1 KiB each; reads of committed state keep half as many again.
The default suits a few million stored item values. At 10 million, 2000000
ran blocks about 10% faster for about 2.6 GB more memory.

--snapshot-interval takes a state sync snapshot of the ledger every N
heights (0: none), in the background, into data/app/snapshots/; the newest
--snapshot-keep are kept and served to nodes that join by state sync.

--state-sync joins a running consortium without replaying every block: on a
home whose ledger state is empty, the node first verifies the consortium's
headers with a light client from this home's genesis validators (following
every validator set change) up to the latest height both nodes named have,
trusts that header, restores its peers' latest snapshot, checks the
restored state against the app hash of the verified chain, and replays only
the blocks since. Name the RPC addresses of two existing nodes: one serves
the headers, the other cross-checks them. On a home with ledger state the
flag is ignored. A node that joined this way holds the ledger from the
snapshot's height on: older heights are read from the original members'
nodes, which hold the full history. Without the flag a new node replays
every block from its peers.

The RPC serves every block and transaction in clear, so start refuses an
RPC listen address (rpc.laddr, rpc.grpc_laddr, rpc.pprof_laddr in
config.toml) other than 127.0.0.1, ::1, localhost or a Unix socket unless
--expose-rpc is given, and then logs a warning. Peers are filtered: the node
accepts only the node IDs the ledger lists for the consortium's
organisations (filter_peers), and peer exchange is off. See docs/PRIVACY.md.

Before it runs, start checks a sample of 1000 records of the ledger state
against the stored root with their Merkle proofs, and refuses a damaged state
(veritrial doctor checks every record).

Every read request the node answers or refuses is recorded in its access log,
data/accesslog/ (veritrial access-log show|verify). With a node account key in
config/node_account.json the node commits the log's head to the ledger once
--access-log-commit-every entries wait, and at least every
--access-log-commit-interval while any does.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "log-level", Usage: "log level, overriding config.toml", DefaultText: "config.toml log_level"},
			&cli.IntFlag{Name: "cache-nodes", Value: app.DefaultCacheSize, Usage: "Merkle tree nodes kept in memory"},
			&cli.Int64Flag{Name: "snapshot-interval", Value: app.DefaultSnapshotInterval, Usage: "take a state sync snapshot every N heights (0: none)"},
			&cli.IntFlag{Name: "snapshot-keep", Value: app.DefaultSnapshotKeep, Usage: "state sync snapshots kept"},
			&cli.StringFlag{Name: "state-sync", Usage: "on an empty home, join by state sync through two existing nodes' RPC addresses (RPC1,RPC2)"},
			&cli.IntFlag{Name: "http-port", Usage: "serve the read API on this port (of the host in veritrial.toml, else 127.0.0.1)", DefaultText: "veritrial.toml's"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve the read API over HTTPS with this PEM certificate `FILE` (with --tls-key)", TakesFile: true},
			&cli.StringFlag{Name: "tls-key", Usage: "the private key `FILE` (PEM) of --tls-cert", TakesFile: true},
			&cli.BoolFlag{Name: "tls-proxy", Usage: "the read API may listen without TLS on a non-loopback address: a reverse proxy in front terminates TLS"},
			&cli.BoolFlag{Name: "expose-rpc", Usage: "let the RPC listen on an address other machines reach (it serves every transaction in clear)"},
		}, accessLogFlags()...),
		Action: runStart,
	}
}

// quickCheckSamples is how many records start checks against the stored
// root, chosen at random (about 0.1 s).
const quickCheckSamples = 1000

// startResult is printed when the node has stopped.
type startResult struct {
	Home       string `json:"home"`
	ChainID    string `json:"chain_id"`
	LastHeight int64  `json:"last_height"`
	StoppedBy  string `json:"stopped_by"`
	// UpgradeNeeded says which release to start, when the node had
	// stopped at the height of an upgrade its release does not carry.
	UpgradeNeeded string `json:"upgrade_needed,omitempty"`
}

func runStart(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	began := time.Now()
	cacheNodes := c.Int("cache-nodes")
	if cacheNodes < app.MinCacheSize {
		return usageErrorf("--cache-nodes %d is too small: use at least %d (default %d)", cacheNodes, app.MinCacheSize, app.DefaultCacheSize)
	}
	if c.Int64("snapshot-interval") < 0 || c.Int("snapshot-keep") < 1 {
		return usageErrorf("--snapshot-interval must be 0 (no snapshots) or more and --snapshot-keep at least 1")
	}
	if err := checkAccessLogFlags(c); err != nil {
		return err
	}
	var stateSyncRPC []string
	if c.IsSet("state-sync") {
		var err error
		if stateSyncRPC, err = parseStateSync(c.String("state-sync")); err != nil {
			return err
		}
	}
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	api, err := apiListen(c, home)
	if err != nil {
		return err
	}
	level := conf.LogLevel
	if c.IsSet("log-level") {
		level = c.String("log-level")
	}
	var base cmtlog.Logger
	if isJSON(c) {
		base = cmtlog.NewTMJSONLogger(cmtlog.NewSyncWriter(stderr(c)))
	} else {
		base = cmtlog.NewTMLogger(cmtlog.NewSyncWriter(stderr(c)))
	}
	quiet := newNodeLogger(base)
	logger, err := cmtflags.ParseLogLevel(level, quiet, cmtcfg.DefaultLogLevel)
	if err != nil {
		return usageErrorf("log level %q is not valid (%v): use debug, info or error, or module:level pairs", level, err)
	}
	if err := checkRPCExposure(conf, c.Bool("expose-rpc"), logger.With("module", "main")); err != nil {
		return err
	}

	gen, err := cmttypes.GenesisDocFromFile(conf.GenesisFile())
	if errors.Is(err, fs.ErrNotExist) {
		return inputErrorf("the home %s has no genesis yet: a home made by veritrial consortium join gets it from veritrial consortium install", home)
	}
	if err != nil {
		return inputErrorf("cannot use the genesis %s: %v", conf.GenesisFile(), err)
	}
	pv, err := loadFilePV(conf)
	if err != nil {
		return err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		return inputErrorf("cannot use the node key %s: %v", conf.NodeKeyFile(), err)
	}
	nodeAccount, err := loadNodeAccount(home)
	if err != nil {
		return err
	}
	mainLog := logger.With("module", "main")
	access, err := openAccessLog(home, mainLog)
	if err != nil {
		if isLockError(err) {
			return failf("the home %s is in use by another veritrial node: stop it first", home)
		}
		return failf("cannot open the access log: %v", err)
	}

	tuneGC()
	appl, err := app.New(app.Config{DataDir: node.AppDataDir(home), Logger: logger, CacheSize: cacheNodes,
		SnapshotInterval: c.Int64("snapshot-interval"), SnapshotKeep: c.Int("snapshot-keep"), Access: access})
	if err != nil {
		access.Close()
		if isLockError(err) {
			return failf("the home %s is in use by another veritrial node: stop it first", home)
		}
		return failf("cannot open the ledger state in %s: %v", node.AppDataDir(home), err)
	}
	closeApp := func() {
		if err := appl.Close(); err != nil {
			logger.Error("closing the ledger state", "err", err)
		}
		if err := access.Close(); err != nil {
			logger.Error("closing the access log", "err", err)
		}
	}
	// A bounded look for records altered on disk (veritrial doctor checks
	// them all): a node must not serve or build on a damaged state.
	damaged, err := appl.QuickCheck(quickCheckSamples)
	if err == nil && len(damaged) > 0 {
		err = fmt.Errorf("record %s: %s", damaged[0].Key, damaged[0].Reason)
	}
	if err != nil {
		closeApp()
		return failf("the ledger state in %s is damaged (%v): run veritrial doctor to list every damaged record, then move %s aside and start again: the node rebuilds the state from its stored blocks",
			node.AppDataDir(home), err, node.AppDataDir(home))
	}
	if err := appl.CheckRelease(ownSHA256); err != nil {
		closeApp()
		return failf("this binary cannot run this ledger: %v", err)
	}
	// The ledger state is locked by now: a second node on this home has
	// stopped above, before touching CometBFT's databases.
	from, to, err := node.CatchUpIndex(conf)
	if err != nil {
		closeApp()
		return failf("cannot bring the tx index in %s up to the stored blocks: %v", conf.DBDir(), err)
	}
	if from > 0 {
		logger.Info("indexed committed blocks the tx index had missed", "from", from, "to", to)
	}

	if stateSyncRPC != nil {
		if err := setupStateSync(conf, gen, appl, stateSyncRPC, logger.With("module", "main")); err != nil {
			closeApp()
			return err
		}
	}

	n, err := newNode(conf, pv, nodeKey, appl, logger)
	if err != nil {
		closeApp()
		if isLockError(err) {
			return failf("the home %s is in use by another veritrial node: stop it first", home)
		}
		// Its start-up replayed the stored block of an upgrade height.
		if u := appl.UpgradeNeeded(); u != nil {
			return failf("this binary cannot run this ledger: %v", u)
		}
		if isChainDataDamage(err) {
			return failf("the chain data in %s is damaged (%v), so the node cannot resume where it stopped; to recover, move %s aside, create an empty %s holding only a copy of the old priv_validator_state.json (it keeps this validator from signing twice), and start again: the node syncs and replays every block from its peers (a single-validator home has none: restore its data from a backup)",
				conf.DBDir(), err, conf.DBDir(), conf.DBDir())
		}
		return failf("cannot start the node: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Start(); err != nil {
		closeApp()
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return failf("cannot start the node: %v; another node may be running, or choose other ports in %s", err, node.ConfigFile(home))
		}
		return failf("cannot start the node: %v", err)
	}
	lastHeight := func() int64 { return n.BlockStore().Height() }
	upgradeNeeded := appl.UpgradeNeeded
	onHalt := func(h *client.Halt) {
		if h.Upgrade != "" {
			mainLog.Error(h.Reason + ". Every node of this release stops here: stop this one (Ctrl-C or SIGTERM) and start that release on this home; until then its read API answers only its status (node_halted)")
			return
		}
		mainLog.Error("this node has stopped following the chain: its consensus failed after height "+fmt.Sprint(h.Height)+"; its read API now answers only its status (node_halted), and what it holds may be stale. Stop it, run veritrial doctor, and compare its app hash with another node's (veritrial status)",
			"reason", h.Reason)
	}
	quiet.halt.height.Store(&lastHeight)
	quiet.halt.upgrade.Store(&upgradeNeeded)
	quiet.halt.onHalt.Store(&onHalt)
	stopAPI := func() {}
	if api != nil {
		srv := readapi.New(readapi.Config{ChainID: gen.ChainID, Ledger: appl, Chain: local.New(n), Logger: logger.With("module", "readapi"),
			Halted: quiet.halt.Halted, MaxBlockInterval: maxBlockInterval(conf)})
		srv.Handle("/", webui.New())
		stop, err := readapi.Serve(ctx, srv, *api, logger.With("module", "readapi"))
		if err != nil {
			quiet.stopping.Store(true)
			n.Stop()
			n.Wait()
			closeApp()
			return failf("cannot start the read API: %v; choose another port with --http-port or in %s", err, node.VeritrialFile(home))
		}
		stopAPI = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := stop(sctx); err != nil {
				mainLog.Error("stopping the read API", "err", err)
			}
		}
	}
	apiURL := "none (no config/veritrial.toml: pass --http-port to serve one)"
	if api != nil {
		apiURL = api.URL()
	}
	mainLog.Info("veritrial node started", "chain_id", gen.ChainID, "api", apiURL, "rpc", conf.RPC.ListenAddress,
		"p2p", conf.P2P.ListenAddress, "home", home, "height", n.BlockStore().Height())
	stopCommits := startHeadCommits(c, n, appl, access, nodeAccount, gen.ChainID, mainLog)
	if n.ConsensusReactor().WaitSync() {
		go logCaughtUp(n, appl, began, conf.StateSync.Enable, mainLog)
	}

	stoppedBy := ""
	select {
	case <-ctx.Done():
		stoppedBy = "signal"
	case <-n.Quit():
		stoppedBy = "node"
	}
	stop() // a second Ctrl-C ends the process the hard way
	mainLog.Info("stopping the veritrial node")
	stopCommits()
	quiet.stopping.Store(true)
	stopAPI()
	if n.IsRunning() {
		if err := n.Stop(); err != nil {
			mainLog.Error("stopping the node", "err", err)
		}
	}
	n.Wait()
	height := n.BlockStore().Height()
	closeApp()
	if stoppedBy != "signal" {
		return failf("the node stopped by itself at height %d; see the log above", height)
	}
	res := startResult{Home: home, ChainID: gen.ChainID, LastHeight: height, StoppedBy: stoppedBy}
	if h := quiet.halt.Halted(); h != nil && h.Upgrade != "" {
		res.UpgradeNeeded, res.LastHeight = h.Reason, h.Height // the block of the upgrade height is stored, not executed
	}
	return emit(c, res, func(w io.Writer) error {
		printf(w, "veritrial node stopped cleanly at height %d.\n", res.LastHeight)
		if res.UpgradeNeeded != "" {
			printf(w, "%s\n", res.UpgradeNeeded)
		}
		return nil
	})
}

// apiListen returns the read API's settings: the home's veritrial.toml
// with the flags over it; nil when neither names one (a home made before
// the read API).
func apiListen(c *cli.Context, home string) (*readapi.Listen, error) {
	l, ok, err := node.LoadAPI(home)
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	if c.IsSet("http-port") {
		port := c.Int("http-port")
		if port < 1 || port > 65535 {
			return nil, usageErrorf("--http-port %d is not a port: use 1 to 65535", port)
		}
		host := "127.0.0.1"
		if ok {
			if h, _, err := net.SplitHostPort(l.HostPort()); err == nil {
				host = h
			}
		}
		l.Addr, ok = "tcp://"+net.JoinHostPort(host, strconv.Itoa(port)), true
	}
	if !ok {
		if c.IsSet("tls-cert") || c.IsSet("tls-key") || c.IsSet("tls-proxy") {
			return nil, usageErrorf("--tls-cert, --tls-key and --tls-proxy configure the read API, which this home has none of: pass --http-port too")
		}
		return nil, nil
	}
	if c.IsSet("tls-cert") || c.IsSet("tls-key") {
		l.CertFile, l.KeyFile = c.String("tls-cert"), c.String("tls-key")
	}
	if c.IsSet("tls-proxy") {
		l.TLSProxy = c.Bool("tls-proxy")
	}
	if err := l.Check(); errors.Is(err, readapi.ErrTLSFiles) {
		return nil, inputErrorf("%v", err)
	} else if err != nil {
		return nil, usageErrorf("%v (the read API's settings are in %s)", err, node.VeritrialFile(home))
	}
	return &l, nil
}

// newNode creates the node (its handshake replays what the application
// lacks), turning the panics CometBFT raises on inconsistent stores into
// errors.
func newNode(conf *cmtcfg.Config, pv *privval.FilePV, nodeKey *p2p.NodeKey, appl *app.App, logger cmtlog.Logger) (n *cmtnode.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return cmtnode.NewNode(conf, pv, nodeKey,
		proxy.NewConnSyncLocalClientCreator(appl),
		cmtnode.DefaultGenesisDocProviderFunc(conf),
		cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation),
		logger)
}

// isChainDataDamage reports whether a node start-up error means the
// stores disagree or a database is corrupt: a crash or a disk problem
// lost the tail of CometBFT's block or state store (the application is
// then ahead of it), or a database cannot be read.
func isChainDataDamage(err error) bool {
	s := err.Error()
	for _, sign := range []string{
		"is higher than core",                                    // the app is ahead of the block store
		"StateBlockHeight", "StoreBlockHeight", "uncovered case", // store heights inconsistent
		"does not match AppHash after replay",
		"corrupted", "leveldb: ",
	} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}

// loadFilePV loads the validator key and sign state, checking both files
// first: CometBFT's loader exits the process on a damaged file, and would
// silently make a new key (one the genesis does not know) for a missing
// one.
func loadFilePV(conf *cmtcfg.Config) (*privval.FilePV, error) {
	keyFile, stateFile := conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile()
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, inputErrorf("cannot read the validator key %s: %v (a home made by veritrial init has one)", keyFile, pathError(err))
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(kb, &key); err != nil || key.PrivKey == nil || key.PubKey == nil {
		return nil, inputErrorf("the validator key %s is damaged", keyFile)
	}
	sb, err := os.ReadFile(stateFile)
	if err != nil {
		return nil, inputErrorf("cannot read the validator sign state %s: %v", stateFile, pathError(err))
	}
	var state privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(sb, &state); err != nil {
		return nil, inputErrorf("the validator sign state %s is damaged", stateFile)
	}
	return privval.LoadOrGenFilePV(keyFile, stateFile), nil
}

// isLockError reports whether err is a database already locked by another
// process.
func isLockError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(err.Error(), "resource temporarily unavailable")
}

// nodeLogger is the node's CometBFT logger. It drops the errors every
// listener reports when its socket is closed during a clean shutdown, and
// it notices the node's consensus failure: CometBFT's consensus recovers
// the panic that stops it (for one, +2/3 of the validators committed a
// block this node's state finds invalid), logs "CONSENSUS FAILURE!!!" and
// stops for good, while RPC and the read API would go on answering at the
// last height as if nothing were wrong. Everything else passes through.
type nodeLogger struct {
	next     cmtlog.Logger
	stopping *atomic.Bool
	halt     *haltWatch
}

// haltWatch holds the node's consensus failure, once there is one.
type haltWatch struct {
	halt atomic.Pointer[client.Halt]
	// height is the node's last committed height (set once it runs).
	height atomic.Pointer[func() int64]
	// onHalt tells the operator (set once the node runs).
	onHalt atomic.Pointer[func(*client.Halt)]
	// upgrade returns the upgrade the node's release stopped at, if any
	// (set once the node runs).
	upgrade atomic.Pointer[func() *app.UpgradeNeededError]
}

// consensusFailure is CometBFT's log message when its consensus stops on
// a panic (consensus/state.go, receiveRoutine).
const consensusFailure = "CONSENSUS FAILURE!!!"

// Halted is the node's consensus failure, or nil.
func (h *haltWatch) Halted() *client.Halt { return h.halt.Load() }

// failed records a consensus failure for reason.
func (h *haltWatch) failed(reason string) {
	if len(reason) > 600 {
		reason = reason[:600] + "..."
	}
	halt := &client.Halt{Reason: reason, Since: time.Now().UTC()}
	if f := h.height.Load(); f != nil {
		halt.Height = (*f)()
	}
	if f := h.upgrade.Load(); f != nil {
		if u := (*f)(); u != nil { // its block is stored, not executed
			halt.Upgrade, halt.Reason, halt.Height = u.Upgrade.Name, u.Error(), u.Upgrade.Height-1
		}
	}
	if h.halt.CompareAndSwap(nil, halt) {
		if f := h.onHalt.Load(); f != nil {
			(*f)(halt)
		}
	}
}

func newNodeLogger(next cmtlog.Logger) *nodeLogger {
	return &nodeLogger{next: next, stopping: new(atomic.Bool), halt: new(haltWatch)}
}

func (l *nodeLogger) Debug(msg string, kv ...any) { l.next.Debug(msg, kv...) }
func (l *nodeLogger) Info(msg string, kv ...any)  { l.next.Info(msg, kv...) }

func (l *nodeLogger) Error(msg string, kv ...any) {
	if l.stopping.Load() {
		if strings.Contains(msg, "transport is closed") {
			return
		}
		for i := 1; i < len(kv); i += 2 {
			if e, ok := kv[i].(error); ok && errors.Is(e, net.ErrClosed) {
				return
			}
		}
	}
	if msg == consensusFailure {
		reason := "unknown"
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "err" {
				reason = fmt.Sprint(kv[i+1])
			}
		}
		// The stack trace stays in this line of the log; the halt keeps
		// the error.
		defer l.halt.failed(reason)
	}
	l.next.Error(msg, kv...)
}

func (l *nodeLogger) With(kv ...any) cmtlog.Logger {
	return &nodeLogger{next: l.next.With(kv...), stopping: l.stopping, halt: l.halt}
}

// maxBlockInterval is the longest the chain goes without a block while it
// is live, by the node's configuration: its empty-blocks interval, or, when
// it makes empty blocks without one, a commit pause and a proposal; 0 when
// it makes blocks only for txs.
func maxBlockInterval(conf *cmtcfg.Config) time.Duration {
	c := conf.Consensus
	switch {
	case !c.CreateEmptyBlocks:
		return 0
	case c.CreateEmptyBlocksInterval > 0:
		return c.CreateEmptyBlocksInterval
	}
	return c.TimeoutCommit + c.TimeoutPropose
}

// defaultGCPercent is the Go garbage collector target of a node unless
// GOGC is set: the node keeps a large, long-lived heap (IAVL's node cache)
// and allocates per transaction, and at Go's default of 100 the collector
// took about 15% of the node's CPU under load (docs/PERFORMANCE.md). At
// 400 the heap may grow to about five times the live data between
// collections, which defaultMemoryLimit caps.
const defaultGCPercent = 400

// defaultMemoryLimit is the Go runtime's soft memory limit of a node
// unless GOMEMLIMIT is set: the collector runs sooner as the heap nears
// it, so a node with the default caches (400-600 MB live under sustained
// load) stays near 2 GiB resident instead of five times its live data.
// At 1 GiB the heap met the limit every few hundred MB of allocation and
// the collector took 12-13% of a saturated node's CPU, against 5% at 2
// GiB (docs/PERFORMANCE.md, "Memory and disk"). A node with a larger
// --cache-nodes needs a larger limit; GOMEMLIMIT=1GiB trades that CPU for
// memory on a small machine.
const defaultMemoryLimit = 2 << 30

// tuneGC applies defaultGCPercent unless the operator set GOGC, and
// defaultMemoryLimit unless they set GOMEMLIMIT.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
