package app

import (
	"encoding/json"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// initGenesis writes the consortium into the working tree, at
// state-machine version v: from version 2 on with the version and its
// history (a version-1 ledger has neither).
func (a *App) initGenesis(g *types.Genesis, chainID string, t time.Time, initialHeight int64, v uint64) error {
	st := newTxStore(a.store.tree)
	st.set([]byte(types.KeyChainID), []byte(chainID))
	pb, err := json.Marshal(g.Params)
	if err != nil {
		return err
	}
	st.set([]byte(types.KeyParams), pb)
	st.setJSON(types.KeyGovernance, types.Governance{Params: g.Governance})
	if v >= 2 {
		setStateVersion(st, v)
		st.setJSON([]byte(types.KeyVersionHistory), []types.VersionSpan{{Version: v, From: max(initialHeight, 1)}})
	}
	for _, o := range g.Orgs {
		o.Status = types.OrgActive
		st.setJSON(types.KeyOrg(o.ID), o)
		for _, v := range o.Validators {
			st.set(types.KeyValidatorKey(v.PubKey), []byte(o.ID))
		}
		for _, id := range o.NodeIDsInUse() {
			st.set(types.KeyNodeID(id), []byte(o.ID))
		}
	}
	kinds := map[string]types.OrgKind{}
	for _, o := range g.Orgs {
		kinds[o.ID] = o.Kind
	}
	stamp := types.Stamp{Height: 0, Time: t.UTC().Format(time.RFC3339Nano)}
	for _, ga := range g.Accounts {
		roles, e := types.NormalizeRoles(kinds[ga.Org], ga.Roles)
		if e != nil {
			return e
		}
		acct := types.Account{ID: ga.ID, Org: ga.Org, Name: ga.Name, Roles: roles, PubKey: ga.PubKey, Status: types.AccountActive, Created: stamp, Seq: 1}
		st.setJSON(types.KeyAccount(acct.ID), acct)
		st.set(types.KeyPubKey(acct.PubKey), []byte(acct.ID))
		st.setJSON(types.KeyAccountChange(acct.ID, 1), types.AccountChange{Seq: 1, Action: "genesis", Account: acct, Stamp: stamp})
	}
	return a.flush(st)
}

// checkGenesisValidators refuses a genesis whose CometBFT validators are
// not exactly the validators its organisations declare, keys and powers.
func checkGenesisValidators(g *types.Genesis, vals []abci.ValidatorUpdate) error {
	declared := map[string]int64{}
	for _, v := range g.Validators() {
		declared[string(v.PubKey)] = v.Power
	}
	got := map[string]int64{}
	for _, v := range vals {
		pk := v.PubKey.GetEd25519()
		if pk == nil {
			return fmt.Errorf("genesis validator %v is not an ed25519 key; the consortium's validators use ed25519", v.PubKey)
		}
		if _, dup := got[string(pk)]; dup {
			return fmt.Errorf("genesis lists validator %s twice", types.KeyText(pk))
		}
		got[string(pk)] = v.Power
	}
	for _, v := range vals {
		pk := v.PubKey.GetEd25519()
		if p, ok := declared[string(pk)]; !ok {
			return fmt.Errorf("genesis validator %s (power %d) is not declared by any organisation in app_state; the validators of genesis.json must be exactly the organisations' validators", types.KeyText(pk), v.Power)
		} else if p != v.Power {
			return fmt.Errorf("genesis validator %s has power %d but its organisation declares power %d in app_state", types.KeyText(pk), v.Power, p)
		}
	}
	for _, v := range g.Validators() {
		if _, ok := got[string(v.PubKey)]; !ok {
			return fmt.Errorf("organisation %s declares validator %s in app_state, but genesis.json's validators do not include it", v.Org, types.KeyText(v.PubKey))
		}
	}
	return nil
}
