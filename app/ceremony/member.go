package ceremony

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// memberDomain starts the bytes a member's keys sign: such a signature
// can never pass for a ledger tx's (veritrial/tx/v1) or anything else's.
const memberDomain = "veritrial/consortium-member/v1\n"

// Member is an organisation's member file: the public material it brings
// to the consortium, signed by each of its four keys.
type Member struct {
	Format     string     `json:"format"`
	Version    int        `json:"version"`
	Body       MemberBody `json:"body"`
	Signatures Signatures `json:"signatures"`
}

// MemberBody is what a member's keys sign.
type MemberBody struct {
	// DraftSHA256 is the SHA-256 of the draft file it joined.
	DraftSHA256 string          `json:"draft_sha256"`
	ChainID     string          `json:"chain_id"`
	Org         string          `json:"org"`
	Kind        types.OrgKind   `json:"kind"`
	Name        string          `json:"name"`
	Validator   MemberValidator `json:"validator"`
	Node        MemberNode      `json:"node"`
	Admin       MemberAdmin     `json:"admin"`
	NodeAccount MemberAccount   `json:"node_account"`
}

// MemberValidator is the organisation's validator.
type MemberValidator struct {
	// PubKey is its ed25519 consensus public key.
	PubKey []byte `json:"pubkey"`
	Power  int64  `json:"power"`
}

// MemberNode is the node that runs the validator.
type MemberNode struct {
	// PubKey is the node key's public key; ID is derived from it.
	PubKey []byte `json:"pubkey"`
	ID     string `json:"id"`
	// P2P is host:port, where the other members' nodes reach it.
	P2P string `json:"p2p"`
}

// MemberAdmin is the organisation's first administrator.
type MemberAdmin struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	PubKey  []byte `json:"pubkey"`
}

// MemberAccount is the organisation's node account, which commits its
// node's access log head (docs/ACCESSLOG.md): node.NodeAccountID(org).
type MemberAccount struct {
	Account string `json:"account"`
	PubKey  []byte `json:"pubkey"`
}

// Signatures are the ed25519 signatures of memberDomain followed by the
// body's JSON encoding, one by each key the body declares: the
// administrator's signs the file, and the validator's, node's and node
// account's prove that whoever made it holds them, so that no
// organisation can declare another's validator key, node ID or account
// key.
type Signatures struct {
	Admin       []byte `json:"admin"`
	Validator   []byte `json:"validator"`
	Node        []byte `json:"node"`
	NodeAccount []byte `json:"node_account"`
}

// signBytes is what the member's keys sign.
func (b *MemberBody) signBytes() ([]byte, error) {
	bz, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return append([]byte(memberDomain), bz...), nil
}

// signer signs a message with one private key.
type signer func(msg []byte) ([]byte, error)

// newMember signs b with the administrator's, the validator's, the
// node's and the node account's keys.
func newMember(b MemberBody, admin, validator, node, nodeAccount signer) (*Member, error) {
	msg, err := b.signBytes()
	if err != nil {
		return nil, err
	}
	m := &Member{Format: MemberFormat, Version: FormatVersion, Body: b}
	for _, s := range []struct {
		sig  *[]byte
		sign signer
	}{{&m.Signatures.Admin, admin}, {&m.Signatures.Validator, validator}, {&m.Signatures.Node, node}, {&m.Signatures.NodeAccount, nodeAccount}} {
		if *s.sig, err = s.sign(msg); err != nil {
			return nil, fmt.Errorf("cannot sign the member file: %w", err)
		}
	}
	return m, nil
}

// ParseMember decodes a member file and verifies it on its own (Verify).
func ParseMember(bz []byte) (*Member, error) {
	var m Member
	if err := decodeStrict(bz, &m); err != nil {
		return nil, fmt.Errorf("not a consortium member file: %w", err)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Verify checks a member on its own: its four signatures, its node ID
// (derived from the node key), four distinct keys, and an entry the
// ledger's genesis accepts (IDs, kind, names, power, p2p address), with
// the administrator named AdminKey(org) and the node account
// node.NodeAccountID(org).
func (m *Member) Verify() error {
	if m.Format != MemberFormat || m.Version != FormatVersion {
		return fmt.Errorf("not a version %d consortium member file (format %q version %d)", FormatVersion, m.Format, m.Version)
	}
	b := &m.Body
	msg, err := b.signBytes()
	if err != nil {
		return err
	}
	for _, k := range []struct {
		what     string
		pub, sig []byte
	}{{"administrator", b.Admin.PubKey, m.Signatures.Admin}, {"validator", b.Validator.PubKey, m.Signatures.Validator}, {"node", b.Node.PubKey, m.Signatures.Node},
		{"node account", b.NodeAccount.PubKey, m.Signatures.NodeAccount}} {
		if len(k.pub) != ed25519.PublicKeySize {
			return fmt.Errorf("its %s key is not a %d-byte ed25519 public key", k.what, ed25519.PublicKeySize)
		}
		if !ed25519.Verify(k.pub, msg, k.sig) {
			return fmt.Errorf("the signature of its %s key does not verify: the file was changed after it was signed, or whoever made it does not hold that key", k.what)
		}
	}
	if id := string(p2p.PubKeyToID(cmted25519.PubKey(b.Node.PubKey))); id != b.Node.ID {
		return fmt.Errorf("its node ID %s is not the ID of its node key (%s)", b.Node.ID, id)
	}
	keys := [][]byte{b.Validator.PubKey, b.Node.PubKey, b.Admin.PubKey, b.NodeAccount.PubKey}
	for i := range keys {
		for _, other := range keys[i+1:] {
			if bytes.Equal(keys[i], other) {
				return errors.New("it uses one key for two purposes: its validator, node, administrator and node account keys must be four different keys")
			}
		}
	}
	if err := checkOrg(b.Org, b.Kind); err != nil {
		return err
	}
	if b.Admin.Account != AdminKey(b.Org) {
		return fmt.Errorf("its administrator is %q; the first administrator of %s is %s", b.Admin.Account, b.Org, AdminKey(b.Org))
	}
	if b.NodeAccount.Account != node.NodeAccountID(b.Org) {
		return fmt.Errorf("its node account is %q; the node account of %s is %s", b.NodeAccount.Account, b.Org, node.NodeAccountID(b.Org))
	}
	if err := checkP2P(b.Node.P2P); err != nil {
		return err
	}
	// The genesis of this member alone checks its entry as the ledger
	// will; a sponsor alone is a valid member, hence no non-sponsor rule.
	org, accounts := b.genesisEntry()
	gov := types.DefaultGovParams()
	gov.NonSponsorVote = false
	g := types.Genesis{Orgs: []types.Org{org}, Accounts: accounts, Params: types.DefaultParams(), Governance: gov}
	if err := g.Validate(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "genesis: "))
	}
	return nil
}

// checkP2P checks a host:port address.
func checkP2P(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n < 1 || n > 65535 {
		return fmt.Errorf("its p2p address %q is not host:port", addr)
	}
	return nil
}

// checkDraft checks that the member joined draft d, whose file has
// SHA-256 sha, with the draft's power.
func (m *Member) checkDraft(d *Draft, sha string) error {
	b := &m.Body
	if b.DraftSHA256 != sha {
		return fmt.Errorf("%s joined the draft with SHA-256 %s, not this one (%s): it must join the draft file as the coordinator sent it", b.Org, b.DraftSHA256, sha)
	}
	if b.ChainID != d.ChainID {
		return fmt.Errorf("%s names chain %s, the draft %s", b.Org, b.ChainID, d.ChainID)
	}
	if b.Validator.Power != d.ValidatorPower {
		return fmt.Errorf("%s declares validator power %d; the draft gives every validator %d", b.Org, b.Validator.Power, d.ValidatorPower)
	}
	return nil
}

// checkExpected checks that the draft expects org as a k (any
// organisation when membership is open).
func (d *Draft) checkExpected(org string, k types.OrgKind) error {
	exp, ok := d.expected(org)
	if !ok {
		return fmt.Errorf("%s is not one of the draft's members (%s)", org, d.memberList())
	}
	if exp.Kind != "" && exp.Kind != k {
		return fmt.Errorf("%s joins as a %s; the draft expects a %s", org, k, exp.Kind)
	}
	return nil
}

// memberList lists the draft's expected organisations.
func (d *Draft) memberList() string {
	var orgs []string
	for _, m := range d.Members {
		orgs = append(orgs, m.Org)
	}
	return strings.Join(orgs, ", ")
}

// genesisEntry is the member as the genesis declares it: its
// organisation with its one validator, and its accounts, its
// administrator and its node account.
func (b *MemberBody) genesisEntry() (types.Org, []types.GenesisAccount) {
	org := types.Org{ID: b.Org, Name: b.Name, Kind: b.Kind, Validators: []types.Validator{{
		PubKey: b.Validator.PubKey, Power: b.Validator.Power, NodeID: b.Node.ID, Host: b.Node.P2P,
	}}}
	return org, []types.GenesisAccount{
		{ID: b.Admin.Account, Org: b.Org, Name: b.Admin.Name, Roles: []types.Role{types.RoleAdmin}, PubKey: b.Admin.PubKey},
		{ID: b.NodeAccount.Account, Org: b.Org, Name: node.NodeAccountName(cmp.Or(b.Name, b.Org)), Roles: []types.Role{types.RoleNode}, PubKey: b.NodeAccount.PubKey},
	}
}
