package types

// Code is an ABCI response code. 0 is success; every other number is a
// stable reason for rejection that clients and scripts may rely on. Numbers
// are never reused or renumbered.
type Code uint32

// Response codes. Grouped by hundreds: 1xx envelope and signature, 2xx
// authorization, 3xx study and protocol, 4xx subjects and forms, 5xx data
// management, 6xx consortium governance, 7xx reads, 8xx access log heads,
// 9xx internal.
const (
	CodeOK Code = 0

	CodeTxTooLarge       Code = 101
	CodeTxMalformed      Code = 102
	CodeTxNotCanonical   Code = 103
	CodeWrongChain       Code = 104
	CodeBadSignature     Code = 105
	CodeTxExpired        Code = 106
	CodeExpiryTooFar     Code = 107
	CodeNonceReused      Code = 108
	CodeUnsupportedVer   Code = 109
	CodeInvalidMsg       Code = 110
	CodeKindNotYet       Code = 111
	CodeUnknownSigner    Code = 201
	CodeSignerRevoked    Code = 202
	CodeSignerKeyStale   Code = 203
	CodeUnauthorized     Code = 204
	CodeWrongOrg         Code = 205
	CodeUnknownOrg       Code = 206
	CodeAccountExists    Code = 207
	CodeUnknownAccount   Code = 208
	CodeKeyReused        Code = 209
	CodeLastAdmin        Code = 210
	CodeInvalidRole      Code = 211
	CodeNotDelegated     Code = 212
	CodeNotPI            Code = 213
	CodeNoRotation       Code = 214
	CodeRotationExpired  Code = 215
	CodeOwnRotation      Code = 216
	CodeStudyExists      Code = 301
	CodeUnknownStudy     Code = 302
	CodeInvalidProtocol  Code = 303
	CodeFingerprint      Code = 304
	CodeAmendPending     Code = 305
	CodeNoAmendment      Code = 306
	CodeAlreadyVoted     Code = 307
	CodeNotApprover      Code = 308
	CodeSiteActive       Code = 309
	CodeSiteNotActive    Code = 310
	CodeNotASite         Code = 311
	CodeAmendVersion     Code = 312
	CodeNoIndependent    Code = 313
	CodeSponsorApprover  Code = 314
	CodeNotACRO          Code = 315
	CodeNoDelegation     Code = 316
	CodeSubjectExists    Code = 401
	CodeUnknownSubject   Code = 402
	CodeSubjectWithdrawn Code = 403
	CodeWrongSite        Code = 404
	CodeUnknownEvent     Code = 405
	CodeFormNotInEvent   Code = 406
	CodeEventRepeat      Code = 407
	CodeFormExists       Code = 408
	CodeUnknownForm      Code = 409
	CodeEditCheckFailed  Code = 410
	CodeNoChange         Code = 411
	CodeReasonRequired   Code = 412
	CodeFormNotFound     Code = 413
	CodeSubjectIDPattern Code = 414
	CodeFormChanged      Code = 420
	// CodeVisitOutOfWindow: a visit date outside a hard window.
	CodeVisitOutOfWindow Code = 421

	CodeUnknownQuery     Code = 501
	CodeQueryState       Code = 502
	CodeNotQueryRaiser   Code = 503
	CodeQueryMismatch    Code = 504
	CodeNothingToVerify  Code = 505
	CodeSignMeaning      Code = 506
	CodeSignHashMismatch Code = 507
	CodeNothingToSign    Code = 508
	CodeFrozen           Code = 509
	CodeLocked           Code = 510
	CodeLockBlocked      Code = 511
	CodeAlreadyApproved  Code = 512
	CodeNotLockApprover  Code = 513
	CodeLockState        Code = 514
	CodeItemNotInForm    Code = 515

	CodeUnknownProposal    Code = 601
	CodeProposalClosed     Code = 602
	CodeProposalExpired    Code = 603
	CodeOrgAlreadyVoted    Code = 604
	CodeNotVotingOrg       Code = 605
	CodeOrgSuspended       Code = 606
	CodeOrgRemoved         Code = 607
	CodeOrgExists          Code = 608
	CodeOrgStatus          Code = 609
	CodePowerConcentration Code = 610
	CodeNoValidatorPower   Code = 611
	CodeLastRegulator      Code = 612
	CodeNoNonSponsorVoter  Code = 613
	CodeValidatorKeyUsed   Code = 614
	CodeNodeIDTaken        Code = 615
	CodeUnknownValidator   Code = 616
	CodeConsortiumLimit    Code = 617
	// Upgrades: the height is not far enough ahead, another upgrade is
	// pending, the name was used.
	CodeUpgradeHeight   Code = 618
	CodeUpgradePending  Code = 619
	CodeUpgradeNameUsed Code = 620

	// Reads (7xx): a refused read request says why, never what it asked
	// for.
	CodeReadMalformed  Code = 701
	CodeReadWrongChain Code = 702
	CodeReadExpired    Code = 703
	CodeReadReplayed   Code = 704
	CodeReadUnknown    Code = 705
	CodeReadBadSig     Code = 706
	CodeReadNotVisible Code = 707
	CodeReadUnsigned   Code = 708
	CodeReadBusy       Code = 709
	CodeReadNotFound   Code = 710
	// CodeNodeHalted: the node stopped following the chain (a consensus
	// failure); what it holds may be stale, so it answers nothing but its
	// status.
	CodeNodeHalted Code = 711

	// Access log heads (8xx).
	CodeNotOrgNode       Code = 801
	CodeAccessHeadSeq    Code = 802
	CodeAccessHeadBehind Code = 803

	CodeInternal Code = 900
)

// Randomisation with a sealed allocation list (randomization.go).
const (
	// CodeNoRandomization: the protocol in force has no randomisation
	// section.
	CodeNoRandomization Code = 450
	// CodeAllocationSequence: a registration that would duplicate
	// registered entries of the stratum or leave a gap after them.
	CodeAllocationSequence Code = 451
	// CodeUnknownStratum: a stratum the protocol's factors cannot give
	// (a level that is no band, or a site not active in the study).
	CodeUnknownStratum Code = 452
	// CodeNotEligible: the eligibility item says no.
	CodeNotEligible Code = 453
	// CodeEligibilityMissing: the eligibility form, or an item that
	// decides the stratum, is not entered yet.
	CodeEligibilityMissing Code = 454
	// CodeAlreadyRandomized: the subject has an allocation.
	CodeAlreadyRandomized Code = 455
	// CodeNoAllocationList: no entries are registered for the stratum
	// (or not the entry named).
	CodeNoAllocationList Code = 456
	// CodeStratumExhausted: every registered entry of the stratum is
	// assigned.
	CodeStratumExhausted Code = 457
	// CodeNotRandomized: the subject has no allocation to unblind.
	CodeNotRandomized Code = 458
	// CodeAllocationMismatch: a published arm and salt do not open the
	// entry's commitment, or the arm is not one of the protocol's.
	CodeAllocationMismatch Code = 459
	// CodeAlreadyUnblinded: the subject was unblinded before.
	CodeAlreadyUnblinded Code = 460
	// CodeAlreadyPublished: the entry's arm is already published.
	CodeAlreadyPublished Code = 461
	// CodeStillBlinded: the entry may not be published yet: its subject
	// is not unblinded and the database is not locked.
	CodeStillBlinded Code = 462
)

// Reference ranges for lab items (labranges.go).
const (
	// CodeInvalidLabRanges: a reference-range table that does not hold
	// together, alone or against the protocol in force.
	CodeInvalidLabRanges Code = 330
	// CodeNoLabFlag: the form holds no flagged lab value there.
	CodeNoLabFlag Code = 530
)

// The consent lifecycle and serious adverse events (consent.go,
// safety.go).
const (
	// CodeUnknownConsentVersion: a re-consent, or (from state-machine
	// version 4) an enrolment in a study whose protocol declares consent
	// versions, names a consent version no protocol version declares.
	CodeUnknownConsentVersion Code = 430
	// CodeReconsentVersion: an amendment that needs re-consent names no
	// new consent version (study.consent_version).
	CodeReconsentVersion Code = 431
	// CodeReconsentRequired: a form for a subject not yet re-consented to
	// the consent version an amendment requires, under a protocol that
	// refuses it (study.reconsent: refuse).
	CodeReconsentRequired Code = 432
	// CodeWithdrawalKind: a withdrawal with no kind, or an unknown one.
	CodeWithdrawalKind Code = 433
	// CodeWithdrawalNotStricter: a withdrawal of a subject already
	// withdrawn that restricts no more than the one in force.
	CodeWithdrawalNotStricter Code = 434
	// CodeWithdrawnFromFollowUp: a new form other than a safety form or
	// end-of-study for a subject withdrawn from follow-up.
	CodeWithdrawnFromFollowUp Code = 435
	// CodeDateAfterBlock: a consent or withdrawal date after the day of
	// the block that records it.
	CodeDateAfterBlock Code = 436
	// CodeAlreadyConsented: a re-consent to a version the subject has
	// already consented to.
	CodeAlreadyConsented Code = 437
	// CodeUnknownSAE: no serious adverse event at that form row.
	CodeUnknownSAE Code = 440
	// CodeSAEAcknowledged: the serious adverse event was already
	// acknowledged.
	CodeSAEAcknowledged Code = 441
)

var codeNames = map[Code]string{
	CodeOK:               "ok",
	CodeTxTooLarge:       "tx_too_large",
	CodeTxMalformed:      "tx_malformed",
	CodeTxNotCanonical:   "tx_not_canonical",
	CodeWrongChain:       "wrong_chain",
	CodeBadSignature:     "bad_signature",
	CodeTxExpired:        "tx_expired",
	CodeExpiryTooFar:     "expiry_too_far",
	CodeNonceReused:      "nonce_reused",
	CodeUnsupportedVer:   "unsupported_version",
	CodeKindNotYet:       "kind_not_yet",
	CodeInvalidMsg:       "invalid_message",
	CodeUnknownSigner:    "unknown_signer",
	CodeSignerRevoked:    "signer_revoked",
	CodeSignerKeyStale:   "signer_key_stale",
	CodeUnauthorized:     "unauthorized",
	CodeWrongOrg:         "wrong_organisation",
	CodeUnknownOrg:       "unknown_organisation",
	CodeAccountExists:    "account_exists",
	CodeUnknownAccount:   "unknown_account",
	CodeKeyReused:        "key_reused",
	CodeLastAdmin:        "last_admin",
	CodeInvalidRole:      "invalid_role",
	CodeNotDelegated:     "not_delegated",
	CodeNotPI:            "not_principal_investigator",
	CodeNoRotation:       "no_rotation_request",
	CodeRotationExpired:  "rotation_request_expired",
	CodeOwnRotation:      "own_rotation_request",
	CodeStudyExists:      "study_exists",
	CodeUnknownStudy:     "unknown_study",
	CodeInvalidProtocol:  "invalid_protocol",
	CodeFingerprint:      "fingerprint_mismatch",
	CodeAmendPending:     "amendment_pending",
	CodeNoAmendment:      "no_pending_amendment",
	CodeAlreadyVoted:     "already_voted",
	CodeNotApprover:      "not_an_approver",
	CodeSiteActive:       "site_already_active",
	CodeSiteNotActive:    "site_not_active",
	CodeNotASite:         "not_a_site",
	CodeAmendVersion:     "amendment_version",
	CodeNoIndependent:    "no_independent_approver",
	CodeSponsorApprover:  "sponsor_approver",
	CodeNotACRO:          "not_a_cro",
	CodeNoDelegation:     "no_delegation",
	CodeSubjectExists:    "subject_exists",
	CodeUnknownSubject:   "unknown_subject",
	CodeSubjectWithdrawn: "subject_withdrawn",
	CodeWrongSite:        "wrong_site",
	CodeUnknownEvent:     "unknown_event",
	CodeFormNotInEvent:   "form_not_in_event",
	CodeEventRepeat:      "event_repeat",
	CodeFormExists:       "form_exists",
	CodeUnknownForm:      "unknown_form",
	CodeEditCheckFailed:  "edit_check_failed",
	CodeNoChange:         "no_change",
	CodeReasonRequired:   "reason_required",
	CodeFormNotFound:     "form_not_found",
	CodeSubjectIDPattern: "subject_id_pattern",
	CodeFormChanged:      "form_changed",
	CodeVisitOutOfWindow: "visit_out_of_window",
	CodeUnknownQuery:     "unknown_query",
	CodeQueryState:       "query_state",
	CodeNotQueryRaiser:   "not_query_raiser",
	CodeQueryMismatch:    "query_mismatch",
	CodeNothingToVerify:  "nothing_to_verify",
	CodeSignMeaning:      "signature_meaning",
	CodeSignHashMismatch: "signature_hash_mismatch",
	CodeNothingToSign:    "nothing_to_sign",
	CodeFrozen:           "frozen",
	CodeLocked:           "locked",
	CodeLockBlocked:      "lock_blocked",
	CodeAlreadyApproved:  "already_approved",
	CodeNotLockApprover:  "not_lock_approver",
	CodeLockState:        "lock_state",
	CodeItemNotInForm:    "item_not_in_form",

	CodeUnknownProposal:    "unknown_proposal",
	CodeProposalClosed:     "proposal_closed",
	CodeProposalExpired:    "proposal_expired",
	CodeOrgAlreadyVoted:    "organisation_already_voted",
	CodeNotVotingOrg:       "not_a_voting_organisation",
	CodeOrgSuspended:       "organisation_suspended",
	CodeOrgRemoved:         "organisation_removed",
	CodeOrgExists:          "organisation_exists",
	CodeOrgStatus:          "organisation_status",
	CodePowerConcentration: "power_concentration",
	CodeNoValidatorPower:   "no_validator_power",
	CodeLastRegulator:      "last_regulator",
	CodeNoNonSponsorVoter:  "no_non_sponsor_voter",
	CodeValidatorKeyUsed:   "validator_key_used",
	CodeNodeIDTaken:        "node_id_taken",
	CodeUnknownValidator:   "unknown_validator",
	CodeConsortiumLimit:    "consortium_limit",
	CodeUpgradeHeight:      "upgrade_height",
	CodeUpgradePending:     "upgrade_pending",
	CodeUpgradeNameUsed:    "upgrade_name_used",

	CodeReadMalformed:  "read_malformed",
	CodeReadWrongChain: "read_wrong_chain",
	CodeReadExpired:    "read_expired",
	CodeReadReplayed:   "read_replayed",
	CodeReadUnknown:    "read_unknown_reader",
	CodeReadBadSig:     "read_bad_signature",
	CodeReadNotVisible: "read_not_visible",
	CodeReadUnsigned:   "read_unsigned",
	CodeReadBusy:       "read_busy",
	CodeReadNotFound:   "read_not_found",
	CodeNodeHalted:     "node_halted",
	CodeInternal:       "internal",

	CodeNotOrgNode:       "not_organisation_node",
	CodeAccessHeadSeq:    "access_head_sequence",
	CodeAccessHeadBehind: "access_head_behind",

	CodeInvalidLabRanges: "invalid_lab_ranges",
	CodeNoLabFlag:        "no_lab_flag",

	CodeUnknownConsentVersion: "unknown_consent_version",
	CodeReconsentVersion:      "reconsent_version_required",
	CodeReconsentRequired:     "reconsent_required",
	CodeWithdrawalKind:        "withdrawal_kind",
	CodeWithdrawalNotStricter: "withdrawal_not_stricter",
	CodeWithdrawnFromFollowUp: "withdrawn_from_follow_up",
	CodeDateAfterBlock:        "date_after_block",
	CodeAlreadyConsented:      "already_consented",
	CodeUnknownSAE:            "unknown_sae",
	CodeSAEAcknowledged:       "sae_already_acknowledged",
	CodeNoRandomization:       "no_randomization",
	CodeAllocationSequence:    "allocation_sequence",
	CodeUnknownStratum:        "unknown_stratum",
	CodeNotEligible:           "not_eligible",
	CodeEligibilityMissing:    "eligibility_missing",
	CodeAlreadyRandomized:     "already_randomized",
	CodeNoAllocationList:      "no_allocation_list",
	CodeStratumExhausted:      "stratum_exhausted",
	CodeNotRandomized:         "not_randomized",
	CodeAllocationMismatch:    "allocation_mismatch",
	CodeAlreadyUnblinded:      "already_unblinded",
	CodeAlreadyPublished:      "already_published",
	CodeStillBlinded:          "still_blinded",
}

// String returns the code's stable name ("edit_check_failed").
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "unknown_code"
}

// Codespace is the ABCI codespace of every veritrial response.
const Codespace = "veritrial"

// Error is a rejection: a stable code and a message that says what was
// wrong and what to do about it.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errf builds an *Error.
func Errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: sprintf(format, args...)}
}
