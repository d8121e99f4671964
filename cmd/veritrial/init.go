package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// Defaults of veritrial init.
const (
	defaultChainID = "veritrial-dev"
	defaultRPCPort = 26657
	defaultP2PPort = 26656
	// devValidatorPower is the voting power of the demo's validator.
	devValidatorPower = 10
)

// validatorOrg is the organisation that runs the demo's single validator:
// the regulator, so that consortium changes can pass on one machine (the
// governance rules need a yes from a voting organisation that is not a
// sponsor; see docs/CONSORTIUM.md).
const validatorOrg = "regulator"

func initCommand() *cli.Command {
	return &cli.Command{
		Name:     "init",
		Category: categoryNode,
		Usage:    "create a home with a ready single-machine demo consortium",
		UsageText: `veritrial init [--chain-id ID] [--rpc-port N] [--p2p-port N] [--http-port N] [--force]

Example:
   veritrial init
   veritrial --home /tmp/vt init --chain-id demo-1 --rpc-port 36657 --p2p-port 36656 --http-port 36680`,
		Description: `Creates in the home: config/config.toml (CometBFT's standard file, tuned for a
fast one-machine chain: 500 ms commits, RPC on 127.0.0.1), config/veritrial.toml
(the read API on 127.0.0.1 at --http-port: the CLI's default node), config/genesis.json
(one validator, run by the regulator, the organisations sponsor, site1, cro and
regulator and one account per role in app_state), the node and validator keys, and a keyring with
the keys sponsor-admin, sponsor-dm, sponsor-stat (the unblinded statistician), site1-admin, site1-investigator,
site1-coordinator, cro-monitor (admin and monitor of the CRO),
regulator-admin and regulator-auditor. The node's own account,
regulator-node (role node), commits the head of the node's access log to the
ledger; its key is config/node_account.json, unencrypted and readable by its
owner only, so that the node signs without a prompt (docs/ACCESSLOG.md).

Every key in the keyring is encrypted under the dev passphrase "` + node.DevPassphrase + `", which init
prints: such a home is for trying veritrial out, never for real trial data.
An existing home is refused unless --force is given (which replaces it, keys and
chain data included). Nothing is left behind if init fails.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "chain-id", Value: defaultChainID, Usage: "chain ID of the new consortium"},
			&cli.IntFlag{Name: "rpc-port", Value: defaultRPCPort, Usage: "RPC port on 127.0.0.1"},
			&cli.IntFlag{Name: "p2p-port", Value: defaultP2PPort, Usage: "peer-to-peer port on 127.0.0.1"},
			&cli.IntFlag{Name: "http-port", Value: node.DefaultAPIPort, Usage: "read API port on 127.0.0.1"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing home (its keys and chain data are deleted)"},
		},
		Action: runInit,
	}
}

// initOptions are veritrial init's settings.
type initOptions struct {
	ChainID string
	RPCPort int
	P2PPort int
	APIPort int
	Force   bool
	// Progress, when set, is told what init is doing, a line at a time.
	Progress func(format string, args ...any)
}

// initResult is what init created, as --output json shows it.
type initResult struct {
	Home          string       `json:"home"`
	ChainID       string       `json:"chain_id"`
	API           string       `json:"api"`
	RPC           string       `json:"rpc"`
	P2P           string       `json:"p2p"`
	NodeID        string       `json:"node_id"`
	Validator     string       `json:"validator_address"`
	DevPassphrase string       `json:"dev_passphrase"`
	Orgs          []types.Org  `json:"orgs"`
	Keys          []initKeyDoc `json:"keys"`
	// NodeAccount is the account that commits the node's access log head
	// (its key: config/node_account.json).
	NodeAccount string `json:"node_account"`
}

type initKeyDoc struct {
	Name   string       `json:"name"`
	Org    string       `json:"org"`
	Person string       `json:"person"`
	Roles  []types.Role `json:"roles"`
	PubKey string       `json:"pubkey"`
}

func runInit(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	home, err := homeDir(c)
	if err != nil {
		return err
	}
	opts := initOptions{ChainID: c.String("chain-id"), RPCPort: c.Int("rpc-port"), P2PPort: c.Int("p2p-port"), APIPort: c.Int("http-port"), Force: c.Bool("force"),
		Progress: func(format string, args ...any) { note(c, format, args...) }}
	res, err := initHome(home, opts)
	if err != nil {
		return err
	}
	return emit(c, res, func(w io.Writer) error {
		printf(w, "Created a demo consortium in %s\n\n", res.Home)
		printf(w, "  chain ID      %s\n  read API      %s\n  RPC           %s\n  P2P           %s\n  node ID       %s\n  node account  %s (commits the access log's head; key in config/node_account.json)\n\n", res.ChainID, res.API, res.RPC, res.P2P, res.NodeID, res.NodeAccount)
		t := indented(w, "  ")
		t.row("KEY", "ORG", "PERSON", "ROLES")
		for _, k := range res.Keys {
			t.row(k.Name, k.Org, k.Person, fmt.Sprintf("%v", k.Roles))
		}
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\nEvery key's passphrase is %q (dev homes only: never use this home for real data).\n", res.DevPassphrase)
		printf(w, "Start the node with:  veritrial --home %s start\n", res.Home)
		return nil
	})
}

// initHome builds the demo home.
func initHome(home string, o initOptions) (*initResult, error) {
	if err := checkInitOptions(o); err != nil {
		return nil, err
	}
	var res *initResult
	err := createHome(home, o.Force, func(dir string) (err error) {
		res, err = buildHome(dir, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Home = home
	return res, nil
}

// createHome has build write a new home into a temporary directory next
// to home (mode 0700) and moves it into place only when complete; an
// existing home is replaced only with force. Nothing is left behind if
// build fails.
func createHome(home string, force bool, build func(dir string) error) error {
	replace, err := checkHomeFree(home, force)
	if err != nil {
		return err
	}
	parent := filepath.Dir(home)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return failf("cannot create %s: %v", parent, pathError(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(home)+".init-*")
	if err != nil {
		return failf("cannot create a directory next to %s: %v", home, pathError(err))
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o700); err != nil {
		return failf("cannot set the permissions of %s: %v", tmp, pathError(err))
	}
	if err := build(tmp); err != nil {
		return err
	}
	if err := moveIntoPlace(tmp, home, replace); err != nil {
		return err
	}
	done = true
	return nil
}

func checkInitOptions(o initOptions) error {
	if o.ChainID == "" || len(o.ChainID) > cmttypes.MaxChainIDLen {
		return usageErrorf("--chain-id must have 1 to %d characters", cmttypes.MaxChainIDLen)
	}
	for _, p := range []struct {
		name string
		port int
	}{{"--rpc-port", o.RPCPort}, {"--p2p-port", o.P2PPort}, {"--http-port", o.APIPort}} {
		if p.port < 1 || p.port > 65535 {
			return usageErrorf("%s %d is not a port: use 1 to 65535", p.name, p.port)
		}
	}
	if o.RPCPort == o.P2PPort || o.APIPort == o.RPCPort || o.APIPort == o.P2PPort {
		return usageErrorf("--rpc-port %d, --p2p-port %d and --http-port %d: use three different ports", o.RPCPort, o.P2PPort, o.APIPort)
	}
	return nil
}

// checkHomeFree reports whether home exists (and must be replaced): an
// existing non-empty home needs force; a missing or empty one is fine.
func checkHomeFree(home string, force bool) (replace bool, err error) {
	st, err := os.Lstat(home)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return false, usageErrorf("cannot use %s as the home: part of its path is a file, not a directory", home)
	}
	if err != nil {
		return false, failf("cannot inspect %s: %v", home, pathError(err))
	}
	if !st.IsDir() {
		return false, usageErrorf("%s exists and is not a directory: choose another --home", home)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		return false, failf("cannot read %s: %v", home, pathError(err))
	}
	if len(entries) > 0 && !force {
		return false, usageErrorf("%s already exists: pass --force to replace it (its keys and chain data are deleted) or choose another --home", home)
	}
	return true, nil
}

// moveIntoPlace renames the finished tmp to home, replacing an existing
// home only after the new one is complete.
func moveIntoPlace(tmp, home string, replace bool) error {
	if !replace {
		if err := os.Rename(tmp, home); err != nil {
			return failf("cannot move the new home into %s: %v", home, err)
		}
		syncDir(filepath.Dir(home))
		return nil
	}
	old, err := os.MkdirTemp(filepath.Dir(home), "."+filepath.Base(home)+".old-*")
	if err != nil {
		return failf("cannot replace %s: %v", home, pathError(err))
	}
	os.Remove(old) // only its unique name is needed
	if err := os.Rename(home, old); err != nil {
		return failf("cannot replace %s (is it in use?): %v", home, err)
	}
	if err := os.Rename(tmp, home); err != nil {
		if rerr := os.Rename(old, home); rerr != nil {
			return failf("cannot replace %s: %v; the previous home was kept in %s", home, err, old)
		}
		return failf("cannot replace %s: %v", home, err)
	}
	syncDir(filepath.Dir(home))
	if err := os.RemoveAll(old); err != nil {
		return failf("the new home is in %s but the previous one could not be removed from %s: %v", home, old, err)
	}
	return nil
}

// buildHome writes a complete home into dir.
func buildHome(dir string, o initOptions) (*initResult, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	progress("Writing config.toml and the node and validator keys")
	conf := devConfig(dir, o)
	files, err := node.InitFiles(conf)
	if err != nil {
		return nil, failf("%v", pathError(err))
	}
	pub := files.ValidatorPubKey
	api := node.LocalAPI(o.APIPort)
	if err := node.WriteAPI(dir, api); err != nil {
		return nil, failf("%v", pathError(err))
	}

	kr, err := keyring.Open(node.KeyringDir(dir))
	if err != nil {
		return nil, failf("%v", err)
	}
	res := &initResult{
		ChainID:       o.ChainID,
		API:           api.URL(),
		RPC:           conf.RPC.ListenAddress,
		P2P:           conf.P2P.ListenAddress,
		NodeID:        files.NodeID,
		Validator:     pub.Address().String(),
		DevPassphrase: node.DevPassphrase,
	}
	g := types.Genesis{Params: types.DefaultParams(), Governance: types.DefaultGovParams()}
	for _, org := range node.DemoOrgs() {
		if org.ID == validatorOrg {
			org.Validators = []types.Validator{{PubKey: pub.Bytes(), Power: devValidatorPower, NodeID: files.NodeID, Host: fmt.Sprintf("127.0.0.1:%d", o.P2PPort)}}
		}
		g.Orgs = append(g.Orgs, org)
	}
	accounts := node.DemoAccounts()
	progress("Generating %d keys, each encrypted under the dev passphrase with argon2id, a memory-hard key derivation slow on purpose (it makes guessing a passphrase costly): a few seconds", len(accounts))
	infos, err := addDevKeys(kr, accounts, progress)
	if err != nil {
		return nil, err
	}
	for i, a := range accounts {
		a.PubKey = infos[i].PubKey
		g.Accounts = append(g.Accounts, a)
		res.Keys = append(res.Keys, initKeyDoc{Name: a.ID, Org: a.Org, Person: a.Name, Roles: a.Roles, PubKey: infos[i].PubKeyBase64()})
	}
	var na types.GenesisAccount
	for _, o := range g.Orgs {
		if o.ID == validatorOrg {
			if na, err = node.GenesisNodeAccount(dir, o); err != nil {
				return nil, failf("cannot create the node account's key: %v", pathError(err))
			}
		}
	}
	g.Accounts = append(g.Accounts, na)
	res.NodeAccount = na.ID
	res.Orgs = g.Orgs
	progress("Writing the genesis: %d organisations, %d accounts, one validator", len(g.Orgs), len(g.Accounts))
	doc, err := node.NewGenesisDoc(o.ChainID, time.Now(), g)
	if err != nil {
		return nil, failf("internal error: %v", err)
	}
	if err := doc.SaveAs(conf.GenesisFile()); err != nil {
		return nil, failf("cannot write %s: %v", conf.GenesisFile(), err)
	}
	return res, nil
}

// addDevKeys creates the keys of accounts (named by account ID) under
// node.DevPassphrase, in order, telling progress of each.
func addDevKeys(kr *keyring.Keyring, accounts []types.GenesisAccount, progress func(string, ...any)) ([]keyring.Info, error) {
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.ID
	}
	n := 0
	infos, err := node.AddKeys(kr, names, node.DevPassphrase, func(name string) {
		n++
		progress("  key %d of %d: %s", n, len(names), name)
	})
	if err != nil {
		return nil, failf("%v", err)
	}
	return infos, nil
}

// devConfig returns CometBFT's default configuration tuned for a fast
// single-machine chain rooted at dir.
func devConfig(dir string, o initOptions) *cmtcfg.Config {
	return node.Config(dir, "veritrial-"+validatorOrg,
		fmt.Sprintf("tcp://127.0.0.1:%d", o.RPCPort), fmt.Sprintf("tcp://127.0.0.1:%d", o.P2PPort), node.DefaultTiming)
}
