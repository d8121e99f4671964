package types_test

import (
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func TestLabRangeCodesAndKeys(t *testing.T) {
	if types.CodeInvalidLabRanges != 330 || types.CodeInvalidLabRanges.String() != "invalid_lab_ranges" ||
		types.CodeNoLabFlag != 530 || types.CodeNoLabFlag.String() != "no_lab_flag" {
		t.Errorf("codes %d %s, %d %s", types.CodeInvalidLabRanges, types.CodeInvalidLabRanges, types.CodeNoLabFlag, types.CodeNoLabFlag)
	}
	k := types.FormKey{Study: "ST", Subject: "S1", Event: "UNS", EventRepeat: 12, Form: "LB"}
	for _, tc := range []struct{ got, want string }{
		{string(types.KeyLabRanges("ST", 3)), "labref/ST/000003"},
		{string(types.KeyLabAssessments(k, "LB.HGB", 0)), "labassess/ST/S1/UNS/0012/LB/LB.HGB/0000"},
		{string(types.KeyLabAssessments(k, "LB.HGB", 7)), "labassess/ST/S1/UNS/0012/LB/LB.HGB/0007"},
		{string(types.PrefixLabAssessOf(k)), "labassess/ST/S1/UNS/0012/LB/"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
}

func TestValidateAssessLabValue(t *testing.T) {
	fk := types.FormKey{Study: "ST", Subject: "S1", Event: "SCR", EventRepeat: 1, Form: "LB"}
	msg := func(edit func(m *types.MsgAssessLabValue)) types.Msg {
		m := types.MsgAssessLabValue{FormKey: fk, Item: "LB.HGB", FormVersion: 1}
		edit(&m)
		return types.Msg{AssessLabValue: &m}
	}
	for _, tc := range []struct {
		name string
		msg  types.Msg
		want types.Code
	}{
		{"ok", msg(func(*types.MsgAssessLabValue) {}), types.CodeOK},
		{"significant with a comment", msg(func(m *types.MsgAssessLabValue) { m.Significant, m.Comment = true, "AE 3 reported" }), types.CodeOK},
		{"significant without", msg(func(m *types.MsgAssessLabValue) { m.Significant = true }), types.CodeInvalidMsg},
		{"comment too long", msg(func(m *types.MsgAssessLabValue) { m.Comment = strings.Repeat("x", types.MaxReasonLen+1) }), types.CodeInvalidMsg},
		{"bad item", msg(func(m *types.MsgAssessLabValue) { m.Item = "LB HGB" }), types.CodeInvalidMsg},
		{"no item", msg(func(m *types.MsgAssessLabValue) { m.Item = "" }), types.CodeInvalidMsg},
		{"negative row", msg(func(m *types.MsgAssessLabValue) { m.ItemRepeat = -1 }), types.CodeInvalidMsg},
		{"row too high", msg(func(m *types.MsgAssessLabValue) { m.ItemRepeat = 10000 }), types.CodeInvalidMsg},
		{"no form version", msg(func(m *types.MsgAssessLabValue) { m.FormVersion = 0 }), types.CodeInvalidMsg},
		{"bad form key", msg(func(m *types.MsgAssessLabValue) { m.EventRepeat = 0 }), types.CodeEventRepeat},
		{"set without study", types.Msg{SetLabRanges: &types.MsgSetLabRanges{LabRanges: types.LabRanges{Ranges: []types.LabRange{{Item: "LB.K", High: "5"}}}, Reason: "x"}}, types.CodeInvalidMsg},
		{"set ok", types.Msg{SetLabRanges: &types.MsgSetLabRanges{Study: "ST", LabRanges: types.LabRanges{Ranges: []types.LabRange{{Item: "LB.K", High: "5"}}}, Reason: "x"}}, types.CodeOK},
	} {
		kind, m, e := tc.msg.Unpack()
		if e != nil {
			t.Fatalf("%s: %s", tc.name, e.Msg)
		}
		got := types.CodeOK
		if e := types.ValidateBasic(kind, m); e != nil {
			got = e.Code
		}
		if got != tc.want {
			t.Errorf("%s: code %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestLabRangesCheck covers the rules Check adds to those the ledger
// tests exercise: bounds, limits and overlaps.
func TestLabRangesCheck(t *testing.T) {
	age := func(n int) *int { return &n }
	for _, tc := range []struct {
		name string
		t    types.LabRanges
		bad  string // "" when valid
	}{
		{"low equals high", types.LabRanges{Ranges: []types.LabRange{{Item: "A", Low: "5.0", High: "5"}}}, ""},
		{"only low", types.LabRanges{Ranges: []types.LabRange{{Item: "A", Low: "-1.5"}}}, ""},
		{"low above high by a digit", types.LabRanges{Ranges: []types.LabRange{{Item: "A", Low: "5.01", High: "5.00"}}}, "above high"},
		{"adjacent age bands", types.LabRanges{AgeItem: "DM.AGE", Ranges: []types.LabRange{{Item: "A", AgeMax: age(17), High: "1"}, {Item: "A", AgeMin: age(18), High: "2"}}}, ""},
		{"bands sharing a year", types.LabRanges{AgeItem: "DM.AGE", Ranges: []types.LabRange{{Item: "A", AgeMax: age(18), High: "1"}, {Item: "A", AgeMin: age(18), High: "2"}}}, "overlaps range 1"},
		{"same band, other sex", types.LabRanges{SexItem: "DM.SEX", Ranges: []types.LabRange{{Item: "A", Sex: "1", High: "1"}, {Item: "A", Sex: "2", High: "2"}}}, ""},
		{"same band, other lab", types.LabRanges{LabItem: "LB.LAB", Ranges: []types.LabRange{{Item: "A", High: "1"}, {Item: "A", Lab: "X", High: "2"}}}, ""},
		{"negative age", types.LabRanges{AgeItem: "DM.AGE", Ranges: []types.LabRange{{Item: "A", AgeMin: age(-1), High: "1"}}}, "years from 0"},
		{"bad lab item", types.LabRanges{LabItem: "a b", Ranges: []types.LabRange{{Item: "A", High: "1"}}}, "not a valid identifier"},
		{"unit too long", types.LabRanges{Ranges: []types.LabRange{{Item: "A", High: "1", Unit: strings.Repeat("u", types.MaxNameLen+1)}}}, "unit is"},
		{"too many", types.LabRanges{Ranges: make([]types.LabRange, types.MaxLabRanges+1)}, "above the limit"},
	} {
		e := tc.t.Check()
		switch {
		case tc.bad == "" && e != nil:
			t.Errorf("%s: refused: %s", tc.name, e.Msg)
		case tc.bad != "" && (e == nil || e.Code != types.CodeInvalidLabRanges || !strings.Contains(e.Msg, tc.bad)):
			t.Errorf("%s: %v, want invalid_lab_ranges mentioning %q", tc.name, e, tc.bad)
		}
	}
}

func TestRangeFor(t *testing.T) {
	age := func(n int) *int { return &n }
	tab := types.LabRanges{LabItem: "LB.LAB", SexItem: "DM.SEX", AgeItem: "DM.AGE", Ranges: []types.LabRange{
		{Item: "A", High: "10"},                                       // 1: any lab, any sex, any age
		{Item: "A", Sex: "2", High: "20"},                             // 2: any lab, women
		{Item: "A", Lab: "L1", High: "30"},                            // 3: lab L1, either sex
		{Item: "A", Lab: "L1", Sex: "2", AgeMax: age(17), High: "40"}, // 4: lab L1, girls
		{Item: "A", Lab: "L1", Sex: "2", AgeMin: age(18), High: "50"}, // 5: lab L1, women
		{Item: "B", Sex: "1", AgeMin: age(65), Low: "1"},              // 6: men of 65 and more
	}}
	if e := tab.Check(); e != nil {
		t.Fatal(e.Msg)
	}
	dec := func(s string) *protocol.Decimal {
		d, err := protocol.ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	for _, tc := range []struct {
		item, lab, sex string
		age            *protocol.Decimal
		want           int // range number, 0 for none
	}{
		{"A", "", "", nil, 1},
		{"A", "L2", "1", dec("40"), 1},
		{"A", "L2", "2", dec("40"), 2},
		{"A", "L1", "1", dec("40"), 3},
		{"A", "L1", "2", dec("17"), 4},
		{"A", "L1", "2", dec("17.5"), 3}, // between the bands: the lab's range for either sex
		{"A", "L1", "2", dec("18"), 5},
		{"A", "L1", "2", nil, 3}, // age unknown: no band matches
		{"B", "", "1", dec("65"), 6},
		{"B", "", "1", dec("64"), 0},
		{"B", "", "", dec("70"), 0},
		{"C", "", "", nil, 0},
	} {
		got := 0
		if r := tab.RangeFor(tc.item, tc.lab, tc.sex, tc.age); r != nil {
			for i := range tab.Ranges {
				if r == &tab.Ranges[i] {
					got = i + 1
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s lab %q sex %q age %v: range %d, want %d", tc.item, tc.lab, tc.sex, tc.age, got, tc.want)
		}
	}
}

func TestAgeBand(t *testing.T) {
	age := func(n int) *int { return &n }
	for _, tc := range []struct {
		r    types.LabRange
		want string
	}{
		{types.LabRange{}, "any"},
		{types.LabRange{AgeMin: age(18), AgeMax: age(64)}, "18-64"},
		{types.LabRange{AgeMin: age(65)}, "65+"},
		{types.LabRange{AgeMax: age(17)}, "0-17"},
	} {
		if got := tc.r.AgeBand(); got != tc.want {
			t.Errorf("age band %q, want %q", got, tc.want)
		}
	}
}

func TestOutside(t *testing.T) {
	for _, tc := range []struct {
		low, high, v, want string
	}{
		{"3.5", "5.1", "3.5", ""},
		{"3.5", "5.1", "5.10", ""},
		{"3.5", "5.1", "3.49", types.LabLow},
		{"3.5", "5.1", "5.11", types.LabHigh},
		{"3.5", "5.1", "-4", types.LabLow},
		{"", "40", "-1000", ""},
		{"", "40", "41", types.LabHigh},
		{"10", "", "1000000000000000000000", ""},
		{"10", "", "9.999999999999999999999", types.LabLow},
	} {
		r := types.LabRange{Item: "A", Low: tc.low, High: tc.high}
		d, err := protocol.ParseDecimal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Outside(d); got != tc.want {
			t.Errorf("%s in [%s, %s]: %q, want %q", tc.v, tc.low, tc.high, got, tc.want)
		}
	}
}

func TestLabAssessmentsFor(t *testing.T) {
	var none *types.LabAssessments
	f := types.LabFlag{Item: "A", Value: "7", Since: 3}
	if none.For(f) != nil || (&types.LabAssessments{}).For(f) != nil {
		t.Error("no assessment is in force")
	}
	la := &types.LabAssessments{Assessments: []types.LabAssessment{{FormVersion: 1, Value: "6"}, {FormVersion: 2, Value: "6"}}}
	if la.For(f) != nil {
		t.Error("an assessment of another value is in force")
	}
	la.Assessments = append(la.Assessments, types.LabAssessment{FormVersion: 3, Value: "7", Significant: true})
	if a := la.For(f); a == nil || !a.Significant {
		t.Errorf("assessment in force %+v", a)
	}
	f.Since = 1
	if a := la.For(f); a == nil || a.FormVersion != 3 {
		t.Errorf("the latest assessment is in force, not %+v", a)
	}

	k := types.FormKey{Study: "ST", Subject: "S1", Event: "SCR", EventRepeat: 1, Form: "LB"}
	other := k
	other.EventRepeat = 2
	all := []types.LabAssessments{
		{FormKey: other, Item: "A"},
		{FormKey: k, Item: "A", ItemRepeat: 2},
		{FormKey: k, Item: "A"},
	}
	if got := types.AssessmentsOf(all, k, types.LabFlag{Item: "A"}); got != &all[2] {
		t.Errorf("assessments of A: %+v", got)
	}
	if got := types.AssessmentsOf(all, k, types.LabFlag{Item: "A", Repeat: 2}); got != &all[1] {
		t.Errorf("assessments of A[2]: %+v", got)
	}
	if got := types.AssessmentsOf(all, k, types.LabFlag{Item: "B"}); got != nil {
		t.Errorf("assessments of B: %+v", got)
	}
}
