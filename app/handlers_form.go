package app

import (
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
	if e := placement(c, s, k); e != nil {
		return nil, nil, nil, e
	}
	return sub, s, c, nil
}

// placement checks that the protocol in force collects the form at the
// event, in a repeat the event allows.
func placement(c *protocol.Compiled, s *types.Study, k types.FormKey) *types.Error {
	ev, ok := c.Event(k.Event)
	if !ok {
		return types.Errf(types.CodeUnknownEvent, "event %q is not in the schedule of study %s (protocol version %d)", k.Event, s.ID, s.Current)
	}
	if _, ok := c.Form(k.Form); !ok {
		return types.Errf(types.CodeUnknownForm, "form %q is not defined in study %s (protocol version %d)", k.Form, s.ID, s.Current)
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
// with every problem listed, soft ones are returned to be stored.
func (x *exec) validate(c *protocol.Compiled, k types.FormKey, values []protocol.ItemValue) ([]protocol.Problem, *types.Error) {
	return verdict(k, c.Validate(k.Form, values, c.CrossFormLookup(k.Event, k.EventRepeat, x.subjectForms(k))))
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
	if e != nil || placement(pc, s, m.FormKey) != nil {
		return nil, nil
	}
	problems, final := pc.ValidateAlone(m.Form, m.Values)
	if !final {
		return nil, nil
	}
	warnings, e := verdict(m.FormKey, problems)
	if e != nil {
		return nil, e
	}
	// Final and without a hard problem: no condition read another form.
	return &prevalidated{compiled: pc, warnings: warnings}, nil
}

// prevalidated is what CheckTx's edit checks found on a submission that
// passed them without reading any other form: Validate is a pure
// function of the compiled protocol and the values, so FinalizeBlock
// delivering the same message (the tx cache's, by the hash of the bytes)
// under the same compiled protocol would find exactly these warnings, and
// takes them instead of validating again. Under another protocol version
// (an amendment came into force in between) it validates again.
type prevalidated struct {
	compiled *protocol.Compiled
	warnings []protocol.Problem
}

func (x *exec) submitForm(m *types.MsgSubmitForm) *types.Error {
	sub, s, c, e := x.formContext(m.FormKey)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, sub.Site, sub.ID, &m.FormKey, true); e != nil {
		return e
	}
	if sub.Status == types.SubjectWithdrawn {
		return types.Errf(types.CodeSubjectWithdrawn, "subject %s was withdrawn at height %d; no new data can be entered (corrections of earlier data remain possible)", sub.ID, sub.Withdrawn.Height)
	}
	var cur types.FormRecord
	if ok, e := x.load(types.KeyForm(m.FormKey), &cur); e != nil {
		return e
	} else if ok {
		return types.Errf(types.CodeFormExists, "form %s of subject %s at %s (repeat %d) was already entered (version %d); change it with a correction and a reason", m.Form, m.Subject, m.Event, m.EventRepeat, cur.Version)
	}
	var warnings []protocol.Problem
	if p := x.c.pre; p != nil && p.compiled == c {
		warnings = p.warnings
	} else if warnings, e = x.validate(c, m.FormKey, m.Values); e != nil {
		return e
	}
	rec := types.FormRecord{
		FormKey: m.FormKey, Version: 1, ProtocolVersion: s.Current,
		Values: c.CanonicalValues(m.Form, m.Values), Warnings: warnings, Stamp: x.stamp(),
	}
	x.st.setJSON(types.KeyForm(m.FormKey), rec)
	x.emitForm(rec)
	if e := x.checkSchedule(c, sub, s, &rec); e != nil {
		return e
	}
	return x.autoQueries(&rec, sub.Site)
}

func (x *exec) correctForm(m *types.MsgCorrectForm) *types.Error {
	sub, s, c, e := x.formContext(m.FormKey)
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
	merged, changed := merge(cur.Values, m.Changes)
	if len(changed) == 0 {
		return types.Errf(types.CodeNoChange, "the correction leaves form %s of subject %s unchanged; nothing to record", m.Form, m.Subject)
	}
	warnings, e := x.validate(c, m.FormKey, merged)
	if e != nil {
		return e
	}
	x.st.setJSON(types.KeyFormHistory(m.FormKey, cur.Version), cur)
	rec := types.FormRecord{
		FormKey: m.FormKey, Version: cur.Version + 1, ProtocolVersion: s.Current,
		Values: c.CanonicalValues(m.Form, merged), Warnings: warnings, Changed: changed,
		Reason: m.Reason, Stamp: x.stamp(),
	}
	x.st.setJSON(types.KeyForm(m.FormKey), rec)
	x.emitForm(rec)
	if e := x.resolveByCorrection(m, &rec); e != nil {
		return e
	}
	if e := x.deverify(&rec); e != nil {
		return e
	}
	if e := x.invalidateSignatures(&rec); e != nil {
		return e
	}
	if e := x.checkSchedule(c, sub, s, &rec); e != nil {
		return e
	}
	return x.autoQueries(&rec, sub.Site)
}

func (x *exec) emitForm(r types.FormRecord) {
	x.emit("study", r.Study, "subject", r.Subject, "event", r.Event, "form", r.Form, "version", strconv.Itoa(r.Version))
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
		name := ch.Item
		if ch.Repeat > 0 {
			name += "[" + strconv.Itoa(ch.Repeat) + "]"
		}
		i, ok := idx[k]
		switch {
		case ok && !removed[i] && out[i].Value == ch.Value:
			continue
		case ok && ch.Value == "":
			if removed[i] {
				continue
			}
			removed[i] = true
		case ok:
			out[i].Value = ch.Value
			removed[i] = false
		case ch.Value == "":
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
