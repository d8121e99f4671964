package protocol

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	cases := map[string]parseStatus{
		"2025-01-31": parseOK, "2024-02-29": parseOK, "2000-02-29": parseOK,
		"2025-02-29": parseNotExist, "1900-02-29": parseNotExist, "2025-02-30": parseNotExist,
		"2025-04-31": parseNotExist, "2025-13-01": parseNotExist, "2025-00-10": parseNotExist,
		"2025-01-00": parseNotExist, "0000-01-01": parseNotExist,
		"2025-1-31": parseBad, "25-01-31": parseBad, "2025/01/31": parseBad, "31-01-2025": parseBad,
		"2025-01-31T10:00": parseBad, "": parseBad, "2025-0a-01": parseBad,
	}
	for in, want := range cases {
		if _, got := parseDate(in); got != want {
			t.Errorf("parseDate(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestDaysFromCivilMatchesTime(t *testing.T) {
	for _, d := range []string{"1970-01-01", "2000-02-29", "1900-03-01", "2025-12-31", "0001-01-01", "9999-12-31", "1600-02-29"} {
		got, st := parseDate(d)
		tm, err := time.Parse("2006-01-02", d)
		if st != parseOK || err != nil {
			t.Fatalf("%s: %d %v", d, st, err)
		}
		if got != tm.Unix() {
			t.Errorf("%s: %d seconds, time says %d", d, got, tm.Unix())
		}
	}
}

// TestCalendarMatchesTime checks DaysFromCivil and CivilFromDays against
// the time package day by day, from year -800 to 10,000, so across year
// 0 and negative years too, which the ledger never reads but the day
// count of 1 BC and before once came out a day short (January and
// February of year 0 counted in the wrong 400-year era).
func TestCalendarMatchesTime(t *testing.T) {
	for _, tc := range []struct {
		y, m, d int
		days    int64
	}{{0, 1, 1, -719528}, {0, 2, 29, -719469}, {-1, 3, 1, -719834}, {-400, 2, 28, -865567}, {1970, 1, 1, 0}} {
		if got := DaysFromCivil(tc.y, tc.m, tc.d); got != tc.days {
			t.Errorf("DaysFromCivil(%d, %d, %d) = %d, want %d", tc.y, tc.m, tc.d, got, tc.days)
		}
	}
	first := time.Date(-800, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	last := time.Date(10000, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400
	for z := first; z <= last; z++ {
		ty, tm, td := time.Unix(z*86400, 0).UTC().Date()
		y, m, d := CivilFromDays(z)
		if y != ty || m != int(tm) || d != td {
			t.Fatalf("CivilFromDays(%d) = %d-%d-%d, time says %d-%d-%d", z, y, m, d, ty, tm, td)
		}
		if got := DaysFromCivil(y, m, d); got != z {
			t.Fatalf("DaysFromCivil(%d, %d, %d) = %d, want %d", y, m, d, got, z)
		}
	}
}

// TestDateDays: the dates Validate accepts, and nothing else, have a day.
func TestDateDays(t *testing.T) {
	for in, want := range map[string]int64{"1970-01-01": 0, "2026-01-05": 20458, "0001-01-01": -719162, "9999-12-31": 2932896, "2024-02-29": 19782} {
		if got, ok := DateDays(in); !ok || got != want {
			t.Errorf("DateDays(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"0000-01-01", "-001-01-01", "+202-01-01", "2026-+1-05", "2026-01-+5", "2025-02-29", "1900-02-29", "2026-1-05", ""} {
		if got, ok := DateDays(in); ok {
			t.Errorf("DateDays(%q) = %d, accepted", in, got)
		}
	}
}

func TestParseDateTimeAndClock(t *testing.T) {
	dt := map[string]parseStatus{
		"2025-01-31T08:30": parseOK, "2025-01-31T23:59:59": parseOK,
		"2025-02-30T08:30": parseNotExist, "2025-01-31 08:30": parseBad, "2025-01-31T24:00": parseBad,
		"2025-01-31T08:60": parseBad, "2025-01-31T08:30Z": parseBad, "2025-01-31T8:30": parseBad, "2025-01-31": parseBad,
	}
	for in, want := range dt {
		if _, got := parseDateTime(in); got != want {
			t.Errorf("parseDateTime(%q) = %d, want %d", in, got, want)
		}
	}
	clock := map[string]bool{"00:00": true, "23:59:59": true, "24:00": false, "12:60": false, "12:30:60": false,
		"7:30": false, "07:30:5": false, "07-30": false, "": false}
	for in, want := range clock {
		if _, got := parseClock(in); got != want {
			t.Errorf("parseClock(%q) = %v, want %v", in, got, want)
		}
	}
	partial := map[string]parseStatus{"2025": parseOK, "2025-02": parseOK, "2025-02-28": parseOK,
		"2025-13": parseNotExist, "2025-02-30": parseNotExist, "0000": parseNotExist, "25": parseBad, "2025-2": parseBad, "2025/02": parseBad}
	for in, want := range partial {
		if got := parsePartialDate(in); got != want {
			t.Errorf("parsePartialDate(%q) = %d, want %d", in, got, want)
		}
	}
}
