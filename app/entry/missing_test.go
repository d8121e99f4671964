package entry

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	exampledata "github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// withCodes compiles the example protocol with missing-data codes: ND
// and NA declared, LB.PLT (integer) accepting ND, and UNK declared for
// DM.SMOKE (choice) and VS.TIME (time).
func withCodes(t *testing.T) *protocol.Compiled {
	t.Helper()
	p := exampledata.WithMissingCodes()
	p.MissingCodes = append(p.MissingCodes, protocol.CodeItem{Code: "UNK", Decode: "Unknown"})
	for i := range p.Forms {
		for j := range p.Forms[i].Groups {
			for n := range p.Forms[i].Groups[j].Items {
				if it := &p.Forms[i].Groups[j].Items[n]; it.OID == "DM.SMOKE" || it.OID == "VS.TIME" {
					it.Missing = []string{"UNK"}
				}
			}
		}
	}
	c, err := protocol.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMissingEntry: a cell is a missing-data code only when it is a code
// the item allows, as the code or its drop-down entry, with or without a
// reason after a colon; anything else is a value.
func TestMissingEntry(t *testing.T) {
	c := withCodes(t)
	for _, tc := range []struct {
		item, raw string
		want      protocol.ItemValue
	}{
		{"LB.PLT", "ND", protocol.ItemValue{Missing: "ND"}},
		{"LB.PLT", " ND: sample haemolysed ", protocol.ItemValue{Missing: "ND", Reason: "sample haemolysed"}},
		{"LB.PLT", "ND=Not done", protocol.ItemValue{Missing: "ND"}},
		{"LB.PLT", "ND = not done : sample lost", protocol.ItemValue{Missing: "ND", Reason: "sample lost"}},
		{"LB.PLT", "ND:", protocol.ItemValue{Missing: "ND"}},
		{"LB.PLT", "ND=Not measured", protocol.ItemValue{Value: "ND=Not measured"}},
		{"LB.PLT", "nd", protocol.ItemValue{Value: "nd"}},
		{"LB.PLT", "NA", protocol.ItemValue{Value: "NA"}},        // a code of the study the item does not allow
		{"LB.HGB", "ND", protocol.ItemValue{Value: "ND"}},        // an item that allows no code
		{"LB.PLT", "250", protocol.ItemValue{Value: "250"}},      // a value
		{"VS.TIME", "12:30", protocol.ItemValue{Value: "12:30"}}, // a time is not a code with a reason
		{"VS.TIME", "UNK: watch", protocol.ItemValue{Missing: "UNK", Reason: "watch"}},
		{"DM.SMOKE", "UNK=Unknown", protocol.ItemValue{Missing: "UNK"}},
		{"DM.SMOKE", "2=Former", protocol.ItemValue{Value: "2"}},
	} {
		it, _, ok := c.Item(tc.item)
		if !ok {
			t.Fatalf("no item %s", tc.item)
		}
		tc.want.Item = tc.item
		if got := readCell(c, it, tc.raw, false); got != tc.want {
			t.Errorf("readCell(%s, %q) = %+v, want %+v", tc.item, tc.raw, got, tc.want)
		}
	}
}

// TestMissingCodesWorkbook: the template tells which codes an item takes
// (row 3, Instructions), lets the spreadsheet accept them (a warning, not
// a refusal, for numbers and times; drop-down entries for a choice),
// pre-fills a stored code with its reason, and a code typed in a cell is
// imported as the code: as a correction of a value, unchanged when it is
// what the ledger holds. An emptied cell names the codes that record it.
func TestMissingCodesWorkbook(t *testing.T) {
	c := withCodes(t)
	lb := key("S1-001", "SCR", "LB")
	rec := types.FormRecord{FormKey: lb, Version: 1, Values: c.CanonicalValues("LB", []protocol.ItemValue{
		{Item: "LB.DATE", Value: "2026-01-20"}, {Item: "LB.PLT", Missing: "ND", Reason: "sample haemolysed"}})}
	m := testMeta()
	m.Prefilled = true
	_, f, _ := template(t, c, TemplateOptions{Meta: m, Subjects: subjects(), Records: []types.FormRecord{rec}})
	col := headerCell(t, f, "LB", "LB.PLT")
	for cell, want := range map[string]string{col + "3": "or a missing-data code: ND=Not done (type ND or ND: reason)", col + "4": "ND: sample haemolysed"} {
		if v, _ := f.GetCellValue("LB", cell); !strings.Contains(v, want) {
			t.Errorf("LB!%s = %q, want it to hold %q", cell, v, want)
		}
	}
	instr, _ := f.GetRows(InstructionsSheet)
	if !slices.ContainsFunc(instr, func(r []string) bool {
		return len(r) > 1 && r[0] == "Missing-data codes" && strings.HasSuffix(r[1], "ND=Not done, NA=Not applicable, UNK=Unknown")
	}) {
		t.Errorf("the Instructions sheet does not explain the codes: %q", instr)
	}
	style := func(sheet, item string) (string, string) {
		t.Helper()
		dvs, err := f.GetDataValidations(sheet)
		if err != nil {
			t.Fatal(err)
		}
		hc := headerCell(t, f, sheet, item)
		for _, dv := range dvs {
			if strings.HasPrefix(dv.Sqref, hc+"4:") {
				return *dv.ErrorStyle, dv.Formula1
			}
		}
		t.Fatalf("no data validation on %s %s", sheet, item)
		return "", ""
	}
	if s, _ := style("LB", "LB.PLT"); s != "warning" {
		t.Errorf("LB.PLT validation style %q, want a warning", s)
	}
	if s, _ := style("LB", "LB.HGB"); s != "stop" {
		t.Errorf("LB.HGB validation style %q, want stop", s)
	}
	_, ref := style("DM", "DM.SMOKE")
	lists, _ := f.GetCols(ListsSheet)
	var smoke []string
	for _, l := range lists {
		if l[0] == "DM.SMOKE" {
			smoke = slices.DeleteFunc(l[1:], func(e string) bool { return e == "" })
		}
	}
	if !strings.Contains(ref, ListsSheet) || len(smoke) < 2 || smoke[len(smoke)-1] != "UNK=Unknown" {
		t.Errorf("DM.SMOKE drop-down %q: entries %q", ref, smoke)
	}

	l := ledgerOf(subjects(), rec)
	plan := func(cell string) ([]Step, []Problem) {
		t.Helper()
		book := filled(t, c, func(f *excelize.File) {
			set(t, f, "LB", headerCell(t, f, "LB", "LB.DATE")+"4", "2026-01-20")
			set(t, f, "LB", col+"4", cell)
			set(t, f, "LB", headerCell(t, f, "LB", HeaderVersion)+"4", 1)
		})
		p := book.Parse(c, study)
		if probs := Check(c, p, l); len(probs) != 0 {
			t.Fatalf("%q: problems %v", cell, probs)
		}
		return Plan(c, p, l.Records, PlanOptions{Reason: "source re-read"})
	}
	steps, probs := plan("ND: sample haemolysed")
	if len(steps) != 1 || steps[0].Action != ActionSkip || len(probs) != 0 {
		t.Errorf("the ledger's code again: %+v %v", steps, probs)
	}
	steps, probs = plan("ND=Not done: tube broke")
	if want := []protocol.ItemValue{{Item: "LB.PLT", Missing: "ND", Reason: "tube broke"}}; len(steps) != 1 || steps[0].Action != ActionCorrect || !reflect.DeepEqual(steps[0].Values, want) || len(probs) != 0 {
		t.Errorf("another reason: %+v %v", steps, probs)
	}
	steps, probs = plan("")
	if len(probs) != 1 || probs[0].Code != CodeCellEmptied || probs[0].Cell() != "LB!"+col+"4" ||
		!strings.Contains(probs[0].Message, `LB.PLT is "ND: sample haemolysed" on the ledger (version 1) and its cell is empty: type the value again, enter a missing-data code (ND=Not done; with the reason as in ND: reason), or import with --clear-emptied`) {
		t.Errorf("emptied: %+v %v", steps, probs)
	}

	// A value on the ledger, emptied: the message names the codes; the
	// code typed instead is the correction.
	rec.Values = c.CanonicalValues("LB", []protocol.ItemValue{{Item: "LB.DATE", Value: "2026-01-20"}, {Item: "LB.PLT", Value: "250"}})
	l = ledgerOf(subjects(), rec)
	if _, probs = plan(""); len(probs) != 1 || !strings.Contains(probs[0].Message, `"250" on the ledger (version 1) and its cell is empty: type the value again, enter a missing-data code (ND=Not done`) {
		t.Errorf("emptied value: %v", probs)
	}
	steps, probs = plan("ND")
	if want := []protocol.ItemValue{{Item: "LB.PLT", Missing: "ND"}}; len(steps) != 1 || steps[0].Action != ActionCorrect || !reflect.DeepEqual(steps[0].Values, want) || len(probs) != 0 {
		t.Errorf("a code for a value: %+v %v", steps, probs)
	}
}
