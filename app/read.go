package app

import (
	"encoding/json"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
)

// Signed reads (types.ReadRequest): a node answers a read only inside a
// request signed by the reader's account key, judged against the latest
// committed state and the node's clock, and answers only what the read
// policy (policy.go) lets the reader see. Every read answered or refused
// goes to the node's access log. Nothing here runs in FinalizeBlock: the
// node's clock judges only the expiry of read requests.

// Read is a read request the node accepted (see Authenticate): what it
// asks, and who asks as the committed state that accepted it holds them.
type Read struct {
	Body types.ReadBody
	// Account and Org are the reader's, shared with the node's caches:
	// never modify them.
	Account *types.Account
	Org     *types.Org
	// state is the committed version that accepted the request; the read
	// policy reads it (see Viewer).
	state *iavl.ImmutableTree
}

// Authenticate accepts a signed read request (an encoded
// types.ReadRequest) against the latest committed state and the node's
// clock now, or says why not with a 7xx code and a message that tells
// nothing of the ledger's data: a malformed request (read_malformed),
// another chain (read_wrong_chain), an expiry passed or more than
// types.MaxReadTTL seconds ahead (read_expired), an account unknown,
// revoked, or of a suspended or removed organisation
// (read_unknown_reader), a signature that does not verify with the
// account's current key (read_bad_signature), a request already received
// (read_replayed) or too many to remember (read_busy). An accepted
// request's nonce is spent: the node never accepts the same request
// twice. The HTTP API authenticates each of its requests with it; Query
// does for /read.
func (a *App) Authenticate(raw []byte, now time.Time) (*Read, *types.Error) {
	st, _ := a.committedState()
	r, e := a.authenticate(st, raw, now)
	if e != nil {
		return nil, e
	}
	return r, nil
}

// authenticate is Authenticate against committed version st. On a
// refusal it still returns what it learnt of the request (nil when it
// did not decode): the reader as named and, when the account exists, its
// account and organisation, for the access log.
func (a *App) authenticate(st *iavl.ImmutableTree, raw []byte, now time.Time) (*Read, *types.Error) {
	req, e := types.DecodeRead(raw)
	if e != nil {
		return nil, e
	}
	b := &req.Body
	r := &Read{Body: *b, state: st}
	if st == nil {
		return r, types.Errf(types.CodeInvalidMsg, "the ledger has no committed block yet; wait for the first block")
	}
	if b.ChainID != a.chainID {
		return r, types.Errf(types.CodeReadWrongChain, "read request is for chain %q but this ledger is %q; check --node and the client's chain ID", b.ChainID, a.chainID)
	}
	clock := a.reads.clock(now).Unix()
	switch {
	case b.Expires < clock:
		return r, types.Errf(types.CodeReadExpired, "read request expired %d s ago by this node's clock; sign a new one (is your clock right?)", clock-b.Expires)
	case b.Expires > clock+types.MaxReadTTL:
		return r, types.Errf(types.CodeReadExpired, "read request expires %d s ahead of this node's clock, more than the %d s allowed; sign it with a shorter expiry (is your clock right?)", b.Expires-clock, types.MaxReadTTL)
	}
	acct, ok, err := a.accounts.get(st, types.KeyAccount(b.Reader))
	if err != nil {
		return r, types.Errf(types.CodeInternal, "reading account: %v", err)
	}
	if !ok {
		return r, types.Errf(types.CodeReadUnknown, "reader %q has no account on this ledger; read with your own account's key (--from)", b.Reader)
	}
	org, ok, err := a.orgs.get(st, types.KeyOrg(acct.Org))
	if err != nil || !ok {
		return r, types.Errf(types.CodeInternal, "account %q names organisation %q which is missing", acct.ID, acct.Org)
	}
	r.Account, r.Org = acct, org
	if !req.VerifySignature(acct.PubKey) {
		return r, types.Errf(types.CodeReadBadSig, "read request signature does not verify with the current key of account %q (was the key rotated? sign with the new key)", acct.ID)
	}
	if e := a.reads.spend(b.Reader, b.Nonce, b.Expires); e != nil {
		return r, e
	}
	switch {
	case acct.Status != types.AccountActive:
		return r, types.Errf(types.CodeReadUnknown, "account %q was revoked; it can no longer read", acct.ID)
	case org.Status == types.OrgSuspended:
		return r, types.Errf(types.CodeReadUnknown, "organisation %s is suspended by consortium decision; %s cannot read until it is reinstated", org.ID, acct.ID)
	case !org.Active():
		return r, types.Errf(types.CodeReadUnknown, "organisation %s was removed from the consortium; %s can no longer read", org.ID, acct.ID)
	}
	return r, nil
}

// queryRead answers a signed read request (/read) and logs it.
func (a *App) queryRead(raw []byte, now time.Time) *abci.ResponseQuery {
	st, committed := a.committedState()
	r, e := a.authenticate(st, raw, now)
	entry := types.AccessEntry{Path: types.QueryRead}
	if r != nil {
		entry.Reader, entry.Path, entry.Scope, entry.Height = r.Body.Reader, r.Body.Path, readScope(r.Body.Path, r.Body.Data), r.Body.Height
		if r.Account != nil {
			entry.Org = r.Account.Org
		}
	}
	if e == nil && r.Body.Path != types.QueryKey && r.Body.Path != types.QueryList {
		e = types.Errf(types.CodeReadMalformed, "read request path %q is the read API's, not one of %s (%s or %s)", r.Body.Path, types.QueryRead, types.QueryKey, types.QueryList)
	}
	if e != nil {
		res := queryErr(e.Code, e.Msg, entry.Height)
		a.logAccess(now, entry, res, 0)
		return res
	}
	b := &r.Body
	res, n := a.answer(st, committed, b.Path, b.Data, b.Height, b.Prove, a.newView(st, r.Account, r.Org).sees)
	return a.logAccess(now, entry, res, n)
}

// refuseUnsigned refuses a /key or /list query that is not inside a
// signed read request, and logs it.
func (a *App) refuseUnsigned(req *abci.RequestQuery, now time.Time) *abci.ResponseQuery {
	res := queryErr(types.CodeReadUnsigned, "this node answers only signed read requests (path "+types.QueryRead+"): read with your account's key (the CLI's --from; client.SignedQuery)", req.Height)
	a.logAccess(now, types.AccessEntry{Path: req.Path, Scope: readScope(req.Path, req.Data), Height: req.Height}, res, 0)
	return res
}

// readScope is what a read asks for, for the access log: the key, or the
// prefix listed.
func readScope(path string, data []byte) string {
	if path != types.QueryList {
		return string(data)
	}
	var lr types.ListRequest
	if json.Unmarshal(data, &lr) != nil {
		return ""
	}
	return lr.Prefix
}

// logAccess completes entry with the outcome and the records answered,
// and records it in the access log (RecordAccess). A read the log cannot
// record is not answered.
func (a *App) logAccess(now time.Time, entry types.AccessEntry, res *abci.ResponseQuery, records int) *abci.ResponseQuery {
	entry.Code = types.Code(res.Code)
	if res.Height != 0 {
		entry.Height = res.Height
	}
	entry.Records = records
	if err := a.RecordAccess(now, entry); err != nil && res.Code == 0 {
		return queryErr(types.CodeInternal, "this node could not record the read in its access log, so it does not answer it; tell the node's operator", res.Height)
	}
	return res
}

// RecordAccess records entry, stamped with now, in the node's access log
// (app.Config.Access; none: nothing), the organisation of a named reader
// filled in when entry has none, as Query records every /read it answers
// or refuses: the read API records there the requests it answers
// itself (a tx's status, light blocks, txs, the node's status). An error
// means the log could not record it (the node's log says why), and the
// request must not be answered.
func (a *App) RecordAccess(now time.Time, entry types.AccessEntry) error {
	if a.access == nil {
		return nil
	}
	entry.Time = now.UTC().Format(time.RFC3339Nano)
	if entry.Org == "" && entry.Reader != "" {
		// The organisation of the account the request names, as the
		// latest committed state has it (a refused request's too).
		if st, _ := a.committedState(); st != nil {
			if acct, ok, err := a.accounts.get(st, types.KeyAccount(entry.Reader)); err == nil && ok {
				entry.Org = acct.Org
			}
		}
	}
	if err := a.access.Record(entry); err != nil {
		a.log.Error("the access log could not record a read", "reader", entry.Reader, "path", entry.Path, "code", entry.Code, "err", err)
		return err
	}
	return nil
}
