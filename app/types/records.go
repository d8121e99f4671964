package types

import (
	"github.com/veritrial/veritrial/protocol"
)

// OrgKind is the kind of a consortium organisation.
type OrgKind string

// Organisation kinds.
const (
	OrgSponsor   OrgKind = "sponsor"
	OrgSite      OrgKind = "site"
	OrgCRO       OrgKind = "cro"
	OrgRegulator OrgKind = "regulator"
	// OrgEthics is an ethics committee (IRB): it approves amendments
	// like a regulator.
	OrgEthics OrgKind = "ethics"
)

// orgKindList names the organisation kinds for messages.
const orgKindList = "sponsor, site, cro, regulator or ethics"

// Role is what a person may do within their organisation.
type Role string

// Roles.
const (
	RoleAdmin          Role = "admin"
	RoleDataManager    Role = "data_manager"
	RoleMedicalMonitor Role = "medical_monitor"
	RoleMonitor        Role = "monitor"
	RoleInvestigator   Role = "investigator"
	RoleCoordinator    Role = "coordinator"
	RoleAuditor        Role = "auditor"
	// RoleStatistician is the sponsor's unblinded statistician: the one
	// person who holds the allocation list, registers its commitments and
	// publishes its entries (randomization.go).
	RoleStatistician Role = "statistician"
	// RoleNode is a node's own account, not a person's: it commits its
	// node's access log head (accesshead.go) and does nothing else, and
	// it is held alone.
	RoleNode Role = "node"
)

// RolesFor lists the roles an organisation of kind k may grant, in a fixed
// order: its people's, then the node role.
func RolesFor(k OrgKind) []Role {
	switch k {
	case OrgSponsor:
		return []Role{RoleAdmin, RoleDataManager, RoleMedicalMonitor, RoleMonitor, RoleStatistician, RoleNode}
	case OrgSite:
		return []Role{RoleAdmin, RoleInvestigator, RoleCoordinator, RoleNode}
	case OrgCRO:
		return []Role{RoleAdmin, RoleMonitor, RoleDataManager, RoleNode}
	case OrgRegulator, OrgEthics:
		return []Role{RoleAdmin, RoleAuditor, RoleNode}
	}
	return nil
}

// ValidOrgKind reports whether k is a known organisation kind.
func ValidOrgKind(k OrgKind) bool { return RolesFor(k) != nil }

// Stamp attributes a change: who made it, under which role, for which
// organisation, in which block (height and consensus time in UTC) and tx.
type Stamp struct {
	Height int64  `json:"height"`
	Time   string `json:"time"` // RFC 3339, UTC, block time
	TxHash string `json:"tx_hash,omitempty"`
	Signer string `json:"signer,omitempty"`
	Name   string `json:"name,omitempty"` // the signer's printed name
	Org    string `json:"org,omitempty"`
	Role   Role   `json:"role,omitempty"`
}

// Org is a consortium organisation (see consortium.go). At genesis its
// status may be left out: every organisation starts active.
type Org struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Kind   OrgKind   `json:"kind"`
	Status OrgStatus `json:"status,omitempty"`
	// Validators are the validators it runs, the retired ones included.
	Validators []Validator `json:"validators,omitempty"`
	// NodeIDs are the CometBFT node IDs of its non-validating nodes.
	NodeIDs []string `json:"node_ids,omitempty"`
}

// AccountStatus is active or revoked.
type AccountStatus string

// Account statuses.
const (
	AccountActive  AccountStatus = "active"
	AccountRevoked AccountStatus = "revoked"
)

// Account is a person who signs transactions.
type Account struct {
	ID      string        `json:"id"`
	Org     string        `json:"org"`
	Name    string        `json:"name"` // as it must appear on a signature
	Roles   []Role        `json:"roles"`
	PubKey  []byte        `json:"pubkey"`
	Status  AccountStatus `json:"status"`
	Created Stamp         `json:"created"`
	// Seq counts the changes made to the account; each is kept under the
	// account's history prefix.
	Seq int `json:"seq"`
}

// HasRole reports whether a holds r.
func (a *Account) HasRole(r Role) bool {
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// AccountChange is one entry of an account's audit trail.
type AccountChange struct {
	Seq int `json:"seq"`
	// Action: genesis, add, set_roles, rotate_key, rotate_key_request,
	// revoke.
	Action  string  `json:"action"`
	Account Account `json:"account"` // the account after the change
	Reason  string  `json:"reason,omitempty"`
	Stamp   Stamp   `json:"stamp"`
	// Requested is, on a rotate_key that approved another person's
	// request, the stamp of that request.
	Requested *Stamp `json:"requested,omitempty"`
}

// Study is a registered study.
type Study struct {
	ID      string `json:"id"`
	Sponsor string `json:"sponsor"` // organisation
	Title   string `json:"title"`
	// Current is the number of the protocol version in force (1 = as
	// registered); Versions counts stored versions.
	Current    int      `json:"current"`
	Versions   int      `json:"versions"`
	Approvers  []string `json:"approvers"` // organisations that approve amendments
	Amendments int      `json:"amendments"`
	// Pending is the number of the amendment awaiting decision, 0 if none.
	Pending    int   `json:"pending"`
	Registered Stamp `json:"registered"`
	// Data management settings (see MsgRegisterStudy) and counters.
	Meanings      []string `json:"signature_meanings,omitempty"`
	SDVPolicy     string   `json:"sdv_policy,omitempty"`
	LockApprovers []string `json:"lock_approvers,omitempty"`
	LockQuorum    int      `json:"lock_quorum,omitempty"`
	// Queries counts the data queries raised (the last query number).
	Queries int `json:"queries,omitempty"`
	// LockHeight is the height of the block whose state is the locked
	// dataset while the database is locked; 0 when it is not locked.
	LockHeight int64 `json:"lock_height,omitempty"`
	// LabRanges is the version of the reference-range table in force, 0
	// when the study has none.
	LabRanges int `json:"lab_ranges,omitempty"`
	// ReconsentVersion is the consent version subjects must have signed
	// for their forms to be accepted, from protocol version
	// ReconsentFrom on: set when an amendment that needs re-consent comes
	// into force (state machine version 3 on); empty when none does.
	ReconsentVersion string `json:"reconsent_version,omitempty"`
	ReconsentFrom    int    `json:"reconsent_from,omitempty"`
}

// ProtocolVersion is one version of a study's protocol, stored forever.
type ProtocolVersion struct {
	Study       string            `json:"study"`
	Number      int               `json:"number"`
	Label       string            `json:"label"`
	Fingerprint string            `json:"fingerprint"`
	Amendment   int               `json:"amendment,omitempty"` // 0 for the registered version
	Protocol    protocol.Protocol `json:"protocol"`
	Effective   Stamp             `json:"effective"`
	// Migrate names the forms whose data entered under earlier versions is
	// judged under this one from now on (MsgProposeAmendment.Migrate).
	Migrate []string `json:"migrate,omitempty"`
}

// AmendmentStatus is the state of an amendment.
type AmendmentStatus string

// Amendment statuses.
const (
	AmendmentPending  AmendmentStatus = "pending"
	AmendmentApproved AmendmentStatus = "approved"
	AmendmentRejected AmendmentStatus = "rejected"
)

// Vote is one approver's decision on an amendment.
type Vote struct {
	Org     string `json:"org"`
	Approve bool   `json:"approve"`
	Comment string `json:"comment,omitempty"`
	Stamp   Stamp  `json:"stamp"`
}

// Amendment is a proposed protocol version and its decision.
type Amendment struct {
	Study       string            `json:"study"`
	Number      int               `json:"number"`
	Label       string            `json:"label"`
	Fingerprint string            `json:"fingerprint"`
	Rationale   string            `json:"rationale"`
	Protocol    protocol.Protocol `json:"protocol"`
	Changes     []string          `json:"changes"` // the printable diff against the version in force when proposed
	Compatible  bool              `json:"compatible"`
	Reconsent   bool              `json:"reconsent"`
	Status      AmendmentStatus   `json:"status"`
	Votes       []Vote            `json:"votes"`
	Proposed    Stamp             `json:"proposed"`
	Decided     *Stamp            `json:"decided,omitempty"`
	Version     int               `json:"version,omitempty"` // protocol version number it became
	// Migrate names the forms whose data already entered migrates to the
	// new version.
	Migrate []string `json:"migrate,omitempty"`
}

// Site is a site organisation activated for a study, with its principal
// investigator (an account of the site) and the history of both.
type Site struct {
	Study                 string       `json:"study"`
	Org                   string       `json:"org"`
	Activated             Stamp        `json:"activated"`
	PrincipalInvestigator string       `json:"principal_investigator"`
	History               []SiteChange `json:"history"`
}

// WithdrawalKind says what a withdrawn subject still allows (state
// machine version 3 on).
type WithdrawalKind string

// Withdrawal kinds, from the least to the most restrictive.
const (
	// WithdrawTreatment: the subject discontinued treatment; follow-up
	// continues and every form may still be entered.
	WithdrawTreatment WithdrawalKind = "treatment"
	// WithdrawFollowUp: the subject withdrew from follow-up; only safety
	// forms and the end-of-study form may still be entered.
	WithdrawFollowUp WithdrawalKind = "follow_up"
	// WithdrawConsent: the subject withdrew consent to further data
	// collection; nothing new is entered and data already collected stays.
	WithdrawConsent WithdrawalKind = "consent"
)

// SubjectStatus is enrolled or withdrawn.
type SubjectStatus string

// Subject statuses.
const (
	SubjectEnrolled  SubjectStatus = "enrolled"
	SubjectWithdrawn SubjectStatus = "withdrawn"
)

// Subject is a pseudonymous trial participant.
type Subject struct {
	Study          string        `json:"study"`
	ID             string        `json:"id"`
	Site           string        `json:"site"`
	ConsentVersion string        `json:"consent_version"`
	ConsentSHA256  string        `json:"consent_sha256"`
	Status         SubjectStatus `json:"status"`
	Enrolled       Stamp         `json:"enrolled"`
	Withdrawn      *Stamp        `json:"withdrawn,omitempty"`
	WithdrawReason string        `json:"withdraw_reason,omitempty"`
	// WithdrawalKind is set when the subject is withdrawn; a withdrawal
	// made before version 3 of the state machine is of kind consent
	// (nothing new could be entered after it).
	WithdrawalKind WithdrawalKind `json:"withdrawal_kind,omitempty"`
	// Withdrawals are the subject's withdrawals from version 3 of the
	// state machine on, oldest first, each more restrictive than the one
	// before; the last is the one in force.
	Withdrawals []Withdrawal `json:"withdrawals,omitempty"`
	// Reconsents are the consents the subject gave after enrolment,
	// oldest first (ConsentHistory).
	Reconsents []Consent `json:"reconsents,omitempty"`
	// Signatures counts the e-signatures made on the subject's data.
	Signatures int `json:"signatures,omitempty"`
}

// FormRecord is one version of an entered form. The current version lives
// under the form's key; every superseded version under its history key.
type FormRecord struct {
	FormKey
	Version int `json:"version"` // 1 = first entry
	// ProtocolVersion is the version every value of this version of the
	// form was judged under: the version in force at its entry; for a
	// correction, the version the form was entered under, or the latest
	// amendment since that migrated the form's data (Migrate).
	ProtocolVersion int                  `json:"protocol_version"`
	Values          []protocol.ItemValue `json:"values"` // canonical order, no empty values
	Warnings        []protocol.Problem   `json:"warnings,omitempty"`
	Changed         []string             `json:"changed,omitempty"` // items changed from the previous version
	Reason          string               `json:"reason,omitempty"`
	Stamp           Stamp                `json:"stamp"`
	// LabFlags are the lab values of this version outside their
	// reference range, in value order.
	LabFlags []LabFlag `json:"lab_flags,omitempty"`
	// ConsentPending, on a version entered for a subject not yet
	// re-consented under a protocol that flags it (study.reconsent:
	// flag), is the consent version the subject had not signed.
	ConsentPending string `json:"consent_pending,omitempty"`
}
