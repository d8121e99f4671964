package types

import (
	"fmt"
	"slices"
	"time"
)

// Serious adverse events (state machine version 3): an adverse event form
// whose seriousness item (protocol.Form.SeriousItem) says yes opens an SAE
// record, one per row of the form; the block time of that form version
// starts the clock that the sponsor's medical monitor stops by
// acknowledging it (MsgAcknowledgeSAE). Every later correction of the row
// is a follow-up report linked to it. docs/SAFETY.md describes the rules.

// SAEReportHours is the time, in hours, within which the sponsor's safety
// desk is expected to acknowledge a serious adverse event (ICH E2A: the
// sponsor's clock starts the day it first knows of the event).
const SAEReportHours = 24

// SAE is a serious adverse event: the form row that reports it, the
// subject's site, the form version whose seriousness item first said yes
// and the acknowledgement.
type SAE struct {
	FormKey
	// Row is the repeat of the adverse event's row, 0 when the
	// seriousness item is not in a repeating group.
	Row  int    `json:"row"`
	Site string `json:"site"`
	// FormVersion is the version of the form that opened the record; the
	// time of Opened starts the clock.
	FormVersion  int    `json:"form_version"`
	Opened       Stamp  `json:"opened"`
	Acknowledged *Stamp `json:"acknowledged,omitempty"`
	AckComment   string `json:"ack_comment,omitempty"`
	// FollowUps are the later versions of the form that changed the row.
	FollowUps []SAEFollowUp `json:"follow_ups,omitempty"`
}

// SAEFollowUp is a follow-up report of an SAE: a correction of its form
// that changed its row, and whether the row still says serious.
type SAEFollowUp struct {
	FormVersion int   `json:"form_version"`
	Serious     bool  `json:"serious"`
	Stamp       Stamp `json:"stamp"`
}

// SafetyReaders are the roles that read serious adverse event records,
// among the readers of the subject: the site staff who report them, the
// sponsor's medical monitor who acknowledges them, the data manager who
// reconciles them with the clinical database, and auditors (regulators,
// ethics committees and the sponsor's quality assurance). Monitors,
// administrators and node accounts do not.
var SafetyReaders = []Role{RoleInvestigator, RoleCoordinator, RoleMedicalMonitor, RoleDataManager, RoleAuditor}

// ReadsSAEs reports whether an account with roles reads the SAE records
// of the subjects it reads (the read policy's rule for them).
func ReadsSAEs(roles []Role) bool {
	return slices.ContainsFunc(roles, func(r Role) bool { return slices.Contains(SafetyReaders, r) })
}

// SAEClock is an SAE's clock judged at an as-of time the reader names
// (the ledger never reads a clock): an acknowledgement recorded after
// the as-of time counts as none.
type SAEClock struct {
	// Start is the clock's start (Opened); Deadline is SAEReportHours
	// later, when the acknowledgement is due.
	Start    time.Time
	Deadline time.Time
	// Acknowledged: at or before the as-of time. MinutesToAck is the time
	// from the start to it, in whole minutes, -1 while unacknowledged;
	// OpenMinutes the time from the start to the as-of time while
	// unacknowledged, 0 once acknowledged.
	Acknowledged bool
	MinutesToAck int64
	OpenMinutes  int64
	// Overdue: unacknowledged past the deadline at the as-of time. Late:
	// acknowledged, but after the deadline.
	Overdue bool
	Late    bool
}

// ClockAt judges the SAE's clock at asOf.
func (s *SAE) ClockAt(asOf time.Time) (SAEClock, error) {
	limit := time.Duration(SAEReportHours) * time.Hour
	start, err := time.Parse(time.RFC3339Nano, s.Opened.Time)
	if err != nil {
		return SAEClock{}, fmt.Errorf("SAE %s: clock start %q: %w", s.ID(), s.Opened.Time, err)
	}
	c := SAEClock{Start: start, Deadline: start.Add(limit), MinutesToAck: -1}
	if s.Acknowledged != nil {
		at, err := time.Parse(time.RFC3339Nano, s.Acknowledged.Time)
		if err != nil {
			return SAEClock{}, fmt.Errorf("SAE %s: acknowledgement time %q: %w", s.ID(), s.Acknowledged.Time, err)
		}
		if !at.After(asOf) {
			c.Acknowledged = true
			c.MinutesToAck = int64(at.Sub(start) / time.Minute)
			c.Late = at.Sub(start) > limit
		}
	}
	if !c.Acknowledged {
		c.OpenMinutes = max(0, int64(asOf.Sub(start)/time.Minute))
		c.Overdue = asOf.Sub(start) > limit
	}
	return c, nil
}

// MsgAcknowledgeSAE is the sponsor's medical monitor's acknowledgement of
// the SAE reported by row Row of form FormKey.
type MsgAcknowledgeSAE struct {
	FormKey
	Row     int    `json:"row"`
	Comment string `json:"comment,omitempty"`
}

// KindAcknowledgeSAE is the kind of MsgAcknowledgeSAE.
const KindAcknowledgeSAE Kind = "acknowledge_sae"

// KeySAE is the key of the SAE reported by row row of form k.
func KeySAE(k FormKey, row int) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/%04d", PrefixSAE, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form, row))
}

// ID names an SAE for people: "S1-001 W4/1 AE row 2".
func (s *SAE) ID() string {
	return fmt.Sprintf("%s %s/%d %s row %d", s.Subject, s.Event, s.EventRepeat, s.Form, s.Row)
}

// validateSafety runs the stateless checks of the safety messages; ok is
// false for any other message.
func validateSafety(msg any) (ok bool, e *Error) {
	m, isAck := msg.(*MsgAcknowledgeSAE)
	if !isAck {
		return false, nil
	}
	if e := m.FormKey.Check(); e != nil {
		return true, e
	}
	if m.Row < 0 || m.Row > 9999 {
		return true, Errf(CodeInvalidMsg, "row must be 0 (not repeating) or a row from 1 to 9999")
	}
	return true, checkText("comment", m.Comment, false)
}

// PrefixSAEOf is the prefix of the SAE records of form k's rows.
func PrefixSAEOf(k FormKey) []byte {
	return []byte(fmt.Sprintf("%s%s/%s/%s/%04d/%s/", PrefixSAE, k.Study, k.Subject, k.Event, k.EventRepeat, k.Form))
}
