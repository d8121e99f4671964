package protocol

// parseStatus says whether a date or time value is well formed and real.
type parseStatus uint8

const (
	parseOK       parseStatus = iota
	parseBad                  // not in the expected format
	parseNotExist             // well formed but no such date (2025-02-30)
)

// digitsAt returns the number written with n ASCII digits at s[i:i+n].
func digitsAt(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for k := i; k < i+n; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DaysFromCivil counts the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar, negative before it, for any year (year 0
// is 1 BC and a leap year); exact integer arithmetic only (H. Hinnant's
// algorithm). It does not check that the date exists.
func DaysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(int64(y), 400)
	yoe := int64(y) - era*400
	mp := int64(m+9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// CivilFromDays is the inverse of DaysFromCivil: the date days after
// 1970-01-01 (before it when negative).
func CivilFromDays(days int64) (y, m, d int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp+2)%12 + 1
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// DateDays returns the day of a date written YYYY-MM-DD, counted as
// DaysFromCivil does, and whether it is a date Validate accepts: a real
// date of the years 0001-9999.
func DateDays(s string) (int64, bool) {
	t, st := parseDate(s)
	return t / 86400, st == parseOK
}

// parseDate parses YYYY-MM-DD and returns seconds since 1970-01-01.
func parseDate(s string) (int64, parseStatus) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, parseBad
	}
	y, ok1 := digitsAt(s, 0, 4)
	m, ok2 := digitsAt(s, 5, 2)
	d, ok3 := digitsAt(s, 8, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, parseBad
	}
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, parseNotExist
	}
	return DaysFromCivil(y, m, d) * 86400, parseOK
}

// parseClock parses HH:MM or HH:MM:SS and returns seconds since midnight.
func parseClock(s string) (int64, bool) {
	if (len(s) != 5 && len(s) != 8) || s[2] != ':' {
		return 0, false
	}
	h, ok1 := digitsAt(s, 0, 2)
	mi, ok2 := digitsAt(s, 3, 2)
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return 0, false
	}
	sec := 0
	if len(s) == 8 {
		var ok bool
		if s[5] != ':' {
			return 0, false
		}
		if sec, ok = digitsAt(s, 6, 2); !ok || sec > 59 {
			return 0, false
		}
	}
	return int64(h*3600 + mi*60 + sec), true
}

// parseDateTime parses YYYY-MM-DDTHH:MM[:SS] and returns seconds since
// 1970-01-01T00:00:00. A bad clock part is parseBad.
func parseDateTime(s string) (int64, parseStatus) {
	if len(s) < 11 || s[10] != 'T' {
		return 0, parseBad
	}
	clock, ok := parseClock(s[11:])
	day, st := parseDate(s[:10])
	if st == parseBad || !ok {
		return 0, parseBad
	}
	if st != parseOK {
		return 0, st
	}
	return day + clock, parseOK
}

// parsePartialDate checks YYYY, YYYY-MM or YYYY-MM-DD.
func parsePartialDate(s string) parseStatus {
	switch len(s) {
	case 4:
		y, ok := digitsAt(s, 0, 4)
		if !ok {
			return parseBad
		}
		if y < 1 {
			return parseNotExist
		}
		return parseOK
	case 7:
		if s[4] != '-' {
			return parseBad
		}
		y, ok1 := digitsAt(s, 0, 4)
		m, ok2 := digitsAt(s, 5, 2)
		if !ok1 || !ok2 {
			return parseBad
		}
		if y < 1 || m < 1 || m > 12 {
			return parseNotExist
		}
		return parseOK
	case 10:
		_, st := parseDate(s)
		return st
	}
	return parseBad
}

// parseTemporal reads a full date or a datetime, for conditions: dates
// count as midnight.
func parseTemporal(s string) (int64, bool) {
	if len(s) == 10 {
		t, st := parseDate(s)
		return t, st == parseOK
	}
	t, st := parseDateTime(s)
	return t, st == parseOK
}
