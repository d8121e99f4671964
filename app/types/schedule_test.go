package types_test

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestScheduleOf: the calendar comes from the subject's own forms of the
// first occurrence of each event, dated by the visit-date item's form;
// another subject's forms and later repeats do not count.
func TestScheduleOf(t *testing.T) {
	c, err := protocol.Compile(protocol.Example())
	if err != nil {
		t.Fatal(err)
	}
	sub := &types.Subject{Study: "VT-HTN-201", ID: "S1-001", Site: "site1", Status: types.SubjectEnrolled, Enrolled: types.Stamp{Time: "2026-01-19T10:00:00Z"}}
	form := func(subject, event string, repeat int, form string, vals ...protocol.ItemValue) types.FormRecord {
		return types.FormRecord{FormKey: types.FormKey{Study: "VT-HTN-201", Subject: subject, Event: event, EventRepeat: repeat, Form: form}, Values: vals}
	}
	date := func(d string) protocol.ItemValue { return protocol.ItemValue{Item: "VS.DATE", Value: d} }
	forms := []types.FormRecord{
		form("S1-001", "D1", 1, "VS", date("2026-03-02")),
		form("S1-001", "W4", 1, "LB", protocol.ItemValue{Item: "LB.DATE", Value: "2026-01-01"}), // not the visit-date form
		form("S1-002", "W8", 1, "VS", date("2026-04-27")),                                       // another subject
		form("S1-001", "W8", 2, "VS", date("2026-04-27")),                                       // not the first occurrence
	}
	s := types.ScheduleOf(c, sub, forms, "2026-05-01")
	if s.Anchor != "2026-03-02" || s.Site != "site1" || len(s.Visits) != 6 {
		t.Fatalf("schedule %+v", s)
	}
	want := map[string]protocol.VisitStatus{"SCR": protocol.VisitOverdue, "D1": protocol.VisitEntered, "W4": protocol.VisitEntered, "W8": protocol.VisitOverdue, "W12": protocol.VisitUpcoming, "FU": protocol.VisitUpcoming}
	for _, v := range s.Visits {
		if v.Status != want[v.Event] {
			t.Errorf("%s: %s, want %s", v.Event, v.Status, want[v.Event])
		}
	}
	if w4 := s.Visits[2]; w4.Date != "" || !w4.Entered {
		t.Errorf("week 4 dated by its laboratory form: %+v", w4)
	}
	sub.Status = types.SubjectWithdrawn
	if s := types.ScheduleOf(c, sub, forms, "2026-05-01"); s.Visits[0].Status != protocol.VisitNotExpected {
		t.Errorf("withdrawn subject's screening: %s", s.Visits[0].Status)
	}
	sub.WithdrawalKind = types.WithdrawTreatment
	if s := types.ScheduleOf(c, sub, forms, "2026-05-01"); s.Visits[0].Status != protocol.VisitOverdue {
		t.Errorf("screening of a subject withdrawn from treatment: %s", s.Visits[0].Status)
	}
}

// TestScheduleOfWithdrawalKinds: a subject withdrawn from treatment is
// still followed, one withdrawn from follow-up or consent is not.
func TestScheduleOfWithdrawalKinds(t *testing.T) {
	for kind, followed := range map[types.WithdrawalKind]bool{types.WithdrawTreatment: true, types.WithdrawFollowUp: false, types.WithdrawConsent: false, "": false} {
		sub := types.Subject{Status: types.SubjectWithdrawn, WithdrawalKind: kind}
		if sub.Followed() != followed {
			t.Errorf("withdrawn (%q): followed %v", kind, sub.Followed())
		}
		if !sub.AdmitsNewForm(true) != (kind == types.WithdrawConsent || kind == "") {
			t.Errorf("withdrawn (%q): a safety form admitted %v", kind, sub.AdmitsNewForm(true))
		}
	}
	if sub := (types.Subject{Status: types.SubjectEnrolled}); !sub.Followed() || !sub.AdmitsNewForm(false) {
		t.Error("an enrolled subject is not followed")
	}
}
