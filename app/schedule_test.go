package app_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// scheduleChain is the example study with S1-001 enrolled at site1,
// registered with protocol p.
// TestHardWindowNotMigrated: an amendment that makes a window hard without
// migrating the form's data leaves a form entered before judged under the
// version it was entered under: its date corrected still outside the
// window updates its deviation, and the deviation names that version.
func TestHardWindowNotMigrated(t *testing.T) {
	c := scheduleChain(t, apptest.Example())
	c.MustDo("site1-coordinator", visitOn("D1", "2026-03-02"))
	c.MustDo("site1-coordinator", visitOn("W4", "2026-04-10"))
	p := apptest.Example()
	p.Study.Version = "1.1"
	p.Events[2].WindowHard = true
	c.MustDo("sponsor-dm", apptest.AmendMsg(p, "week 4 window binding"))
	c.MustDo("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1))
	runSteps(t, c, []step{
		{name: "date still outside", signer: "site1-coordinator", msg: redate("W4", "2026-04-09"), want: types.CodeOK},
	})
	if d, trail := deviation(t, c, "W4"); d.Status != types.DeviationOpen || d.ProtocolVersion != 1 || trail != "open:8 update:7" {
		t.Errorf("deviation %+v %s", d, trail)
	}
}

func scheduleChain(t *testing.T, p *protocol.Protocol) *apptest.Chain {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudyWith(apptest.RegisterMsg(p))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	return c
}

func visitOn(event, date string) types.Msg {
	return apptest.SubmitMsg(apptest.FormKey("S1-001", event, 1, "VS"), apptest.VSOn(date, 120, 80))
}

func redate(event, date string) types.Msg {
	return apptest.CorrectMsg(apptest.FormKey("S1-001", event, 1, "VS"), "visit date transcribed wrongly", apptest.V("VS.DATE", date))
}

// deviation reads the deviation of S1-001's visit at event, its trail as
// "action:days_off ...".
func deviation(t *testing.T, c *apptest.Chain, event string) (types.Deviation, string) {
	t.Helper()
	var d types.Deviation
	get(t, c, types.KeyDeviation(apptest.FormKey("S1-001", event, 1, "VS")), &d)
	var trail []string
	for _, h := range d.History {
		trail = append(trail, h.Action+":"+strconv.Itoa(h.DaysOff))
	}
	return d, strings.Join(trail, " ")
}

// TestDeviations: a visit dated outside its soft window is accepted and a
// deviation recorded; corrections of the visit date close, reopen and
// update it, and a correction of the anchor (the baseline's date)
// re-checks every visit.
func TestDeviations(t *testing.T) {
	c := scheduleChain(t, apptest.Example())
	scr := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", visitOn("SCR", "2026-01-20"))
	absent(t, c, types.KeyDeviation(scr)) // no anchor yet: nothing to judge

	c.MustDo("site1-coordinator", visitOn("D1", "2026-03-02"))
	d, trail := deviation(t, c, "SCR")
	want := types.DeviationCheck{VisitDate: "2026-01-20", Anchor: "2026-03-02", Target: "2026-02-16", Earliest: "2026-02-02", Latest: "2026-03-01", DaysOff: -13, ProtocolVersion: 1}
	if d.Status != types.DeviationOpen || d.DeviationCheck != want || d.Site != "site1" || d.Item != "VS.DATE" || trail != "open:-13" {
		t.Fatalf("screening deviation %+v %s", d, trail)
	}
	if d.History[0].Stamp.Signer != "site1-coordinator" {
		t.Errorf("opening not attributed to the baseline's tx: %+v", d.History[0].Stamp)
	}
	absent(t, c, types.KeyDeviation(apptest.FormKey("S1-001", "D1", 1, "VS")))

	w4 := apptest.FormKey("S1-001", "W4", 1, "VS")
	runSteps(t, c, []step{
		{name: "week 4 late", signer: "site1-coordinator", msg: visitOn("W4", "2026-04-10"), want: types.CodeOK},
		{name: "another item corrected", signer: "site1-coordinator", msg: apptest.CorrectMsg(w4, "typo", apptest.V("VS.HR", "70")), want: types.CodeOK},
	})
	if d, trail := deviation(t, c, "W4"); d.Status != types.DeviationOpen || d.Latest != "2026-04-02" || trail != "open:8" {
		t.Fatalf("week 4 deviation %+v %s", d, trail)
	}
	c.MustDo("site1-coordinator", redate("W4", "2026-04-01"))
	c.MustDo("site1-coordinator", redate("W4", "2026-04-05"))
	if d, trail := deviation(t, c, "W4"); d.Status != types.DeviationOpen || trail != "open:8 close:0 reopen:3" {
		t.Fatalf("week 4 deviation %+v %s", d, trail)
	}
	// The baseline four days later: week 4's window moves onto its date,
	// screening's moves further away.
	c.MustDo("site1-coordinator", redate("D1", "2026-03-06"))
	if d, trail := deviation(t, c, "W4"); d.Status != types.DeviationClosed || d.Anchor != "2026-03-06" || trail != "open:8 close:0 reopen:3 close:0" {
		t.Errorf("week 4 after the anchor moved %+v %s", d, trail)
	}
	if d, trail := deviation(t, c, "SCR"); d.Status != types.DeviationOpen || trail != "open:-13 update:-17" {
		t.Errorf("screening after the anchor moved %+v %s", d, trail)
	}
	// A form that carries no visit date checks nothing.
	before := dump(t, c, 0)
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "LB"), apptest.LB()))
	for k := range dump(t, c, 0) {
		if strings.HasPrefix(k, types.PrefixDeviation) && before[k] == "" {
			t.Errorf("laboratory form wrote %s", k)
		}
	}
}

// TestHardWindow: a visit date outside a hard window is refused with a
// message naming the visit, the date and the window, whether the visit's
// date or the anchor's moves it there; a correction that leaves the date
// alone is not held up.
func TestHardWindow(t *testing.T) {
	p := apptest.Example()
	p.Events[2].WindowHard = true // W4
	c := scheduleChain(t, p)
	c.MustDo("site1-coordinator", visitOn("D1", "2026-03-02"))
	w4 := apptest.FormKey("S1-001", "W4", 1, "VS")
	runSteps(t, c, []step{
		{name: "late", signer: "site1-coordinator", msg: visitOn("W4", "2026-04-10"), want: types.CodeVisitOutOfWindow,
			logHas: []string{"W4 (Week 4)", "S1-001", "2026-04-10", "8 day(s) after", "2026-03-27 to 2026-04-02", "target 2026-03-30", "anchor date 2026-03-02"}},
		{name: "early", signer: "site1-coordinator", msg: visitOn("W4", "2026-03-20"), want: types.CodeVisitOutOfWindow, logHas: []string{"7 day(s) before"}},
		{name: "last day", signer: "site1-coordinator", msg: visitOn("W4", "2026-04-02"), want: types.CodeOK},
		{name: "corrected out", signer: "site1-coordinator", msg: redate("W4", "2026-04-03"), want: types.CodeVisitOutOfWindow},
		{name: "anchor moved", signer: "site1-coordinator", msg: redate("D1", "2026-02-20"), want: types.CodeVisitOutOfWindow, logHas: []string{"W4 (Week 4)", "2026-04-02", "anchor date 2026-02-20"}},
		{name: "anchor moved within", signer: "site1-coordinator", msg: redate("D1", "2026-03-03"), want: types.CodeOK},
	})
	absent(t, c, types.KeyDeviation(w4))
}

// TestHardWindowAmended: an amendment that makes a window hard and
// migrates the form's data judges visit dates entered or corrected from
// then on; a visit already outside keeps its deviation, and a correction
// of another item of its form stands. (Without the migration, corrections
// of forms entered before are judged under the version they were entered
// under: TestHardWindowNotMigrated.)
func TestHardWindowAmended(t *testing.T) {
	c := scheduleChain(t, apptest.Example())
	c.MustDo("site1-coordinator", visitOn("D1", "2026-03-02"))
	c.MustDo("site1-coordinator", visitOn("W4", "2026-04-10"))
	p := apptest.Example()
	p.Study.Version = "1.1"
	p.Events[2].WindowHard = true
	amend := apptest.AmendMsg(p, "week 4 window binding")
	amend.ProposeAmendment.Migrate = []string{"VS"}
	c.MustDo("sponsor-dm", amend)
	c.MustDo("regulator-auditor", apptest.ApproveMsg(apptest.StudyID, 1))
	w4 := apptest.FormKey("S1-001", "W4", 1, "VS")
	runSteps(t, c, []step{
		{name: "another item", signer: "site1-coordinator", msg: apptest.CorrectMsg(w4, "typo", apptest.V("VS.HR", "70")), want: types.CodeOK},
		{name: "date still outside", signer: "site1-coordinator", msg: redate("W4", "2026-04-09"), want: types.CodeVisitOutOfWindow},
		{name: "date within", signer: "site1-coordinator", msg: redate("W4", "2026-04-02"), want: types.CodeOK},
	})
	if d, trail := deviation(t, c, "W4"); d.Status != types.DeviationClosed || d.ProtocolVersion != 2 || trail != "open:8 close:0" {
		t.Errorf("deviation %+v %s", d, trail)
	}
}

// TestEnrolmentAnchor: without an anchor event the date of enrolment (the
// UTC date of its block) is study day 1.
func TestEnrolmentAnchor(t *testing.T) {
	p := apptest.Example()
	p.Study.AnchorEvent = ""
	c := scheduleChain(t, p)
	c.MustDo("site1-coordinator", visitOn("W4", "2026-01-20"))
	d, trail := deviation(t, c, "W4")
	if d.Anchor != apptest.Genesis.Format("2006-01-02") || d.Target != "2026-02-02" || trail != "open:-10" {
		t.Errorf("deviation %+v %s", d, trail)
	}
}

// TestMissingFormQuery: a monitor queries a form the schedule expects that
// has not been entered; the site answers and the monitor closes it.
func TestMissingFormQuery(t *testing.T) {
	c := dmChain(t)
	w4 := apptest.FormKey("S1-001", "W4", 1, "VS")
	missing := func(k types.FormKey, item string) types.Msg {
		return types.Msg{QueryOpen: &types.MsgOpenQuery{FormKey: k, Item: item, Text: "Week 4 visit overdue: please enter or explain", Missing: true}}
	}
	runSteps(t, c, []step{
		{name: "site raises", signer: "site1-coordinator", msg: missing(w4, ""), want: types.CodeUnauthorized, atCheck: true},
		{name: "with an item", signer: "cro-monitor", msg: missing(w4, "VS.HR"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "entered form", signer: "cro-monitor", msg: missing(apptest.FormKey("S1-001", "SCR", 1, "VS"), ""), want: types.CodeFormExists, logHas: []string{"without --missing"}},
		{name: "form not at the event", signer: "cro-monitor", msg: missing(apptest.FormKey("S1-001", "W4", 1, "DM"), ""), want: types.CodeFormNotInEvent},
		{name: "event does not repeat", signer: "cro-monitor", msg: missing(apptest.FormKey("S1-001", "W4", 2, "VS"), ""), want: types.CodeEventRepeat},
		{name: "unknown subject", signer: "cro-monitor", msg: missing(apptest.FormKey("S1-999", "W4", 1, "VS"), ""), want: types.CodeUnknownSubject},
		{name: "monitor raises", signer: "cro-monitor", msg: missing(w4, ""), want: types.CodeOK},
		{name: "other site answers", signer: "site2-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 1, "x"), want: types.CodeWrongSite},
		{name: "site answers", signer: "site1-coordinator", msg: apptest.QueryMsg(types.KindQueryAnswer, 1, "Subject rescheduled; visit on 2026-04-01"), want: types.CodeOK},
		{name: "monitor closes", signer: "cro-monitor", msg: apptest.QueryMsg(types.KindQueryClose, 1, ""), want: types.CodeOK},
	})
	q := getQuery(t, c, 1)
	if !q.Missing || q.Status != types.QueryClosed || q.FormKey() != w4 || q.Site != "site1" || !strings.Contains(q.Target(), "(missing)") {
		t.Errorf("query %+v", q)
	}
	if rawGet(t, c, types.KeyQueryForm(w4, 1), 0) == nil {
		t.Error("the missing form's query is not indexed under the form")
	}
}
