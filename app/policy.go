package app

import (
	"slices"
	"strings"

	"github.com/cosmos/iavl"

	"github.com/veritrial/veritrial/app/types"
)

// The read policy: who may read each record of the ledger. A reader is an
// active account of an active organisation (Authenticate checks that);
// what it reads follows from its organisation and the studies that
// organisation takes part in, as the latest committed state says,
// whatever height it reads: a revoked delegation closes the study's
// history too, and a new one opens it. The roles of the reader within its
// organisation do not matter, except for serious adverse event records
// (types.SafetyReaders). docs/PRIVACY.md ("Who reads what") states
// this table for people.

// readPolicy is the read policy: one rule per record prefix of keys.go
// (or exact key, where parts is 0). parts is how many '/'-separated
// segments follow the prefix at least; a key with fewer, or under no
// prefix here, is read by nobody.
var readPolicy = []struct {
	prefix string
	parts  int
	rule   readRule
}{
	// The consortium: every member, to know who takes part, vote on
	// changes and configure its nodes.
	{types.PrefixOrg, 1, everyMember},
	{types.PrefixValKey, 1, everyMember},
	{types.PrefixNodeID, 1, everyMember},
	{types.PrefixProposal, 1, everyMember},
	{types.PrefixUpgrade, 1, everyMember},
	{string(types.KeyGovernance), 0, everyMember},
	{types.KeyParams, 0, everyMember},
	{types.KeyChainID, 0, everyMember},
	{types.KeyStateVersion, 0, everyMember},
	{types.KeyVersionHistory, 0, everyMember},
	// The heads of the nodes' access logs: every member, to check that a
	// node's log agrees with what its organisation committed (a head is
	// a hash and a count, nothing of what was read).
	{types.PrefixAccessHead, 2, everyMember},
	// People: which account a public key is, to every member; an
	// account (name, roles, key), its history and the last request to
	// rotate its key (which its history records too) to its own
	// organisation and to the organisations that share a study with it.
	{types.PrefixPubKey, 1, everyMember},
	{types.PrefixAccount, 1, (*view).account},
	{types.PrefixAcctHist, 2, (*view).account},
	{types.PrefixKeyRot, 1, (*view).account},
	// A study, its protocol versions, amendments and database lock
	// decision: everyone who takes part in it.
	{types.PrefixStudy, 1, (*view).study},
	{types.PrefixProtocol, 2, (*view).study},
	{types.PrefixAmendment, 2, (*view).study},
	{types.PrefixDBLock, 1, (*view).study},
	// The reference-range table's versions: everyone who takes part in
	// the study, as the protocol; the assessments of a form's lab values:
	// whoever reads the form.
	{types.PrefixLabRanges, 2, (*view).study},
	{types.PrefixLabAssess, 7, (*view).subject},
	// The allocation lists (a stratum's count and its entries'
	// commitments): the whole study's readers, not the sites; a
	// subject's allocation: whoever reads the subject. No record holds an
	// arm before it is published (an emergency unblinding, or the
	// database lock), so no reader learns one before then.
	{types.PrefixRandStratum, 2, (*view).wholeStudy},
	{types.PrefixRandEntry, 3, (*view).wholeStudy},
	{types.PrefixAllocation, 2, (*view).subject},
	// A site of a study, its delegation log and its locks: the whole
	// study's readers and the site itself; a CRO's delegation: the whole
	// study's readers.
	{types.PrefixSite, 2, (*view).site},
	{types.PrefixDeleg, 3, (*view).delegation},
	{types.PrefixLock, 2, (*view).lock},
	// A subject and everything of its casebook: the whole study's
	// readers and the subject's site.
	{types.PrefixSubject, 2, (*view).subject},
	{types.PrefixForm, 5, (*view).subject},
	{types.PrefixHistory, 6, (*view).subject},
	{types.PrefixQueryForm, 6, (*view).subject},
	{types.PrefixSDV, 5, (*view).subject},
	{types.PrefixDeviation, 5, (*view).subject},
	{types.PrefixSignature, 3, (*view).subject},
	{types.PrefixQuery, 2, (*view).query},
	// A serious adverse event: of the subject's readers, only the roles
	// that need to know it (types.SafetyReaders).
	{types.PrefixSAE, 6, (*view).safety},
	// Replay protection is the ledger's own.
	{types.PrefixNonce, 3, nobody},
	{types.PrefixNonceList, 2, nobody},
}

// readRule says whether the view's reader reads the record at key, whose
// segments after the prefix are seg.
type readRule func(v *view, key []byte, seg []string) bool

// studyAccess is what an organisation reads of a study.
type studyAccess uint8

const (
	noAccess studyAccess = iota
	// siteAccess: a site active in the study reads the study-wide
	// records and its own site's records, subjects and their data.
	siteAccess
	// wholeStudy: the study's sponsor, a CRO it delegated tasks of the
	// study to, and the regulators and ethics committees that approve
	// for it read all of it.
	wholeStudy
)

// view applies the read policy for one reader against one committed
// version. It remembers what it looked up; not safe for concurrent use.
type view struct {
	a    *App
	st   *iavl.ImmutableTree
	acct *types.Account
	org  *types.Org

	studies  map[string]studyAccess
	subjects map[string]string // "study/subject": the site, "" when none
	partners map[string]bool   // nil until an account of another organisation is read
}

func (a *App) newView(st *iavl.ImmutableTree, acct *types.Account, org *types.Org) *view {
	return &view{a: a, st: st, acct: acct, org: org, studies: map[string]studyAccess{}, subjects: map[string]string{}}
}

// sees says whether the reader reads the record at key.
func (v *view) sees(key []byte) bool {
	k := string(key)
	for _, p := range readPolicy {
		if p.parts == 0 {
			if k == p.prefix {
				return p.rule(v, key, nil)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(k, p.prefix); ok {
			seg := strings.Split(rest, "/")
			return len(seg) >= p.parts && p.rule(v, key, seg)
		}
	}
	return false
}

func everyMember(*view, []byte, []string) bool { return true }

func nobody(*view, []byte, []string) bool { return false }

// study: a study-wide record of study seg[0].
func (v *view) study(_ []byte, seg []string) bool { return v.access(seg[0]) != noAccess }

// wholeStudy: a record of study seg[0] for the whole study's readers only.
func (v *view) wholeStudy(_ []byte, seg []string) bool { return v.access(seg[0]) == wholeStudy }

// site: the record of site seg[1] of study seg[0].
func (v *view) site(_ []byte, seg []string) bool { return v.ofSite(seg[0], seg[1]) }

// subject: a record of subject seg[1] of study seg[0].
func (v *view) subject(_ []byte, seg []string) bool { return v.ofSubject(seg[0], seg[1]) }

// delegation: deleg/<study>/org/<cro> or deleg/<study>/site/<site>/<account>.
func (v *view) delegation(_ []byte, seg []string) bool {
	switch {
	case len(seg) == 3 && seg[1] == "org":
		return v.access(seg[0]) == wholeStudy
	case len(seg) == 4 && seg[1] == "site":
		return v.ofSite(seg[0], seg[2])
	}
	return false
}

// lock: the lock of a study, a site, a subject or a form (types.KeyLock).
func (v *view) lock(_ []byte, seg []string) bool {
	switch {
	case len(seg) == 2 && seg[1] == "study":
		return v.access(seg[0]) != noAccess
	case len(seg) == 3 && seg[1] == "site":
		return v.ofSite(seg[0], seg[2])
	case len(seg) == 3 && seg[1] == "subj", len(seg) == 6 && seg[1] == "form":
		return v.ofSubject(seg[0], seg[2])
	}
	return false
}

// query: a data query, read by the subject's site as the query names it.
func (v *view) query(key []byte, seg []string) bool {
	switch v.access(seg[0]) {
	case wholeStudy:
		return true
	case siteAccess:
		var q types.Query
		ok, err := getJSON(v.st, key, &q)
		return v.ok(err) && ok && q.Site == v.org.ID
	}
	return false
}

// account: a record of account seg[0].
func (v *view) account(_ []byte, seg []string) bool {
	org, ok := v.orgOfAccount(seg[0])
	return ok && (org == v.org.ID || v.partner(org))
}

// ofSite: the whole study's readers, and the site itself.
func (v *view) ofSite(study, site string) bool {
	switch v.access(study) {
	case wholeStudy:
		return true
	case siteAccess:
		return site == v.org.ID
	}
	return false
}

// ofSubject: the whole study's readers, and the subject's site.
func (v *view) ofSubject(study, subject string) bool {
	switch v.access(study) {
	case wholeStudy:
		return true
	case siteAccess:
		return v.siteOf(study, subject) == v.org.ID
	}
	return false
}

// access is what the reader's organisation reads of study.
func (v *view) access(study string) studyAccess {
	acc, ok := v.studies[study]
	if !ok {
		var err error
		acc, err = v.a.accessOf(v.st, v.org, study)
		if !v.ok(err) {
			acc = noAccess
		}
		v.studies[study] = acc
	}
	return acc
}

// siteOf returns the site of a subject, "" when there is no such subject.
func (v *view) siteOf(study, subject string) string {
	k := study + "/" + subject
	site, ok := v.subjects[k]
	if !ok {
		s, found, err := v.a.subjects.get(v.st, types.KeySubject(study, subject))
		if v.ok(err) && found {
			site = s.Site
		}
		v.subjects[k] = site
	}
	return site
}

// orgOfAccount returns the organisation of an account; ok is false when
// there is no such account.
func (v *view) orgOfAccount(id string) (string, bool) {
	acct, ok, err := v.a.accounts.get(v.st, types.KeyAccount(id))
	if !v.ok(err) || !ok {
		return "", false
	}
	return acct.Org, true
}

// partner reports whether org takes part in a study the reader's
// organisation takes part in.
func (v *view) partner(org string) bool {
	if v.partners == nil {
		var err error
		v.partners, err = v.a.partnersOf(v.st, v.org)
		if !v.ok(err) {
			v.partners = map[string]bool{}
		}
	}
	return v.partners[org]
}

// ok logs a failure to read the committed state; the policy then answers
// no.
func (v *view) ok(err error) bool {
	if err != nil {
		v.a.log.Error("the read policy could not read the committed state; the record is refused", "reader", v.acct.ID, "err", err)
	}
	return err == nil
}

// accessOf is the read policy's rule for studies: what organisation o
// reads of study (noAccess when there is no such study).
func (a *App) accessOf(r reader, o *types.Org, study string) (studyAccess, error) {
	s, ok, err := a.studies.get(r, types.KeyStudy(study))
	if err != nil || !ok {
		return noAccess, err
	}
	switch o.Kind {
	case types.OrgSponsor:
		if s.Sponsor == o.ID {
			return wholeStudy, nil
		}
	case types.OrgCRO:
		d, ok, err := a.delegations.get(r, types.KeyStudyDelegation(study, o.ID))
		if err != nil || !ok || d.Status != types.DelegationActive {
			return noAccess, err
		}
		return wholeStudy, nil
	case types.OrgRegulator, types.OrgEthics:
		if o.Kind == types.OrgRegulator && a.params.RegulatorsReadAll {
			return wholeStudy, nil
		}
		amends, err := a.decides(r, o, s.Approvers, types.OrgRegulator, types.OrgEthics)
		if err != nil || amends {
			return wholeStudy, err
		}
		locks, err := a.decides(r, o, s.LockApprovers, types.OrgRegulator)
		if err != nil || !locks {
			return noAccess, err
		}
		return wholeStudy, nil
	case types.OrgSite:
		active, err := has(r, types.KeySite(study, o.ID))
		if err != nil || !active {
			return noAccess, err
		}
		return siteAccess, nil
	}
	return noAccess, nil
}

// decides reports whether o is among the named approvers of a study, or
// stands in for them as exec.deciders has it: none of them is an active
// organisation other than a sponsor, and o is an active one of a
// stand-in kind.
func (a *App) decides(r reader, o *types.Org, named []string, standIn ...types.OrgKind) (bool, error) {
	if slices.Contains(named, o.ID) {
		return true, nil
	}
	if !independent(*o) || !slices.Contains(standIn, o.Kind) {
		return false, nil
	}
	for _, id := range named {
		n, ok, err := a.orgs.get(r, types.KeyOrg(id))
		if err != nil {
			return false, err
		}
		if ok && independent(*n) {
			return false, nil
		}
	}
	return true, nil
}

// partnersOf returns the organisations that take part in a study o takes
// part in (o included when it takes part in any).
func (a *App) partnersOf(st *iavl.ImmutableTree, o *types.Org) (map[string]bool, error) {
	var orgs []*types.Org
	var studies []string
	err := iteratePrefix(st, []byte(types.PrefixOrg), func(k, _ []byte) bool {
		org, ok, err := a.orgs.get(st, k)
		if ok {
			orgs = append(orgs, org)
		}
		return err == nil
	})
	if err == nil {
		err = iteratePrefix(st, []byte(types.PrefixStudy), func(k, _ []byte) bool {
			studies = append(studies, strings.TrimPrefix(string(k), types.PrefixStudy))
			return true
		})
	}
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range studies {
		if acc, err := a.accessOf(st, o, s); err != nil || acc == noAccess {
			if err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range orgs {
			acc, err := a.accessOf(st, p, s)
			if err != nil {
				return nil, err
			}
			if acc != noAccess {
				out[p.ID] = true
			}
		}
	}
	return out, nil
}

// txRecord returns the key of the record a message acts on: whoever reads
// that record may see the transaction.
func txRecord(m *types.Msg) []byte {
	_, msg, e := m.Unpack()
	if e != nil {
		return nil
	}
	switch m := msg.(type) {
	case *types.MsgRegisterStudy:
		return types.KeyStudy(m.Protocol.Study.ID)
	case *types.MsgProposeAmendment:
		return types.KeyStudy(m.Study)
	case *types.MsgVoteAmendment:
		return types.KeyAmendment(m.Study, m.Amendment)
	case *types.MsgActivateSite:
		return types.KeySite(m.Study, m.Site)
	case *types.MsgChangeInvestigator:
		return types.KeySite(m.Study, m.Site)
	case *types.MsgEnrollSubject:
		return types.KeySubject(m.Study, m.Subject)
	case *types.MsgWithdrawSubject:
		return types.KeySubject(m.Study, m.Subject)
	case *types.MsgSubmitForm:
		return types.KeyForm(m.FormKey)
	case *types.MsgCorrectForm:
		return types.KeyForm(m.FormKey)
	case *types.MsgOpenQuery:
		return types.KeyForm(m.FormKey)
	case *types.MsgSetLabRanges:
		return types.KeyStudy(m.Study)
	case *types.MsgAssessLabValue:
		return types.KeyForm(m.FormKey)
	case *types.MsgReconsent:
		return types.KeySubject(m.Study, m.Subject)
	case *types.MsgAcknowledgeSAE:
		return types.KeySAE(m.FormKey, m.Row)
	case *types.MsgRegisterAllocations:
		return types.KeyRandStratum(m.Study, m.Stratum)
	case *types.MsgRandomize:
		return types.KeyAllocation(m.Study, m.Subject)
	case *types.MsgUnblind:
		return types.KeyAllocation(m.Study, m.Subject)
	case *types.MsgPublishAllocations:
		if len(m.Entries) == 0 {
			return nil
		}
		return types.KeyRandStratum(m.Study, m.Entries[0].Stratum)
	case *types.MsgQueryAction:
		return types.KeyQuery(m.Study, m.Number)
	case *types.MsgVerify:
		return types.KeySubject(m.Study, m.Subject)
	case *types.MsgSign:
		return types.KeySubject(m.Study, m.Subject)
	case *types.MsgScope:
		return types.KeyLock(m.Scope)
	case *types.MsgAddAccount:
		return types.KeyAccount(m.Account)
	case *types.MsgSetRoles:
		return types.KeyAccount(m.Account)
	case *types.MsgRotateKey:
		return types.KeyAccount(m.Account)
	case *types.MsgRevokeAccount:
		return types.KeyAccount(m.Account)
	case *types.MsgApproveKeyRotation:
		return types.KeyAccount(m.Account)
	case *types.MsgStudyDelegation:
		return types.KeyStudyDelegation(m.Study, m.Org)
	case *types.MsgSiteDelegation:
		return types.KeySiteDelegation(m.Study, m.Site, m.Account)
	case *types.MsgProposeChange, *types.MsgVoteChange:
		return types.KeyGovernance
	}
	return nil
}

// Viewer applies the read policy for one authenticated reader against the
// committed version that authenticated it: the HTTP API asks it which
// records and transactions the reader may see. Not safe for concurrent
// use: make one per request.
type Viewer struct{ v *view }

// Viewer returns the viewer of the reader of r.
func (a *App) Viewer(r *Read) *Viewer { return &Viewer{v: a.newView(r.state, r.Account, r.Org)} }

// SeesKey reports whether the reader may read the record at key, whether
// or not it exists.
func (w *Viewer) SeesKey(key []byte) bool { return w.v.sees(key) }

// SeesTx reports whether the reader may see a transaction carrying m: it
// reads the record m acts on (a study, site, subject, form, query, lock,
// account or delegation; governance for consortium changes).
func (w *Viewer) SeesTx(m *types.Msg) bool {
	k := txRecord(m)
	return k != nil && w.v.sees(k)
}

// safety: a serious adverse event of subject seg[1] of study seg[0].
func (v *view) safety(_ []byte, seg []string) bool {
	return types.ReadsSAEs(v.acct.Roles) && v.ofSubject(seg[0], seg[1])
}
