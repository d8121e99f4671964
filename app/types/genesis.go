package types

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Genesis is the application part of the consortium's genesis document
// (CometBFT genesis.json "app_state").
type Genesis struct {
	Orgs     []Org            `json:"orgs"`
	Accounts []GenesisAccount `json:"accounts"`
	Params   Params           `json:"params"`
	// Governance are the rules of consortium changes (DefaultGovParams
	// when left out).
	Governance GovParams `json:"governance"`
}

// GenesisAccount is an organisation's first administrator (or any person
// the consortium starts with).
type GenesisAccount struct {
	ID     string `json:"id"`
	Org    string `json:"org"`
	Name   string `json:"name"`
	Roles  []Role `json:"roles"`
	PubKey []byte `json:"pubkey"`
}

// Params are consortium-wide settings fixed at genesis.
type Params struct {
	// MaxTxTTL is how many blocks ahead a tx's expiry height may be.
	MaxTxTTL int64 `json:"max_tx_ttl"`
	// KeyRotationTTL is how many blocks after its own a request to rotate
	// another person's key can be approved (see KeyRotation).
	KeyRotationTTL int64 `json:"key_rotation_ttl"`
	// RegulatorsReadAll lets every regulator read every study, as a
	// competent authority that may inspect any trial; without it a
	// regulator reads the studies it approves for, like an ethics
	// committee (see the read policy, app/policy.go).
	RegulatorsReadAll bool `json:"regulators_read_all,omitempty"`
}

// DefaultKeyRotationTTL is the default KeyRotationTTL: about a day at an
// idle chain's one block every 5 s.
const DefaultKeyRotationTTL = 20_000

// DefaultParams returns the defaults.
func DefaultParams() Params { return Params{MaxTxTTL: 1000, KeyRotationTTL: DefaultKeyRotationTTL} }

// Validate checks the parameters' ranges.
func (p Params) Validate() error {
	if p.MaxTxTTL < 1 {
		return fmt.Errorf("params.max_tx_ttl must be at least 1")
	}
	if p.KeyRotationTTL < 1 || p.KeyRotationTTL > MaxProposalTTL {
		return fmt.Errorf("params.key_rotation_ttl must be 1 to %d blocks", MaxProposalTTL)
	}
	return nil
}

// ParseGenesis decodes and validates app_state.
func ParseGenesis(bz []byte) (*Genesis, error) {
	var g Genesis
	if err := json.Unmarshal(bz, &g); err != nil {
		return nil, fmt.Errorf("genesis app_state is not valid JSON: %w", err)
	}
	if g.Params.MaxTxTTL == 0 {
		g.Params.MaxTxTTL = DefaultParams().MaxTxTTL
	}
	if g.Params.KeyRotationTTL == 0 {
		g.Params.KeyRotationTTL = DefaultKeyRotationTTL
	}
	if g.Governance == (GovParams{}) {
		g.Governance = DefaultGovParams()
	}
	return &g, g.Validate()
}

// Validate checks the genesis for consistency.
func (g *Genesis) Validate() error {
	if err := g.Params.Validate(); err != nil {
		return fmt.Errorf("genesis %w", err)
	}
	orgs := map[string]OrgKind{}
	for _, o := range g.Orgs {
		if e := CheckID("organisation", o.ID); e != nil {
			return fmt.Errorf("genesis: %s", e.Msg)
		}
		if e := checkName("name of organisation "+o.ID, o.Name, false); e != nil {
			return fmt.Errorf("genesis: %s", e.Msg)
		}
		if !ValidOrgKind(o.Kind) {
			return fmt.Errorf("genesis: organisation %s has kind %q; use %s", o.ID, o.Kind, orgKindList)
		}
		if _, dup := orgs[o.ID]; dup {
			return fmt.Errorf("genesis: organisation %s is listed twice", o.ID)
		}
		orgs[o.ID] = o.Kind
	}
	ids := map[string]bool{}
	keys := map[string]bool{}
	admins := map[string]bool{}
	for _, a := range g.Accounts {
		if e := CheckID("account", a.ID); e != nil {
			return fmt.Errorf("genesis: %s", e.Msg)
		}
		kind, ok := orgs[a.Org]
		if !ok {
			return fmt.Errorf("genesis: account %s names unknown organisation %q", a.ID, a.Org)
		}
		if ids[a.ID] {
			return fmt.Errorf("genesis: account %s is listed twice", a.ID)
		}
		ids[a.ID] = true
		if len(a.PubKey) != 32 {
			return fmt.Errorf("genesis: account %s needs a 32-byte ed25519 public key", a.ID)
		}
		if keys[string(a.PubKey)] {
			return fmt.Errorf("genesis: account %s reuses another account's public key", a.ID)
		}
		keys[string(a.PubKey)] = true
		if a.Name == "" {
			return fmt.Errorf("genesis: account %s needs a printed name", a.ID)
		}
		if e := checkName("printed name of account "+a.ID, a.Name, false); e != nil {
			return fmt.Errorf("genesis: %s", e.Msg)
		}
		if _, e := NormalizeRoles(kind, a.Roles); e != nil {
			return fmt.Errorf("genesis: account %s: %s", a.ID, e.Msg)
		}
		for _, r := range a.Roles {
			if r == RoleAdmin {
				admins[a.Org] = true
			}
		}
	}
	for _, o := range g.Orgs {
		if !admins[o.ID] {
			return fmt.Errorf("genesis: organisation %s has no administrator account", o.ID)
		}
	}
	return g.validateConsortium()
}

// NormalizeRoles checks roles against what an organisation of kind k may
// grant and returns them sorted, without duplicates.
func NormalizeRoles(k OrgKind, roles []Role) ([]Role, *Error) {
	allowed := RolesFor(k)
	seen := map[Role]bool{}
	out := make([]Role, 0, len(roles))
	for _, r := range roles {
		ok := false
		for _, a := range allowed {
			if a == r {
				ok = true
			}
		}
		if !ok {
			return nil, Errf(CodeInvalidRole, "role %q cannot be granted in a %s organisation; allowed: %v", r, k, allowed)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, Errf(CodeInvalidRole, "an account needs at least one role")
	}
	if seen[RoleNode] && len(out) > 1 {
		return nil, Errf(CodeInvalidRole, "the node role is held alone: a node account's key lies unencrypted in the node's home, so it is never a person's account")
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
