package audit

import (
	"fmt"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

func TestSafetyOf(t *testing.T) {
	at := func(s string) *types.Stamp { return &types.Stamp{Time: s, Signer: "sponsor-mm"} }
	start := "2026-03-01T08:00:00.5Z"
	saes := []types.SAE{
		{Row: 1, Opened: *at(start)},                                             // open 30h at as-of: overdue
		{Row: 2, Opened: *at("2026-03-02T10:00:00Z")},                            // open 4h: not yet
		{Row: 3, Opened: *at(start), Acknowledged: at("2026-03-01T09:30:00.5Z")}, // 90 minutes
		{Row: 4, Opened: *at(start), Acknowledged: at("2026-03-02T09:00:00.5Z")}, // 25h: late
		{Row: 5, Opened: *at(start), Acknowledged: at("2026-03-02T15:00:00Z")},   // after as-of: still open then
	}
	asOf := time.Date(2026, 3, 2, 14, 0, 0, 500_000_000, time.UTC)
	s, err := SafetyOf("ST", saes, asOf)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		toAck, open int64
		overdue     bool
		late        bool
		acked       bool
	}{
		{-1, 30 * 60, true, false, false},
		{-1, 4 * 60, false, false, false},
		{90, 0, false, false, true},
		{25 * 60, 0, false, true, true},
		{-1, 30 * 60, true, false, false},
	}
	for i, w := range want {
		g := s.SAEs[i]
		if g.MinutesToAck != w.toAck || g.OpenMinutes != w.open || g.Overdue != w.overdue || g.Late != w.late || (g.Acknowledged != nil) != w.acked {
			t.Errorf("SAE row %d: %+v, want %+v", g.Row, g, w)
		}
	}
	if s.Unacknowledged != 3 || s.Overdue != 2 || s.Late != 1 || s.AsOf != "2026-03-02T14:00:00Z" {
		t.Errorf("counts: %+v", s)
	}
	if _, err := SafetyOf("ST", []types.SAE{{Opened: types.Stamp{Time: "yesterday"}}}, asOf); err == nil {
		t.Error("an SAE with an unreadable clock start was judged")
	}
	for m, want := range map[int64]string{0: "0m", 59: "59m", 61: "1h 01m", 24*60 + 5: "1d 00h 05m"} {
		if got := Duration(m); got != want {
			t.Errorf("Duration(%d) = %q, want %q", m, got, want)
		}
	}
}

// TestSafetySheet: the report workbook's sheet of serious adverse events.
func TestSafetySheet(t *testing.T) {
	s, err := SafetyOf("ST", []types.SAE{
		{FormKey: types.FormKey{Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}, Row: 2, Site: "site1",
			Opened: types.Stamp{Time: "2026-03-01T08:00:00Z", Height: 7}, Acknowledged: &types.Stamp{Time: "2026-03-01T09:00:00Z", Signer: "sponsor-mm"}},
	}, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sh := safetySheet(s)
	want := []any{"site1", "S1-001", "W4", 1, "AE", 2, "2026-03-01T08:00:00Z", int64(7), "2026-03-01T09:00:00Z", "sponsor-mm", int64(60), int64(0), false, false, 0}
	if len(sh.Rows) != 1 || fmt.Sprint(sh.Rows[0]) != fmt.Sprint(want) || len(sh.Header) != len(want) {
		t.Errorf("sheet %+v", sh)
	}
	if sh := safetySheet(nil); len(sh.Rows) != 0 || sh.Name != "Serious adverse events" {
		t.Errorf("sheet of no safety: %+v", sh)
	}
}
