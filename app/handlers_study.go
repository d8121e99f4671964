package app

import (
	"encoding/json"
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
	approvers, e := x.approvers(m.Approvers, types.OrgRegulator, types.OrgEthics)
	if e != nil {
		return e
	}
	lockApprovers, quorum, e := x.lockApprovers(m.LockApprovers, m.LockQuorum)
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

// approvers validates the named approver organisations, or defaults to
// every active organisation of the given kinds (regulators, and ethics
// committees for amendments).
func (x *exec) approvers(named []string, kinds ...types.OrgKind) ([]string, *types.Error) {
	var out []string
	if len(named) == 0 {
		err := iteratePrefix(x.tree, []byte(types.PrefixOrg), func(_, v []byte) bool {
			var o types.Org
			if json.Unmarshal(v, &o) == nil && o.Active() && slices.Contains(kinds, o.Kind) {
				out = append(out, o.ID)
			}
			return true
		})
		if err != nil {
			return nil, internal(err)
		}
		if len(out) == 0 {
			return nil, types.Errf(types.CodeNotApprover, "the consortium has no active regulator organisation; name the approvers explicitly")
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, id := range named {
		if _, e := x.orgOf(id); e != nil {
			return nil, e
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// lockApprovers resolves the database lock approvers: the sponsor (the
// signer's organisation) first, then the named organisations, or every
// regulator organisation; the quorum defaults to 2.
func (x *exec) lockApprovers(named []string, quorum int) ([]string, int, *types.Error) {
	out := []string{x.c.org.ID}
	var others []string
	if len(named) == 0 {
		regs, e := x.approvers(nil, types.OrgRegulator)
		if e != nil {
			return nil, 0, e
		}
		others = regs
	} else {
		for _, id := range named {
			if _, e := x.orgOf(id); e != nil {
				return nil, 0, e
			}
		}
		others = named
	}
	for _, o := range others {
		dup := false
		for _, have := range out {
			if have == o {
				dup = true
			}
		}
		if !dup {
			out = append(out, o)
		}
	}
	if quorum == 0 {
		quorum = 2
	}
	if quorum > len(out) {
		return nil, 0, types.Errf(types.CodeInvalidMsg, "lock quorum %d is more than the %d lock approvers (%s)", quorum, len(out), strings.Join(out, ", "))
	}
	return out, quorum, nil
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
	if _, e := x.compileChecked(&m.Protocol, m.Fingerprint); e != nil {
		return e
	}
	cur, _, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return e
	}
	d := protocol.Diff(&cur.Protocol, &m.Protocol)
	s.Amendments++
	s.Pending = s.Amendments
	am := types.Amendment{
		Study: s.ID, Number: s.Amendments, Label: m.Protocol.Study.Version, Fingerprint: m.Fingerprint,
		Rationale: m.Rationale, Protocol: m.Protocol, Changes: diffLines(d.String()),
		Compatible: d.Compatible, Reconsent: d.NeedsReconsent, Status: types.AmendmentPending,
		Votes: []types.Vote{}, Proposed: x.stamp(),
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
	isApprover := false
	for _, o := range s.Approvers {
		if o == x.c.org.ID {
			isApprover = true
		}
	}
	if !isApprover {
		return types.Errf(types.CodeNotApprover, "%s is not an approver of study %s (approvers: %s)", x.c.org.ID, s.ID, strings.Join(s.Approvers, ", "))
	}
	var am types.Amendment
	if ok, e := x.load(types.KeyAmendment(s.ID, m.Amendment), &am); e != nil {
		return e
	} else if !ok {
		return internal(errMissing("amendment", s.ID, m.Amendment))
	}
	for _, v := range am.Votes {
		if v.Org == x.c.org.ID {
			return types.Errf(types.CodeAlreadyVoted, "%s already decided on amendment %d of study %s", x.c.org.ID, am.Number, s.ID)
		}
	}
	am.Votes = append(am.Votes, types.Vote{Org: x.c.org.ID, Approve: approve, Comment: m.Comment, Stamp: x.stamp()})
	st := x.stamp()
	switch {
	case !approve:
		am.Status = types.AmendmentRejected
		am.Decided = &st
		s.Pending = 0
	case len(am.Votes) == len(s.Approvers):
		am.Status = types.AmendmentApproved
		am.Decided = &st
		s.Pending = 0
		s.Versions++
		s.Current = s.Versions
		am.Version = s.Versions
		x.st.setJSON(types.KeyProtocol(s.ID, s.Versions), types.ProtocolVersion{
			Study: s.ID, Number: s.Versions, Label: am.Label, Fingerprint: am.Fingerprint,
			Amendment: am.Number, Protocol: am.Protocol, Effective: st,
		})
	}
	x.st.setJSON(types.KeyAmendment(s.ID, am.Number), am)
	x.st.setJSON(types.KeyStudy(s.ID), s)
	x.emit("study", s.ID, "amendment", strconv.Itoa(am.Number))
	return nil
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
	x.st.setJSON(types.KeySite(s.ID, o.ID), types.Site{Study: s.ID, Org: o.ID, Activated: x.stamp()})
	x.emit("study", s.ID, "site", o.ID)
	return nil
}
