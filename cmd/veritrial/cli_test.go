package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/types"
)

func TestInitCreatesAValidHome(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 2)
	r := mustVT(t, env, "--home", home, "init", "--chain-id", "test-chain", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--output", "json")
	var res initResult
	decode(t, r, &res)
	if res.Home != home || res.ChainID != "test-chain" || res.DevPassphrase != DevPassphrase || len(res.Keys) != 8 {
		t.Fatalf("init result: %+v", res)
	}

	for _, f := range []string{"config/config.toml", "config/genesis.json", "config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json"} {
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
	if conf.Consensus.TimeoutCommit != 500*time.Millisecond || conf.TxIndex.Indexer != "kv" || !conf.P2P.AllowDuplicateIP || conf.P2P.AddrBookStrict {
		t.Errorf("config not tuned for a dev chain: commit %v indexer %q dup-ip %v strict %v",
			conf.Consensus.TimeoutCommit, conf.TxIndex.Indexer, conf.P2P.AllowDuplicateIP, conf.P2P.AddrBookStrict)
	}

	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatalf("genesis.json: %v", err)
	}
	if gen.ChainID != "test-chain" || len(gen.Validators) != 1 || gen.ConsensusParams.Block.MaxBytes != maxBlockBytes {
		t.Fatalf("genesis: chain %q, %d validators, max bytes %d", gen.ChainID, len(gen.Validators), gen.ConsensusParams.Block.MaxBytes)
	}
	g, err := types.ParseGenesis(gen.AppState)
	if err != nil {
		t.Fatalf("app_state: %v", err)
	}
	var orgs []string
	for _, o := range g.Orgs {
		orgs = append(orgs, o.ID+":"+string(o.Kind))
		if o.ID == "sponsor" && (len(o.Validators) != 1 || o.Validators[0] != base64.StdEncoding.EncodeToString(gen.Validators[0].PubKey.Bytes())) {
			t.Errorf("sponsor's validators %v do not name the genesis validator", o.Validators)
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
	if err != nil || len(infos) != 8 {
		t.Fatalf("keyring: %d keys, %v", len(infos), err)
	}
	pubs := map[string][]byte{}
	for _, i := range infos {
		pubs[i.Name] = i.PubKey
	}
	roles := map[string][]types.Role{}
	for _, a := range g.Accounts {
		if !bytes.Equal(pubs[a.ID], a.PubKey) {
			t.Errorf("account %s: genesis key differs from the keyring's", a.ID)
		}
		roles[a.ID] = a.Roles
	}
	if want := []types.Role{types.RoleAdmin, types.RoleMonitor}; !reflect.DeepEqual(roles["cro-monitor"], want) {
		t.Errorf("cro-monitor roles %v, want %v", roles["cro-monitor"], want)
	}
	if want := []types.Role{types.RoleInvestigator}; !reflect.DeepEqual(roles["site1-investigator"], want) {
		t.Errorf("site1-investigator roles %v, want %v", roles["site1-investigator"], want)
	}
	s, err := kr.Signer("site1-investigator", DevPassphrase)
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
	mustVT(t, env, "--home", home, "init", "--force", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]))
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
	failVT(t, env, exitUsage, "two different ports", "--home", filepath.Join(dir, "h"), "init", "--rpc-port", "3000", "--p2p-port", "3000")
	failVT(t, env, exitUsage, "not a port", "--home", filepath.Join(dir, "h"), "init", "--rpc-port", "70000")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("failed inits left files behind: %v", entries)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pass := filepath.Join(dir, "pass")
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	os.WriteFile(wrong, []byte("battery staple\n"), 0o600)
	h := []string{"--home", home}

	failVT(t, env, exitKey, "no keyring", append(h, "keys", "list")...)
	if _, err := os.Stat(home); err == nil {
		t.Fatal("keys list created the home")
	}

	var added keyJSON
	decode(t, mustVT(t, env, append(h, "keys", "add", "alice", "--passphrase-file", pass, "-o", "json")...), &added)
	if added.Name != "alice" || len(added.PubKey) != 44 {
		t.Fatalf("keys add: %+v", added)
	}
	// The passphrase from the environment, flags before the argument.
	mustVT(t, append(env, envPassphrase+"=env pass"), append(h, "keys", "add", "bob")...)
	failVT(t, env, exitUsage, "already exists", append(h, "keys", "add", "alice", "--passphrase-file", pass)...)
	failVT(t, env, exitUsage, "invalid key name", append(h, "keys", "add", "Alice!", "--passphrase-file", pass)...)
	failVT(t, env, exitKey, "no terminal", append(h, "keys", "add", "carol")...)

	r := mustVT(t, env, append(h, "keys", "show", "alice")...)
	if strings.TrimSpace(r.stdout) != added.PubKey {
		t.Fatalf("keys show printed %q, want the public key %q", r.stdout, added.PubKey)
	}
	var list struct{ Keys []keyJSON }
	decode(t, mustVT(t, env, append(h, "keys", "list", "--output", "json")...), &list)
	if len(list.Keys) != 2 || list.Keys[0].Name != "alice" || list.Keys[1].Name != "bob" {
		t.Fatalf("keys list: %+v", list)
	}
	if r := mustVT(t, env, append(h, "keys", "list")...); !strings.Contains(r.stdout, added.PubKey) {
		t.Fatalf("keys list text lacks alice's key:\n%s", r.stdout)
	}

	// Export and import under another name.
	out := filepath.Join(dir, "alice.key")
	mustVT(t, env, append(h, "keys", "export", "alice", "--out", out, "--export-passphrase-file", wrong, "--passphrase-file", pass)...)
	failVT(t, env, exitUsage, "already exists", append(h, "keys", "export", "alice", "--out", out, "--export-passphrase-file", wrong, "--passphrase-file", pass)...)
	failVT(t, env, exitKey, "wrong passphrase", append(h, "keys", "import", "alice2", out, "--export-passphrase-file", pass, "--passphrase-file", pass)...)
	var imported keyJSON
	decode(t, mustVT(t, env, append(h, "keys", "import", "alice2", out, "--export-passphrase-file", wrong, "--passphrase-file", pass, "-o", "json")...), &imported)
	if imported.PubKey != added.PubKey {
		t.Fatalf("imported key %s differs from exported %s", imported.PubKey, added.PubKey)
	}

	failVT(t, env, exitKey, "wrong passphrase", append(h, "keys", "delete", "alice", "--passphrase-file", wrong)...)
	failVT(t, env, exitKey, "no key named", append(h, "keys", "show", "nobody")...)
	failVT(t, env, exitUsage, "missing NAME", append(h, "keys", "show")...)
	mustVT(t, env, append(h, "keys", "delete", "alice", "--passphrase-file", pass)...)
	decode(t, mustVT(t, env, append(h, "keys", "list", "-o", "json")...), &list)
	if len(list.Keys) != 2 || list.Keys[0].Name != "alice2" {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestProtocolCommands(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	dir := t.TempDir()
	yaml := filepath.Join(dir, "htn.yaml")
	xlsx := filepath.Join(dir, "htn.xlsx")
	csv := filepath.Join(dir, "htn.csv")
	mustVT(t, env, "protocol", "example", "--out", yaml)
	mustVT(t, env, "protocol", "example", "--out", xlsx)
	mustVT(t, env, "protocol", "example", "--format", "redcap", "--out", csv)
	failVT(t, env, exitUsage, "already exists", "protocol", "example", "--out", yaml)
	failVT(t, env, exitUsage, "does not end in .xlsx", "protocol", "example", "--format", "xlsx", "--out", filepath.Join(dir, "x.yaml"))

	var fromYAML, fromXLSX, fromCSV protocolSummary
	decode(t, mustVT(t, env, "protocol", "check", yaml, "-o", "json"), &fromYAML)
	decode(t, mustVT(t, env, "protocol", "check", xlsx, "-o", "json"), &fromXLSX)
	decode(t, mustVT(t, env, "protocol", "check", csv, "--base", yaml, "-o", "json"), &fromCSV)
	if fromYAML.Study == "" || fromYAML.Forms == 0 || fromYAML.Items == 0 || fromYAML.Events == 0 || len(fromYAML.Fingerprint) != 64 {
		t.Fatalf("check summary: %+v", fromYAML)
	}
	if fromXLSX.Fingerprint != fromYAML.Fingerprint {
		t.Errorf("xlsx fingerprint %s differs from yaml %s", fromXLSX.Fingerprint, fromYAML.Fingerprint)
	}
	if fromCSV.Items != fromYAML.Items {
		t.Errorf("REDCap items %d, yaml %d", fromCSV.Items, fromYAML.Items)
	}
	if r := mustVT(t, env, "protocol", "check", yaml); !strings.Contains(r.stdout, fromYAML.Fingerprint) {
		t.Errorf("text check lacks the fingerprint:\n%s", r.stdout)
	}

	// An amendment: a new version label is a compatible change.
	data, _ := os.ReadFile(yaml)
	v2 := filepath.Join(dir, "htn-v2.yaml")
	os.WriteFile(v2, bytes.Replace(data, []byte(`version: "1.0"`), []byte(`version: "2.0"`), 1), 0o600)
	r := mustVT(t, env, "protocol", "diff", yaml, v2)
	if !strings.Contains(r.stdout, "2.0") || !strings.Contains(strings.ToLower(r.stdout), "compatible") {
		t.Errorf("diff output:\n%s", r.stdout)
	}
	var am struct {
		Compatible bool `json:"compatible"`
	}
	decode(t, mustVT(t, env, "protocol", "diff", yaml, v2, "-o", "json"), &am)
	if !am.Compatible {
		t.Errorf("a version label change is not compatible")
	}

	// Broken input: one clear error, non-zero exit, JSON error document.
	failVT(t, env, exitInput, "no such file", "protocol", "check", filepath.Join(dir, "missing.yaml"))
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("study: [unclosed\n"), 0o600)
	r = failVT(t, env, exitInput, "broken.yaml", "protocol", "check", broken, "-o", "json")
	var doc struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	decode(t, r, &doc)
	if doc.ExitCode != exitInput || doc.Error == "" {
		t.Errorf("JSON error document: %+v", doc)
	}

	tpl := filepath.Join(dir, "tpl.xlsx")
	mustVT(t, env, "protocol", "template", "--out", tpl)
	if st, err := os.Stat(tpl); err != nil || st.Size() == 0 {
		t.Fatalf("template not written: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	failVT(t, env, exitUsage, "flag provided but not defined", "init", "--bogus")
	failVT(t, env, exitUsage, "unknown command \"frobnicate\"", "frobnicate")
	failVT(t, env, exitUsage, "unknown command \"frob\"", "keys", "frob")
	failVT(t, env, exitUsage, "not a known format", "--output", "yaml", "keys", "list")
	failVT(t, env, exitUsage, "invalid value", "init", "--rpc-port", "abc")
	failVT(t, env, exitUsage, "no veritrial home", "--home", t.TempDir(), "start")
	failVT(t, env, exitUsage, "--cache-nodes 10 is too small", "--home", t.TempDir(), "start", "--cache-nodes", "10")
	failVT(t, env, exitUsage, "--snapshot-keep at least 1", "--home", t.TempDir(), "start", "--snapshot-keep", "0")
	failVT(t, env, exitUsage, "--state-sync needs the RPC addresses of two", "--home", t.TempDir(), "start", "--state-sync", "127.0.0.1:26657")
	failVT(t, env, exitUsage, "--state-sync address \"ftp://x:1\" is not an RPC address", "--home", t.TempDir(), "start", "--state-sync", "ftp://x:1,127.0.0.1:26657")
	port := freePorts(t, 1)[0]
	addr := "tcp://127.0.0.1:" + strconv.Itoa(port)
	r := failVT(t, env, exitUnavailable, "no veritrial node answers at "+addr+": start one with veritrial start", "status", "--node", addr)
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("more than one line on stderr: %q", r.stderr)
	}
	// VERITRIAL_NODE is honoured; --node beats it.
	failVT(t, append(env, envNode+"="+addr), exitUnavailable, addr, "status")
	failVT(t, append(env, envNode+"=tcp://127.0.0.1:1"), exitUnavailable, addr, "--node", addr, "status")
	if r := mustVT(t, env, "--help"); !strings.Contains(r.stdout, "veritrial init") {
		t.Errorf("--help lacks an example:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "completion", "bash"); !strings.Contains(r.stdout, "complete -o bashdefault") {
		t.Errorf("bash completion:\n%s", r.stdout)
	}
}

func TestStartStatusRestart(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	home := filepath.Join(t.TempDir(), "home")
	ports := freePorts(t, 2)
	mustVT(t, env, "--home", home, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]))

	n := startNode(t, env, home)
	st := waitHeight(t, env, home, 2, n)
	if len(st.Validators) != 1 || st.Validators[0].Org != "sponsor" || st.Validators[0].Power != 10 {
		t.Errorf("status validators: %+v", st.Validators)
	}
	if st.ChainID != defaultChainID || len(st.AppHash) != 64 || st.LatestBlockTime == "" {
		t.Errorf("status: %+v", st)
	}
	if r := mustVT(t, env, "--home", home, "status"); !strings.Contains(r.stdout, "sponsor") || !strings.Contains(r.stdout, st.AppHash) {
		t.Errorf("status text:\n%s", r.stdout)
	}
	// A second node on the same home is refused.
	second := vt(t, env, "--home", home, "start")
	if second.code == 0 || !strings.Contains(second.stderr, "in use") {
		t.Errorf("a second start on the same home: exit %d, stderr %q", second.code, second.stderr)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("start exited %d after SIGTERM; log:\n%s", code, n.stderr)
	}
	if !strings.Contains(n.stdout.String(), "stopped cleanly") {
		t.Errorf("no stop summary on stdout: %q", n.stdout)
	}
	before := st.Height

	// The restart sizes the Merkle tree's node cache, takes a snapshot at
	// every height, and ignores --state-sync: the home has ledger state
	// (the addresses named are never dialled).
	n = startNode(t, env, home, "--cache-nodes", "50000", "--snapshot-interval", "1", "--state-sync", "127.0.0.1:1,127.0.0.1:2")
	st = waitHeight(t, env, home, before+2, n)
	if code := n.stop(t); code != 0 {
		t.Fatalf("restarted node exited %d after SIGTERM; log:\n%s", code, n.stderr)
	}
	for _, want := range []string{"cache_nodes=50000", "--state-sync ignored: the ledger state is not empty", "snapshot taken"} {
		if !strings.Contains(n.stderr.String(), want) {
			t.Errorf("the restart's log lacks %q; log:\n%s", want, n.stderr)
		}
	}
	if st.Height < before {
		t.Fatalf("restart resumed at height %d, below %d", st.Height, before)
	}
}
