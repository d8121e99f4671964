package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// compileChecked verifies the fingerprint and compiles a protocol.
func (x *exec) compileChecked(p *protocol.Protocol, fingerprint string) (*protocol.Compiled, *types.Error) {
	fp, err := p.Fingerprint()
	if err != nil {
		return nil, types.Errf(types.CodeInvalidProtocol, "protocol cannot be encoded: %v", err)
	}
	if fp != fingerprint {
		return nil, types.Errf(types.CodeFingerprint, "protocol fingerprint is %s but the transaction declares %s; the protocol changed after it was checked", fp, fingerprint)
	}
	c, err := x.a.compiled(p, fp)
	if err != nil {
		return nil, types.Errf(types.CodeInvalidProtocol, "protocol is not valid: %v", err)
	}
	return c, nil
}

// compiled returns the compiled protocol with fingerprint fp, compiling
// and caching it on first use. Compilation is pure, so the cache cannot
// change any result.
func (a *App) compiled(p *protocol.Protocol, fp string) (*protocol.Compiled, error) {
	a.vmu.Lock()
	c, ok := a.protocols[fp]
	a.vmu.Unlock()
	if ok {
		return c, nil
	}
	c, err := protocol.Compile(p)
	if err != nil {
		return nil, err
	}
	a.vmu.Lock()
	a.protocols[fp] = c
	a.vmu.Unlock()
	return c, nil
}

// protocolVersion loads version n of a study's protocol, compiled, as the
// tx sees it (its own buffered writes first).
func (x *exec) protocolVersion(study string, n int) (*types.ProtocolVersion, *protocol.Compiled, *types.Error) {
	key := types.KeyProtocol(study, n)
	_, buffered := x.st.writes[string(key)]
	return x.a.loadVersion(x.st, key, study, n, !buffered)
}

// loadVersion reads the protocol version record at key from r, compiled.
//
// Decoded versions are cached by key: a protocol version record is written
// once, by a successful tx, and never changed, so the cache returns exactly
// what the store holds. A version written by the current tx (still in its
// buffer) is decoded but not cached (cache is false), as the tx may yet
// fail. CheckTx shares the cache (see precheckSubmit): it asks only for
// the version its committed study record names, which is committed too.
func (a *App) loadVersion(r reader, key []byte, study string, n int, cache bool) (*types.ProtocolVersion, *protocol.Compiled, *types.Error) {
	if cache {
		a.vmu.Lock()
		v, ok := a.versions[string(key)]
		a.vmu.Unlock()
		if ok {
			return v.pv, v.c, nil
		}
	}
	var pv types.ProtocolVersion
	ok, err := getJSON(r, key, &pv)
	if err != nil {
		return nil, nil, internal(err)
	}
	if !ok {
		return nil, nil, internal(errMissing("protocol version", study, n))
	}
	c, err := a.compiled(&pv.Protocol, pv.Fingerprint)
	if err != nil {
		return nil, nil, internal(err)
	}
	if cache {
		a.vmu.Lock()
		a.versions[string(key)] = versionEntry{pv: &pv, c: c}
		a.vmu.Unlock()
	}
	return &pv, c, nil
}

// versionEntry is a decoded, compiled protocol version; callers must not
// modify it.
type versionEntry struct {
	pv *types.ProtocolVersion
	c  *protocol.Compiled
}

func (x *exec) registerStudy(m *types.MsgRegisterStudy) *types.Error {
	id := m.Protocol.Study.ID
	if ok, err := x.st.has(types.KeyStudy(id)); err != nil {
		return internal(err)
	} else if ok {
		return types.Errf(types.CodeStudyExists, "study %q is already registered; change the protocol with an amendment", id)
	}
	// A normalized copy: the message may be shared with this node's
	// mempool cache and is never modified.
	cp := *m
	cp.Protocol = *protocol.Normalized(&m.Protocol)
	m = &cp
	if _, e := x.compileChecked(&m.Protocol, m.Fingerprint); e != nil {
		return e
	}
	approvers, e := x.amendmentApprovers(id, m.Approvers)
	if e != nil {
		return e
	}
	lockApprovers, quorum, e := x.lockApprovers(id, m.LockApprovers, m.LockQuorum)
	if e != nil {
		return e
	}
	meanings := m.SignatureMeanings
	if len(meanings) == 0 {
		meanings = types.DefaultMeanings
	}
	sdv := m.SDVPolicy
	if sdv == "" {
		sdv = types.SDVNone
	}
	s := types.Study{
		ID: id, Sponsor: x.c.org.ID, Title: m.Protocol.Study.Title, Current: 1, Versions: 1,
		Approvers: approvers, Registered: x.stamp(),
		Meanings: dedupe(append([]string(nil), meanings...)), SDVPolicy: sdv,
		LockApprovers: lockApprovers, LockQuorum: quorum,
	}
	x.st.setJSON(types.KeyStudy(id), s)
	x.st.setJSON(types.KeyProtocol(id, 1), types.ProtocolVersion{
		Study: id, Number: 1, Label: m.Protocol.Study.Version, Fingerprint: m.Fingerprint,
		Protocol: m.Protocol, Effective: x.stamp(),
	})
	x.emit("study", id)
	return nil
}

// Independence. Amendments, the database lock and its unlock always need
// the approval of an organisation that is not a sponsor (an independent
// organisation): registration refuses approver lists and lock policies
// without one, and every tally requires one. The study's sponsor never
// approves its own amendments. Tallies count the approvers that are
// active now: when none of a study's remaining approvers is independent
// (the consortium suspended or removed them), the active regulators (and
// for amendments the ethics committees) stand in, so that a study is
// never left unable to decide.

// independent reports whether o counts as an organisation independent of
// the sponsors: active and not a sponsor.
func independent(o types.Org) bool { return o.Active() && o.Kind != types.OrgSponsor }

// approvers resolves the named organisations, each once, or defaults to
// every active organisation of the given kinds.
func (x *exec) approvers(named []string, kinds ...types.OrgKind) ([]types.Org, *types.Error) {
	if len(named) == 0 {
		orgs, e := loadPrefix[types.Org](x, []byte(types.PrefixOrg))
		if e != nil {
			return nil, e
		}
		var out []types.Org
		for _, o := range orgs {
			if o.Active() && slices.Contains(kinds, o.Kind) {
				out = append(out, o)
			}
		}
		if len(out) == 0 {
			names := make([]string, len(kinds))
			for i, k := range kinds {
				names[i] = string(k)
			}
			return nil, types.Errf(types.CodeNotApprover, "the consortium has no active %s organisation; name the approvers explicitly", strings.Join(names, " or "))
		}
		return out, nil
	}
	var out []types.Org
	for _, id := range named {
		o, e := x.orgOf(id)
		if e != nil {
			return nil, e
		}
		if !slices.ContainsFunc(out, func(h types.Org) bool { return h.ID == id }) {
			out = append(out, *o)
		}
	}
	return out, nil
}

// orgIDs lists the IDs of orgs.
func orgIDs(orgs []types.Org) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}

// amendmentApprovers resolves the amendment approvers of a study the
// signer's organisation registers: the named ones, or every active
// regulator and ethics committee; never the sponsor itself, and at least
// one independent organisation.
func (x *exec) amendmentApprovers(study string, named []string) ([]string, *types.Error) {
	orgs, e := x.approvers(named, types.OrgRegulator, types.OrgEthics)
	if e != nil {
		return nil, e
	}
	for _, o := range orgs {
		if o.ID == x.c.org.ID {
			return nil, types.Errf(types.CodeSponsorApprover, "%s is the sponsor of %s, and a sponsor never approves its own amendments; name the regulators and ethics committees that approve them", o.ID, study)
		}
	}
	if !slices.ContainsFunc(orgs, independent) {
		return nil, types.Errf(types.CodeNoIndependent, "amendments of %s need the approval of an active organisation that is not a sponsor, and %s names none; add a regulator or an ethics committee", study, strings.Join(orgIDs(orgs), ", "))
	}
	return orgIDs(orgs), nil
}

// lockApprovers resolves the database lock approvers of a study the
// signer's organisation registers: the sponsor first, then the named
// organisations (sponsors, CROs and regulators: the kinds that approve a
// lock), or every active regulator; at least one of them independent.
// The quorum defaults to 2 and is at least 2: the sponsor and an
// independent organisation.
func (x *exec) lockApprovers(study string, named []string, quorum int) ([]string, int, *types.Error) {
	others, e := x.approvers(named, types.OrgRegulator)
	if e != nil {
		return nil, 0, e
	}
	out := []string{x.c.org.ID}
	indep := false
	for _, o := range others {
		if o.Kind != types.OrgSponsor && o.Kind != types.OrgCRO && o.Kind != types.OrgRegulator {
			return nil, 0, types.Errf(types.CodeInvalidMsg, "%s is a %s organisation; only sponsors, CROs and regulators approve a database lock", o.ID, o.Kind)
		}
		indep = indep || independent(o)
		if !slices.Contains(out, o.ID) {
			out = append(out, o.ID)
		}
	}
	if !indep {
		return nil, 0, types.Errf(types.CodeNoIndependent, "the database lock of %s needs the approval of an active organisation that is not a sponsor, and the lock approvers %s name none; add a regulator or a CRO", study, strings.Join(out, ", "))
	}
	if quorum == 0 {
		quorum = 2
	}
	if quorum < 2 {
		return nil, 0, types.Errf(types.CodeNoIndependent, "a lock quorum of %d would let the sponsor lock and unlock %s alone; the quorum is at least 2, the sponsor and an organisation that is not a sponsor", quorum, study)
	}
	if quorum > len(out) {
		return nil, 0, types.Errf(types.CodeInvalidMsg, "lock quorum %d is more than the %d lock approvers (%s)", quorum, len(out), strings.Join(out, ", "))
	}
	return out, quorum, nil
}

// deciders returns the organisations whose approvals count now among a
// study's named approvers: those still active and, when none of them is
// independent, every active organisation of the stand-in kinds too.
func (x *exec) deciders(named []string, standIn ...types.OrgKind) ([]types.Org, *types.Error) {
	var out []types.Org
	for _, id := range named {
		o, e := x.orgOf(id)
		if e != nil {
			return nil, e
		}
		if o.Active() {
			out = append(out, *o)
		}
	}
	if slices.ContainsFunc(out, independent) {
		return out, nil
	}
	orgs, e := loadPrefix[types.Org](x, []byte(types.PrefixOrg))
	if e != nil {
		return nil, e
	}
	for _, o := range orgs {
		if independent(o) && slices.Contains(standIn, o.Kind) && !slices.Contains(named, o.ID) {
			out = append(out, o)
		}
	}
	return out, nil
}

// decider returns the decider of ID id, or nil.
func decider(orgs []types.Org, id string) *types.Org {
	for i := range orgs {
		if orgs[i].ID == id {
			return &orgs[i]
		}
	}
	return nil
}

func (x *exec) proposeAmendment(m *types.MsgProposeAmendment) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, "", "", nil, false); e != nil {
		return e
	}
	if s.Sponsor != x.c.org.ID {
		return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; only its sponsor can amend it", s.ID, s.Sponsor)
	}
	if s.Pending != 0 {
		return types.Errf(types.CodeAmendPending, "amendment %d of study %s is still awaiting approval; it must be approved or rejected first", s.Pending, s.ID)
	}
	if m.Protocol.Study.ID != s.ID {
		return types.Errf(types.CodeInvalidProtocol, "the amended protocol is for study %q, not %q", m.Protocol.Study.ID, s.ID)
	}
	// A normalized copy: the message may be shared with this node's
	// mempool cache and is never modified.
	cp := *m
	cp.Protocol = *protocol.Normalized(&m.Protocol)
	m = &cp
	for n := 1; n <= s.Versions; n++ {
		var pv types.ProtocolVersion
		if _, e := x.load(types.KeyProtocol(s.ID, n), &pv); e != nil {
			return e
		}
		if pv.Label == m.Protocol.Study.Version {
			return types.Errf(types.CodeAmendVersion, "protocol version %q is already used by version %d of study %s; give the amendment a new version label", pv.Label, n, s.ID)
		}
		if pv.Fingerprint == m.Fingerprint {
			return types.Errf(types.CodeAmendVersion, "the amended protocol is identical to version %d", n)
		}
	}
	nc, e := x.compileChecked(&m.Protocol, m.Fingerprint)
	if e != nil {
		return e
	}
	for _, f := range m.Migrate {
		if _, ok := nc.Form(f); !ok {
			return types.Errf(types.CodeUnknownForm, "the amendment migrates form %q, which is not in the amended protocol of study %s", f, s.ID)
		}
	}
	cur, _, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return e
	}
	d := protocol.Diff(&cur.Protocol, &m.Protocol)
	if e := x.checkReconsentVersion(s, &cur.Protocol, &m.Protocol, d.NeedsReconsent); e != nil {
		return e
	}
	s.Amendments++
	s.Pending = s.Amendments
	am := types.Amendment{
		Study: s.ID, Number: s.Amendments, Label: m.Protocol.Study.Version, Fingerprint: m.Fingerprint,
		Rationale: m.Rationale, Protocol: m.Protocol, Changes: diffLines(d.String()),
		Compatible: d.Compatible, Reconsent: d.NeedsReconsent, Status: types.AmendmentPending,
		Votes: []types.Vote{}, Proposed: x.stamp(), Migrate: m.Migrate,
	}
	x.st.setJSON(types.KeyAmendment(s.ID, am.Number), am)
	x.st.setJSON(types.KeyStudy(s.ID), s)
	x.emit("study", s.ID, "amendment", strconv.Itoa(am.Number))
	return nil
}

func diffLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (x *exec) voteAmendment(m *types.MsgVoteAmendment, approve bool) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, "", "", nil, false); e != nil {
		return e
	}
	if s.Pending == 0 || s.Pending != m.Amendment {
		if s.Pending == 0 {
			return types.Errf(types.CodeNoAmendment, "study %s has no amendment awaiting approval", s.ID)
		}
		return types.Errf(types.CodeNoAmendment, "amendment %d of study %s is not the one awaiting approval (that is %d)", m.Amendment, s.ID, s.Pending)
	}
	deciders, e := x.deciders(s.Approvers, types.OrgRegulator, types.OrgEthics)
	if e != nil {
		return e
	}
	if decider(deciders, x.c.org.ID) == nil {
		return types.Errf(types.CodeNotApprover, "%s is not an approver of study %s (approvers: %s)", x.c.org.ID, s.ID, strings.Join(orgIDs(deciders), ", "))
	}
	var am types.Amendment
	if ok, e := x.load(types.KeyAmendment(s.ID, m.Amendment), &am); e != nil {
		return e
	} else if !ok {
		return internal(errMissing("amendment", s.ID, m.Amendment))
	}
	voted := slices.ContainsFunc(am.Votes, func(v types.Vote) bool { return v.Org == x.c.org.ID })
	switch {
	case voted && (!approve || !approved(deciders, am.Votes)):
		return types.Errf(types.CodeAlreadyVoted, "%s already decided on amendment %d of study %s", x.c.org.ID, am.Number, s.ID)
	case !voted:
		am.Votes = append(am.Votes, types.Vote{Org: x.c.org.ID, Approve: approve, Comment: m.Comment, Stamp: x.stamp()})
	}
	// An approver that approved before confirms the decision its earlier
	// approval now completes (an approver it waited for can no longer sign).
	st := x.stamp()
	switch {
	case !approve:
		am.Status = types.AmendmentRejected
		am.Decided = &st
		s.Pending = 0
	case approved(deciders, am.Votes):
		am.Status = types.AmendmentApproved
		am.Decided = &st
		s.Pending = 0
		s.Versions++
		s.Current = s.Versions
		am.Version = s.Versions
		x.st.setJSON(types.KeyProtocol(s.ID, s.Versions), types.ProtocolVersion{
			Study: s.ID, Number: s.Versions, Label: am.Label, Fingerprint: am.Fingerprint,
			Amendment: am.Number, Protocol: am.Protocol, Effective: st, Migrate: am.Migrate,
		})
		if v := am.Protocol.Study.ConsentVersion; x.version >= 3 && am.Reconsent && v != "" {
			s.ReconsentVersion, s.ReconsentFrom = v, s.Versions
		}
	}
	x.st.setJSON(types.KeyAmendment(s.ID, am.Number), am)
	x.st.setJSON(types.KeyStudy(s.ID), s)
	x.emit("study", s.ID, "amendment", strconv.Itoa(am.Number))
	return nil
}

// approved reports whether votes approve an amendment: every decider
// approved, one of them independent.
func approved(deciders []types.Org, votes []types.Vote) bool {
	indep := false
	for _, o := range deciders {
		if !slices.ContainsFunc(votes, func(v types.Vote) bool { return v.Org == o.ID && v.Approve }) {
			return false
		}
		indep = indep || independent(o)
	}
	return indep
}

func (x *exec) activateSite(m *types.MsgActivateSite) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, "", "", nil, false); e != nil {
		return e
	}
	if s.Sponsor != x.c.org.ID {
		return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; only its sponsor can activate sites", s.ID, s.Sponsor)
	}
	o, e := x.orgOf(m.Site)
	if e != nil {
		return e
	}
	if o.Kind != types.OrgSite {
		return types.Errf(types.CodeNotASite, "%s is a %s organisation, not a site", o.ID, o.Kind)
	}
	if ok, err := x.st.has(types.KeySite(s.ID, o.ID)); err != nil {
		return internal(err)
	} else if ok {
		return types.Errf(types.CodeSiteActive, "site %s is already active for study %s", o.ID, s.ID)
	}
	if e := x.investigatorOf(o.ID, m.PrincipalInvestigator); e != nil {
		return e
	}
	st := x.stamp()
	x.st.setJSON(types.KeySite(s.ID, o.ID), types.Site{Study: s.ID, Org: o.ID, Activated: st, PrincipalInvestigator: m.PrincipalInvestigator,
		History: []types.SiteChange{{Action: "activate", PrincipalInvestigator: m.PrincipalInvestigator, Stamp: st}}})
	x.emit("study", s.ID, "site", o.ID, "account", m.PrincipalInvestigator)
	return nil
}
