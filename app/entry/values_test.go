package entry

import "testing"

// TestDateSerial: a date has a serial when the ledger accepts it
// (protocol.DateDays) and it is 1900-03-01 or later, and the serial reads
// back as the same date. A sign inside a date ("2026-+1-05") once passed
// for January.
func TestDateSerial(t *testing.T) {
	for iso, want := range map[string]int64{"1900-03-01": 61, "2026-01-05": 46027, "2024-02-29": 45351, "9999-12-31": 2958465} {
		n, ok := dateSerial(iso)
		if !ok || n != want {
			t.Errorf("dateSerial(%q) = %d, %v; want %d", iso, n, ok, want)
			continue
		}
		if back, ok := serialDate(n, false); !ok || back != iso {
			t.Errorf("serialDate(%d) = %q, %v; want %q", n, back, ok, iso)
		}
	}
	for _, iso := range []string{"2026-+1-05", "2026-01-+5", "+026-01-05", "-001-03-01", "0000-03-01", "1900-02-28", "2025-02-29", "2026-1-5", ""} {
		if n, ok := dateSerial(iso); ok {
			t.Errorf("dateSerial(%q) = %d, want none", iso, n)
		}
	}
}
