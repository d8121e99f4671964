package types

import (
	"github.com/veritrial/veritrial/protocol"
)

// DeviationStatus is open while a visit's recorded date lies outside its
// window, closed once a correction brings it inside.
type DeviationStatus string

// Deviation statuses.
const (
	DeviationOpen   DeviationStatus = "open"
	DeviationClosed DeviationStatus = "closed"
)

// Deviation is a protocol deviation the ledger records: a scheduled visit
// dated outside its window. It is keyed by the form that carries the
// visit's date and decided from dates in the data only (the visit date
// and the calendar's anchor), whenever either is entered or corrected.
type Deviation struct {
	FormKey
	Site   string          `json:"site"`
	Item   string          `json:"item"` // the visit-date item
	Status DeviationStatus `json:"status"`
	DeviationCheck
	History []DeviationEntry `json:"history"`
}

// DeviationCheck is one evaluation of a visit's date against its window:
// dates as YYYY-MM-DD; DaysOff is negative when the visit came that many
// days before the window opened, positive after it closed, 0 within.
type DeviationCheck struct {
	VisitDate       string `json:"visit_date"`
	Anchor          string `json:"anchor"` // the anchor date the window counts from
	Target          string `json:"target"`
	Earliest        string `json:"earliest"`
	Latest          string `json:"latest"`
	DaysOff         int    `json:"days_off"`
	ProtocolVersion int    `json:"protocol_version"`
}

// DeviationEntry is one step of a deviation's trail: open, update (the
// visit still outside its window, on other dates), close or reopen.
type DeviationEntry struct {
	Action string `json:"action"`
	DeviationCheck
	Stamp Stamp `json:"stamp"`
}

// EnrolledDate is the date of the subject's enrolment (YYYY-MM-DD, the
// UTC date of its block): study day 1 of a protocol that names no anchor
// event.
func (s *Subject) EnrolledDate() string {
	return s.Enrolled.Time[:min(len(s.Enrolled.Time), 10)]
}

// SubjectSchedule is a subject's calendar of scheduled visits as it stands
// on a date.
type SubjectSchedule struct {
	Study   string           `json:"study"`
	Subject string           `json:"subject"`
	Site    string           `json:"site"`
	Status  SubjectStatus    `json:"status"`
	Anchor  string           `json:"anchor,omitempty"` // empty while not known
	Visits  []protocol.Visit `json:"visits"`
}

// ScheduleOf lays out sub's calendar under protocol c from its current
// forms (records of other subjects are ignored) as it stands on asOf
// (YYYY-MM-DD): every reader of the schedule (CLI, audit report, web
// pages) computes it here, from the same dates the ledger judges
// deviations by.
func ScheduleOf(c *protocol.Compiled, sub *Subject, forms []FormRecord, asOf string) SubjectSchedule {
	type visit struct {
		entered bool
		date    string
	}
	visits := map[string]visit{}
	for i := range forms {
		f := &forms[i]
		if f.Study != sub.Study || f.Subject != sub.ID || f.EventRepeat != 1 {
			continue
		}
		v := visits[f.Event]
		v.entered = true
		if item, form, ok := c.VisitDateItem(f.Event); ok && form == f.Form {
			for _, iv := range f.Values {
				if iv.Item == item && iv.Repeat == 0 {
					v.date = iv.Value
				}
			}
		}
		visits[f.Event] = v
	}
	record := func(ev string) (bool, string) { v := visits[ev]; return v.entered, v.date }
	anchor := c.AnchorDate(sub.EnrolledDate(), record)
	return SubjectSchedule{Study: sub.Study, Subject: sub.ID, Site: sub.Site, Status: sub.Status, Anchor: anchor,
		Visits: c.Calendar(anchor, record, asOf, !sub.Followed())}
}
