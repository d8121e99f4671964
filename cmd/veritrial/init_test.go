package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

func TestInitCreatesAValidHome(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 3)
	r := mustVT(t, env, "--home", home, "init", "--chain-id", "test-chain", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]), "--output", "json")
	var res initResult
	decode(t, r, &res)
	if res.Home != home || res.ChainID != "test-chain" || res.DevPassphrase != node.DevPassphrase || len(res.Keys) != 9 ||
		res.API != "http://127.0.0.1:"+strconv.Itoa(ports[2]) {
		t.Fatalf("init result: %+v", res)
	}
	// The seconds of key derivation are announced, and each key as it is
	// made.
	for _, want := range []string{"Generating 9 keys", "argon2id, a memory-hard key derivation", "key 1 of 9: ", "key 9 of 9: ", "Writing the genesis"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("init's progress on stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	for _, f := range []string{"config/config.toml", "config/veritrial.toml", "config/genesis.json", "config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	conf, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if want := "tcp://127.0.0.1:" + strconv.Itoa(ports[0]); conf.RPC.ListenAddress != want {
		t.Errorf("rpc laddr %q, want %q", conf.RPC.ListenAddress, want)
	}
	if api, ok, err := node.LoadAPI(home); err != nil || !ok || api.Addr != "tcp://127.0.0.1:"+strconv.Itoa(ports[2]) || api.TLS() || api.TLSProxy {
		t.Errorf("veritrial.toml: %+v %v %v", api, ok, err)
	}
	if conf.Consensus.TimeoutCommit != 500*time.Millisecond || conf.TxIndex.Indexer != "kv" || !conf.P2P.AllowDuplicateIP || conf.P2P.AddrBookStrict {
		t.Errorf("config not tuned for a dev chain: commit %v indexer %q dup-ip %v strict %v",
			conf.Consensus.TimeoutCommit, conf.TxIndex.Indexer, conf.P2P.AllowDuplicateIP, conf.P2P.AddrBookStrict)
	}

	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatalf("genesis.json: %v", err)
	}
	if gen.ChainID != "test-chain" || len(gen.Validators) != 1 || gen.ConsensusParams.Block.MaxBytes != node.MaxBlockBytes {
		t.Fatalf("genesis: chain %q, %d validators, max bytes %d", gen.ChainID, len(gen.Validators), gen.ConsensusParams.Block.MaxBytes)
	}
	g, err := types.ParseGenesis(gen.AppState)
	if err != nil {
		t.Fatalf("app_state: %v", err)
	}
	var orgs []string
	for _, o := range g.Orgs {
		orgs = append(orgs, o.ID+":"+string(o.Kind))
		if o.ID == validatorOrg && (len(o.Validators) != 1 || !bytes.Equal(o.Validators[0].PubKey, gen.Validators[0].PubKey.Bytes()) || o.Validators[0].NodeID != res.NodeID) {
			t.Errorf("%s's validators %+v do not name the genesis validator and node %s", o.ID, o.Validators, res.NodeID)
		}
		if o.ID != validatorOrg && len(o.Validators) != 0 {
			t.Errorf("%s runs validators %+v", o.ID, o.Validators)
		}
	}
	if want := []string{"sponsor:sponsor", "site1:site", "cro:cro", "regulator:regulator"}; !reflect.DeepEqual(orgs, want) {
		t.Errorf("orgs %v, want %v", orgs, want)
	}

	// Every genesis account is a key in the keyring, unlocked by the dev
	// passphrase.
	kr, err := keyring.Open(filepath.Join(home, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := kr.List()
	if err != nil || len(infos) != 9 {
		t.Fatalf("keyring: %d keys, %v", len(infos), err)
	}
	pubs := map[string][]byte{}
	for _, i := range infos {
		pubs[i.Name] = i.PubKey
	}
	// The node account's key is in config/node_account.json, readable by
	// its owner only.
	na, err := node.LoadNodeAccount(home)
	if err != nil || res.NodeAccount != "regulator-node" || na.ID != res.NodeAccount {
		t.Fatalf("node account %q: %+v %v", res.NodeAccount, na, err)
	}
	pubs[na.ID] = na.PubKey()
	roles := map[string][]types.Role{}
	orgOf := map[string]string{}
	for _, a := range g.Accounts {
		if !bytes.Equal(pubs[a.ID], a.PubKey) {
			t.Errorf("account %s: genesis key differs from the keyring's", a.ID)
		}
		roles[a.ID], orgOf[a.ID] = a.Roles, a.Org
	}
	if want := []types.Role{types.RoleNode}; len(g.Accounts) != 10 || !reflect.DeepEqual(roles["regulator-node"], want) || orgOf["regulator-node"] != validatorOrg {
		t.Errorf("%d genesis accounts; regulator-node roles %v of %s", len(g.Accounts), roles["regulator-node"], orgOf["regulator-node"])
	}
	if want := []types.Role{types.RoleAdmin, types.RoleMonitor}; !reflect.DeepEqual(roles["cro-monitor"], want) {
		t.Errorf("cro-monitor roles %v, want %v", roles["cro-monitor"], want)
	}
	if want := []types.Role{types.RoleInvestigator}; !reflect.DeepEqual(roles["site1-investigator"], want) {
		t.Errorf("site1-investigator roles %v, want %v", roles["site1-investigator"], want)
	}
	s, err := kr.Signer("site1-investigator", node.DevPassphrase)
	if err != nil {
		t.Fatalf("the dev passphrase does not unlock site1-investigator: %v", err)
	}
	s.Close()

	// A second init refuses and changes nothing; --force replaces.
	before, _ := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	failVT(t, env, exitUsage, "already exists", "--home", home, "init")
	after, _ := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused init changed genesis.json")
	}
	mustVT(t, env, "--home", home, "init", "--force", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	after, _ = os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if bytes.Equal(before, after) {
		t.Fatal("init --force kept the old genesis.json")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(home), ".home.*"))
	if len(left) != 0 {
		t.Fatalf("init left temporary directories: %v", left)
	}
}

func TestInitFailsWithoutPartialHome(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	failVT(t, env, exitUsage, "part of its path is a file", "--home", filepath.Join(file, "home"), "init")
	failVT(t, env, exitUsage, "not a directory", "--home", file, "init")
	failVT(t, env, exitUsage, "use three different ports", "--home", filepath.Join(dir, "h"), "init", "--rpc-port", "3000", "--p2p-port", "3000")
	failVT(t, env, exitUsage, "use three different ports", "--home", filepath.Join(dir, "h"), "init", "--rpc-port", "3000", "--p2p-port", "3001", "--http-port", "3001")
	failVT(t, env, exitUsage, "--http-port 0 is not a port", "--home", filepath.Join(dir, "h"), "init", "--http-port", "0")
	failVT(t, env, exitUsage, "not a port", "--home", filepath.Join(dir, "h"), "init", "--rpc-port", "70000")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("failed inits left files behind: %v", entries)
	}
}
