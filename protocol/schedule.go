package protocol

import (
	"fmt"
	"strconv"
)

// The schedule of events on the calendar. A subject's calendar hangs on
// one anchor date: the visit date of the study's anchor event (which falls
// on that event's study day), or, when the protocol names none, the date of
// enrolment as study day 1. A scheduled event's target date is its study
// day counted from the anchor (there is no day 0: the day before day 1 is
// day -1, as in CDISC SDTM), and its window runs WindowBefore days before
// the target to WindowAfter days after it. Dates are counted in days as
// DateDays counts them; nothing here reads a clock.

// Window is one scheduled event's window for one subject, in days as
// DateDays counts them.
type Window struct {
	Target, Earliest, Latest int64
	// Hard is the event's WindowHard: a date outside is refused.
	Hard bool
}

// Off says how many days date lies outside the window: negative before
// it, positive after it, 0 within.
func (w Window) Off(date int64) int64 {
	switch {
	case date < w.Earliest:
		return date - w.Earliest
	case date > w.Latest:
		return date - w.Latest
	}
	return 0
}

// String describes the window for people: "2026-02-17 (2026-02-14 to
// 2026-02-20)".
func (w Window) String() string {
	return DateString(w.Target) + " (" + DateString(w.Earliest) + " to " + DateString(w.Latest) + ")"
}

// DateString writes a day counted as DateDays counts them as YYYY-MM-DD.
func DateString(days int64) string {
	y, m, d := CivilFromDays(days)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// dayOffset is the number of days from study day 1 to study day d.
func dayOffset(d int) int64 {
	if d > 0 {
		return int64(d - 1)
	}
	return int64(d)
}

// AnchorEvent returns the event whose visit date anchors the calendar;
// ok is false when the date of enrolment does (as study day 1).
func (c *Compiled) AnchorEvent() (*Event, bool) {
	e, ok := c.events[c.p.Study.AnchorEvent]
	return e, ok && c.p.Study.AnchorEvent != ""
}

// VisitDateItem returns the item whose value is the date of the event's
// visit and the form that holds it; ok is false when the event records no
// visit date.
func (c *Compiled) VisitDateItem(event string) (item, form string, ok bool) {
	e, found := c.events[event]
	if !found || e.VisitDate == "" {
		return "", "", false
	}
	ci, found := c.items[e.VisitDate]
	if !found {
		return "", "", false
	}
	return e.VisitDate, ci.form.form.OID, true
}

// Window returns the window of a scheduled event for a subject whose
// calendar is anchored on anchor (a day as DateDays counts it); ok is
// false for an unknown event or one that is not scheduled.
func (c *Compiled) Window(event string, anchor int64) (Window, bool) {
	e, found := c.events[event]
	if !found || e.Type != EventScheduled && e.Type != "" {
		return Window{}, false
	}
	anchorDay := 1
	if a, ok := c.AnchorEvent(); ok {
		anchorDay = a.Day
	}
	t := anchor + dayOffset(e.Day) - dayOffset(anchorDay)
	return Window{Target: t, Earliest: t - int64(e.WindowBefore), Latest: t + int64(e.WindowAfter), Hard: e.WindowHard}, true
}

// compileSchedule checks what the calendar needs: study days and windows
// only on scheduled events, visit-date items that are dates the event
// collects, and an anchor event that can anchor.
func (k *compiler) compileSchedule() {
	p := k.c.p
	for i := range p.Events {
		e := &p.Events[i]
		path := idx("events", i)
		scheduled := e.Type == EventScheduled || e.Type == ""
		if !scheduled {
			if e.Day != 0 {
				k.add(path+".day", e.OID, "a "+string(e.Type)+" event has no study day", "set day to 0, or make the event scheduled")
			}
			if e.WindowBefore != 0 || e.WindowAfter != 0 || e.WindowHard {
				k.add(path, e.OID, "a "+string(e.Type)+" event has no window", "set window_before and window_after to 0 and drop window_hard, or make the event scheduled")
			}
		} else if e.Day == 0 {
			k.add(path+".day", e.OID, "there is no study day 0: day 1 is baseline and the day before it is day -1", "give the scheduled event its study day, e.g. 1 for baseline")
		}
		if e.VisitDate == "" {
			if e.WindowHard {
				k.add(path+".window_hard", e.OID, "a hard window needs the visit's date to check", "name the event's visit_date item, or drop window_hard")
			}
			continue
		}
		ci, ok := k.c.items[e.VisitDate]
		switch {
		case !ok:
			k.add(path+".visit_date", e.OID, "visit-date item "+strconv.Quote(e.VisitDate)+" is not in the protocol", "name a date item of a form the event collects")
		case ci.item.Type != TypeDate:
			k.add(path+".visit_date", e.OID, "visit-date item "+e.VisitDate+" is of type "+string(ci.item.Type)+", not date", "name a date item (YYYY-MM-DD)")
		case ci.form.groups[ci.group].repeating:
			k.add(path+".visit_date", e.OID, "visit-date item "+e.VisitDate+" is in repeating group "+ci.form.groups[ci.group].group.OID+", which holds several values", "name a date item outside repeating groups")
		case !k.c.FormInEvent(e.OID, ci.form.form.OID):
			k.add(path+".visit_date", e.OID, "visit-date item "+e.VisitDate+" is on form "+ci.form.form.OID+", which event "+e.OID+" does not collect", "name a date item of a form the event collects, or add the form to the event")
		}
	}
	a := p.Study.AnchorEvent
	if a == "" {
		return
	}
	e, ok := k.c.events[a]
	switch {
	case !ok:
		k.add("study.anchor_event", a, "anchor event "+strconv.Quote(a)+" is not in the schedule", "name a scheduled event, e.g. the baseline visit")
	case e.Type != EventScheduled && e.Type != "":
		k.add("study.anchor_event", a, "anchor event "+a+" is "+string(e.Type)+", not scheduled", "name a scheduled event, e.g. the baseline visit")
	case e.Repeatable:
		k.add("study.anchor_event", a, "anchor event "+a+" repeats, so it has no one date", "name an event that does not repeat")
	case e.VisitDate == "":
		k.add("study.anchor_event", a, "anchor event "+a+" records no visit date", "name the event's visit_date item")
	}
}

// VisitStatus is where a scheduled visit stands on a given date.
type VisitStatus string

// Visit statuses.
const (
	// VisitPending: the anchor date is not known yet.
	VisitPending VisitStatus = "pending"
	// VisitUpcoming: nothing entered and the window opens later.
	VisitUpcoming VisitStatus = "upcoming"
	// VisitDue: nothing entered and the window is open.
	VisitDue VisitStatus = "due"
	// VisitOverdue: nothing entered and the window has closed.
	VisitOverdue VisitStatus = "overdue"
	// VisitEntered: entered, dated within the window or not dated.
	VisitEntered VisitStatus = "entered"
	// VisitOutOfWindow: entered and dated outside the window.
	VisitOutOfWindow VisitStatus = "out_of_window"
	// VisitNotExpected: nothing entered and the subject has left the
	// study.
	VisitNotExpected VisitStatus = "not_expected"
)

// Visit is one scheduled event on a subject's calendar; dates are
// YYYY-MM-DD, the window's empty while the anchor is not known.
type Visit struct {
	Event    string      `json:"event"`
	Name     string      `json:"name"`
	Day      int         `json:"day"`
	Target   string      `json:"target,omitempty"`
	Earliest string      `json:"earliest,omitempty"`
	Latest   string      `json:"latest,omitempty"`
	Hard     bool        `json:"hard,omitempty"`
	Entered  bool        `json:"entered"`
	Date     string      `json:"date,omitempty"`     // the visit date entered
	DaysOff  int         `json:"days_off,omitempty"` // see Window.Off
	Status   VisitStatus `json:"status"`
}

// VisitRecord says what a subject's casebook holds of the first
// occurrence of an event: whether any of its forms is entered, and the
// visit date ("" when not entered).
type VisitRecord func(event string) (entered bool, date string)

// AnchorDate is the date that anchors a subject's calendar: the anchor
// event's visit date, or enrolled (the date of enrolment) when the
// protocol names no anchor event; "" while it is not known.
func (c *Compiled) AnchorDate(enrolled string, visit VisitRecord) string {
	a, ok := c.AnchorEvent()
	if !ok {
		return enrolled
	}
	_, date := visit(a.OID)
	return date
}

// Calendar lays out a subject's scheduled visits, in protocol order, as
// they stand on date asOf (YYYY-MM-DD): anchor is the subject's
// AnchorDate, left says the subject has left the study (no further visit
// is expected). It reads no clock: the caller names the date.
func (c *Compiled) Calendar(anchor string, visit VisitRecord, asOf string, left bool) []Visit {
	a, known := DateDays(anchor)
	today, _ := DateDays(asOf)
	var out []Visit
	for _, e := range c.p.Events {
		w, ok := c.Window(e.OID, a)
		if !ok {
			continue
		}
		v := Visit{Event: e.OID, Name: e.Name, Day: e.Day, Hard: e.WindowHard, Status: VisitPending}
		v.Entered, v.Date = visit(e.OID)
		if known {
			v.Target, v.Earliest, v.Latest = DateString(w.Target), DateString(w.Earliest), DateString(w.Latest)
		}
		switch d, dated := DateDays(v.Date); {
		case v.Entered && known && dated:
			v.DaysOff = int(w.Off(d))
			v.Status = VisitEntered
			if v.DaysOff != 0 {
				v.Status = VisitOutOfWindow
			}
		case v.Entered:
			v.Status = VisitEntered
		case left:
			v.Status = VisitNotExpected
		case !known:
		case today > w.Latest:
			v.Status = VisitOverdue
		case today >= w.Earliest:
			v.Status = VisitDue
		default:
			v.Status = VisitUpcoming
		}
		out = append(out, v)
	}
	return out
}
