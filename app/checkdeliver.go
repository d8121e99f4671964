package app

import (
	"crypto/sha256"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// checked is the outcome of the checks CheckTx and FinalizeBlock share.
type checked struct {
	tx     *types.Tx
	hash   [32]byte // SHA-256 of the tx bytes
	kind   types.Kind
	msg    any
	signer *types.Account
	org    *types.Org
	role   types.Role
	// pre is CheckTx's verdict on a form submission's values, carried to
	// FinalizeBlock by the tx cache (see prevalidated); nil if none.
	pre *prevalidated
	// remember is the tx cache entry CheckTx keeps if it accepts the tx:
	// set when checkEnvelope decoded the tx or verified its signature anew.
	remember *cachedTx
	// nonce is the tx's replay-protection key, set once the signature
	// verified with the signer's current key and the nonce was found
	// unused: from then on the tx consumes its nonce in a block whatever
	// its outcome, so that the bytes of a tx rejected in a block can never
	// be applied later (see deliver). Set on a rejection too.
	nonce []byte
	err   *types.Error
}

func fail(e *types.Error) checked { return checked{err: e} }

// checkMode says which path asks checkEnvelope, and so how it uses the
// node's cache of txs CheckTx decoded and verified.
type checkMode int

const (
	// modeCheckNew is CheckTx of a tx new to the mempool: decode and
	// check, then remember the result.
	modeCheckNew checkMode = iota
	// modeRecheck is CheckTx of a tx still in the mempool after a block:
	// use what this node verified before.
	modeRecheck
	// modeDeliver is FinalizeBlock: use what CheckTx verified, and forget it.
	modeDeliver
)

// checkEnvelope runs every check that does not depend on the message's
// domain state: encoding, chain, expiry, stateless message rules, signer,
// signature, replay and role authorization. r is the state to read. (Source
// data verification, a message, is verifySource.)
//
// The decode, the stateless message rules and the signature check are
// pure functions of the bytes and the signer's key; their outcome for a
// tx this node already checked comes from the tx cache (see txCache), so
// the result is the same with or without it.
//
// seen, when not nil, says where the tx's nonce may be in r (see
// nonceSeen); the nonce is then looked up in r only when it may be.
func (a *App) checkEnvelope(r reader, seen *nonceSeen, raw []byte, height int64, mode checkMode) checked {
	h := sha256.Sum256(raw)
	var ent *cachedTx
	switch mode {
	case modeRecheck:
		ent = a.txs.get(h)
	case modeDeliver:
		ent = a.txs.take(h)
	}
	fresh := ent == nil
	if fresh {
		tx, e := types.DecodeTx(raw)
		if e != nil {
			return fail(e)
		}
		ent = &cachedTx{tx: tx}
	}
	tx := ent.tx
	b := &tx.Body
	if b.ChainID != a.chainID {
		return fail(types.Errf(types.CodeWrongChain, "transaction is for chain %q but this ledger is %q; check --node and the client's chain ID", b.ChainID, a.chainID))
	}
	if b.Expires < height {
		return fail(types.Errf(types.CodeTxExpired, "transaction expired at height %d (the chain is at %d); sign it again", b.Expires, height))
	}
	if b.Expires > height+a.params.MaxTxTTL {
		return fail(types.Errf(types.CodeExpiryTooFar, "transaction expiry height %d is more than %d blocks ahead of height %d", b.Expires, a.params.MaxTxTTL, height))
	}
	if fresh {
		if !types.ValidNonce(b.Nonce) {
			return fail(types.Errf(types.CodeTxMalformed, "nonce must be 16 to 64 lower-case hex characters"))
		}
		kind, msg, e := b.Msg.Unpack()
		if e != nil {
			return fail(e)
		}
		if e := types.ValidateBasic(kind, msg); e != nil {
			return fail(e)
		}
		ent.kind, ent.msg = kind, msg
	}
	kind, msg := ent.kind, ent.msg
	acct, found, err := a.accounts.get(r, types.KeyAccount(b.Signer))
	if err != nil {
		return fail(types.Errf(types.CodeInternal, "reading account: %v", err))
	}
	if !found {
		return fail(types.Errf(types.CodeUnknownSigner, "signer %q has no account on this ledger; ask your organisation's administrator to add you", b.Signer))
	}
	if acct.Status != types.AccountActive {
		return fail(types.Errf(types.CodeSignerRevoked, "account %q was revoked; it can no longer sign", acct.ID))
	}
	var remember *cachedTx
	if ent.pub != string(acct.PubKey) {
		if !tx.VerifyReceived(acct.PubKey) {
			return fail(types.Errf(types.CodeBadSignature, "signature does not verify with the current key of account %q (was the key rotated? sign with the new key)", acct.ID))
		}
		if mode != modeDeliver {
			remember = &cachedTx{tx: tx, kind: kind, msg: msg, pub: string(acct.PubKey), pre: ent.pre}
		}
	}
	v := a.checkedVersion // CheckTx holds cmu
	var tree iterator = a.checked
	if mode == modeDeliver || a.checked == nil {
		v, tree = a.blockVersion, a.store.tree // FinalizeBlock holds mu, as does CheckTx before block 1
	}
	nonceKey := types.KeyNonce(b.Expires, b.Signer, b.Nonce)
	used := seen != nil && seen.inBlock(nonceKey)
	if !used && (seen == nil || seen.committed.mayContain(nonceKey, b.Expires)) {
		if used, err = nonceUsed(r, tree, v, nonceKey, b.Expires); err != nil {
			return fail(types.Errf(types.CodeInternal, "reading nonce: %v", err))
		}
	}
	if used {
		return fail(types.Errf(types.CodeNonceReused, "nonce %s was already used by %s: this transaction was already submitted", b.Nonce, b.Signer))
	}
	c := checked{tx: tx, hash: h, kind: kind, msg: msg, signer: acct, pre: ent.pre, remember: remember, nonce: nonceKey}
	org, ok, err := a.orgs.get(r, types.KeyOrg(acct.Org))
	if err != nil || !ok {
		c.err = types.Errf(types.CodeInternal, "account %q names organisation %q which is missing", acct.ID, acct.Org)
		return c
	}
	c.org = org
	if c.err = signingOrg(acct, org); c.err != nil {
		return c
	}
	if since := kindSince[kind]; since > v {
		c.err = types.Errf(types.CodeKindNotYet, "a %s transaction needs version %d of the state machine; this ledger runs version %d until the consortium upgrades it (docs/UPGRADES.md)", kind, since, v)
		return c
	}
	c.role, c.err = types.Authorize(kind, msg, acct, org)
	return c
}

// check is CheckTx's path.
func (a *App) check(raw []byte, height int64, isNew bool) checked {
	mode := modeRecheck
	if isNew {
		mode = modeCheckNew
	}
	var r reader = a.checkReads
	seen := &nonceSeen{committed: a.nonces}
	if a.checked == nil {
		r, seen = a.store.tree, nil // before block 1: the genesis state being built
	}
	c := a.checkEnvelope(r, seen, raw, height, mode)
	if c.err != nil {
		return c
	}
	if a.mempoolNonces[string(c.nonce)] {
		return fail(types.Errf(types.CodeNonceReused, "nonce %s is already used by a transaction waiting in the mempool", c.tx.Body.Nonce))
	}
	ent := c.remember
	if isNew && a.checked != nil {
		pre, e := a.precheckSubmit(r, c)
		if e != nil {
			return fail(e)
		}
		if pre != nil && ent != nil {
			ent.pre = pre
		}
	}
	// Only a tx CheckTx accepts is kept for FinalizeBlock, once.
	if ent != nil {
		a.txs.put(c.hash, ent)
	}
	return c
}

// deliver executes one tx of a block. A rejected tx changes nothing but
// its nonce: once its signature verified with the signer's current key,
// within its expiry, the nonce is consumed whatever the outcome, so the
// same bytes, public in the block, are refused as a replay if anyone
// broadcasts them again after the state that refused them has changed.
func (a *App) deliver(raw []byte, height int64, blockTime string, seen *nonceSeen) *abci.ExecTxResult {
	c := a.checkEnvelope(a.blockReads, seen, raw, height, modeDeliver)
	if c.err != nil {
		if c.nonce != nil {
			a.consumeNonce(c, seen)
		}
		return result(c, c.err)
	}
	x := &exec{
		a:       a,
		st:      newTxStore(a.blockReads),
		tree:    a.store.tree,
		height:  height,
		version: a.blockVersion,
		time:    blockTime,
		txHash:  fmt.Sprintf("%X", c.hash[:]),
		c:       c,
	}
	if e := x.run(); e != nil {
		a.consumeNonce(c, seen)
		return result(c, e)
	}
	if a.blockVersion >= lockLapseSince {
		if e := x.lapseLockApprovals(); e != nil {
			a.consumeNonce(c, seen)
			return result(c, e)
		}
	}
	if a.blockVersion < nonceListsSince {
		x.st.set(c.nonce, []byte{1})
	}
	if err := a.flush(x.st); err != nil {
		panic(fmt.Sprintf("writing tx %s to the working tree: %v", x.txHash, err))
	}
	seen.block[string(c.nonce)] = c.tx.Body.Expires
	res := result(c, nil)
	if len(x.events) > 0 {
		// The handler's first event joins the tx's own, so that a
		// tx_search can combine kind and signer with study and subject:
		// CometBFT's indexer matches the conditions of a query within one
		// event.
		ev := &res.Events[0]
		ev.Attributes = append(ev.Attributes, x.events[0].Attributes...)
		res.Events = append(res.Events, x.events[1:]...)
	}
	return res
}

// consumeNonce records the nonce of a tx rejected in the block (its
// other writes were never flushed).
func (a *App) consumeNonce(c checked, seen *nonceSeen) {
	if a.blockVersion < nonceListsSince {
		st := newTxStore(a.blockReads)
		st.set(c.nonce, []byte{1})
		if err := a.flush(st); err != nil {
			panic(fmt.Sprintf("writing the nonce of tx %X to the working tree: %v", c.hash[:], err))
		}
	}
	seen.block[string(c.nonce)] = c.tx.Body.Expires
}

// flush writes a tx's buffered writes to the working tree, and makes the
// block's read memo forget the keys written. Every write of a tx or of
// the genesis goes through here.
func (a *App) flush(st *txStore) error {
	err := st.flush(a.store.tree)
	for _, k := range st.order {
		a.blockReads.forget(k)
	}
	return err
}

// result builds the ABCI result with a "vt" event naming the kind and the
// signer (both indexed), for accepted and rejected txs alike.
func result(c checked, e *types.Error) *abci.ExecTxResult {
	r := &abci.ExecTxResult{Codespace: types.Codespace}
	if e != nil {
		r.Code = uint32(e.Code)
		r.Log = e.Msg
	}
	if c.tx != nil {
		r.Events = []abci.Event{{Type: "vt", Attributes: []abci.EventAttribute{
			{Key: "kind", Value: string(c.kind), Index: true},
			{Key: "signer", Value: c.tx.Body.Signer, Index: true},
		}}}
	}
	return r
}

// pruneNonces forgets nonces whose expiry height is below height, in
// both layouts (a ledger holds one or the other): a tx carrying one is
// rejected as expired anyway.
func (a *App) pruneNonces(height int64) error {
	if err := a.removeRange([]byte(types.PrefixNonce), types.KeyNonce(height, "", "")); err != nil {
		return err
	}
	return a.removeRange([]byte(types.PrefixNonceList), types.NonceListPrefix(height))
}

// removeRange removes the keys from start to end (excluded) from the
// working tree.
func (a *App) removeRange(start, end []byte) error {
	var dead [][]byte
	it, err := a.store.tree.Iterator(start, end, true)
	if err != nil {
		return err
	}
	for ; it.Valid(); it.Next() {
		dead = append(dead, it.Key())
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, k := range dead {
		if _, _, err := a.store.tree.Remove(k); err != nil {
			return err
		}
		a.blockReads.forget(string(k))
	}
	return nil
}
