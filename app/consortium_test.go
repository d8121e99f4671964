package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

func proposeMsg(ch types.Change, reason string) types.Msg {
	return types.Msg{ProposeChange: &types.MsgProposeChange{Change: ch, Reason: reason}}
}

func voteMsg(n int, approve bool) types.Msg {
	return types.Msg{VoteChange: &types.MsgVoteChange{Proposal: n, Approve: approve}}
}

// validator is a new validator of power p whose key and node derive from
// name.
func validator(name string, p int64) *types.Validator {
	return &types.Validator{PubKey: apptest.ValidatorKey(name), Power: p, NodeID: apptest.NodeID(name)}
}

// addOrgChange adds organisation id of kind k, administered by
// <id>-admin (key apptest.KeyFor(<id>-admin)), running v if not nil.
func addOrgChange(id string, k types.OrgKind, v *types.Validator) types.Change {
	return types.Change{AddOrg: &types.AddOrg{Org: id, Name: "Org " + id, Kind: k, Admin: id + "-admin", AdminName: "Admin of " + id,
		AdminPubKey: admin(id).PubKey(), Validator: v}}
}

// admin is the first administrator addOrgChange gives organisation id.
func admin(id string) *apptest.Person {
	return &apptest.Person{ID: id + "-admin", Org: id, Name: "Admin of " + id, Roles: []types.Role{types.RoleAdmin}, Key: apptest.KeyFor(id + "-admin")}
}

// powerChange sets the power of org's validator with key pub (0 retires
// it; a new key is added).
func powerChange(org string, pub []byte, p int64) types.Change {
	return types.Change{Validator: &types.ValidatorChange{Org: org, PubKey: pub, Power: p, NodeID: apptest.NodeID(types.KeyText(pub))}}
}

func suspend(org string) types.Change   { return types.Change{SuspendOrg: &types.OrgRef{Org: org}} }
func reinstate(org string) types.Change { return types.Change{ReinstateOrg: &types.OrgRef{Org: org}} }
func remove(org string) types.Change    { return types.Change{RemoveOrg: &types.OrgRef{Org: org}} }

// orgSpec is an organisation of a test consortium and the power of its
// one validator (0: none).
type orgSpec struct {
	id    string
	kind  types.OrgKind
	power int64
}

// govChain starts a chain whose consortium is specs, each organisation
// administered by <id>-admin, under governance rules gp.
func govChain(t *testing.T, gp types.GovParams, specs ...orgSpec) *apptest.Chain {
	t.Helper()
	g := types.Genesis{Params: types.DefaultParams(), Governance: gp}
	var admins []*apptest.Person
	for _, s := range specs {
		o := types.Org{ID: s.id, Name: "Org " + s.id, Kind: s.kind}
		if s.power > 0 {
			o.Validators = []types.Validator{*validator(s.id, s.power)}
		}
		g.Orgs = append(g.Orgs, o)
		p := admin(s.id)
		g.Accounts = append(g.Accounts, types.GenesisAccount{ID: p.ID, Org: p.Org, Name: p.Name, Roles: p.Roles, PubKey: p.PubKey()})
		admins = append(admins, p)
	}
	c := apptest.NewWith(t, g)
	for _, p := range admins {
		c.AddPerson(p)
	}
	return c
}

// proposalAt reads proposal n.
func proposalAt(t *testing.T, c *apptest.Chain, n int) types.Proposal {
	t.Helper()
	var p types.Proposal
	get(t, c, types.KeyProposal(n), &p)
	return p
}

// orgAt reads organisation id.
func orgAt(t *testing.T, c *apptest.Chain, id string) types.Org {
	t.Helper()
	var o types.Org
	get(t, c, types.KeyOrg(id), &o)
	return o
}

// lastProposal is the number of the last proposal.
func lastProposal(t testing.TB, c *apptest.Chain) int {
	t.Helper()
	var g types.Governance
	get(t, c, types.KeyGovernance, &g)
	return g.Proposals
}

// proposeOK proposes ch as signer and returns the proposal's number.
func proposeOK(t *testing.T, c *apptest.Chain, signer string, ch types.Change) int {
	t.Helper()
	c.MustDo(signer, proposeMsg(ch, "test"))
	return lastProposal(t, c)
}

// votes casts yes votes on proposal n by the admins of orgs, one block
// each.
func votes(t *testing.T, c *apptest.Chain, n int, orgs ...string) {
	t.Helper()
	for _, o := range orgs {
		c.MustDo(o+"-admin", voteMsg(n, true))
	}
}

// checkValidators checks the ledger's invariant: the validators its
// organisations hold in service (active organisations only) are exactly
// the validator set CometBFT holds after applying every block's updates.
func checkValidators(t *testing.T, c *apptest.Chain) {
	t.Helper()
	want := map[string]int64{}
	for _, e := range list(t, c, types.PrefixOrg, 0, 0) {
		var o types.Org
		if err := json.Unmarshal(e.Value, &o); err != nil {
			t.Fatal(err)
		}
		if !o.Active() {
			continue
		}
		for _, v := range o.Validators {
			if v.Retired == 0 {
				want[string(v.PubKey)] = v.Power
			}
		}
	}
	if c.Validators.Size() != len(want) {
		t.Fatalf("CometBFT holds %d validators, the ledger's organisations %d", c.Validators.Size(), len(want))
	}
	for k, p := range want {
		_, v := c.Validators.GetByAddress(cmted25519.PubKey(k).Address())
		if v == nil || v.VotingPower != p {
			t.Fatalf("validator %s: CometBFT holds %v, the ledger power %d", types.KeyText([]byte(k)), v, p)
		}
	}
}

// update is a validator update as the tests write them.
func update(pub []byte, p int64) abci.ValidatorUpdate { return abci.Ed25519ValidatorUpdate(pub, p) }

// sortedUpdates orders updates by key, as FinalizeBlock returns them.
func sortedUpdates(us ...abci.ValidatorUpdate) []abci.ValidatorUpdate {
	slices.SortFunc(us, func(a, b abci.ValidatorUpdate) int {
		return bytes.Compare(a.PubKey.GetEd25519(), b.PubKey.GetEd25519())
	})
	return us
}

func sameUpdates(a, b []abci.ValidatorUpdate) bool {
	return slices.EqualFunc(a, b, func(x, y abci.ValidatorUpdate) bool {
		return x.Power == y.Power && bytes.Equal(x.PubKey.GetEd25519(), y.PubKey.GetEd25519()) && x.PubKey.GetEd25519() != nil
	})
}

func TestConsortiumRefusals(t *testing.T) {
	c := apptest.New(t)
	site1Key := apptest.ValidatorKey("site1")
	reusedAdmin := addOrgChange("site3", types.OrgSite, nil)
	reusedAdmin.AddOrg.Admin = "site1-admin"
	adminKeyInUse := addOrgChange("site3", types.OrgSite, nil)
	adminKeyInUse.AddOrg.AdminPubKey = c.Person("sponsor-admin").PubKey()
	adminIsValidator := addOrgChange("site3", types.OrgSite, nil)
	adminIsValidator.AddOrg.AdminPubKey = site1Key
	sameKeys := addOrgChange("site3", types.OrgSite, &types.Validator{PubKey: admin("site3").PubKey(), Power: 10, NodeID: apptest.NodeID("site3")})
	takenNode := addOrgChange("site3", types.OrgSite, &types.Validator{PubKey: apptest.ValidatorKey("site3"), Power: 10, NodeID: apptest.NodeID("site1")})
	badKind := addOrgChange("site3", "bank", nil)
	shortKey := addOrgChange("site3", types.OrgSite, nil)
	shortKey.AddOrg.AdminPubKey = []byte{1, 2}
	noNode := types.Change{Validator: &types.ValidatorChange{Org: "site1", PubKey: apptest.ValidatorKey("extra"), Power: 5}}
	upper := powerChange("site1", apptest.ValidatorKey("x"), 5)
	upper.Validator.NodeID = strings.ToUpper(apptest.NodeID("x"))
	rotateUnknown := types.Change{Validator: &types.ValidatorChange{Org: "site1", PubKey: apptest.ValidatorKey("new"), Replaces: apptest.ValidatorKey("nobody")}}
	rotateToInService := types.Change{Validator: &types.ValidatorChange{Org: "site1", PubKey: site1Key, Replaces: site1Key}}
	lowQuorum := types.DefaultGovParams()
	lowQuorum.QuorumNum = 1
	sponsor2 := &apptest.Person{ID: "sponsor-admin2", Org: "sponsor", Key: apptest.KeyFor("sponsor-admin2")}

	runSteps(t, c, []step{
		{name: "non-admin proposes", signer: "site1-coordinator", msg: proposeMsg(addOrgChange("site3", types.OrgSite, nil), ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "non-admin votes", signer: "sponsor-dm", msg: voteMsg(1, true), want: types.CodeUnauthorized, atCheck: true},
		{name: "no change", signer: "sponsor-admin", msg: proposeMsg(types.Change{}, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "two changes", signer: "sponsor-admin", msg: proposeMsg(types.Change{SuspendOrg: &types.OrgRef{Org: "cro"}, RemoveOrg: &types.OrgRef{Org: "cro"}}, "x"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "suspend without reason", signer: "sponsor-admin", msg: proposeMsg(suspend("cro"), " "), want: types.CodeInvalidMsg, atCheck: true},
		{name: "remove without reason", signer: "sponsor-admin", msg: proposeMsg(remove("cro"), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "unknown kind", signer: "sponsor-admin", msg: proposeMsg(badKind, ""), want: types.CodeInvalidMsg, atCheck: true, logHas: []string{"ethics"}},
		{name: "short admin key", signer: "sponsor-admin", msg: proposeMsg(shortKey, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "power above the limit", signer: "sponsor-admin", msg: proposeMsg(powerChange("site1", site1Key, types.MaxValidatorPower+1), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "upper-case node ID", signer: "sponsor-admin", msg: proposeMsg(upper, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "rotation to the same key", signer: "sponsor-admin", msg: proposeMsg(rotateToInService, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "quorum below a majority", signer: "sponsor-admin", msg: proposeMsg(types.Change{Params: &lowQuorum}, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "vote on proposal 0", signer: "sponsor-admin", msg: voteMsg(0, true), want: types.CodeInvalidMsg, atCheck: true},
		{name: "vote on an unknown proposal", signer: "sponsor-admin", msg: voteMsg(1, true), want: types.CodeUnknownProposal},
		{name: "add an existing organisation", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site1", types.OrgSite, nil), ""), want: types.CodeOrgExists},
		{name: "administrator account exists", signer: "sponsor-admin", msg: proposeMsg(reusedAdmin, ""), want: types.CodeAccountExists},
		{name: "administrator key in use", signer: "sponsor-admin", msg: proposeMsg(adminKeyInUse, ""), want: types.CodeKeyReused},
		{name: "administrator key is a validator key", signer: "sponsor-admin", msg: proposeMsg(adminIsValidator, ""), want: types.CodeKeyReused},
		{name: "an account added with a validator key", signer: "site1-admin", msg: addMsg("x1", "X", site1Key, types.RoleCoordinator), want: types.CodeKeyReused},
		{name: "validator key of another organisation", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site3", types.OrgSite, &types.Validator{PubKey: site1Key, Power: 10, NodeID: apptest.NodeID("site3")}), ""), want: types.CodeValidatorKeyUsed},
		{name: "validator key of an account", signer: "sponsor-admin", msg: proposeMsg(powerChange("site1", c.Person("site1-admin").PubKey(), 5), ""), want: types.CodeValidatorKeyUsed},
		{name: "validator key of the new administrator", signer: "sponsor-admin", msg: proposeMsg(sameKeys, ""), want: types.CodeValidatorKeyUsed},
		{name: "node ID of another organisation", signer: "sponsor-admin", msg: proposeMsg(takenNode, ""), want: types.CodeNodeIDTaken, logHas: []string{"site1"}},
		{name: "suspend an unknown organisation", signer: "sponsor-admin", msg: proposeMsg(suspend("nobody"), "x"), want: types.CodeUnknownOrg},
		{name: "reinstate an active organisation", signer: "sponsor-admin", msg: proposeMsg(reinstate("cro"), ""), want: types.CodeOrgStatus},
		{name: "validator of an unknown organisation", signer: "sponsor-admin", msg: proposeMsg(powerChange("nobody", site1Key, 5), ""), want: types.CodeUnknownOrg},
		{name: "retire a key that is not a validator", signer: "sponsor-admin", msg: proposeMsg(powerChange("site1", apptest.ValidatorKey("nobody"), 0), ""), want: types.CodeUnknownValidator},
		{name: "rotate a key that is not a validator", signer: "sponsor-admin", msg: proposeMsg(rotateUnknown, ""), want: types.CodeUnknownValidator},
		{name: "new validator without a node", signer: "sponsor-admin", msg: proposeMsg(noNode, ""), want: types.CodeInvalidMsg},
		{name: "power unchanged", signer: "sponsor-admin", msg: proposeMsg(types.Change{Validator: &types.ValidatorChange{Org: "site1", PubKey: site1Key, Power: 10}}, ""), want: types.CodeNoChange},
		{name: "rules unchanged", signer: "sponsor-admin", msg: proposeMsg(types.Change{Params: new(types.DefaultGovParams())}, ""), want: types.CodeNoChange},
		{name: "one organisation above a third", signer: "sponsor-admin", msg: proposeMsg(powerChange("site1", site1Key, 21), ""), want: types.CodePowerConcentration, logHas: []string{"site1 would hold 21 of 61"}},
		{name: "one organisation at a third", signer: "sponsor-admin", msg: proposeMsg(powerChange("site1", site1Key, 20), ""), want: types.CodeOK},
		{name: "remove the only regulator", signer: "sponsor-admin", msg: proposeMsg(remove("regulator"), "x"), want: types.CodeLastRegulator},
		{name: "suspend the only regulator", signer: "sponsor-admin", msg: proposeMsg(suspend("regulator"), "x"), want: types.CodeLastRegulator},
		{name: "propose", signer: "site2-admin", msg: proposeMsg(addOrgChange("site3", types.OrgSite, validator("site3", 10)), ""), want: types.CodeOK},
		{name: "add a second sponsor admin", signer: "sponsor-admin", msg: addMsg(sponsor2.ID, "Second", sponsor2.PubKey(), types.RoleAdmin), want: types.CodeOK},
		{name: "vote", signer: "sponsor-admin", msg: voteMsg(2, true), want: types.CodeOK},
		{name: "the same organisation again", signer: "sponsor-admin", msg: voteMsg(2, false), want: types.CodeOrgAlreadyVoted},
	})
	c.AddPerson(sponsor2)
	runSteps(t, c, []step{
		{name: "another admin of the same organisation", signer: sponsor2.ID, msg: voteMsg(2, true), want: types.CodeOrgAlreadyVoted},
	})
	if p := proposalAt(t, c, 2); len(p.Votes) != 1 || p.Votes[0].Org != "sponsor" || p.Status != types.ProposalOpen || p.Proposed.Signer != "site2-admin" {
		t.Errorf("proposal after refused votes: %+v", p)
	}
}

// TestProposalPassed follows a proposal that adds an organisation with
// its validator: open until the quorum, applied by the vote that reaches
// it, with the validator update in that block.
func TestProposalPassed(t *testing.T) {
	c := apptest.New(t)
	n := proposeOK(t, c, "sponsor-admin", addOrgChange("site3", types.OrgSite, validator("site3", 10)))
	p := proposalAt(t, c, n)
	if n != 1 || p.Status != types.ProposalOpen || p.Kind != types.ChangeAddOrg || p.Expires != c.Height+types.DefaultGovParams().ProposalTTL || p.Proposed.Org != "sponsor" {
		t.Fatalf("new proposal %+v (height %d)", p, c.Height)
	}
	c.MustDo("cro-admin", voteMsg(n, false))
	for _, org := range []string{"sponsor", "site1", "regulator"} {
		votes(t, c, n, org)
		if got := proposalAt(t, c, n).Status; got != types.ProposalOpen {
			t.Fatalf("after %s's yes: %s", org, got)
		}
		if len(c.Updates) != 0 {
			t.Fatalf("validator updates %v before the quorum", c.Updates)
		}
		absent(t, c, types.KeyOrg("site3"))
	}
	votes(t, c, n, "site2") // 4 yes of 5
	p = proposalAt(t, c, n)
	if p.Status != types.ProposalPassed || p.Applied != c.Height || p.Decided == nil || p.Decided.Org != "site2" || len(p.Votes) != 5 {
		t.Fatalf("passed proposal %+v", p)
	}
	if want := []abci.ValidatorUpdate{update(apptest.ValidatorKey("site3"), 10)}; !sameUpdates(c.Updates, want) {
		t.Errorf("validator updates %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)
	o := orgAt(t, c, "site3")
	if o.Status != types.OrgActive || o.Kind != types.OrgSite || len(o.Validators) != 1 || o.Validators[0].NodeID != apptest.NodeID("site3") {
		t.Errorf("added organisation %+v", o)
	}
	for _, k := range [][]byte{types.KeyValidatorKey(apptest.ValidatorKey("site3")), types.KeyNodeID(apptest.NodeID("site3"))} {
		if v := rawGet(t, c, k, 0); string(v) != "site3" {
			t.Errorf("%s = %q, want site3", k, v)
		}
	}
	var acct types.Account
	get(t, c, types.KeyAccount("site3-admin"), &acct)
	if acct.Org != "site3" || !acct.HasRole(types.RoleAdmin) || acct.Created.Signer != "site2-admin" {
		t.Errorf("first administrator %+v", acct)
	}
	// The new organisation's administrator signs, and its organisation votes.
	c.AddPerson(admin("site3"))
	c.MustDo("site3-admin", addMsg("site3-coordinator", "C", pub("site3-coordinator"), types.RoleCoordinator))
	n2 := proposeOK(t, c, "site3-admin", types.Change{Nodes: &types.NodesChange{Org: "site3", NodeIDs: []string{apptest.NodeID("site3-full")}}})
	votes(t, c, n2, "site3", "site1", "site2", "regulator")
	if got := proposalAt(t, c, n2).Status; got != types.ProposalOpen {
		t.Fatalf("4 yes of 6: %s", got)
	}
	votes(t, c, n2, "cro")
	if o := orgAt(t, c, "site3"); proposalAt(t, c, n2).Status != types.ProposalPassed || !slices.Equal(o.NodeIDs, []string{apptest.NodeID("site3-full")}) {
		t.Errorf("node IDs after the nodes change: %v", o.NodeIDs)
	}
	runSteps(t, c, []step{
		{name: "vote on a passed proposal", signer: "sponsor-admin", msg: voteMsg(n, true), want: types.CodeProposalClosed},
		{name: "add an organisation again", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site3", types.OrgSite, nil), ""), want: types.CodeOrgExists},
	})
}

// TestAddOrgNodeAccount: an organisation added with its node account,
// as add-org --member proposes it, gets that account with the role node
// alone; a node account that repeats the administrator's ID or key, or
// whose ID or key is taken, is refused and adds nothing.
func TestAddOrgNodeAccount(t *testing.T) {
	c := apptest.New(t)
	withNode := func(id string, key []byte) types.Change {
		ch := addOrgChange("site3", types.OrgSite, validator("site3", 10))
		ch.AddOrg.NodeAccount = &types.NewAccount{ID: id, Name: "Node of Org site3", PubKey: key}
		return ch
	}
	nodeKey := pub("site3-node")
	runSteps(t, c, []step{
		{name: "the administrator's ID", signer: "sponsor-admin", msg: proposeMsg(withNode("site3-admin", nodeKey), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "the administrator's key", signer: "sponsor-admin", msg: proposeMsg(withNode("site3-node", admin("site3").PubKey()), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "a short key", signer: "sponsor-admin", msg: proposeMsg(withNode("site3-node", []byte{1, 2}), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "an existing account", signer: "sponsor-admin", msg: proposeMsg(withNode("site1-admin", nodeKey), ""), want: types.CodeAccountExists},
		{name: "a key in use", signer: "sponsor-admin", msg: proposeMsg(withNode("site3-node", c.Person("sponsor-admin").PubKey()), ""), want: types.CodeKeyReused},
		{name: "its validator's key", signer: "sponsor-admin", msg: proposeMsg(withNode("site3-node", apptest.ValidatorKey("site3")), ""), want: types.CodeValidatorKeyUsed},
	})
	if lastProposal(t, c) != 0 {
		t.Fatalf("refused node accounts left proposal %d", lastProposal(t, c))
	}
	ch := withNode("site3-node", nodeKey)
	if s := ch.String(); !strings.Contains(s, "node account site3-node") {
		t.Errorf("the change reads %q", s)
	}
	n := proposeOK(t, c, "sponsor-admin", ch)
	votes(t, c, n, "sponsor", "site1", "site2", "regulator")
	if p := proposalAt(t, c, n); p.Status != types.ProposalPassed {
		t.Fatalf("proposal %+v", p)
	}
	var na types.Account
	get(t, c, types.KeyAccount("site3-node"), &na)
	if na.Org != "site3" || !slices.Equal(na.Roles, []types.Role{types.RoleNode}) || !bytes.Equal(na.PubKey, nodeKey) || na.Name != "Node of Org site3" || na.Status != types.AccountActive {
		t.Errorf("node account %+v", na)
	}
	var ad types.Account
	get(t, c, types.KeyAccount("site3-admin"), &ad)
	if !slices.Equal(ad.Roles, []types.Role{types.RoleAdmin}) {
		t.Errorf("first administrator %+v", ad)
	}
	if v := rawGet(t, c, types.KeyPubKey(nodeKey), 0); string(v) != "site3-node" {
		t.Errorf("the node account's key is indexed as %q", v)
	}
}

// TestQuorum: a change passes with more than two thirds of the voting
// organisations, and never on sponsors' votes alone.
func TestQuorum(t *testing.T) {
	gp := types.DefaultGovParams()
	for _, tc := range []struct{ voting, need int }{{3, 3}, {4, 3}, {5, 4}, {7, 5}} {
		t.Run(fmt.Sprint(tc.voting, " voting organisations"), func(t *testing.T) {
			specs := []orgSpec{{"sponsor", types.OrgSponsor, 10}, {"regulator", types.OrgRegulator, 10}}
			for i := 2; i < tc.voting; i++ {
				specs = append(specs, orgSpec{fmt.Sprintf("site%d", i), types.OrgSite, 10})
			}
			specs = append(specs, orgSpec{"cro", types.OrgCRO, 0})
			c := govChain(t, gp, specs...)
			n := proposeOK(t, c, "cro-admin", addOrgChange("site-new", types.OrgSite, nil))
			runSteps(t, c, []step{{name: "an organisation without a validator votes", signer: "cro-admin", msg: voteMsg(n, true), want: types.CodeNotVotingOrg, logHas: []string{"the voting organisations are regulator, site2"}}})
			for i, s := range specs[:tc.voting] {
				votes(t, c, n, s.id)
				want := types.ProposalOpen
				if i+1 >= tc.need {
					want = types.ProposalPassed
				}
				if got := proposalAt(t, c, n).Status; got != want {
					t.Fatalf("after %d yes of %d: %s, want %s", i+1, tc.voting, got, want)
				}
				if want == types.ProposalPassed {
					break
				}
			}
		})
	}

	t.Run("sponsors alone", func(t *testing.T) {
		c := govChain(t, gp, orgSpec{"sp1", types.OrgSponsor, 10}, orgSpec{"sp2", types.OrgSponsor, 10}, orgSpec{"sp3", types.OrgSponsor, 10}, orgSpec{"site", types.OrgSite, 10})
		n := proposeOK(t, c, "sp1-admin", addOrgChange("site-a", types.OrgSite, nil))
		m := proposeOK(t, c, "sp1-admin", addOrgChange("site-b", types.OrgSite, nil))
		votes(t, c, n, "sp1", "sp2", "sp3")
		votes(t, c, m, "sp1", "sp2", "sp3")
		if p := proposalAt(t, c, n); p.Status != types.ProposalOpen {
			t.Fatalf("three sponsors of four voting organisations passed it: %s", p.Status)
		}
		votes(t, c, n, "site")
		if p := proposalAt(t, c, n); p.Status != types.ProposalPassed {
			t.Fatalf("with the site's yes: %s", p.Status)
		}
		c.MustDo("site-admin", voteMsg(m, false))
		if p := proposalAt(t, c, m); p.Status != types.ProposalRejected {
			t.Fatalf("the only non-sponsor said no: %s, want rejected", p.Status)
		}
	})
}

func TestQuorumArithmetic(t *testing.T) {
	gp := types.DefaultGovParams()
	for _, tc := range []struct {
		name              string
		t                 types.Tally
		passes, unreached bool
	}{
		{"3 of 3", types.Tally{Voting: 3, Yes: 3, NonSponsorYes: true}, true, false},
		{"2 of 3", types.Tally{Voting: 3, Yes: 2, NonSponsorYes: true, NonSponsorOpen: true}, false, false},
		{"1 no of 3", types.Tally{Voting: 3, Yes: 1, No: 1, NonSponsorOpen: true}, false, true},
		{"3 of 4", types.Tally{Voting: 4, Yes: 3, NonSponsorYes: true}, true, false},
		{"2 no of 4", types.Tally{Voting: 4, No: 2, NonSponsorOpen: true}, false, true},
		{"1 no of 4", types.Tally{Voting: 4, No: 1, NonSponsorOpen: true}, false, false},
		{"4 of 5", types.Tally{Voting: 5, Yes: 4, NonSponsorYes: true}, true, false},
		{"3 of 5", types.Tally{Voting: 5, Yes: 3, NonSponsorYes: true, NonSponsorOpen: true}, false, false},
		{"2 no of 5", types.Tally{Voting: 5, No: 2, NonSponsorOpen: true}, false, true},
		{"5 of 7", types.Tally{Voting: 7, Yes: 5, NonSponsorYes: true}, true, false},
		{"4 of 7", types.Tally{Voting: 7, Yes: 4, NonSponsorYes: true, NonSponsorOpen: true}, false, false},
		{"3 no of 7", types.Tally{Voting: 7, No: 3, NonSponsorOpen: true}, false, true},
		{"2 no of 7", types.Tally{Voting: 7, No: 2, NonSponsorOpen: true}, false, false},
		{"sponsors only, a non-sponsor yet to vote", types.Tally{Voting: 4, Yes: 3, NonSponsorOpen: true}, false, false},
		{"sponsors only, every non-sponsor said no", types.Tally{Voting: 4, Yes: 3, No: 1}, false, true},
		{"1 of 1", types.Tally{Voting: 1, Yes: 1, NonSponsorYes: true}, true, false},
	} {
		if got := gp.Passes(tc.t); got != tc.passes {
			t.Errorf("%s: passes %v", tc.name, got)
		}
		if got := gp.Unreachable(tc.t); got != tc.unreached {
			t.Errorf("%s: unreachable %v", tc.name, got)
		}
	}
	half := types.GovParams{QuorumNum: 1, QuorumDen: 2, ProposalTTL: 10}
	if !half.Passes(types.Tally{Voting: 5, Yes: 3}) || half.Passes(types.Tally{Voting: 4, Yes: 2}) || !half.Unreachable(types.Tally{Voting: 4, No: 2}) {
		t.Error("a simple majority without the non-sponsor rule")
	}
}

// TestProposalRejectedAndExpired: no votes that make the quorum
// unreachable reject a proposal; a proposal nobody decides expires.
func TestProposalRejectedAndExpired(t *testing.T) {
	gp := types.DefaultGovParams()
	gp.ProposalTTL = 3
	c := govChain(t, gp, orgSpec{"sponsor", types.OrgSponsor, 10}, orgSpec{"site1", types.OrgSite, 10}, orgSpec{"site2", types.OrgSite, 10},
		orgSpec{"cro", types.OrgCRO, 10}, orgSpec{"regulator", types.OrgRegulator, 10})
	n := proposeOK(t, c, "sponsor-admin", addOrgChange("site3", types.OrgSite, nil))
	votes(t, c, n, "sponsor")
	c.MustDo("site1-admin", voteMsg(n, false))
	if got := proposalAt(t, c, n).Status; got != types.ProposalOpen {
		t.Fatalf("after one no of five: %s", got)
	}
	c.MustDo("site2-admin", voteMsg(n, false))
	p := proposalAt(t, c, n)
	if p.Status != types.ProposalRejected || p.Decided == nil || p.Decided.Height != c.Height || p.Applied != 0 {
		t.Fatalf("after two no of five: %+v", p)
	}
	absent(t, c, types.KeyOrg("site3"))
	runSteps(t, c, []step{{name: "vote on a rejected proposal", signer: "regulator-admin", msg: voteMsg(n, true), want: types.CodeProposalClosed}})

	m := proposeOK(t, c, "sponsor-admin", addOrgChange("site4", types.OrgSite, nil))
	p = proposalAt(t, c, m)
	if p.Expires != c.Height+3 {
		t.Fatalf("expires at %d, proposed at %d", p.Expires, c.Height)
	}
	votes(t, c, m, "sponsor", "site1")
	for c.Height < p.Expires {
		c.Block()
	}
	if got := p.StatusAt(c.Height + 1); got != types.ProposalExpired {
		t.Errorf("status at %d: %s", c.Height+1, got)
	}
	runSteps(t, c, []step{{name: "vote after expiry", signer: "site2-admin", msg: voteMsg(m, true), want: types.CodeProposalExpired, logHas: []string{fmt.Sprintf("expired at height %d", p.Expires)}}})
	if got := proposalAt(t, c, m); got.Status != types.ProposalOpen || len(got.Votes) != 2 {
		t.Errorf("an expired proposal changed: %+v", got)
	}
}

// TestRevalidationAtApply: the vote that reaches the quorum re-checks
// the change against the state then; refused, it changes nothing, and
// the organisation votes again once the state allows.
func TestRevalidationAtApply(t *testing.T) {
	c := apptest.New(t)
	add := proposeOK(t, c, "sponsor-admin", addOrgChange("regulator2", types.OrgRegulator, nil))
	votes(t, c, add, "sponsor", "site1", "site2", "regulator")
	c.AddPerson(admin("regulator2"))
	first := proposeOK(t, c, "sponsor-admin", remove("regulator"))
	second := proposeOK(t, c, "sponsor-admin", remove("regulator2"))
	votes(t, c, first, "sponsor", "site1", "site2")
	votes(t, c, second, "sponsor", "site1", "site2", "cro")
	if orgAt(t, c, "regulator2").Status != types.OrgRemoved {
		t.Fatal("regulator2 not removed")
	}
	runSteps(t, c, []step{{name: "the deciding vote would remove the last regulator", signer: "cro-admin", msg: voteMsg(first, true), want: types.CodeLastRegulator,
		logHas: []string{fmt.Sprintf("proposal %d reached its quorum but cannot be applied now", first)}}})
	if p := proposalAt(t, c, first); p.Status != types.ProposalOpen || len(p.Votes) != 3 {
		t.Fatalf("refused deciding vote left %+v", p)
	}
	third := proposeOK(t, c, "sponsor-admin", addOrgChange("regulator3", types.OrgRegulator, nil))
	votes(t, c, third, "sponsor", "site1", "site2", "regulator")
	votes(t, c, first, "cro")
	if p := proposalAt(t, c, first); p.Status != types.ProposalPassed || p.Decided.Org != "cro" {
		t.Fatalf("the vote cast again: %+v", p)
	}
	if want := []abci.ValidatorUpdate{update(apptest.ValidatorKey("regulator"), 0)}; !sameUpdates(c.Updates, want) {
		t.Errorf("removal's validator updates %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)
	runRaw(t, c, "a removed organisation's account", c.Tx("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1)), types.CodeOrgRemoved, true)
	runSteps(t, c, []step{
		{name: "reinstate a removed organisation", signer: "sponsor-admin", msg: proposeMsg(reinstate("regulator"), ""), want: types.CodeOrgStatus},
		{name: "add a removed organisation again", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("regulator", types.OrgRegulator, nil), ""), want: types.CodeOrgExists},
		{name: "validators of a removed organisation", signer: "sponsor-admin", msg: proposeMsg(powerChange("regulator", apptest.ValidatorKey("regulator"), 5), ""), want: types.CodeOrgStatus},
		{name: "a removed organisation's validator key", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site9", types.OrgSite, &types.Validator{PubKey: apptest.ValidatorKey("regulator"), Power: 10, NodeID: apptest.NodeID("site9")}), ""), want: types.CodeValidatorKeyUsed},
		{name: "a removed organisation's node ID", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site9", types.OrgSite, &types.Validator{PubKey: apptest.ValidatorKey("site9"), Power: 10, NodeID: apptest.NodeID("regulator")}), ""), want: types.CodeNodeIDTaken},
	})
}

// TestSuspension: a suspended organisation's accounts cannot sign and its
// validators leave the set in the same block; its history stays, and it
// comes back when reinstated.
func TestSuspension(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	n := proposeOK(t, c, "regulator-admin", suspend("site1"))
	votes(t, c, n, "sponsor", "site2", "regulator", "cro")
	if want := []abci.ValidatorUpdate{update(apptest.ValidatorKey("site1"), 0)}; !sameUpdates(c.Updates, want) {
		t.Fatalf("suspension's validator updates %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)
	if o := orgAt(t, c, "site1"); o.Status != types.OrgSuspended || o.Validators[0].Retired != 0 || o.Power() != 0 {
		t.Errorf("suspended organisation %+v", o)
	}
	runRaw(t, c, "a suspended organisation's coordinator", c.Tx("site1-coordinator", apptest.EnrollMsg("S1-002", "site1")), types.CodeOrgSuspended, true)
	runRaw(t, c, "a suspended organisation's admin votes", c.Tx("site1-admin", voteMsg(n, true)), types.CodeOrgSuspended, true)
	var s types.Subject
	get(t, c, types.KeySubject(apptest.StudyID, "S1-001"), &s)
	if s.Enrolled.Signer != "site1-coordinator" || s.Enrolled.Org != "site1" {
		t.Errorf("history of a suspended organisation: %+v", s.Enrolled)
	}
	m := proposeOK(t, c, "sponsor-admin", reinstate("site1"))
	votes(t, c, m, "site2", "regulator")
	if got := proposalAt(t, c, m).Status; got != types.ProposalOpen {
		t.Fatalf("2 yes of 4: %s", got)
	}
	votes(t, c, m, "cro")
	if want := []abci.ValidatorUpdate{update(apptest.ValidatorKey("site1"), 10)}; !sameUpdates(c.Updates, want) {
		t.Errorf("reinstatement's validator updates %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
}

// TestPowerConcentration: a validator set in which one organisation holds
// more than a third of the power is refused unless the change lowers the
// largest share, so that a one-validator consortium grows; a change that
// moves no power between organisations (a rotation) is not judged.
func TestPowerConcentration(t *testing.T) {
	gp := types.DefaultGovParams()
	t.Run("one validator grows", func(t *testing.T) {
		// The one-machine demo's layout: the regulator runs the only validator.
		c := govChain(t, gp, orgSpec{"sponsor", types.OrgSponsor, 0}, orgSpec{"regulator", types.OrgRegulator, 10}, orgSpec{"site1", types.OrgSite, 0})
		runSteps(t, c, []step{
			{name: "no validator left", signer: "regulator-admin", msg: proposeMsg(powerChange("regulator", apptest.ValidatorKey("regulator"), 0), ""), want: types.CodeNoValidatorPower},
			{name: "a second validator of the same organisation", signer: "regulator-admin", msg: proposeMsg(powerChange("regulator", apptest.ValidatorKey("regulator-2"), 10), ""), want: types.CodePowerConcentration},
		})
		rotate := proposeOK(t, c, "regulator-admin", types.Change{Validator: &types.ValidatorChange{Org: "regulator", PubKey: apptest.ValidatorKey("regulator-new"), Replaces: apptest.ValidatorKey("regulator")}})
		votes(t, c, rotate, "regulator")
		if got := proposalAt(t, c, rotate).Status; got != types.ProposalPassed {
			t.Fatalf("rotating the only validator's key: %s", got)
		}
		checkValidators(t, c)
		n := proposeOK(t, c, "sponsor-admin", addOrgChange("site2", types.OrgSite, validator("site2", 10)))
		votes(t, c, n, "regulator")
		if got := proposalAt(t, c, n).Status; got != types.ProposalPassed {
			t.Fatalf("1 -> 2 organisations: %s", got)
		}
		c.AddPerson(admin("site2"))
		m := proposeOK(t, c, "site2-admin", powerChange("site1", apptest.ValidatorKey("site1"), 10))
		votes(t, c, m, "regulator", "site2")
		if got := proposalAt(t, c, m).Status; got != types.ProposalPassed {
			t.Fatalf("2 -> 3 equal organisations: %s", got)
		}
		runSteps(t, c, []step{
			{name: "3 -> 2 organisations", signer: "sponsor-admin", msg: proposeMsg(suspend("site2"), "x"), want: types.CodePowerConcentration},
			{name: "one of 3 equal raised", signer: "sponsor-admin", msg: proposeMsg(powerChange("site2", apptest.ValidatorKey("site2"), 11), ""), want: types.CodePowerConcentration},
			{name: "one of 3 equal lowered: another then holds more than a third", signer: "sponsor-admin", msg: proposeMsg(powerChange("site2", apptest.ValidatorKey("site2"), 9), ""), want: types.CodePowerConcentration},
		})
		checkValidators(t, c)
	})
	t.Run("4 equal", func(t *testing.T) {
		c := govChain(t, gp, orgSpec{"sponsor", types.OrgSponsor, 10}, orgSpec{"site1", types.OrgSite, 10}, orgSpec{"cro", types.OrgCRO, 10}, orgSpec{"regulator", types.OrgRegulator, 10})
		runSteps(t, c, []step{
			{name: "one raised to 20", signer: "sponsor-admin", msg: proposeMsg(powerChange("cro", apptest.ValidatorKey("cro"), 20), ""), want: types.CodePowerConcentration},
			{name: "one raised to 13", signer: "sponsor-admin", msg: proposeMsg(powerChange("cro", apptest.ValidatorKey("cro"), 13), ""), want: types.CodeOK},
		})
		n := proposeOK(t, c, "sponsor-admin", suspend("cro"))
		votes(t, c, n, "sponsor", "site1", "regulator")
		if got := proposalAt(t, c, n).Status; got != types.ProposalPassed {
			t.Fatalf("4 -> 3 equal organisations: %s", got)
		}
		runSteps(t, c, []step{{name: "3 -> 2", signer: "sponsor-admin", msg: proposeMsg(remove("site1"), "x"), want: types.CodePowerConcentration}})
	})
	t.Run("non-sponsor voter", func(t *testing.T) {
		c := govChain(t, gp, orgSpec{"sp1", types.OrgSponsor, 10}, orgSpec{"sp2", types.OrgSponsor, 10}, orgSpec{"sp3", types.OrgSponsor, 10}, orgSpec{"site", types.OrgSite, 10})
		runSteps(t, c, []step{
			{name: "suspend the only non-sponsor voter", signer: "sp1-admin", msg: proposeMsg(suspend("site"), "x"), want: types.CodeNoNonSponsorVoter},
			{name: "retire its validator", signer: "sp1-admin", msg: proposeMsg(powerChange("site", apptest.ValidatorKey("site"), 0), ""), want: types.CodeNoNonSponsorVoter},
		})
		off := types.DefaultGovParams()
		off.NonSponsorVote = false
		c = govChain(t, off, orgSpec{"sp1", types.OrgSponsor, 10}, orgSpec{"sp2", types.OrgSponsor, 10}, orgSpec{"sp3", types.OrgSponsor, 10})
		runSteps(t, c, []step{{name: "require a non-sponsor yes with none", signer: "sp1-admin", msg: proposeMsg(types.Change{Params: new(types.DefaultGovParams())}, ""), want: types.CodeNoNonSponsorVoter}})
	})
}

// TestValidatorKeys: rotation retires the old key for good; no key ever
// used by a validator or an account comes back.
func TestValidatorKeys(t *testing.T) {
	c := apptest.New(t)
	old, nw := apptest.ValidatorKey("site2"), apptest.ValidatorKey("site2-rotated")
	n := proposeOK(t, c, "site2-admin", types.Change{Validator: &types.ValidatorChange{Org: "site2", PubKey: nw, Replaces: old}})
	votes(t, c, n, "sponsor", "site1", "site2", "regulator")
	if want := sortedUpdates(update(old, 0), update(nw, 10)); !sameUpdates(c.Updates, want) {
		t.Fatalf("rotation's validator updates %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)
	o := orgAt(t, c, "site2")
	if len(o.Validators) != 2 || o.Validators[0].Retired != c.Height || o.Validators[1].Retired != 0 || o.Validators[1].Power != 10 || o.Validators[1].NodeID != apptest.NodeID("site2") {
		t.Fatalf("validators after rotation %+v", o.Validators)
	}
	runSteps(t, c, []step{
		{name: "rotate back", signer: "site2-admin", msg: proposeMsg(types.Change{Validator: &types.ValidatorChange{Org: "site2", PubKey: old, Replaces: nw}}, ""), want: types.CodeValidatorKeyUsed, logHas: []string{"retired"}},
		{name: "re-weight a retired key", signer: "site2-admin", msg: proposeMsg(powerChange("site2", old, 5), ""), want: types.CodeValidatorKeyUsed},
		{name: "a retired key for another organisation", signer: "sponsor-admin", msg: proposeMsg(addOrgChange("site9", types.OrgSite, &types.Validator{PubKey: old, Power: 10, NodeID: apptest.NodeID("site9")}), ""), want: types.CodeValidatorKeyUsed},
		{name: "a retired key as an account key", signer: "site1-admin", msg: addMsg("x9", "X", old, types.RoleCoordinator), want: types.CodeKeyReused},
		{name: "the node of another organisation's validator", signer: "sponsor-admin", msg: proposeMsg(types.Change{Nodes: &types.NodesChange{Org: "sponsor", NodeIDs: []string{apptest.NodeID("site2")}}}, ""), want: types.CodeNodeIDTaken},
	})
}

// TestValidatorUpdatesMerged: the updates of a block are the changes of
// every proposal applied in it, merged per key, in key order; a key that
// leaves and comes back within the block is not reported.
func TestValidatorUpdatesMerged(t *testing.T) {
	c := apptest.New(t)
	site1, cro := apptest.ValidatorKey("site1"), apptest.ValidatorKey("cro")
	up := proposeOK(t, c, "sponsor-admin", powerChange("site1", site1, 15))
	down := proposeOK(t, c, "sponsor-admin", powerChange("cro", cro, 5))
	votes(t, c, up, "sponsor", "site1", "site2")
	votes(t, c, down, "sponsor", "site1", "site2")
	res := c.Block(c.Tx("regulator-admin", voteMsg(up, true)), c.Tx("regulator-admin", voteMsg(down, true)))
	for i, r := range res {
		if r.Code != 0 {
			t.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	if want := sortedUpdates(update(site1, 15), update(cro, 5)); !sameUpdates(c.Updates, want) {
		t.Fatalf("two changes in a block: %v, want %v", c.Updates, want)
	}
	checkValidators(t, c)

	// site2 suspended; in one block it is reinstated, then suspended again.
	c = apptest.New(t)
	again := proposeOK(t, c, "sponsor-admin", suspend("site2"))
	votes(t, c, again, "sponsor", "site1", "cro")
	first := proposeOK(t, c, "sponsor-admin", suspend("site2"))
	votes(t, c, first, "sponsor", "site1", "regulator", "cro")
	if orgAt(t, c, "site2").Status != types.OrgSuspended {
		t.Fatal("site2 not suspended")
	}
	back := proposeOK(t, c, "sponsor-admin", reinstate("site2"))
	votes(t, c, back, "sponsor", "site1")
	res = c.Block(c.Tx("regulator-admin", voteMsg(back, true)), c.Tx("regulator-admin", voteMsg(again, true)))
	for i, r := range res {
		if r.Code != 0 {
			t.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	if proposalAt(t, c, back).Status != types.ProposalPassed || proposalAt(t, c, again).Status != types.ProposalPassed || orgAt(t, c, "site2").Status != types.OrgSuspended {
		t.Fatal("the block did not reinstate and suspend site2")
	}
	if len(c.Updates) != 0 {
		t.Errorf("a validator that left and came back within the block: updates %v", c.Updates)
	}
	checkValidators(t, c)
}

// TestValidatorUpdatesOptimistic: an execution ProcessProposal started
// carries the block's validator updates, and a discarded one leaves none.
func TestValidatorUpdatesOptimistic(t *testing.T) {
	a, d := apptest.New(t), apptest.New(t)
	d.Optimistic = true
	site1 := apptest.ValidatorKey("site1")
	for _, c := range []*apptest.Chain{a, d} {
		n := proposeOK(t, c, "sponsor-admin", powerChange("site1", site1, 12))
		votes(t, c, n, "sponsor", "site1", "site2")
	}
	deciding := a.Tx("regulator-admin", voteMsg(1, true))
	d.Propose(deciding, d.Tx("cro-admin", voteMsg(1, false)))
	ra, rd := a.Block(deciding), d.Block(deciding)
	if ra[0].Code != 0 || rd[0].Code != 0 {
		t.Fatalf("deciding vote: %d %s / %d %s", ra[0].Code, ra[0].Log, rd[0].Code, rd[0].Log)
	}
	want := []abci.ValidatorUpdate{update(site1, 12)}
	if !sameUpdates(a.Updates, want) || !sameUpdates(d.Updates, want) {
		t.Fatalf("updates %v and (optimistic) %v, want %v", a.Updates, d.Updates, want)
	}
	if !bytes.Equal(a.AppHash, d.AppHash) {
		t.Fatal("app hashes differ")
	}
	// A proposal that changes the set loses its round; the decided block
	// changes nothing.
	n := proposeOK(t, d, "sponsor-admin", powerChange("cro", apptest.ValidatorKey("cro"), 8))
	votes(t, d, n, "sponsor", "site1", "site2")
	d.Propose(d.Tx("regulator-admin", voteMsg(n, true)))
	d.Block()
	if len(d.Updates) != 0 {
		t.Errorf("a discarded execution's updates reached the decided block: %v", d.Updates)
	}
	checkValidators(t, d)
}

// TestEthicsCommittee: an ethics committee grants admin and auditor, and
// approves amendments like a regulator, by default.
func TestEthicsCommittee(t *testing.T) {
	c := apptest.New(t)
	n := proposeOK(t, c, "regulator-admin", addOrgChange("irb", types.OrgEthics, nil))
	votes(t, c, n, "sponsor", "site1", "site2", "regulator")
	c.AddPerson(admin("irb"))
	reviewer := person("irb-reviewer", "irb", types.RoleAuditor)
	runSteps(t, c, []step{
		{name: "ethics data manager", signer: "irb-admin", msg: addMsg("irb-dm", "D", pub("irb-dm"), types.RoleDataManager), want: types.CodeInvalidRole},
		{name: "ethics reviewer", signer: "irb-admin", msg: addMsg(reviewer.ID, "R", reviewer.PubKey(), types.RoleAuditor), want: types.CodeOK},
	})
	c.AddPerson(reviewer)
	c.SetupStudy()
	var s types.Study
	get(t, c, types.KeyStudy(apptest.StudyID), &s)
	if !slices.Equal(s.Approvers, []string{"irb", "regulator"}) || !slices.Equal(s.LockApprovers, []string{"sponsor", "regulator"}) {
		t.Fatalf("approvers %v, lock approvers %v", s.Approvers, s.LockApprovers)
	}
	c.MustDo("sponsor-dm", apptest.AmendMsg(v2(t, apptest.StudyID, "2.0"), "safety"))
	c.MustDo(reviewer.ID, apptest.ApproveMsg(apptest.StudyID, 1))
	c.MustDo("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1))
	get(t, c, types.KeyStudy(apptest.StudyID), &s)
	if s.Current != 2 {
		t.Errorf("amendment approved by the ethics committee and the regulator: current version %d", s.Current)
	}
}

// TestInitChainChecksValidators: CometBFT's genesis validators must be
// exactly the organisations' validators.
func TestInitChainChecksValidators(t *testing.T) {
	g := apptest.DefaultGenesis()
	good := apptest.GenesisValidators(&g)
	secp := abci.ValidatorUpdate{PubKey: cmtproto.PublicKey{Sum: &cmtproto.PublicKey_Secp256K1{Secp256K1: make([]byte, 33)}}, Power: 10}
	for name, tc := range map[string]struct {
		vals []abci.ValidatorUpdate
		want string
	}{
		"a validator missing":  {good[1:], "genesis.json's validators do not include it"},
		"an extra validator":   {append(slices.Clone(good), update(apptest.ValidatorKey("x"), 10)), "is not declared by any organisation"},
		"another power":        {append([]abci.ValidatorUpdate{update(good[0].PubKey.GetEd25519(), 11)}, good[1:]...), "has power 11 but its organisation declares power 10"},
		"a validator twice":    {append(slices.Clone(good), good[0]), "twice"},
		"not an ed25519 key":   {append(slices.Clone(good), secp), "not an ed25519 key"},
		"no validators at all": {nil, "do not include it"},
	} {
		c := apptest.Open(t, t.TempDir())
		_, err := c.App.InitChain(context.Background(), &abci.RequestInitChain{Time: apptest.Genesis, ChainId: apptest.ChainID, AppStateBytes: apptest.GenesisBytes(), Validators: tc.vals})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	c := apptest.Open(t, t.TempDir())
	slices.Reverse(good)
	if _, err := c.App.InitChain(context.Background(), &abci.RequestInitChain{Time: apptest.Genesis, ChainId: apptest.ChainID, AppStateBytes: apptest.GenesisBytes(), Validators: good}); err != nil {
		t.Errorf("the same validators in another order: %v", err)
	}
}
