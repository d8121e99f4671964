package app

import (
	"slices"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// peerFilterPrefix starts the paths of CometBFT's peer filter queries. With
// filter_peers on, CometBFT asks /p2p/filter/addr/<ip:port> of every
// connection before the handshake and /p2p/filter/id/<node ID> of every
// peer once the handshake has proven its node key (node/setup.go); code 0
// lets it in, any other code drops it.
const peerFilterPrefix = "/p2p/filter/"

// filterPeer answers a peer filter query (path after peerFilterPrefix).
//
// Addresses are all accepted: the hosts on the ledger are informational,
// NAT and DHCP change them, and an address proves nothing before the
// handshake. The node ID, which the handshake proves, decides: a peer is
// let in when it is a node of an active organisation on the ledger, one
// of its validators in service or one of its other nodes (see
// types.Org.NodeIDsInUse).
func (a *App) filterPeer(what string) *abci.ResponseQuery {
	switch {
	case strings.HasPrefix(what, "addr/"):
		return &abci.ResponseQuery{}
	case strings.HasPrefix(what, "id/"):
		id := strings.TrimPrefix(what, "id/")
		if e := a.consortiumNode(id); e != nil {
			a.log.Info("refused a peer that is not a node of the consortium", "node_id", id, "reason", e.Msg)
			return queryErr(e.Code, e.Msg, 0)
		}
		return &abci.ResponseQuery{}
	}
	return queryErr(types.CodeInvalidMsg, "unknown peer filter "+peerFilterPrefix+what+" (this node answers addr/ and id/)", 0)
}

// consortiumNode checks that node ID id belongs to an active organisation
// as the last committed state holds it. Before the first block it reads
// the genesis state InitChain wrote; a node that holds no ledger state
// yet (about to state sync, or restoring a snapshot) has nothing to hide
// and lets every peer in, so that it can find the snapshots it verifies.
func (a *App) consortiumNode(id string) *types.Error {
	var r reader
	st, _ := a.committedState()
	if st != nil {
		r = st
	} else {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.restoring != nil {
			return nil
		}
		empty := true
		if err := iteratePrefix(a.store.tree, []byte(types.PrefixOrg), func(_, _ []byte) bool {
			empty = false
			return false
		}); err != nil {
			return types.Errf(types.CodeInternal, "reading the organisations: %v", err)
		}
		if empty {
			return nil
		}
		r = a.store.tree
	}
	if !types.ValidNodeID(id) {
		return types.Errf(types.CodeUnauthorized, "%q is not a node ID", id)
	}
	owner, err := r.Get(types.KeyNodeID(id))
	if err != nil {
		return types.Errf(types.CodeInternal, "reading node ID %s: %v", id, err)
	}
	if owner == nil {
		return types.Errf(types.CodeUnauthorized, "node %s is not on the ledger; an organisation declares its nodes by consortium vote (veritrial consortium propose nodes)", id)
	}
	o, ok, err := a.orgs.get(r, types.KeyOrg(string(owner)))
	switch {
	case err != nil:
		return types.Errf(types.CodeInternal, "reading organisation %s: %v", owner, err)
	case !ok:
		return types.Errf(types.CodeInternal, "node %s names organisation %s which is missing", id, owner)
	case !o.Active():
		return types.Errf(types.CodeUnauthorized, "node %s belongs to organisation %s, which is %s", id, o.ID, o.Status)
	case !slices.Contains(o.NodeIDsInUse(), id):
		return types.Errf(types.CodeUnauthorized, "node %s of %s is no longer in use (its validator was retired or its node ID replaced)", id, o.ID)
	}
	return nil
}
