package app

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// txCacheSize bounds the decoded txs kept between CheckTx and
// FinalizeBlock: four times CometBFT's default mempool size.
const txCacheSize = 20_000

// Config configures an App.
type Config struct {
	// DataDir holds the application database (app.db).
	DataDir string
	// Logger receives the application's log lines; nil discards them.
	Logger cmtlog.Logger
	// CacheSize is IAVL's node cache size in nodes (DefaultCacheSize
	// when 0); the committed-state reader gets half as many.
	CacheSize int
	// SnapshotInterval takes a state sync snapshot every that many
	// heights (0: none; veritrial start uses DefaultSnapshotInterval), and
	// SnapshotKeep keeps that many (DefaultSnapshotKeep when 0). See
	// snapshot.go.
	SnapshotInterval int64
	SnapshotKeep     int
	// Access receives every read request the node answers or refuses
	// (nil: none); veritrial start gives the node's access log.
	Access AccessLog
}

// AccessLog receives every signed read request the node answers or
// refuses (need-to-know reads are logged by the node that serves them).
// Record must not block for long: it runs on the query path.
type AccessLog interface {
	Record(types.AccessEntry) error
}

// DefaultCacheSize is the working tree's node cache, in nodes. At 10M
// stored item values, 2,000,000 ran FinalizeBlock + Commit at 94% of the
// empty store against 80-93% with this default, for 3.6 GB of memory
// against 1.0 GB (docs/PERFORMANCE.md).
const DefaultCacheSize = 500_000

// MinCacheSize is the smallest node cache New accepts.
const MinCacheSize = 10_000

// App is the veritrial ABCI application.
type App struct {
	abci.BaseApplication

	// mu serialises the consensus connection (InitChain, FinalizeBlock,
	// Commit) and the block execution ProcessProposal starts in the
	// background (see optimistic.go), the only writers of the working
	// tree. CometBFT calls CheckTx and Query on connections of their own
	// (NewConnSyncLocalClientCreator) so they run while a block executes,
	// reading only the committed view below. Lock order: mu before cmu.
	mu      sync.Mutex
	log     cmtlog.Logger
	store   *store
	params  types.Params // set at genesis, before any CheckTx
	chainID string

	// cmu guards the committed view and the mempool's nonces.
	cmu sync.Mutex
	// checked is the last committed version (through the store's reader
	// handle), read by CheckTx and Query; nil before the first block.
	checked       *iavl.ImmutableTree
	checkedHeight int64
	checkedHash   []byte
	// checkedVersion is the state-machine version stored at checkedHeight
	// (StateVersion() before the first block).
	checkedVersion uint64
	// blockVersion is the state-machine version executing the block being
	// finalized (read after the block's upgrade, if any, ran).
	blockVersion uint64
	// checkReads memoizes CheckTx's reads of the records most txs read
	// in checked (see readMemo); a new one comes with each commit.
	checkReads *readMemo
	// blockReads memoizes FinalizeBlock's reads of the same records in
	// the working tree, under mu (see readMemo).
	blockReads *readMemo
	// mempoolNonces are nonces accepted by CheckTx since the last commit.
	mempoolNonces map[string]bool
	// nonces filters the nonces committed up to checkedHeight.
	nonces *nonceFilter
	// blockNonces are the nonce keys (with their expiry heights) of the
	// block being executed, under mu: FinalizeBlock's replay check reads
	// them (see nonceSeen), and they join the filter when the block commits.
	blockNonces map[string]int64
	// txs holds the txs CheckTx decoded and verified, for FinalizeBlock.
	txs *txCache
	// accounts and orgs cache decoded signer records (by their bytes).
	accounts *decoded[types.Account]
	orgs     *decoded[types.Org]
	// studies, subjects, sites and delegations cache the records every
	// form tx reads.
	studies     *decoded[types.Study]
	subjects    *decoded[types.Subject]
	sites       *decoded[types.Site]
	delegations *decoded[types.Delegation]
	// labTables caches the reference-range tables every form tx of a
	// study with one reads: decoded at every submission, a table of 1,350
	// ranges made a block of 200 laboratory forms take 620 ms instead of
	// 115 ms (BenchmarkSubmitLabWithRanges).
	labTables *decoded[types.LabRangeTable]
	// vmu guards protocols and versions, which FinalizeBlock and CheckTx
	// (its look at form submissions, see precheckSubmit) both read.
	vmu sync.Mutex
	// protocols caches compiled protocols by fingerprint (pure, so safe).
	protocols map[string]*protocol.Compiled
	// versions caches decoded protocol version records by store key.
	versions map[string]versionEntry

	// needed is set when a block failed for an upgrade this binary does
	// not carry (see runUpgrade).
	needed atomic.Pointer[UpgradeNeededError]

	// block state between FinalizeBlock and Commit.
	pendingHeight int64
	// blockVals is the validator set as the block being executed began,
	// once a tx of the block changed it, else nil (see noteValidators).
	blockVals map[string]int64

	// omu guards oe, the execution ProcessProposal started, and closed;
	// lock order: omu before mu.
	omu    sync.Mutex
	oe     *optimistic
	closed bool

	// snaps takes and serves the node's snapshots; restoring is the
	// snapshot being restored, under mu (see statesync.go).
	snaps     *snapshots
	restoring *restore

	// reads remembers the read requests received until they expire, and
	// access records them (nil: no access log); see read.go.
	reads  *readNonces
	access AccessLog
}

// New opens the application database in cfg.DataDir and loads the last
// committed state.
func New(cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = cmtlog.NewNopLogger()
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.CacheSize < MinCacheSize {
		return nil, fmt.Errorf("a node cache of %d is below the minimum of %d nodes", cfg.CacheSize, MinCacheSize)
	}
	s, err := openStore(cfg.DataDir, cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	a := &App{
		log:           cfg.Logger.With("module", "veritrial"),
		store:         s,
		params:        types.DefaultParams(),
		mempoolNonces: map[string]bool{},
		blockNonces:   map[string]int64{},
		txs:           newTxCache(txCacheSize),
		blockReads:    newReadMemo(s.tree),
		accounts:      newDecoded[types.Account](10_000),
		orgs:          newDecoded[types.Org](1_000),
		studies:       newDecoded[types.Study](1_000),
		subjects:      newDecoded[types.Subject](20_000),
		sites:         newDecoded[types.Site](1_000),
		delegations:   newDecoded[types.Delegation](10_000),
		labTables:     newDecoded[types.LabRangeTable](100),
		protocols:     map[string]*protocol.Compiled{},
		versions:      map[string]versionEntry{},
		reads:         newReadNonces(maxReadNonces),
		access:        cfg.Access,
	}
	if err := a.loadParams(); err != nil {
		s.close()
		return nil, err
	}
	if err := a.refreshChecked(); err != nil {
		s.close()
		return nil, err
	}
	if err := a.rebuildNonceFilter(); err != nil {
		s.close()
		return nil, err
	}
	if a.snaps, err = newSnapshots(filepath.Join(cfg.DataDir, "snapshots"), cfg.SnapshotInterval, cfg.SnapshotKeep, a.log, s.exportTree); err != nil {
		s.close()
		return nil, fmt.Errorf("snapshot directory: %w", err)
	}
	a.log.Info("application state loaded", "height", s.committed, "app_hash", fmt.Sprintf("%X", s.lastHash()), "cache_nodes", cfg.CacheSize)
	if r := s.restored.Load(); r > 0 {
		a.log.Info("this node joined by state sync: it holds the heights from the snapshot on", "snapshot_height", r)
	}
	return a, nil
}

// Close closes the database.
func (a *App) Close() error {
	a.stopOptimistic()
	a.snaps.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.restoring; r != nil {
		r.imp.Close()
		r.coder.close()
		a.restoring = nil
	}
	return a.store.close()
}

func (a *App) loadParams() error {
	bz, err := a.store.tree.Get([]byte(types.KeyParams))
	if err != nil {
		return err
	}
	if bz == nil {
		return nil
	}
	if err := json.Unmarshal(bz, &a.params); err != nil {
		return err
	}
	id, err := a.store.tree.Get([]byte(types.KeyChainID))
	a.chainID = string(id)
	return err
}

// refreshChecked points the committed view at the store's last committed
// version and empties the mempool's nonces; the caller holds mu (or owns
// the App before it is shared).
func (a *App) refreshChecked() error {
	var t *iavl.ImmutableTree
	sv := StateVersion()
	if a.store.committed > 0 {
		var err error
		if t, err = a.store.readVersion(a.store.committed); err != nil {
			return fmt.Errorf("loading committed version %d: %w", a.store.committed, err)
		}
		if sv, err = readStateVersion(t); err != nil {
			return err
		}
	}
	hash := a.store.lastHash()
	a.cmu.Lock()
	defer a.cmu.Unlock()
	a.checked, a.checkedHeight, a.checkedHash, a.checkedVersion = t, a.store.committed, hash, sv
	a.checkReads = nil
	if t != nil {
		a.checkReads = newReadMemo(t)
	}
	a.mempoolNonces = map[string]bool{}
	if a.nonces != nil {
		for k, expires := range a.blockNonces { // a filter's answers do not depend on the order
			a.nonces.add([]byte(k), expires)
		}
		a.nonces.prune(a.checkedHeight + 1)
	}
	clear(a.blockNonces)
	return nil
}

// rebuildNonceFilter fills the nonce filter from the committed tree.
func (a *App) rebuildNonceFilter() error {
	f := newNonceFilter()
	if a.checked != nil {
		var bad error
		err := iteratePrefix(a.checked, []byte(types.PrefixNonce), func(k, _ []byte) bool {
			exp, err := nonceExpiry(k)
			if err != nil {
				bad = err
				return false
			}
			f.add(k, exp)
			return true
		})
		if err == nil {
			err = iteratePrefix(a.checked, []byte(types.PrefixNonceList), func(k, list []byte) bool {
				bad = nonceListKeys(k, list, f.add)
				return bad == nil
			})
		}
		if err == nil {
			err = bad
		}
		if err != nil {
			return fmt.Errorf("reading the committed nonces: %w", err)
		}
	}
	a.cmu.Lock()
	a.nonces = f
	a.cmu.Unlock()
	return nil
}

// Info reports the last committed height and app hash, and as the app
// version the state-machine version stored at that height.
func (a *App) Info(_ context.Context, _ *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.cmu.Lock()
	defer a.cmu.Unlock()
	return &abci.ResponseInfo{
		Data:             "veritrial",
		Version:          "1",
		AppVersion:       a.checkedVersion,
		LastBlockHeight:  a.checkedHeight,
		LastBlockAppHash: a.checkedHash,
	}, nil
}

// InitChain writes the consortium's organisations and first accounts,
// at the state-machine version the genesis names.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store.committed != 0 {
		return nil, fmt.Errorf("InitChain called on a store already at height %d", a.store.committed)
	}
	a.store.rollback()
	a.blockReads.reset()
	g, err := types.ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if err := checkGenesisValidators(g, req.Validators); err != nil {
		return nil, err
	}
	// The genesis names the state-machine version the chain starts at
	// (node.NewGenesisDoc: the version of the binary that made it); the
	// response pins it in CometBFT's state, whatever Info said before.
	v := req.ConsensusParams.GetVersion().GetApp()
	if v == 0 {
		v = StateVersion()
	}
	if v > StateVersion() {
		return nil, fmt.Errorf("the genesis starts the chain at state-machine version %d, beyond this binary's version %d: run a release of version %d or later", v, StateVersion(), v)
	}
	if err := a.initGenesis(g, req.ChainId, req.Time, req.InitialHeight, v); err != nil {
		return nil, err
	}
	a.params = g.Params
	a.chainID = req.ChainId
	a.cmu.Lock()
	a.checkedVersion = v
	a.cmu.Unlock()
	return &abci.ResponseInitChain{AppHash: a.store.tree.WorkingHash(), ConsensusParams: &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: v}}}, nil
}

// PrepareProposal keeps the mempool's order, within the byte limit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var txs [][]byte
	var size int64
	for _, tx := range req.Txs {
		size += int64(len(tx))
		if size > req.MaxTxBytes {
			break
		}
		txs = append(txs, tx)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal accepts any proposal: invalid txs fail individually in
// FinalizeBlock with a code and change nothing. It starts executing the
// block at once, in the background, for FinalizeBlock to take if this
// block is decided (see optimistic.go).
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.startOptimistic(req.Hash, req.Height, req.Time, req.Txs)
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// CheckTx runs the stateless checks, the signature, replay protection and
// authorization against the last committed state.
//
// It reads the committed view only, so it runs while a block executes.
// Before the first block is committed the genesis state exists only in
// the working tree, which CheckTx then reads under the consensus lock.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.cmu.Lock()
	if a.checked == nil {
		a.cmu.Unlock()
		a.mu.Lock()
		defer a.mu.Unlock()
		a.cmu.Lock()
	}
	defer a.cmu.Unlock()
	height := a.checkedHeight + 1
	r := a.check(req.Tx, height, req.Type == abci.CheckTxType_New)
	if r.err != nil {
		return &abci.ResponseCheckTx{Code: uint32(r.err.Code), Log: r.err.Msg, Codespace: types.Codespace}, nil
	}
	a.mempoolNonces[string(r.nonce)] = true
	return &abci.ResponseCheckTx{Code: 0, GasWanted: 1}, nil
}

// FinalizeBlock executes the block's txs in order against the working
// tree and returns the staged app hash; nothing is persisted here. When
// ProcessProposal already began executing this very block, FinalizeBlock
// takes that execution (see optimistic.go).
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	if resp, ok := a.takeOptimistic(req.Hash, req.Height); ok {
		return resp, nil
	}
	return a.finalize(req.Height, req.Time, req.Txs, nil)
}

// finalize executes a block; abort, when not nil, stops it between two
// txs (a discarded optimistic execution, which is rolled back).
func (a *App) finalize(height int64, t time.Time, txs [][]byte, abort *atomic.Bool) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if height != a.store.committed+1 {
		return nil, fmt.Errorf("FinalizeBlock for height %d but the last committed height is %d", height, a.store.committed)
	}
	clear(a.blockNonces)
	a.blockVals = nil
	seen := &nonceSeen{committed: a.nonces, block: a.blockNonces}
	bt := t.UTC().Format(time.RFC3339Nano)
	if err := a.pruneNonces(height); err != nil {
		return nil, err
	}
	params, err := a.runUpgrade(height)
	if err != nil {
		return nil, err
	}
	if a.blockVersion, err = readStateVersion(a.store.tree); err != nil {
		return nil, err
	}
	results := make([]*abci.ExecTxResult, len(txs))
	for i, raw := range txs {
		if abort != nil && abort.Load() {
			return nil, errAborted
		}
		results[i] = a.deliver(raw, height, bt, seen)
	}
	if a.blockVersion >= nonceListsSince {
		if err := a.writeNonceLists(height, a.blockNonces); err != nil {
			return nil, err
		}
	}
	updates, err := a.validatorUpdates()
	if err != nil {
		return nil, err
	}
	a.pendingHeight = height
	return &abci.ResponseFinalizeBlock{TxResults: results, ValidatorUpdates: updates, ConsensusParamUpdates: params, AppHash: a.store.tree.WorkingHash()}, nil
}

// Commit persists the block's state: SaveVersion, then the committed
// height, synced. A crash before the height is written is recovered by
// CometBFT replaying the block.
func (a *App) Commit(_ context.Context, _ *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pendingHeight != a.store.committed+1 {
		return nil, fmt.Errorf("Commit without FinalizeBlock (last committed %d)", a.store.committed)
	}
	if _, err := a.store.commit(a.pendingHeight); err != nil {
		// State on disk may be half-written; stopping is the only safe move.
		panic(fmt.Sprintf("committing height %d: %v", a.pendingHeight, err))
	}
	if err := a.refreshChecked(); err != nil {
		panic(err)
	}
	a.snaps.afterCommit(a.pendingHeight)
	return &abci.ResponseCommit{RetainHeight: 0}, nil
}
