package ceremony

import (
	"fmt"
	"slices"
	"strings"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// File is a member file as read: its name, for messages, and its bytes.
type File struct {
	Name string
	Data []byte
}

// Manifest describes an assembled consortium. It holds no secret.
type Manifest struct {
	Format      string    `json:"format"`
	Version     int       `json:"version"`
	ChainID     string    `json:"chain_id"`
	GenesisTime time.Time `json:"genesis_time"`
	DraftSHA256 string    `json:"draft_sha256"`
	// GenesisSHA256 is the SHA-256 of genesis.json, which every member
	// compares with the one install prints.
	GenesisSHA256 string `json:"genesis_sha256"`
	// Members are the member files as signed, by organisation ID: anyone
	// can check them again.
	Members []Member `json:"members"`
}

// Assemble checks every member file against the draft whose file is
// draft and against each other, and returns genesis.json and its
// manifest. It refuses a member file that does not verify on its own
// (Member.Verify), joined another draft or declares another power, an
// organisation the draft does not expect or that joins twice, a key or a
// p2p address two members declare, a draft member that did not join, and
// members that cannot satisfy the governance rules. The genesis depends
// only on the draft and the member files, not on their order: each
// organisation runs its validator with the draft's power, and its
// accounts are its first administrator and its node account.
func Assemble(draft []byte, files []File) ([]byte, *Manifest, error) {
	d, err := ParseDraft(draft)
	if err != nil {
		return nil, nil, err
	}
	sha := SHA256(draft)
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no member files given")
	}
	members := make([]Member, 0, len(files))
	orgs := map[string]string{}
	keys := map[string]string{}
	addrs := map[string]string{}
	for _, f := range files {
		m, err := ParseMember(f.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		b := &m.Body
		if err := m.checkDraft(d, sha); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := d.checkExpected(b.Org, b.Kind); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if other, dup := orgs[b.Org]; dup {
			return nil, nil, fmt.Errorf("%s and %s both join as %s", other, f.Name, b.Org)
		}
		orgs[b.Org] = f.Name
		for _, k := range []struct {
			what string
			key  []byte
		}{{"validator key", b.Validator.PubKey}, {"node key", b.Node.PubKey}, {"administrator key", b.Admin.PubKey}, {"node account key", b.NodeAccount.PubKey}} {
			if other, dup := keys[string(k.key)]; dup {
				return nil, nil, fmt.Errorf("the %s of %s (%s) is also the %s: every key belongs to one member", k.what, b.Org, f.Name, other)
			}
			keys[string(k.key)] = fmt.Sprintf("%s of %s (%s)", k.what, b.Org, f.Name)
		}
		if other, dup := addrs[b.Node.P2P]; dup {
			return nil, nil, fmt.Errorf("%s and %s both give the p2p address %s", other, b.Org, b.Node.P2P)
		}
		addrs[b.Node.P2P] = b.Org
		members = append(members, *m)
	}
	var missing []string
	for _, e := range d.Members {
		if _, ok := orgs[e.Org]; !ok {
			missing = append(missing, e.Org)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the draft expects %s, whose member file is missing", strings.Join(missing, ", "))
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Body.Org, b.Body.Org) })
	g := types.Genesis{Params: d.Params, Governance: d.Governance}
	var kinds []types.OrgKind
	for i := range members {
		org, accounts := members[i].Body.genesisEntry()
		g.Orgs = append(g.Orgs, org)
		g.Accounts = append(g.Accounts, accounts...)
		kinds = append(kinds, org.Kind)
	}
	if err := d.checkVoters(kinds); err != nil {
		return nil, nil, err
	}
	doc, err := node.NewGenesisDoc(d.ChainID, d.GenesisTime, g)
	if err != nil {
		return nil, nil, err
	}
	genesis, err := encodeGenesis(doc)
	if err != nil {
		return nil, nil, err
	}
	return genesis, &Manifest{Format: ManifestFormat, Version: FormatVersion, ChainID: d.ChainID, GenesisTime: doc.GenesisTime,
		DraftSHA256: sha, GenesisSHA256: SHA256(genesis), Members: members}, nil
}

// encodeGenesis renders a genesis document as CometBFT saves it.
func encodeGenesis(doc *cmttypes.GenesisDoc) ([]byte, error) {
	return cmtjson.MarshalIndent(doc, "", "  ")
}
