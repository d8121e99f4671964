package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// randomization returns the study and the randomisation section of its
// protocol in force, or no_randomization.
func (x *exec) randomization(study string) (*types.Study, *protocol.Compiled, *protocol.Randomization, *types.Error) {
	s, e := x.study(study)
	if e != nil {
		return nil, nil, nil, e
	}
	_, c, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return nil, nil, nil, e
	}
	r := c.Randomization()
	if r == nil {
		return nil, nil, nil, types.Errf(types.CodeNoRandomization, "the protocol in force of study %s (version %d) has no randomisation section: subjects are not randomised on the ledger", s.ID, s.Current)
	}
	return s, c, r, nil
}

// sponsorOf refuses a signer of an organisation other than the study's
// sponsor.
func (x *exec) sponsorOf(s *types.Study) *types.Error {
	if x.c.org.ID != s.Sponsor {
		return types.Errf(types.CodeWrongOrg, "%s belongs to %s; only the sponsor of study %s (%s) holds its allocation list", x.c.signer.ID, x.c.org.ID, s.ID, s.Sponsor)
	}
	return nil
}

func (x *exec) registerAllocations(m *types.MsgRegisterAllocations) *types.Error {
	s, _, r, e := x.randomization(m.Study)
	if e != nil {
		return e
	}
	if e := x.sponsorOf(s); e != nil {
		return e
	}
	if e := x.guard(s.ID, "", "", nil, false); e != nil {
		return e
	}
	var err error
	active := func(site string) bool {
		ok, herr := x.st.has(types.KeySite(s.ID, site))
		err = firstErr(err, herr)
		return ok
	}
	valid := r.ValidStratum(m.Stratum, active)
	if err != nil {
		return internal(err)
	}
	if !valid {
		return types.Errf(types.CodeUnknownStratum, "stratum %q is not one the randomisation section of study %s gives (its levels: the factors %s, sites activated in the study)", m.Stratum, s.ID, factorNames(r))
	}
	var h types.RandStratum
	if _, e := x.load(types.KeyRandStratum(s.ID, m.Stratum), &h); e != nil {
		return e
	}
	if m.First != h.Size+1 {
		return types.Errf(types.CodeAllocationSequence, "stratum %s of study %s holds entries 1 to %d: a registration must continue at entry %d, not %d (no entry is registered twice or skipped)", m.Stratum, s.ID, h.Size, h.Size+1, m.First)
	}
	st := x.stamp()
	for i, c := range m.Commitments {
		seq := m.First + i
		x.st.setJSON(types.KeyRandEntry(s.ID, m.Stratum, seq), types.RandEntry{Study: s.ID, Stratum: m.Stratum, Seq: seq, Commitment: c, Registered: x.height})
	}
	h.Study, h.Stratum, h.Registered = s.ID, m.Stratum, st
	h.Size += len(m.Commitments)
	x.st.setJSON(types.KeyRandStratum(s.ID, m.Stratum), h)
	x.emit("study", s.ID, "stratum", m.Stratum, "first", strconv.Itoa(m.First), "size", strconv.Itoa(h.Size))
	return nil
}

// firstErr keeps the first error.
func firstErr(have, next error) error {
	if have != nil {
		return have
	}
	return next
}

// factorNames names the stratification factors for a message.
func factorNames(r *protocol.Randomization) string {
	if len(r.Strata) == 0 {
		return protocol.StratumAll
	}
	names := make([]string, len(r.Strata))
	for i, f := range r.Strata {
		names[i] = f.Name
	}
	return strings.Join(names, protocol.StratumSep)
}

func (x *exec) randomizeSubject(m *types.MsgRandomize) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskEnroll)
	if e != nil {
		return e
	}
	if e := x.guard(sub.Study, sub.Site, sub.ID, nil, true); e != nil {
		return e
	}
	if sub.Status == types.SubjectWithdrawn {
		return types.Errf(types.CodeSubjectWithdrawn, "subject %s was withdrawn at height %d and cannot be randomised", sub.ID, sub.Withdrawn.Height)
	}
	var prev types.Allocation
	if ok, e := x.load(types.KeyAllocation(sub.Study, sub.ID), &prev); e != nil {
		return e
	} else if ok {
		return types.Errf(types.CodeAlreadyRandomized, "subject %s was randomised at height %d (stratum %s, entry %d); a subject is randomised once", sub.ID, prev.Randomized.Height, prev.Stratum, prev.Seq)
	}
	s, c, r, e := x.randomization(sub.Study)
	if e != nil {
		return e
	}
	stratum, e := x.stratumOf(s, c, r, sub)
	if e != nil {
		return e
	}
	var h types.RandStratum
	if ok, e := x.load(types.KeyRandStratum(s.ID, stratum), &h); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeNoAllocationList, "no allocation list is registered for stratum %s of study %s; ask the sponsor's statistician to register it (veritrial randomization register)", stratum, s.ID)
	}
	if h.Assigned >= h.Size {
		return types.Errf(types.CodeStratumExhausted, "every one of the %d registered entries of stratum %s of study %s is assigned; ask the sponsor's statistician to register more", h.Size, stratum, s.ID)
	}
	h.Assigned++
	var entry types.RandEntry
	if ok, e := x.load(types.KeyRandEntry(s.ID, stratum, h.Assigned), &entry); e != nil {
		return e
	} else if !ok {
		panic("allocation entry " + strconv.Itoa(h.Assigned) + " of stratum " + stratum + " is missing below its size")
	}
	st := x.stamp()
	entry.Subject = sub.ID
	x.st.setJSON(types.KeyRandEntry(s.ID, stratum, h.Assigned), entry)
	x.st.setJSON(types.KeyRandStratum(s.ID, stratum), h)
	x.st.setJSON(types.KeyAllocation(s.ID, sub.ID), types.Allocation{
		Study: s.ID, Subject: sub.ID, Site: sub.Site, Stratum: stratum, Seq: h.Assigned,
		Commitment: entry.Commitment, Randomized: st,
	})
	x.emit("study", s.ID, "subject", sub.ID, "stratum", stratum, "seq", strconv.Itoa(h.Assigned))
	return nil
}

// stratumOf checks that the subject is eligible and returns its stratum.
func (x *exec) stratumOf(s *types.Study, c *protocol.Compiled, r *protocol.Randomization, sub *types.Subject) (string, *types.Error) {
	var e *types.Error
	value := func(event, item string) (string, bool) {
		_, form, ok := c.Item(item)
		if !ok || e != nil {
			return "", false
		}
		var rec types.FormRecord
		found, le := x.load(types.KeyForm(types.FormKey{Study: s.ID, Subject: sub.ID, Event: event, EventRepeat: 1, Form: form}), &rec)
		if le != nil {
			e = le
			return "", false
		}
		if !found {
			return "", false
		}
		i := slices.IndexFunc(rec.Values, func(v protocol.ItemValue) bool { return v.Item == item && v.Repeat == 0 })
		if i < 0 {
			return "", false
		}
		return rec.Values[i].Value, true
	}
	elig, ok := value(r.Event, r.Item)
	switch {
	case e != nil:
		return "", e
	case !ok:
		return "", types.Errf(types.CodeEligibilityMissing, "subject %s has no eligibility entered (form %s at %s, item %s); enter it before randomising", sub.ID, r.Form, r.Event, r.Item)
	case elig != "1":
		return "", types.Errf(types.CodeNotEligible, "subject %s is not eligible (%s is not yes on form %s at %s) and cannot be randomised", sub.ID, r.Item, r.Form, r.Event)
	}
	stratum, missing := r.Stratum(sub.Site, value)
	if e != nil {
		return "", e
	}
	if missing != "" {
		return "", types.Errf(types.CodeEligibilityMissing, "subject %s has no value for the stratification factor %s; enter it before randomising", sub.ID, missing)
	}
	return stratum, nil
}

func (x *exec) unblindSubject(m *types.MsgUnblind) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskEnroll)
	if e != nil {
		return e
	}
	if e := x.guard(sub.Study, sub.Site, sub.ID, nil, false); e != nil {
		return e
	}
	var a types.Allocation
	if ok, e := x.load(types.KeyAllocation(sub.Study, sub.ID), &a); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeNotRandomized, "subject %s of study %s is not randomised: there is no allocation to unblind", sub.ID, sub.Study)
	}
	if a.Unblinding != nil {
		return types.Errf(types.CodeAlreadyUnblinded, "subject %s was unblinded at height %d by %s (reason: %s)", sub.ID, a.Unblinding.Stamp.Height, a.Unblinding.Stamp.Signer, a.Unblinding.Reason)
	}
	a.Unblinding = &types.Unblinding{Stamp: x.stamp(), Reason: m.Reason}
	x.st.setJSON(types.KeyAllocation(sub.Study, sub.ID), a)
	x.emit("study", sub.Study, "subject", sub.ID, "stratum", a.Stratum, "seq", strconv.Itoa(a.Seq))
	return nil
}

func (x *exec) publishAllocations(m *types.MsgPublishAllocations) *types.Error {
	s, c, _, e := x.randomization(m.Study)
	if e != nil {
		return e
	}
	if e := x.sponsorOf(s); e != nil {
		return e
	}
	arms := c.Protocol().Study.Arms
	st := x.stamp()
	for _, r := range m.Entries {
		var entry types.RandEntry
		if ok, e := x.load(types.KeyRandEntry(s.ID, r.Stratum, r.Seq), &entry); e != nil {
			return e
		} else if !ok {
			return types.Errf(types.CodeNoAllocationList, "stratum %s of study %s has no registered entry %d", r.Stratum, s.ID, r.Seq)
		}
		if entry.Published != nil {
			return types.Errf(types.CodeAlreadyPublished, "entry %s #%d of study %s was published at height %d", r.Stratum, r.Seq, s.ID, entry.Published.Height)
		}
		if !slices.ContainsFunc(arms, func(a protocol.Arm) bool { return a.OID == r.Arm }) {
			return types.Errf(types.CodeAllocationMismatch, "entry %s #%d: %s is not an arm of study %s", r.Stratum, r.Seq, r.Arm, s.ID)
		}
		if err := types.VerifyReveal(s.ID, r, entry.Commitment); err != nil {
			return types.Errf(types.CodeAllocationMismatch, "%v: refused, the list does not match what was registered", err)
		}
		var a types.Allocation
		if entry.Subject != "" {
			if ok, e := x.load(types.KeyAllocation(s.ID, entry.Subject), &a); e != nil {
				return e
			} else if !ok {
				panic("allocation of subject " + entry.Subject + " is missing for its entry")
			}
		}
		if s.LockHeight == 0 && a.Unblinding == nil {
			return types.Errf(types.CodeStillBlinded, "entry %s #%d of study %s stays sealed: its subject is not unblinded and the database is not locked", r.Stratum, r.Seq, s.ID)
		}
		entry.Arm, entry.Salt, entry.Published = r.Arm, r.Salt, &st
		x.st.setJSON(types.KeyRandEntry(s.ID, r.Stratum, r.Seq), entry)
		if entry.Subject != "" {
			a.Arm, a.Salt, a.Published = r.Arm, r.Salt, &st
			x.st.setJSON(types.KeyAllocation(s.ID, entry.Subject), a)
		}
		var h types.RandStratum
		if _, e := x.load(types.KeyRandStratum(s.ID, r.Stratum), &h); e != nil {
			return e
		}
		h.Published++
		x.st.setJSON(types.KeyRandStratum(s.ID, r.Stratum), h)
	}
	x.emit("study", s.ID, "entries", strconv.Itoa(len(m.Entries)))
	return nil
}
