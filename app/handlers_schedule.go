package app

import (
	"fmt"
	"slices"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Visit windows and protocol deviations (docs/SCHEDULE.md).
//
// A visit's date is the value of its event's visit-date item; the
// calendar's anchor is the anchor event's visit date, or the date of
// enrolment (the UTC date of its block) as study day 1. When a form
// version that carries a visit date is stored, that visit is checked
// against its window; when it carries the anchor's date, every scheduled
// visit of the subject is; a correction that leaves the date alone checks
// nothing. Only dates in the data decide, so every validator decides
// alike. A visit outside a hard window refuses the tx; outside a soft one
// it is recorded as a deviation, which a later check inside the window
// closes. The window applies to an event's first occurrence (repeat 1).

// checkSchedule checks the visits whose window the stored form version
// rec bears on, under protocol c (the version rec was judged under).
func (x *exec) checkSchedule(c *protocol.Compiled, sub *types.Subject, rec *types.FormRecord) *types.Error {
	item, form, ok := c.VisitDateItem(rec.Event)
	if !ok || form != rec.Form || rec.EventRepeat != 1 || (rec.Version > 1 && !slices.Contains(rec.Changed, item)) {
		return nil // no visit date entered or changed
	}
	events := []string{rec.Event}
	if a, ok := c.AnchorEvent(); ok && a.OID == rec.Event {
		events = events[:0]
		for _, e := range c.Protocol().Events {
			events = append(events, e.OID)
		}
	}
	anchor, known, e := x.anchorDate(c, sub)
	if e != nil || !known {
		return e
	}
	for _, ev := range events {
		item, form, ok := c.VisitDateItem(ev)
		if !ok {
			continue
		}
		w, ok := c.Window(ev, anchor)
		if !ok {
			continue
		}
		if e := x.checkVisit(c, rec.ProtocolVersion, sub, types.FormKey{Study: sub.Study, Subject: sub.ID, Event: ev, EventRepeat: 1, Form: form}, item, anchor, w); e != nil {
			return e
		}
	}
	return nil
}

// anchorDate returns the subject's anchor date in days; known is false
// while the anchor event's date has not been entered.
func (x *exec) anchorDate(c *protocol.Compiled, sub *types.Subject) (day int64, known bool, e *types.Error) {
	date := c.AnchorDate(sub.EnrolledDate(), func(ev string) (bool, string) {
		item, form, ok := c.VisitDateItem(ev)
		if !ok || e != nil {
			return false, ""
		}
		var d string
		var entered bool
		d, entered, e = x.visitDate(types.FormKey{Study: sub.Study, Subject: sub.ID, Event: ev, EventRepeat: 1, Form: form}, item)
		return entered, d
	})
	if e != nil {
		return 0, false, e
	}
	day, known = protocol.DateDays(date)
	return day, known, nil
}

// visitDate reads the visit-date item of form k; empty when the form or
// the value is absent.
func (x *exec) visitDate(k types.FormKey, item string) (date string, entered bool, e *types.Error) {
	var rec types.FormRecord
	ok, e := x.load(types.KeyForm(k), &rec)
	if e != nil || !ok {
		return "", false, e
	}
	for _, v := range rec.Values {
		if v.Item == item && v.Repeat == 0 {
			return v.Value, true, nil
		}
	}
	return "", true, nil
}

// checkVisit checks the date of the visit form k carries against its
// window w in protocol version version, compiled as c, and opens, updates
// or closes its deviation.
func (x *exec) checkVisit(c *protocol.Compiled, version int, sub *types.Subject, k types.FormKey, item string, anchor int64, w protocol.Window) *types.Error {
	date, entered, e := x.visitDate(k, item)
	if e != nil || !entered {
		return e
	}
	var dev types.Deviation
	had, e := x.load(types.KeyDeviation(k), &dev)
	if e != nil {
		return e
	}
	check := types.DeviationCheck{VisitDate: date, Anchor: protocol.DateString(anchor), Target: protocol.DateString(w.Target),
		Earliest: protocol.DateString(w.Earliest), Latest: protocol.DateString(w.Latest), ProtocolVersion: version}
	if d, ok := protocol.DateDays(date); ok {
		check.DaysOff = int(w.Off(d))
	}
	if check.DaysOff != 0 && w.Hard {
		return outOfWindow(c, k, check)
	}
	var action string
	switch {
	case check.DaysOff != 0 && !had:
		action = "open"
		dev = types.Deviation{FormKey: k, Site: sub.Site, Item: item}
	case check.DaysOff != 0 && dev.Status == types.DeviationClosed:
		action = "reopen"
	case check.DaysOff != 0 && dev.DeviationCheck != check:
		action = "update"
	case check.DaysOff == 0 && had && dev.Status == types.DeviationOpen:
		action = "close"
	default:
		return nil
	}
	dev.Status = types.DeviationOpen
	if action == "close" {
		dev.Status = types.DeviationClosed
	}
	dev.DeviationCheck = check
	dev.History = append(dev.History, types.DeviationEntry{Action: action, DeviationCheck: check, Stamp: x.stamp()})
	x.st.setJSON(types.KeyDeviation(k), dev)
	x.emit("study", k.Study, "subject", k.Subject, "event", k.Event, "deviation", action)
	return nil
}

// outOfWindow is the refusal of a visit date outside a hard window, in
// words a coordinator can act on.
func outOfWindow(c *protocol.Compiled, k types.FormKey, ch types.DeviationCheck) *types.Error {
	name := k.Event
	if ev, ok := c.Event(k.Event); ok && ev.Name != "" {
		name += " (" + ev.Name + ")"
	}
	side := fmt.Sprintf("%d day(s) after it closes", ch.DaysOff)
	if ch.DaysOff < 0 {
		side = fmt.Sprintf("%d day(s) before it opens", -ch.DaysOff)
	}
	return types.Errf(types.CodeVisitOutOfWindow,
		"visit %s of subject %s would be dated %s, %s: the protocol's hard window runs %s to %s (target %s, counted from the anchor date %s); enter the date the visit took place, or correct the anchor date if that is what is wrong",
		name, k.Subject, ch.VisitDate, side, ch.Earliest, ch.Latest, ch.Target, ch.Anchor)
}
