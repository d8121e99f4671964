package protocol

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseConditionCanonical(t *testing.T) {
	cases := map[string]string{
		`[age] >= 18 and [consent] = "1"`:        `[age] >= 18 and [consent] = "1"`,
		`[sex] = "2" or [pregnant] <> ""`:        `[sex] = "2" or [pregnant] <> ""`,
		`not ([a] = "1")`:                        `not [a] = "1"`,
		`NOT ([a] = "1" AND [b]='x')`:            `not ([a] = "1" and [b] = "x")`,
		`[a]=1&&[b]!=2||[c]==3`:                  `[a] = 1 and [b] <> 2 or [c] = 3`,
		`([a] = 1 or [b] = 2) and [c] = 3`:       `([a] = 1 or [b] = 2) and [c] = 3`,
		`[a] = 1 or ([b] = 2 and [c] = 3)`:       `[a] = 1 or [b] = 2 and [c] = 3`,
		`[meds(3)] = "1"`:                        `[meds(3)] = "1"`,
		`[x] <= -2.5 Or [x] > +3`:                `[x] <= -2.5 or [x] > +3`,
		"[t]\t=\n'say \"hi\"'":                   `[t] = 'say "hi"'`,
		`[VS.SYSBP] > [VS.DIABP]`:                `[VS.SYSBP] > [VS.DIABP]`,
		`[d] >= "2025-01-01"`:                    `[d] >= "2025-01-01"`,
		`not not [a] = 1`:                        `not not [a] = 1`,
		`[a] < 1 and ([b] < 2 and [c] < 3)`:      `[a] < 1 and ([b] < 2 and [c] < 3)`,
		`[a_b.c] = "é" or [Z9] <> 'ü'`:           `[a_b.c] = "é" or [Z9] <> "ü"`,
		`[cb(_99)] = '0' and [cb(-1)] = "1"`:     `[cb(_99)] = "0" and [cb(-1)] = "1"`,
		`(([a] = 1))`:                            `[a] = 1`,
		`"1" = "1"`:                              `"1" = "1"`,
		`[sex] = "2" || [age] >= 12 && [f] = ""`: `[sex] = "2" or [age] >= 12 and [f] = ""`,
	}
	for in, want := range cases {
		c, err := ParseCondition(in)
		if err != nil {
			t.Errorf("ParseCondition(%q): %v", in, err)
			continue
		}
		if got := c.String(); got != want {
			t.Errorf("ParseCondition(%q).String() = %q, want %q", in, got, want)
		}
		again, err := ParseCondition(c.String())
		if err != nil || again.String() != c.String() {
			t.Errorf("round trip of %q: %v %q", in, err, again)
		}
		if c.Source() != in {
			t.Errorf("Source() = %q", c.Source())
		}
	}
}

func TestParseConditionErrors(t *testing.T) {
	cases := []struct {
		in     string
		col    int
		msg    string
		fixHas string
	}{
		{``, 1, "the condition is empty", "[age] >= 18"},
		{`   `, 1, "the condition is empty", ""},
		{`[age] >= 18 and [consent] =`, 28, `expected a value after "="`, `write [consent] = "1"`},
		{`[age] >= and [b] = 1`, 10, `expected a value after ">="`, "write [age] >= 18"},
		{`[age]`, 6, "expected a comparison operator after [age]", `write [age] = "1"`},
		{`[age] 18`, 7, "expected a comparison operator after [age]", ""},
		{`[age >= 18`, 5, `unexpected " " in an item reference`, "[age]"},
		{`[age`, 1, "not closed with ]", "write [age]"},
		{`[] = 1`, 1, "empty item reference", ""},
		{`[1abc] = 1`, 2, "is not a valid item OID", ""},
		{`[a-b] = 1`, 3, `unexpected "-" in an item reference`, ""},
		{`[a] = "x`, 7, "is not closed with \"", `add a closing "`},
		{`[a] = 'x`, 7, "is not closed with '", ""},
		{`[a] = 1e3`, 7, `"1e3" is not a number`, "no exponent"},
		{`[a] = .5`, 7, `".5" is not a number`, "digit before the decimal point"},
		{`[a] = 5.`, 7, `"5." is not a number`, "digit after the decimal point"},
		{`[a] = 0x1F`, 7, `"0x1F" is not a number`, ""},
		{`[a] = NaN`, 7, `unknown word "NaN"`, `[NaN]`},
		{`[a] = - 5`, 7, `"-" is not a number`, ""},
		{`age >= 18`, 1, `unknown word "age"`, "write [age]"},
		{`[a] = 1 and`, 12, "expected a comparison at the end", ""},
		{`[a] = 1 [b] = 2`, 9, `expected and / or before "[b]"`, ""},
		{`([a] = 1`, 1, `the "(" opened here is not closed`, `add ")"`},
		{`[a] = 1)`, 8, `unexpected ")"`, ""},
		{`()`, 1, "empty parentheses", ""},
		{`[a] = 1 & [b] = 2`, 9, `unexpected "&"`, "write and"},
		{`[a] = 1 | [b] = 2`, 9, `unexpected "|"`, "write or"},
		{`![a] = 1`, 1, `unexpected "!"`, ""},
		{`[a] => 1`, 5, `"=>" is not an operator`, "write >="},
		{`[a] =< 1`, 5, `"=<" is not an operator`, "write <="},
		{`[a] >< 1`, 5, `"><" is not an operator`, "write <>"},
		{`1 < [a] < 5`, 9, "comparisons cannot be chained", ""},
		{`[a] = 1 and or [b] = 2`, 13, "expected a comparison such as", ""},
		{`[ev][a] = 1`, 1, "event-prefixed references", ""},
		{`[m(] = 1`, 3, "checkbox reference needs a code", "write [m(3)]"},
		{`[m(3] = 1`, 3, "checkbox reference needs a code", ""},
		{`[m(3)x] = 1`, 6, `unexpected "x"`, ""},
		{`[a] = 1 ; drop`, 9, `unexpected character ";"`, ""},
		{`[a] ≥ 1`, 5, `unknown word "≥"`, ""},
		{`"é" = [a] and`, 14, "expected a comparison at the end", ""}, // columns count characters, not bytes
		{`[a] = 1 and (`, 14, "expected a comparison at the end", ""},
		{`[a] = 1 and ([b] = 2 [c]`, 22, `expected and / or / ) before "[c]"`, "column 13"},
	}
	for _, c := range cases {
		_, err := ParseCondition(c.in)
		var ce *ConditionError
		if !errors.As(err, &ce) {
			t.Errorf("ParseCondition(%q) = %v, want a *ConditionError", c.in, err)
			continue
		}
		if ce.Pos != c.col || !strings.Contains(ce.Msg, c.msg) || !strings.Contains(ce.Fix, c.fixHas) {
			t.Errorf("ParseCondition(%q):\n got column %d %q (fix %q)\nwant column %d %q (fix has %q)", c.in, ce.Pos, ce.Msg, ce.Fix, c.col, c.msg, c.fixHas)
		}
		if ce.Fix == "" {
			t.Errorf("ParseCondition(%q): no fix suggested", c.in)
		}
	}
}

func TestConditionErrorFormat(t *testing.T) {
	_, err := ParseCondition(`[age] >= 18 and [consent] = `)
	want := `column 29: expected a value after "=" (write [consent] = "1")`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	e := &ConditionError{Pos: 3, Msg: "m"}
	if e.Error() != "column 3: m" {
		t.Errorf("no-fix format: %q", e.Error())
	}
}

func TestParseConditionLimits(t *testing.T) {
	long := `[a] = "` + strings.Repeat("x", MaxConditionLength) + `"`
	_, err := ParseCondition(long)
	var ce *ConditionError
	if !errors.As(err, &ce) || ce.Pos != MaxConditionLength+1 || !strings.Contains(ce.Msg, "longer than 4096") {
		t.Errorf("long condition: %v", err)
	}
	deepOK := strings.Repeat("(", MaxConditionDepth) + "[a] = 1" + strings.Repeat(")", MaxConditionDepth)
	if _, err := ParseCondition(deepOK); err != nil {
		t.Errorf("depth %d rejected: %v", MaxConditionDepth, err)
	}
	deep := strings.Repeat("(", MaxConditionDepth+1) + "[a] = 1" + strings.Repeat(")", MaxConditionDepth+1)
	if _, err := ParseCondition(deep); err == nil || !strings.Contains(err.Error(), "nested more than 64") {
		t.Errorf("too deep: %v", err)
	}
	nots := strings.Repeat("not ", MaxConditionDepth+1) + "[a] = 1"
	if _, err := ParseCondition(nots); err == nil {
		t.Error("65 nested nots accepted")
	}
	// A long flat chain is fine: and/or are n-ary, not nested.
	chain := strings.Repeat(`[a] = 1 and `, 300) + `[a] = 1`
	if _, err := ParseCondition(chain); err != nil {
		t.Errorf("flat chain: %v", err)
	}
}

func TestConditionRefs(t *testing.T) {
	c, err := ParseCondition(`[z] = 1 or [a] = [z] and [meds(3)] = "1" and not [b.c] <> [a]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b.c", "meds", "z"}
	if got := c.Refs(); !slices.Equal(got, want) {
		t.Errorf("Refs() = %v, want %v", got, want)
	}
	c.Refs()[0] = "mutated"
	if c.Refs()[0] != "a" {
		t.Error("Refs exposes internal state")
	}
	if c, _ := ParseCondition(`1 = 1`); len(c.Refs()) != 0 {
		t.Error("literal-only condition has refs")
	}
	var nilCond *Condition
	if nilCond.Refs() != nil || nilCond.String() != "" || !nilCond.Eval(nil) {
		t.Error("nil condition")
	}
}

func TestConditionEval(t *testing.T) {
	vals := map[string]string{
		"age": "42", "consent": "1", "sex": "2", "pregnant": "", "w": "72.50", "neg": "-3",
		"d1": "2025-03-01", "d2": "2025-02-28", "dt": "2025-03-01T00:00", "dt2": "2025-03-01T08:30:15",
		"name": "Smith", "name2": "smith", "meds": "1,3,10", "txt": "abc", "zero": "0", "lead": "007",
	}
	get := func(oid string) (string, bool) {
		v, ok := vals[oid]
		return v, ok
	}
	cases := map[string]bool{
		`[age] >= 18 and [consent] = "1"`: true,
		`[age] >= 43`:                     false,
		`[age] > 9`:                       true, // numeric, not lexical
		`[age] = "42.0"`:                  true, // both numbers: numeric equality
		`[lead] = 7`:                      true,
		`[w] = 72.5`:                      true,
		`[w] < 72.51`:                     true,
		`[neg] < -2.9`:                    true,
		`[sex] = "2" or [pregnant] <> ""`: true,
		`[pregnant] <> ""`:                false,
		`[pregnant] = ""`:                 true,
		`[missing] = ""`:                  true,  // no value compares as ""
		`[missing] < 5`:                   false, // "" with a number under < is false
		`[missing] > 5`:                   false,
		`[missing] >= ""`:                 false,
		`[missing] <> 5`:                  true,
		`[missing] = 0`:                   false,
		`not ([age] = "1")`:               true,
		`[d1] > [d2]`:                     true, // chronological
		`[d1] = [dt]`:                     true, // a date is midnight
		`[dt2] > [d1]`:                    true,
		`[d1] >= "2025-03-01"`:            true,
		`[d2] < "2025-02-28T00:00:01"`:    true,
		`[d1] > 5`:                        false, // mixed kinds never order
		`[txt] > 5`:                       false,
		`[name] < [name2]`:                true,  // text orders by bytes
		`[name] = [name2]`:                false, // text equality is exact
		`[name] <> "Smith"`:               false,
		`[meds(3)] = "1"`:                 true,
		`[meds(1)] = 1`:                   true,
		`[meds(2)] = "1"`:                 false,
		`[meds(2)] = "0"`:                 true,
		`[meds(0)] = "1"`:                 false, // "10" does not contain code "0"
		`[missing(3)] = "0"`:              true,
		`[zero] = 0 and [zero] <> ""`:     true,
		`[age] = 42 and ([sex] = "1" or [consent] = "1")`: true,
		`[age] = 42 and [sex] = "1" or [consent] = "0"`:   false,
		`not not [age] = 42`:                              true,
	}
	for in, want := range cases {
		c, err := ParseCondition(in)
		if err != nil {
			t.Errorf("ParseCondition(%q): %v", in, err)
			continue
		}
		if got := c.Eval(get); got != want {
			t.Errorf("Eval(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCompareValuesSymmetry(t *testing.T) {
	vals := []string{"", "0", "1", "-1", "1.0", "10", "2", "abc", "ABC", "2025-01-01", "2025-01-01T00:00", "2024-12-31T23:59:59", "1,3"}
	flip := map[cmpOp]cmpOp{opEq: opEq, opNe: opNe, opLt: opGt, opLe: opGe, opGt: opLt, opGe: opLe}
	for _, a := range vals {
		for _, b := range vals {
			for op, fl := range flip {
				if compareValues(op, a, b) != compareValues(fl, b, a) {
					t.Errorf("%q %s %q is not symmetric", a, opText[op], b)
				}
			}
			if compareValues(opEq, a, b) == compareValues(opNe, a, b) {
				t.Errorf("%q = %q and <> agree", a, b)
			}
		}
	}
}

func TestConditionRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		expr := genCondition(t, 0)
		c, err := ParseCondition(expr)
		if err != nil {
			t.Fatalf("generated condition %q rejected: %v", expr, err)
		}
		again, err := ParseCondition(c.String())
		if err != nil {
			t.Fatalf("canonical %q of %q rejected: %v", c.String(), expr, err)
		}
		if again.String() != c.String() {
			t.Fatalf("String not stable: %q -> %q", c.String(), again.String())
		}
	})
}

func genOperand(t *rapid.T) string {
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return "[" + rapid.SampledFrom([]string{"a", "b", "VS.SYSBP", "x_1"}).Draw(t, "oid") + "]"
	case 1:
		return `"` + rapid.SampledFrom([]string{"", "1", "2025-01-01", "x y"}).Draw(t, "str") + `"`
	case 2:
		return rapid.SampledFrom([]string{"0", "-1", "+2.50", "18"}).Draw(t, "num")
	}
	return "[m(" + rapid.SampledFrom([]string{"1", "3", "_9"}).Draw(t, "code") + ")]"
}

func genCondition(t *rapid.T, depth int) string {
	if depth > 4 {
		return genOperand(t) + " = " + genOperand(t)
	}
	switch rapid.IntRange(0, 4).Draw(t, "node") {
	case 0:
		return "not " + genCondition(t, depth+1)
	case 1:
		return "(" + genCondition(t, depth+1) + ")"
	case 2:
		return genCondition(t, depth+1) + rapid.SampledFrom([]string{" and ", " OR ", " && ", "||"}).Draw(t, "bool") + genCondition(t, depth+1)
	}
	return genOperand(t) + rapid.SampledFrom([]string{"=", " <> ", "!=", "<", "<=", ">", " >= ", "=="}).Draw(t, "op") + genOperand(t)
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		`[age] >= 18 and [consent] = "1"`, `[sex] = "2" or [pregnant] <> ""`, `not ([a] = "1")`,
		`[meds(3)] = "1"`, `[a] = 1e3`, `(([a] = 1)`, `[a] =< 1`, `'x' = "y"`, `[d] >= "2025-02-29"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCondition(expr)
		if err != nil {
			var ce *ConditionError
			if !errors.As(err, &ce) || ce.Pos < 1 || ce.Msg == "" || c != nil {
				t.Fatalf("bad error for %q: %#v", expr, err)
			}
			return
		}
		s := c.String()
		if len(s) > MaxConditionLength {
			return
		}
		again, err := ParseCondition(s)
		if err != nil {
			t.Fatalf("canonical %q of %q rejected: %v", s, expr, err)
		}
		if again.String() != s {
			t.Fatalf("String not stable: %q -> %q", s, again.String())
		}
		if !slices.Equal(again.Refs(), c.Refs()) {
			t.Fatalf("refs changed: %v -> %v", c.Refs(), again.Refs())
		}
	})
}

func FuzzEval(f *testing.F) {
	f.Add(`[a] >= 18 and [b] = "1"`, "42", "1")
	f.Add(`[a] > [b]`, "2025-02-28", "2025-03-01T10:00")
	f.Add(`[a(3)] = "1" or [b] <> ""`, "1,3", "")
	f.Add(`not ([a] < -0.5)`, "-0.50", "x")
	f.Fuzz(func(t *testing.T, expr, a, b string) {
		c, err := ParseCondition(expr)
		if err != nil {
			return
		}
		get := func(oid string) (string, bool) {
			switch oid {
			case "a":
				return a, true
			case "b":
				return b, true
			}
			return "", false
		}
		r1 := c.Eval(get)
		c2, err := ParseCondition(c.String())
		if err != nil {
			return
		}
		if r2 := c2.Eval(get); r1 != r2 {
			t.Fatalf("%q and its canonical form %q disagree: %v vs %v", expr, c.String(), r1, r2)
		}
	})
}

func BenchmarkParseCondition(b *testing.B) {
	const expr = `[DM.AGE] >= 18 and [DM.CONSENT] = "1" and ([DM.SEX] = "2" or [DM.PREG] <> "") and not [DM.MEDS(3)] = "1"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCondition(expr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalCondition(b *testing.B) {
	c, _ := ParseCondition(`[DM.AGE] >= 18 and [DM.CONSENT] = "1" and ([DM.SEX] = "2" or [DM.PREG] <> "")`)
	vals := map[string]string{"DM.AGE": "42", "DM.CONSENT": "1", "DM.SEX": "1", "DM.PREG": "0"}
	get := func(oid string) (string, bool) { v, ok := vals[oid]; return v, ok }
	b.ReportAllocs()
	for b.Loop() {
		c.Eval(get)
	}
}
