package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// Installed is what Install checked and wrote.
type Installed struct {
	Org           string    `json:"org"`
	ChainID       string    `json:"chain_id"`
	GenesisTime   time.Time `json:"genesis_time"`
	GenesisSHA256 string    `json:"genesis_sha256"`
	// Orgs are the genesis organisations, for the members to compare.
	Orgs []types.Org `json:"orgs"`
	// Peers are the persistent peers written to config.toml: every other
	// member's validator node, as node-id@host:port.
	Peers []string `json:"persistent_peers"`
	// Again is set when the home held this genesis already.
	Again bool `json:"already_installed"`
}

// InstallOptions qualify Install.
type InstallOptions struct {
	// Replace allows replacing another genesis the node has not run on.
	Replace bool
	// Later is set on the home of an organisation that joined a running
	// consortium (JoinOptions.Later): the genesis must not include it.
	Later bool
}

// Install checks genesis, the bytes of a genesis.json, for the home of
// conf (made by Join) and installs it there: it must be the genesis
// Assemble makes of its app_state and of the draft the home joined (chain
// ID, genesis time, consensus parameters, validators, the draft's rules
// and expected members), and hold the home's organisation exactly as its
// member file declared it, with the home's own keys and no other account
// or node (not at all, for a later member). Then the genesis is written
// into the home and the other members' validator nodes become its
// persistent peers. A home holding another genesis is refused unless
// o.Replace, and a home whose node has stored blocks always.
func Install(conf *cmtcfg.Config, genesis []byte, o InstallOptions) (*Installed, error) {
	d, m, err := joined(conf, o.Later)
	if err != nil {
		return nil, err
	}
	doc, g, err := checkGenesis(genesis, d)
	if err != nil {
		return nil, err
	}
	if err := checkOwnEntry(conf, m, g, o.Later); err != nil {
		return nil, err
	}
	res := &Installed{Org: m.Body.Org, ChainID: doc.ChainID, GenesisTime: doc.GenesisTime, GenesisSHA256: SHA256(genesis), Orgs: g.Orgs}
	for _, o := range g.Orgs {
		if o.ID == m.Body.Org {
			continue
		}
		for _, v := range o.Validators {
			if err := checkP2P(v.Host); err != nil {
				return nil, fmt.Errorf("cannot peer with %s: %w", o.ID, err)
			}
			res.Peers = append(res.Peers, v.NodeID+"@"+v.Host)
		}
	}
	if res.Again, err = writeGenesis(conf, genesis, o.Replace); err != nil {
		return nil, err
	}
	conf.P2P.PersistentPeers = strings.Join(res.Peers, ",")
	if err := node.WriteConfigFile(node.ConfigFile(conf.RootDir), conf); err != nil {
		return nil, err
	}
	return res, nil
}

// joined reads the draft and the member file a home made by Join keeps;
// the draft expects the member unless it joined later.
func joined(conf *cmtcfg.Config, later bool) (*Draft, *Member, error) {
	dir := filepath.Join(conf.RootDir, cmtcfg.DefaultConfigDir)
	draft, err := os.ReadFile(filepath.Join(dir, DraftFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s was not made by veritrial consortium join (it has no %s): install a consortium's genesis on the home its organisation joined with", conf.RootDir, filepath.Join(cmtcfg.DefaultConfigDir, DraftFile))
	}
	if err != nil {
		return nil, nil, err
	}
	d, err := ParseDraft(draft)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", DraftFile, err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, MemberFile))
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseMember(mb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", MemberFile, err)
	}
	if err := m.checkDraft(d, SHA256(draft)); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", MemberFile, err)
	}
	if !later {
		if err := d.checkExpected(m.Body.Org, m.Body.Kind); err != nil {
			return nil, nil, fmt.Errorf("%s: %w (an organisation that joined a running consortium installs its genesis as a later member)", MemberFile, err)
		}
	}
	return d, m, nil
}

// checkGenesis checks that genesis is exactly what Assemble makes of its
// own app_state with draft d's chain ID and genesis time, with d's rules
// and, if d lists them, d's members.
func checkGenesis(genesis []byte, d *Draft) (*cmttypes.GenesisDoc, *types.Genesis, error) {
	if len(genesis) > MaxFileSize {
		return nil, nil, fmt.Errorf("the genesis is larger than %d bytes", MaxFileSize)
	}
	doc, err := cmttypes.GenesisDocFromJSON(genesis)
	if err != nil {
		return nil, nil, fmt.Errorf("not a CometBFT genesis document: %w", err)
	}
	if doc.ChainID != d.ChainID {
		return nil, nil, fmt.Errorf("the genesis is of chain %s, but this home joined the draft of chain %s", doc.ChainID, d.ChainID)
	}
	g, err := types.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, nil, err
	}
	want, err := node.NewGenesisDoc(d.ChainID, d.GenesisTime, *g)
	if err != nil {
		return nil, nil, err
	}
	if wb, err := encodeGenesis(want); err != nil || !bytes.Equal(wb, genesis) {
		return nil, nil, errors.New("the genesis is not the one veritrial consortium assemble makes of its app_state and the draft: its genesis time, consensus parameters or validators were changed, or the file was edited")
	}
	if g.Governance != d.Governance || g.Params != d.Params {
		return nil, nil, fmt.Errorf("the genesis rules (governance %+v, params %+v) are not the draft's (governance %+v, params %+v)", g.Governance, g.Params, d.Governance, d.Params)
	}
	if len(d.Members) > 0 {
		var got, exp []string
		for _, o := range g.Orgs {
			got = append(got, o.ID+" ("+string(o.Kind)+")")
		}
		for _, e := range d.Members {
			exp = append(exp, e.Org+" ("+string(e.Kind)+")")
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			return nil, nil, fmt.Errorf("the genesis members %s are not the draft's %s", strings.Join(got, ", "), strings.Join(exp, ", "))
		}
	}
	return doc, g, nil
}

// checkOwnEntry checks that the home's keys are those of its member file
// and that g holds its organisation and accounts exactly as the member
// file declares them, or, for a later member, neither.
func checkOwnEntry(conf *cmtcfg.Config, m *Member, g *types.Genesis, later bool) error {
	b := &m.Body
	pv, err := readValidatorKey(conf)
	if err != nil {
		return err
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("cannot read the node key: %w", err)
	}
	kr, err := keyring.Open(node.KeyringDir(conf.RootDir))
	if err != nil {
		return err
	}
	admin, err := kr.Show(AdminKey(b.Org))
	if err != nil {
		return err
	}
	na, err := node.LoadNodeAccount(conf.RootDir)
	if err != nil {
		return fmt.Errorf("cannot read the node account key: %w", err)
	}
	if !bytes.Equal(pv.PubKey.Bytes(), b.Validator.PubKey) || !bytes.Equal(nodeKey.PubKey().Bytes(), b.Node.PubKey) || !bytes.Equal(admin.PubKey, b.Admin.PubKey) ||
		na.ID != b.NodeAccount.Account || !bytes.Equal(na.PubKey(), b.NodeAccount.PubKey) {
		return fmt.Errorf("the keys of %s are no longer those it joined with (%s): install the genesis on the home that joined", conf.RootDir, MemberFile)
	}
	wantOrg, wantAccounts := b.genesisEntry()
	var gotOrg *types.Org
	for i := range g.Orgs {
		if g.Orgs[i].ID == b.Org {
			o := g.Orgs[i]
			o.Status = ""
			gotOrg = &o
		}
	}
	var gotAccounts []types.GenesisAccount
	for _, a := range g.Accounts {
		if a.Org == b.Org {
			gotAccounts = append(gotAccounts, a)
		}
	}
	switch {
	case later && (gotOrg != nil || gotAccounts != nil):
		return fmt.Errorf("the genesis includes %s: it is a member from genesis, not a later one", b.Org)
	case later:
		return nil
	case gotOrg == nil:
		return fmt.Errorf("the genesis does not include %s (a later member installs it as such)", b.Org)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{{"organisation", gotOrg, wantOrg}, {"accounts", gotAccounts, wantAccounts}} {
		got, _ := json.Marshal(c.got)
		want, _ := json.Marshal(c.want)
		if !bytes.Equal(got, want) {
			return fmt.Errorf("the genesis changes what %s signed: its %s are %s, not %s", b.Org, c.what, got, want)
		}
	}
	return nil
}

// writeGenesis writes genesis into the home, whole or not at all; again
// reports that the home held it already. Another genesis is replaced
// only if replace is set and the node has stored no block.
func writeGenesis(conf *cmtcfg.Config, genesis []byte, replace bool) (again bool, err error) {
	path := conf.GenesisFile()
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, genesis):
		return true, nil
	case err == nil && !replace:
		return false, fmt.Errorf("%s holds another genesis (SHA-256 %s): pass --force to replace it", path, SHA256(old))
	case err == nil:
		if _, err := os.Stat(filepath.Join(conf.DBDir(), "blockstore.db")); err == nil {
			return false, fmt.Errorf("the node of %s has run on another genesis (SHA-256 %s): its chain data would not match; make a new home", conf.RootDir, SHA256(old))
		}
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".genesis-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(genesis)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return false, nil
}
