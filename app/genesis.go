package app

import (
	"encoding/json"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// initGenesis writes the consortium into the working tree.
func (a *App) initGenesis(g *types.Genesis, chainID string, t time.Time) error {
	st := newTxStore(a.store.tree)
	st.set([]byte(types.KeyChainID), []byte(chainID))
	pb, err := json.Marshal(g.Params)
	if err != nil {
		return err
	}
	st.set([]byte(types.KeyParams), pb)
	for _, o := range g.Orgs {
		st.setJSON(types.KeyOrg(o.ID), o)
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
