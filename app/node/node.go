package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/types"
)

// DevPassphrase is the demo homes' passphrase: it protects every key
// veritrial init and veritrial testnet init create, and loadgen unlocks
// them with it. It is printed and documented: such homes are for trying
// veritrial out and for testing, never for real trial data.
const DevPassphrase = "veritrial-dev"

// DevLogLevel keeps a node's log readable: block commits, the
// application's own lines, and errors from everything else.
const DevLogLevel = "main:info,state:info,veritrial:info,*:error"

// MaxBlockBytes is the consensus block size limit; it leaves room for large
// protocol registrations.
const MaxBlockBytes = 4 << 20

// Timing are the consensus timeouts of a node.
type Timing struct {
	// Propose is CometBFT's timeout_propose: how long a validator waits
	// for the round's proposal, all its block parts included, before it
	// prevotes nil and the round is lost. 0 means DefaultTiming's.
	Propose time.Duration
	// Commit is CometBFT's timeout_commit: the pause after a block.
	Commit time.Duration
	// EmptyBlocksInterval is how long a node waits for a tx before it
	// proposes an empty block anyway.
	EmptyBlocksInterval time.Duration
}

// DefaultTiming is a fast chain for a few machines close to each other:
// 500 ms commits and an empty block every 5 s when idle.
//
// The proposal timeout is CometBFT's default of 3 s. A full block is 4 MiB
// (about 3,500 form submissions); under load, four validators sharing two
// cores often took more than 1 s to receive one, and each lost round cost
// about 1.2 s more (docs/PERFORMANCE.md). A validator that is down still
// costs its turns as proposer this timeout.
var DefaultTiming = Timing{Propose: 3 * time.Second, Commit: 500 * time.Millisecond, EmptyBlocksInterval: 5 * time.Second}

// Config returns CometBFT's default configuration rooted at home and
// tuned for veritrial: fast consensus timeouts, the kv tx indexer (tx by
// hash), the ledger's tx size limit, p2p settings that let several nodes
// share one IP address, and peering closed to strangers.
func Config(home, moniker, rpcListen, p2pListen string, t Timing) *cmtcfg.Config {
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(home)
	conf.Moniker = moniker
	conf.LogLevel = DevLogLevel
	conf.RPC.ListenAddress = rpcListen
	conf.P2P.ListenAddress = p2pListen
	conf.P2P.AllowDuplicateIP = true
	conf.P2P.AddrBookStrict = false
	// With filter_peers CometBFT asks the application about every
	// connection (/p2p/filter/addr/<addr>) and every peer
	// (/p2p/filter/id/<node ID>), and the application accepts only the
	// node IDs the ledger lists for its organisations: a stranger can
	// neither join consensus nor block-sync the trial's data. Peer
	// exchange is off: a consortium knows its peers (each node dials the
	// members' nodes in its persistent_peers, and the ledger records every
	// node ID and host), so gossiping addresses would only hand the
	// members' network addresses to whoever connects and have the node
	// dial addresses nobody vetted.
	conf.FilterPeers = true
	conf.P2P.PexReactor = false
	conf.Consensus.TimeoutPropose = t.Propose
	if t.Propose == 0 {
		conf.Consensus.TimeoutPropose = DefaultTiming.Propose
	}
	conf.Consensus.TimeoutProposeDelta = 200 * time.Millisecond
	conf.Consensus.TimeoutPrevote = 500 * time.Millisecond
	conf.Consensus.TimeoutPrevoteDelta = 200 * time.Millisecond
	conf.Consensus.TimeoutPrecommit = 500 * time.Millisecond
	conf.Consensus.TimeoutPrecommitDelta = 200 * time.Millisecond
	conf.Consensus.TimeoutCommit = t.Commit
	conf.Consensus.CreateEmptyBlocks = true
	conf.Consensus.CreateEmptyBlocksInterval = t.EmptyBlocksInterval
	conf.TxIndex.Indexer = "kv"
	// The ledger's own tx limit, and room for such a tx base64-encoded in a
	// JSON-RPC request.
	conf.Mempool.MaxTxBytes = types.MaxTxBytes
	conf.RPC.MaxBodyBytes = MaxBlockBytes
	return conf
}

// Files are the identities InitFiles created.
type Files struct {
	NodeID          string
	ValidatorPubKey crypto.PubKey
}

// InitFiles creates the config and data directories of conf's home and
// writes config.toml, the node key and the validator key with its sign
// state. The genesis is written separately (NewGenesisDoc, SaveAs).
func InitFiles(conf *cmtcfg.Config) (*Files, error) {
	for _, d := range []string{filepath.Join(conf.RootDir, cmtcfg.DefaultConfigDir), filepath.Join(conf.RootDir, cmtcfg.DefaultDataDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create %s: %w", d, err)
		}
	}
	if err := WriteConfigFile(ConfigFile(conf.RootDir), conf); err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("cannot create the node key: %w", err)
	}
	pv, err := genFilePV(conf)
	if err != nil {
		return nil, err
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, fmt.Errorf("cannot read the validator key: %w", err)
	}
	return &Files{NodeID: string(nodeKey.ID()), ValidatorPubKey: pub}, nil
}

// WriteConfigFile renders conf with CometBFT's template to path, turning
// the template's panics into errors.
func WriteConfigFile(path string, conf *cmtcfg.Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot write %s: %v", path, r)
		}
	}()
	cmtcfg.WriteConfigFile(path, conf)
	return nil
}

// genFilePV creates the validator key and sign state, turning the
// library's panics into errors.
func genFilePV(conf *cmtcfg.Config) (pv *privval.FilePV, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot write the validator key: %v", r)
		}
	}()
	pv = privval.GenFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	pv.Save()
	return pv, nil
}

// NewGenesisDoc validates the application genesis g and returns the
// consortium's genesis document: chain ID, the validators (those g's
// organisations declare), veritrial's consensus parameters (block size,
// app version) and g as app_state.
func NewGenesisDoc(chainID string, genesisTime time.Time, g types.Genesis) (*cmttypes.GenesisDoc, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("the application genesis is invalid: %w", err)
	}
	var vals []cmttypes.GenesisValidator
	for _, v := range g.Validators() {
		pub := cmted25519.PubKey(v.PubKey)
		vals = append(vals, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: v.Power, Name: v.Org})
	}
	appState, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the genesis: %w", err)
	}
	params := cmttypes.DefaultConsensusParams()
	params.Block.MaxBytes = MaxBlockBytes
	params.Version.App = app.StateVersion()
	doc := &cmttypes.GenesisDoc{
		GenesisTime:     genesisTime.UTC().Round(time.Millisecond),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: params,
		Validators:      vals,
		AppState:        appState,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("the genesis document is invalid: %w", err)
	}
	return doc, nil
}

// AddKeys creates keys called names in kr under passphrase, a few in
// parallel (each costs one memory-hard key derivation), and returns their
// descriptions in names order. done, when not nil, is called with the
// name of each key created, as it is, from the calling goroutine.
func AddKeys(kr *keyring.Keyring, names []string, passphrase string, done func(name string)) ([]keyring.Info, error) {
	infos := make([]keyring.Info, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, 4)
	finished := make(chan int)
	for i, name := range names {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			infos[i], errs[i] = kr.Add(name, passphrase)
			finished <- i
		}()
	}
	for range names {
		if i := <-finished; errs[i] == nil && done != nil {
			done(names[i])
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("cannot create key %s: %w", names[i], err)
		}
	}
	return infos, nil
}
