// Package apptest drives a real veritrial App (real IAVL on disk) through
// the ABCI block lifecycle without a CometBFT node: CheckTx, then
// FinalizeBlock, Commit and Query, with the test consortium's keys.
package apptest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// ChainID is the chain ID of test chains.
const ChainID = "veritrial-test"

// Genesis time of test chains; block i is one second later per height.
var Genesis = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Person is a test account with its key.
type Person struct {
	ID    string
	Org   string
	Name  string
	Roles []types.Role
	Key   ed25519.PrivateKey
}

// PubKey implements types.Signer.
func (p *Person) PubKey() ed25519.PublicKey { return p.Key.Public().(ed25519.PublicKey) }

// Sign implements types.Signer.
func (p *Person) Sign(msg []byte) []byte { return ed25519.Sign(p.Key, msg) }

// KeyFor derives a deterministic test key from a name.
func KeyFor(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("veritrial-test-key/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// ValidatorKey derives a deterministic consensus key from a name.
func ValidatorKey(name string) ed25519.PublicKey {
	return KeyFor("validator/" + name).Public().(ed25519.PublicKey)
}

// NodeID derives a deterministic CometBFT node ID from a name.
func NodeID(name string) string {
	h := sha256.Sum256([]byte("node/" + name))
	return hex.EncodeToString(h[:20])
}

// ValidatorPower is the power of each test organisation's validator.
const ValidatorPower = 10

// Consortium returns the test consortium: the demo consortium's
// organisations (node.DemoOrgs) and a second site, site2, each running
// one validator of power ValidatorPower (key ValidatorKey(org), node
// NodeID(org)) and with the people its kind starts with (node.Starters,
// by their demo names) and its node account (<org>-node, role node), and
// the sponsor's medical monitor, sponsor-mm.
// The tests need more than the demo veritrial init creates
// (node.DemoAccounts): a second site, a medical monitor, a CRO whose
// administrator (cro-admin) and monitor (cro-monitor) are two people, as
// in a generated consortium, and five voting organisations.
func Consortium() ([]types.Org, []*Person) {
	orgs := append(node.DemoOrgs(), types.Org{ID: "site2", Name: "Demo Site 2 Clinical Research Unit", Kind: types.OrgSite})
	for i := range orgs {
		orgs[i].Validators = []types.Validator{{PubKey: ValidatorKey(orgs[i].ID), Power: ValidatorPower, NodeID: NodeID(orgs[i].ID)}}
	}
	var people []*Person
	add := func(id, org, name string, roles ...types.Role) {
		people = append(people, &Person{ID: id, Org: org, Name: name, Roles: roles, Key: KeyFor(id)})
	}
	for _, o := range orgs {
		for _, s := range node.Starters(o.Kind) {
			add(o.ID+"-"+s.Suffix, o.ID, s.DemoName, s.Roles...)
		}
		add(node.NodeAccountID(o.ID), o.ID, node.NodeAccountName(o.Name), types.RoleNode)
	}
	add("sponsor-mm", "sponsor", "Demo Medical Monitor", types.RoleMedicalMonitor)
	return orgs, people
}

// Chain is an App driven block by block.
type Chain struct {
	T       testing.TB
	App     *app.App
	Dir     string
	People  map[string]*Person
	Height  int64
	AppHash []byte
	// Hashes holds the app hash of every height this Chain committed.
	Hashes map[int64][]byte
	// Optimistic makes Finalize call ProcessProposal with the block
	// first, as a validator does, so that FinalizeBlock takes the
	// execution ProcessProposal started.
	Optimistic bool
	// Validators is the validator set CometBFT would hold after the last
	// committed block: the genesis validators with every block's
	// ValidatorUpdates applied by CometBFT's own code, which fails the
	// test on an update CometBFT would refuse. Nil for a chain opened
	// without InitChain.
	Validators *cmttypes.ValidatorSet
	// Updates are the ValidatorUpdates of the last committed block.
	Updates []abci.ValidatorUpdate
	// Record makes Commit keep every committed block's txs in Blocks, in
	// order, for a replay on another Chain.
	Record    bool
	Blocks    [][][]byte
	finalized [][]byte
	nonce     uint64
	proposals int
}

// DefaultGenesis returns the application genesis of the test consortium.
func DefaultGenesis() types.Genesis {
	orgs, people := Consortium()
	g := types.Genesis{Orgs: orgs, Params: types.DefaultParams(), Governance: types.DefaultGovParams()}
	for _, p := range people {
		g.Accounts = append(g.Accounts, types.GenesisAccount{ID: p.ID, Org: p.Org, Name: p.Name, Roles: p.Roles, PubKey: p.PubKey()})
	}
	return g
}

// GenesisBytes returns the app_state of the test consortium.
func GenesisBytes() []byte {
	bz, err := json.Marshal(DefaultGenesis())
	if err != nil {
		panic(err)
	}
	return bz
}

// GenesisValidators returns the CometBFT genesis validators of g: the
// validators its organisations declare.
func GenesisValidators(g *types.Genesis) []abci.ValidatorUpdate {
	var out []abci.ValidatorUpdate
	for _, v := range g.Validators() {
		out = append(out, abci.Ed25519ValidatorUpdate(v.PubKey, v.Power))
	}
	return out
}

// New starts a chain of the test consortium in a temporary directory and
// runs InitChain.
func New(t testing.TB) *Chain {
	t.Helper()
	return NewWith(t, DefaultGenesis())
}

// NewWith starts a chain of genesis g in a temporary directory and runs
// InitChain; people of organisations the test consortium lacks are added
// with AddPerson.
func NewWith(t testing.TB, g types.Genesis) *Chain {
	t.Helper()
	return NewWithConfig(t, g, app.Config{})
}

// NewWithConfig is NewWith with an App configured by cfg (its DataDir is
// the chain's temporary directory).
func NewWithConfig(t testing.TB, g types.Genesis, cfg app.Config) *Chain {
	t.Helper()
	cfg.DataDir = t.TempDir()
	c := open(t, cfg)
	c.initChain(g)
	return c
}

// NewAtVersion starts a chain of the test consortium whose genesis names
// state-machine version v (a chain an older release began).
func NewAtVersion(t testing.TB, v uint64) *Chain {
	t.Helper()
	c := open(t, app.Config{DataDir: t.TempDir()})
	c.initChainAt(DefaultGenesis(), v)
	return c
}

// initChain runs InitChain with g and its validators.
func (c *Chain) initChain(g types.Genesis) { c.initChainAt(g, 0) }

// initChainAt runs InitChain with g and its validators, with consensus
// parameters naming state-machine version v (none when 0).
func (c *Chain) initChainAt(g types.Genesis, v uint64) {
	c.T.Helper()
	bz, err := json.Marshal(g)
	if err != nil {
		c.T.Fatal(err)
	}
	vals := GenesisValidators(&g)
	req := &abci.RequestInitChain{Time: Genesis, ChainId: ChainID, InitialHeight: 1, AppStateBytes: bz, Validators: vals}
	if v != 0 {
		req.ConsensusParams = &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: v}}
	}
	res, err := c.App.InitChain(context.Background(), req)
	if err != nil {
		c.T.Fatalf("InitChain: %v", err)
	}
	c.AppHash = res.AppHash
	tmVals, err := cmttypes.PB2TM.ValidatorUpdates(vals)
	if err != nil {
		c.T.Fatal(err)
	}
	c.Validators = cmttypes.NewValidatorSet(tmVals)
}

// Open opens an App on dir without InitChain (for restarts).
func Open(t testing.TB, dir string) *Chain {
	t.Helper()
	return open(t, app.Config{DataDir: dir})
}

func open(t testing.TB, cfg app.Config) *Chain {
	t.Helper()
	a, err := app.New(cfg)
	if err != nil {
		t.Fatalf("opening app: %v", err)
	}
	_, people := Consortium()
	c := &Chain{T: t, App: a, Dir: cfg.DataDir, People: map[string]*Person{}}
	for _, p := range people {
		c.People[p.ID] = p
	}
	info, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	c.Height, c.AppHash = info.LastBlockHeight, info.LastBlockAppHash
	t.Cleanup(func() { _ = a.Close() })
	return c
}

// Person returns a known test person.
func (c *Chain) Person(id string) *Person {
	p, ok := c.People[id]
	if !ok {
		c.T.Fatalf("no test person %q", id)
	}
	return p
}

// Tx signs msg as the person with a fresh deterministic nonce, valid for
// 100 blocks from the next height.
func (c *Chain) Tx(signer string, msg types.Msg) []byte {
	return c.TxAs(signer, c.Person(signer), msg)
}

// TxAs signs msg for account with any signer (to test forged signatures).
func (c *Chain) TxAs(account string, s types.Signer, msg types.Msg) []byte {
	return c.SignBody(c.Body(account, msg), s)
}

// Check runs CheckTx.
func (c *Chain) Check(raw []byte) *abci.ResponseCheckTx {
	res, err := c.App.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		c.T.Fatalf("CheckTx: %v", err)
	}
	return res
}

// Finalize runs FinalizeBlock for the next height with txs, without Commit
// (after ProcessProposal when c.Optimistic).
func (c *Chain) Finalize(txs ...[]byte) *abci.ResponseFinalizeBlock {
	hash := c.blockHash("decided", txs)
	if c.Optimistic {
		c.process(hash, txs)
	}
	res, err := c.App.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Hash: hash, Txs: txs, Height: c.Height + 1, Time: c.blockTime(),
	})
	if err != nil {
		c.T.Fatalf("FinalizeBlock %d: %v", c.Height+1, err)
	}
	c.finalized = txs
	return res
}

// Propose runs ProcessProposal with a block of txs at the next height
// that is not the one Finalize will decide: a proposal that loses its
// round, whose execution the app must discard without a trace.
func (c *Chain) Propose(txs ...[]byte) {
	c.proposals++
	c.process(c.blockHash(fmt.Sprint("lost proposal ", c.proposals), txs), txs)
}

func (c *Chain) process(hash []byte, txs [][]byte) {
	res, err := c.App.ProcessProposal(context.Background(), &abci.RequestProcessProposal{
		Hash: hash, Txs: txs, Height: c.Height + 1, Time: c.blockTime(),
	})
	if err != nil {
		c.T.Fatalf("ProcessProposal %d: %v", c.Height+1, err)
	}
	if res.Status != abci.ResponseProcessProposal_ACCEPT {
		c.T.Fatalf("ProcessProposal %d: %v", c.Height+1, res.Status)
	}
}

func (c *Chain) blockTime() time.Time {
	return Genesis.Add(time.Duration(c.Height+1) * time.Second)
}

// blockHash stands in for a block's header hash: distinct for distinct
// blocks at a height.
func (c *Chain) blockHash(salt string, txs [][]byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d %s %d\n", c.Height+1, salt, len(txs))
	for _, tx := range txs {
		s := sha256.Sum256(tx)
		h.Write(s[:])
	}
	return h.Sum(nil)
}

// Commit commits the finalized block and applies its validator updates
// to c.Validators as CometBFT does.
func (c *Chain) Commit(fin *abci.ResponseFinalizeBlock) {
	if _, err := c.App.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		c.T.Fatalf("Commit %d: %v", c.Height+1, err)
	}
	c.Updates = fin.ValidatorUpdates
	if c.Validators != nil && len(fin.ValidatorUpdates) > 0 {
		changes, err := cmttypes.PB2TM.ValidatorUpdates(fin.ValidatorUpdates)
		if err == nil {
			err = c.Validators.UpdateWithChangeSet(changes)
		}
		if err != nil {
			c.T.Fatalf("block %d: CometBFT refuses the validator updates %v: %v", c.Height+1, fin.ValidatorUpdates, err)
		}
	}
	c.Height++
	c.AppHash = fin.AppHash
	if c.Record {
		c.Blocks = append(c.Blocks, c.finalized)
	}
	if c.Hashes == nil {
		c.Hashes = map[int64][]byte{}
	}
	c.Hashes[c.Height] = fin.AppHash
}

// Block runs FinalizeBlock and Commit with txs (no CheckTx) and returns the
// tx results.
func (c *Chain) Block(txs ...[]byte) []*abci.ExecTxResult {
	fin := c.Finalize(txs...)
	c.Commit(fin)
	return fin.TxResults
}

// Do sends one message through the whole lifecycle: CheckTx (which must
// accept it unless it fails there), then a block of its own. It returns
// the code and log of whichever stage decided.
func (c *Chain) Do(signer string, msg types.Msg) (types.Code, string) {
	raw := c.Tx(signer, msg)
	if r := c.Check(raw); r.Code != 0 {
		return types.Code(r.Code), r.Log
	}
	res := c.Block(raw)
	return types.Code(res[0].Code), res[0].Log
}

// MustDo is Do that fails the test unless the tx succeeds.
func (c *Chain) MustDo(signer string, msg types.Msg) {
	c.T.Helper()
	if code, log := c.Do(signer, msg); code != types.CodeOK {
		c.T.Fatalf("%s: expected success, got %d (%s): %s", signer, code, code, log)
	}
}

// Query reads the committed state at height (0 = latest) as the node
// itself would (App.TrustedQuery: no signed request, no read policy), to
// check what the ledger holds; Read reads as a person.
func (c *Chain) Query(path string, data []byte, height int64, prove bool) *abci.ResponseQuery {
	res, err := c.App.TrustedQuery(context.Background(), &abci.RequestQuery{Path: path, Data: data, Height: height, Prove: prove})
	if err != nil {
		c.T.Fatal(err)
	}
	return res
}

// Read sends the query through App.Query as a read request signed by
// reader, a known test person, good for a minute from now.
func (c *Chain) Read(reader, path string, data []byte, height int64, prove bool) *abci.ResponseQuery {
	c.T.Helper()
	return c.ReadRaw(c.SignRead(reader, c.ReadBody(reader, path, data, height, prove)))
}

// ReadBody returns the body of a read request by reader, with the next
// deterministic nonce, expiring a minute from now.
func (c *Chain) ReadBody(reader, path string, data []byte, height int64, prove bool) types.ReadBody {
	c.nonce++
	return types.ReadBody{V: types.ReadVersion, ChainID: ChainID, Reader: reader, Nonce: c.NonceHex(c.nonce),
		Expires: time.Now().Add(time.Minute).Unix(), Path: path, Data: data, Height: height, Prove: prove}
}

// SignRead signs b with the key of the test person signer and returns the
// encoded request.
func (c *Chain) SignRead(signer string, b types.ReadBody) []byte {
	c.T.Helper()
	raw, err := types.SignRead(b, c.Person(signer).Sign)
	if err != nil {
		c.T.Fatal(err)
	}
	return raw
}

// ReadRaw sends an encoded read request through App.Query.
func (c *Chain) ReadRaw(raw []byte) *abci.ResponseQuery {
	res, err := c.App.Query(context.Background(), &abci.RequestQuery{Path: types.QueryRead, Data: raw})
	if err != nil {
		c.T.Fatal(err)
	}
	return res
}

// Get reads a key at the latest height and decodes it; it verifies the
// ics23 proof against the chain's last app hash.
func (c *Chain) Get(key []byte, out any) bool {
	c.T.Helper()
	res := c.Query(types.QueryKey, key, 0, true)
	if res.Code != 0 {
		c.T.Fatalf("query %q: %s", key, res.Log)
	}
	if err := types.VerifyProof(c.AppHash, key, res.Value, res.ProofOps.Ops[0].Data); err != nil {
		c.T.Fatalf("proof: %v", err)
	}
	if res.Value == nil {
		return false
	}
	if err := json.Unmarshal(res.Value, out); err != nil {
		c.T.Fatal(err)
	}
	return true
}

// Must fails the test with a formatted message.
func Must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Sprintf("%s: %v", what, err))
	}
}

// Reopen closes the App and opens a new one on the same directory, as a
// restarted node would; Height and AppHash come from the new App's Info.
// The signer table and the nonce counter carry over.
func (c *Chain) Reopen() {
	c.T.Helper()
	if err := c.App.Close(); err != nil {
		c.T.Fatalf("closing app: %v", err)
	}
	a, err := app.New(app.Config{DataDir: c.Dir})
	if err != nil {
		c.T.Fatalf("reopening app: %v", err)
	}
	c.App = a
	info, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		c.T.Fatal(err)
	}
	c.Height, c.AppHash = info.LastBlockHeight, info.LastBlockAppHash
	c.T.Cleanup(func() { _ = a.Close() })
}

// NewUnmanaged starts a chain in dir like New but registers no cleanup:
// the caller closes c.App (for fixtures shared between benchmark runs).
func NewUnmanaged(t testing.TB, dir string) *Chain {
	t.Helper()
	a, err := app.New(app.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("opening app: %v", err)
	}
	_, people := Consortium()
	c := &Chain{T: t, App: a, Dir: dir, People: map[string]*Person{}}
	for _, p := range people {
		c.People[p.ID] = p
	}
	c.initChain(DefaultGenesis())
	return c
}
