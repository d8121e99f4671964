package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// TestConsortiumOnARealNode: on the one-machine demo, where the regulator
// runs the only validator, the sponsor proposes a new site, the
// regulator's vote passes it, the site's administrator signs, and a
// suspension stops it signing.
func TestConsortiumOnARealNode(t *testing.T) {
	t.Parallel()
	_, _, env, _ := devNode(t)

	var m membersDoc
	decode(t, mustVT(t, env, "--from", "regulator-admin", "consortium", "members", "--prove", "-o", "json"), &m)
	if len(m.Orgs) != 4 || m.TotalPower != 10 || m.Governance != types.DefaultGovParams() || !m.Proven {
		t.Fatalf("members of the demo consortium: %+v", m)
	}
	for _, o := range m.Orgs {
		if o.Status != types.OrgActive || o.Voting() != (o.ID == validatorOrg) {
			t.Errorf("demo organisation %+v", o)
		}
	}

	var key keyJSON
	decode(t, mustVT(t, env, "keys", "add", "site3-admin", "-o", "json"), &key)
	failVT(t, env, exitRejected, "code 204 (unauthorized)", "consortium", "propose", "add-org", "--from", "sponsor-dm", "--org", "site3", "--kind", "site", "--admin-pubkey", key.PubKey)
	failVT(t, env, exitUsage, "give --validator-pubkey too", "consortium", "propose", "add-org", "--from", "sponsor-admin", "--org", "site3", "--kind", "site", "--admin-pubkey", key.PubKey, "--power", "5")
	var p proposeOutcome
	decode(t, mustVT(t, env, "consortium", "propose", "add-org", "--from", "sponsor-admin", "--org", "site3", "--kind", "site",
		"--name", "Demo Site 3", "--admin-pubkey", key.PubKey, "-o", "json"), &p)
	if p.Proposal != 1 || p.Code != 0 || p.Expires != p.Height+types.DefaultGovParams().ProposalTTL {
		t.Fatalf("proposal: %+v", p)
	}
	if r := mustVT(t, env, "--from", "regulator-admin", "consortium", "proposals", "--status", "open"); !strings.Contains(r.stdout, "add organisation site3 (site)") {
		t.Errorf("open proposals:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 605 (not_a_voting_organisation)", "consortium", "vote", "--from", "sponsor-admin", "--proposal", "1", "--yes")
	failVT(t, env, exitUsage, "exactly one of --yes and --no", "consortium", "vote", "--from", "regulator-admin", "--proposal", "1")
	var v voteOutcome
	decode(t, mustVT(t, env, "consortium", "vote", "--from", "regulator-admin", "--proposal", "1", "--yes", "-o", "json"), &v)
	if v.Status != types.ProposalPassed || v.Yes != 1 || v.Voting != 1 {
		t.Fatalf("deciding vote: %+v", v)
	}
	failVT(t, env, exitRejected, "code 602 (proposal_closed)", "consortium", "vote", "--from", "regulator-admin", "--proposal", "1", "--no")

	r := mustVT(t, env, "--from", "regulator-admin", "consortium", "members")
	for _, want := range []string{"site3", "Demo Site 3", "100.0%", "validator"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("members lacks %q:\n%s", want, r.stdout)
		}
	}
	var list struct {
		Proposals []proposalDoc `json:"proposals"`
	}
	decode(t, mustVT(t, env, "--from", "regulator-admin", "consortium", "proposals", "--status", "passed", "-o", "json"), &list)
	if len(list.Proposals) != 1 || list.Proposals[0].Applied != v.Height || list.Proposals[0].Votes[0].Org != "regulator" {
		t.Errorf("passed proposals: %+v", list.Proposals)
	}
	decode(t, mustVT(t, env, "--from", "regulator-admin", "consortium", "proposals", "--status", "open", "-o", "json"), &list)
	if len(list.Proposals) != 0 {
		t.Errorf("open proposals after the vote: %+v", list.Proposals)
	}
	failVT(t, env, exitUsage, "not open, passed, rejected or expired", "--from", "regulator-admin", "consortium", "proposals", "--status", "done")

	// The new organisation's administrator signs; suspended, it cannot.
	mustVT(t, env, "keys", "add", "site3-coordinator")
	mustVT(t, env, "account", "add", "--from", "site3-admin", "--account", "site3-coordinator", "--name", "Site 3 Coordinator", "--role", "coordinator", "--key", "site3-coordinator")
	failVT(t, env, exitRejected, "code 609 (organisation_status)", "consortium", "propose", "reinstate-org", "--from", "site3-admin", "--org", "site3")
	mustVT(t, env, "consortium", "propose", "suspend-org", "--from", "sponsor-admin", "--org", "site3", "--reason", "site closed for an inspection")
	if r := mustVT(t, env, "consortium", "vote", "--from", "regulator-admin", "--proposal", "2", "--yes"); !strings.Contains(r.stdout, "passed and applied") {
		t.Errorf("vote text:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 606 (organisation_suspended)", "account", "add", "--from", "site3-admin", "--account", "site3-other", "--name", "X", "--role", "coordinator", "--key", "site3-coordinator")

	// propose validator: a key in service without --power keeps its
	// power; a new key replaces the organisation's only validator.
	var reg types.Org
	for _, o := range m.Orgs {
		if o.ID == validatorOrg {
			reg = o
		}
	}
	valKey := types.KeyText(reg.Validators[0].PubKey)
	decode(t, mustVT(t, env, "consortium", "propose", "validator", "--from", "regulator-admin", "--org", validatorOrg, "--pubkey", valKey, "--host", "127.0.0.1:1", "-o", "json"), &p)
	if want := "validator " + valKey + " of regulator at power 10"; p.Change != want {
		t.Errorf("a host change proposed %q, want %q", p.Change, want)
	}
	if r := vt(t, env, "consortium", "propose", "validator", "--from", "regulator-admin", "--org", validatorOrg, "--pubkey", key.PubKey); r.code != exitRejected || !strings.Contains(r.stderr, "code 614 (validator_key_used)") {
		t.Errorf("an account's key as a validator key: exit %d, stderr %q", r.code, r.stderr)
	}
	var fresh keyJSON
	decode(t, mustVT(t, env, "keys", "add", "fresh", "-o", "json"), &fresh)
	r = mustVT(t, env, "consortium", "propose", "validator", "--from", "regulator-admin", "--org", validatorOrg, "--pubkey", fresh.PubKey, "-o", "json")
	decode(t, r, &p)
	if want := "rotate validator " + valKey + " of regulator to " + fresh.PubKey; p.Change != want || !strings.Contains(r.stderr, "the new key replaces it") {
		t.Errorf("a new key proposed %q (stderr %q), want %q", p.Change, r.stderr, want)
	}
	failVT(t, env, exitUsage, "exclude each other", "consortium", "propose", "validator", "--from", "regulator-admin", "--org", validatorOrg, "--pubkey", key.PubKey, "--replaces", valKey, "--add")
}

// TestProposeMemberFile: propose add-org --member proposes exactly what a
// later organisation's member file declares. A tampered file, a file of
// another chain and a file mixed with the flags it replaces are refused
// before anything is sent.
func TestProposeMemberFile(t *testing.T) {
	t.Parallel()
	work, _, env, _ := devNode(t)
	var st statusDoc
	decode(t, mustVT(t, env, "status", "-o", "json"), &st)
	joiner := testEnv(t, "VERITRIAL_PASSPHRASE=the ethics committee's own passphrase")
	join := func(chainID, org string) (string, joinResult) {
		draft := filepath.Join(work, chainID+".draft.json")
		if _, err := os.Stat(draft); err != nil {
			mustVT(t, joiner, "consortium", "new", "--chain-id", chainID, "--out", draft)
		}
		file := filepath.Join(work, org+".member.json")
		var j joinResult
		decode(t, mustVT(t, joiner, "consortium", "join", draft, "--later", "--home", filepath.Join(work, org), "--org", org, "--kind", "ethics",
			"--name", "Central Ethics Committee", "--host", "10.0.0.15", "--out", file, "-o", "json"), &j)
		return file, j
	}
	file, j := join(st.ChainID, "ethics-1")
	other, _ := join("vt-another-chain", "ethics-2")
	bz, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(work, "tampered.member.json")
	if err := os.WriteFile(tampered, bytes.Replace(bz, []byte("10.0.0.15:26656"), []byte("10.0.0.66:26656"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	propose := []string{"consortium", "propose", "add-org", "--from", "sponsor-admin"}
	failVT(t, env, exitInput, tampered+": the signature of its administrator key does not verify", append(propose, "--member", tampered)...)
	failVT(t, env, exitInput, tampered+": the signature of its administrator key does not verify", append(propose, "--member", tampered, "--node", "tcp://127.0.0.1:1")...)
	failVT(t, env, exitInput, "ethics-2 joined chain vt-another-chain, but the node serves chain "+st.ChainID, append(propose, "--member", other)...)
	failVT(t, env, exitUsage, "leave out --org, --power", append(propose, "--member", file, "--org", "ethics-1", "--power", "5")...)
	failVT(t, env, exitUsage, "give the member file of the organisation (--member FILE", append(propose, "--org", "ethics-1", "--kind", "ethics")...)
	var list struct {
		Proposals []proposalDoc `json:"proposals"`
	}
	decode(t, mustVT(t, env, "consortium", "proposals", "-o", "json"), &list)
	if len(list.Proposals) != 0 {
		t.Fatalf("refused member files sent proposals: %+v", list.Proposals)
	}

	archive := strings.Repeat("ab", 20) // the node ID of a non-validating node of its own
	var p proposeOutcome
	decode(t, mustVT(t, env, append(propose, "--member", file, "--node-ids", archive, "-o", "json")...), &p)
	decode(t, mustVT(t, env, "consortium", "proposals", "-o", "json"), &list)
	b := j.Member.Body
	want := types.AddOrg{Org: "ethics-1", Name: "Central Ethics Committee", Kind: types.OrgEthics, Admin: "ethics-1-admin", AdminName: "Administrator of ethics-1",
		AdminPubKey: b.Admin.PubKey, Validator: &types.Validator{PubKey: b.Validator.PubKey, Power: 10, NodeID: b.Node.ID, Host: "10.0.0.15:26656"},
		NodeIDs: []string{archive}, NodeAccount: &types.NewAccount{ID: "ethics-1-node", Name: "Node of Central Ethics Committee", PubKey: b.NodeAccount.PubKey}}
	if len(list.Proposals) != 1 || p.Proposal != 1 || list.Proposals[0].Change.AddOrg == nil {
		t.Fatalf("proposal %+v, proposals %+v", p, list.Proposals)
	}
	got, _ := json.Marshal(list.Proposals[0].Change.AddOrg)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Fatalf("the proposal adds %s, want what the member file declares: %s", got, wantJSON)
	}
}

// TestCeremonyCommands: the ceremony's commands as a script sees them:
// outputs, exit codes and refusals that leave nothing behind. The whole
// ceremony on four running nodes is testnet's TestCeremony.
func TestCeremonyCommands(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	env := testEnv(t, "VERITRIAL_PASSPHRASE=site one's own passphrase")
	draft := filepath.Join(work, "draft.json")
	failVT(t, env, exitUsage, "every member is a sponsor", "consortium", "new", "--chain-id", "vt-x", "--members", "sponsor,acme=sponsor", "--out", draft)
	failVT(t, env, exitUsage, "cannot tell the kind of hospital", "consortium", "new", "--chain-id", "vt-x", "--members", "hospital", "--out", draft)
	failVT(t, env, exitUsage, "not an RFC 3339 time", "consortium", "new", "--chain-id", "vt-x", "--genesis-time", "tomorrow", "--out", draft)
	var nd newDraftResult
	decode(t, mustVT(t, env, "consortium", "new", "--chain-id", "vt-x", "--members", "sponsor,site-1,regulator", "--quorum", "3/4",
		"--genesis-time", "2026-03-02T09:00:00Z", "--out", draft, "-o", "json"), &nd)
	if nd.Draft.Governance.QuorumNum != 3 || len(nd.Draft.Members) != 3 || nd.Draft.Members[1].Kind != types.OrgSite {
		t.Fatalf("draft %+v", nd.Draft)
	}
	failVT(t, env, exitUsage, "already exists", "consortium", "new", "--chain-id", "vt-x", "--out", draft)

	home := filepath.Join(work, "site-1")
	join := []string{"consortium", "join", draft, "--home", home, "--org", "site-1", "--host", "10.0.0.12", "--out", filepath.Join(work, "site-1.member.json")}
	failVT(t, testEnv(t, "VERITRIAL_PASSPHRASE="+node.DevPassphrase), exitKey, "published passphrase", join...)
	failVT(t, env, exitUsage, "site-3 is not one of the draft's members", "consortium", "join", draft, "--home", home, "--org", "site-3", "--kind", "site", "--host", "h")
	if _, err := os.Stat(home); err == nil {
		t.Fatal("a refused join left a home behind")
	}
	var j joinResult
	decode(t, mustVT(t, env, append(join, "-o", "json")...), &j)
	if j.Member.Body.Org != "site-1" || j.DraftSHA256 != nd.SHA256 || j.Member.Body.Node.P2P != "10.0.0.12:26656" {
		t.Fatalf("join: %+v", j)
	}
	failVT(t, env, exitUsage, "already exists", join...)
	failVT(t, env, exitInput, "has no genesis yet", "--home", home, "start")

	genesis := filepath.Join(work, "genesis.json")
	failVT(t, env, exitInput, "the draft expects sponsor, regulator, whose member file is missing", "consortium", "assemble", draft, j.MemberFile, "--out", genesis)
	bz, err := os.ReadFile(j.MemberFile)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(work, "tampered.json")
	if err := os.WriteFile(tampered, bytes.Replace(bz, []byte("10.0.0.12"), []byte("10.0.0.66"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	failVT(t, env, exitInput, tampered+": the signature of its administrator key does not verify", "consortium", "assemble", draft, tampered, "--out", genesis)
	failVT(t, env, exitUsage, "at least one member file", "consortium", "assemble", draft, "--out", genesis)
	if _, err := os.Stat(genesis); err == nil {
		t.Fatal("a refused assemble wrote the genesis")
	}
	failVT(t, env, exitInput, "not a CometBFT genesis", "consortium", "install", j.MemberFile, "--home", home)
	failVT(t, env, exitUsage, "no veritrial home", "consortium", "install", draft, "--home", filepath.Join(work, "nowhere"))
}
