package types

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// The consortium as an on-ledger object: its organisations, their
// validators and nodes, and the governance that changes them. A change is
// proposed by an administrator of an active organisation, voted on by the
// voting organisations (the active ones that run a validator), and applied
// by the ledger in the tx of the vote that reaches the quorum.
// docs/CONSORTIUM.md describes the model.

// OrgStatus is an organisation's standing in the consortium.
type OrgStatus string

// Organisation statuses. A suspended organisation can be reinstated; a
// removed one never comes back. Only an active organisation's accounts
// sign and only its validators validate; the others' history stays.
const (
	OrgActive    OrgStatus = "active"
	OrgSuspended OrgStatus = "suspended"
	OrgRemoved   OrgStatus = "removed"
)

// Validator is a consensus validator an organisation runs.
type Validator struct {
	// PubKey is the validator's ed25519 consensus public key.
	PubKey []byte `json:"pubkey"`
	Power  int64  `json:"power"`
	// NodeID is the CometBFT node ID of the node that runs it.
	NodeID string `json:"node_id"`
	// Host is where the other members reach that node (host or
	// host:port); informational.
	Host string `json:"host,omitempty"`
	// Retired is the height of the block that took the key out of
	// service (removed or rotated away); 0 while it validates. A retired
	// key never validates again.
	Retired int64 `json:"retired,omitempty"`
}

// Limits of the consortium's size.
const (
	// MaxOrgs bounds the organisations ever added, removed ones included.
	MaxOrgs = 100
	// MaxOrgValidators bounds the validators in service per organisation.
	MaxOrgValidators = 8
	// MaxOrgNodes bounds an organisation's non-validating node IDs.
	MaxOrgNodes = 16
	// MaxValidatorPower bounds one validator's voting power, so that
	// every sum and product of the governance arithmetic fits an int64.
	MaxValidatorPower = 1_000_000
)

// Active reports whether o's accounts may sign and its validators count.
func (o *Org) Active() bool { return o.Status == OrgActive }

// Power is the voting power o holds in consensus: the sum of its
// validators in service while it is active, else 0.
func (o *Org) Power() int64 {
	if !o.Active() {
		return 0
	}
	var p int64
	for _, v := range o.Validators {
		if v.Retired == 0 {
			p += v.Power
		}
	}
	return p
}

// Voting reports whether o votes on consortium changes: it is active and
// runs a validator.
func (o *Org) Voting() bool { return o.Power() > 0 }

// InService returns o's validator in service with key pub, or nil.
func (o *Org) InService(pub []byte) *Validator {
	for i := range o.Validators {
		if v := &o.Validators[i]; v.Retired == 0 && string(v.PubKey) == string(pub) {
			return v
		}
	}
	return nil
}

// InServiceCount counts o's validators in service.
func (o *Org) InServiceCount() int {
	n := 0
	for _, v := range o.Validators {
		if v.Retired == 0 {
			n++
		}
	}
	return n
}

// NodeIDsInUse returns the node IDs o declares: those of its validators
// in service, then its other nodes.
func (o *Org) NodeIDsInUse() []string {
	var out []string
	for _, v := range o.Validators {
		if v.Retired == 0 {
			out = append(out, v.NodeID)
		}
	}
	return append(out, o.NodeIDs...)
}

// ValidNodeID reports whether id is a CometBFT node ID: the 40 lower-case
// hex characters of a node key's address.
func ValidNodeID(id string) bool { return len(id) == 40 && ValidNonce(id) }

// validHost reports whether h looks like a host name, an IP address or
// either with a port.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]_", c) >= 0) {
			return false
		}
	}
	return true
}

// KeyText is a public key as people and CometBFT print it: standard
// base64.
func KeyText(pub []byte) string { return base64.StdEncoding.EncodeToString(pub) }

// check validates a validator declared at genesis or in a change.
func (v *Validator) check(what string) *Error {
	if len(v.PubKey) != ed25519.PublicKeySize {
		return Errf(CodeInvalidMsg, "%s needs a %d-byte ed25519 consensus public key (the pub_key of the node's priv_validator_key.json)", what, ed25519.PublicKeySize)
	}
	if v.Power < 1 || v.Power > MaxValidatorPower {
		return Errf(CodeInvalidMsg, "%s has power %d; use 1 to %d", what, v.Power, MaxValidatorPower)
	}
	if !ValidNodeID(v.NodeID) {
		return Errf(CodeInvalidMsg, "%s has node ID %q; a node ID is 40 lower-case hex characters (veritrial status prints it)", what, v.NodeID)
	}
	if v.Host != "" && !validHost(v.Host) {
		return Errf(CodeInvalidMsg, "%s has host %q, which is not a host name or address", what, v.Host)
	}
	if v.Retired != 0 {
		return Errf(CodeInvalidMsg, "%s cannot be declared retired", what)
	}
	return nil
}

// checkNodeIDs validates a list of non-validating node IDs.
func checkNodeIDs(what string, ids []string) *Error {
	if len(ids) > MaxOrgNodes {
		return Errf(CodeInvalidMsg, "%s lists %d node IDs, above the limit of %d", what, len(ids), MaxOrgNodes)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !ValidNodeID(id) {
			return Errf(CodeInvalidMsg, "%s: node ID %q is not 40 lower-case hex characters (veritrial status prints a node's ID)", what, id)
		}
		if seen[id] {
			return Errf(CodeInvalidMsg, "%s lists node ID %s twice", what, id)
		}
		seen[id] = true
	}
	return nil
}

// GovParams are the governance rules, fixed at genesis and changed only
// by a passed params proposal.
type GovParams struct {
	// A change passes when its "yes" votes are more than
	// QuorumNum/QuorumDen of the voting organisations.
	QuorumNum int `json:"quorum_num"`
	QuorumDen int `json:"quorum_den"`
	// NonSponsorVote requires a "yes" from at least one voting
	// organisation that is not a sponsor.
	NonSponsorVote bool `json:"non_sponsor_vote"`
	// ProposalTTL is how many blocks after its own a proposal can be
	// voted on.
	ProposalTTL int64 `json:"proposal_ttl"`
}

// DefaultGovParams: more than two thirds of the voting organisations,
// at least one of them not a sponsor, within 100,000 blocks (about six
// days at an idle chain's one block every 5 s, less under load).
func DefaultGovParams() GovParams {
	return GovParams{QuorumNum: 2, QuorumDen: 3, NonSponsorVote: true, ProposalTTL: 100_000}
}

// MaxProposalTTL bounds GovParams.ProposalTTL.
const MaxProposalTTL = 10_000_000

// Validate checks the parameters: a quorum of at least a majority and
// below unanimity-plus-one, and a proposal lifetime of at least a block.
func (p GovParams) Validate() *Error {
	if p.QuorumDen < 2 || p.QuorumDen > 100 || p.QuorumNum < 1 || p.QuorumNum >= p.QuorumDen || 2*p.QuorumNum < p.QuorumDen {
		return Errf(CodeInvalidMsg, "quorum %d/%d is not allowed: a change needs more than a fraction from 1/2 up to 99/100 of the voting organisations (numerator below the denominator, denominator 2 to 100)", p.QuorumNum, p.QuorumDen)
	}
	if p.ProposalTTL < 1 || p.ProposalTTL > MaxProposalTTL {
		return Errf(CodeInvalidMsg, "proposal lifetime %d blocks is out of range: use 1 to %d", p.ProposalTTL, MaxProposalTTL)
	}
	return nil
}

// Tally is where the votes on a proposal stand among the organisations
// that vote now; votes of organisations that no longer vote do not count.
type Tally struct {
	Voting  int // voting organisations
	Yes, No int // their votes so far
	// NonSponsorYes: a voting organisation that is not a sponsor voted yes.
	NonSponsorYes bool
	// NonSponsorOpen: a voting organisation that is not a sponsor has not
	// voted yet.
	NonSponsorOpen bool
}

// Passes reports whether the yes votes reach the quorum.
func (p GovParams) Passes(t Tally) bool {
	return t.Yes*p.QuorumDen > p.QuorumNum*t.Voting && (!p.NonSponsorVote || t.NonSponsorYes)
}

// Unreachable reports whether the no votes already make the quorum
// impossible, even if every organisation yet to vote said yes.
func (p GovParams) Unreachable(t Tally) bool {
	if (t.Voting-t.No)*p.QuorumDen <= p.QuorumNum*t.Voting {
		return true
	}
	return p.NonSponsorVote && !t.NonSponsorYes && !t.NonSponsorOpen
}

// Governance is the ledger's governance record: the rules in force and
// the number of the last proposal.
type Governance struct {
	Params    GovParams `json:"params"`
	Proposals int       `json:"proposals"`
}

// ProposalStatus is the state of a consortium change proposal.
type ProposalStatus string

// Proposal statuses. Expired is never stored: an open proposal whose
// expiry height has passed is expired (see Proposal.StatusAt).
const (
	ProposalOpen     ProposalStatus = "open"
	ProposalPassed   ProposalStatus = "passed"
	ProposalRejected ProposalStatus = "rejected"
	ProposalExpired  ProposalStatus = "expired"
)

// Proposal is a proposed consortium change and its votes, one per voting
// organisation.
type Proposal struct {
	Number   int        `json:"number"`
	Kind     ChangeKind `json:"kind"`
	Change   Change     `json:"change"`
	Reason   string     `json:"reason,omitempty"`
	Proposed Stamp      `json:"proposed"`
	// Expires is the last height at which the proposal can be voted on.
	Expires int64          `json:"expires"`
	Votes   []Vote         `json:"votes"`
	Status  ProposalStatus `json:"status"` // open, passed or rejected
	// Decided is the stamp of the vote that passed or rejected it.
	Decided *Stamp `json:"decided,omitempty"`
	// Applied is the height of the block that applied the change.
	Applied int64 `json:"applied,omitempty"`
}

// StatusAt is the proposal's status as seen at height h.
func (p *Proposal) StatusAt(h int64) ProposalStatus {
	if p.Status == ProposalOpen && h > p.Expires {
		return ProposalExpired
	}
	return p.Status
}

// ChangeKind names a kind of consortium change; it is the JSON field name
// of the change.
type ChangeKind string

// Change kinds.
const (
	ChangeAddOrg       ChangeKind = "add_org"
	ChangeSuspendOrg   ChangeKind = "suspend_org"
	ChangeReinstateOrg ChangeKind = "reinstate_org"
	ChangeRemoveOrg    ChangeKind = "remove_org"
	ChangeValidator    ChangeKind = "validator"
	ChangeNodes        ChangeKind = "nodes"
	ChangeParams       ChangeKind = "params"
	ChangeUpgrade      ChangeKind = "upgrade"
)

// Change is one consortium change: exactly one of its fields is set. A
// new kind of change is a new field here and a new case where the ledger
// applies it (app/consortium.go).
type Change struct {
	AddOrg       *AddOrg          `json:"add_org,omitempty"`
	SuspendOrg   *OrgRef          `json:"suspend_org,omitempty"`
	ReinstateOrg *OrgRef          `json:"reinstate_org,omitempty"`
	RemoveOrg    *OrgRef          `json:"remove_org,omitempty"`
	Validator    *ValidatorChange `json:"validator,omitempty"`
	Nodes        *NodesChange     `json:"nodes,omitempty"`
	Params       *GovParams       `json:"params,omitempty"`
	Upgrade      *UpgradePlan     `json:"upgrade,omitempty"`
}

// AddOrg adds an organisation with its first administrator and, if
// given, its node account, its validator and its other nodes.
type AddOrg struct {
	Org  string  `json:"org"`
	Name string  `json:"name,omitempty"`
	Kind OrgKind `json:"kind"`
	// Admin is the account ID of the organisation's first administrator.
	Admin       string     `json:"admin"`
	AdminName   string     `json:"admin_name"`
	AdminPubKey []byte     `json:"admin_pubkey"`
	Validator   *Validator `json:"validator,omitempty"`
	NodeIDs     []string   `json:"node_ids,omitempty"`
	// NodeAccount is the organisation's node account (the role node
	// alone: it commits its nodes' access log heads), as its member file
	// declares it.
	NodeAccount *NewAccount `json:"node_account,omitempty"`
}

// NewAccount is an account a consortium change creates.
type NewAccount struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	PubKey []byte `json:"pubkey"`
}

// OrgRef names the organisation a change is about.
type OrgRef struct {
	Org string `json:"org"`
}

// ValidatorChange adds, re-weights, removes or rotates a validator of an
// organisation:
//   - Replaces set: rotation. The validator in service with key Replaces
//     is retired and PubKey takes its place, with Power, NodeID and Host
//     when given, else the old ones.
//   - PubKey in service: its power becomes Power (0 retires it); NodeID
//     and Host change when given.
//   - PubKey new: a new validator with Power (at least 1) and NodeID.
type ValidatorChange struct {
	Org      string `json:"org"`
	PubKey   []byte `json:"pubkey"`
	Power    int64  `json:"power,omitempty"`
	NodeID   string `json:"node_id,omitempty"`
	Host     string `json:"host,omitempty"`
	Replaces []byte `json:"replaces,omitempty"`
}

// NodesChange replaces an organisation's non-validating node IDs.
type NodesChange struct {
	Org     string   `json:"org"`
	NodeIDs []string `json:"node_ids"`
}

// Unpack returns the kind and the one change set, or an error when none
// or several are set.
func (c *Change) Unpack() (ChangeKind, any, *Error) {
	var kind ChangeKind
	var body any
	n := 0
	set := func(k ChangeKind, v any, isNil bool) {
		if !isNil {
			kind, body = k, v
			n++
		}
	}
	set(ChangeAddOrg, c.AddOrg, c.AddOrg == nil)
	set(ChangeSuspendOrg, c.SuspendOrg, c.SuspendOrg == nil)
	set(ChangeReinstateOrg, c.ReinstateOrg, c.ReinstateOrg == nil)
	set(ChangeRemoveOrg, c.RemoveOrg, c.RemoveOrg == nil)
	set(ChangeValidator, c.Validator, c.Validator == nil)
	set(ChangeNodes, c.Nodes, c.Nodes == nil)
	set(ChangeParams, c.Params, c.Params == nil)
	set(ChangeUpgrade, c.Upgrade, c.Upgrade == nil)
	if n != 1 {
		return "", nil, Errf(CodeInvalidMsg, "a proposal must carry exactly one consortium change, it carries %d", n)
	}
	return kind, body, nil
}

// String describes the change in a few words.
func (c *Change) String() string {
	kind, body, e := c.Unpack()
	if e != nil {
		return "invalid change"
	}
	switch b := body.(type) {
	case *AddOrg:
		s := fmt.Sprintf("add organisation %s (%s), administrator %s", b.Org, b.Kind, b.Admin)
		if b.NodeAccount != nil {
			s += ", node account " + b.NodeAccount.ID
		}
		if b.Validator != nil {
			s += fmt.Sprintf(", validator %s power %d", KeyText(b.Validator.PubKey), b.Validator.Power)
		}
		return s
	case *OrgRef:
		return fmt.Sprintf("%s %s", strings.TrimSuffix(string(kind), "_org"), b.Org)
	case *ValidatorChange:
		switch {
		case b.Replaces != nil:
			return fmt.Sprintf("rotate validator %s of %s to %s", KeyText(b.Replaces), b.Org, KeyText(b.PubKey))
		case b.Power == 0:
			return fmt.Sprintf("remove validator %s of %s (or change its node)", KeyText(b.PubKey), b.Org)
		}
		return fmt.Sprintf("validator %s of %s at power %d", KeyText(b.PubKey), b.Org, b.Power)
	case *NodesChange:
		return fmt.Sprintf("node IDs of %s: %s", b.Org, strings.Join(b.NodeIDs, ", "))
	case *UpgradePlan:
		return b.String()
	case *GovParams:
		return fmt.Sprintf("governance: quorum more than %d/%d, non-sponsor yes %v, proposals open %d blocks", b.QuorumNum, b.QuorumDen, b.NonSponsorVote, b.ProposalTTL)
	}
	return string(kind)
}

// MsgProposeChange proposes a consortium change. Reason is required to
// suspend or remove an organisation.
type MsgProposeChange struct {
	Change Change `json:"change"`
	Reason string `json:"reason,omitempty"`
}

// MsgVoteChange is an organisation's vote on a proposal.
type MsgVoteChange struct {
	Proposal int    `json:"proposal"`
	Approve  bool   `json:"approve"`
	Comment  string `json:"comment,omitempty"`
}

// validateConsortium runs the stateless checks of the consortium
// messages; ok is false for any other message.
func validateConsortium(msg any) (ok bool, e *Error) {
	switch m := msg.(type) {
	case *MsgProposeChange:
		return true, m.validate()
	case *MsgVoteChange:
		if m.Proposal < 1 {
			return true, Errf(CodeInvalidMsg, "proposal number must be 1 or more")
		}
		return true, checkText("comment", m.Comment, false)
	}
	return false, nil
}

func (m *MsgProposeChange) validate() *Error {
	kind, body, e := m.Change.Unpack()
	if e != nil {
		return e
	}
	needsReason := kind == ChangeSuspendOrg || kind == ChangeRemoveOrg
	if e := checkText("reason", m.Reason, needsReason); e != nil {
		return e
	}
	switch b := body.(type) {
	case *AddOrg:
		if e := CheckID("organisation", b.Org); e != nil {
			return e
		}
		if e := checkName("name of organisation "+b.Org, b.Name, false); e != nil {
			return e
		}
		if !ValidOrgKind(b.Kind) {
			return Errf(CodeInvalidMsg, "organisation kind %q is not known; use %s", b.Kind, orgKindList)
		}
		if e := CheckID("administrator account", b.Admin); e != nil {
			return e
		}
		if e := checkName("printed name of the administrator", b.AdminName, true); e != nil {
			return e
		}
		if len(b.AdminPubKey) != ed25519.PublicKeySize {
			return Errf(CodeInvalidMsg, "the administrator's public key must be a %d-byte ed25519 key (veritrial keys show prints it)", ed25519.PublicKeySize)
		}
		if e := b.NodeAccount.check(b); e != nil {
			return e
		}
		if b.Validator != nil {
			if e := b.Validator.check("the validator of " + b.Org); e != nil {
				return e
			}
		}
		return checkNodeIDs("organisation "+b.Org, b.NodeIDs)
	case *OrgRef:
		return CheckID("organisation", b.Org)
	case *ValidatorChange:
		if e := CheckID("organisation", b.Org); e != nil {
			return e
		}
		if len(b.PubKey) != ed25519.PublicKeySize || b.Replaces != nil && len(b.Replaces) != ed25519.PublicKeySize {
			return Errf(CodeInvalidMsg, "validator keys must be %d-byte ed25519 consensus public keys", ed25519.PublicKeySize)
		}
		if b.Replaces != nil && string(b.Replaces) == string(b.PubKey) {
			return Errf(CodeInvalidMsg, "a rotation needs a new key, not the one it replaces")
		}
		if b.Power < 0 || b.Power > MaxValidatorPower {
			return Errf(CodeInvalidMsg, "validator power %d is out of range: use 0 (remove) to %d", b.Power, MaxValidatorPower)
		}
		if b.NodeID != "" && !ValidNodeID(b.NodeID) {
			return Errf(CodeInvalidMsg, "node ID %q is not 40 lower-case hex characters (veritrial status prints a node's ID)", b.NodeID)
		}
		if b.Host != "" && !validHost(b.Host) {
			return Errf(CodeInvalidMsg, "host %q is not a host name or address", b.Host)
		}
	case *NodesChange:
		if e := CheckID("organisation", b.Org); e != nil {
			return e
		}
		return checkNodeIDs("organisation "+b.Org, b.NodeIDs)
	case *GovParams:
		return b.Validate()
	case *UpgradePlan:
		return b.validate()
	}
	return nil
}

// OrgValidator is a validator with the organisation that runs it.
type OrgValidator struct {
	Org string
	Validator
}

// Validators lists the validators in service the genesis declares, in
// organisation order: exactly CometBFT's genesis validators.
func (g *Genesis) Validators() []OrgValidator {
	var out []OrgValidator
	for _, o := range g.Orgs {
		for _, v := range o.Validators {
			out = append(out, OrgValidator{Org: o.ID, Validator: v})
		}
	}
	return out
}

// validateConsortium checks the genesis organisations' validators, nodes
// and statuses, and the governance parameters: every key and node ID
// distinct, at least one validator, and, when the rules ask for it, a
// voting organisation that is not a sponsor.
func (g *Genesis) validateConsortium() error {
	if e := g.Governance.Validate(); e != nil {
		return fmt.Errorf("genesis governance: %s", e.Msg)
	}
	keys := map[string]string{}
	for _, a := range g.Accounts {
		keys[string(a.PubKey)] = "account " + a.ID
	}
	nodes := map[string]string{}
	node := func(org, id string) error {
		if other, dup := nodes[id]; dup {
			return fmt.Errorf("genesis: node ID %s is declared by both %s and %s", id, other, org)
		}
		nodes[id] = org
		return nil
	}
	nonSponsorVoter := false
	for _, o := range g.Orgs {
		if o.Status != "" && o.Status != OrgActive {
			return fmt.Errorf("genesis: organisation %s has status %q; every organisation starts active", o.ID, o.Status)
		}
		if len(o.Validators) > MaxOrgValidators {
			return fmt.Errorf("genesis: organisation %s declares %d validators, above the limit of %d", o.ID, len(o.Validators), MaxOrgValidators)
		}
		for i := range o.Validators {
			v := &o.Validators[i]
			if e := v.check(fmt.Sprintf("validator %d of %s", i+1, o.ID)); e != nil {
				return fmt.Errorf("genesis: %s", e.Msg)
			}
			if other, dup := keys[string(v.PubKey)]; dup {
				return fmt.Errorf("genesis: validator %d of %s reuses the key of %s", i+1, o.ID, other)
			}
			keys[string(v.PubKey)] = "a validator of " + o.ID
			if err := node(o.ID, v.NodeID); err != nil {
				return err
			}
			nonSponsorVoter = nonSponsorVoter || o.Kind != OrgSponsor
		}
		if e := checkNodeIDs("genesis organisation "+o.ID, o.NodeIDs); e != nil {
			return fmt.Errorf("%s", e.Msg)
		}
		for _, id := range o.NodeIDs {
			if err := node(o.ID, id); err != nil {
				return err
			}
		}
	}
	if len(g.Orgs) > MaxOrgs {
		return fmt.Errorf("genesis: %d organisations is more than %d", len(g.Orgs), MaxOrgs)
	}
	if len(g.Validators()) == 0 {
		return fmt.Errorf("genesis: no organisation declares a validator; the chain needs at least one")
	}
	if g.Governance.NonSponsorVote && !nonSponsorVoter {
		return fmt.Errorf("genesis: governance requires a yes from an organisation other than a sponsor, but only sponsors run validators; give another organisation a validator or set governance.non_sponsor_vote to false")
	}
	return nil
}

// SortOrgs sorts organisations by ID, the order the ledger keeps them in.
func SortOrgs(orgs []Org) {
	slices.SortFunc(orgs, func(a, b Org) int { return strings.Compare(a.ID, b.ID) })
}

// check checks a's node account, if any, on its own and against its
// administrator.
func (n *NewAccount) check(a *AddOrg) *Error {
	switch {
	case n == nil:
		return nil
	case n.ID == a.Admin:
		return Errf(CodeInvalidMsg, "the node account cannot be the administrator's account %s", a.Admin)
	case len(n.PubKey) != ed25519.PublicKeySize:
		return Errf(CodeInvalidMsg, "the node account's public key must be a %d-byte ed25519 key", ed25519.PublicKeySize)
	case bytes.Equal(n.PubKey, a.AdminPubKey):
		return Errf(CodeInvalidMsg, "the node account's key is the administrator's: its key lies unencrypted in the node's home, so it must be a key of its own")
	}
	if e := CheckID("node account", n.ID); e != nil {
		return e
	}
	return checkName("printed name of the node account", n.Name, true)
}
