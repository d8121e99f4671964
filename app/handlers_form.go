package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// formContext resolves what every form write needs: the subject (own
// site, data entry delegated), the protocol in force and the event/form
// placement.
func (x *exec) formContext(k types.FormKey) (*types.Subject, *types.Study, *protocol.Compiled, *types.Error) {
	sub, e := x.ownSubject(k.Study, k.Subject, types.TaskEntry)
	if e != nil {
		return nil, nil, nil, e
	}
	s, e := x.study(k.Study)
	if e != nil {
		return nil, nil, nil, e
	}
	_, c, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return nil, nil, nil, e
	}
	if e := placement(c, s, s.Current, k); e != nil {
		return nil, nil, nil, e
	}
	return sub, s, c, nil
}

// placement checks that protocol version v, compiled as c, collects the
// form at the event, in a repeat the event allows.
func placement(c *protocol.Compiled, s *types.Study, v int, k types.FormKey) *types.Error {
	ev, ok := c.Event(k.Event)
	if !ok {
		return types.Errf(types.CodeUnknownEvent, "event %q is not in the schedule of study %s (protocol version %d)", k.Event, s.ID, v)
	}
	if _, ok := c.Form(k.Form); !ok {
		return types.Errf(types.CodeUnknownForm, "form %q is not defined in study %s (protocol version %d)", k.Form, s.ID, v)
	}
	if !c.FormInEvent(k.Event, k.Form) {
		return types.Errf(types.CodeFormNotInEvent, "form %s is not collected at event %s", k.Form, k.Event)
	}
	if !ev.Repeatable && k.EventRepeat != 1 {
		return types.Errf(types.CodeEventRepeat, "event %s does not repeat; use event repeat 1, not %d", k.Event, k.EventRepeat)
	}
	return nil
}

// subjectForms supplies the subject's stored form instances to the
// protocol's cross-form lookup; a record that cannot be read counts as
// absent.
func (x *exec) subjectForms(k types.FormKey) protocol.FormValues {
	return func(event string, eventRepeat int, form string) ([]protocol.ItemValue, bool) {
		var rec types.FormRecord
		key := types.FormKey{Study: k.Study, Subject: k.Subject, Event: event, EventRepeat: eventRepeat, Form: form}
		ok, _ := x.st.getJSON(types.KeyForm(key), &rec)
		return rec.Values, ok
	}
}

// validate runs the protocol's edit checks; hard problems reject the tx
// with every problem listed, soft ones are returned to be stored, with
// the values of the form's derived items.
func (x *exec) validate(c *protocol.Compiled, k types.FormKey, values []protocol.ItemValue) ([]protocol.Problem, []protocol.ItemValue, *types.Error) {
	problems, derived := c.Evaluate(k.Form, values, c.CrossFormLookup(k.Event, k.EventRepeat, x.subjectForms(k)))
	warnings, e := verdict(k, problems)
	return warnings, derived, e
}

// verdict splits the problems the edit checks found: any hard one rejects
// the form, with every hard problem listed; soft ones are returned to be
// stored with it.
func verdict(k types.FormKey, problems []protocol.Problem) ([]protocol.Problem, *types.Error) {
	var hard []string
	var soft []protocol.Problem
	for _, p := range problems {
		if p.Severity == protocol.Hard {
			hard = append(hard, p.Message)
		} else {
			soft = append(soft, p)
		}
	}
	if len(hard) > 0 {
		return nil, types.Errf(types.CodeEditCheckFailed, "form %s for subject %s was rejected by %d edit check(s): %s", k.Form, k.Subject, len(hard), strings.Join(hard, "; "))
	}
	return soft, nil
}

// precheckSubmit is CheckTx's look at a form submission new to the
// mempool: it runs the form's edit checks on the values the tx carries,
// against the protocol version in force in the last committed state, and
// refuses the tx when a hard check fails, with FinalizeBlock's code and
// message. The site hears at once, and the consortium does not carry,
// gossip and execute on every validator a submission bound to fail.
//
// Only that verdict is taken early. It depends on nothing but the values
// and the protocol version, unless a condition reads another form of the
// subject, which may change before the tx reaches a block: then only a
// problem of a value itself (a range, a type, a code list...), which no
// condition can lift, refuses the tx here (see protocol.ValidateAlone).
// A form the schedule does not place where the tx says is left to
// FinalizeBlock, as is everything that depends on the subject's state
// (enrolment, site, locks, withdrawal, a form already entered): an
// enrolment may be waiting in the mempool with the submission. A
// submission with bad values and such a problem too hears of its values
// first. FinalizeBlock still runs every check, which is what binds: a
// proposer that skipped this one gets the same rejection in the block.
//
// A submission that passes without reading another form carries its
// verdict to FinalizeBlock (see prevalidated).
func (a *App) precheckSubmit(r reader, c checked) (*prevalidated, *types.Error) {
	m, ok := c.msg.(*types.MsgSubmitForm)
	if !ok {
		return nil, nil
	}
	s, ok, err := a.studies.get(r, types.KeyStudy(m.Study))
	if err != nil || !ok {
		return nil, nil
	}
	_, pc, e := a.loadVersion(r, types.KeyProtocol(s.ID, s.Current), s.ID, s.Current, true)
	if e != nil || placement(pc, s, s.Current, m.FormKey) != nil {
		return nil, nil
	}
	problems, derived, final := pc.EvaluateAlone(m.Form, m.Values)
	if !final {
		return nil, nil
	}
	warnings, e := verdict(m.FormKey, problems)
	if e != nil {
		return nil, e
	}
	// Final and without a hard problem: no condition or derivation read
	// another form.
	return &prevalidated{compiled: pc, warnings: warnings, derived: derived}, nil
}

// prevalidated is what CheckTx's edit checks found on a submission that
// passed them without reading any other form: Validate is a pure
// function of the compiled protocol and the values, so FinalizeBlock
// delivering the same message (the tx cache's, by the hash of the bytes)
// under the same compiled protocol would find exactly these warnings, and
// takes them, and the derived values, instead of validating again. Under
// another protocol version (an amendment came into force in between) it
// validates again.
type prevalidated struct {
	compiled *protocol.Compiled
	warnings []protocol.Problem
	derived  []protocol.ItemValue
}

func (x *exec) submitForm(m *types.MsgSubmitForm) *types.Error {
	sub, s, c, e := x.formContext(m.FormKey)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, sub.Site, sub.ID, &m.FormKey, true); e != nil {
		return e
	}
	pending, e := x.admitNewForm(sub, s, c, m.FormKey)
	if e != nil {
		return e
	}
	var cur types.FormRecord
	if ok, e := x.load(types.KeyForm(m.FormKey), &cur); e != nil {
		return e
	} else if ok {
		return types.Errf(types.CodeFormExists, "form %s of subject %s at %s (repeat %d) was already entered (version %d); change it with a correction and a reason", m.Form, m.Subject, m.Event, m.EventRepeat, cur.Version)
	}
	var warnings []protocol.Problem
	var derived []protocol.ItemValue
	if p := x.c.pre; p != nil && p.compiled == c {
		warnings, derived = p.warnings, p.derived
	} else if warnings, derived, e = x.validate(c, m.FormKey, m.Values); e != nil {
		return e
	}
	rec := types.FormRecord{
		FormKey: m.FormKey, Version: 1, ProtocolVersion: s.Current,
		Values: c.CanonicalValues(m.Form, append(slices.Clip(m.Values), derived...)), Warnings: warnings, Stamp: x.stamp(),
		ConsentPending: pending,
	}
	if rec.LabFlags, e = x.labFlags(s, c, m.FormKey, rec.Values, rec.Version, nil); e != nil {
		return e
	}
	x.st.setJSON(types.KeyForm(m.FormKey), rec)
	x.emitForm(rec)
	if e := x.trackSAEs(c, sub.Site, &rec, nil); e != nil {
		return e
	}
	if e := x.checkSchedule(c, sub, &rec); e != nil {
		return e
	}
	if e := x.autoQueries(&rec, sub.Site); e != nil {
		return e
	}
	return x.followChecks(sub.Site, c, &rec, nil)
}

func (x *exec) correctForm(m *types.MsgCorrectForm) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskEntry)
	if e != nil {
		return e
	}
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if len(m.Resolves) > 0 {
		// A correction that names queries answers them.
		if e := x.siteTask(s.ID, sub.Site, types.TaskAnswer); e != nil {
			return e
		}
	}
	if e := x.guard(s.ID, sub.Site, sub.ID, &m.FormKey, true); e != nil {
		return e
	}
	var cur types.FormRecord
	if ok, e := x.load(types.KeyForm(m.FormKey), &cur); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeFormNotFound, "form %s of subject %s at %s (repeat %d) has not been entered yet; submit it first", m.Form, m.Subject, m.Event, m.EventRepeat)
	}
	if m.BaseVersion != 0 && m.BaseVersion != cur.Version {
		return types.Errf(types.CodeFormChanged, "form %s of subject %s at %s (repeat %d) is at version %d on the ledger, not version %d this correction was made from: someone changed it since; start again from the ledger's values",
			m.Form, m.Subject, m.Event, m.EventRepeat, cur.Version, m.BaseVersion)
	}
	// The correction is judged under the version the form was entered
	// under, or the latest amendment since that migrated its data.
	judged, c, e := x.judgingProtocol(s, m.Form, cur.ProtocolVersion)
	if e != nil {
		return e
	}
	if e := placement(c, s, judged, m.FormKey); e != nil {
		return e
	}
	// Derived values are recomputed from the corrected inputs.
	merged, changed := merge(c.Inputs(cur.Values), m.Changes)
	if len(changed) == 0 {
		return types.Errf(types.CodeNoChange, "the correction leaves form %s of subject %s unchanged; nothing to record", m.Form, m.Subject)
	}
	warnings, derived, e := x.validate(c, m.FormKey, merged)
	if e != nil {
		return e
	}
	values := c.CanonicalValues(m.Form, append(merged, derived...))
	x.st.setJSON(types.KeyFormHistory(m.FormKey, cur.Version), cur)
	rec := types.FormRecord{
		FormKey: m.FormKey, Version: cur.Version + 1, ProtocolVersion: judged,
		Values: values, Warnings: warnings, Changed: append(changed, derivedChanges(c, cur.Values, values)...),
		Reason: m.Reason, Stamp: x.stamp(),
	}
	if rec.LabFlags, e = x.labFlags(s, c, m.FormKey, rec.Values, rec.Version, &cur); e != nil {
		return e
	}
	x.st.setJSON(types.KeyForm(m.FormKey), rec)
	x.emitForm(rec)
	if e := x.resolveByCorrection(m, &rec); e != nil {
		return e
	}
	if e := x.trackSAEs(c, sub.Site, &rec, cur.Values); e != nil {
		return e
	}
	if e := x.deverify(&rec); e != nil {
		return e
	}
	if e := x.invalidateSignatures(&rec); e != nil {
		return e
	}
	if e := x.checkSchedule(c, sub, &rec); e != nil {
		return e
	}
	if e := x.autoQueries(&rec, sub.Site); e != nil {
		return e
	}
	return x.followChecks(sub.Site, c, &rec, cur.Values)
}

// judgingProtocol is the protocol version a correction of form, entered
// (or last judged) under version entered, is judged under, compiled: the
// latest version since that migrates the form's data, else entered.
func (x *exec) judgingProtocol(s *types.Study, form string, entered int) (int, *protocol.Compiled, *types.Error) {
	for v := s.Current; v > entered; v-- {
		pv, c, e := x.protocolVersion(s.ID, v)
		if e != nil {
			return 0, nil, e
		}
		if slices.Contains(pv.Migrate, form) {
			return v, c, nil
		}
	}
	_, c, e := x.protocolVersion(s.ID, entered)
	return entered, c, e
}

func (x *exec) emitForm(r types.FormRecord) {
	x.emit("study", r.Study, "subject", r.Subject, "event", r.Event, "form", r.Form, "version", strconv.Itoa(r.Version))
}

// derivedChanges names ("ITEM" or "ITEM[repeat]") the derived items whose
// value differs between the old and the new values, in the new values'
// order, then those that became empty.
func derivedChanges(c *protocol.Compiled, old, now []protocol.ItemValue) []string {
	was := map[string]string{}
	for _, v := range old {
		if c.Derivation(v.Item) != nil {
			was[valueName(v)] = v.Value
		}
	}
	var out []string
	for _, v := range now {
		if c.Derivation(v.Item) == nil {
			continue
		}
		name := valueName(v)
		if prev, ok := was[name]; !ok || prev != v.Value {
			out = append(out, name)
		}
		delete(was, name)
	}
	for _, v := range old {
		if _, gone := was[valueName(v)]; gone {
			out = append(out, valueName(v))
		}
	}
	return out
}

// valueName is "ITEM", or "ITEM[repeat]" in a repeating group.
func valueName(v protocol.ItemValue) string {
	if v.Repeat > 0 {
		return v.Item + "[" + strconv.Itoa(v.Repeat) + "]"
	}
	return v.Item
}

// merge applies changes (an empty value clears the item) to values and
// returns the result and the "ITEM" or "ITEM[repeat]" names that changed,
// in the order of the changes.
func merge(values, changes []protocol.ItemValue) ([]protocol.ItemValue, []string) {
	type key struct {
		item   string
		repeat int
	}
	idx := make(map[key]int, len(values))
	out := make([]protocol.ItemValue, len(values))
	copy(out, values)
	for i, v := range out {
		idx[key{v.Item, v.Repeat}] = i
	}
	var changed []string
	removed := map[int]bool{}
	for _, ch := range changes {
		k := key{ch.Item, ch.Repeat}
		name := valueName(ch)
		i, ok := idx[k]
		clears := ch.Empty() && ch.Reason == ""
		switch {
		case ok && !removed[i] && out[i] == ch:
			continue
		case ok && clears:
			if removed[i] {
				continue
			}
			removed[i] = true
		case ok:
			out[i] = ch
			removed[i] = false
		case clears:
			continue
		default:
			idx[k] = len(out)
			out = append(out, ch)
		}
		changed = append(changed, name)
	}
	final := out[:0:0]
	for i, v := range out {
		if !removed[i] {
			final = append(final, v)
		}
	}
	return final, dedupe(changed)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
