package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	sm "github.com/cometbft/cometbft/state"
	cmtstore "github.com/cometbft/cometbft/store"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/lightroot"
)

// ErrNodeRunning means the node's databases are locked by a running node.
var ErrNodeRunning = errors.New("the node is running")

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// DataDir is the node's CometBFT data directory (blockstore.db and
	// state.db), opened read-only.
	DataDir string
	Genesis *cmttypes.GenesisDoc
	// WorkDir receives the fresh application's database (default: a
	// temporary directory, removed afterwards).
	WorkDir string
	// AlterTxs, for tests, changes a block's txs before re-execution (a
	// stand-in for a modified application or a forged block).
	AlterTxs func(height int64, txs [][]byte) [][]byte
	// AppDataDir, when set, is the node's own ledger state (the node
	// stopped): once every block replays without divergence, the
	// replayed state is compared with it record by record.
	AppDataDir string
	// Progress, when set, is called after each block.
	Progress func(height, last int64)
}

// Divergence is the first difference between the ledger and re-execution.
type Divergence struct {
	Height int64  `json:"height"`
	Tx     int    `json:"tx"` // index of the tx, -1 for the block
	TxHash string `json:"tx_hash,omitempty"`
	What   string `json:"what"`
	Stored string `json:"stored"`
	Replay string `json:"replayed"`
}

// ReplayReport is the outcome of Replay.
type ReplayReport struct {
	ChainID  string `json:"chain_id"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	Blocks   int64  `json:"blocks"`
	Txs      int    `json:"txs"`
	Rejected int    `json:"rejected_txs"`
	// NoStoredResults counts blocks whose FinalizeBlock response the node
	// did not keep (discard_abci_responses): their tx results were checked
	// against the next header's results hash only (codes, not logs).
	NoStoredResults int         `json:"no_stored_results"`
	AppHash         string      `json:"app_hash"` // after the last block replayed
	Divergence      *Divergence `json:"divergence,omitempty"`
	// StateCompared is the height at which the replayed state was compared
	// with the node's own (ReplayOptions.AppDataDir; 0: not compared), and
	// StateDifferences the records they hold differently (StateMore
	// beyond those named).
	StateCompared    int64                 `json:"state_compared_height,omitempty"`
	StateDifferences []app.StateDifference `json:"state_differences,omitempty"`
	StateMore        int                   `json:"state_more_differences,omitempty"`
	Seconds          float64               `json:"seconds"`
	BlocksPerSecond  float64               `json:"blocks_per_second"`
}

// openReadOnly opens a goleveldb database of the node without writing.
func openReadOnly(name, dir string) (dbm.DB, error) {
	if _, err := os.Stat(filepath.Join(dir, name+".db")); err != nil {
		return nil, fmt.Errorf("no %s.db in %s: is this a node's data directory?", name, dir)
	}
	db, err := dbm.NewGoLevelDBWithOpts(name, dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		if strings.Contains(err.Error(), "resource temporarily unavailable") || strings.Contains(err.Error(), "locked") {
			return nil, fmt.Errorf("%w: %s is locked; stop the node first (replay reads the stores of a stopped node)", ErrNodeRunning, filepath.Join(dir, name+".db"))
		}
		return nil, fmt.Errorf("opening %s.db: %w", name, err)
	}
	return db, nil
}

// Replay re-executes every stored block from genesis in a fresh App and
// compares, block by block: the block against its header and the next
// block's link to it, the app hash after InitChain and after each block
// with the next header's app hash and the stored FinalizeBlock response,
// the results hash with the next header's, and each tx result's code and
// log with the stored ones. It stops at the first divergence. Then, with
// o.AppDataDir, it compares the replayed state with the node's own record
// by record: a record altered in the node's store is found even though
// the node reports the right app hash.
func Replay(ctx context.Context, o ReplayOptions) (*ReplayReport, error) {
	start := time.Now()
	g := o.Genesis
	bdb, err := openReadOnly("blockstore", o.DataDir)
	if err != nil {
		return nil, err
	}
	defer bdb.Close()
	sdb, err := openReadOnly("state", o.DataDir)
	if err != nil {
		return nil, err
	}
	defer sdb.Close()
	bs := cmtstore.NewBlockStore(bdb)
	ss := sm.NewStore(sdb, sm.StoreOptions{DiscardABCIResponses: false})
	initial := g.InitialHeight
	if initial == 0 {
		initial = 1
	}
	rep := &ReplayReport{ChainID: g.ChainID, From: initial, To: bs.Height()}
	if bs.Height() == 0 {
		return nil, fmt.Errorf("the block store in %s is empty", o.DataDir)
	}
	if bs.Base() > initial {
		return nil, fmt.Errorf("the block store starts at height %d (pruned or state-synced): replay needs every block from %d", bs.Base(), initial)
	}
	work := o.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "veritrial-replay-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	a, err := app.New(app.Config{DataDir: work})
	if err != nil {
		return nil, err
	}
	defer a.Close()

	vs, err := lightroot.GenesisValidatorSet(g)
	if err != nil {
		return nil, err
	}
	pbparams := g.ConsensusParams.ToProto()
	ic, err := a.InitChain(ctx, &abci.RequestInitChain{Time: g.GenesisTime, ChainId: g.ChainID, InitialHeight: initial,
		ConsensusParams: &pbparams, Validators: cmttypes.TM2PB.ValidatorUpdates(vs), AppStateBytes: g.AppState})
	if err != nil {
		return nil, fmt.Errorf("InitChain from the genesis failed: %w", err)
	}
	diverge := func(d *Divergence) (*ReplayReport, error) {
		rep.Divergence = d
		return finishReplay(rep, start), nil
	}
	first := bs.LoadBlock(initial)
	if first == nil {
		return nil, fmt.Errorf("block %d is missing from the block store", initial)
	}
	if !bytes.Equal(first.AppHash, ic.AppHash) {
		return diverge(&Divergence{Height: initial, Tx: -1, What: "app hash after InitChain (in the header of the first block)", Stored: hx(first.AppHash), Replay: hx(ic.AppHash)})
	}
	block := first
	for h := initial; h <= rep.To; h++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if block == nil {
			return diverge(&Divergence{Height: h, Tx: -1, What: "block missing from the block store", Stored: "none", Replay: ""})
		}
		if err := block.ValidateBasic(); err != nil {
			return diverge(&Divergence{Height: h, Tx: -1, What: "block does not match its own header", Stored: "header", Replay: err.Error()})
		}
		next := bs.LoadBlock(h + 1)
		if next != nil && !bytes.Equal(next.LastBlockID.Hash, block.Hash()) {
			return diverge(&Divergence{Height: h, Tx: -1, What: fmt.Sprintf("block hash (block %d links to another block)", h+1), Stored: hx(next.LastBlockID.Hash), Replay: hx(block.Hash())})
		}
		txs := block.Txs.ToSliceOfBytes()
		if o.AlterTxs != nil {
			txs = o.AlterTxs(h, txs)
		}
		var lastCommit abci.CommitInfo
		if h > initial {
			if lv, err := ss.LoadValidators(h - 1); err == nil {
				lastCommit = sm.BuildLastCommitInfo(block, lv, initial)
			}
		}
		resp, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Hash: block.Hash(), NextValidatorsHash: block.NextValidatorsHash,
			ProposerAddress: block.ProposerAddress, Height: h, Time: block.Time, DecidedLastCommit: lastCommit,
			Misbehavior: block.Evidence.Evidence.ToABCI(), Txs: txs})
		if err != nil {
			return diverge(&Divergence{Height: h, Tx: -1, What: "re-execution failed", Stored: "a committed block", Replay: err.Error()})
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			return nil, fmt.Errorf("committing replayed block %d: %w", h, err)
		}
		rep.Blocks++
		rep.Txs += len(txs)
		rep.AppHash = hx(resp.AppHash)
		stored, serr := ss.LoadFinalizeBlockResponse(h)
		if serr != nil || stored == nil {
			rep.NoStoredResults++
		} else {
			if len(stored.TxResults) != len(resp.TxResults) {
				return diverge(&Divergence{Height: h, Tx: -1, What: "number of tx results", Stored: fmt.Sprint(len(stored.TxResults)), Replay: fmt.Sprint(len(resp.TxResults))})
			}
			for i, r := range resp.TxResults {
				s := stored.TxResults[i]
				th := ""
				if i < len(block.Txs) {
					th = fmt.Sprintf("%X", block.Txs[i].Hash())
				}
				if r.Code != s.Code {
					return diverge(&Divergence{Height: h, Tx: i, TxHash: th, What: "tx result code", Stored: fmt.Sprintf("%d: %s", s.Code, s.Log), Replay: fmt.Sprintf("%d: %s", r.Code, r.Log)})
				}
				if r.Log != s.Log {
					return diverge(&Divergence{Height: h, Tx: i, TxHash: th, What: "tx result log", Stored: s.Log, Replay: r.Log})
				}
			}
			if len(stored.AppHash) > 0 && !bytes.Equal(stored.AppHash, resp.AppHash) {
				return diverge(&Divergence{Height: h, Tx: -1, What: "app hash in the stored FinalizeBlock response", Stored: hx(stored.AppHash), Replay: hx(resp.AppHash)})
			}
		}
		for _, r := range resp.TxResults {
			if r.Code != 0 {
				rep.Rejected++
			}
		}
		if next != nil {
			if !bytes.Equal(next.AppHash, resp.AppHash) {
				return diverge(&Divergence{Height: h, Tx: -1, What: fmt.Sprintf("app hash after block %d (in the header of block %d)", h, h+1), Stored: hx(next.AppHash), Replay: hx(resp.AppHash)})
			}
			if rh := sm.TxResultsHash(resp.TxResults); !bytes.Equal(next.LastResultsHash, rh) {
				return diverge(&Divergence{Height: h, Tx: -1, What: fmt.Sprintf("results hash of block %d (in the header of block %d)", h, h+1), Stored: hx(next.LastResultsHash), Replay: hx(rh)})
			}
		}
		if o.Progress != nil {
			o.Progress(h, rep.To)
		}
		block = next
	}
	if o.AppDataDir != "" && rep.Blocks > 0 {
		if rep.StateCompared, rep.StateDifferences, rep.StateMore, err = a.CompareState(ctx, o.AppDataDir, rep.To); err != nil {
			return nil, fmt.Errorf("comparing the replayed state with the node's own: %w", err)
		}
	}
	return finishReplay(rep, start), nil
}

func finishReplay(r *ReplayReport, start time.Time) *ReplayReport {
	r.Seconds = time.Since(start).Seconds()
	if r.Seconds > 0 {
		r.BlocksPerSecond = float64(r.Blocks) / r.Seconds
	}
	return r
}

func hx(b []byte) string { return fmt.Sprintf("%X", b) }
