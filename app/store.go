package app

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// metaCommitted is the key (outside the tree) of the last height whose
// Commit completed; it is written, synced, only after SaveVersion returns.
//
// It sorts after every IAVL key ("s/..."). IAVL v1 names nodes by version,
// so each block's writes land at the end of the key space and goleveldb
// can move them down its levels cheaply; a key rewritten every block that
// sorted before them (it was "m/committed_height") made every new table
// span the whole store, and each compaction rewrote most of it.
var metaCommitted = []byte("z/committed_height")

// legacyCommitted is where stores written before that change keep it.
var legacyCommitted = []byte("m/committed_height")

// metaRestored is the key (outside the tree) of the height of the snapshot
// a node restored by state sync: the first version its tree holds. It is
// written with the committed height, in the same synced batch; a node that
// replayed from genesis has none.
var metaRestored = []byte("z/restored_height")

// treePrefix is the database prefix of the IAVL tree's keys.
var treePrefix = []byte("s/")

// store is the application's durable state: one IAVL tree plus a small
// metadata record, both in one goleveldb database.
type store struct {
	ldb  *iavldb.GoLevelDB
	tree *iavl.MutableTree
	// reader opens committed versions for CheckTx and queries. It is a
	// second IAVL handle on the same database with a node cache of its
	// own, so that those reads never touch the node objects or the lock
	// of the tree FinalizeBlock is writing (IAVL nodes of a saved version
	// are shared with the working tree and changed in place when cloned).
	reader    *iavl.MutableTree
	committed int64
	// restored is the first height the tree holds when the node joined by
	// state sync (metaRestored), else 0. It changes only while the node
	// restores a snapshot, before any query can read a version, but
	// queries read it without the consensus lock.
	restored  atomic.Int64
	treeDB    iavldb.DB
	cacheSize int
}

// ErrStoreDamaged reports an application database that cannot be loaded.
var ErrStoreDamaged = errors.New("application database is damaged")

// openStore opens (or creates) the database in dir and loads exactly the
// last committed version, discarding any version a crash left half-written.
func openStore(dir string, cacheSize int) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ldb, err := iavldb.NewGoLevelDBWithOpts("app", dir, &opt.Options{
		Filter:              filter.NewBloomFilter(10),
		WriteBuffer:         32 * opt.MiB,
		CompactionTableSize: 8 * opt.MiB,
		BlockCacheCapacity:  64 * opt.MiB,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v (restore the node's data directory from a backup or another validator's state sync, or move it away and let the node replay the chain from genesis)", ErrStoreDamaged, filepath.Join(dir, "app.db"), err)
	}
	s := &store{ldb: ldb, treeDB: iavldb.NewPrefixDB(ldb, treePrefix), cacheSize: cacheSize}
	s.openTrees()
	bz, err := s.ldb.Get(metaCommitted)
	if err == nil && bz == nil {
		bz, err = s.ldb.Get(legacyCommitted)
	}
	if err != nil {
		ldb.Close()
		return nil, fmt.Errorf("%w: reading committed height: %v", ErrStoreDamaged, err)
	}
	if len(bz) == 8 {
		s.committed = int64(binary.BigEndian.Uint64(bz))
	}
	if bz, err = s.ldb.Get(metaRestored); err != nil {
		ldb.Close()
		return nil, fmt.Errorf("%w: reading the restored height: %v", ErrStoreDamaged, err)
	}
	if len(bz) == 8 && s.committed > 0 {
		s.restored.Store(int64(binary.BigEndian.Uint64(bz)))
	}
	if s.committed > 0 {
		if err := s.tree.LoadVersionForOverwriting(s.committed); err != nil {
			ldb.Close()
			return nil, fmt.Errorf("%w: cannot load committed version %d: %v (move %s away and let the node replay the chain from genesis)", ErrStoreDamaged, s.committed, err, filepath.Join(dir, "app.db"))
		}
	} else if err := s.discardTree(); err != nil {
		// No version was committed, so whatever the tree holds is a crash's
		// leftover: the first block's SaveVersion without its committed
		// height (CometBFT replays the block), or part of a snapshot being
		// restored.
		ldb.Close()
		return nil, fmt.Errorf("%w: discarding an uncommitted tree: %v", ErrStoreDamaged, err)
	}
	return s, nil
}

// openTrees opens fresh handles of the working tree and of the reader.
func (s *store) openTrees() {
	s.tree = newTree(s.treeDB, s.cacheSize)
	s.reader = newTree(s.treeDB, max(s.cacheSize/2, 1000))
}

// discardTree deletes every key of the tree and opens fresh handles: the
// store is then empty, as before InitChain or a state sync. Only a store
// with no committed height may be discarded.
func (s *store) discardTree() error {
	if s.committed != 0 {
		return fmt.Errorf("the store holds committed height %d", s.committed)
	}
	db := s.ldb.RawDB()
	it := db.NewIterator(util.BytesPrefix(treePrefix), nil)
	defer it.Release()
	b := new(leveldb.Batch)
	for it.Next() {
		b.Delete(it.Key())
		if b.Len() == 10_000 {
			if err := db.Write(b, nil); err != nil {
				return err
			}
			b.Reset()
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	if err := db.Write(b, &opt.WriteOptions{Sync: true}); err != nil {
		return err
	}
	s.openTrees()
	return nil
}

// newTree opens the IAVL tree without its "fast storage": IAVL v1 would
// otherwise write every value a second time, in a flat key index that
// speeds up reads of the latest version. Every value is written once per
// block and read a few times, so the index cost more than it saved:
// without it CheckTx + FinalizeBlock + Commit of 1,000 forms ran 1.17x
// faster at 300k stored values and 1.10x at 1M, and the disk use per
// value fell from 43.3 to 41.2 bytes at 1M. Reads walk the tree through IAVL's
// node cache instead; proofs and iterators are unaffected.
func newTree(db iavldb.DB, cacheSize int) *iavl.MutableTree {
	return iavl.NewMutableTree(db, cacheSize, true, iavl.NewNopLogger(), iavl.SyncOption(true))
}

// commit persists the working tree as version height.
func (s *store) commit(height int64) ([]byte, error) {
	hash, v, err := s.tree.SaveVersion()
	if err != nil {
		return nil, err
	}
	if v != height {
		return nil, fmt.Errorf("saved version %d for block %d", v, height)
	}
	var bz [8]byte
	binary.BigEndian.PutUint64(bz[:], uint64(height))
	if err := s.ldb.SetSync(metaCommitted, bz[:]); err != nil {
		return nil, err
	}
	s.committed = height
	return hash, nil
}

// readVersion returns a read-only view of a saved version through the
// reader handle; it is safe to use while the working tree is written.
func (s *store) readVersion(version int64) (*iavl.ImmutableTree, error) {
	if r := s.restored.Load(); version < r {
		return nil, fmt.Errorf("height %d is not on this node: it joined by state sync from a snapshot at height %d and holds the heights from %d on; read older heights from a node with the full history (every original member's validator, or any node that replayed from the first block)", version, r, r)
	}
	return s.reader.GetImmutable(version)
}

// lastHash returns the root hash of the last committed version.
func (s *store) lastHash() []byte {
	if s.committed == 0 {
		return nil
	}
	return s.tree.Hash()
}

// rollback discards uncommitted changes of the working tree.
func (s *store) rollback() { s.tree.Rollback() }

func (s *store) close() error { return s.ldb.Close() }
