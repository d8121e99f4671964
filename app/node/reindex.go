package node

import (
	"fmt"
	"os"
	"path/filepath"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/state"
	blockidxkv "github.com/cometbft/cometbft/state/indexer/block/kv"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/cometbft/cometbft/store"
	cmttypes "github.com/cometbft/cometbft/types"
)

// CatchUpIndex indexes the committed blocks the node's tx and block
// indexer missed, from the stored blocks and their stored FinalizeBlock
// responses, before the node starts. CometBFT feeds its indexer from the
// event bus and stops the bus before consensus when a node shuts down, so
// blocks committed in that gap (and a killed node's last blocks) are on
// disk but not indexed; they would never be, and a committed tx could not
// be found by its hash on that node. It returns the heights it indexed
// (0, 0 when none were missing) and must run while no node holds the
// databases.
func CatchUpIndex(conf *cmtcfg.Config) (from, to int64, err error) {
	if conf.TxIndex.Indexer != "kv" || conf.Storage.DiscardABCIResponses {
		return 0, 0, nil
	}
	dir := conf.DBDir()
	if _, err := os.Stat(filepath.Join(dir, "blockstore.db")); err != nil {
		return 0, 0, nil // a new home: nothing committed yet
	}
	backend := dbm.BackendType(conf.DBBackend)
	open := func(name string) (dbm.DB, error) { return dbm.NewDB(name, backend, dir) }
	bdb, err := open("blockstore")
	if err != nil {
		return 0, 0, err
	}
	defer bdb.Close()
	sdb, err := open("state")
	if err != nil {
		return 0, 0, err
	}
	defer sdb.Close()
	idb, err := open("tx_index")
	if err != nil {
		return 0, 0, err
	}
	defer idb.Close()

	blocks := store.NewBlockStore(bdb)
	states := state.NewStore(sdb, state.StoreOptions{DiscardABCIResponses: conf.Storage.DiscardABCIResponses})
	txs := kv.NewTxIndex(idb)
	heights := blockidxkv.New(dbm.NewPrefixDB(idb, []byte("block_events")))

	// A block is stored before it is executed: after a crash the block
	// store may hold one block more than the state has results for, which
	// the handshake replays (and the indexer, running by then, indexes).
	st, err := states.Load()
	if err != nil {
		return 0, 0, fmt.Errorf("reading the consensus state: %w", err)
	}
	base, top := blocks.Base(), min(blocks.Height(), st.LastBlockHeight)
	if top <= 0 {
		return 0, 0, nil
	}
	// CometBFT indexes blocks in height order, so the missing ones are the
	// newest: walk down to the last indexed height.
	from = top + 1
	for h := top; h >= base && h > 0; h-- {
		ok, err := heights.Has(h)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the block index at height %d: %w", h, err)
		}
		if ok {
			break
		}
		from = h
	}
	if from > top {
		return 0, 0, nil
	}
	for h := from; h <= top; h++ {
		if err := indexHeight(h, blocks, states, txs, heights); err != nil {
			return 0, 0, err
		}
	}
	return from, top, nil
}

// indexHeight indexes block h and its txs as CometBFT's indexer service
// would have.
func indexHeight(h int64, blocks *store.BlockStore, states state.Store, txs txindex.TxIndexer, heights *blockidxkv.BlockerIndexer) error {
	block := blocks.LoadBlock(h)
	if block == nil {
		return fmt.Errorf("block %d is not in the block store", h)
	}
	resp, err := states.LoadFinalizeBlockResponse(h)
	if err != nil {
		return fmt.Errorf("the results of block %d are not in the state store: %w", h, err)
	}
	if len(resp.TxResults) != len(block.Txs) {
		return fmt.Errorf("block %d holds %d txs but its stored results %d", h, len(block.Txs), len(resp.TxResults))
	}
	if n := len(resp.TxResults); n > 0 {
		batch := txindex.NewBatch(int64(n))
		for i, r := range resp.TxResults {
			if err := batch.Add(&abci.TxResult{Height: h, Index: uint32(i), Tx: block.Txs[i], Result: *r}); err != nil {
				return err
			}
		}
		if err := txs.AddBatch(batch); err != nil {
			return fmt.Errorf("indexing the txs of block %d: %w", h, err)
		}
	}
	if err := heights.Index(cmttypes.EventDataNewBlockEvents{Height: h, Events: resp.Events, NumTxs: int64(len(block.Txs))}); err != nil {
		return fmt.Errorf("indexing block %d: %w", h, err)
	}
	return nil
}
