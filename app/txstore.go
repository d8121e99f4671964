package app

import (
	"bytes"
	"encoding/json"
	"fmt"

	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
)

// reader reads state.
type reader interface {
	Get(key []byte) ([]byte, error)
}

// txStore buffers one transaction's writes over the block's working tree:
// a rejected transaction is discarded whole, an accepted one is flushed in
// the order its handler wrote (deterministic, as IAVL's shape depends on
// insertion order).
type txStore struct {
	base    reader
	writes  map[string][]byte // nil value = delete
	order   []string
	deleted map[string]bool
}

func newTxStore(base reader) *txStore {
	return &txStore{base: base, writes: map[string][]byte{}, deleted: map[string]bool{}}
}

func (s *txStore) get(key []byte) ([]byte, error) {
	if v, ok := s.writes[string(key)]; ok {
		return v, nil
	}
	return s.base.Get(key)
}

// Get makes a txStore a reader: the tx's own writes first, then the block.
func (s *txStore) Get(key []byte) ([]byte, error) { return s.get(key) }

func (s *txStore) set(key, value []byte) {
	k := string(key)
	if _, ok := s.writes[k]; !ok {
		s.order = append(s.order, k)
	}
	s.writes[k] = value
}

func (s *txStore) del(key []byte) { s.set(key, nil) }

// flush applies the buffered writes to the working tree.
func (s *txStore) flush(tree *iavl.MutableTree) error {
	for _, k := range s.order {
		v := s.writes[k]
		if v == nil {
			if _, _, err := tree.Remove([]byte(k)); err != nil {
				return err
			}
			continue
		}
		if _, err := tree.Set([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// getJSON loads the record at key into out; found is false when absent.
func (s *txStore) getJSON(key []byte, out any) (bool, error) {
	bz, err := s.get(key)
	if err != nil {
		return false, err
	}
	if bz == nil {
		return false, nil
	}
	if err := json.Unmarshal(bz, out); err != nil {
		return false, fmt.Errorf("corrupt record at %q: %w", key, err)
	}
	return true, nil
}

// setJSON stores v at key.
func (s *txStore) setJSON(key []byte, v any) {
	bz, err := json.Marshal(v)
	if err != nil {
		// Records are plain structs; failing to encode one is a bug.
		panic(fmt.Sprintf("encoding record %q: %v", key, err))
	}
	s.set(key, bz)
}

// has reports whether key holds a value.
func (s *txStore) has(key []byte) (bool, error) {
	bz, err := s.get(key)
	return bz != nil, err
}

// iterator is what IAVL trees (mutable and immutable) offer.
type iterator interface {
	Iterator(start, end []byte, ascending bool) (corestore.Iterator, error)
}

// iteratePrefix visits, in key order, the keys with prefix p; on the
// working tree it sees what earlier txs of the block wrote, not the
// current tx's buffered writes.
func iteratePrefix(tree iterator, p []byte, fn func(k, v []byte) bool) error {
	it, err := tree.Iterator(p, types.PrefixEnd(p), true)
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return it.Error()
}

// readMemo reads a tree and remembers what it read of the few records
// that most txs read: the signer's account and organisation, the study,
// the site and the subject a form belongs to (see memoKey). Other keys
// (nonces and forms, above all) go to the tree each time.
//
// CheckTx's memo reads one committed version, which never changes; it
// lives under the App's cmu and is replaced at each commit. FinalizeBlock's
// reads the working tree under mu and lives on from block to block: every
// write to the working tree (App.flush, the only writer of these keys)
// forgets the keys it wrote, so a remembered read is always what the tree
// holds.
type readMemo struct {
	r   reader
	m   map[string][]byte // nil value: absent
	max int               // when full, the memo starts afresh
}

func newReadMemo(r reader) *readMemo {
	return &readMemo{r: r, m: make(map[string][]byte), max: maxReadMemo}
}

// maxReadMemo bounds a memo: 100,000 records of a few hundred bytes.
const maxReadMemo = 100_000

// memoKey says whether a readMemo remembers key.
func memoKey(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	switch key[0] {
	case 'a':
		return bytes.HasPrefix(key, []byte(types.PrefixAccount))
	case 'o':
		return bytes.HasPrefix(key, []byte(types.PrefixOrg))
	case 's':
		return bytes.HasPrefix(key, []byte(types.PrefixSubject)) || bytes.HasPrefix(key, []byte(types.PrefixStudy)) || bytes.HasPrefix(key, []byte(types.PrefixSite))
	}
	return false
}

// forget drops what the memo remembers of key.
func (s *readMemo) forget(key string) { delete(s.m, key) }

// reset forgets everything.
func (s *readMemo) reset() { clear(s.m) }

func (s *readMemo) Get(key []byte) ([]byte, error) {
	if !memoKey(key) {
		return s.r.Get(key)
	}
	if v, ok := s.m[string(key)]; ok {
		return v, nil
	}
	v, err := s.r.Get(key)
	if err != nil {
		return nil, err
	}
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[string(key)] = v
	return v, nil
}
