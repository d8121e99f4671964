package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Source data verification. A monitor marks items, a form or every form
// of an event instance as verified against source; the record is kept per
// form with the form version and values hash it saw. A correction that
// changes a verified item removes its verification on the ledger and the
// trail says which correction did.

// itemNames returns the "ITEM" / "ITEM[row]" names of a form's values.
func itemNames(rec *types.FormRecord) []string {
	out := make([]string, len(rec.Values))
	for i, v := range rec.Values {
		out[i] = types.ItemName(v.Item, v.Repeat)
	}
	return out
}

func sdvStatus(verified []string, rec *types.FormRecord) types.SDVStatus {
	set := map[string]bool{}
	for _, v := range verified {
		set[v] = true
	}
	n := 0
	for _, name := range itemNames(rec) {
		if set[name] {
			n++
		}
	}
	switch {
	case len(rec.Values) > 0 && n == len(rec.Values):
		return types.SDVVerified
	case n > 0:
		return types.SDVPartial
	}
	return types.SDVNotDone
}

// verifySource records source data verification (SDV) of an item, a
// form or the forms of an event instance.
func (x *exec) verifySource(m *types.MsgVerify) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.sponsorSide(s, "verify source data", types.TaskMonitoring); e != nil {
		return e
	}
	sub, e := x.anySubject(m.Study, m.Subject)
	if e != nil {
		return e
	}
	var forms []types.FormRecord
	if m.Form != "" {
		k := types.FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form}
		var rec types.FormRecord
		if ok, e := x.load(types.KeyForm(k), &rec); e != nil {
			return e
		} else if !ok {
			return types.Errf(types.CodeFormNotFound, "form %s of subject %s at %s (repeat %d) has not been entered; nothing to verify", m.Form, m.Subject, m.Event, m.EventRepeat)
		}
		forms = append(forms, rec)
	} else {
		prefix := []byte(fmt.Sprintf("%s%s/%s/%s/%04d/", types.PrefixForm, m.Study, m.Subject, m.Event, m.EventRepeat))
		if forms, e = loadPrefix[types.FormRecord](x, prefix); e != nil {
			return e
		}
		if len(forms) == 0 {
			return types.Errf(types.CodeNothingToVerify, "subject %s has no form entered at event %s (repeat %d); nothing to verify", m.Subject, m.Event, m.EventRepeat)
		}
	}
	done := 0
	for i := range forms {
		rec := &forms[i]
		if e := x.guard(s.ID, sub.Site, sub.ID, &rec.FormKey, false); e != nil {
			return e
		}
		want := itemNames(rec)
		if m.Item != "" {
			name := types.ItemName(m.Item, m.ItemRepeat)
			found := false
			for _, n := range want {
				if n == name {
					found = true
				}
			}
			if !found {
				return types.Errf(types.CodeItemNotInForm, "item %s has no value in version %d of form %s of subject %s; only entered values can be verified", name, rec.Version, rec.Form, rec.Subject)
			}
			want = []string{name}
		}
		var sdv types.SDVRecord
		if _, e := x.load(types.KeySDV(rec.FormKey), &sdv); e != nil {
			return e
		}
		have := map[string]bool{}
		for _, v := range sdv.Verified {
			have[v] = true
		}
		var added []string
		for _, n := range want {
			if !have[n] {
				have[n] = true
				added = append(added, n)
			}
		}
		if len(added) == 0 {
			continue
		}
		verified := make([]string, 0, len(have))
		for n := range have {
			verified = append(verified, n)
		}
		sort.Strings(verified)
		hash := types.ValuesHash(rec.Values)
		sdv.FormKey = rec.FormKey
		sdv.Verified = verified
		sdv.FormVersion = rec.Version
		sdv.ValuesHash = hash
		sdv.Status = sdvStatus(verified, rec)
		sdv.History = append(sdv.History, types.SDVEvent{Action: "verify", Items: added, FormVersion: rec.Version, ValuesHash: hash, Comment: m.Comment, Stamp: x.stamp()})
		x.st.setJSON(types.KeySDV(rec.FormKey), sdv)
		x.emit("study", s.ID, "subject", sub.ID, "event", rec.Event, "form", rec.Form, "action", "verify", "sdv", string(sdv.Status))
		done++
	}
	if done == 0 {
		return types.Errf(types.CodeNothingToVerify, "everything named is already verified against source at its current version; nothing to record")
	}
	return nil
}

// deverify removes the verification of the items a correction changed.
func (x *exec) deverify(rec *types.FormRecord) *types.Error {
	var sdv types.SDVRecord
	ok, e := x.load(types.KeySDV(rec.FormKey), &sdv)
	if e != nil || !ok {
		return e
	}
	changed := map[string]bool{}
	for _, c := range rec.Changed {
		changed[c] = true
	}
	var kept, removed []string
	for _, v := range sdv.Verified {
		if changed[v] {
			removed = append(removed, v)
		} else {
			kept = append(kept, v)
		}
	}
	if kept == nil {
		kept = []string{}
	}
	hash := types.ValuesHash(rec.Values)
	sdv.Verified = kept
	sdv.FormVersion = rec.Version
	sdv.ValuesHash = hash
	sdv.Status = sdvStatus(kept, rec)
	if len(removed) > 0 {
		sdv.History = append(sdv.History, types.SDVEvent{
			Action: "de-verify", Items: removed, FormVersion: rec.Version, ValuesHash: hash,
			Comment: fmt.Sprintf("de-verified by correction tx %s (form version %d): %s changed; reason for change: %s", x.txHash, rec.Version, strings.Join(removed, ", "), rec.Reason),
			Stamp:   x.stamp(),
		})
		x.emit("study", rec.Study, "subject", rec.Subject, "event", rec.Event, "form", rec.Form, "action", "de-verify", "sdv", string(sdv.Status))
	}
	x.st.setJSON(types.KeySDV(rec.FormKey), sdv)
	return nil
}
