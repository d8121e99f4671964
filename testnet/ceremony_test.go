package testnet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/veritrial/veritrial/app/ceremony"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// machine is a directory standing for one computer: its own HOME, and
// the secrets it made.
type machine struct {
	name    string
	dir     string
	pass    string
	secrets map[string][]byte // what -> private seed
}

func newMachine(t *testing.T, work, name string) *machine {
	t.Helper()
	dir := filepath.Join(work, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	rand.Read(b)
	return &machine{name: name, dir: dir, pass: hex.EncodeToString(b), secrets: map[string][]byte{}}
}

func (m *machine) env() []string {
	return []string{"HOME=" + m.dir, "PATH=" + os.Getenv("PATH"), "VERITRIAL_PASSPHRASE=" + m.pass}
}

// mustRun runs the binary as a process of machine m and returns stdout.
func (m *machine) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	so, se, code, err := runVT(m.env(), args...)
	if err != nil || code != 0 {
		t.Fatalf("%s: veritrial %s: exit %d (%v)\nstdout: %s\nstderr: %s", m.name, strings.Join(args, " "), code, err, so, se)
	}
	return so
}

// copyFile sends a file from one machine to another.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	bz, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, bz, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCeremony forms a consortium as four organisations on four machines
// would, each with processes of its own: the coordinator drafts, each
// organisation joins in its own directory under its own passphrase, the
// coordinator assembles (the same genesis whatever the order of the
// member files), each installs. The four nodes commit with four
// validators, and each organisation's administrator registers a person
// whose key was made on the person's own machine. A fifth organisation
// joins later: its home from the consortium's draft and genesis, its
// validator by the members' vote. Then no machine holds any other
// machine's private key, in any file, raw, hex or base64.
func TestCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four nodes; skipped under -short")
	}
	work := t.TempDir()
	orgs := []types.OrgKind{types.OrgSponsor, types.OrgSite, types.OrgSite, types.OrgRegulator}
	names := []string{"sponsor", "site-1", "site-2", "regulator"}
	coord := newMachine(t, work, "coordinator")
	draft := filepath.Join(coord.dir, "draft.json")
	coord.mustRun(t, "consortium", "new", "--chain-id", "vt-ceremony-test", "--members", strings.Join(names, ","), "--out", draft)

	base := freeBasePort(t, len(names)+1)
	machines := make([]*machine, len(names))
	joins := make([]string, len(names))
	var wg sync.WaitGroup
	for i, org := range names {
		m := newMachine(t, work, org)
		machines[i] = m
		copyFile(t, draft, filepath.Join(m.dir, "draft.json"))
		wg.Go(func() {
			so, se, code, err := runVT(m.env(), "consortium", "join", filepath.Join(m.dir, "draft.json"), "--home", filepath.Join(m.dir, "home"), "--org", org,
				"--kind", string(orgs[i]), "--host", "127.0.0.1", "--p2p-port", strconv.Itoa(base+portStride*i), "--rpc-port", strconv.Itoa(base+portStride*i+1),
				"--http-port", strconv.Itoa(base+portStride*i+2), "--name", "Ceremony "+org, "--out", filepath.Join(m.dir, org+".member.json"))
			if err != nil || code != 0 {
				joins[i] = fmt.Sprintf("join of %s: exit %d (%v)\nstdout: %s\nstderr: %s", org, code, err, so, se)
			}
		})
	}
	wg.Wait()
	for _, failed := range joins {
		if failed != "" {
			t.Fatal(failed)
		}
	}
	var memberFiles []string
	for i, m := range machines {
		f := filepath.Join(coord.dir, names[i]+".member.json")
		copyFile(t, filepath.Join(m.dir, names[i]+".member.json"), f)
		memberFiles = append(memberFiles, f)
	}
	genesis := filepath.Join(coord.dir, "genesis.json")
	var man struct {
		GenesisSHA256 string `json:"genesis_sha256"`
		Members       []any  `json:"members"`
	}
	out := coord.mustRun(t, append(append([]string{"consortium", "assemble", draft}, memberFiles...), "--out", genesis, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), &man); err != nil || len(man.Members) != 4 {
		t.Fatalf("assemble: %v\n%s", err, out)
	}
	slices.Reverse(memberFiles)
	coord.mustRun(t, append(append([]string{"consortium", "assemble", draft}, memberFiles...), "--out", genesis+".again", "--manifest", genesis+".manifest")...)
	g1, _ := os.ReadFile(genesis)
	g2, _ := os.ReadFile(genesis + ".again")
	if len(g1) == 0 || !bytes.Equal(g1, g2) {
		t.Fatal("assembling the member files in another order gave another genesis")
	}

	c := &cluster{t: t, dir: work, env: []string{"HOME=" + work, "PATH=" + os.Getenv("PATH")}}
	t.Cleanup(c.shutdown)
	for i, m := range machines {
		c.nodes = append(c.nodes, m.install(t, names[i], genesis, man.GenesisSHA256, base+portStride*i+1, false))
	}
	for _, n := range c.nodes {
		c.start(n)
	}
	c.waitAdvance(c.nodes, 0, 2, 90*time.Second)
	if vals := validators(t, machines[0], c.nodes[0].home); len(vals) != 4 || vals["site-2"] != 10 {
		t.Fatalf("validators %v", vals)
	}

	// Each person makes a key on their own machine; their organisation's
	// administrator registers it.
	var people []*machine
	for i, m := range machines {
		people = append(people, m.addPerson(t, work, names[i], orgs[i]))
	}

	// A fifth organisation joins the running consortium: its home from the
	// consortium's draft and genesis, its validator and node by the
	// members' vote, after which its node catches up and signs.
	late := newMachine(t, work, "site-3")
	copyFile(t, filepath.Join(machines[0].dir, "home", "config", "consortium-draft.json"), filepath.Join(late.dir, "draft.json"))
	var joined struct {
		Member ceremony.Member `json:"member"`
	}
	out = late.mustRun(t, "consortium", "join", filepath.Join(late.dir, "draft.json"), "--later", "--home", filepath.Join(late.dir, "home"), "--org", "site-3",
		"--kind", "site", "--host", "127.0.0.1", "--p2p-port", strconv.Itoa(base+portStride*4), "--rpc-port", strconv.Itoa(base+portStride*4+1),
		"--http-port", strconv.Itoa(base+portStride*4+2), "--out", filepath.Join(late.dir, "site-3.member.json"), "--output", "json")
	if err := json.Unmarshal([]byte(out), &joined); err != nil {
		t.Fatal(err)
	}
	// Its node starts once the vote has put its node ID on the ledger: the
	// members' nodes let in no other peer.
	n5 := late.install(t, "site-3", genesis, man.GenesisSHA256, base+portStride*4+1, true)
	b := joined.Member.Body
	machines[0].mustRun(t, "--home", filepath.Join(machines[0].dir, "home"), "consortium", "propose", "add-org", "--from", "sponsor-admin",
		"--org", b.Org, "--kind", string(b.Kind), "--admin-pubkey", types.KeyText(b.Admin.PubKey), "--validator-pubkey", types.KeyText(b.Validator.PubKey),
		"--power", strconv.FormatInt(b.Validator.Power, 10), "--node-id", b.Node.ID, "--host", b.Node.P2P)
	var vote struct {
		Status string `json:"status"`
		Height int64  `json:"height"`
	}
	for _, i := range []int{0, 1, 3} {
		out := machines[i].mustRun(t, "--home", filepath.Join(machines[i].dir, "home"), "consortium", "vote", "--from", names[i]+"-admin", "--proposal", "1", "--yes", "--output", "json")
		if err := json.Unmarshal([]byte(out), &vote); err != nil {
			t.Fatal(err)
		}
	}
	if vote.Status != string(types.ProposalPassed) {
		t.Fatalf("the proposal to add site-3: %+v", vote)
	}
	c.nodes = append(c.nodes, n5)
	c.start(n5)
	c.waitUp(n5, c.maxHeight(), 90*time.Second)
	c.waitAdvance(c.nodes, vote.Height, 3, 60*time.Second)
	if vals := validators(t, late, n5.home); len(vals) != 5 || vals["site-3"] != 10 {
		t.Fatalf("validators after site-3 joined: %v", vals)
	}
	machines = append(machines, late)
	people = append(people, late.addPerson(t, work, "site-3", types.OrgSite))
	// Its administrator adds its node account, whose key join made.
	late.mustRun(t, "--home", filepath.Join(late.dir, "home"), "account", "add", "--from", "site-3-admin", "--account", b.NodeAccount.Account,
		"--name", "Node of site-3", "--role", "node", "--pubkey", types.KeyText(b.NodeAccount.PubKey))

	h := c.maxHeight()
	c.waitAdvance(c.nodes, h, 1, 60*time.Second)
	if err := invBlocksAgree(c.nodes, 1, h); err != nil {
		t.Fatal(err)
	}
	c.shutdown()

	for _, m := range machines {
		home := filepath.Join(m.dir, "home")
		bz, err := os.ReadFile(filepath.Join(home, "config", "priv_validator_key.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pv privval.FilePVKey
		if err := cmtjson.Unmarshal(bz, &pv); err != nil {
			t.Fatal(err)
		}
		nk, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
		if err != nil {
			t.Fatal(err)
		}
		var na struct {
			Seed []byte `json:"seed"`
		}
		if bz, err := os.ReadFile(node.NodeAccountFile(home)); err != nil || json.Unmarshal(bz, &na) != nil || len(na.Seed) != ed25519.SeedSize {
			t.Fatalf("the node account key of %s: %v", m.name, err)
		}
		m.secrets["validator key"] = pv.PrivKey.Bytes()[:ed25519.SeedSize]
		m.secrets["node key"] = nk.PrivKey.Bytes()[:ed25519.SeedSize]
		m.secrets["node account key"] = na.Seed
		m.secrets["administrator key"] = openKeyFile(t, filepath.Join(node.KeyringDir(home), m.name+"-admin.key"), m.pass)
		// The search finds a key where it is: in its own machine's files.
		for _, what := range []string{"validator key", "node key", "node account key"} {
			if where := findSecret(t, m.dir, m.secrets[what]); where == "" {
				t.Fatalf("the %s of %s is not found in its own home: the search does not work", what, m.name)
			}
		}
	}
	for _, p := range people {
		p.secrets["person's key"] = openKeyFile(t, filepath.Join(p.dir, "veritrial", "keyring", p.name+".key"), p.pass)
	}
	all := append(append([]*machine{coord}, machines...), people...)
	for _, owner := range all {
		for what, seed := range owner.secrets {
			for _, other := range all {
				if other == owner {
					continue
				}
				if where := findSecret(t, other.dir, seed); where != "" {
					t.Errorf("the %s of %s is in %s", what, owner.name, where)
				}
			}
		}
	}
}

// install installs genesis on the machine's home (as a later member if
// later) and returns its node, whose RPC listens on rpcPort.
func (m *machine) install(t *testing.T, org, genesis, sha string, rpcPort int, later bool) *tnode {
	t.Helper()
	copyFile(t, genesis, filepath.Join(m.dir, "genesis.json"))
	home := filepath.Join(m.dir, "home")
	args := []string{"consortium", "install", filepath.Join(m.dir, "genesis.json"), "--home", home, "--output", "json"}
	peers := 3
	if later {
		args, peers = append(args, "--later"), 4
	}
	var in struct {
		GenesisSHA256 string   `json:"genesis_sha256"`
		Peers         []string `json:"persistent_peers"`
	}
	out := m.mustRun(t, args...)
	if err := json.Unmarshal([]byte(out), &in); err != nil || in.GenesisSHA256 != sha || len(in.Peers) != peers {
		t.Fatalf("install on %s: %v\n%s", m.name, err, out)
	}
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(rpcPort)
	cl, err := client.New(rpc)
	if err != nil {
		t.Fatal(err)
	}
	cl.Timeout = 90 * time.Second
	return &tnode{org: org, home: home, rpc: rpc, cl: cl}
}

// addPerson makes a person's key on a machine of their own, which the
// administrator of org (of kind k) on machine m registers; it returns the
// person's machine.
func (m *machine) addPerson(t *testing.T, work, org string, k types.OrgKind) *machine {
	t.Helper()
	s := node.Starters(k)[1]
	id := org + "-" + s.Suffix
	p := newMachine(t, work, id)
	var key struct {
		PubKey string `json:"pubkey"`
	}
	out := p.mustRun(t, "keys", "add", id, "--home", filepath.Join(p.dir, "veritrial"), "--output", "json")
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatal(err)
	}
	m.mustRun(t, "--home", filepath.Join(m.dir, "home"), "account", "add", "--from", org+"-admin", "--account", id,
		"--name", "Ceremony "+s.Title, "--role", string(s.Roles[0]), "--pubkey", key.PubKey)
	return p
}

// validators returns the validator set a node's status reports to the
// administrator of its machine's organisation, power by organisation.
func validators(t *testing.T, m *machine, home string) map[string]int64 {
	t.Helper()
	var st struct {
		Validators []struct {
			Power int64  `json:"power"`
			Org   string `json:"org"`
		} `json:"validators"`
	}
	out := m.mustRun(t, "--home", home, "status", "--from", m.name+"-admin", "--output", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	vals := map[string]int64{}
	for _, v := range st.Validators {
		vals[v.Org] = v.Power
	}
	return vals
}

// openKeyFile decrypts a keyring key file with passphrase, by the file
// format (argon2id, XChaCha20-Poly1305, app/keyring/format.go), without
// the keyring's code, and returns the key's seed.
func openKeyFile(t *testing.T, path, passphrase string) []byte {
	t.Helper()
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Name       string `json:"name"`
		PubKey     string `json:"pubkey"`
		Nonce      string `json:"nonce"`
		Ciphertext string `json:"ciphertext"`
		Created    string `json:"created"`
		KDF        struct {
			Time      uint32 `json:"time"`
			MemoryKiB uint32 `json:"memory_kib"`
			Threads   uint8  `json:"threads"`
			Salt      string `json:"salt"`
		} `json:"kdf"`
	}
	if err := json.Unmarshal(bz, &f); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pub := dec(f.PubKey)
	key := argon2.IDKey([]byte(passphrase), dec(f.KDF.Salt), f.KDF.Time, f.KDF.MemoryKiB, f.KDF.Threads, 2*chacha20poly1305.KeySize)[:chacha20poly1305.KeySize]
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		t.Fatal(err)
	}
	ad := append([]byte("veritrial/keyring/file/v1\x00"+f.Name+"\x00"+f.Created+"\x00"), pub...)
	seed, err := aead.Open(nil, dec(f.Nonce), dec(f.Ciphertext), ad)
	if err != nil {
		t.Fatalf("cannot decrypt %s: %v", path, err)
	}
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), pub) {
		t.Fatalf("%s decrypted to a key that is not its public key's", path)
	}
	return seed
}

// findSecret returns the first file under dir that holds seed raw, in
// hex or in base64 (standard or URL alphabet, at any alignment), or "".
func findSecret(t *testing.T, dir string, seed []byte) string {
	t.Helper()
	needles := [][]byte{seed, []byte(hex.EncodeToString(seed)), []byte(strings.ToUpper(hex.EncodeToString(seed)))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			s := enc.EncodeToString(append(make([]byte, pad), seed...))
			// Leave out the first and last groups, which hold bytes
			// around the seed.
			needles = append(needles, []byte(s[4:len(s)-4]))
		}
	}
	found := ""
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		bz, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(bz, n) {
				found = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
