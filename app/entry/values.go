package entry

import (
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/protocol"
)

// numberRE matches a number as a spreadsheet stores it in a cell.
var numberRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// maxSignificant is the number of significant digits a spreadsheet
// displays; digits beyond it are binary floating-point artefacts.
const maxSignificant = 15

// isNumber reports whether s is a number as stored in a cell.
func isNumber(s string) bool { return numberRE.MatchString(s) }

// cleanNumber turns a stored number into the decimal a person sees: the
// exponent form is written out and digits beyond the 15th significant one
// (float artefacts such as 36.600000000000001) are rounded away. It works
// on the text, never through float64. Anything that is not a number comes
// back unchanged.
func cleanNumber(raw string) string {
	if !isNumber(raw) {
		return raw
	}
	s := raw
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	exp := 0
	hasExp := false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return raw
		}
		exp, hasExp, s = e, true, s[:i]
	}
	ip, fp, _ := strings.Cut(s, ".")
	digits := ip + fp
	point := len(ip) + exp
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
		point--
	}
	if digits == "" {
		return "0"
	}
	if len(digits) <= maxSignificant && !hasExp {
		return raw
	}
	if len(digits) > maxSignificant {
		round := digits[maxSignificant] >= '5'
		b := []byte(digits[:maxSignificant])
		for i := len(b) - 1; round && i >= 0; i-- {
			if b[i] == '9' {
				b[i] = '0'
			} else {
				b[i]++
				round = false
			}
		}
		if round {
			b = append([]byte{'1'}, b...)
			point++
		}
		digits = string(b)
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if strings.Contains(out, ".") {
		out = strings.TrimRight(out, "0")
		out = strings.TrimSuffix(out, ".")
	}
	if out == "" || out == "0" {
		return "0"
	}
	if neg {
		out = "-" + out
	}
	return out
}

// Epochs of the spreadsheet date systems, in days since 1970-01-01.
var (
	epoch1900 = protocol.DaysFromCivil(1899, 12, 30) // serial 61 = 1900-03-01
	epoch1904 = protocol.DaysFromCivil(1904, 1, 1)
)

// dateSerial returns the 1900-system serial number of a date the ledger
// accepts (YYYY-MM-DD, see protocol.DateDays) from 1900-03-01 on.
func dateSerial(iso string) (int64, bool) {
	days, ok := protocol.DateDays(iso)
	if !ok {
		return 0, false
	}
	n := days - epoch1900
	if n < 61 {
		return 0, false
	}
	return n, true
}

// serialParts splits a stored date serial into whole days and seconds of
// the day, exactly (big.Rat, never float64).
func serialParts(raw string) (days int64, secs int64, ok bool) {
	if !isNumber(raw) {
		return 0, 0, false
	}
	r, ok := new(big.Rat).SetString(raw)
	if !ok || r.Sign() < 0 {
		return 0, 0, false
	}
	if r.Cmp(big.NewRat(3_000_000, 1)) > 0 {
		return 0, 0, false
	}
	whole := new(big.Int).Quo(r.Num(), r.Denom())
	frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(whole))
	frac.Mul(frac, big.NewRat(86400, 1))
	// round half up to the second
	frac.Add(frac, big.NewRat(1, 2))
	s := new(big.Int).Quo(frac.Num(), frac.Denom())
	days, secs = whole.Int64(), s.Int64()
	if secs >= 86400 {
		days++
		secs -= 86400
	}
	return days, secs, true
}

// serialDate converts whole serial days to YYYY-MM-DD; the 1900 system's
// fictitious 1900-02-29 (serial 60) and serials below 1 are refused.
func serialDate(days int64, date1904 bool) (string, bool) {
	var z int64
	switch {
	case date1904:
		z = epoch1904 + days
	case days >= 61:
		z = epoch1900 + days
	case days >= 1 && days < 60:
		z = epoch1900 + days + 1
	default:
		return "", false
	}
	y, m, d := protocol.CivilFromDays(z)
	return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2), true
}

func clock(secs int64) string {
	h, m, s := secs/3600, secs/60%60, secs%60
	out := pad(int(h), 2) + ":" + pad(int(m), 2)
	if s != 0 {
		out += ":" + pad(int(s), 2)
	}
	return out
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// normalize turns what a cell holds into the value the ledger expects for
// the item: dates from serial numbers to YYYY-MM-DD (times HH:MM, date-times
// YYYY-MM-DDTHH:MM), numbers without float artefacts, decodes and
// "code=decode" drop-down entries back to codes. A value it cannot make
// sense of is returned trimmed, for Validate to report.
func normalize(c *protocol.Compiled, it *protocol.Item, raw string, date1904 bool) string {
	v := strings.TrimSpace(raw)
	if v == "" {
		return ""
	}
	switch it.Type {
	case protocol.TypeInteger, protocol.TypeDecimal:
		return cleanNumber(v)
	case protocol.TypeDate:
		if days, secs, ok := serialParts(v); ok {
			if d, ok := serialDate(days, date1904); ok {
				if secs == 0 {
					return d
				}
				return d + "T" + clock(secs)
			}
		}
		return v
	case protocol.TypeDateTime:
		if days, secs, ok := serialParts(v); ok {
			if d, ok := serialDate(days, date1904); ok {
				return d + "T" + clock(secs)
			}
		}
		return strings.Replace(v, " ", "T", 1)
	case protocol.TypeTime:
		if days, secs, ok := serialParts(v); ok && days == 0 {
			return clock(secs)
		}
		return v
	case protocol.TypePartialDate:
		if isNumber(v) {
			// A bare number up to 9999 is a year typed into the cell;
			// anything larger is a date serial.
			if days, secs, ok := serialParts(v); ok && secs == 0 && days > 9999 {
				if d, ok := serialDate(days, date1904); ok {
					return d
				}
			}
		}
		return v
	case protocol.TypeYesNo:
		return yesNoCode(v)
	case protocol.TypeChoice:
		cl, _ := c.CodeList(it.CodeList)
		return codeOf(cl, v)
	case protocol.TypeMultiChoice:
		cl, _ := c.CodeList(it.CodeList)
		return multiCodes(cl, v)
	}
	return v
}

// yesNoCode maps the ways a person writes yes or no to "1" or "0".
func yesNoCode(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "1=yes", "yes", "y", "true":
		return "1"
	case "0", "0=no", "no", "n", "false":
		return "0"
	}
	return v
}

// codeOf maps a code, a "code=decode" drop-down entry or a decode (case
// insensitive) to the code; anything else comes back as given.
func codeOf(cl *protocol.CodeList, v string) string {
	v = strings.TrimSpace(v)
	if cl == nil {
		return v
	}
	for _, ci := range cl.Items {
		if ci.Code == v {
			return v
		}
	}
	if code, _, ok := strings.Cut(v, "="); ok {
		code = strings.TrimSpace(code)
		for _, ci := range cl.Items {
			if ci.Code == code {
				return code
			}
		}
	}
	for _, ci := range cl.Items {
		if ci.Decode != "" && strings.EqualFold(ci.Decode, v) {
			return ci.Code
		}
	}
	if n := cleanNumber(v); n != v {
		for _, ci := range cl.Items {
			if ci.Code == n {
				return n
			}
		}
	}
	return v
}

// multiCodes maps a comma- or semicolon-separated list of codes, entries
// or decodes to codes in code-list order without repeats; when a part is
// not in the code list the list is returned as written (joined by commas)
// for Validate to report.
func multiCodes(cl *protocol.CodeList, v string) string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' })
	codes := make([]string, 0, len(parts))
	known := true
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		c := codeOf(cl, p)
		codes = append(codes, c)
		if !inList(cl, c) {
			known = false
		}
	}
	if !known || cl == nil {
		return strings.Join(codes, ",")
	}
	var out []string
	for _, ci := range cl.Items {
		for _, c := range codes {
			if c == ci.Code {
				out = append(out, c)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

func inList(cl *protocol.CodeList, code string) bool {
	if cl == nil {
		return false
	}
	for _, ci := range cl.Items {
		if ci.Code == code {
			return true
		}
	}
	return false
}

// missingEntry reads a cell as a missing-data code the item allows: the
// code as the protocol lists it ("ND") or its drop-down entry ("ND=Not
// done"), either followed by ": " and the reason ("ND: sample
// haemolysed"). ok is false for anything else, which is a value.
func missingEntry(c *protocol.Compiled, it *protocol.Item, raw string) (v protocol.ItemValue, ok bool) {
	if len(it.Missing) == 0 {
		return v, false
	}
	head, reason, _ := strings.Cut(strings.TrimSpace(raw), ":")
	code, decode, hasDecode := strings.Cut(head, "=")
	if code = strings.TrimSpace(code); !slices.Contains(it.Missing, code) {
		return v, false
	}
	if mc, _ := c.MissingCode(code); hasDecode && !strings.EqualFold(strings.TrimSpace(decode), mc.Decode) {
		return v, false
	}
	return protocol.ItemValue{Item: it.OID, Missing: code, Reason: strings.TrimSpace(reason)}, true
}

// readCell is what a cell holds for an item: a missing-data code
// (missingEntry) or the normalized value.
func readCell(c *protocol.Compiled, it *protocol.Item, raw string, date1904 bool) protocol.ItemValue {
	if v, ok := missingEntry(c, it, raw); ok {
		return v
	}
	return protocol.ItemValue{Item: it.OID, Value: normalize(c, it, raw, date1904)}
}

// missingEntries are the drop-down entries ("ND=Not done") of the
// missing-data codes an item allows.
func missingEntries(c *protocol.Compiled, it *protocol.Item) []string {
	out := make([]string, len(it.Missing))
	for i, code := range it.Missing {
		mc, _ := c.MissingCode(code)
		out[i] = entryText(code, mc.Decode)
	}
	return out
}

// entryText is how a code appears in a drop-down: "1=Male", or the code
// alone when it has no decode.
func entryText(code, decode string) string {
	if decode == "" {
		return code
	}
	return code + "=" + decode
}

// sameItemValue reports whether two stored values of an item mean the
// same: the same missing-data code and reason, or values that sameValue
// finds the same.
func sameItemValue(it *protocol.Item, a, b protocol.ItemValue) bool {
	return a.Missing == b.Missing && a.Reason == b.Reason && sameValue(it, a.Value, b.Value)
}

// sameValue reports whether two values of an item mean the same: numbers
// compare as exact decimals ("37.20" = "37.2"), everything else as text.
func sameValue(it *protocol.Item, a, b string) bool {
	if a == b {
		return true
	}
	if it != nil && (it.Type == protocol.TypeInteger || it.Type == protocol.TypeDecimal) {
		da, err1 := protocol.ParseDecimal(a)
		db, err2 := protocol.ParseDecimal(b)
		return err1 == nil && err2 == nil && da.Cmp(db) == 0
	}
	return false
}
