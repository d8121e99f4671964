package app

import (
	"encoding/json"
	"fmt"
	"sync"
)

// decoded caches records by their stored bytes: the same bytes always
// decode to the same value, so a hit can never change a result. It serves
// the signer's account and organisation, which every tx reads in CheckTx
// and again in FinalizeBlock and which rarely change. Values handed out
// are shared and must not be modified.
type decoded[T any] struct {
	mu  sync.Mutex
	max int
	m   map[string]*T
}

func newDecoded[T any](max int) *decoded[T] {
	return &decoded[T]{max: max, m: make(map[string]*T)}
}

// get reads key from r and decodes it, from the cache when the bytes were
// seen before; found is false when the key is absent.
func (d *decoded[T]) get(r reader, key []byte) (*T, bool, error) {
	bz, err := r.Get(key)
	if err != nil || bz == nil {
		return nil, false, err
	}
	d.mu.Lock()
	v, ok := d.m[string(bz)]
	d.mu.Unlock()
	if ok {
		return v, true, nil
	}
	v = new(T)
	if err := json.Unmarshal(bz, v); err != nil {
		return nil, false, fmt.Errorf("corrupt record at %q: %w", key, err)
	}
	d.mu.Lock()
	if len(d.m) >= d.max {
		clear(d.m) // rare: more distinct records than max; start afresh
	}
	d.m[string(bz)] = v
	d.mu.Unlock()
	return v, true, nil
}
