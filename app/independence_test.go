package app_test

import (
	"slices"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// twoSponsorChain is the test consortium with a second sponsor, sponsor2
// (no validator), administered by sponsor2-admin, with a data manager,
// sponsor2-dm.
func twoSponsorChain(t *testing.T) *apptest.Chain {
	t.Helper()
	g := apptest.DefaultGenesis()
	g.Orgs = append(g.Orgs, types.Org{ID: "sponsor2", Name: "Second Sponsor", Kind: types.OrgSponsor})
	people := []*apptest.Person{admin("sponsor2"), person("sponsor2-dm", "sponsor2", types.RoleDataManager)}
	people[1].Roles = []types.Role{types.RoleDataManager}
	for _, p := range people {
		g.Accounts = append(g.Accounts, types.GenesisAccount{ID: p.ID, Org: p.Org, Name: p.Name, Roles: p.Roles, PubKey: p.PubKey()})
	}
	c := apptest.NewWith(t, g)
	for _, p := range people {
		c.AddPerson(p)
	}
	return c
}

// registerAs registers the example protocol as study id with amendment
// approvers, lock approvers and lock quorum.

// TestRegistrationIndependence: registration refuses amendment approvers
// naming the sponsor or no independent organisation, and lock policies
// the sponsor could satisfy alone.
func TestRegistrationIndependence(t *testing.T) {
	c := twoSponsorChain(t)
	runSteps(t, c, []step{
		{name: "the sponsor approves its own amendments", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", []string{"regulator", "sponsor"}, nil, 0),
			want: types.CodeSponsorApprover, logHas: []string{"never approves its own amendments"}},
		{name: "only sponsors approve amendments", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", []string{"sponsor2"}, nil, 0),
			want: types.CodeNoIndependent, logHas: []string{"not a sponsor", "sponsor2"}},
		{name: "only sponsors approve the lock", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", nil, []string{"sponsor2"}, 2),
			want: types.CodeNoIndependent, logHas: []string{"sponsor, sponsor2"}},
		{name: "the sponsor named as its only lock approver", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", nil, []string{"sponsor"}, 0), want: types.CodeNoIndependent},
		{name: "a site approves the lock", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", nil, []string{"site1", "regulator"}, 2),
			want: types.CodeInvalidMsg, logHas: []string{"only sponsors, CROs and regulators approve a database lock"}},
		{name: "lock quorum 1", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", nil, nil, 1), want: types.CodeNoIndependent, logHas: []string{"alone"}},
		{name: "lock quorum above the approvers", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", nil, []string{"regulator"}, 3), want: types.CodeInvalidMsg},
		{name: "another sponsor beside an independent approver", signer: "sponsor-dm", msg: apptest.RegisterAs("ST-1", []string{"sponsor2", "regulator"}, []string{"sponsor2", "cro"}, 2), want: types.CodeOK},
		{name: "defaults", signer: "sponsor2-dm", msg: apptest.RegisterAs("ST-2", nil, nil, 0), want: types.CodeOK},
	})
	var s types.Study
	get(t, c, types.KeyStudy("ST-2"), &s)
	if !slices.Equal(s.Approvers, []string{"regulator"}) || !slices.Equal(s.LockApprovers, []string{"sponsor2", "regulator"}) || s.LockQuorum != 2 {
		t.Errorf("default approvers %v, lock approvers %v quorum %d", s.Approvers, s.LockApprovers, s.LockQuorum)
	}
}

// TestIndependentLockApproval: with another sponsor among the lock
// approvers, two sponsors' approvals reach the quorum but decide nothing
// until an independent organisation approves.
func TestIndependentLockApproval(t *testing.T) {
	c := twoSponsorChain(t)
	c.MustDo("sponsor-dm", apptest.RegisterAs("ST-1", nil, []string{"sponsor2", "regulator"}, 2))
	lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: "ST-1"}, "")
	c.MustDo("sponsor-dm", lock)
	c.MustDo("sponsor2-dm", lock)
	var l types.ScopeLock
	if ok := c.Get(types.KeyLock(types.Scope{Study: "ST-1"}), &l); ok {
		t.Fatalf("two sponsors locked the database: %+v", l)
	}
	var db types.DatabaseLock
	get(t, c, types.KeyDBLock("ST-1"), &db)
	if db.Action != "lock" || len(db.Approvals) != 2 {
		t.Fatalf("pending approvals %+v", db)
	}
	c.MustDo("regulator-auditor", lock)
	get(t, c, types.KeyLock(types.Scope{Study: "ST-1"}), &l)
	if l.State != types.StateLocked || len(l.History[0].Approvals) != 3 {
		t.Errorf("lock %+v", l)
	}
}

// TestApproversWhoLeave: an approver the consortium suspends leaves no
// study unable to decide. Its approvals no longer count, the approvals
// of those who remain decide (an approver that approved confirms with a
// new approval), and when no independent approver remains, the active
// regulators stand in; the independence rule still holds throughout.
func TestApproversWhoLeave(t *testing.T) {
	c := twoSponsorChain(t)
	n := proposeOK(t, c, "regulator-admin", addOrgChange("reg2", types.OrgRegulator, nil))
	votes(t, c, n, "sponsor", "site1", "site2", "regulator")
	c.AddPerson(admin("reg2"))
	reg2 := person("reg2-auditor", "reg2", types.RoleAuditor)
	croDM := person("cro-dm", "cro", types.RoleDataManager)
	c.MustDo("reg2-admin", addMsg(reg2.ID, "Second Regulator's Auditor", reg2.PubKey(), types.RoleAuditor))
	c.MustDo("cro-admin", addMsg(croDM.ID, "CRO Data Manager", croDM.PubKey(), types.RoleDataManager))
	c.AddPerson(reg2)
	c.AddPerson(croDM)

	// A: amendments approved by sponsor2 and the regulator. B: by the
	// regulator and the CRO. C: locked by the sponsor and the regulator.
	// D: by the sponsor, the CRO and the regulator.
	c.MustDo("sponsor-dm", apptest.RegisterAs("A", []string{"sponsor2", "regulator"}, nil, 0))
	c.MustDo("sponsor-dm", apptest.RegisterAs("B", []string{"regulator", "cro"}, nil, 0))
	c.MustDo("sponsor-dm", apptest.RegisterAs("C", nil, []string{"regulator"}, 2))
	c.MustDo("sponsor-dm", apptest.RegisterAs("D", nil, []string{"cro", "regulator"}, 3))
	c.MustDo("sponsor-dm", apptest.DelegateStudyMsg("D", "cro", types.TaskDataManagement))
	c.MustDo("sponsor-dm", apptest.AmendMsg(v2(t, "A", "2.0"), "r"))
	c.MustDo("sponsor-dm", apptest.AmendMsg(v2(t, "B", "2.0"), "r"))
	lock := func(id string) types.Msg { return apptest.ScopeMsg(types.KindLock, types.Scope{Study: id}, "") }
	runSteps(t, c, []step{
		{name: "A: sponsor2 approves", signer: "sponsor2-admin", msg: apptest.ApproveMsg("A", 1), want: types.CodeOK},
		{name: "A: the sponsor is no approver", signer: "sponsor-admin", msg: apptest.ApproveMsg("A", 1), want: types.CodeNotApprover},
		{name: "B: the CRO approves", signer: "cro-admin", msg: apptest.ApproveMsg("B", 1), want: types.CodeOK},
		{name: "B: the CRO approves again", signer: "cro-admin", msg: apptest.ApproveMsg("B", 1), want: types.CodeAlreadyVoted},
		{name: "C: the sponsor approves", signer: "sponsor-dm", msg: lock("C"), want: types.CodeOK},
		{name: "C: reg2 is no lock approver", signer: reg2.ID, msg: lock("C"), want: types.CodeNotLockApprover},
		{name: "D: the sponsor approves", signer: "sponsor-dm", msg: lock("D"), want: types.CodeOK},
		{name: "D: the CRO approves", signer: croDM.ID, msg: lock("D"), want: types.CodeOK},
		{name: "D: the sponsor approves again", signer: "sponsor-dm", msg: lock("D"), want: types.CodeAlreadyApproved},
	})

	n = proposeOK(t, c, "reg2-admin", suspend("regulator"))
	votes(t, c, n, "sponsor", "site1", "site2", "cro")
	if o := orgAt(t, c, "regulator"); o.Status != types.OrgSuspended {
		t.Fatalf("regulator %s", o.Status)
	}
	runSteps(t, c, []step{
		// A: sponsor2 remains, not independent: reg2 stands in.
		{name: "A: the sponsor is still no approver", signer: "sponsor-admin", msg: apptest.ApproveMsg("A", 1), want: types.CodeNotApprover, logHas: []string{"approvers: sponsor2, reg2"}},
		{name: "A: sponsor2's approval alone decides nothing", signer: "sponsor2-admin", msg: apptest.ApproveMsg("A", 1), want: types.CodeAlreadyVoted},
		{name: "A: reg2 approves in the regulator's place", signer: "reg2-admin", msg: apptest.ApproveMsg("A", 1), want: types.CodeOK},
		// B: the CRO remains, independent: its approval confirmed decides.
		{name: "B: reg2 does not stand in", signer: "reg2-admin", msg: apptest.ApproveMsg("B", 1), want: types.CodeNotApprover},
		{name: "B: the CRO confirms", signer: "cro-admin", msg: apptest.ApproveMsg("B", 1), want: types.CodeOK},
		{name: "C: reg2 approves in the regulator's place", signer: reg2.ID, msg: lock("C"), want: types.CodeOK},
		{name: "D: the sponsor confirms", signer: "sponsor-dm", msg: lock("D"), want: types.CodeOK},
		{name: "registration without an active independent approver", signer: "sponsor-dm", msg: apptest.RegisterAs("E", []string{"regulator"}, nil, 0), want: types.CodeNoIndependent},
	})
	for _, id := range []string{"A", "B"} {
		var s types.Study
		var am types.Amendment
		get(t, c, types.KeyStudy(id), &s)
		get(t, c, types.KeyAmendment(id, 1), &am)
		if s.Current != 2 || am.Status != types.AmendmentApproved {
			t.Errorf("%s: current version %d, amendment %s", id, s.Current, am.Status)
		}
		if id == "B" && (len(am.Votes) != 1 || am.Decided == nil || am.Decided.Signer != "cro-admin") {
			t.Errorf("B: the confirmation adds no vote and decides: votes %+v, decided %+v", am.Votes, am.Decided)
		}
	}
	for _, id := range []string{"C", "D"} {
		var l types.ScopeLock
		get(t, c, types.KeyLock(types.Scope{Study: id}), &l)
		if l.State != types.StateLocked {
			t.Errorf("%s: %s", id, l.State)
		}
	}
}
