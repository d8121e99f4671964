package protocol

import (
	"strings"
	"testing"
)

func day(t *testing.T, s string) int64 {
	t.Helper()
	d, ok := DateDays(s)
	if !ok {
		t.Fatalf("bad date %s", s)
	}
	return d
}

// TestWindow: targets count study days from the anchor with no day 0, and
// the windows of the example protocol fall where its schedule says.
func TestWindow(t *testing.T) {
	c := mustCompile(t, mustExample(t))
	if a, ok := c.AnchorEvent(); !ok || a.OID != "D1" {
		t.Fatalf("anchor %v %v", a, ok)
	}
	anchor := day(t, "2026-03-02") // the baseline visit, study day 1
	for _, tc := range []struct {
		event, target, earliest, latest string
	}{
		{"SCR", "2026-02-16", "2026-02-02", "2026-03-01"}, // day -14, the day before day 1 is day -1
		{"D1", "2026-03-02", "2026-03-02", "2026-03-02"},
		{"W4", "2026-03-30", "2026-03-27", "2026-04-02"}, // day 29
		{"FU", "2026-06-08", "2026-06-05", "2026-06-15"}, // day 99, 3 before, 7 after
	} {
		w, ok := c.Window(tc.event, anchor)
		if !ok {
			t.Fatalf("%s: no window", tc.event)
		}
		if got := [3]string{DateString(w.Target), DateString(w.Earliest), DateString(w.Latest)}; got != [3]string{tc.target, tc.earliest, tc.latest} {
			t.Errorf("%s: window %v, want %s %s %s", tc.event, got, tc.target, tc.earliest, tc.latest)
		}
	}
	for _, ev := range []string{"ET", "UNS", "NOPE"} {
		if _, ok := c.Window(ev, anchor); ok {
			t.Errorf("%s has a window", ev)
		}
	}
	if item, form, ok := c.VisitDateItem("W4"); !ok || item != "VS.DATE" || form != "VS" {
		t.Errorf("visit date of W4: %s %s %v", item, form, ok)
	}
}

// TestWindowEnrolmentAnchor: without an anchor event the anchor date is
// study day 1, so a day-28 event's target is 27 days later.
func TestWindowEnrolmentAnchor(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	if _, ok := c.AnchorEvent(); ok {
		t.Fatal("anchor event without one named")
	}
	w, ok := c.Window("WK4", day(t, "2026-01-01"))
	if !ok || DateString(w.Target) != "2026-01-28" || w.String() != "2026-01-28 (2026-01-25 to 2026-01-31)" {
		t.Errorf("window %v %v", w, ok)
	}
	if w, _ := c.Window("SCREEN", day(t, "2026-01-01")); DateString(w.Target) != "2025-12-18" {
		t.Errorf("screening target %s", DateString(w.Target))
	}
}

func TestWindowOff(t *testing.T) {
	w := Window{Target: 10, Earliest: 7, Latest: 13}
	for date, want := range map[int64]int64{5: -2, 7: 0, 10: 0, 13: 0, 14: 1, 20: 7} {
		if got := w.Off(date); got != want {
			t.Errorf("Off(%d) = %d, want %d", date, got, want)
		}
	}
}

// TestCalendar: each status of a visit, judged on a date the caller names.
func TestCalendar(t *testing.T) {
	c := mustCompile(t, mustExample(t))
	recs := map[string]string{"SCR": "2026-01-20", "D1": "2026-03-02", "W4": "2026-03-30", "W8": ""}
	visit := func(ev string) (bool, string) {
		d, ok := recs[ev]
		return ok, d
	}
	anchor := c.AnchorDate("2026-01-19", visit)
	if anchor != "2026-03-02" {
		t.Fatalf("anchor %s", anchor)
	}
	status := func(vs []Visit) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.Event+":"+string(v.Status))
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		asOf string
		left bool
		want string
	}{
		{"2026-05-21", false, "SCR:out_of_window D1:entered W4:entered W8:entered W12:upcoming FU:upcoming"},
		{"2026-05-22", false, "SCR:out_of_window D1:entered W4:entered W8:entered W12:due FU:upcoming"},
		{"2026-05-28", false, "SCR:out_of_window D1:entered W4:entered W8:entered W12:due FU:upcoming"},
		{"2026-05-29", false, "SCR:out_of_window D1:entered W4:entered W8:entered W12:overdue FU:upcoming"},
		{"2026-05-29", true, "SCR:out_of_window D1:entered W4:entered W8:entered W12:not_expected FU:not_expected"},
	} {
		if got := status(c.Calendar(anchor, visit, tc.asOf, tc.left)); got != tc.want {
			t.Errorf("as of %s (left %v): %s\nwant %s", tc.asOf, tc.left, got, tc.want)
		}
	}
	vs := c.Calendar(anchor, visit, "2026-05-30", false)
	if v := vs[0]; v.DaysOff != -13 || v.Target != "2026-02-16" || v.Date != "2026-01-20" {
		t.Errorf("screening %+v", v)
	}
	if v := vs[4]; v.Target != "2026-05-25" || v.Earliest != "2026-05-22" || v.Latest != "2026-05-28" {
		t.Errorf("week 12 %+v", v)
	}
	delete(recs, "D1")
	if got := status(c.Calendar(c.AnchorDate("2026-01-19", visit), visit, "2026-05-30", false)); got != "SCR:entered D1:pending W4:entered W8:entered W12:pending FU:pending" {
		t.Errorf("without the anchor: %s", got)
	}
}
