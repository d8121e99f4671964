package app

import "crypto/sha256"

// TxCached says whether the node's tx cache holds raw, and whether with
// CheckTx's verdict on a form submission's values.
func (a *App) TxCached(raw []byte) (cached, verdict bool) {
	e := a.txs.get(sha256.Sum256(raw))
	return e != nil, e != nil && e.pre != nil
}
