package app

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
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
	s := &store{ldb: ldb}
	treeDB := iavldb.NewPrefixDB(ldb, []byte("s/"))
	s.tree = newTree(treeDB, cacheSize)
	s.reader = newTree(treeDB, max(cacheSize/2, 1000))
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
	if s.committed > 0 {
		if err := s.tree.LoadVersionForOverwriting(s.committed); err != nil {
			ldb.Close()
			return nil, fmt.Errorf("%w: cannot load committed version %d: %v (move %s away and let the node replay the chain from genesis)", ErrStoreDamaged, s.committed, err, filepath.Join(dir, "app.db"))
		}
	} else {
		latest, err := s.tree.Load()
		if err != nil {
			ldb.Close()
			return nil, fmt.Errorf("%w: %v", ErrStoreDamaged, err)
		}
		if latest > 0 {
			// A crash after SaveVersion of the first block but before the
			// committed height was recorded: forget it, CometBFT replays.
			if err := s.tree.DeleteVersionsFrom(1); err != nil {
				ldb.Close()
				return nil, fmt.Errorf("%w: discarding uncommitted version: %v", ErrStoreDamaged, err)
			}
			s.tree = newTree(treeDB, cacheSize)
		}
	}
	return s, nil
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
