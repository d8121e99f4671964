package types

import (
	"encoding/base64"
	"fmt"
)

// Store keys. Every record of the ledger lives in one IAVL tree; keys are
// ASCII paths whose segments are identifiers (which never contain '/') or
// zero-padded decimal numbers, so keys sort in a useful order.
//
//	org/<org>                                          Org
//	acct/<account>                                     Account
//	accth/<account>/<seq:06>                           AccountChange
//	pk/<base64url pubkey>                              account ID: every key ever used
//	nonce/<expiry:012>/<signer>/<nonce>                0x01: a used nonce, until its expiry (state-machine versions 1-3)
//	nonces/<expiry:012>/<height:012>                   NonceList: the nonces used at a height that expire at expiry (version 4 on)
//	study/<study>                                      Study
//	proto/<study>/<version:06>                         ProtocolVersion
//	amend/<study>/<number:06>                          Amendment
//	site/<study>/<org>                                 Site
//	subj/<study>/<subject>                             Subject
//	form/<study>/<subject>/<event>/<repeat:04>/<form>  FormRecord (current version)
//	hist/<study>/<subject>/<event>/<repeat:04>/<form>/<version:06>  FormRecord (superseded)
//	query/<study>/<number:08>                          Query (data query and its thread)
//	qform/<study>/<subject>/<event>/<repeat:04>/<form>/<number:08>  empty: index of a form's queries
//	sdv/<study>/<subject>/<event>/<repeat:04>/<form>   SDVRecord
//	dev/<study>/<subject>/<event>/<repeat:04>/<form>   Deviation (of the visit dated by the form)
//	labref/<study>/<version:06>                        LabRangeTable (every version of the reference-range table)
//	labassess/<study>/<subject>/<event>/<repeat:04>/<form>/<item>/<row:04>  LabAssessments (of a flagged lab value)
//	randstratum/<study>/<stratum>                      RandStratum (a stratum's allocation list)
//	randentry/<study>/<stratum>/<seq:06>               RandEntry (one entry of it)
//	alloc/<study>/<subject>                            Allocation (a randomised subject's entry)
//	sig/<study>/<subject>/<number:06>                  Signature
//	lock/<study>/study                                 ScopeLock of the whole study
//	lock/<study>/site/<org>                            ScopeLock of a site
//	lock/<study>/subj/<subject>                        ScopeLock of a subject
//	lock/<study>/form/<subject>/<event>/<repeat:04>/<form>  ScopeLock of a form
//	dblock/<study>                                     DatabaseLock (approvals gathered)
//	deleg/<study>/org/<org>                            Delegation of the study's tasks to a CRO
//	deleg/<study>/site/<site>/<account>                Delegation (the site's delegation log: one person)
//	keyrot/<account>                                   KeyRotation (the last request to rotate the account's key)
//	vkey/<base64url pubkey>                            organisation ID: every validator key ever declared
//	nodeid/<node ID>                                   organisation ID: every node ID ever declared
//	prop/<number:08>                                   Proposal (a consortium change and its votes)
//	upgrade/<height:012>                               Upgrade (decided by a proposal; pending until applied at its height)
//	accesshead/<node ID>/<seq:010>                     AccessHead (every commitment of a node's access log head)
//	governance                                         Governance (rules in force, last proposal number)
//	params                                             Params (the consortium parameters of the genesis)
//	chain_id                                           the chain ID of the genesis
//	state_version                                      the state-machine version (decimal) that made this height
//	state_history                                      []VersionSpan: the first height of each state-machine version
const (
	PrefixOrg       = "org/"
	PrefixAccount   = "acct/"
	PrefixAcctHist  = "accth/"
	PrefixPubKey    = "pk/"
	PrefixNonce     = "nonce/"
	PrefixNonceList = "nonces/"
	PrefixStudy     = "study/"
	PrefixProtocol  = "proto/"
	PrefixAmendment = "amend/"
	PrefixSite      = "site/"
	PrefixSubject   = "subj/"
	PrefixForm      = "form/"
	PrefixHistory   = "hist/"
	PrefixQuery     = "query/"
	PrefixQueryForm = "qform/"
	PrefixSDV       = "sdv/"
	PrefixDeviation = "dev/"
	PrefixSignature = "sig/"
	PrefixLock      = "lock/"
	PrefixDBLock    = "dblock/"
	PrefixDeleg     = "deleg/"
	PrefixKeyRot    = "keyrot/"
	PrefixValKey    = "vkey/"
	PrefixNodeID    = "nodeid/"
	PrefixProposal  = "prop/"
	PrefixUpgrade   = "upgrade/"

	KeyParams  = "params"
	KeyChainID = "chain_id"
	// KeyStateVersion holds the ledger's state-machine version, in
	// decimal: the version whose rules executed the block of each height
	// (IAVL keeps every height, so its value at height h attributes
	// block h).
	KeyStateVersion = "state_version"
	// KeyVersionHistory holds the ledger's []VersionSpan: from which
	// height each state-machine version executed the blocks (from
	// version 2 on).
	KeyVersionHistory = "state_history"
)

// PrefixAccessHead is the prefix of the access log heads nodes commit.
const PrefixAccessHead = "accesshead/"

// Reference ranges for lab items and the assessments of the values
// outside them.
const (
	PrefixLabRanges = "labref/"
	PrefixLabAssess = "labassess/"
)

// KeyLabRanges is the key of version n of a study's reference-range table.
func KeyLabRanges(study string, n int) []byte {
	return []byte(fmt.Sprintf("%s%s/%06d", PrefixLabRanges, study, n))
}

// KeyLabAssessments is the key of the assessments of lab item (row
// repeat, 0 when not repeating) of form k.
func KeyLabAssessments(k FormKey, item string, repeat int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/%s/%04d", PrefixLabAssess, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form, item, repeat))
}

// PrefixLabAssessOf is the prefix of the assessments of form k's lab
// values.
func PrefixLabAssessOf(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/", PrefixLabAssess, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}

// PrefixSAE is the prefix of the serious adverse event records (KeySAE).
const PrefixSAE = "sae/"

// Randomisation: the allocation lists' strata and entries, and the
// subjects' allocations.
const (
	PrefixRandStratum = "randstratum/"
	PrefixRandEntry   = "randentry/"
	PrefixAllocation  = "alloc/"
)

// KeyRandStratum is the key of a stratum's allocation list.
func KeyRandStratum(study, stratum string) []byte {
	return []byte(PrefixRandStratum + study + "/" + stratum)
}

// KeyRandEntry is the key of entry seq of a stratum's allocation list.
func KeyRandEntry(study, stratum string, seq int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%06d", PrefixRandEntry, study, stratum, seq))
}

// PrefixRandEntriesOf is the prefix of a stratum's entries.
func PrefixRandEntriesOf(study, stratum string) []byte {
	return []byte(PrefixRandEntry + study + "/" + stratum + "/")
}

// KeyAllocation is the key of a randomised subject's allocation.
func KeyAllocation(study, subject string) []byte {
	return []byte(PrefixAllocation + study + "/" + subject)
}

// KeyGovernance is the key of the governance record.
var KeyGovernance = []byte("governance")

// KeyValidatorKey is the key recording that a consensus key was ever
// declared for a validator, and by which organisation.
func KeyValidatorKey(pub []byte) []byte {
	return []byte(PrefixValKey + base64.RawURLEncoding.EncodeToString(pub))
}

// KeyNodeID is the key recording that a node ID was ever declared, and by
// which organisation.
func KeyNodeID(id string) []byte { return []byte(PrefixNodeID + id) }

// KeyProposal is the key of consortium change proposal n.
func KeyProposal(n int) []byte { return []byte(fmt.Sprintf("%s%08d", PrefixProposal, n)) }

// KeyUpgrade is the key of the upgrade decided for height h.
func KeyUpgrade(h int64) []byte { return []byte(fmt.Sprintf("%s%012d", PrefixUpgrade, h)) }

// KeyAccessHead is the key of commitment seq of node's access log head.
func KeyAccessHead(node string, seq int64) []byte {
	return []byte(fmt.Sprintf("%s%s/%010d", PrefixAccessHead, node, seq))
}

// PrefixAccessHeadOf is the prefix of the commitments of node's access
// log head, in sequence order.
func PrefixAccessHeadOf(node string) string { return PrefixAccessHead + node + "/" }

// KeyOrg is the key of an organisation.
func KeyOrg(org string) []byte { return []byte(PrefixOrg + org) }

// KeyAccount is the key of an account.
func KeyAccount(id string) []byte { return []byte(PrefixAccount + id) }

// KeyAccountChange is the key of one change of an account.
func KeyAccountChange(id string, seq int) []byte {
	return []byte(fmt.Sprintf("%s%s/%06d", PrefixAcctHist, id, seq))
}

// KeyPubKey is the key recording that a public key was ever used.
func KeyPubKey(pub []byte) []byte {
	return []byte(PrefixPubKey + base64.RawURLEncoding.EncodeToString(pub))
}

// KeyNonce is the key of a used nonce. The expiry height comes first, so
// that the nonces of one block's txs sit together in the tree (a tx's
// expiry is a recent height plus a fixed window) and pruning the expired
// ones is a walk over the start of the range. A tx is identified by its
// signer, nonce and expiry, all covered by its signature.
func KeyNonce(expires int64, signer, nonce string) []byte {
	return []byte(fmt.Sprintf("%s%012d/%s/%s", PrefixNonce, expires, signer, nonce))
}

// KeyNonceList is the key of the list of the nonces that txs of the
// block at height used and that expire at expires: from state-machine
// version 4 a block writes one such list per expiry height among its txs
// (usually one or two), where earlier versions wrote one key per tx
// (KeyNonce). Expiry first, as for KeyNonce, so pruning stays a walk over
// the start of the range and every list a nonce may be in shares one
// prefix (NonceListPrefix).
func KeyNonceList(expires, height int64) []byte {
	return []byte(fmt.Sprintf("%s%012d/%012d", PrefixNonceList, expires, height))
}

// NonceListPrefix is the prefix of the nonce lists of one expiry height.
func NonceListPrefix(expires int64) []byte {
	return []byte(fmt.Sprintf("%s%012d/", PrefixNonceList, expires))
}

// KeyStudy is the key of a study.
func KeyStudy(study string) []byte { return []byte(PrefixStudy + study) }

// KeyProtocol is the key of a protocol version.
func KeyProtocol(study string, version int) []byte {
	return []byte(fmt.Sprintf("%s%s/%06d", PrefixProtocol, study, version))
}

// KeyAmendment is the key of an amendment.
func KeyAmendment(study string, n int) []byte {
	return []byte(fmt.Sprintf("%s%s/%06d", PrefixAmendment, study, n))
}

// KeySite is the key of a site activation.
func KeySite(study, org string) []byte { return []byte(PrefixSite + study + "/" + org) }

// KeySubject is the key of a subject.
func KeySubject(study, subject string) []byte { return []byte(PrefixSubject + study + "/" + subject) }

// KeyForm is the key of a form's current version.
func KeyForm(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s", PrefixForm, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}

// KeyFormHistory is the key of a superseded version of a form.
func KeyFormHistory(k FormKey, version int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/%06d", PrefixHistory, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form, version))
}

// KeyQuery is the key of data query n of a study.
func KeyQuery(study string, n int) []byte {
	return []byte(fmt.Sprintf("%s%s/%08d", PrefixQuery, study, n))
}

// KeyQueryForm is the index entry of query n on form k.
func KeyQueryForm(k FormKey, n int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/%08d", PrefixQueryForm, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form, n))
}

// PrefixQueryFormOf is the index prefix of the queries of form k.
func PrefixQueryFormOf(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/", PrefixQueryForm, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}

// KeySDV is the key of a form's source data verification.
func KeySDV(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s", PrefixSDV, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}

// KeyDeviation is the key of the protocol deviation of the visit whose
// date form k carries.
func KeyDeviation(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s", PrefixDeviation, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}

// KeySignature is the key of signature n of a subject.
func KeySignature(study, subject string, n int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%06d", PrefixSignature, study, subject, n))
}

// KeyLock is the key of a scope's freeze/lock state.
func KeyLock(s Scope) []byte {
	switch s.Level() {
	case ScopeForm:
		return []byte(fmt.Sprintf("%s%s/form/%s/%s/%04d/%s", PrefixLock, s.Study, s.Subject, s.Event, s.EventRepeat, s.Form))
	case ScopeSubject:
		return []byte(PrefixLock + s.Study + "/subj/" + s.Subject)
	case ScopeSite:
		return []byte(PrefixLock + s.Study + "/site/" + s.Site)
	}
	return []byte(PrefixLock + s.Study + "/study")
}

// KeyDBLock is the key of a study's pending database lock decision.
func KeyDBLock(study string) []byte { return []byte(PrefixDBLock + study) }

// KeyStudyDelegation is the key of a study's delegation to a CRO.
func KeyStudyDelegation(study, org string) []byte {
	return []byte(PrefixDeleg + study + "/org/" + org)
}

// KeySiteDelegation is the key of the delegation of a study's tasks at a
// site to one of its people.
func KeySiteDelegation(study, site, account string) []byte {
	return []byte(PrefixDeleg + study + "/site/" + site + "/" + account)
}

// KeyKeyRotation is the key of the last request to rotate an account's
// key.
func KeyKeyRotation(account string) []byte { return []byte(PrefixKeyRot + account) }

// PrefixEnd returns the smallest key greater than every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
