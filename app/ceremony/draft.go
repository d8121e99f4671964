package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/types"
)

// Format names and the version of the ceremony's files.
const (
	DraftFormat    = "veritrial-consortium-draft"
	MemberFormat   = "veritrial-consortium-member"
	ManifestFormat = "veritrial-consortium-manifest"
	FormatVersion  = 1
)

// DefaultValidatorPower is every member validator's power unless the
// draft says otherwise.
const DefaultValidatorPower = 10

// MaxFileSize bounds a draft, member file or genesis the ceremony reads.
const MaxFileSize = 4 << 20

// Draft is the consortium the coordinator proposes. Its members sign the
// SHA-256 of the draft file's bytes, so the file is sent as it is and
// never edited once sent.
type Draft struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	// GenesisTime is the genesis document's time: fixed in the draft, so
	// that the same draft and member files always give the same genesis.
	GenesisTime time.Time `json:"genesis_time"`
	// ValidatorPower is the power of every member's validator: all equal,
	// so that no organisation holds more power than another.
	ValidatorPower int64           `json:"validator_power"`
	Params         types.Params    `json:"params"`
	Governance     types.GovParams `json:"governance"`
	// Members, when given, are exactly the organisations that must join;
	// none means membership is open: whoever the coordinator assembles.
	Members []DraftMember `json:"members,omitempty"`
}

// DraftMember is an organisation a draft expects.
type DraftMember struct {
	Org  string        `json:"org"`
	Kind types.OrgKind `json:"kind"`
}

// NewDraft returns a draft with the ledger's defaults: validators of
// power DefaultValidatorPower, types.DefaultParams and
// types.DefaultGovParams, and open membership.
func NewDraft(chainID string, genesisTime time.Time) *Draft {
	return &Draft{Format: DraftFormat, Version: FormatVersion, ChainID: chainID, GenesisTime: genesisTime.UTC(),
		ValidatorPower: DefaultValidatorPower, Params: types.DefaultParams(), Governance: types.DefaultGovParams()}
}

// Validate checks the draft: a chain ID CometBFT accepts, a genesis
// time, a validator power and rules the ledger accepts, and expected
// members with valid, distinct IDs and kinds that can satisfy the rules.
func (d *Draft) Validate() error {
	if d.Format != DraftFormat || d.Version != FormatVersion {
		return fmt.Errorf("it is not a version %d consortium draft (format %q version %d)", FormatVersion, d.Format, d.Version)
	}
	if d.ChainID == "" || len(d.ChainID) > cmttypes.MaxChainIDLen {
		return fmt.Errorf("chain ID %q must have 1 to %d characters", d.ChainID, cmttypes.MaxChainIDLen)
	}
	if d.GenesisTime.IsZero() {
		return errors.New("it has no genesis time")
	}
	if d.ValidatorPower < 1 || d.ValidatorPower > types.MaxValidatorPower {
		return fmt.Errorf("validator power %d is out of range: use 1 to %d", d.ValidatorPower, types.MaxValidatorPower)
	}
	if err := d.Params.Validate(); err != nil {
		return err
	}
	if e := d.Governance.Validate(); e != nil {
		return fmt.Errorf("governance: %s", e.Msg)
	}
	if len(d.Members) > types.MaxOrgs {
		return fmt.Errorf("%d members is more than %d", len(d.Members), types.MaxOrgs)
	}
	seen := map[string]bool{}
	var kinds []types.OrgKind
	for _, m := range d.Members {
		if err := checkOrg(m.Org, m.Kind); err != nil {
			return err
		}
		if seen[m.Org] {
			return fmt.Errorf("organisation %s is listed twice", m.Org)
		}
		seen[m.Org] = true
		kinds = append(kinds, m.Kind)
	}
	if len(kinds) > 0 {
		return d.checkVoters(kinds)
	}
	return nil
}

// checkVoters refuses members that cannot satisfy the governance rules:
// every member runs a validator, so with the non-sponsor rule one of
// them must not be a sponsor, or no change could ever pass.
func (d *Draft) checkVoters(kinds []types.OrgKind) error {
	if !d.Governance.NonSponsorVote {
		return nil
	}
	for _, k := range kinds {
		if k != types.OrgSponsor {
			return nil
		}
	}
	return errors.New("every member is a sponsor, but the governance rules need a yes from an organisation that is not a sponsor: no change could ever pass; add another kind of member or turn the non-sponsor rule off")
}

// checkOrg checks an organisation ID and kind: the ID must also prefix
// its administrator's key name.
func checkOrg(org string, kind types.OrgKind) error {
	if e := types.CheckID("organisation", org); e != nil {
		return errors.New(e.Msg)
	}
	if keyring.ValidateName(AdminKey(org)) != nil {
		return fmt.Errorf("organisation %q cannot name its administrator's key %s: use lowercase letters, digits, '.', '_' or '-'", org, AdminKey(org))
	}
	if !types.ValidOrgKind(kind) {
		return fmt.Errorf("organisation %s has kind %q: use sponsor, site, cro, regulator or ethics", org, kind)
	}
	return nil
}

// AdminKey is the name of an organisation's first administrator: its key
// in the keyring and its account on the ledger.
func AdminKey(org string) string { return org + "-admin" }

// expected returns the draft's entry for org; ok is true also when
// membership is open (with the kind left empty).
func (d *Draft) expected(org string) (DraftMember, bool) {
	for _, m := range d.Members {
		if m.Org == org {
			return m, true
		}
	}
	return DraftMember{Org: org}, len(d.Members) == 0
}

// ParseDraft decodes and validates a draft file.
func ParseDraft(bz []byte) (*Draft, error) {
	var d Draft
	if err := decodeStrict(bz, &d); err != nil {
		return nil, fmt.Errorf("not a consortium draft: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("the draft is not usable: %w", err)
	}
	return &d, nil
}

// Encode renders a ceremony document as indented JSON with a final
// newline.
func Encode(v any) ([]byte, error) {
	bz, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(bz, '\n'), nil
}

// SHA256 is the hex SHA-256 of a file's bytes, as sha256sum prints it.
func SHA256(bz []byte) string {
	sum := sha256.Sum256(bz)
	return hex.EncodeToString(sum[:])
}

// decodeStrict decodes one JSON document into v, refusing unknown fields,
// trailing data and files above MaxFileSize.
func decodeStrict(bz []byte, v any) error {
	if len(bz) > MaxFileSize {
		return fmt.Errorf("it is larger than %d bytes", MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("it has data after its JSON document")
	}
	return nil
}
