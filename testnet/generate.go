package testnet

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/readapi"
	"github.com/veritrial/veritrial/app/types"
)

// Defaults of Generate.
const (
	DefaultChainID  = "veritrial-testnet"
	DefaultBasePort = 26656
	// ManifestFile is the JSON description of a generated consortium, in
	// its output directory.
	ManifestFile = "manifest.json"
	// portStride separates the ports of two nodes sharing a host: node i
	// listens for peers on base+i*portStride, for RPC on the next port and
	// serves its read API on the one after.
	portStride = 10
	// validatorPower is every validator's voting power: all equal.
	validatorPower = 10
	// maxOrgs bounds the consortium size.
	maxOrgs = 64
)

// Options describe a consortium to generate.
type Options struct {
	// Orgs are the organisation IDs, one validator each, in order.
	Orgs []string
	// Kinds gives an organisation's kind; organisations not listed get
	// the kind their name starts with (sponsor, site, cro, regulator,
	// ethics).
	Kinds map[string]types.OrgKind
	// Hosts, when given, has one host name or IP address per
	// organisation: its node's machine. Empty means every node on
	// 127.0.0.1.
	Hosts []string
	// ChainID defaults to DefaultChainID.
	ChainID string
	// BasePort defaults to DefaultBasePort. Node i listens for peers on
	// BasePort+10*i, for RPC on BasePort+10*i+1 and serves its read API on
	// BasePort+10*i+2, except that nodes on hosts of their own all use
	// BasePort, BasePort+1 and BasePort+2.
	BasePort int
	// Timing defaults to node.DefaultTiming.
	Timing node.Timing
	// Passphrase encrypts every key; it defaults to node.DevPassphrase.
	Passphrase string
	// KDF, if set, are the key derivation parameters of the keyrings
	// (tests use cheap ones); nil means keyring.DefaultKDF.
	KDF *keyring.KDFParams
	// GenesisTime defaults to now.
	GenesisTime time.Time
}

// DevNotice says what a generated consortium is for: its manifest, the
// command's output and DIR/README.md start with it.
const DevNotice = "For development on one machine: this machine made every organisation's validator, node and people's keys, " +
	"so whoever ran it can sign as any of them. Form a real consortium with veritrial consortium new, join, assemble and install " +
	"(docs/CONSORTIUM.md)."

// Manifest describes a generated consortium. It is written to
// DIR/manifest.json; it holds no secret.
type Manifest struct {
	// Notice is DevNotice.
	Notice  string `json:"notice"`
	ChainID string `json:"chain_id"`
	// GenesisSHA256 is the SHA-256 of config/genesis.json, the same in
	// every home: organisations compare it before they start.
	GenesisSHA256 string `json:"genesis_sha256"`
	// DevPassphrase is set when the keys use the documented dev
	// passphrase.
	DevPassphrase string `json:"dev_passphrase,omitempty"`
	Nodes         []Node `json:"nodes"`
}

// Node is one organisation's validator node.
type Node struct {
	Org  string        `json:"org"`
	Kind types.OrgKind `json:"kind"`
	Name string        `json:"name"`
	// Home is the node's home directory, relative to the manifest.
	Home string `json:"home"`
	Host string `json:"host"`
	// P2P is the address peers dial (host:port), RPC the node's RPC
	// listen address and API the URL of its read API on its machine.
	P2P              string `json:"p2p"`
	P2PListen        string `json:"p2p_listen"`
	RPC              string `json:"rpc"`
	API              string `json:"api"`
	NodeID           string `json:"node_id"`
	ValidatorAddress string `json:"validator_address"`
	ValidatorPubKey  string `json:"validator_pubkey"`
	Keys             []Key  `json:"keys"`
	// NodeAccount is the account that commits the node's access log
	// head; its key is the home's config/node_account.json.
	NodeAccount string `json:"node_account"`
}

// Key is a person's key, kept in the keyring of its organisation's home.
type Key struct {
	Name   string       `json:"name"`
	Person string       `json:"person"`
	Roles  []types.Role `json:"roles"`
	PubKey string       `json:"pubkey"`
}

// InferKind returns the kind an organisation name starts with: sponsor,
// site, cro, regulator or ethics.
func InferKind(org string) (types.OrgKind, bool) {
	for _, k := range []types.OrgKind{types.OrgSponsor, types.OrgSite, types.OrgCRO, types.OrgRegulator, types.OrgEthics} {
		if strings.HasPrefix(org, string(k)) {
			return k, true
		}
	}
	return "", false
}

// ParseKinds parses "org=kind,org=kind" assignments.
func ParseKinds(specs []string) (map[string]types.OrgKind, error) {
	out := map[string]types.OrgKind{}
	for _, s := range specs {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			org, kind, ok := strings.Cut(part, "=")
			if !ok || org == "" || kind == "" {
				return nil, fmt.Errorf("kind %q is not ORG=KIND (e.g. acme=sponsor)", part)
			}
			k := types.OrgKind(strings.ToLower(kind))
			if !types.ValidOrgKind(k) {
				return nil, fmt.Errorf("kind %q of %s is not sponsor, site, cro, regulator or ethics", kind, org)
			}
			out[org] = k
		}
	}
	return out, nil
}

// nodePlan is a node's addresses before any file exists.
type nodePlan struct {
	org       string
	kind      types.OrgKind
	host      string
	p2pPort   int
	rpcPort   int
	p2pListen string
	rpcListen string
	api       readapi.Listen
}

// Validate reports what is wrong with the options, or nil: the checks
// Generate makes before it writes anything.
func (o Options) Validate() error {
	_, err := o.plan()
	return err
}

// plan checks o and fills in defaults; it returns one plan per node.
func (o *Options) plan() ([]nodePlan, error) {
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if len(o.ChainID) > cmttypes.MaxChainIDLen {
		return nil, fmt.Errorf("chain ID %q is longer than %d characters", o.ChainID, cmttypes.MaxChainIDLen)
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultBasePort
	}
	if o.Timing == (node.Timing{}) {
		o.Timing = node.DefaultTiming
	}
	if o.Timing.Propose == 0 {
		o.Timing.Propose = node.DefaultTiming.Propose
	}
	if o.Timing.Propose < 100*time.Millisecond || o.Timing.Propose > time.Minute {
		return nil, fmt.Errorf("timeout propose %s is out of range: use 100ms to 1m", o.Timing.Propose)
	}
	if o.Timing.Commit <= 0 || o.Timing.Commit > time.Minute || o.Timing.EmptyBlocksInterval < 0 || o.Timing.EmptyBlocksInterval > time.Hour {
		return nil, fmt.Errorf("timeout commit %s or empty-blocks interval %s is out of range: use 1ms to 1m and 0 to 1h", o.Timing.Commit, o.Timing.EmptyBlocksInterval)
	}
	if o.Passphrase == "" {
		o.Passphrase = node.DevPassphrase
	}
	if o.GenesisTime.IsZero() {
		o.GenesisTime = time.Now()
	}
	if len(o.Orgs) == 0 {
		return nil, errors.New("no organisations given: list them, e.g. --orgs sponsor,site-1,site-2,regulator")
	}
	if len(o.Orgs) > maxOrgs {
		return nil, fmt.Errorf("%d organisations is more than %d", len(o.Orgs), maxOrgs)
	}
	if len(o.Hosts) > 0 && len(o.Hosts) != len(o.Orgs) {
		return nil, fmt.Errorf("%d hosts for %d organisations: give one host per organisation, in the same order", len(o.Hosts), len(o.Orgs))
	}
	seen := map[string]bool{}
	for org := range o.Kinds {
		found := false
		for _, x := range o.Orgs {
			found = found || x == org
		}
		if !found {
			return nil, fmt.Errorf("a kind is given for %s, which is not among the organisations %s", org, strings.Join(o.Orgs, ","))
		}
	}
	hostCount := map[string]int{}
	for _, h := range o.Hosts {
		hostCount[h]++
	}
	lastPort := o.BasePort + (len(o.Orgs)-1)*portStride + 2
	if o.BasePort < 1 || lastPort > 65535 {
		return nil, fmt.Errorf("base port %d leaves no room for %d nodes (ports up to %d): use 1 to %d", o.BasePort, len(o.Orgs), lastPort, 65535-(len(o.Orgs)-1)*portStride-2)
	}
	var plans []nodePlan
	for i, org := range o.Orgs {
		if e := types.CheckID("organisation", org); e != nil {
			return nil, errors.New(e.Msg)
		}
		if keyring.ValidateName(org+"-admin") != nil {
			return nil, fmt.Errorf("organisation %q cannot prefix key names: use lowercase letters, digits, '.', '_' or '-'", org)
		}
		if seen[org] {
			return nil, fmt.Errorf("organisation %s is listed twice", org)
		}
		seen[org] = true
		kind, ok := o.Kinds[org]
		if !ok {
			if kind, ok = InferKind(org); !ok {
				return nil, fmt.Errorf("cannot tell the kind of organisation %s from its name: give it, e.g. --kinds %s=sponsor (sponsor, site, cro, regulator or ethics)", org, org)
			}
		}
		p := nodePlan{org: org, kind: kind, host: "127.0.0.1", p2pPort: o.BasePort + i*portStride}
		listenHost := "127.0.0.1"
		if len(o.Hosts) > 0 {
			h := strings.TrimSpace(o.Hosts[i])
			if h == "" || strings.ContainsAny(h, " /@:,") && net.ParseIP(h) == nil {
				return nil, fmt.Errorf("host %q of %s is not a host name or IP address", o.Hosts[i], org)
			}
			p.host = h
			listenHost = "0.0.0.0"
			if hostCount[o.Hosts[i]] == 1 {
				p.p2pPort = o.BasePort
			}
		}
		p.rpcPort = p.p2pPort + 1
		p.p2pListen = "tcp://" + net.JoinHostPort(listenHost, strconv.Itoa(p.p2pPort))
		// RPC stays on the machine: each organisation's people use their
		// own node; exposing it is a deliberate edit of config.toml.
		p.rpcListen = "tcp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p.rpcPort))
		// So does the read API, until the organisation gives it a
		// certificate (docs/API.md).
		p.api = node.LocalAPI(p.p2pPort + 2)
		plans = append(plans, p)
	}
	return plans, nil
}

// Generate writes one home per organisation into dir (dir/<org>), a shared
// genesis, persistent peers between all nodes, dir/manifest.json and
// dir/README.md. dir must not exist or be empty. Everything is built in a
// temporary directory next to dir and moved into place when complete.
func Generate(dir string, o Options) (*Manifest, error) {
	plans, err := o.plan()
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already exists and is not empty: choose another directory or remove it", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot use %s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory next to %s: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	m, err := generate(tmp, o, plans)
	if err != nil {
		return nil, err
	}
	os.Remove(dir) // an empty directory is replaced
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("cannot move the consortium into %s: %w", dir, err)
	}
	done = true
	return m, nil
}

func generate(dir string, o Options, plans []nodePlan) (*Manifest, error) {
	m := &Manifest{Notice: DevNotice, ChainID: o.ChainID}
	if o.Passphrase == node.DevPassphrase {
		m.DevPassphrase = node.DevPassphrase
	}
	g := types.Genesis{Params: types.DefaultParams(), Governance: types.DefaultGovParams()}
	var peers []string
	for _, p := range plans {
		home := filepath.Join(dir, p.org)
		conf := node.Config(home, p.org, p.rpcListen, p.p2pListen, o.Timing)
		if len(o.Hosts) > 0 {
			conf.P2P.ExternalAddress = net.JoinHostPort(p.host, strconv.Itoa(p.p2pPort))
		}
		files, err := node.InitFiles(conf)
		if err != nil {
			return nil, fmt.Errorf("node of %s: %w", p.org, err)
		}
		if err := node.WriteAPI(home, p.api); err != nil {
			return nil, fmt.Errorf("node of %s: %w", p.org, err)
		}
		pub := files.ValidatorPubKey
		n := Node{
			Org: p.org, Kind: p.kind, Name: orgName(p.org, p.kind), Home: p.org, Host: p.host,
			P2P:       net.JoinHostPort(p.host, strconv.Itoa(p.p2pPort)),
			P2PListen: p.p2pListen, RPC: p.rpcListen, API: p.api.URL(), NodeID: files.NodeID,
			ValidatorAddress: pub.Address().String(),
			ValidatorPubKey:  base64.StdEncoding.EncodeToString(pub.Bytes()),
		}
		peers = append(peers, n.NodeID+"@"+n.P2P)
		g.Orgs = append(g.Orgs, types.Org{ID: p.org, Name: n.Name, Kind: p.kind, Validators: []types.Validator{{
			PubKey: pub.Bytes(), Power: validatorPower, NodeID: n.NodeID, Host: n.P2P,
		}}})

		var opts []keyring.Option
		if o.KDF != nil {
			opts = append(opts, keyring.WithKDF(*o.KDF))
		}
		kr, err := keyring.Open(node.KeyringDir(home), opts...)
		if err != nil {
			return nil, err
		}
		people := node.Starters(p.kind)
		names := make([]string, len(people))
		for i, pp := range people {
			names[i] = p.org + "-" + pp.Suffix
		}
		infos, err := node.AddKeys(kr, names, o.Passphrase, nil)
		if err != nil {
			return nil, err
		}
		for i, pp := range people {
			person := n.Name + " " + pp.Title
			g.Accounts = append(g.Accounts, types.GenesisAccount{ID: names[i], Org: p.org, Name: person, Roles: pp.Roles, PubKey: infos[i].PubKey})
			n.Keys = append(n.Keys, Key{Name: names[i], Person: person, Roles: pp.Roles, PubKey: infos[i].PubKeyBase64()})
		}
		na, err := node.GenesisNodeAccount(home, g.Orgs[len(g.Orgs)-1])
		if err != nil {
			return nil, fmt.Errorf("node account of %s: %w", p.org, err)
		}
		g.Accounts = append(g.Accounts, na)
		n.NodeAccount = na.ID
		m.Nodes = append(m.Nodes, n)
	}
	doc, err := node.NewGenesisDoc(o.ChainID, o.GenesisTime, g)
	if err != nil {
		return nil, err
	}
	for i, n := range m.Nodes {
		home := filepath.Join(dir, n.Home)
		conf := node.Config(home, n.Org, n.RPC, n.P2PListen, o.Timing)
		if len(o.Hosts) > 0 {
			conf.P2P.ExternalAddress = n.P2P
		}
		var others []string
		for j, p := range peers {
			if j != i {
				others = append(others, p)
			}
		}
		conf.P2P.PersistentPeers = strings.Join(others, ",")
		if err := node.WriteConfigFile(node.ConfigFile(home), conf); err != nil {
			return nil, err
		}
		if err := doc.SaveAs(conf.GenesisFile()); err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", conf.GenesisFile(), err)
		}
	}
	gb, err := os.ReadFile(filepath.Join(dir, m.Nodes[0].Home, "config", "genesis.json"))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(gb)
	m.GenesisSHA256 = hex.EncodeToString(sum[:])
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(mb, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme(m, len(o.Hosts) > 0)), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// orgName is the printed name of a generated organisation (fictitious).
func orgName(org string, k types.OrgKind) string {
	titles := map[types.OrgKind]string{types.OrgSponsor: "Sponsor", types.OrgSite: "Site", types.OrgCRO: "CRO", types.OrgRegulator: "Regulator", types.OrgEthics: "Ethics Committee"}
	return "Demo " + titles[k] + " " + org
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not a testnet manifest: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// Node returns the node of org.
func (m *Manifest) Node(org string) (Node, bool) {
	for _, n := range m.Nodes {
		if n.Org == org {
			return n, true
		}
	}
	return Node{}, false
}

// readme renders DIR/README.md.
func readme(m *Manifest, hosts bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# veritrial consortium %s\n\n", m.ChainID)
	fmt.Fprintf(&b, "%s\n\nGenerated by `veritrial testnet init`. Genesis SHA-256: `%s` (the same in every home).\n\n", m.Notice, m.GenesisSHA256)
	b.WriteString("| org | kind | home | p2p | rpc | read API | node ID | keys |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range m.Nodes {
		var keys []string
		for _, k := range n.Keys {
			keys = append(keys, k.Name)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "| %s | %s | %s/ | %s | %s | %s | %s | %s |\n", n.Org, n.Kind, n.Home, n.P2P, n.RPC, n.API, n.NodeID, strings.Join(keys, ", "))
	}
	b.WriteString("\nStart a node with `veritrial --home <org> start`; talk to it with `veritrial --home <org> status`.\n")
	b.WriteString("Each node commits its access log's head to the ledger as the account <org>-node, whose key is config/node_account.json (no passphrase).\n")
	if m.DevPassphrase != "" {
		fmt.Fprintf(&b, "Every key's passphrase is %q: this consortium is for trying veritrial out, never for real trial data.\n", m.DevPassphrase)
	}
	if hosts {
		b.WriteString("\nTo try it on several machines, copy each home to its organisation's machine. Secret, per home: config/priv_validator_key.json, config/node_key.json, config/node_account.json, keyring/.\n" +
			"Open the p2p port of each machine to the other members' machines only; RPC and the read API listen on 127.0.0.1\n" +
			"(give the read API a certificate in config/veritrial.toml to serve people on other machines: docs/API.md).\n")
	}
	return b.String()
}
