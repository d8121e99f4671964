package app

import (
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
	base   reader
	writes map[string][]byte
	order  []string
}

func newTxStore(base reader) *txStore {
	return &txStore{base: base, writes: map[string][]byte{}}
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

// flush applies the buffered writes to the working tree. A tx only ever
// adds and updates records: the ledger deletes nothing but expired nonces
// (pruneNonces).
func (s *txStore) flush(tree *iavl.MutableTree) error {
	for _, k := range s.order {
		if _, err := tree.Set([]byte(k), s.writes[k]); err != nil {
			return err
		}
	}
	return nil
}

// getJSON loads the record at key into out; found is false when absent.
func (s *txStore) getJSON(key []byte, out any) (bool, error) { return getJSON(s, key, out) }

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
func (s *txStore) has(key []byte) (bool, error) { return has(s, key) }

// getJSON loads the record at key in r into out; found is false when
// absent.
func getJSON(r reader, key []byte, out any) (bool, error) {
	bz, err := r.Get(key)
	if err != nil || bz == nil {
		return false, err
	}
	if err := json.Unmarshal(bz, out); err != nil {
		return false, fmt.Errorf("corrupt record at %q: %w", key, err)
	}
	return true, nil
}

// has reports whether key holds a value in r.
func has(r reader, key []byte) (bool, error) {
	bz, err := r.Get(key)
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
	return iteratePrefixFrom(tree, p, p, fn)
}

// iteratePrefixFrom visits, in key order, the keys with prefix p from
// start on.
func iteratePrefixFrom(tree iterator, p, start []byte, fn func(k, v []byte) bool) error {
	it, err := tree.Iterator(start, types.PrefixEnd(p), true)
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

// decodePrefix decodes the JSON records under prefix p of tree, in key
// order.
func decodePrefix[T any](tree iterator, p string) ([]T, error) {
	var out []T
	var bad error
	err := iteratePrefix(tree, []byte(p), func(k, v []byte) bool {
		var r T
		if bad = json.Unmarshal(v, &r); bad != nil {
			bad = fmt.Errorf("corrupt record at %q: %w", k, bad)
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}
