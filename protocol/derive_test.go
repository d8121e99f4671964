package protocol

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// drProtocol is a form with derived items of every kind and items that
// take missing-data codes.
func drProtocol() *Protocol {
	return &Protocol{
		Study:        Study{ID: "VT-DR", Version: "1"},
		MissingCodes: []CodeItem{{Code: "ND", Decode: "Not done"}, {Code: "NA", Decode: "Not applicable"}, {Code: "UNK", Decode: "Unknown"}},
		Forms: []Form{{OID: "DR", Groups: []ItemGroup{
			{OID: "DR.MAIN", Items: []Item{
				{OID: "DR.H", Label: "Height", Type: TypeDecimal, Digits: 1, Missing: []string{"ND"}},
				{OID: "DR.W", Label: "Weight", Type: TypeDecimal, Digits: 1, Required: true, Missing: []string{"ND", "UNK"}},
				{OID: "DR.BMI", Label: "BMI", Type: TypeDecimal, Digits: 1, Soft: &Range{Max: "40"},
					Derive: "round([DR.W] / (([DR.H] / 100) * ([DR.H] / 100)), 1)"},
				{OID: "DR.D1", Type: TypeDate},
				{OID: "DR.D2", Type: TypeDate},
				{OID: "DR.DAYS", Type: TypeInteger, Derive: `datediff([DR.D1], [DR.D2], "d")`},
				{OID: "DR.MON", Type: TypeInteger, Derive: `datediff([DR.D1], [DR.D2], "M")`},
				{OID: "DR.YRS", Type: TypeInteger, Derive: `datediff([DR.D1], [DR.D2], "y")`},
				{OID: "DR.A", Type: TypeInteger},
				{OID: "DR.B", Type: TypeInteger},
				{OID: "DR.Q", Type: TypeDecimal, Derive: "[DR.A] / [DR.B]"},
				{OID: "DR.MX", Type: TypeInteger, Derive: "max([DR.A], [DR.B], 3) - min(abs([DR.A]), 2)"},
				{OID: "DR.IF", Type: TypeInteger, Hard: &Range{Max: "100"}, Derive: `if([DR.A] > 5 and [DR.B] <> "", [DR.A] * -2, [DR.B])`},
				{OID: "DR.CHAIN", Type: TypeDecimal, Digits: 2, Derive: "round([DR.Q] + [DR.MX], 2)"},
				{OID: "DR.NOTE", Type: TypeText, ShowIf: "[DR.BMI] > 30", Missing: []string{"NA"}},
			}},
			{OID: "DR.ROWS", Repeating: true, Items: []Item{
				{OID: "DR.R1", Type: TypeInteger, Missing: []string{"NA"}},
				{OID: "DR.R2", Type: TypeInteger, Derive: "[DR.R1] * 2 + [DR.A]"},
			}},
		}, Checks: []EditCheck{{OID: "DR.CHK", Condition: "[DR.BMI] >= 12", Items: []string{"DR.W"}, Message: "BMI below 12"}}}},
	}
}

func derivedOf(t *testing.T, c *Compiled, vals []ItemValue) (map[string]string, []Problem) {
	t.Helper()
	ps, d := c.Evaluate("DR", vals, nil)
	out := map[string]string{}
	for _, v := range d {
		k := v.Item
		if v.Repeat > 0 {
			k += "[" + string(rune('0'+v.Repeat)) + "]"
		}
		out[k] = v.Value
	}
	return out, ps
}

func TestDeriveValues(t *testing.T) {
	c := mustCompile(t, drProtocol())
	for _, tc := range []struct {
		name string
		vals []ItemValue
		want map[string]string
	}{
		{"BMI half away from zero", []ItemValue{iv("DR.H", "175.0"), iv("DR.W", "70.0")},
			map[string]string{"DR.BMI": "22.9"}}, // 22.857...
		{"BMI exact half", []ItemValue{iv("DR.H", "200"), iv("DR.W", "97")}, map[string]string{"DR.BMI": "24.3"}}, // 24.25
		{"round pads places", []ItemValue{iv("DR.H", "100"), iv("DR.W", "70")}, map[string]string{"DR.BMI": "70.0"}},
		{"missing input: empty", []ItemValue{iv("DR.W", "70")}, map[string]string{}},
		{"missing code input: empty", []ItemValue{{Item: "DR.H", Missing: "ND"}, iv("DR.W", "70")}, map[string]string{}},
		{"dates", []ItemValue{iv("DR.W", "70"), iv("DR.D1", "2024-02-29"), iv("DR.D2", "2025-02-28")},
			map[string]string{"DR.DAYS": "365", "DR.MON": "11", "DR.YRS": "0"}},
		{"dates a year", []ItemValue{iv("DR.W", "70"), iv("DR.D1", "2024-01-31"), iv("DR.D2", "2025-03-01")},
			map[string]string{"DR.DAYS": "395", "DR.MON": "13", "DR.YRS": "1"}},
		{"dates backwards", []ItemValue{iv("DR.W", "70"), iv("DR.D1", "2025-03-01"), iv("DR.D2", "2024-01-31")},
			map[string]string{"DR.DAYS": "-395", "DR.MON": "-13", "DR.YRS": "-1"}},
		{"division truncated to 12 places", []ItemValue{iv("DR.W", "70"), iv("DR.A", "2"), iv("DR.B", "3")},
			map[string]string{"DR.Q": "0.666666666666", "DR.MX": "1", "DR.IF": "3", "DR.CHAIN": "1.67"}},
		{"negative quotient, if true branch", []ItemValue{iv("DR.W", "70"), iv("DR.A", "-7"), iv("DR.B", "2")},
			map[string]string{"DR.Q": "-3.5", "DR.MX": "1", "DR.IF": "2", "DR.CHAIN": "-2.50"}},
		{"if takes the other branch", []ItemValue{iv("DR.W", "70"), iv("DR.A", "9"), iv("DR.B", "4")},
			map[string]string{"DR.Q": "2.25", "DR.MX": "7", "DR.IF": "-18", "DR.CHAIN": "9.25"}},
		{"rows", []ItemValue{iv("DR.W", "70"), iv("DR.A", "1"), ivr("DR.R1", 1, "5"), {Item: "DR.R1", Repeat: 2, Missing: "NA"}, ivr("DR.R1", 3, "-1")},
			map[string]string{"DR.R2[1]": "11", "DR.R2[3]": "-1"}}, // max needs every argument
	} {
		got, ps := derivedOf(t, c, tc.vals)
		for _, p := range ps {
			if p.Severity == Hard {
				t.Errorf("%s: %+v", tc.name, p)
			}
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := tc.want[k]; !ok {
				t.Errorf("%s: unexpected %s = %q", tc.name, k, got[k])
			}
		}
	}
}

func TestDeriveOutcomes(t *testing.T) {
	c := mustCompile(t, drProtocol())
	for _, tc := range []struct {
		name string
		vals []ItemValue
		want []wantProblem
	}{
		{"division by zero at run time", []ItemValue{iv("DR.W", "70"), iv("DR.A", "1"), iv("DR.B", "0")},
			[]wantProblem{{"DR.Q", 0, Soft, CodeDerivedDivByZero, ""}}},
		{"zero height", []ItemValue{iv("DR.H", "0"), iv("DR.W", "70")}, []wantProblem{{"DR.BMI", 0, Soft, CodeDerivedDivByZero, ""}}},
		{"derived value above its soft range, shows an item", []ItemValue{iv("DR.H", "150"), iv("DR.W", "100")},
			[]wantProblem{{"DR.BMI", 0, Soft, CodeRangeAboveExpected, ""}}},
		{"derived value above its hard range", []ItemValue{iv("DR.W", "70"), iv("DR.A", "1"), iv("DR.B", "101")},
			[]wantProblem{{"DR.IF", 0, Hard, CodeRangeAboveMax, ""}}},
		{"edit check on a derived value", []ItemValue{iv("DR.H", "230"), iv("DR.W", "30")},
			[]wantProblem{{"DR.W", 0, Hard, CodeCheckFailed, ""}}},
		{"value sent for a derived item", []ItemValue{iv("DR.W", "70"), iv("DR.BMI", "22.9")},
			[]wantProblem{{"DR.BMI", 0, Hard, CodeDerivedNotInput, ""}}},
		{"missing code sent for a derived item", []ItemValue{iv("DR.W", "70"), {Item: "DR.BMI", Missing: "ND"}},
			[]wantProblem{{"DR.BMI", 0, Hard, CodeDerivedNotInput, ""}}},
		{"input with a hard problem", []ItemValue{iv("DR.W", "70"), iv("DR.A", "x"), iv("DR.B", "0")},
			[]wantProblem{{"DR.A", 0, Hard, CodeNotInteger, ""}}},
		{"required satisfied by a code", []ItemValue{{Item: "DR.W", Missing: "UNK", Reason: "scale broken"}}, nil},
		{"code not allowed", []ItemValue{{Item: "DR.W", Missing: "NA"}}, []wantProblem{{"DR.W", 0, Hard, CodeMissingNotAllowed, ""}}},
		{"no code allowed", []ItemValue{iv("DR.W", "70"), {Item: "DR.A", Missing: "ND"}}, []wantProblem{{"DR.A", 0, Hard, CodeMissingNotAllowed, ""}}},
		{"undeclared code", []ItemValue{{Item: "DR.W", Missing: "XX"}}, []wantProblem{{"DR.W", 0, Hard, CodeMissingNotAllowed, ""}}},
		{"code and value", []ItemValue{{Item: "DR.W", Value: "70", Missing: "ND"}}, []wantProblem{{"DR.W", 0, Hard, CodeMissingInvalid, ""}}},
		{"reason without code", []ItemValue{{Item: "DR.W", Reason: "why"}}, []wantProblem{{"DR.W", 0, Hard, CodeMissingInvalid, ""}}},
		{"hidden item with a code", []ItemValue{iv("DR.W", "70"), {Item: "DR.NOTE", Missing: "NA"}},
			[]wantProblem{{"DR.NOTE", 0, Hard, CodeHiddenHasValue, ""}}},
		{"shown item with a code", []ItemValue{iv("DR.H", "150"), iv("DR.W", "100"), {Item: "DR.NOTE", Missing: "NA"}},
			[]wantProblem{{"DR.BMI", 0, Soft, CodeRangeAboveExpected, ""}}},
	} {
		_, ps := derivedOf(t, c, tc.vals)
		checkProblems(t, ps, tc.want)
	}
	_, ps := derivedOf(t, c, []ItemValue{{Item: "DR.W", Missing: "NA"}})
	if !strings.Contains(ps[0].Message, "ND (Not done), UNK (Unknown)") || !strings.Contains(ps[0].Message, "DR.W") {
		t.Errorf("message does not name the item and its codes: %q", ps[0].Message)
	}
}

// TestDeriveAloneNotFinal: a derivation that reads another form makes
// ValidateAlone's verdict provisional, and a hard range problem of the
// derived value does not count as a problem of the values themselves.
func TestDeriveAloneNotFinal(t *testing.T) {
	p := drProtocol()
	p.Forms = append(p.Forms, Form{OID: "DX", Groups: []ItemGroup{{OID: "DX.G", Items: []Item{
		{OID: "DX.V", Type: TypeInteger},
		{OID: "DX.SUM", Type: TypeInteger, Hard: &Range{Max: "10"}, Derive: "[DX.V] + [DR.A]"},
	}}}})
	c := mustCompile(t, p)
	if _, final := c.ValidateAlone("DX", []ItemValue{iv("DX.V", "5")}); final {
		t.Error("a derivation reading another form gave a final verdict")
	}
	ps, d := c.Evaluate("DX", []ItemValue{iv("DX.V", "5")}, func(string) (string, bool) { return "9", true })
	if !hasHard(ps) || len(d) != 1 || d[0].Value != "14" {
		t.Errorf("cross-form derivation: %v %v", ps, d)
	}
}

func TestDeriveDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		derive string
		typ    DataType
		digits int
		want   string
	}{
		{"unknown item", "[DR.NOPE] + 1", TypeInteger, 0, "forms[0].groups[0].items[15].derive DR.X: derive refers to [DR.NOPE], which is not an item"},
		{"syntax", "[DR.A] +", TypeInteger, 0, "derive column 9: expected a value at the end"},
		{"unknown function", "sum([DR.A], 1)", TypeInteger, 0, `unknown function "sum"`},
		{"text operand", `[DR.A] + "1"`, TypeInteger, 0, "is not a number"},
		{"date in arithmetic", "[DR.D1] + 1", TypeInteger, 0, "date item DR.D1"},
		{"datediff on numbers", `datediff([DR.A], [DR.D2], "d")`, TypeInteger, 0, "datediff takes date items"},
		{"datediff minutes", `datediff([DR.D1], [DR.D2], "m")`, TypeInteger, 0, "means minutes"},
		{"divide by literal zero", "[DR.A] / 0", TypeDecimal, 0, "divides by zero"},
		{"integer needs round", "[DR.A] / 2", TypeInteger, 0, "wrap it in round(..., 0)"},
		{"too many places", "[DR.A] * 1.25", TypeDecimal, 1, "may give up to 2 decimal places but digits is 1"},
		{"unbounded places", "[DR.Q] + 1", TypeDecimal, 1, "any number of decimal places"},
		{"derived text item", "[DR.A] + 1", TypeText, 0, "must be an integer or decimal item"},
		{"self", "[DR.X] + 1", TypeInteger, 0, "cycle: DR.X -> DR.X"},
		{"row item outside its group", "[DR.R1] + 1", TypeInteger, 0, "repeating group DR.ROWS"},
		{"round places", "round([DR.A], 13)", TypeInteger, 0, "whole number from 0 to 12"},
		{"arguments", "abs([DR.A], 1)", TypeInteger, 0, "abs() takes 1 argument(s), not 2"},
	} {
		p := drProtocol()
		g := &p.Forms[0].Groups[0]
		g.Items = append(g.Items, Item{OID: "DR.X", Type: tc.typ, Digits: tc.digits, Derive: tc.derive})
		_, err := Compile(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	p := drProtocol()
	g := &p.Forms[0].Groups[0]
	g.Items[2].Derive = "round([DR.CHAIN], 1)"
	g.Items[2].Required = true
	g.Items[13].Derive = "round([DR.BMI] + 1, 2)"
	_, err := Compile(p)
	var des DefinitionErrors
	if !errors.As(err, &des) || !strings.Contains(err.Error(), "cycle: DR.BMI -> DR.CHAIN -> DR.BMI") ||
		!strings.Contains(err.Error(), "cannot be required") {
		t.Errorf("cycle across derived items: %v", err)
	}
}

func TestMissingCodeDefinitionErrors(t *testing.T) {
	p := drProtocol()
	p.MissingCodes = append(p.MissingCodes, CodeItem{Code: "ND"}, CodeItem{Code: "N D"}, CodeItem{})
	p.Forms[0].Groups[0].Items[3].Missing = []string{"ASKU", "NA", "NA"}
	p.Forms[0].Groups[0].Items[2].Missing = []string{"ND"}
	_, err := Compile(p)
	for _, want := range []string{
		"missing_codes[3] ND: missing-data code ND is declared twice",
		`missing_codes[4] N D: missing-data code "N D" is not valid`,
		"missing_codes[5]: missing-data code has no code",
		`forms[0].groups[0].items[3].missing[0] DR.D1: missing-data code "ASKU" is not declared`,
		"forms[0].groups[0].items[3].missing[2] DR.D1: missing-data code NA is listed twice",
		"DR.BMI: a derived item cannot take missing-data codes",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestParseDerivationString(t *testing.T) {
	for src, want := range map[string]string{
		"round([W]/(([H]/100)*([H]/100)),1)": "round([W] / ([H] / 100 * ([H] / 100)), 1)",
		"-[A] - -2 - ([B] - [C])":            "-[A] - -2 - ([B] - [C])",
		`IF([S] = '2' AND [A] > -1, 1, 0)`:   `if([S] = "2" and [A] > -1, 1, 0)`,
		`datediff("2025-01-01", [D], "y")`:   `datediff("2025-01-01", [D], "y")`,
		"max([A], [B(3)], 2.50) / 2":         "max([A], [B(3)], 2.50) / 2",
	} {
		d, err := ParseDerivation(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if d.String() != want {
			t.Errorf("%s: String %q, want %q", src, d.String(), want)
		}
		again, err := ParseDerivation(d.String())
		if err != nil || again.String() != want {
			t.Errorf("%s: does not parse back: %v", src, err)
		}
	}
	if d, _ := ParseDerivation("[A] + [B(3)] * [A]"); !slices.Equal(d.Refs(), []string{"A", "B"}) {
		t.Errorf("refs %v", d.Refs())
	}
}

func TestFixedArithmetic(t *testing.T) {
	num := func(s string) fixed {
		f, st := parseFixed(s)
		if st != fixOK {
			t.Fatalf("parse %s: %d", s, st)
		}
		return f
	}
	for _, tc := range []struct {
		got  func() (fixed, fixedStatus)
		want string
		st   fixedStatus
	}{
		{func() (fixed, fixedStatus) { return num("1.5").add(num("2.25")) }, "3.75", fixOK},
		{func() (fixed, fixedStatus) { return num("1.5").add(num("-2.25")) }, "-0.75", fixOK},
		{func() (fixed, fixedStatus) { return num("-1.5").add(num("1.50")) }, "0.00", fixOK},
		{func() (fixed, fixedStatus) { return num("1.5").mul(num("-2.0")) }, "-3.00", fixOK},
		{func() (fixed, fixedStatus) { return num("10").div(num("4")) }, "2.5", fixOK},
		{func() (fixed, fixedStatus) { return num("-1").div(num("3")) }, "-0.333333333333", fixOK},
		{func() (fixed, fixedStatus) { return num("1").div(num("0.000")) }, "", fixDivZero},
		{func() (fixed, fixedStatus) { return num("999999999999999999").add(num("1")) }, "", fixOverflow},
		{func() (fixed, fixedStatus) { return num("1000000000").mul(num("1000000000")) }, "", fixOverflow},
		{func() (fixed, fixedStatus) { return num("1000000").div(num("0.000001")) }, "", fixOverflow},
		{func() (fixed, fixedStatus) { return num("0.000000000000000001").div(num("1000000000")) }, "0", fixOK},
		{func() (fixed, fixedStatus) { return num("0.000000001").mul(num("0.0000000001")) }, "0.000000000000000000", fixOK},
		{func() (fixed, fixedStatus) { return num("2.45").round(1) }, "2.5", fixOK},
		{func() (fixed, fixedStatus) { return num("-2.45").round(1) }, "-2.5", fixOK},
		{func() (fixed, fixedStatus) { return num("2.449999").round(1) }, "2.4", fixOK},
		{func() (fixed, fixedStatus) { return num("-0.04").round(1) }, "0.0", fixOK},
		{func() (fixed, fixedStatus) { return num("7").round(2) }, "7.00", fixOK},
	} {
		f, st := tc.got()
		if st != tc.st || st == fixOK && f.String() != tc.want {
			t.Errorf("got %s (%d), want %s (%d)", f, st, tc.want, tc.st)
		}
	}
	if _, st := parseFixed("1234567890123456789"); st != fixOverflow {
		t.Error("19 digits parsed")
	}
	if num("2.50").cmp(num("2.5")) != 0 || num("-3").cmp(num("2")) != -1 || num("-3").cmp(num("-2.99")) != -1 {
		t.Error("cmp")
	}
}

// TestDeriveZeroAlloc: computing derived values does not allocate.
func TestDeriveZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	c := mustCompile(t, drProtocol())
	vals := []ItemValue{iv("DR.H", "175.0"), iv("DR.W", "70.0"), iv("DR.D1", "2024-02-29"), iv("DR.D2", "2025-02-28"),
		iv("DR.A", "2"), iv("DR.B", "3"), ivr("DR.R1", 1, "5")}
	if ps := c.Validate("DR", vals, nil); ps != nil {
		t.Fatal(dumpProblems(ps))
	}
	if n := testing.AllocsPerRun(100, func() { c.Validate("DR", vals, nil) }); n != 0 {
		t.Errorf("%v allocations per Validate", n)
	}
}
