package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// The demo consortium is what veritrial init creates and documents: these
// keys, with these roles, and a valid genesis.
func TestDemoAccounts(t *testing.T) {
	want := map[string][]types.Role{
		"sponsor-admin":      {types.RoleAdmin},
		"sponsor-dm":         {types.RoleDataManager},
		"sponsor-stat":       {types.RoleStatistician},
		"site1-admin":        {types.RoleAdmin},
		"site1-investigator": {types.RoleInvestigator},
		"site1-coordinator":  {types.RoleCoordinator},
		"cro-monitor":        {types.RoleAdmin, types.RoleMonitor},
		"regulator-admin":    {types.RoleAdmin},
		"regulator-auditor":  {types.RoleAuditor},
	}
	g := types.Genesis{Orgs: DemoOrgs(), Params: types.DefaultParams(), Governance: types.DefaultGovParams()}
	for i := range g.Orgs {
		if g.Orgs[i].Kind == types.OrgRegulator {
			vk := sha256.Sum256([]byte("validator"))
			g.Orgs[i].Validators = []types.Validator{{PubKey: vk[:], Power: 10, NodeID: strings.Repeat("ab", 20)}}
		}
	}
	got := map[string][]types.Role{}
	for _, a := range DemoAccounts() {
		got[a.ID] = a.Roles
		seed := sha256.Sum256([]byte(a.ID))
		a.PubKey = ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		g.Accounts = append(g.Accounts, a)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("demo accounts %v, want %v", got, want)
	}
	if err := g.Validate(); err != nil {
		t.Errorf("the demo consortium is not a valid genesis: %v", err)
	}
}
