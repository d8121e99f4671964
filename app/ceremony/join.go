package ceremony

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// Default ports of a member's node.
const (
	DefaultP2PPort = 26656
	DefaultRPCPort = 26657
)

// Files a joined home keeps in its config directory: the draft it joined
// (as received) and its member file. Install reads them.
const (
	DraftFile  = "consortium-draft.json"
	MemberFile = "consortium-member.json"
)

// JoinOptions describe the organisation that joins.
type JoinOptions struct {
	Org string
	// Kind may be left empty when the draft lists the organisation.
	Kind types.OrgKind
	// Name is the organisation's printed name (optional).
	Name string
	// AdminName is the printed name of its first administrator; it
	// defaults to "Administrator of <org>".
	AdminName string
	// Host is where the other members reach its node; the node listens
	// for peers on every interface at P2PPort, for RPC on 127.0.0.1 at
	// RPCPort and serves its read API on 127.0.0.1 at APIPort (0:
	// node.DefaultAPIPort).
	Host                      string
	P2PPort, RPCPort, APIPort int
	// Later is set when the organisation joins a running consortium by
	// governance rather than at genesis: the draft is the consortium's,
	// from any member, and need not list it (docs/CONSORTIUM.md).
	Later bool
	// Passphrase encrypts the administrator's key.
	Passphrase string
	// KDF, if set, are the keyring's key derivation parameters (tests use
	// cheap ones); nil means keyring.DefaultKDF.
	KDF *keyring.KDFParams
}

// Check fills in the defaults and checks every option but the passphrase
// (see CheckPassphrase) against draft d, before anything is made.
func (o *JoinOptions) Check(d *Draft) error {
	exp, _ := d.expected(o.Org)
	if o.Later && exp.Kind != "" {
		return fmt.Errorf("the draft lists %s: it joins at genesis, not later", o.Org)
	}
	if o.Kind == "" {
		o.Kind = exp.Kind
	}
	if !o.Later {
		if err := d.checkExpected(o.Org, o.Kind); err != nil {
			return err
		}
	}
	if o.Kind == "" {
		return fmt.Errorf("the draft does not list %s: give its kind (sponsor, site, cro, regulator or ethics)", o.Org)
	}
	if err := checkOrg(o.Org, o.Kind); err != nil {
		return err
	}
	if o.AdminName == "" {
		o.AdminName = "Administrator of " + o.Org
	}
	if o.Host == "" || strings.ContainsAny(o.Host, " /@,") || strings.Contains(o.Host, ":") && net.ParseIP(o.Host) == nil {
		return fmt.Errorf("host %q is not a host name or IP address", o.Host)
	}
	if o.APIPort == 0 {
		o.APIPort = node.DefaultAPIPort
	}
	for _, p := range []struct {
		name string
		port int
	}{{"p2p port", o.P2PPort}, {"RPC port", o.RPCPort}, {"read API port", o.APIPort}} {
		if p.port < 1 || p.port > 65535 {
			return fmt.Errorf("%s %d is not a port: use 1 to 65535", p.name, p.port)
		}
	}
	if o.P2PPort == o.RPCPort || o.APIPort == o.P2PPort || o.APIPort == o.RPCPort {
		return fmt.Errorf("the p2p, RPC and read API ports are %d, %d and %d: use three different ports", o.P2PPort, o.RPCPort, o.APIPort)
	}
	return nil
}

// CheckPassphrase refuses a passphrase for the administrator's key that
// protects nothing: none, the published passphrase of development homes,
// or one a new key may not have (keyring.CheckNewPassphrase).
func CheckPassphrase(p string) error {
	if p == "" {
		return errors.New("the administrator's key needs a passphrase")
	}
	if p == node.DevPassphrase {
		return fmt.Errorf("%q is the published passphrase of development homes and protects nothing: choose your own", node.DevPassphrase)
	}
	return keyring.CheckNewPassphrase(p)
}

// Join makes the home of an organisation joining the draft whose file is
// draft, in dir (an existing, empty directory): CometBFT's configuration
// with o's host and ports and no genesis yet, the read API's
// (veritrial.toml), a new validator key, node key and node account key
// (node.CreateNodeAccount), a keyring with the first administrator's new
// key (AdminKey(o.Org)) under o.Passphrase, and, in the config directory,
// the draft and the member file. It returns the member file, which holds
// only public material. No key leaves dir.
func Join(dir string, draft []byte, o JoinOptions) (*Member, error) {
	d, err := ParseDraft(draft)
	if err != nil {
		return nil, err
	}
	if err := o.Check(d); err != nil {
		return nil, err
	}
	if err := CheckPassphrase(o.Passphrase); err != nil {
		return nil, err
	}
	p2pAddr := net.JoinHostPort(o.Host, strconv.Itoa(o.P2PPort))
	conf := node.Config(dir, o.Org, "tcp://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(o.RPCPort)),
		"tcp://"+net.JoinHostPort("0.0.0.0", strconv.Itoa(o.P2PPort)), node.DefaultTiming)
	conf.P2P.ExternalAddress = p2pAddr
	if _, err := node.InitFiles(conf); err != nil {
		return nil, err
	}
	if err := node.WriteAPI(dir, node.LocalAPI(o.APIPort)); err != nil {
		return nil, err
	}
	pv, err := readValidatorKey(conf)
	if err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("cannot read the node key: %w", err)
	}
	na, err := node.CreateNodeAccount(dir, node.NodeAccountID(o.Org))
	if err != nil {
		return nil, fmt.Errorf("cannot create the node account key: %w", err)
	}
	var opts []keyring.Option
	if o.KDF != nil {
		opts = append(opts, keyring.WithKDF(*o.KDF))
	}
	kr, err := keyring.Open(node.KeyringDir(dir), opts...)
	if err != nil {
		return nil, err
	}
	if _, err := kr.Add(AdminKey(o.Org), o.Passphrase); err != nil {
		return nil, err
	}
	admin, err := kr.Signer(AdminKey(o.Org), o.Passphrase)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	body := MemberBody{
		DraftSHA256: SHA256(draft), ChainID: d.ChainID, Org: o.Org, Kind: o.Kind, Name: o.Name,
		Validator:   MemberValidator{PubKey: pv.PubKey.Bytes(), Power: d.ValidatorPower},
		Node:        MemberNode{PubKey: nodeKey.PubKey().Bytes(), ID: string(nodeKey.ID()), P2P: p2pAddr},
		Admin:       MemberAdmin{Account: AdminKey(o.Org), Name: o.AdminName, PubKey: admin.PubKey()},
		NodeAccount: MemberAccount{Account: na.ID, PubKey: na.PubKey()},
	}
	adminSign := func(msg []byte) ([]byte, error) { return admin.Sign(msg), nil }
	naSign := func(msg []byte) ([]byte, error) { return na.Sign(msg), nil }
	m, err := newMember(body, adminSign, pv.PrivKey.Sign, nodeKey.PrivKey.Sign, naSign)
	if err != nil {
		return nil, err
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("the member file would be refused: %w", err)
	}
	if err := m.checkDraft(d, body.DraftSHA256); err != nil {
		return nil, err
	}
	mb, err := Encode(m)
	if err != nil {
		return nil, err
	}
	configDir := filepath.Join(dir, cmtcfg.DefaultConfigDir)
	for name, bz := range map[string][]byte{DraftFile: draft, MemberFile: mb} {
		if err := os.WriteFile(filepath.Join(configDir, name), bz, 0o644); err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	return m, nil
}

// readValidatorKey reads the home's validator key file. (privval's own
// loader ends the process on a damaged file.)
func readValidatorKey(conf *cmtcfg.Config) (*privval.FilePVKey, error) {
	bz, err := os.ReadFile(conf.PrivValidatorKeyFile())
	if err != nil {
		return nil, fmt.Errorf("cannot read the validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(bz, &key); err != nil || key.PubKey == nil || key.PrivKey == nil {
		return nil, fmt.Errorf("the validator key %s is damaged", conf.PrivValidatorKeyFile())
	}
	return &key, nil
}
