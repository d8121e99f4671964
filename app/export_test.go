package app

import (
	"crypto/sha256"
	"testing"
)

// TxCached says whether the node's tx cache holds raw, and whether with
// CheckTx's verdict on a form submission's values.
func (a *App) TxCached(raw []byte) (cached, verdict bool) {
	e := a.txs.get(sha256.Sum256(raw))
	return e != nil, e != nil && e.pre != nil
}

// WithoutMigrations empties the migration registry, making this binary
// one of state-machine version 1, until restore is called or the test
// ends.
func WithoutMigrations(t testing.TB) (restore func()) {
	saved := migrations
	restore = func() { migrations = saved }
	t.Cleanup(restore)
	migrations = nil
	return restore
}
