package ceremony

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// cheapKDF keeps key creation fast in tests.
var cheapKDF = &keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

const testPassphrase = "correct horse battery staple"

var genesisTime = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fourOrgs are the expected members of the test draft, in join order.
var fourOrgs = []DraftMember{{"sponsor", types.OrgSponsor}, {"site-1", types.OrgSite}, {"site-2", types.OrgSite}, {"regulator", types.OrgRegulator}}

// testDraft returns the bytes of a draft expecting members (none: open).
func testDraft(t *testing.T, members ...DraftMember) []byte {
	t.Helper()
	d := NewDraft("vt-ceremony", genesisTime)
	d.Members = members
	bz := mustEncode(t, d)
	if _, err := ParseDraft(bz); err != nil {
		t.Fatal(err)
	}
	return bz
}

// joinedHome is a home made by Join and its member file.
type joinedHome struct {
	dir  string
	file File
}

// joinAll joins the draft with one home per organisation in a temporary
// directory, each listening on its own port.
func joinAll(t *testing.T, draft []byte, orgs []DraftMember) []joinedHome {
	t.Helper()
	var out []joinedHome
	for i, o := range orgs {
		dir := filepath.Join(t.TempDir(), o.Org)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		m, err := Join(dir, draft, JoinOptions{Org: o.Org, Kind: o.Kind, Name: "Org " + o.Org, Host: "127.0.0.1",
			P2PPort: 36656 + 10*i, RPCPort: 36657 + 10*i, APIPort: 36658 + 10*i, Passphrase: testPassphrase, KDF: cheapKDF})
		if err != nil {
			t.Fatalf("join %s: %v", o.Org, err)
		}
		// The read API stays on the machine until it has a certificate.
		if api, ok, err := node.LoadAPI(dir); err != nil || !ok || api.URL() != fmt.Sprintf("http://127.0.0.1:%d", 36658+10*i) {
			t.Fatalf("join %s: read API %+v %v %v", o.Org, api, ok, err)
		}
		out = append(out, joinedHome{dir: dir, file: File{Name: o.Org + ".member.json", Data: mustEncode(t, m)}})
	}
	return out
}

func files(hs []joinedHome) []File {
	var out []File
	for _, h := range hs {
		out = append(out, h.file)
	}
	return out
}

// homeConfig reads a home's config.toml as veritrial start does.
func homeConfig(t *testing.T, dir string) *cmtcfg.Config {
	t.Helper()
	conf, err := node.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
}

// TestCeremony: four organisations join, the genesis is assembled the
// same whatever the order of the member files, the ledger's InitChain
// accepts it, and each home installs it with the three others as peers.
func TestCeremony(t *testing.T) {
	draft := testDraft(t, fourOrgs...)
	homes := joinAll(t, draft, fourOrgs)
	genesis, man, err := Assemble(draft, files(homes))
	if err != nil {
		t.Fatal(err)
	}
	rev := files(homes)
	slices.Reverse(rev)
	again, _, err := Assemble(draft, rev)
	if err != nil || !bytes.Equal(again, genesis) {
		t.Fatalf("assembling the member files in another order gave another genesis (%v)", err)
	}
	if man.GenesisSHA256 != SHA256(genesis) || man.DraftSHA256 != SHA256(draft) || len(man.Members) != 4 || man.Members[0].Body.Org != "regulator" {
		t.Fatalf("manifest %+v", man)
	}

	doc, err := cmttypes.GenesisDocFromJSON(genesis)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.GenesisTime.Equal(genesisTime) || doc.ChainID != "vt-ceremony" || len(doc.Validators) != 4 || doc.ConsensusParams.Block.MaxBytes != node.MaxBlockBytes {
		t.Fatalf("genesis document %+v", doc)
	}
	a, err := app.New(app.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	vals := cmttypes.TM2PB.ValidatorUpdates(cmttypes.NewValidatorSet(func() []*cmttypes.Validator {
		var out []*cmttypes.Validator
		for _, v := range doc.Validators {
			out = append(out, cmttypes.NewValidator(v.PubKey, v.Power))
		}
		return out
	}()))
	params := doc.ConsensusParams.ToProto()
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{Time: doc.GenesisTime, ChainId: doc.ChainID, InitialHeight: 1,
		AppStateBytes: doc.AppState, Validators: vals, ConsensusParams: &params}); err != nil {
		t.Fatalf("InitChain refused the assembled genesis: %v", err)
	}

	// Each organisation's accounts: its first administrator and its node
	// account, whose key is in its own home.
	g, err := types.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range homes {
		na, err := node.LoadNodeAccount(h.dir)
		if err != nil {
			t.Fatal(err)
		}
		var mine []string
		for _, a := range g.Accounts {
			if a.Org == fourOrgs[i].Org {
				mine = append(mine, a.ID+":"+types.JoinRoles(a.Roles))
				if a.ID == na.ID && !bytes.Equal(a.PubKey, na.PubKey()) {
					t.Errorf("the genesis key of %s is not the one in %s", na.ID, h.dir)
				}
			}
		}
		if want := []string{AdminKey(fourOrgs[i].Org) + ":admin", node.NodeAccountID(fourOrgs[i].Org) + ":node"}; !slices.Equal(mine, want) {
			t.Errorf("accounts of %s: %v, want %v", fourOrgs[i].Org, mine, want)
		}
	}

	for _, h := range homes {
		res, err := Install(homeConfig(t, h.dir), genesis, InstallOptions{})
		if err != nil {
			t.Fatalf("install on %s: %v", h.dir, err)
		}
		if res.GenesisSHA256 != man.GenesisSHA256 || len(res.Peers) != 3 || res.Again {
			t.Fatalf("install on %s: %+v", h.dir, res)
		}
		if bz, err := os.ReadFile(filepath.Join(h.dir, "config", "genesis.json")); err != nil || !bytes.Equal(bz, genesis) {
			t.Fatalf("installed genesis differs (%v)", err)
		}
		conf := homeConfig(t, h.dir)
		if conf.P2P.PersistentPeers != strings.Join(res.Peers, ",") || conf.P2P.ExternalAddress == "" {
			t.Fatalf("config.toml of %s: peers %q, external address %q", h.dir, conf.P2P.PersistentPeers, conf.P2P.ExternalAddress)
		}
		if !conf.FilterPeers || conf.P2P.PexReactor || len(node.ExposedRPC(conf)) != 0 {
			t.Fatalf("config.toml of %s: filter_peers %v, pex %v, RPC exposed %v; want peers filtered by the ledger, no peer exchange, RPC on loopback",
				h.dir, conf.FilterPeers, conf.P2P.PexReactor, node.ExposedRPC(conf))
		}
		for _, p := range res.Peers {
			if strings.Contains(p, conf.P2P.ExternalAddress) {
				t.Errorf("%s has itself as a peer: %s", h.dir, p)
			}
		}
		if res, err = Install(conf, genesis, InstallOptions{}); err != nil || !res.Again {
			t.Fatalf("installing the same genesis again: %+v, %v", res, err)
		}
	}
}

// testKeys are a crafted member's keys.
type testKeys struct{ admin, validator, node, nodeAccount ed25519.PrivateKey }

func newKeys(t *testing.T) testKeys {
	t.Helper()
	var ks [4]ed25519.PrivateKey
	for i := range ks {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		ks[i] = priv
	}
	return testKeys{ks[0], ks[1], ks[2], ks[3]}
}

func signWith(k ed25519.PrivateKey) signer {
	return func(msg []byte) ([]byte, error) { return ed25519.Sign(k, msg), nil }
}

func pub(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

// craftBody is a member body of org declaring the public keys of ks.
func craftBody(draft []byte, org string, kind types.OrgKind, port string, ks testKeys) MemberBody {
	return MemberBody{DraftSHA256: SHA256(draft), ChainID: "vt-ceremony", Org: org, Kind: kind,
		Validator:   MemberValidator{PubKey: pub(ks.validator), Power: DefaultValidatorPower},
		Node:        MemberNode{PubKey: pub(ks.node), ID: string(p2p.PubKeyToID(cmted25519.PubKey(pub(ks.node)))), P2P: "10.0.0.1:" + port},
		Admin:       MemberAdmin{Account: AdminKey(org), Name: "Administrator of " + org, PubKey: pub(ks.admin)},
		NodeAccount: MemberAccount{Account: node.NodeAccountID(org), PubKey: pub(ks.nodeAccount)}}
}

// craft signs b with the keys given and encodes it.
func craft(t *testing.T, name string, b MemberBody, admin, validator, node, nodeAccount ed25519.PrivateKey) File {
	t.Helper()
	m, err := newMember(b, signWith(admin), signWith(validator), signWith(node), signWith(nodeAccount))
	if err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Data: mustEncode(t, m)}
}

// editJSON changes a member file through its generic JSON form.
func editJSON(t *testing.T, f File, edit func(m map[string]any)) File {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	bz, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return File{Name: f.Name, Data: bz}
}

// TestAssembleRefuses: every member file or set of them the ceremony
// must not turn into a genesis.
func TestAssembleRefuses(t *testing.T) {
	closed := testDraft(t, fourOrgs...)
	open := testDraft(t)
	other := testDraft(t, fourOrgs[:3]...)
	ka, kb, kc := newKeys(t), newKeys(t), newKeys(t)
	member := func(draft []byte, org string, kind types.OrgKind, port string, ks testKeys) File {
		return craft(t, org+".json", craftBody(draft, org, kind, port, ks), ks.admin, ks.validator, ks.node, ks.nodeAccount)
	}
	// A full, valid set for the closed draft, to spoil one way at a time.
	valid := []File{member(closed, "sponsor", types.OrgSponsor, "1", ka), member(closed, "site-1", types.OrgSite, "2", kb),
		member(closed, "site-2", types.OrgSite, "3", kc), member(closed, "regulator", types.OrgRegulator, "4", newKeys(t))}
	if _, _, err := Assemble(closed, valid); err != nil {
		t.Fatalf("the valid set: %v", err)
	}
	with := func(i int, f File) []File {
		out := slices.Clone(valid)
		out[i] = f
		return out
	}
	edited := func(edit func(b *MemberBody)) File { // re-signed by its own keys
		b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
		edit(&b)
		return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.node, kb.nodeAccount)
	}
	cases := []struct {
		name  string
		draft []byte
		files []File
		want  string
	}{
		{"no member files", closed, nil, "no member files"},
		{"a changed name", closed, with(1, editJSON(t, valid[1], func(m map[string]any) { m["body"].(map[string]any)["name"] = "Evil Site" })),
			"signature of its administrator key does not verify"},
		{"a changed p2p address", closed, with(1, editJSON(t, valid[1], func(m map[string]any) {
			m["body"].(map[string]any)["node"].(map[string]any)["p2p"] = "10.6.6.6:26656"
		})), "does not verify"},
		{"an unknown field", closed, with(1, editJSON(t, valid[1], func(m map[string]any) { m["extra"] = 1 })), "unknown field"},
		{"another format version", closed, with(1, editJSON(t, valid[1], func(m map[string]any) { m["version"] = 2 })), "not a version 1 consortium member file"},
		{"a member of another draft", closed, with(1, member(other, "site-1", types.OrgSite, "2", kb)), "joined the draft with SHA-256"},
		{"the same member twice", closed, append(slices.Clone(valid), valid[1]), "both join as site-1"},
		{"a claim to another's validator key", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.Validator.PubKey = pub(ka.validator)
			return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.node, kb.nodeAccount) // cannot sign with the sponsor's validator key
		}()), "signature of its validator key does not verify"},
		{"a claim to another's node", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.Node = craftBody(closed, "sponsor", types.OrgSponsor, "1", ka).Node
			return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.node, kb.nodeAccount)
		}()), "signature of its node key does not verify"},
		{"one party's keys in two members", closed, with(1, member(closed, "site-1", types.OrgSite, "2", ka)), "validator key of site-1 (site-1.json) is also the validator key of sponsor"},
		{"an administrator key that is another's node key", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.Admin.PubKey = pub(ka.node)
			return craft(t, "site-1.json", b, ka.node, kb.validator, kb.node, kb.nodeAccount)
		}()), "administrator key of site-1 (site-1.json) is also the node key of sponsor"},
		{"one key for two purposes", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.Node.PubKey, b.Node.ID = pub(kb.validator), string(p2p.PubKeyToID(cmted25519.PubKey(pub(kb.validator))))
			return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.validator, kb.nodeAccount)
		}()), "four different keys"},
		{"a claim to another's node account key", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.NodeAccount.PubKey = pub(ka.nodeAccount)
			return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.node, kb.nodeAccount)
		}()), "signature of its node account key does not verify"},
		{"a node account key that is another's administrator key", closed, with(1, func() File {
			b := craftBody(closed, "site-1", types.OrgSite, "2", kb)
			b.NodeAccount.PubKey = pub(ka.admin)
			return craft(t, "site-1.json", b, kb.admin, kb.validator, kb.node, ka.admin)
		}()), "node account key of site-1 (site-1.json) is also the administrator key of sponsor"},
		{"a node account not named org-node", closed, with(1, edited(func(b *MemberBody) { b.NodeAccount.Account = "site-1-admin2" })), "the node account of site-1 is site-1-node"},
		{"a node ID not of the node key", closed, with(1, edited(func(b *MemberBody) { b.Node.ID = strings.Repeat("ab", 20) })), "is not the ID of its node key"},
		{"another power", closed, with(1, edited(func(b *MemberBody) { b.Validator.Power = 30 })), "declares validator power 30"},
		{"another chain", closed, with(1, edited(func(b *MemberBody) { b.ChainID = "vt-other" })), "names chain vt-other"},
		{"another kind", closed, with(1, edited(func(b *MemberBody) { b.Kind = types.OrgCRO })), "site-1 joins as a cro; the draft expects a site"},
		{"an unexpected organisation", closed, with(1, edited(func(b *MemberBody) {
			b.Org, b.Admin.Account, b.NodeAccount.Account = "site-9", "site-9-admin", "site-9-node"
		})), "site-9 is not one of the draft's members"},
		{"an administrator not named org-admin", closed, with(1, edited(func(b *MemberBody) { b.Admin.Account = "boss" })), "the first administrator of site-1 is site-1-admin"},
		{"an invalid kind", open, []File{craft(t, "x.json", craftBody(open, "lab", "laboratory", "1", ka), ka.admin, ka.validator, ka.node, ka.nodeAccount)}, `kind "laboratory"`},
		{"a p2p address without a port", closed, with(1, edited(func(b *MemberBody) { b.Node.P2P = "10.0.0.2" })), "is not host:port"},
		{"a p2p address with a bad host", closed, with(1, edited(func(b *MemberBody) { b.Node.P2P = "a b:26656" })), "not a host name or address"},
		{"two members at one address", closed, with(1, edited(func(b *MemberBody) { b.Node.P2P = "10.0.0.1:1" })), "both give the p2p address 10.0.0.1:1"},
		{"a missing member", closed, valid[:3], "the draft expects regulator, whose member file is missing"},
		{"sponsors alone", open, []File{member(open, "acme", types.OrgSponsor, "1", ka), member(open, "beta", types.OrgSponsor, "2", kb)}, "every member is a sponsor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Assemble(c.draft, c.files)
			wantErr(t, err, c.want)
		})
	}
	// An open draft takes whoever joins it.
	if _, m, err := Assemble(open, []File{member(open, "acme", types.OrgSponsor, "1", ka), member(open, "clinic", types.OrgSite, "2", kb)}); err != nil || len(m.Members) != 2 {
		t.Fatalf("an open draft: %v", err)
	}
}

// TestDraftRefuses: drafts the ceremony must not start from.
func TestDraftRefuses(t *testing.T) {
	edit := func(f func(d *Draft)) []byte {
		d := NewDraft("vt-ceremony", genesisTime)
		f(d)
		return mustEncode(t, d)
	}
	good := edit(func(*Draft) {})
	for _, c := range []struct {
		name  string
		draft []byte
		want  string
	}{
		{"not JSON", []byte("chain: x"), "not a consortium draft"},
		{"trailing data", append(slices.Clone(good), []byte("{}")...), "data after its JSON document"},
		{"an unknown field", bytes.Replace(good, []byte(`"version"`), []byte(`"colour": 1, "version"`), 1), "unknown field"},
		{"another format", edit(func(d *Draft) { d.Format = "x" }), "not a version 1 consortium draft"},
		{"no chain ID", edit(func(d *Draft) { d.ChainID = "" }), "chain ID"},
		{"a long chain ID", edit(func(d *Draft) { d.ChainID = strings.Repeat("c", 51) }), "1 to 50 characters"},
		{"no genesis time", edit(func(d *Draft) { d.GenesisTime = time.Time{} }), "no genesis time"},
		{"power 0", edit(func(d *Draft) { d.ValidatorPower = 0 }), "validator power 0"},
		{"max tx TTL 0", edit(func(d *Draft) { d.Params.MaxTxTTL = 0 }), "max_tx_ttl"},
		{"key rotation TTL 0", edit(func(d *Draft) { d.Params.KeyRotationTTL = 0 }), "key_rotation_ttl"},
		{"a quorum of a third", edit(func(d *Draft) { d.Governance.QuorumNum, d.Governance.QuorumDen = 1, 3 }), "quorum 1/3"},
		{"a member twice", edit(func(d *Draft) { d.Members = []DraftMember{fourOrgs[1], fourOrgs[1]} }), "listed twice"},
		{"a bad kind", edit(func(d *Draft) { d.Members = []DraftMember{{"site-1", "hospital"}} }), `kind "hospital"`},
		{"a bad ID", edit(func(d *Draft) { d.Members = []DraftMember{{"Site 1", types.OrgSite}} }), "not a valid identifier"},
		{"an ID that cannot name a key", edit(func(d *Draft) { d.Members = []DraftMember{{"Site1", types.OrgSite}} }), "cannot name its administrator's key"},
		{"sponsors alone", edit(func(d *Draft) { d.Members = []DraftMember{{"acme", types.OrgSponsor}} }), "every member is a sponsor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDraft(c.draft)
			wantErr(t, err, c.want)
		})
	}
	if _, err := ParseDraft(edit(func(d *Draft) {
		d.Members = []DraftMember{{"acme", types.OrgSponsor}}
		d.Governance.NonSponsorVote = false
	})); err != nil {
		t.Fatalf("sponsors alone without the non-sponsor rule: %v", err)
	}
}

// TestJoinRefuses: Join checks its options before it makes anything.
func TestJoinRefuses(t *testing.T) {
	draft := testDraft(t, fourOrgs...)
	ok := JoinOptions{Org: "site-1", Host: "10.0.0.12", P2PPort: 26656, RPCPort: 26657, Passphrase: testPassphrase, KDF: cheapKDF}
	for _, c := range []struct {
		name string
		edit func(o *JoinOptions)
		want string
	}{
		{"the dev passphrase", func(o *JoinOptions) { o.Passphrase = node.DevPassphrase }, "published passphrase"},
		{"no passphrase", func(o *JoinOptions) { o.Passphrase = "" }, "needs a passphrase"},
		{"a short passphrase", func(o *JoinOptions) { o.Passphrase = "short-pass" }, "at least 12 characters"},
		{"one character repeated", func(o *JoinOptions) { o.Passphrase = "aaaaaaaaaaaaaaaa" }, "at least 12 characters"},
		{"an organisation the draft does not list", func(o *JoinOptions) { o.Org = "site-3" }, "site-3 is not one of the draft's members"},
		{"another kind", func(o *JoinOptions) { o.Kind = types.OrgCRO }, "site-1 joins as a cro; the draft expects a site"},
		{"a host with a port", func(o *JoinOptions) { o.Host = "10.0.0.12:26656" }, "not a host name or IP address"},
		{"no host", func(o *JoinOptions) { o.Host = "" }, "not a host name or IP address"},
		{"one port twice", func(o *JoinOptions) { o.RPCPort = 26656 }, "use three different ports"},
		{"the read API on the RPC port", func(o *JoinOptions) { o.APIPort = 26657 }, "use three different ports"},
		{"port 0", func(o *JoinOptions) { o.P2PPort = 0 }, "p2p port 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			o := ok
			c.edit(&o)
			_, err := Join(dir, draft, o)
			wantErr(t, err, c.want)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused join left %d entries behind", len(entries))
			}
		})
	}
	o := ok
	o.Org, o.Kind = "clinic", ""
	_, err := Join(t.TempDir(), testDraft(t), o)
	wantErr(t, err, "give its kind")
	dir := t.TempDir()
	m, err := Join(dir, draft, ok)
	if err != nil || m.Body.Kind != types.OrgSite || m.Body.Admin.Name != "Administrator of site-1" || m.Body.Node.P2P != "10.0.0.12:26656" {
		t.Fatalf("join with the kind from the draft: %+v, %v", m, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config", "genesis.json")); err == nil {
		t.Error("join wrote a genesis")
	}
	kr, err := keyring.Open(node.KeyringDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if infos, err := kr.List(); err != nil || len(infos) != 1 || infos[0].Name != "site-1-admin" || !bytes.Equal(infos[0].PubKey, m.Body.Admin.PubKey) {
		t.Fatalf("keyring after join: %+v, %v", infos, err)
	}
	if _, err := kr.Signer("site-1-admin", testPassphrase); err != nil {
		t.Fatalf("the administrator's key does not open with its passphrase: %v", err)
	}
}

// reassemble rewrites genesis with its app_state changed by edit, as a
// coordinator would who altered it consistently (validators derived
// again).
func reassemble(t *testing.T, genesis []byte, edit func(g *types.Genesis)) []byte {
	t.Helper()
	doc, err := cmttypes.GenesisDocFromJSON(genesis)
	if err != nil {
		t.Fatal(err)
	}
	g, err := types.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	edit(g)
	nd, err := node.NewGenesisDoc(doc.ChainID, doc.GenesisTime, *g)
	if err != nil {
		t.Fatal(err)
	}
	bz, err := encodeGenesis(nd)
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

// editDoc rewrites genesis with the CometBFT document changed by edit.
func editDoc(t *testing.T, genesis []byte, edit func(doc *cmttypes.GenesisDoc)) []byte {
	t.Helper()
	doc, err := cmttypes.GenesisDocFromJSON(genesis)
	if err != nil {
		t.Fatal(err)
	}
	edit(doc)
	bz, err := encodeGenesis(doc)
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

// TestInstallRefuses: a home installs only the genesis of the draft it
// joined that holds its own entry as it signed it.
func TestInstallRefuses(t *testing.T) {
	draft := testDraft(t, fourOrgs...)
	homes := joinAll(t, draft, fourOrgs)
	genesis, _, err := Assemble(draft, files(homes))
	if err != nil {
		t.Fatal(err)
	}
	site1 := homes[1].dir
	intruder := newKeys(t)
	org := func(g *types.Genesis, id string) *types.Org {
		for i := range g.Orgs {
			if g.Orgs[i].ID == id {
				return &g.Orgs[i]
			}
		}
		t.Fatalf("no %s", id)
		return nil
	}
	for _, c := range []struct {
		name    string
		genesis []byte
		want    string
	}{
		{"not a genesis", []byte("{}"), "not a CometBFT genesis"},
		{"another chain", editDoc(t, genesis, func(d *cmttypes.GenesisDoc) { d.ChainID = "vt-other" }), "the genesis is of chain vt-other"},
		{"another genesis time", editDoc(t, genesis, func(d *cmttypes.GenesisDoc) { d.GenesisTime = d.GenesisTime.Add(time.Hour) }), "not the one veritrial consortium assemble makes"},
		{"other consensus parameters", editDoc(t, genesis, func(d *cmttypes.GenesisDoc) { d.ConsensusParams.Block.MaxBytes = 1 << 20 }), "not the one veritrial consortium assemble makes"},
		{"a validator of nobody's", editDoc(t, genesis, func(d *cmttypes.GenesisDoc) {
			d.Validators = append(d.Validators, cmttypes.GenesisValidator{PubKey: cmted25519.PubKey(pub(intruder.validator)), Power: 30})
		}), "not the one veritrial consortium assemble makes"},
		{"a reformatted file", bytes.ReplaceAll(genesis, []byte("\n  "), []byte("\n    ")), "not the one veritrial consortium assemble makes"},
		{"another quorum", reassemble(t, genesis, func(g *types.Genesis) { g.Governance.QuorumNum, g.Governance.QuorumDen = 1, 2 }), "the genesis rules"},
		{"an extra organisation", reassemble(t, genesis, func(g *types.Genesis) {
			g.Orgs = append(g.Orgs, types.Org{ID: "cro", Kind: types.OrgCRO})
			g.Accounts = append(g.Accounts, types.GenesisAccount{ID: "cro-admin", Org: "cro", Name: "X", Roles: []types.Role{types.RoleAdmin}, PubKey: pub(intruder.admin)})
		}), "the genesis members"},
		{"its administrator's key replaced", reassemble(t, genesis, func(g *types.Genesis) {
			for i := range g.Accounts {
				if g.Accounts[i].ID == "site-1-admin" {
					g.Accounts[i].PubKey = pub(intruder.admin)
				}
			}
		}), "the genesis changes what site-1 signed: its accounts"},
		{"its node account's key replaced", reassemble(t, genesis, func(g *types.Genesis) {
			for i := range g.Accounts {
				if g.Accounts[i].ID == "site-1-node" {
					g.Accounts[i].PubKey = pub(intruder.nodeAccount)
				}
			}
		}), "the genesis changes what site-1 signed: its accounts"},
		{"an extra account in its organisation", reassemble(t, genesis, func(g *types.Genesis) {
			g.Accounts = append(g.Accounts, types.GenesisAccount{ID: "site-1-ghost", Org: "site-1", Name: "Ghost", Roles: []types.Role{types.RoleInvestigator}, PubKey: pub(intruder.admin)})
		}), "its accounts"},
		{"its validator's power raised", reassemble(t, genesis, func(g *types.Genesis) { org(g, "site-1").Validators[0].Power = 11 }), "its organisation"},
		{"a second validator in its name", reassemble(t, genesis, func(g *types.Genesis) {
			o := org(g, "site-1")
			o.Validators = append(o.Validators, types.Validator{PubKey: pub(intruder.validator), Power: 10, NodeID: strings.Repeat("cd", 20)})
		}), "its organisation"},
		{"a node in its name", reassemble(t, genesis, func(g *types.Genesis) { org(g, "site-1").NodeIDs = []string{strings.Repeat("ef", 20)} }), "its organisation"},
		{"its name changed", reassemble(t, genesis, func(g *types.Genesis) { org(g, "site-1").Name = "Evil" }), "its organisation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Install(homeConfig(t, site1), c.genesis, InstallOptions{})
			wantErr(t, err, c.want)
			if _, err := os.Stat(filepath.Join(site1, "config", "genesis.json")); err == nil {
				t.Fatal("a refused install wrote the genesis")
			}
		})
	}

	// Another organisation's entry changed: site-1 cannot tell, the hash
	// comparison between the members can.
	changed := reassemble(t, genesis, func(g *types.Genesis) { org(g, "site-2").Name = "Evil" })
	res, err := Install(homeConfig(t, site1), changed, InstallOptions{})
	if err != nil || res.GenesisSHA256 == SHA256(genesis) {
		t.Fatalf("install of a genesis that changes site-2 only on site-1: %+v, %v", res, err)
	}
	_, err = Install(homeConfig(t, site1), genesis, InstallOptions{})
	wantErr(t, err, "holds another genesis")
	if _, err := Install(homeConfig(t, site1), genesis, InstallOptions{Replace: true}); err != nil {
		t.Fatalf("--force before the node ran: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(site1, "data", "blockstore.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = Install(homeConfig(t, site1), changed, InstallOptions{Replace: true})
	wantErr(t, err, "has run on another genesis")

	// The home's own keys and records.
	sponsor := homes[0].dir
	if err := os.Remove(filepath.Join(sponsor, "config", "node_key.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := p2p.LoadOrGenNodeKey(filepath.Join(sponsor, "config", "node_key.json")); err != nil {
		t.Fatal(err)
	}
	_, err = Install(homeConfig(t, sponsor), genesis, InstallOptions{})
	wantErr(t, err, "no longer those it joined with")
	site2 := homes[2].dir
	if err := os.Remove(node.NodeAccountFile(site2)); err != nil {
		t.Fatal(err)
	}
	_, err = Install(homeConfig(t, site2), genesis, InstallOptions{})
	wantErr(t, err, "cannot read the node account key")
	if _, err := node.CreateNodeAccount(site2, "site-2-node"); err != nil {
		t.Fatal(err)
	}
	_, err = Install(homeConfig(t, site2), genesis, InstallOptions{})
	wantErr(t, err, "no longer those it joined with")
	_, err = Install(cmtcfg.DefaultConfig().SetRoot(t.TempDir()), genesis, InstallOptions{})
	wantErr(t, err, "was not made by veritrial consortium join")
	regulator := homes[3].dir
	mf := filepath.Join(regulator, "config", MemberFile)
	bz, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, bytes.Replace(bz, []byte(`"name": "Org regulator"`), []byte(`"name": "Org Regulator"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Install(homeConfig(t, regulator), genesis, InstallOptions{})
	wantErr(t, err, MemberFile+": the signature of its administrator key does not verify")
}

// TestLaterMember: an organisation that joins a running consortium by
// governance makes its home from the consortium's draft, which does not
// list it, and installs the genesis, which does not include it, with
// every member as a peer; the genesis members cannot pass for one.
func TestLaterMember(t *testing.T) {
	draft := testDraft(t, fourOrgs...)
	homes := joinAll(t, draft, fourOrgs)
	genesis, _, err := Assemble(draft, files(homes))
	if err != nil {
		t.Fatal(err)
	}
	later := JoinOptions{Org: "site-3", Host: "10.0.0.15", P2PPort: 26656, RPCPort: 26657, Passphrase: testPassphrase, KDF: cheapKDF, Later: true}
	_, err = Join(t.TempDir(), draft, later)
	wantErr(t, err, "give its kind")
	o := later
	o.Org, o.Kind = "site-2", types.OrgSite
	_, err = Join(t.TempDir(), draft, o)
	wantErr(t, err, "the draft lists site-2: it joins at genesis, not later")
	o = later
	o.Later, o.Kind = false, types.OrgSite
	_, err = Join(t.TempDir(), draft, o)
	wantErr(t, err, "site-3 is not one of the draft's members (sponsor, site-1, site-2, regulator)")

	dir := t.TempDir()
	later.Kind = types.OrgSite
	m, err := Join(dir, draft, later)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Assemble(draft, append(files(homes), File{Name: "site-3.json", Data: mustEncode(t, m)}))
	wantErr(t, err, "site-3 is not one of the draft's members")
	_, err = Install(homeConfig(t, dir), genesis, InstallOptions{})
	wantErr(t, err, "site-3 is not one of the draft's members")
	res, err := Install(homeConfig(t, dir), genesis, InstallOptions{Later: true})
	if err != nil || len(res.Peers) != 4 || res.GenesisSHA256 != SHA256(genesis) {
		t.Fatalf("install on the later member's home: %+v, %v", res, err)
	}
	_, err = Install(homeConfig(t, homes[0].dir), genesis, InstallOptions{Later: true})
	wantErr(t, err, "the genesis includes sponsor: it is a member from genesis, not a later one")

	// Its member file is the change that adds it: proposed and voted on a
	// ledger, its validator joins the set and its administrator signs.
	c := apptest.New(t)
	c.MustDo("sponsor-admin", types.Msg{ProposeChange: &types.MsgProposeChange{Change: types.Change{AddOrg: m.AddOrg()}}})
	for _, org := range []string{"sponsor", "site1", "regulator", "site2"} {
		c.MustDo(org+"-admin", types.Msg{VoteChange: &types.MsgVoteChange{Proposal: 1, Approve: true}})
	}
	b := m.Body
	if len(c.Updates) != 1 || !bytes.Equal(c.Updates[0].PubKey.GetEd25519(), b.Validator.PubKey) || c.Updates[0].Power != b.Validator.Power {
		t.Fatalf("validator updates %v, want the member's validator %X at power %d", c.Updates, b.Validator.PubKey, b.Validator.Power)
	}
	var org types.Org
	var acct types.Account
	if !c.Get(types.KeyOrg("site-3"), &org) || !c.Get(types.KeyAccount(AdminKey("site-3")), &acct) {
		t.Fatal("site-3 or its administrator is not on the ledger")
	}
	if v := org.Validators; org.Kind != types.OrgSite || len(v) != 1 || v[0].NodeID != b.Node.ID || v[0].Host != "10.0.0.15:26656" || !bytes.Equal(acct.PubKey, b.Admin.PubKey) {
		t.Fatalf("site-3 on the ledger: %+v, its administrator %+v", org, acct)
	}
	// Its node account comes with it, as the genesis would give it.
	var na types.Account
	if !c.Get(types.KeyAccount(node.NodeAccountID("site-3")), &na) {
		t.Fatal("site-3's node account is not on the ledger")
	}
	if na.Org != "site-3" || !slices.Equal(na.Roles, []types.Role{types.RoleNode}) || !bytes.Equal(na.PubKey, b.NodeAccount.PubKey) || na.Name != node.NodeAccountName("site-3") {
		t.Fatalf("site-3's node account on the ledger: %+v", na)
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	bz, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return bz
}
