package node

import "github.com/veritrial/veritrial/app/types"

// Starter is one of the people an organisation starts with at genesis.
type Starter struct {
	// Suffix names the person's key and account: <org>-<Suffix>.
	Suffix string
	// Title is the person's job, which a generated consortium prints
	// after the organisation's name.
	Title string
	// DemoName is the person's printed name in the demo consortium
	// (fictitious).
	DemoName string
	Roles    []types.Role
}

// Starters lists the people an organisation of kind k starts with: an
// administrator and one person for each role its work needs.
func Starters(k types.OrgKind) []Starter {
	admin := func(demoName string) Starter {
		return Starter{"admin", "Administrator", demoName, []types.Role{types.RoleAdmin}}
	}
	switch k {
	case types.OrgSponsor:
		return []Starter{admin("Demo Sponsor Administrator"),
			{"dm", "Data Manager", "Demo Data Manager", []types.Role{types.RoleDataManager}},
			{"stat", "Unblinded Statistician", "Demo Unblinded Statistician", []types.Role{types.RoleStatistician}}}
	case types.OrgSite:
		return []Starter{admin("Demo Site Administrator"),
			{"investigator", "Investigator", "Dr. Demo Investigator", []types.Role{types.RoleInvestigator}},
			{"coordinator", "Study Coordinator", "Demo Study Coordinator", []types.Role{types.RoleCoordinator}}}
	case types.OrgCRO:
		return []Starter{admin("Demo CRO Administrator"),
			{"monitor", "Clinical Monitor", "Demo Clinical Monitor", []types.Role{types.RoleMonitor}}}
	case types.OrgRegulator:
		return []Starter{admin("Demo Regulator Administrator"),
			{"auditor", "Regulatory Auditor", "Demo Regulatory Auditor", []types.Role{types.RoleAuditor}}}
	case types.OrgEthics:
		return []Starter{admin("Demo Ethics Committee Administrator"),
			{"reviewer", "Ethics Reviewer", "Demo Ethics Reviewer", []types.Role{types.RoleAuditor}}}
	}
	return nil
}

// DemoOrgs returns the organisations of the demo consortium, which
// veritrial init lays out on one machine. The names are fictitious.
func DemoOrgs() []types.Org {
	return []types.Org{
		{ID: "sponsor", Name: "Demo Sponsor Ltd", Kind: types.OrgSponsor},
		{ID: "site1", Name: "Demo Site 1 Clinical Research Unit", Kind: types.OrgSite},
		{ID: "cro", Name: "Demo CRO Services", Kind: types.OrgCRO},
		{ID: "regulator", Name: "Demo Medicines Regulator", Kind: types.OrgRegulator},
	}
}

// DemoAccounts returns the people of the demo consortium as genesis
// accounts without their public keys (the home's keyring makes them); a
// person's key name is their account ID. They are the people each of
// DemoOrgs starts with, by their demo names, except at the CRO: its one
// person, cro-monitor, is its administrator too.
func DemoAccounts() []types.GenesisAccount {
	var out []types.GenesisAccount
	for _, o := range DemoOrgs() {
		for _, s := range Starters(o.Kind) {
			a := types.GenesisAccount{ID: o.ID + "-" + s.Suffix, Org: o.ID, Name: s.DemoName, Roles: s.Roles}
			if o.Kind == types.OrgCRO {
				if s.Suffix == "admin" {
					continue
				}
				a.Roles = append([]types.Role{types.RoleAdmin}, s.Roles...)
			}
			out = append(out, a)
		}
	}
	return out
}
