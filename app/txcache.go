package app

import (
	"sync"

	"github.com/veritrial/veritrial/app/types"
)

// txCache remembers, per node, the txs CheckTx accepted (so decoded and
// with their signature verified), keyed by the SHA-256 of their bytes:
// FinalizeBlock then skips the second canonical decode and the ed25519
// check. Decoding, ValidateBasic and signature verification are pure
// functions of the bytes and the public key, so using an entry never
// changes a result; the entry records the key that verified, and a signer
// whose key was rotated in between is verified again.
//
// FinalizeBlock takes an entry out (a handler may normalise its message in
// place), so an entry serves one delivery. The cache is bounded: the
// oldest entries are dropped first, which only costs a decode.
type txCache struct {
	mu    sync.Mutex
	max   int
	byKey map[[32]byte]*cachedTx
	fifo  [][32]byte // insertion order; may hold keys already taken
}

// cachedTx is a decoded tx that passed the stateless checks and the
// signature check with pub.
type cachedTx struct {
	tx   *types.Tx
	kind types.Kind
	msg  any
	pub  string
	pre  *prevalidated
}

func newTxCache(max int) *txCache {
	return &txCache{max: max, byKey: make(map[[32]byte]*cachedTx, 1024)}
}

// put records an entry, dropping the oldest when full.
func (c *txCache) put(h [32]byte, e *cachedTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[h]; ok {
		c.byKey[h] = e
		return
	}
	for len(c.byKey) >= c.max && len(c.fifo) > 0 {
		old := c.fifo[0]
		c.fifo = c.fifo[1:]
		delete(c.byKey, old)
	}
	c.byKey[h] = e
	c.fifo = append(c.fifo, h)
	if len(c.fifo) > 2*c.max+1024 {
		// Most queued keys were taken already: keep only the live ones.
		live := make([][32]byte, 0, len(c.byKey))
		for _, k := range c.fifo {
			if _, ok := c.byKey[k]; ok {
				live = append(live, k)
			}
		}
		c.fifo = live
	}
}

// get returns the entry for h, leaving it in place (CheckTx's recheck).
func (c *txCache) get(h [32]byte) *cachedTx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[h]
}

// take returns the entry for h and forgets it (FinalizeBlock).
func (c *txCache) take(h [32]byte) *cachedTx {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byKey[h]
	delete(c.byKey, h)
	return e
}
