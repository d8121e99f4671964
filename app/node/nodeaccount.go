package node

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/veritrial/veritrial/app/internal/durable"
	"github.com/veritrial/veritrial/app/types"
)

// A node account is a node's own ledger account, with the role node
// alone: it commits the node's access log head to the ledger and can send
// nothing else. The node signs with it unattended, at every start and
// every few minutes, so its key lies in the home unencrypted, readable by
// the node's operating system user only, as CometBFT keeps the node and
// validator keys beside it (docs/ACCESSLOG.md says why that is enough).

// AccessLogDir is where a home keeps its node's access log.
func AccessLogDir(home string) string { return filepath.Join(home, cmtcfg.DefaultDataDir, "accesslog") }

// NodeAccountFile is where a home keeps its node account's key.
func NodeAccountFile(home string) string {
	return filepath.Join(home, cmtcfg.DefaultConfigDir, "node_account.json")
}

// NodeAccountID is the ID of an organisation's node account in the
// consortiums veritrial lays out (init, testnet init).
func NodeAccountID(org string) string { return org + "-node" }

// NodeAccountName is the printed name of the node account of the
// organisation named orgName.
func NodeAccountName(orgName string) string { return "Node of " + orgName }

// NodeAccount is a node account and its signing key; it implements
// types.Signer.
type NodeAccount struct {
	ID  string
	key ed25519.PrivateKey
}

// PubKey implements types.Signer.
func (n *NodeAccount) PubKey() ed25519.PublicKey { return n.key.Public().(ed25519.PublicKey) }

// Sign implements types.Signer.
func (n *NodeAccount) Sign(msg []byte) []byte { return ed25519.Sign(n.key, msg) }

// nodeAccountFile is the file's format.
type nodeAccountFile struct {
	Account string `json:"account"`
	// Seed is the ed25519 private key's 32-byte seed.
	Seed []byte `json:"seed"`
}

// CreateNodeAccount generates a key for account id and writes it to
// home's node account file, readable by its owner only. An existing file
// is never replaced (the error satisfies errors.Is(err, fs.ErrExist)).
func CreateNodeAccount(home, id string) (*NodeAccount, error) {
	if !types.ValidID(id) {
		return nil, fmt.Errorf("%q is not a valid account ID", id)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	bz, err := json.Marshal(nodeAccountFile{Account: id, Seed: key.Seed()})
	if err != nil {
		return nil, err
	}
	path := NodeAccountFile(home)
	if err := durable.WriteFile(path, append(bz, '\n')); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			os.Remove(path)
		}
		return nil, err
	}
	return &NodeAccount{ID: id, key: key}, nil
}

// GenesisNodeAccount creates the key of org's node account in home
// (NodeAccountID, see CreateNodeAccount) and returns its genesis account:
// the role node, named after the organisation.
func GenesisNodeAccount(home string, org types.Org) (types.GenesisAccount, error) {
	na, err := CreateNodeAccount(home, NodeAccountID(org.ID))
	if err != nil {
		return types.GenesisAccount{}, err
	}
	return types.GenesisAccount{ID: na.ID, Org: org.ID, Name: NodeAccountName(cmp.Or(org.Name, org.ID)), Roles: []types.Role{types.RoleNode}, PubKey: na.PubKey()}, nil
}

// ErrNodeAccountExposed means the node account file may be read by other
// users than its owner.
var ErrNodeAccountExposed = errors.New("node account key readable by others")

// LoadNodeAccount reads home's node account file. A home without one
// gives an error satisfying errors.Is(err, fs.ErrNotExist); a file that
// its group or others may read is refused (ErrNodeAccountExposed).
func LoadNodeAccount(home string) (*NodeAccount, error) {
	path := NodeAccountFile(home)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has permissions %v; make it readable by the node's user only (chmod 600 %s)", ErrNodeAccountExposed, path, st.Mode().Perm(), path)
	}
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f nodeAccountFile
	if err := json.Unmarshal(bz, &f); err != nil || !types.ValidID(f.Account) || len(f.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is damaged: it must hold the node account's ID and 32-byte key seed", path)
	}
	return &NodeAccount{ID: f.Account, key: ed25519.NewKeyFromSeed(f.Seed)}, nil
}
