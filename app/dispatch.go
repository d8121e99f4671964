package app

import (
	"encoding/json"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// exec is the context of one transaction being delivered.
type exec struct {
	a      *App
	st     *txStore
	tree   iterator
	height int64
	// version is the state-machine version executing the block: the
	// ledger's stored version, by which a rule changed in a later version
	// keeps executing old heights as they ran (see sinceVersion).
	version uint64
	time    string
	txHash  string
	c       checked
	events  []abci.Event
}

// stamp attributes a change to this tx.
func (x *exec) stamp() types.Stamp {
	return types.Stamp{
		Height: x.height,
		Time:   x.time,
		TxHash: x.txHash,
		Signer: x.c.signer.ID,
		Name:   x.c.signer.Name,
		Org:    x.c.org.ID,
		Role:   x.c.role,
	}
}

// emit adds an event of type "vt" with the attributes kv (key, value,
// key, value...). Only the identifiers an auditor searches by are indexed
// (see indexedAttr); the rest travel in the block results unindexed.
func (x *exec) emit(kv ...string) {
	ev := abci.Event{Type: "vt"}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1], Index: indexedAttr(kv[i])})
	}
	x.events = append(x.events, ev)
}

// indexedAttr says whether CometBFT's tx indexer indexes an event
// attribute, so that tx_search "vt.<key>='<value>'" finds the txs: kind and
// signer (on every tx, rejected ones too), study, subject, account, org
// and consortium proposal. Each indexed attribute is one more key per tx
// in the node's tx_index database, the largest source of its compaction
// under load, so the finer details (event, form, version, action, query
// and signature numbers...) are left to the block results.
func indexedAttr(key string) bool {
	switch key {
	case "kind", "signer", "study", "subject", "account", "org", "proposal":
		return true
	}
	return false
}

// internal wraps a storage error.
func internal(err error) *types.Error {
	return types.Errf(types.CodeInternal, "internal error: %v", err)
}

// load reads a record; a storage error becomes an internal error.
func (x *exec) load(key []byte, out any) (bool, *types.Error) {
	ok, err := x.st.getJSON(key, out)
	if err != nil {
		return false, internal(err)
	}
	return ok, nil
}

// run dispatches to the message's handler.
func (x *exec) run() *types.Error {
	switch m := x.c.msg.(type) {
	case *types.MsgRegisterStudy:
		return x.registerStudy(m)
	case *types.MsgProposeAmendment:
		return x.proposeAmendment(m)
	case *types.MsgVoteAmendment:
		return x.voteAmendment(m, x.c.kind == types.KindApproveAmendment)
	case *types.MsgActivateSite:
		return x.activateSite(m)
	case *types.MsgEnrollSubject:
		return x.enrollSubject(m)
	case *types.MsgWithdrawSubject:
		return x.withdrawSubject(m)
	case *types.MsgSubmitForm:
		return x.submitForm(m)
	case *types.MsgCorrectForm:
		return x.correctForm(m)
	case *types.MsgAddAccount:
		return x.addAccount(m)
	case *types.MsgSetRoles:
		return x.setRoles(m)
	case *types.MsgRotateKey:
		return x.rotateKey(m)
	case *types.MsgRevokeAccount:
		return x.revokeAccount(m)
	case *types.MsgOpenQuery:
		return x.openDataQuery(m)
	case *types.MsgQueryAction:
		return x.dataQueryAction(x.c.kind, m)
	case *types.MsgVerify:
		return x.verifySource(m)
	case *types.MsgSign:
		return x.sign(m)
	case *types.MsgScope:
		return x.scopeAction(x.c.kind, m)
	case *types.MsgProposeChange:
		return x.proposeChange(m)
	case *types.MsgVoteChange:
		return x.voteChange(m)
	case *types.MsgStudyDelegation:
		return x.studyDelegation(m, x.c.kind == types.KindDelegateStudy)
	case *types.MsgChangeInvestigator:
		return x.changeInvestigator(m)
	case *types.MsgSiteDelegation:
		return x.siteDelegation(m, x.c.kind == types.KindDelegateSite)
	case *types.MsgApproveKeyRotation:
		return x.approveKeyRotation(m)
	case *types.MsgCommitAccessHead:
		return x.commitAccessHead(m)
	case *types.MsgSetLabRanges:
		return x.setLabRanges(m)
	case *types.MsgAssessLabValue:
		return x.assessLabValue(m)
	case *types.MsgReconsent:
		return x.reconsent(m)
	case *types.MsgAcknowledgeSAE:
		return x.acknowledgeSAE(m)
	case *types.MsgRegisterAllocations:
		return x.registerAllocations(m)
	case *types.MsgRandomize:
		return x.randomizeSubject(m)
	case *types.MsgUnblind:
		return x.unblindSubject(m)
	case *types.MsgPublishAllocations:
		return x.publishAllocations(m)
	}
	return types.Errf(types.CodeTxMalformed, "unknown message kind %q", x.c.kind)
}

// study loads a study or fails with unknown_study. The result is the
// caller's own copy (decoded once per stored version of the record).
func (x *exec) study(id string) (*types.Study, *types.Error) {
	s, ok, err := x.a.studies.get(x.st, types.KeyStudy(id))
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, types.Errf(types.CodeUnknownStudy, "study %q is not registered on this ledger", id)
	}
	cp := *s
	cp.Approvers = slices.Clone(s.Approvers)
	cp.Meanings = slices.Clone(s.Meanings)
	cp.LockApprovers = slices.Clone(s.LockApprovers)
	return &cp, nil
}

func (x *exec) orgOf(id string) (*types.Org, *types.Error) {
	var o types.Org
	ok, e := x.load(types.KeyOrg(id), &o)
	if e != nil {
		return nil, e
	}
	if !ok {
		return nil, types.Errf(types.CodeUnknownOrg, "organisation %q is not a member of this consortium", id)
	}
	return &o, nil
}

// loadPrefix loads, in key order, every record under prefix (through the
// tx buffer, so records this tx changed are current).
func loadPrefix[T any](x *exec, prefix []byte) ([]T, *types.Error) {
	var keys [][]byte
	if err := iteratePrefix(x.tree, prefix, func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	}); err != nil {
		return nil, internal(err)
	}
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		bz, err := x.st.get(k)
		if err != nil {
			return nil, internal(err)
		}
		if bz == nil {
			continue
		}
		var v T
		if err := json.Unmarshal(bz, &v); err != nil {
			return nil, internal(fmt.Errorf("corrupt record at %q: %w", k, err))
		}
		out = append(out, v)
	}
	return out, nil
}
