package protocol

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func dmValues() []ItemValue {
	return []ItemValue{
		{Item: "DM.BRTHDAT", Value: "1980-05-01"}, {Item: "DM.AGE", Value: "44"}, {Item: "DM.SEX", Value: "1"},
		{Item: "DM.MEDS", Value: "1,3"}, {Item: "DM.ACEDOSE", Value: "10.5"}, {Item: "DM.NOTE", Value: "ok"},
		{Item: "DM.DIAGDT", Value: "2019-03"}, {Item: "DM.CONSDTC", Value: "2025-02-01T09:30"}, {Item: "DM.CONSTM", Value: "08:00"},
	}
}

func vsValues() []ItemValue {
	return []ItemValue{
		{Item: "VS.VSDAT", Value: "2025-03-01"}, {Item: "VS.SYSBP", Value: "120"}, {Item: "VS.DIABP", Value: "80"},
		{Item: "VS.HR", Value: "70"}, {Item: "VS.WEIGHT", Value: "72.5"},
	}
}

func aeValues() []ItemValue {
	return []ItemValue{
		{Item: "AE.ANY", Value: "1"},
		{Item: "AE.TERM", Repeat: 1, Value: "Headache"}, {Item: "AE.SEV", Repeat: 1, Value: "1"},
		{Item: "AE.STDAT", Repeat: 1, Value: "2025-03-01"}, {Item: "AE.ENDAT", Repeat: 1, Value: "2025-03-02"},
	}
}

// with returns base with each change applied: a value for an item and
// repeat already present replaces it (an empty Value removes it), others
// are appended.
func with(base []ItemValue, changes ...ItemValue) []ItemValue {
	out := slices.Clone(base)
	for _, ch := range changes {
		i := slices.IndexFunc(out, func(v ItemValue) bool { return v.Item == ch.Item && v.Repeat == ch.Repeat })
		switch {
		case i >= 0 && ch.Value == "":
			out = slices.Delete(out, i, i+1)
		case i >= 0:
			out[i] = ch
		default:
			out = append(out, ch)
		}
	}
	return out
}

func iv(item, value string) ItemValue { return ItemValue{Item: item, Value: value} }

func ivr(item string, repeat int, value string) ItemValue {
	return ItemValue{Item: item, Repeat: repeat, Value: value}
}

func TestValidateHappyPath(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	for form, vals := range map[string][]ItemValue{"DM": dmValues(), "VS": vsValues(), "AE": aeValues()} {
		if ps := c.Validate(form, vals, nil); ps != nil {
			t.Errorf("%s: unexpected problems %v", form, ps)
		}
	}
}

type wantProblem struct {
	item   string
	repeat int
	sev    Severity
	code   string
	msg    string // exact message when it starts with "=", else a substring
}

func checkProblems(t *testing.T, got []Problem, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), dumpProblems(got))
	}
	for i, w := range want {
		g := got[i]
		okMsg := strings.Contains(g.Message, w.msg)
		if exact, ok := strings.CutPrefix(w.msg, "="); ok {
			okMsg = g.Message == exact
		}
		if g.Item != w.item || g.Repeat != w.repeat || g.Severity != w.sev || g.Code != w.code || !okMsg {
			t.Errorf("problem %d:\n got %s/%d %s %s %q\nwant %s/%d %s %s %q", i, g.Item, g.Repeat, g.Severity, g.Code, g.Message, w.item, w.repeat, w.sev, w.code, w.msg)
		}
	}
}

func dumpProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.Item + "/" + strconv.Itoa(p.Repeat) + " " + string(p.Severity) + " " + p.Code + " " + p.Message + "\n")
	}
	return b.String()
}

// TestValidateReasonCodes has at least one case per reason code.
func TestValidateReasonCodes(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	cases := []struct {
		name   string
		form   string
		values []ItemValue
		want   []wantProblem
	}{
		{"form.unknown", "LB", vsValues(), []wantProblem{{"", 0, Hard, "form.unknown", `=Form "LB" is not in the protocol; check the form OID`}}},
		{"item.unknown", "VS", with(vsValues(), iv("VS.TEMP", "37")), []wantProblem{{"VS.TEMP", 0, Hard, "item.unknown", `="VS.TEMP" is not an item of this protocol; remove it or correct the OID`}}},
		{"item.unknown even when empty", "VS", with(vsValues(), ItemValue{Item: "VS.TEMP"}), []wantProblem{{"VS.TEMP", 0, Hard, "item.unknown", ""}}},
		{"item.not_in_form", "VS", with(vsValues(), iv("DM.AGE", "44")), []wantProblem{{"DM.AGE", 0, Hard, "item.not_in_form", "=Age (DM.AGE) belongs to form Demographics (DM), not to form Vital signs (VS)"}}},
		{"item.duplicate", "VS", append(vsValues(), iv("VS.SYSBP", "121")), []wantProblem{{"VS.SYSBP", 0, Hard, "item.duplicate", "=Systolic blood pressure was given 2 times; send one value (VS.SYSBP)"}}},
		{"repeat.invalid non-repeating", "VS", with(vsValues(), iv("VS.SYSBP", ""), ivr("VS.SYSBP", 1, "120")), []wantProblem{{"VS.SYSBP", 1, Hard, "repeat.invalid", "row number must be 0, not 1"}}},
		{"repeat.invalid repeating", "AE", with(aeValues(), ivr("AE.SERIOUS", 0, "0")), []wantProblem{{"AE.SERIOUS", 0, Hard, "repeat.invalid", "needs a row number from 1 to 3, not 0"}}},
		{"repeat.invalid negative", "AE", with(aeValues(), ivr("AE.SERIOUS", -1, "0")), []wantProblem{{"AE.SERIOUS", -1, Hard, "repeat.invalid", ""}}},
		{"repeat.too_many", "AE", with(aeValues(), ivr("AE.TERM", 4, "Nausea")), []wantProblem{{"AE.TERM", 4, Hard, "repeat.too_many", "row 4 is beyond the maximum of 3 rows of Adverse event"}}},
		{"required.missing", "VS", with(vsValues(), iv("VS.VSDAT", "")), []wantProblem{{"VS.VSDAT", 0, Hard, "required.missing", "=Visit date is required (VS.VSDAT)"}}},
		{"hidden.has_value", "DM", with(dmValues(), iv("DM.PREG", "0")), []wantProblem{{"DM.PREG", 0, Hard, "hidden.has_value", `=Pregnant must be empty: it only applies when [DM.SEX] = "2" (DM.PREG)`}}},
		{"text.too_long", "DM", with(dmValues(), iv("DM.NOTE", strings.Repeat("x", 21))), []wantProblem{{"DM.NOTE", 0, Hard, "text.too_long", "=Note is 21 characters long; at most 20 are allowed (DM.NOTE)"}}},
		{"text length counts characters", "DM", with(dmValues(), iv("DM.NOTE", strings.Repeat("é", 20))), nil},
		{"type.not_integer", "VS", with(vsValues(), iv("VS.HR", "70.0")), []wantProblem{{"VS.HR", 0, Hard, "type.not_integer", `=Heart rate "70.0" is not a whole number (VS.HR)`}}},
		{"type.not_integer text", "VS", with(vsValues(), iv("VS.HR", "seventy")), []wantProblem{{"VS.HR", 0, Hard, "type.not_integer", ""}}},
		{"type.not_decimal", "VS", with(vsValues(), iv("VS.WEIGHT", "72,5")), []wantProblem{{"VS.WEIGHT", 0, Hard, "type.not_decimal", `=Weight "72,5" is not a number; write it like 72.5 (VS.WEIGHT)`}}},
		{"type.not_decimal exponent", "VS", with(vsValues(), iv("VS.WEIGHT", "7.25e1")), []wantProblem{{"VS.WEIGHT", 0, Hard, "type.not_decimal", ""}}},
		{"decimal.too_many_digits", "VS", with(vsValues(), iv("VS.WEIGHT", "72.55")), []wantProblem{{"VS.WEIGHT", 0, Hard, "decimal.too_many_digits", "=Weight 72.55 kg has 2 decimal places; at most 1 allowed (VS.WEIGHT)"}}},
		{"date.invalid", "VS", with(vsValues(), iv("VS.VSDAT", "03/01/2025")), []wantProblem{{"VS.VSDAT", 0, Hard, "date.invalid", `=Visit date "03/01/2025" is not written as YYYY-MM-DD (VS.VSDAT)`}}},
		{"date.not_exist", "VS", with(vsValues(), iv("VS.VSDAT", "2025-02-30")), []wantProblem{{"VS.VSDAT", 0, Hard, "date.not_exist", "=Visit date 2025-02-30 is not a real date (VS.VSDAT)"}}},
		{"date.not_exist leap year", "VS", with(vsValues(), iv("VS.VSDAT", "2025-02-29")), []wantProblem{{"VS.VSDAT", 0, Hard, "date.not_exist", ""}}},
		{"leap day exists", "VS", with(vsValues(), iv("VS.VSDAT", "2024-02-29")), nil},
		{"partial_date.invalid", "DM", with(dmValues(), iv("DM.DIAGDT", "2019/03")), []wantProblem{{"DM.DIAGDT", 0, Hard, "partial_date.invalid", "YYYY, YYYY-MM or YYYY-MM-DD"}}},
		{"partial date not real", "DM", with(dmValues(), iv("DM.DIAGDT", "2019-13")), []wantProblem{{"DM.DIAGDT", 0, Hard, "date.not_exist", ""}}},
		{"partial date year only", "DM", with(dmValues(), iv("DM.DIAGDT", "2019")), nil},
		{"datetime.invalid", "DM", with(dmValues(), iv("DM.CONSDTC", "2025-02-01 09:30")), []wantProblem{{"DM.CONSDTC", 0, Hard, "datetime.invalid", "YYYY-MM-DDTHH:MM"}}},
		{"datetime not real", "DM", with(dmValues(), iv("DM.CONSDTC", "2025-02-29T09:30")), []wantProblem{{"DM.CONSDTC", 0, Hard, "date.not_exist", ""}}},
		{"time.invalid", "DM", with(dmValues(), iv("DM.CONSTM", "8:00")), []wantProblem{{"DM.CONSTM", 0, Hard, "time.invalid", "HH:MM or HH:MM:SS"}}},
		{"yesno.invalid", "AE", with(aeValues(), iv("AE.ANY", "Y")), []wantProblem{{"AE.ANY", 0, Hard, "yesno.invalid", `=Any adverse event "Y" must be 1 (Yes) or 0 (No) (AE.ANY)`}}},
		{"choice.not_in_codelist", "DM", with(dmValues(), iv("DM.SEX", "3")), []wantProblem{{"DM.SEX", 0, Hard, "choice.not_in_codelist", `=Sex "3" is not an allowed code; use 1 (Male), 2 (Female) (DM.SEX)`}}},
		{"multichoice order", "DM", with(dmValues(), iv("DM.MEDS", "3,1")), []wantProblem{{"DM.MEDS", 0, Hard, "multichoice.invalid", "in code-list order (1,2,3,4)"}}},
		{"multichoice repeated", "DM", with(dmValues(), iv("DM.MEDS", "1,1,3")), []wantProblem{{"DM.MEDS", 0, Hard, "multichoice.invalid", `code "1" is given twice`}}},
		{"multichoice unknown", "DM", with(dmValues(), iv("DM.MEDS", "1,3,9")), []wantProblem{{"DM.MEDS", 0, Hard, "multichoice.invalid", `code "9" is not allowed`}}},
		{"multichoice empty entry", "DM", with(dmValues(), iv("DM.MEDS", "1,,3")), []wantProblem{{"DM.MEDS", 0, Hard, "multichoice.invalid", "single commas"}}},
		{"multichoice spaces", "DM", with(dmValues(), iv("DM.MEDS", "1, 3")), []wantProblem{{"DM.MEDS", 0, Hard, "multichoice.invalid", `code " 3" is not allowed`}}},
		{"range.above_max", "VS", with(vsValues(), iv("VS.SYSBP", "300")), []wantProblem{{"VS.SYSBP", 0, Hard, "range.above_max", "=Systolic blood pressure 300 mmHg is above the maximum 250 (VS.SYSBP)"}}},
		{"range.below_min", "VS", with(vsValues(), iv("VS.SYSBP", "59"), iv("VS.DIABP", "40")), []wantProblem{{"VS.SYSBP", 0, Hard, "range.below_min", "=Systolic blood pressure 59 mmHg is below the minimum 60 (VS.SYSBP)"}}},
		{"range.below_expected", "VS", with(vsValues(), iv("VS.HR", "38")), []wantProblem{{"VS.HR", 0, Soft, "range.below_expected", "=Heart rate 38 bpm is below the expected 40 (VS.HR)"}}},
		{"range.above_expected", "VS", with(vsValues(), iv("VS.SYSBP", "181")), []wantProblem{{"VS.SYSBP", 0, Soft, "range.above_expected", "=Systolic blood pressure 181 mmHg is above the expected 180 (VS.SYSBP)"}}},
		{"range bounds inclusive", "VS", with(vsValues(), iv("VS.SYSBP", "250.0"[:3]), iv("VS.HR", "40")), []wantProblem{{"VS.SYSBP", 0, Soft, "range.above_expected", ""}}},
		{"decimal range exact", "VS", with(vsValues(), iv("VS.WEIGHT", "250.1")), []wantProblem{{"VS.WEIGHT", 0, Hard, "range.above_max", "=Weight 250.1 kg is above the maximum 250 (VS.WEIGHT)"}}},
		{"date range", "DM", with(dmValues(), iv("DM.BRTHDAT", "2011-01-01")), []wantProblem{{"DM.BRTHDAT", 0, Hard, "range.above_max", "=Date of birth 2011-01-01 is after the latest allowed 2010-12-31 (DM.BRTHDAT)"}}},
		{"datetime range", "DM", with(dmValues(), iv("DM.CONSDTC", "2024-12-31T23:59")), []wantProblem{{"DM.CONSDTC", 0, Hard, "range.below_min", "before the earliest allowed 2025-01-01T00:00"}}},
		{"time soft range", "DM", with(dmValues(), iv("DM.CONSTM", "05:59:59")), []wantProblem{{"DM.CONSTM", 0, Soft, "range.below_expected", "=Usual dosing time 05:59:59 is before the expected earliest 06:00 (DM.CONSTM)"}}},
		{"check.failed", "VS", with(vsValues(), iv("VS.DIABP", "130")), []wantProblem{{"VS.DIABP", 0, Hard, "check.failed", "=Diastolic pressure must be below systolic pressure (VS.CHK1)"}}},
		{"check skipped when a ref is empty", "VS", with(vsValues(), iv("VS.SYSBP", "")), nil},
		{"check skipped when a ref is invalid", "VS", with(vsValues(), iv("VS.SYSBP", "abc")), []wantProblem{{"VS.SYSBP", 0, Hard, "type.not_integer", ""}}},
		{"check.failed soft per row", "AE", with(aeValues(), ivr("AE.ENDAT", 1, "2025-02-28")), []wantProblem{{"AE.ENDAT", 1, Soft, "check.failed", "=Row 1: End date is before start date (AE.CHK1)"}}},
		{"check default severity hard", "AE", with(aeValues(), ivr("AE.SEV", 1, "3"), ivr("AE.SERIOUS", 1, "0")), []wantProblem{{"AE.SERIOUS", 1, Hard, "check.failed", "A severe event should be checked"}}},
		{"soft and hard together", "VS", with(vsValues(), iv("VS.HR", "30"), iv("VS.SYSBP", "300")), []wantProblem{
			{"VS.SYSBP", 0, Hard, "range.above_max", ""}, {"VS.HR", 0, Soft, "range.below_expected", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkProblems(t, c.Validate(tc.form, tc.values, nil), tc.want)
		})
	}
}

// TestValidatePattern checks patterns match the whole value, after the
// type check, with the protocol's message or the pattern itself.
func TestValidatePattern(t *testing.T) {
	p := cvProtocol()
	note := &p.Forms[0].Groups[0].Items[6] // DM.NOTE, text
	note.Pattern, note.PatternMessage = `[A-Z]{2}-[0-9]{3}`, "a kit number such as AB-123"
	w := &p.Forms[1].Groups[0].Items[4] // VS.WEIGHT, decimal, at most 1 place
	w.Pattern = `-?[0-9]+\.[0-9]`
	c := mustCompile(t, p)
	cases := []struct {
		name   string
		form   string
		values []ItemValue
		want   []wantProblem
	}{
		{"text matches", "DM", with(dmValues(), iv("DM.NOTE", "AB-123")), nil},
		{"text partial match refused", "DM", with(dmValues(), iv("DM.NOTE", "xAB-123")), []wantProblem{{"DM.NOTE", 0, Hard, "pattern.mismatch", `=Note "xAB-123" is not a kit number such as AB-123 (DM.NOTE)`}}},
		{"text trailing refused", "DM", with(dmValues(), iv("DM.NOTE", "AB-1234")), []wantProblem{{"DM.NOTE", 0, Hard, "pattern.mismatch", ""}}},
		{"empty value not checked", "DM", with(dmValues(), iv("DM.NOTE", "")), nil},
		{"decimal exactly one place", "VS", with(vsValues(), iv("VS.WEIGHT", "72.0")), nil},
		{"decimal without places refused", "VS", with(vsValues(), iv("VS.WEIGHT", "72")), []wantProblem{{"VS.WEIGHT", 0, Hard, "pattern.mismatch", `=Weight "72" is not of the expected form -?[0-9]+\.[0-9] (VS.WEIGHT)`}}},
		{"type error first", "VS", with(vsValues(), iv("VS.WEIGHT", "72,5")), []wantProblem{{"VS.WEIGHT", 0, Hard, "type.not_decimal", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkProblems(t, c.Validate(tc.form, tc.values, nil), tc.want)
		})
	}
	if !raceEnabled {
		vals := with(dmValues(), iv("DM.NOTE", "AB-123"))
		if n := testing.AllocsPerRun(100, func() { c.Validate("DM", vals, nil) }); n != 0 {
			t.Errorf("%v allocations per Validate with a pattern", n)
		}
	}
}

func TestValidateBranching(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	// Female: pregnancy question shown and required.
	checkProblems(t, c.Validate("DM", with(dmValues(), iv("DM.SEX", "2")), nil), []wantProblem{{"DM.PREG", 0, Hard, "required.missing", "=Pregnant is required (DM.PREG)"}})
	if ps := c.Validate("DM", with(dmValues(), iv("DM.SEX", "2"), iv("DM.PREG", "0")), nil); ps != nil {
		t.Errorf("answered: %v", ps)
	}
	// Sex missing: it is required, and the pregnancy question stays hidden.
	checkProblems(t, c.Validate("DM", with(dmValues(), iv("DM.SEX", "")), nil), []wantProblem{{"DM.SEX", 0, Hard, "required.missing", ""}})
	// Checkbox branching: the ACE dose applies only when code 3 is ticked.
	checkProblems(t, c.Validate("DM", with(dmValues(), iv("DM.MEDS", "1,2")), nil), []wantProblem{{"DM.ACEDOSE", 0, Hard, "hidden.has_value", `[DM.MEDS(3)] = "1"`}})
	if ps := c.Validate("DM", with(dmValues(), iv("DM.MEDS", "1,2"), iv("DM.ACEDOSE", "")), nil); ps != nil {
		t.Errorf("hidden and empty: %v", ps)
	}
	// A hidden item with a bad value reports only that it must be empty.
	checkProblems(t, c.Validate("DM", with(dmValues(), iv("DM.MEDS", "1"), iv("DM.ACEDOSE", "lots")), nil), []wantProblem{{"DM.ACEDOSE", 0, Hard, "hidden.has_value", ""}})
}

func TestValidateCrossFormLookup(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	vals := with(vsValues(), iv("VS.PREGTEST", "1"))
	// Without lookup DM.PREG has no value, so the pregnancy test is hidden.
	checkProblems(t, c.Validate("VS", vals, nil), []wantProblem{{"VS.PREGTEST", 0, Hard, "hidden.has_value", `[DM.PREG] = "1"`}})
	calls := 0
	lookup := func(oid string) (string, bool) {
		calls++
		if oid == "DM.PREG" {
			return "1", true
		}
		return "", false
	}
	if ps := c.Validate("VS", vals, lookup); ps != nil {
		t.Errorf("with lookup: %v", ps)
	}
	if calls == 0 {
		t.Error("lookup not called")
	}
	notPregnant := func(oid string) (string, bool) { return "0", oid == "DM.PREG" }
	checkProblems(t, c.Validate("VS", vals, notPregnant), []wantProblem{{"VS.PREGTEST", 0, Hard, "hidden.has_value", ""}})
	// Same-form items never go through lookup.
	noSame := func(oid string) (string, bool) {
		if strings.HasPrefix(oid, "VS.") {
			t.Errorf("lookup asked for same-form item %s", oid)
		}
		return "", false
	}
	c.Validate("VS", with(vsValues(), iv("VS.DIABP", "130")), noSame)
}

func TestValidateRepeatingGroups(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	vals := with(aeValues(),
		ivr("AE.STDAT", 2, "2025-03-05"),                                            // row 2 lacks term and severity
		ivr("AE.TERM", 3, "Rash"), ivr("AE.SEV", 3, "2"), ivr("AE.SERIOUS", 3, "1"), // row 3 serious, no description
		ivr("AE.SAEDESC", 1, "hospitalised"), // row 1 is not serious
	)
	checkProblems(t, c.Validate("AE", vals, nil), []wantProblem{
		{"AE.TERM", 2, Hard, "required.missing", "=Row 2: Adverse event term is required (AE.TERM)"},
		{"AE.SEV", 2, Hard, "required.missing", ""},
		{"AE.SAEDESC", 1, Hard, "hidden.has_value", "Row 1: SAE description must be empty"},
		{"AE.SAEDESC", 3, Hard, "required.missing", ""},
	})
	// No adverse events: the header says no, rows must not exist.
	none := []ItemValue{iv("AE.ANY", "0"), ivr("AE.TERM", 1, "Headache"), ivr("AE.SEV", 1, "1")}
	checkProblems(t, c.Validate("AE", none, nil), []wantProblem{{"AE.TERM", 1, Hard, "hidden.has_value", `[AE.ANY] = "1"`}})
	// No rows at all: nothing required in rows that do not exist.
	if ps := c.Validate("AE", []ItemValue{iv("AE.ANY", "0")}, nil); ps != nil {
		t.Errorf("no rows: %v", ps)
	}
	// Rows need not be contiguous; duplicates are per row.
	gap := with(aeValues(), ivr("AE.TERM", 3, "Rash"), ivr("AE.SEV", 3, "2"))
	if ps := c.Validate("AE", gap, nil); ps != nil {
		t.Errorf("rows 1 and 3: %v", ps)
	}
	dup := append(aeValues(), ivr("AE.SEV", 1, "2"))
	checkProblems(t, c.Validate("AE", dup, nil), []wantProblem{{"AE.SEV", 1, Hard, "item.duplicate", "Row 1: Severity was given 2 times"}})
}

func TestValidateOrder(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	vals := []ItemValue{
		iv("ZZ.UNKNOWN", "1"), iv("AA.UNKNOWN", "1"), iv("VS.SYSBP", "120"),
		ivr("AE.ENDAT", 2, "2025-01-01"), ivr("AE.STDAT", 2, "2025-02-01"), ivr("AE.SEV", 2, "9"), ivr("AE.TERM", 2, "x"),
		ivr("AE.ENDAT", 1, "2025-01-01"), ivr("AE.STDAT", 1, "2025-02-01"), ivr("AE.SEV", 1, "9"), ivr("AE.TERM", 1, "y"),
		iv("AE.ANY", "1"),
	}
	got := c.Validate("AE", vals, nil)
	checkProblems(t, got, []wantProblem{
		{"AE.SEV", 1, Hard, "choice.not_in_codelist", "Row 1: Severity"},
		{"AE.SEV", 2, Hard, "choice.not_in_codelist", "Row 2: Severity"},
		{"AA.UNKNOWN", 0, Hard, "item.unknown", ""},
		{"VS.SYSBP", 0, Hard, "item.not_in_form", ""},
		{"ZZ.UNKNOWN", 0, Hard, "item.unknown", ""},
		{"AE.ENDAT", 1, Soft, "check.failed", ""},
		{"AE.ENDAT", 2, Soft, "check.failed", ""},
	})
	slices.Reverse(vals)
	if again := c.Validate("AE", vals, nil); !slices.Equal(again, got) {
		t.Errorf("order depends on input order:\n%s", dumpProblems(again))
	}
}

func TestValidateZeroAllocHappyPath(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	c := mustCompile(t, cvProtocol())
	for form, vals := range map[string][]ItemValue{"DM": dmValues(), "VS": vsValues(), "AE": aeValues()} {
		c.Validate(form, vals, nil)
		if n := testing.AllocsPerRun(100, func() { c.Validate(form, vals, nil) }); n != 0 {
			t.Errorf("%s: %v allocations per Validate", form, n)
		}
	}
}

// TestReasonCodesDocumented checks every code constant is in doc.go's table.
func TestReasonCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Skip("doc.go not present")
	}
	src, err := os.ReadFile("validate.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`Code\w+\s+= "([a-z_.]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(codes) < 20 {
		t.Fatalf("found only %d codes", len(codes))
	}
	for _, m := range codes {
		if !strings.Contains(string(doc), "//\t"+m[1]+" ") {
			t.Errorf("reason code %s is not documented in doc.go", m[1])
		}
	}
}

var knownCodes = map[string]bool{
	"form.unknown": true, "item.unknown": true, "item.not_in_form": true, "item.duplicate": true, "repeat.invalid": true,
	"repeat.too_many": true, "required.missing": true, "hidden.has_value": true, "text.too_long": true, "type.not_integer": true,
	"type.not_decimal": true, "decimal.too_many_digits": true, "date.invalid": true, "date.not_exist": true,
	"partial_date.invalid": true, "datetime.invalid": true, "time.invalid": true, "yesno.invalid": true,
	"choice.not_in_codelist": true, "multichoice.invalid": true, "range.below_min": true, "range.above_max": true,
	"range.below_expected": true, "range.above_expected": true, "check.failed": true,
	"derived.not_input": true, "derived.div_by_zero": true, "derived.overflow": true, "derived.input_invalid": true,
	"missing.not_allowed": true, "missing.invalid": true,
}

// genSubmission draws a messy submission: known items of any form,
// unknown items, odd repeats and tricky values.
func genSubmission(t *rapid.T, c *Compiled) []ItemValue {
	var oids []string
	for _, f := range c.Protocol().Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				oids = append(oids, it.OID)
			}
		}
	}
	oids = append(oids, "X.UNKNOWN", "")
	value := rapid.OneOf(
		rapid.SampledFrom([]string{"", "0", "1", "2", "3", "1,3", "3,1", "1,,3", "-1", "72.5", "72.55", "300", "38", "1e3",
			"2025-02-29", "2024-02-29", "2025-03-01", "2025-03-01T10:00", "25:00", "08:00", "2019", "2019-13", "abc", "é", "NaN"}),
		rapid.String(),
	)
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ItemValue {
		v := ItemValue{
			Item:   rapid.SampledFrom(oids).Draw(t, "item"),
			Repeat: rapid.IntRange(-1, 4).Draw(t, "repeat"),
			Value:  value.Draw(t, "value"),
		}
		if rapid.IntRange(0, 5).Draw(t, "coded") == 0 {
			v.Missing = rapid.SampledFrom([]string{"ND", "NA", "XX"}).Draw(t, "missing")
			v.Reason = rapid.SampledFrom([]string{"", "why"}).Draw(t, "reason")
		}
		return v
	}), 0, 30).Draw(t, "values")
}

func TestValidateProperties(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	rapid.Check(t, func(t *rapid.T) {
		form := rapid.SampledFrom([]string{"DM", "VS", "AE"}).Draw(t, "form")
		vals := genSubmission(t, c)
		lookupVals := map[string]string{"DM.PREG": rapid.SampledFrom([]string{"", "0", "1"}).Draw(t, "preg")}
		lookup := func(oid string) (string, bool) { v, ok := lookupVals[oid]; return v, ok }
		got := c.Validate(form, vals, lookup)
		for _, p := range got {
			if !knownCodes[p.Code] || p.Message == "" || (p.Severity != Hard && p.Severity != Soft) {
				t.Fatalf("bad problem %+v", p)
			}
		}
		// Deterministic and independent of the order of the values.
		shuffled := slices.Clone(vals)
		perm := rapid.Permutation(shuffled).Draw(t, "perm")
		if again := c.Validate(form, perm, lookup); !slices.Equal(again, got) {
			t.Fatalf("order-dependent:\n%s\nvs\n%s", dumpProblems(got), dumpProblems(again))
		}
		if again := c.Validate(form, vals, lookup); !slices.Equal(again, got) {
			t.Fatal("not deterministic")
		}
		// Canonical values are sorted, order-independent and idempotent,
		// and validate the same way.
		cv := c.CanonicalValues(form, vals)
		if !slices.Equal(cv, c.CanonicalValues(form, perm)) || !slices.Equal(cv, c.CanonicalValues(form, cv)) {
			t.Fatal("CanonicalValues not canonical")
		}
		for _, v := range cv {
			if v.Empty() && v.Reason == "" {
				t.Fatal("empty value kept")
			}
		}
		if again := c.Validate(form, cv, lookup); !sameIgnoringEmpty(again, got) {
			t.Fatalf("canonical values validate differently:\n%s\nvs\n%s", dumpProblems(got), dumpProblems(again))
		}
	})
}

// sameIgnoringEmpty compares problems of a submission with those of its
// canonical form, which has no empty values: only problems raised by an
// empty entry itself (unknown item, bad repeat) may disappear.
func sameIgnoringEmpty(canon, orig []Problem) bool {
	for _, p := range canon {
		if !slices.Contains(orig, p) {
			return false
		}
	}
	for _, p := range orig {
		if !slices.Contains(canon, p) && p.Code != "item.unknown" && p.Code != "item.not_in_form" && p.Code != "repeat.invalid" && p.Code != "repeat.too_many" {
			return false
		}
	}
	return true
}

func TestCanonicalValues(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	in := []ItemValue{
		ivr("AE.SEV", 2, "1"), iv("ZZ", "z"), ivr("AE.TERM", 2, "b"), iv("AE.ANY", "1"), ivr("AE.STDAT", 1, ""),
		ivr("AE.SEV", 1, "2"), iv("DM.AGE", "44"), ivr("AE.TERM", 1, "a"), iv("AA", "a"),
	}
	want := []ItemValue{
		iv("AE.ANY", "1"), ivr("AE.TERM", 1, "a"), ivr("AE.SEV", 1, "2"), ivr("AE.TERM", 2, "b"), ivr("AE.SEV", 2, "1"),
		iv("AA", "a"), iv("DM.AGE", "44"), iv("ZZ", "z"),
	}
	got := c.CanonicalValues("AE", in)
	if !slices.Equal(got, want) {
		t.Errorf("CanonicalValues =\n%v\nwant\n%v", got, want)
	}
	if in[0].Item != "AE.SEV" {
		t.Error("input modified")
	}
	if got := c.CanonicalValues("AE", nil); got == nil || len(got) != 0 {
		t.Error("empty input should give an empty, non-nil slice")
	}
	if got := c.CanonicalValues("NOPE", []ItemValue{iv("B", "1"), iv("A", "1")}); got[0].Item != "A" {
		t.Error("unknown form: values sorted by OID")
	}
}

func TestDecode(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	cases := []struct{ item, value, want string }{
		{"DM.SEX", "2", "Female"}, {"DM.SEX", "9", "9"}, {"DM.MEDS", "1,3", "Aspirin, ACE inhibitor"},
		{"DM.MEDS", "1,9", "Aspirin, 9"}, {"AE.ANY", "1", "Yes"}, {"AE.ANY", "0", "No"}, {"AE.ANY", "x", "x"},
		{"VS.SYSBP", "120", "120"}, {"NOPE", "1", "1"}, {"DM.SEX", "", ""},
	}
	for _, tc := range cases {
		if got := c.Decode(tc.item, tc.value); got != tc.want {
			t.Errorf("Decode(%s, %q) = %q, want %q", tc.item, tc.value, got, tc.want)
		}
	}
}

// bench60 builds a 60-item form (and 3 derived items): numbers with hard and soft ranges,
// decimals, dates, choices, yes/no, text and times, some branching and two
// edit checks, and a valid submission for it.
func bench60() (*Protocol, []ItemValue) {
	p := &Protocol{
		Study:     Study{ID: "BENCH", Version: "1"},
		CodeLists: []CodeList{{OID: "CL", Items: []CodeItem{{Code: "1", Decode: "One"}, {Code: "2", Decode: "Two"}, {Code: "3", Decode: "Three"}, {Code: "4", Decode: "Four"}}}},
	}
	var items []Item
	var vals []ItemValue
	add := func(it Item, v string) {
		items = append(items, it)
		vals = append(vals, ItemValue{Item: it.OID, Value: v})
	}
	for i := range 20 {
		add(Item{OID: "B.INT" + strconv.Itoa(i), Label: "Integer " + strconv.Itoa(i), Type: TypeInteger, Unit: "mmHg", Required: true,
			Hard: &Range{Min: "0", Max: "300"}, Soft: &Range{Min: "40", Max: "200"}}, strconv.Itoa(100+i))
	}
	for i := range 10 {
		add(Item{OID: "B.DEC" + strconv.Itoa(i), Label: "Decimal", Type: TypeDecimal, Digits: 2, Unit: "kg",
			Hard: &Range{Min: "0.5", Max: "500"}, Soft: &Range{Min: "20", Max: "200.25"}}, "72.5"+strconv.Itoa(i))
	}
	for i := range 8 {
		add(Item{OID: "B.DAT" + strconv.Itoa(i), Label: "Date", Type: TypeDate, Required: true,
			Hard: &Range{Min: "2020-01-01", Max: "2030-12-31"}}, "2025-0"+strconv.Itoa(i+1)+"-15")
	}
	for i := range 6 {
		add(Item{OID: "B.CH" + strconv.Itoa(i), Label: "Choice", Type: TypeChoice, CodeList: "CL", Required: true}, strconv.Itoa(i%4+1))
	}
	for i := range 6 {
		add(Item{OID: "B.YN" + strconv.Itoa(i), Label: "Yes/no", Type: TypeYesNo}, "1")
	}
	for i := range 5 {
		add(Item{OID: "B.TXT" + strconv.Itoa(i), Label: "Text", Type: TypeText, MaxLength: 200,
			ShowIf: `[B.YN` + strconv.Itoa(i) + `] = "1" and [B.INT` + strconv.Itoa(i) + `] >= 18`}, "some free text answer")
	}
	for i := range 3 {
		add(Item{OID: "B.TIM" + strconv.Itoa(i), Label: "Time", Type: TypeTime, Soft: &Range{Min: "06:00", Max: "22:00"}}, "08:3"+strconv.Itoa(i))
	}
	add(Item{OID: "B.DTC", Label: "Datetime", Type: TypeDateTime}, "2025-03-01T08:30")
	// Derived items: nobody types them, the ledger computes them.
	items = append(items,
		Item{OID: "B.BMI", Label: "BMI", Type: TypeDecimal, Digits: 1, Soft: &Range{Min: "10", Max: "80"},
			Derive: "round([B.DEC0] / (([B.INT0] / 100) * ([B.INT0] / 100)), 1)"},
		Item{OID: "B.DAYS", Label: "Days", Type: TypeInteger, Derive: `datediff([B.DAT0], [B.DAT1], "d")`},
		Item{OID: "B.MAX", Label: "Max", Type: TypeInteger, Derive: `if([B.YN0] = "1", max([B.INT1], [B.INT2]), 0)`})
	add(Item{OID: "B.MC", Label: "Multi", Type: TypeMultiChoice, CodeList: "CL"}, "1,3,4")
	p.Forms = []Form{{OID: "B", Name: "Bench", Groups: []ItemGroup{{OID: "B.G", Items: items}}, Checks: []EditCheck{
		{OID: "B.CHK1", Condition: `[B.INT1] > [B.INT0]`, Items: []string{"B.INT1"}},
		{OID: "B.CHK2", Condition: `[B.DAT1] >= [B.DAT0]`, Items: []string{"B.DAT1"}},
	}}}
	return p, vals
}

func TestBench60Valid(t *testing.T) {
	p, vals := bench60()
	c := mustCompile(t, p)
	if len(vals) != 60 {
		t.Fatalf("%d items", len(vals))
	}
	if ps := c.Validate("B", vals, nil); ps != nil {
		t.Fatalf("bench submission has problems:\n%s", dumpProblems(ps))
	}
}

func BenchmarkValidate60Items(b *testing.B) {
	p, vals := bench60()
	c := mustCompile(b, p)
	b.ReportAllocs()
	for b.Loop() {
		if c.Validate("B", vals, nil) != nil {
			b.Fatal("problems")
		}
	}
}

func BenchmarkValidate60ItemsWithProblems(b *testing.B) {
	p, vals := bench60()
	c := mustCompile(b, p)
	vals = slices.Clone(vals)
	vals[0].Value = "301"
	vals[21].Value = "72.555"
	vals[30].Value = "2025-02-30"
	b.ReportAllocs()
	for b.Loop() {
		c.Validate("B", vals, nil)
	}
}

func BenchmarkCompile(b *testing.B) {
	p, _ := bench60()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateExampleProtocol runs Validate over every form of the
// VT-HTN-201 example: an empty submission only lacks required values, and
// messy submissions never break determinism.
func TestValidateExampleProtocol(t *testing.T) {
	c := mustCompile(t, Example())
	for _, f := range c.Protocol().Forms {
		for _, p := range c.Validate(f.OID, nil, nil) {
			if p.Code != CodeRequiredMissing {
				t.Errorf("%s: empty submission: %+v", f.OID, p)
			}
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		form := rapid.SampledFrom(c.Protocol().Forms).Draw(t, "form").OID
		vals := genSubmission(t, c)
		got := c.Validate(form, vals, nil)
		perm := rapid.Permutation(vals).Draw(t, "perm")
		if again := c.Validate(form, perm, nil); !slices.Equal(again, got) {
			t.Fatalf("order-dependent:\n%s\nvs\n%s", dumpProblems(got), dumpProblems(again))
		}
	})
}

func hasHard(ps []Problem) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == Hard })
}

func TestValidateAlone(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	for _, tc := range []struct {
		name        string
		form        string
		vals        []ItemValue
		hard, final bool
	}{
		{"valid, no other form read", "VS", vsValues(), false, true},
		{"cross-item check, same form", "VS", with(vsValues(), iv("VS.DIABP", "130")), true, true},
		{"pregnancy test: depends on DM.PREG", "VS", with(vsValues(), iv("VS.PREGTEST", "1")), true, false},
		{"out of range whatever DM.PREG says", "VS", with(vsValues(), iv("VS.PREGTEST", "1"), iv("VS.SYSBP", "400")), true, true},
		{"bad value of the conditional item itself", "VS", with(vsValues(), iv("VS.PREGTEST", "7")), true, true},
		{"item of another form", "VS", with(vsValues(), iv("DM.SEX", "1")), true, true},
		{"unknown form", "XX", vsValues(), true, true},
	} {
		ps, final := c.ValidateAlone(tc.form, tc.vals)
		if hasHard(ps) != tc.hard || final != tc.final {
			t.Errorf("%s: hard %v final %v, want %v %v:\n%s", tc.name, hasHard(ps), final, tc.hard, tc.final, dumpProblems(ps))
		}
	}
}

// TestValidateAloneProperty: when ValidateAlone says its verdict is final,
// Validate gives the same verdict whatever the subject's other forms hold;
// when no other form is read, the very same problems.
func TestValidateAloneProperty(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	for _, form := range []string{"DM", "VS", "AE"} {
		t.Run(form, func(t *testing.T) { validateAloneProperty(t, c, form) })
	}
}

func validateAloneProperty(t *testing.T, c *Compiled, form string) {
	rapid.Check(t, func(t *rapid.T) {
		vals := genSubmission(t, c)
		if rapid.Bool().Draw(t, "near valid") {
			// A valid form with a few changes reaches the conditions.
			base := map[string][]ItemValue{"DM": dmValues(), "VS": vsValues(), "AE": aeValues()}[form]
			var items []string
			for _, g := range c.forms[form].groups {
				for _, ci := range c.forms[form].items[g.first:g.end] {
					if !g.repeating {
						items = append(items, ci.item.OID)
					}
				}
			}
			changes := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ItemValue {
				return iv(rapid.SampledFrom(items).Draw(t, "item"), rapid.SampledFrom([]string{"", "1", "400", "abc"}).Draw(t, "value"))
			}), 1, 3).Draw(t, "changes")
			vals = with(base, changes...)
		}
		answers := map[string]string{}
		asked := false
		lookup := func(oid string) (string, bool) {
			asked = true
			v, ok := answers[oid]
			if !ok {
				v = rapid.SampledFrom([]string{"", "0", "1", "abc"}).Draw(t, "answer "+oid)
				answers[oid] = v
			}
			return v, v != ""
		}
		alone, final := c.ValidateAlone(form, vals)
		full := c.Validate(form, vals, lookup)
		if final && hasHard(alone) != hasHard(full) {
			t.Fatalf("final verdict %v but Validate says %v:\n%s\nvs\n%s", hasHard(alone), hasHard(full), dumpProblems(alone), dumpProblems(full))
		}
		if !asked && !slices.Equal(alone, full) {
			t.Fatalf("no other form read, yet:\n%s\nvs\n%s", dumpProblems(alone), dumpProblems(full))
		}
	})
}
