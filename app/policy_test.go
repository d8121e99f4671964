package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// policyChain builds the policy consortium's ledger: its studies
// (apptest.PolicySteps), then at site1's subject S1-001 a form entered and
// corrected, a query, SDV, an e-signature, a deviation (its baseline six
// weeks after its screening), at site2's S2-001 a form; an
// amendment of study A, freezes and a pending database lock. site1's
// administrator asked to rotate the coordinator's key, and a consortium
// change is proposed.
func policyChain(t *testing.T, params types.Params) *apptest.Chain {
	t.Helper()
	g, people := apptest.PolicyGenesis()
	g.Params = params
	c := apptest.NewWith(t, g)
	for _, p := range people {
		c.AddPerson(p)
	}
	for _, s := range apptest.PolicySteps() {
		c.MustDo(s.Signer, s.Msg)
	}
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(128, 84)))
	c.MustDo("sponsor-dm", apptest.SetLabRangesMsg(types.LabRanges{Ranges: []types.LabRange{{Item: "LB.PLT", Low: "100", High: "200"}}}, "central laboratory ranges"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "LB"), apptest.LB()))
	// The baseline six weeks after screening: screening's visit is out of
	// its window, a deviation.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VSOn("2026-03-02", 128, 84)))
	if !c.Get(types.KeyDeviation(vs), &types.Deviation{}) {
		t.Fatal("no deviation recorded for S1-001's screening")
	}
	c.MustDo("site1-investigator", apptest.AssessLabMsg(apptest.FormKey("S1-001", "SCR", 1, "LB"), "LB.PLT", 0, 1, false, "not clinically significant"))
	c.MustDo("site2-coordinator", apptest.SubmitMsg(apptest.FormKey("S2-001", "SCR", 1, "VS"), apptest.VS(120, 80)))
	// S1-001 randomised in a registered list and unblinded; site2 has a
	// list too.
	alloc := exampleList(t, 6, "site1", "site2")
	for _, s := range []string{s1Low, s2Low} {
		c.MustDo("sponsor-stat", apptest.RegisterAllocationsMsg(s, 1, commitments(alloc, s, 1, 6)...))
	}
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "DM"), apptest.DM()))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "IE"), apptest.IE(true)))
	c.MustDo("site1-coordinator", apptest.RandomizeMsg("S1-001"))
	c.MustDo("site1-investigator", apptest.UnblindMsg("S1-001", "emergency"))
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(vs, "VS.HR", "Source shows 78 bpm"))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "78")))
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "VS", ""))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	amended := apptest.Example()
	amended.Study.Version = "1.1"
	c.MustDo("sponsor-dm", apptest.AmendMsg(amended, "administrative"))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Subject: "S1-001"}, ""))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Site: "site2"}, ""))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, types.Scope{Study: study, Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "LB"}, ""))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindLock, types.Scope{Study: study}, ""))

	c.MustDo("site1-admin", rotateMsg("site1-coordinator", (&apptest.Person{Key: apptest.KeyFor("coordinator-next")}).PubKey()))
	c.MustDo("sponsor-admin", proposeMsg(types.Change{Nodes: &types.NodesChange{Org: "sponsor", NodeIDs: []string{apptest.NodeID("sponsor-full")}}}, ""))
	return c
}

// Who sees a record, by reader groups.
const (
	studyA  = apptest.PartiesA
	wholeA  = apptest.WholeA
	partyB  = apptest.PartiesB
	members = apptest.Members
	studyB  = apptest.StudyB
)

// policyCells is the read policy as a table: each record of the policy
// chain and the readers that see it (all others are refused).
func policyCells(t *testing.T, c *apptest.Chain) []struct{ key, sees string } {
	t.Helper()
	s1vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	nonces := list(t, c, types.PrefixNonceList, 0, 1)
	if len(nonces) == 0 {
		t.Fatal("no nonce on the ledger")
	}
	return []struct{ key, sees string }{
		// The consortium.
		{string(types.KeyOrg("site1")), members},
		{string(types.KeyValidatorKey(apptest.ValidatorKey("site1"))), members},
		{string(types.KeyNodeID(apptest.NodeID("site1"))), members},
		{string(types.KeyProposal(1)), members},
		{string(types.KeyGovernance), members},
		{types.KeyParams, members},
		{types.KeyChainID, members},
		{string(types.KeyAccessHead(apptest.NodeID("site1"), 1)), members},
		// People.
		{string(types.KeyPubKey(c.Person("site1-coordinator").PubKey())), members},
		{string(types.KeyAccount("site1-coordinator")), studyA},
		{string(types.KeyAccountChange("site1-coordinator", 1)), studyA},
		{string(types.KeyAccount("site2-admin")), studyA},
		{string(types.KeyAccount("sponsor2-dm")), partyB},
		{string(types.KeyAccount("site3-coordinator")), partyB},
		{string(types.KeyAccount("cro2-monitor")), "cro2"},
		{string(types.KeyAccount("regulator2-auditor")), partyB},
		{string(types.KeyAccount("nobody-at-all")), ""},
		{string(types.KeyKeyRotation("site1-coordinator")), studyA},
		{string(types.KeyKeyRotation("sponsor2-dm")), partyB},
		// Study A, its sites and delegations.
		{string(types.KeyStudy(study)), studyA},
		{string(types.KeyProtocol(study, 1)), studyA},
		{string(types.KeyAmendment(study, 1)), studyA},
		{string(types.KeyDBLock(study)), studyA},
		{string(types.KeyLabRanges(study, 1)), studyA},
		// The allocation lists: the whole study's readers, not the sites
		// (not even the stratum's own); a subject's allocation: the
		// subject's readers.
		{string(types.KeyRandStratum(study, s1Low)), wholeA},
		{string(types.KeyRandStratum(study, s2Low)), wholeA},
		{string(types.KeyRandEntry(study, s1Low, 1)), wholeA},
		{string(types.KeyRandEntry(study, s2Low, 1)), wholeA},
		{string(types.KeyRandEntry(study, s1High, 1)), wholeA},
		{string(types.KeyAllocation(study, "S1-001")), wholeA + " s1"},
		{string(types.KeyAllocation(study, "S2-001")), wholeA + " s2"},
		{string(types.KeyAllocation(studyB, "S3-001")), partyB},
		{string(types.KeyLock(types.Scope{Study: study})), studyA},
		{string(types.KeySite(study, "site1")), wholeA + " s1"},
		{string(types.KeySite(study, "site2")), wholeA + " s2"},
		{string(types.KeySite(study, "site3")), wholeA},
		{string(types.KeyLock(types.Scope{Study: study, Site: "site2"})), wholeA + " s2"},
		{string(types.KeyStudyDelegation(study, "cro")), wholeA},
		{string(types.KeyStudyDelegation(study, "cro2")), wholeA},
		{string(types.KeySiteDelegation(study, "site1", "site1-coordinator")), wholeA + " s1"},
		{string(types.KeySiteDelegation(study, "site2", "site2-coordinator")), wholeA + " s2"},
		// Study A's subjects: S1-001 at site1, S2-001 at site2, none at site3.
		{string(types.KeySubject(study, "S1-001")), wholeA + " s1"},
		{string(types.KeyForm(s1vs)), wholeA + " s1"},
		{string(types.KeyFormHistory(s1vs, 1)), wholeA + " s1"},
		{string(types.KeyQueryForm(s1vs, 1)), wholeA + " s1"},
		{string(types.KeySDV(s1vs)), wholeA + " s1"},
		{string(types.KeyDeviation(s1vs)), wholeA + " s1"},
		{string(types.KeySignature(study, "S1-001", 1)), wholeA + " s1"},
		{string(types.KeyLabAssessments(apptest.FormKey("S1-001", "SCR", 1, "LB"), "LB.PLT", 0)), wholeA + " s1"},
		{string(types.KeyQuery(study, 1)), wholeA + " s1"},
		// Serious adverse events: the subject's readers with need to know
		// (the table's CRO reader is a monitor, who does not).
		{string(types.KeySAE(apptest.FormKey("S1-001", "W4", 1, "AE"), 1)), "spA reg eth s1"},
		{string(types.KeySAE(apptest.FormKey("S2-001", "W4", 1, "AE"), 1)), "spA reg eth s2"},
		{string(types.KeyLock(types.Scope{Study: study, Subject: "S1-001"})), wholeA + " s1"},
		{string(types.KeyLock(types.Scope{Study: study, Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "LB"})), wholeA + " s1"},
		{string(types.KeySubject(study, "S2-001")), wholeA + " s2"},
		{string(types.KeyForm(apptest.FormKey("S2-001", "SCR", 1, "VS"))), wholeA + " s2"},
		{string(types.KeyLabAssessments(apptest.FormKey("S2-001", "SCR", 1, "LB"), "LB.PLT", 0)), wholeA + " s2"},
		// Absent records of study A: the whole study's readers get an
		// absence proof; a site cannot tell them from another site's.
		{string(types.KeySubject(study, "S9-999")), wholeA},
		{string(types.KeyForm(apptest.FormKey("S9-999", "SCR", 1, "VS"))), wholeA},
		{string(types.KeyDeviation(apptest.FormKey("S9-999", "SCR", 1, "VS"))), wholeA},
		{string(types.KeyQuery(study, 99)), wholeA},
		{string(types.KeyForm(apptest.FormKey("S1-001", "V1", 1, "VS"))), wholeA + " s1"},
		// Study B.
		{string(types.KeyStudy(studyB)), partyB},
		{string(types.KeyLabRanges(studyB, 1)), partyB},
		{string(types.KeySite(studyB, "site3")), partyB},
		{string(types.KeySubject(studyB, "S3-001")), partyB},
		// Nobody.
		{string(types.KeyStudy("NO-SUCH-STUDY")), ""},
		{nonces[0].Key, ""},
		{"zzz/unknown", ""},
		{types.PrefixSubject + study, ""},
		{string(types.KeyStudyDelegation(study, "cro")) + "/x", ""},
	}
}

// TestReadPolicyTable reads every record of the policy chain as every
// reader, through App.Query with signed requests, and compares each cell
// with the table: a visible record is answered with a proof that checks
// against the app hash, a hidden one is refused with read_not_visible.
func TestReadPolicyTable(t *testing.T) {
	c := policyChain(t, types.DefaultParams())
	for _, cell := range policyCells(t, c) {
		sees := strings.Fields(cell.sees)
		for _, r := range apptest.PolicyReaders {
			want := slices.Contains(sees, r.Short)
			if got := seesKey(t, c, r.Account, []byte(cell.key)); got != want {
				t.Errorf("%s reading %s: sees %v, the policy says %v", r.Short, cell.key, got, want)
			}
		}
	}
}

// TestRegulatorsReadAll: with the genesis parameter, every regulator
// reads every study; ethics committees still read only theirs.
func TestRegulatorsReadAll(t *testing.T) {
	c := policyChain(t, types.Params{MaxTxTTL: 1000, KeyRotationTTL: 100, RegulatorsReadAll: true})
	for _, k := range []string{string(types.KeySubject(study, "S1-001")), string(types.KeyStudyDelegation(study, "cro")), string(types.KeyAccount("site1-coordinator"))} {
		for reader, want := range map[string]bool{"regulator2-auditor": true, "regulator-auditor": true, "ethics2-reviewer": false, "cro2-monitor": false} {
			if got := seesKey(t, c, reader, []byte(k)); got != want {
				t.Errorf("%s reading %s: sees %v, want %v", reader, k, got, want)
			}
		}
	}
	// Every regulator now shares study A with site1, and so reads its
	// people; an ethics committee of study B does not.
	if !seesKey(t, c, "regulator2-auditor", types.KeyAccount("site1-admin")) || seesKey(t, c, "ethics2-reviewer", types.KeyAccount("site1-admin")) {
		t.Error("accounts of study A's parties")
	}
}

// TestReadPolicyStandIn: a regulator stands in for a study's approvers
// once none of them is an active organisation other than a sponsor (as
// it does to approve), and then reads the study.
func TestReadPolicyStandIn(t *testing.T) {
	g, people := apptest.PolicyGenesis()
	c := apptest.NewWith(t, g)
	for _, p := range people {
		c.AddPerson(p)
	}
	c.MustDo("sponsor-dm", apptest.RegisterAs(study, []string{"ethics"}, []string{"regulator"}, 2))
	key := types.KeyStudy(study)
	if seesKey(t, c, "regulator2-auditor", key) || seesKey(t, c, "ethics2-reviewer", key) {
		t.Fatal("an organisation not named reads the study while its approvers are active")
	}
	for _, org := range []string{"ethics", "regulator"} {
		n := proposeOK(t, c, "sponsor-admin", suspend(org))
		votes(t, c, n, "sponsor", "site1", "cro", "site2")
	}
	for reader, want := range map[string]bool{"regulator2-auditor": true, "ethics2-reviewer": true, "cro2-monitor": false, "sponsor2-dm": false} {
		if got := seesKey(t, c, reader, key); got != want {
			t.Errorf("%s reads the study with its approvers suspended: %v, want %v", reader, got, want)
		}
	}
}

// TestReadPolicyRevokedDelegation: a CRO whose delegation is revoked no
// longer reads the study, its history at earlier heights included.
func TestReadPolicyRevokedDelegation(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	before := c.Height
	key := types.KeySubject(study, "S1-001")
	if !seesKey(t, c, "cro-monitor", key) {
		t.Fatal("the delegated CRO does not read the study")
	}
	c.MustDo("sponsor-dm", apptest.UndelegateStudyMsg(study, "cro", "contract ended"))
	res := c.Read("cro-monitor", types.QueryKey, key, before, false)
	if types.Code(res.Code) != types.CodeReadNotVisible || res.Value != nil {
		t.Errorf("CRO after revocation reading height %d: code %d, value %q", before, res.Code, res.Value)
	}
}

// TestReadListFiltered lists prefixes as readers of different scope,
// page by page: each sees exactly its visible entries, in order, and
// nothing (More included) tells of the others.
func TestReadListFiltered(t *testing.T) {
	c := policyChain(t, types.DefaultParams())
	for _, prefix := range []string{types.PrefixSubject, types.PrefixForm, types.PrefixAccount, types.PrefixLock, types.PrefixQuery, "s", types.PrefixNonce} {
		all := list(t, c, prefix, 0, 0)
		for _, r := range apptest.PolicyReaders {
			var want []string
			for _, e := range all {
				if seesKey(t, c, r.Account, []byte(e.Key)) {
					want = append(want, e.Key)
				}
			}
			for _, limit := range []int{1, 2, 1000} {
				if got := listAs(t, c, r.Account, prefix, limit); !slices.Equal(got, want) {
					t.Errorf("%s listing %s by %d: %v, want %v", r.Short, prefix, limit, got, want)
				}
			}
		}
	}
}

// listAs lists prefix as reader through signed reads, limit entries a
// page, checking every entry's proof, and returns the keys listed. A
// page that says More must not be empty.
func listAs(t *testing.T, c *apptest.Chain, reader, prefix string, limit int) []string {
	t.Helper()
	var keys []string
	after := ""
	for {
		bz, _ := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: limit, Prove: true})
		res := c.Read(reader, types.QueryList, bz, 0, false)
		if res.Code != 0 {
			t.Fatalf("%s listing %s: %d %s", reader, prefix, res.Code, res.Log)
		}
		var lr types.ListResponse
		if err := json.Unmarshal(res.Value, &lr); err != nil {
			t.Fatal(err)
		}
		for _, e := range lr.Entries {
			if err := types.VerifyProof(c.AppHash, []byte(e.Key), e.Value, e.Proof); err != nil {
				t.Fatalf("%s: %v", e.Key, err)
			}
			keys = append(keys, e.Key)
		}
		if !lr.More {
			return keys
		}
		if len(lr.Entries) == 0 {
			t.Fatalf("%s listing %s: an empty page says there is more", reader, prefix)
		}
		after = lr.Entries[len(lr.Entries)-1].Key
	}
}

// seesKey reads key as reader: true when answered (its proof checked,
// presence or absence), false when refused as not visible; any other
// answer fails the test.
func seesKey(t *testing.T, c *apptest.Chain, reader string, key []byte) bool {
	t.Helper()
	res := c.Read(reader, types.QueryKey, key, 0, true)
	switch types.Code(res.Code) {
	case types.CodeOK:
		if err := types.VerifyProof(c.AppHash, key, res.Value, res.ProofOps.Ops[0].Data); err != nil {
			t.Fatalf("%s reading %s: %v", reader, key, err)
		}
		return true
	case types.CodeReadNotVisible:
		if res.Value != nil || res.ProofOps != nil || res.Key != nil || strings.Contains(res.Log, string(key)) {
			t.Fatalf("%s reading %s: the refusal carries data: %+v", reader, key, res)
		}
		return false
	}
	t.Fatalf("%s reading %s: code %d (%s)", reader, key, res.Code, res.Log)
	return false
}
