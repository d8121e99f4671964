package apptest

import (
	"github.com/veritrial/veritrial/app/types"
)

// The policy consortium: the test consortium with a second sponsor, a
// third site, a second CRO, a second regulator and two ethics
// committees, on which the read policy is tested cell by cell, in process
// (package app) and through the CLI against a real node.

// StudyB is the second sponsor's study of the policy consortium.
const StudyB = "ST-B"

// PolicyReader is a reader of the policy table: a person of one
// organisation of the policy consortium, by the organisation's short
// name in the table.
type PolicyReader struct{ Short, Account, Org string }

// PolicyReaders are the readers of the policy table, one per
// organisation.
var PolicyReaders = []PolicyReader{
	{"spA", "sponsor-dm", "sponsor"},             // sponsor of the example study (A)
	{"spB", "sponsor2-dm", "sponsor2"},           // sponsor of study B
	{"s1", "site1-coordinator", "site1"},         // site active in A, subject S1-001
	{"s2", "site2-coordinator", "site2"},         // site active in A, subject S2-001
	{"s3", "site3-coordinator", "site3"},         // site active in B, subject S3-001
	{"cro", "cro-monitor", "cro"},                // CRO delegated A
	{"cro2", "cro2-monitor", "cro2"},             // CRO delegated nothing
	{"reg", "regulator-auditor", "regulator"},    // regulator named lock approver of A
	{"reg2", "regulator2-auditor", "regulator2"}, // regulator named lock approver of B
	{"eth", "ethics-reviewer", "ethics"},         // ethics committee named approver of A
	{"eth2", "ethics2-reviewer", "ethics2"},      // ethics committee named approver of B
}

// Who sees a record of the policy ledger, by groups of PolicyReaders'
// short names.
const (
	PartiesA = "spA cro reg eth s1 s2" // every party of study A
	WholeA   = "spA cro reg eth"       // study A's readers of everything
	PartiesB = "spB reg2 eth2 s3"      // every party of study B
	WholeB   = "spB reg2 eth2"
	Members  = "spA spB s1 s2 s3 cro cro2 reg reg2 eth eth2"
)

// PolicyGenesis returns the application genesis of the policy
// consortium (every organisation of the test consortium runs a validator,
// the new ones none) and its new people: an administrator of each new
// organisation (<org>-admin) and one person of a role its kind grants,
// and site3's coordinator.
func PolicyGenesis() (types.Genesis, []*Person) {
	g := DefaultGenesis()
	var people []*Person
	add := func(id, org string, role types.Role) {
		people = append(people, &Person{ID: id, Org: org, Name: id, Roles: []types.Role{role}, Key: KeyFor(id)})
	}
	for _, o := range []struct {
		id, person string
		kind       types.OrgKind
		role       types.Role
	}{
		{"sponsor2", "sponsor2-dm", types.OrgSponsor, types.RoleDataManager},
		{"site3", "site3-investigator", types.OrgSite, types.RoleInvestigator},
		{"cro2", "cro2-monitor", types.OrgCRO, types.RoleMonitor},
		{"regulator2", "regulator2-auditor", types.OrgRegulator, types.RoleAuditor},
		{"ethics", "ethics-reviewer", types.OrgEthics, types.RoleAuditor},
		{"ethics2", "ethics2-reviewer", types.OrgEthics, types.RoleAuditor},
	} {
		g.Orgs = append(g.Orgs, types.Org{ID: o.id, Name: "Org " + o.id, Kind: o.kind})
		add(o.id+"-admin", o.id, types.RoleAdmin)
		add(o.person, o.id, o.role)
	}
	add("site3-coordinator", "site3", types.RoleCoordinator)
	for _, p := range people {
		g.Accounts = append(g.Accounts, types.GenesisAccount{ID: p.ID, Org: p.Org, Name: p.Name, Roles: p.Roles, PubKey: p.PubKey()})
	}
	return g, people
}

// RegisterAs is the registration of the example protocol as study id,
// its amendments approved by approvers, its database lock by lock with
// quorum.
func RegisterAs(id string, approvers, lock []string, quorum int) types.Msg {
	p := Example()
	p.Study.ID = id
	m := RegisterMsg(p, approvers...)
	m.RegisterStudy.LockApprovers, m.RegisterStudy.LockQuorum = lock, quorum
	return m
}

// Step is one tx of a test ledger: its signer and message.
type Step struct {
	Signer string
	Msg    types.Msg
}

// PolicySteps are the txs that make the policy consortium's studies:
// study A (the example study of sponsor, amendments approved by ethics,
// the lock by the sponsor and regulator) delegated to cro, with site1 and
// site2 active and a subject at each (S1-001, S2-001); study B of sponsor2
// (approved by ethics2, locked with regulator2) with site3 active and one
// subject (S3-001).
func PolicySteps() []Step {
	site := func(study, site string) []Step {
		return []Step{
			{"sponsor-dm", ActivateMsg(study, site, site+"-investigator")},
			{site + "-investigator", DelegateSiteMsg(study, site, site+"-coordinator", CoordinatorTasks...)},
		}
	}
	steps := []Step{
		{"sponsor-dm", RegisterAs(StudyID, []string{"ethics"}, []string{"regulator"}, 2)},
		{"sponsor-dm", DelegateStudyMsg(StudyID, "cro", CROTasks...)},
	}
	steps = append(steps, site(StudyID, "site1")...)
	steps = append(steps, site(StudyID, "site2")...)
	steps = append(steps,
		Step{"site1-coordinator", EnrollMsg("S1-001", "site1")},
		Step{"site2-coordinator", EnrollMsg("S2-001", "site2")},
		Step{"sponsor2-dm", RegisterAs(StudyB, []string{"ethics2"}, []string{"regulator2"}, 2)},
		Step{"sponsor2-dm", ActivateMsg(StudyB, "site3", "site3-investigator")},
		Step{"site3-investigator", DelegateSiteMsg(StudyB, "site3", "site3-coordinator", CoordinatorTasks...)},
		Step{"site3-coordinator", types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: StudyB, Subject: "S3-001", Site: "site3", ConsentVersion: "1.0", ConsentSHA256: ConsentSHA256}}},
	)
	return steps
}
