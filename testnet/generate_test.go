package testnet

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// cheapKDF keeps key creation fast in tests.
var cheapKDF = &keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// readConfig reads a home's config.toml over CometBFT's defaults.
func readConfig(t *testing.T, home string) *cmtcfg.Config {
	t.Helper()
	v := viper.New()
	v.SetConfigFile(filepath.Join(home, "config", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	conf := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(conf); err != nil {
		t.Fatal(err)
	}
	conf.SetRoot(home)
	if err := conf.ValidateBasic(); err != nil {
		t.Fatalf("%s: %v", home, err)
	}
	return conf
}

func TestGenerateLocalConsortium(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	orgs := []string{"sponsor", "site-1", "site-2", "cro-a", "regulator"}
	m, err := Generate(dir, Options{Orgs: orgs, KDF: cheapKDF, ChainID: "vt-gen-test", BasePort: 30000})
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadManifest(dir)
	if err != nil || len(read.Nodes) != len(orgs) || read.ChainID != "vt-gen-test" || read.DevPassphrase != node.DevPassphrase || read.Notice != DevNotice {
		t.Fatalf("manifest: %+v, %v", read, err)
	}
	if rm, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || !strings.Contains(string(rm), DevNotice) {
		t.Fatalf("README.md lacks the development notice (%v):\n%s", err, rm)
	}
	wantKeys := map[types.OrgKind][]string{
		types.OrgSponsor:   {"admin", "dm", "stat"},
		types.OrgSite:      {"admin", "coordinator", "investigator"},
		types.OrgCRO:       {"admin", "monitor"},
		types.OrgRegulator: {"admin", "auditor"},
	}
	var genesis []byte
	ports := map[string]bool{}
	peerOf := map[string]string{}
	for i, n := range m.Nodes {
		if n.Org != orgs[i] {
			t.Fatalf("node %d is %s, want %s", i, n.Org, orgs[i])
		}
		home := filepath.Join(dir, n.Home)
		g, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if genesis == nil {
			genesis = g
		} else if !bytes.Equal(g, genesis) {
			t.Fatalf("genesis of %s differs from the first home's", n.Org)
		}
		conf := readConfig(t, home)
		api, ok, err := node.LoadAPI(home)
		if err != nil || !ok || api.URL() != n.API || api.TLS() {
			t.Errorf("%s: read API %+v (%v %v), manifest says %s", n.Org, api, ok, err, n.API)
		}
		for _, a := range []string{conf.RPC.ListenAddress, conf.P2P.ListenAddress, api.Addr} {
			if !strings.HasPrefix(a, "tcp://127.0.0.1:") || ports[a] {
				t.Errorf("%s: listen address %s is not a distinct 127.0.0.1 port", n.Org, a)
			}
			ports[a] = true
		}
		if !conf.P2P.AllowDuplicateIP || conf.P2P.AddrBookStrict || conf.Consensus.TimeoutCommit != node.DefaultTiming.Commit || conf.Consensus.TimeoutPropose != node.DefaultTiming.Propose || conf.TxIndex.Indexer != "kv" {
			t.Errorf("%s: p2p/consensus settings not tuned: %+v", n.Org, conf.P2P)
		}
		if !conf.FilterPeers || conf.P2P.PexReactor || len(node.ExposedRPC(conf)) != 0 {
			t.Errorf("%s: filter_peers %v, pex %v, RPC exposed %v; want peers filtered by the ledger, no peer exchange, RPC on loopback", n.Org, conf.FilterPeers, conf.P2P.PexReactor, node.ExposedRPC(conf))
		}
		nk, err := p2p.LoadNodeKey(conf.NodeKeyFile())
		if err != nil || string(nk.ID()) != n.NodeID {
			t.Errorf("%s: node key %v does not match the manifest's node ID %s (%v)", n.Org, nk, n.NodeID, err)
		}
		pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
		if base64.StdEncoding.EncodeToString(pv.Key.PubKey.Bytes()) != n.ValidatorPubKey {
			t.Errorf("%s: validator key does not match the manifest", n.Org)
		}
		peerOf[n.Org] = conf.P2P.PersistentPeers
		kr, err := keyring.Open(node.KeyringDir(home))
		if err != nil {
			t.Fatal(err)
		}
		infos, err := kr.List()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, in := range infos {
			names = append(names, strings.TrimPrefix(in.Name, n.Org+"-"))
		}
		if strings.Join(names, ",") != strings.Join(wantKeys[n.Kind], ",") {
			t.Errorf("%s (%s): keyring holds %v, want %v", n.Org, n.Kind, names, wantKeys[n.Kind])
		}
		s, err := kr.Signer(n.Org+"-admin", node.DevPassphrase)
		if err != nil {
			t.Errorf("%s: admin key does not open with the dev passphrase: %v", n.Org, err)
		} else {
			s.Close()
		}
	}
	// Every node dials every other node, by node ID and p2p address.
	for _, n := range m.Nodes {
		for _, o := range m.Nodes {
			want := o.NodeID + "@" + o.P2P
			if has := strings.Contains(peerOf[n.Org], want); has != (o.Org != n.Org) {
				t.Errorf("persistent peers of %s: %q (peer %s present: %v)", n.Org, peerOf[n.Org], o.Org, has)
			}
		}
	}

	doc, err := cmttypes.GenesisDocFromJSON(genesis)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "vt-gen-test" || len(doc.Validators) != len(orgs) {
		t.Fatalf("genesis: chain %s, %d validators", doc.ChainID, len(doc.Validators))
	}
	for i, v := range doc.Validators {
		if v.Power != doc.Validators[0].Power || v.Name != orgs[i] {
			t.Errorf("validator %d: %s power %d", i, v.Name, v.Power)
		}
	}
	g, err := types.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range g.Orgs {
		n := m.Nodes[i]
		if o.ID != n.Org || o.Kind != n.Kind || len(o.Validators) != 1 || types.KeyText(o.Validators[0].PubKey) != n.ValidatorPubKey || o.Validators[0].NodeID != n.NodeID {
			t.Errorf("genesis org %+v does not match node %+v", o, n)
		}
	}
	keys := 0
	for _, n := range m.Nodes {
		for _, k := range n.Keys {
			keys++
			found := false
			for _, a := range g.Accounts {
				if a.ID == k.Name && a.Org == n.Org && base64.StdEncoding.EncodeToString(a.PubKey) == k.PubKey {
					found = true
				}
			}
			if !found {
				t.Errorf("key %s of %s has no matching genesis account", k.Name, n.Org)
			}
		}
	}
	// Each home holds its organisation's node account key.
	for _, n := range m.Nodes {
		na, err := node.LoadNodeAccount(filepath.Join(dir, n.Home))
		if err != nil || na.ID != n.Org+"-node" || n.NodeAccount != na.ID {
			t.Errorf("node account of %s: %q %+v %v", n.Org, n.NodeAccount, na, err)
			continue
		}
		found := false
		for _, a := range g.Accounts {
			found = found || a.ID == na.ID && a.Org == n.Org && len(a.Roles) == 1 && a.Roles[0] == types.RoleNode && bytes.Equal(a.PubKey, na.PubKey())
		}
		if !found {
			t.Errorf("node account %s has no matching genesis account", na.ID)
		}
	}
	if keys+len(m.Nodes) != len(g.Accounts) || keys != 13 {
		t.Errorf("%d keys and %d node accounts, %d genesis accounts, want 13 keys", keys, len(m.Nodes), len(g.Accounts))
	}

	if _, err := Generate(dir, Options{Orgs: orgs, KDF: cheapKDF}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("generating into an existing consortium: %v", err)
	}
}

func TestGenerateHostsAndKinds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	kinds, err := ParseKinds([]string{"acme=sponsor,clinic-a=site", "clinic-b=SITE", "agency=regulator"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Generate(dir, Options{
		Orgs:  []string{"acme", "clinic-a", "clinic-b", "agency"},
		Kinds: kinds,
		Hosts: []string{"10.0.0.11", "10.0.0.12", "vt-node.example.org", "vt-node.example.org"},
		KDF:   cheapKDF,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind types.OrgKind
		p2p  string
	}{{types.OrgSponsor, "10.0.0.11:26656"}, {types.OrgSite, "10.0.0.12:26656"}, {types.OrgSite, "vt-node.example.org:26676"}, {types.OrgRegulator, "vt-node.example.org:26686"}}
	for i, n := range m.Nodes {
		if n.Kind != want[i].kind || n.P2P != want[i].p2p {
			t.Errorf("node %s: kind %s p2p %s, want %s %s", n.Org, n.Kind, n.P2P, want[i].kind, want[i].p2p)
		}
		conf := readConfig(t, filepath.Join(dir, n.Home))
		if !strings.HasPrefix(conf.P2P.ListenAddress, "tcp://0.0.0.0:") || conf.P2P.ExternalAddress != n.P2P || !strings.HasPrefix(conf.RPC.ListenAddress, "tcp://127.0.0.1:") {
			t.Errorf("node %s: p2p %s external %s rpc %s", n.Org, conf.P2P.ListenAddress, conf.P2P.ExternalAddress, conf.RPC.ListenAddress)
		}
		// The read API stays on the machine: it has no certificate.
		_, port, _ := net.SplitHostPort(n.P2P)
		if p, _ := strconv.Atoi(port); n.API != fmt.Sprintf("http://127.0.0.1:%d", p+2) {
			t.Errorf("node %s: read API %s, want 127.0.0.1 two ports above p2p %s", n.Org, n.API, n.P2P)
		}
	}
}

func TestGenerateRefusesBadOptions(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "no organisations"},
		{Options{Orgs: []string{"sponsor", "hospital"}}, "cannot tell the kind of organisation hospital"},
		{Options{Orgs: []string{"sponsor", "sponsor"}}, "listed twice"},
		{Options{Orgs: []string{"sponsor", "site-1"}, Hosts: []string{"h1"}}, "1 hosts for 2 organisations"},
		{Options{Orgs: []string{"sponsor", "site-1"}, Hosts: []string{"h1", "a b"}}, "not a host name"},
		{Options{Orgs: []string{"sponsor"}, Kinds: map[string]types.OrgKind{"site-9": types.OrgSite}}, "not among the organisations"},
		{Options{Orgs: []string{"sponsor", "Site 1"}}, "organisation"},
		{Options{Orgs: []string{"sponsor"}, BasePort: 65535}, "base port"},
		{Options{Orgs: []string{"sponsor"}, ChainID: strings.Repeat("x", 60)}, "chain ID"},
		{Options{Orgs: []string{"sponsor"}, Timing: node.Timing{Commit: -1}}, "out of range"},
		{Options{Orgs: []string{"sponsor"}, Timing: node.Timing{Propose: time.Millisecond, Commit: time.Second}}, "timeout propose 1ms is out of range"},
	} {
		err := c.o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	for _, spec := range []string{"acme", "acme=pharma", "=site"} {
		if _, err := ParseKinds([]string{spec}); err == nil {
			t.Errorf("ParseKinds(%q) accepted", spec)
		}
	}
	if k, ok := InferKind("regulator-eu"); !ok || k != types.OrgRegulator {
		t.Errorf("InferKind(regulator-eu) = %s, %v", k, ok)
	}
}
