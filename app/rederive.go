package app

import (
	"fmt"
	"slices"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// deriveFollowSince is the state-machine version from which a change to
// a form recomputes the derived items of the subject's other forms that
// read it. Before, a derived item was computed only when its own form
// was entered or corrected, and kept a value computed from data since
// corrected.
const deriveFollowSince = 4

// maxDeriveDepth bounds how far recomputations chain: a form recomputed
// because another changed may itself be read by a third. The protocol
// refuses derived items that depend on each other in a cycle, so a chain
// ends within the number of forms; the bound keeps any run finite.
const maxDeriveDepth = 8

// rederive stores a new version of form other (judged under protocol
// version judged, compiled oc) when its derived items, computed from its
// stored inputs and the subject's forms as the tx left them (derived,
// with the problems the same run found), differ from the values it holds.
// The new version is attributed to the tx that changed cause, names the
// derived items changed and the cause as its reason, and has every
// consequence of a correction: lab flags, SAE follow-up, SDV and
// signatures of the changed items, the visit's window; forms that read
// it are followed in turn. A frozen or locked form refuses the change
// that would recompute it. It reports whether it stored a version.
func (x *exec) rederive(s *types.Study, site string, oc *protocol.Compiled, judged int, cause, other *types.FormRecord,
	inputs, derived []protocol.ItemValue, problems []protocol.Problem, depth int) (bool, *types.Error) {
	values := oc.CanonicalValues(other.Form, append(slices.Clip(inputs), derived...))
	if slices.Equal(values, other.Values) {
		return false, nil
	}
	if e := x.guard(s.ID, site, other.Subject, &other.FormKey, true); e != nil {
		return false, types.Errf(e.Code, "%s: form %s of subject %s at %s (repeat %d) derives items from form %s, and this change would recompute them",
			e.Msg, other.Form, other.Subject, other.Event, other.EventRepeat, cause.Form)
	}
	var sub types.Subject
	if ok, e := x.load(types.KeySubject(other.Study, other.Subject), &sub); e != nil {
		return false, e
	} else if !ok {
		return false, internal(fmt.Errorf("subject %s of form %s is missing", other.Subject, other.Form))
	}
	var soft []protocol.Problem
	for _, p := range problems {
		if p.Severity != protocol.Hard {
			soft = append(soft, p)
		}
	}
	x.st.setJSON(types.KeyFormHistory(other.FormKey, other.Version), other)
	rec := types.FormRecord{
		FormKey: other.FormKey, Version: other.Version + 1, ProtocolVersion: judged,
		Values: values, Warnings: soft, Changed: derivedChanges(oc, other.Values, values),
		Reason: "derived values recomputed by the ledger after " + changeCause(cause), Stamp: x.stamp(),
		ConsentPending: other.ConsentPending,
	}
	var e *types.Error
	if rec.LabFlags, e = x.labFlags(s, oc, rec.FormKey, rec.Values, rec.Version, other); e != nil {
		return false, e
	}
	x.st.setJSON(types.KeyForm(rec.FormKey), rec)
	x.emitForm(rec)
	if e := x.trackSAEs(oc, site, &rec, other.Values); e != nil {
		return false, e
	}
	if e := x.deverify(&rec); e != nil {
		return false, e
	}
	if e := x.invalidateSignatures(&rec); e != nil {
		return false, e
	}
	if e := x.checkSchedule(oc, &sub, &rec); e != nil {
		return false, e
	}
	if depth+1 >= maxDeriveDepth {
		return true, nil
	}
	return true, x.followChecksAt(site, oc, &rec, other.Values, depth+1)
}
