package protocol

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// cvProtocol is a small protocol exercising every data type, branching,
// a cross-form condition, a repeating group and edit checks.
func cvProtocol() *Protocol {
	return &Protocol{
		Study: Study{ID: "VT-TEST", Version: "1.0", Title: "Test"},
		Events: []Event{
			{OID: "SCREEN", Name: "Screening", Type: EventScheduled, Day: -14, Forms: []string{"DM", "VS"}},
			{OID: "WK4", Name: "Week 4", Type: EventScheduled, Day: 28, WindowBefore: 3, WindowAfter: 3, Forms: []string{"VS", "AE"}},
		},
		Forms: []Form{
			{OID: "DM", Name: "Demographics", Groups: []ItemGroup{{OID: "DM.MAIN", Name: "Demographics", Items: []Item{
				{OID: "DM.BRTHDAT", Label: "Date of birth", Type: TypeDate, Hard: &Range{Min: "1900-01-01", Max: "2010-12-31"}},
				{OID: "DM.AGE", Label: "Age", Type: TypeInteger, Unit: "years", Required: true, Hard: &Range{Min: "18", Max: "100"}, Soft: &Range{Max: "80"}},
				{OID: "DM.SEX", Label: "Sex", Type: TypeChoice, CodeList: "SEX", Required: true},
				{OID: "DM.PREG", Label: "Pregnant", Type: TypeYesNo, Required: true, ShowIf: `[DM.SEX] = "2"`},
				{OID: "DM.MEDS", Label: "Current medications", Type: TypeMultiChoice, CodeList: "MEDS"},
				{OID: "DM.ACEDOSE", Label: "ACE inhibitor dose", Type: TypeDecimal, Digits: 1, Unit: "mg", ShowIf: `[DM.MEDS(3)] = "1"`, Hard: &Range{Min: "0.5", Max: "40"}},
				{OID: "DM.NOTE", Label: "Note", Type: TypeText, MaxLength: 20},
				{OID: "DM.DIAGDT", Label: "Diagnosis date", Type: TypePartialDate},
				{OID: "DM.CONSDTC", Label: "Consent date and time", Type: TypeDateTime, Hard: &Range{Min: "2025-01-01T00:00"}},
				{OID: "DM.CONSTM", Label: "Usual dosing time", Type: TypeTime, Soft: &Range{Min: "06:00", Max: "22:00"}},
			}}}},
			{OID: "VS", Name: "Vital signs", Groups: []ItemGroup{{OID: "VS.MAIN", Name: "Vital signs", Items: []Item{
				{OID: "VS.VSDAT", Label: "Visit date", Type: TypeDate, Required: true},
				{OID: "VS.SYSBP", Label: "Systolic blood pressure", Type: TypeInteger, Unit: "mmHg", Hard: &Range{Min: "60", Max: "250"}, Soft: &Range{Min: "90", Max: "180"}},
				{OID: "VS.DIABP", Label: "Diastolic blood pressure", Type: TypeInteger, Unit: "mmHg", Hard: &Range{Min: "30", Max: "150"}},
				{OID: "VS.HR", Label: "Heart rate", Type: TypeInteger, Unit: "bpm", Hard: &Range{Min: "20", Max: "250"}, Soft: &Range{Min: "40", Max: "120"}},
				{OID: "VS.WEIGHT", Label: "Weight", Type: TypeDecimal, Digits: 1, Unit: "kg", Hard: &Range{Min: "30", Max: "250"}},
				{OID: "VS.PREGTEST", Label: "Pregnancy test done", Type: TypeYesNo, ShowIf: `[DM.PREG] = "1"`},
			}}}, Checks: []EditCheck{
				{OID: "VS.CHK1", Condition: `[VS.DIABP] < [VS.SYSBP]`, Severity: Hard, Message: "Diastolic pressure must be below systolic pressure", Items: []string{"VS.DIABP", "VS.SYSBP"}},
			}},
			{OID: "AE", Name: "Adverse events", Groups: []ItemGroup{
				{OID: "AE.HDR", Name: "Header", Items: []Item{
					{OID: "AE.ANY", Label: "Any adverse event", Type: TypeYesNo, Required: true},
				}},
				{OID: "AE.ROWS", Name: "Adverse event", Repeating: true, MaxRepeats: 3, Items: []Item{
					{OID: "AE.TERM", Label: "Adverse event term", Type: TypeText, Required: true, ShowIf: `[AE.ANY] = "1"`},
					{OID: "AE.SEV", Label: "Severity", Type: TypeChoice, CodeList: "SEV", Required: true},
					{OID: "AE.SERIOUS", Label: "Serious", Type: TypeYesNo},
					{OID: "AE.SAEDESC", Label: "SAE description", Type: TypeText, Required: true, ShowIf: `[AE.SERIOUS] = "1"`},
					{OID: "AE.STDAT", Label: "Start date", Type: TypeDate},
					{OID: "AE.ENDAT", Label: "End date", Type: TypeDate},
				}},
			}, Checks: []EditCheck{
				{OID: "AE.CHK1", Condition: `[AE.ENDAT] >= [AE.STDAT]`, Severity: Soft, Message: "End date is before start date", Items: []string{"AE.ENDAT"}},
				{OID: "AE.CHK2", Condition: `[AE.SEV] <> "3" or [AE.SERIOUS] = "1"`, Message: "A severe event should be checked for seriousness", Items: []string{"AE.SERIOUS", "AE.SEV"}},
			}},
		},
		CodeLists: []CodeList{
			{OID: "SEX", Name: "Sex", Items: []CodeItem{{Code: "1", Decode: "Male"}, {Code: "2", Decode: "Female"}}},
			{OID: "SEV", Name: "Severity", Items: []CodeItem{{Code: "1", Decode: "Mild"}, {Code: "2", Decode: "Moderate"}, {Code: "3", Decode: "Severe"}}},
			{OID: "MEDS", Name: "Medications", Items: []CodeItem{{Code: "1", Decode: "Aspirin"}, {Code: "2", Decode: "Statin"}, {Code: "3", Decode: "ACE inhibitor"}, {Code: "4", Decode: "Beta blocker"}}},
		},
	}
}

func mustCompile(t testing.TB, p *Protocol) *Compiled {
	t.Helper()
	c, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func TestCompileValid(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	if f, ok := c.Form("VS"); !ok || f.Name != "Vital signs" {
		t.Error("Form(VS)")
	}
	if _, ok := c.Form("XX"); ok {
		t.Error("Form(XX)")
	}
	if it, form, ok := c.Item("AE.SEV"); !ok || form != "AE" || it.CodeList != "SEV" {
		t.Error("Item(AE.SEV)")
	}
	if _, _, ok := c.Item("NOPE"); ok {
		t.Error("Item(NOPE)")
	}
	if e, ok := c.Event("WK4"); !ok || e.Day != 28 {
		t.Error("Event(WK4)")
	}
	if _, ok := c.Event("NOPE"); ok {
		t.Error("Event(NOPE)")
	}
	if !c.FormInEvent("WK4", "AE") || c.FormInEvent("SCREEN", "AE") || c.FormInEvent("NOPE", "VS") {
		t.Error("FormInEvent")
	}
	if cl, ok := c.CodeList("SEX"); !ok || len(cl.Items) != 2 {
		t.Error("CodeList(SEX)")
	}
	if _, ok := c.CodeList("NOPE"); ok {
		t.Error("CodeList(NOPE)")
	}
	if c.ShowIf("DM.PREG").String() != `[DM.SEX] = "2"` || c.ShowIf("DM.AGE") != nil {
		t.Error("ShowIf")
	}
	if c.Protocol().Study.ID != "VT-TEST" {
		t.Error("Protocol()")
	}
}

func TestCompileCopiesProtocol(t *testing.T) {
	p := cvProtocol()
	c := mustCompile(t, p)
	p.Forms[1].Groups[0].Items[1].Hard.Max = "1"
	p.Forms[1].Groups[0].Items[1].Label = "changed"
	if it, _, _ := c.Item("VS.SYSBP"); it.Hard.Max != "250" || it.Label != "Systolic blood pressure" {
		t.Error("Compiled shares memory with the caller's protocol")
	}
}

// TestCompileDefinitionErrors breaks a valid protocol in one way per case
// and expects that exact problem, located by path.
func TestCompileDefinitionErrors(t *testing.T) {
	type tc struct {
		name   string
		break_ func(p *Protocol)
		path   string
		oid    string
		msg    string
	}
	item := func(p *Protocol, f, g, i int) *Item { return &p.Forms[f].Groups[g].Items[i] }
	cases := []tc{
		{"missing study id", func(p *Protocol) { p.Study.ID = " " }, "study.id", "", "no ID"},
		{"missing version", func(p *Protocol) { p.Study.Version = "" }, "study.version", "", "no version"},
		{"empty event oid", func(p *Protocol) { p.Events[0].OID = "" }, "events[0]", "", "event has no OID"},
		{"invalid event oid", func(p *Protocol) { p.Events[0].OID = "1ST" }, "events[0]", "1ST", "is not valid"},
		{"duplicate event", func(p *Protocol) { p.Events[1].OID = "SCREEN" }, "events[1]", "SCREEN", "duplicate event OID: SCREEN is already used at events[0]"},
		{"event type", func(p *Protocol) { p.Events[1].Type = "weekly" }, "events[1].type", "WK4", `unknown event type "weekly"`},
		{"event window", func(p *Protocol) { p.Events[1].WindowBefore = -1 }, "events[1]", "WK4", "window is negative"},
		{"event missing form", func(p *Protocol) { p.Events[1].Forms[1] = "LB" }, "events[1].forms[1]", "WK4", `names form "LB", which is not in the protocol`},
		{"event form twice", func(p *Protocol) { p.Events[1].Forms = []string{"VS", "VS"} }, "events[1].forms[1]", "WK4", "lists form VS twice"},
		{"unscheduled with a day", func(p *Protocol) { p.Events[1].Type = EventUnscheduled }, "events[1].day", "WK4", "unscheduled event has no study day"},
		{"common with a window", func(p *Protocol) { p.Events[1].Type, p.Events[1].Day = EventCommon, 0 }, "events[1]", "WK4", "common event has no window"},
		{"unscheduled hard window", func(p *Protocol) {
			p.Events[1].Type, p.Events[1].Day, p.Events[1].WindowBefore, p.Events[1].WindowAfter = EventUnscheduled, 0, 0, 0
			p.Events[1].WindowHard, p.Events[1].VisitDate = true, "VS.VSDAT"
		}, "events[1]", "WK4", "unscheduled event has no window"},
		{"study day 0", func(p *Protocol) { p.Events[0].Day = 0 }, "events[0].day", "SCREEN", "no study day 0"},
		{"hard window without date", func(p *Protocol) { p.Events[1].WindowHard = true }, "events[1].window_hard", "WK4", "hard window needs the visit's date"},
		{"visit date unknown", func(p *Protocol) { p.Events[1].VisitDate = "VS.DATE" }, "events[1].visit_date", "WK4", `visit-date item "VS.DATE" is not in the protocol`},
		{"visit date not a date", func(p *Protocol) { p.Events[1].VisitDate = "VS.SYSBP" }, "events[1].visit_date", "WK4", "is of type integer, not date"},
		{"visit date repeats", func(p *Protocol) { p.Events[1].VisitDate = "AE.STDAT" }, "events[1].visit_date", "WK4", "in repeating group AE.ROWS"},
		{"visit date not collected", func(p *Protocol) { p.Events[1].VisitDate = "DM.BRTHDAT" }, "events[1].visit_date", "WK4", "on form DM, which event WK4 does not collect"},
		{"anchor unknown", func(p *Protocol) { p.Study.AnchorEvent = "BASE" }, "study.anchor_event", "BASE", "is not in the schedule"},
		{"anchor not scheduled", func(p *Protocol) {
			p.Events[1].Type, p.Events[1].Day, p.Events[1].WindowBefore, p.Events[1].WindowAfter = EventCommon, 0, 0, 0
			p.Study.AnchorEvent = "WK4"
		}, "study.anchor_event", "WK4", "is common, not scheduled"},
		{"anchor repeats", func(p *Protocol) {
			p.Events[1].Repeatable, p.Events[1].VisitDate, p.Study.AnchorEvent = true, "VS.VSDAT", "WK4"
		}, "study.anchor_event", "WK4", "repeats"},
		{"anchor without date", func(p *Protocol) { p.Study.AnchorEvent = "WK4" }, "study.anchor_event", "WK4", "records no visit date"},
		{"empty form oid", func(p *Protocol) { p.Forms[0].OID = "" }, "forms[0]", "", "form has no OID"},
		{"invalid form oid", func(p *Protocol) { p.Forms[2].OID = "A E" }, "forms[2]", "A E", "is not valid"},
		{"duplicate form", func(p *Protocol) { p.Forms[2].OID = "VS" }, "forms[2]", "VS", "duplicate form OID"},
		{"duplicate group", func(p *Protocol) { p.Forms[2].Groups[1].OID = "VS.MAIN" }, "forms[2].groups[1]", "VS.MAIN", "duplicate item group OID"},
		{"invalid group oid", func(p *Protocol) { p.Forms[2].Groups[1].OID = "_x" }, "forms[2].groups[1]", "_x", "is not valid"},
		{"negative max repeats", func(p *Protocol) { p.Forms[2].Groups[1].MaxRepeats = -1 }, "forms[2].groups[1].max_repeats", "AE.ROWS", "negative"},
		{"max repeats above limit", func(p *Protocol) { p.Forms[2].Groups[1].MaxRepeats = 501 }, "forms[2].groups[1].max_repeats", "AE.ROWS", "above the limit of 500"},
		{"empty item oid", func(p *Protocol) { item(p, 1, 0, 2).OID = "" }, "forms[1].groups[0].items[2]", "", "item has no OID"},
		{"invalid item oid", func(p *Protocol) { item(p, 1, 0, 2).OID = "VS-DIA" }, "forms[1].groups[0].items[2]", "VS-DIA", "is not valid"},
		{"duplicate item across forms", func(p *Protocol) { item(p, 2, 0, 0).OID = "VS.HR" }, "forms[2].groups[0].items[0]", "VS.HR", "duplicate item OID: VS.HR is already used at forms[1].groups[0].items[3]"},
		{"missing type", func(p *Protocol) { item(p, 1, 0, 0).Type = "" }, "forms[1].groups[0].items[0].type", "VS.VSDAT", "no data type"},
		{"unknown type", func(p *Protocol) { item(p, 1, 0, 0).Type = "float" }, "forms[1].groups[0].items[0].type", "VS.VSDAT", `unknown data type "float"`},
		{"choice without codelist", func(p *Protocol) { item(p, 0, 0, 2).CodeList = "" }, "forms[0].groups[0].items[2].codelist", "DM.SEX", "needs a code list"},
		{"multichoice without codelist", func(p *Protocol) { item(p, 0, 0, 4).CodeList = "" }, "forms[0].groups[0].items[4].codelist", "DM.MEDS", "needs a code list"},
		{"missing codelist", func(p *Protocol) { item(p, 0, 0, 2).CodeList = "GENDER" }, "forms[0].groups[0].items[2].codelist", "DM.SEX", `code list "GENDER" is not in the protocol`},
		{"codelist on text", func(p *Protocol) { item(p, 0, 0, 6).CodeList = "SEX" }, "forms[0].groups[0].items[6].codelist", "DM.NOTE", "cannot have a code list"},
		{"negative digits", func(p *Protocol) { item(p, 1, 0, 4).Digits = -1 }, "forms[1].groups[0].items[4].digits", "VS.WEIGHT", "digits is negative"},
		{"digits on integer", func(p *Protocol) { item(p, 1, 0, 1).Digits = 2 }, "forms[1].groups[0].items[1].digits", "VS.SYSBP", "only to decimal"},
		{"negative max length", func(p *Protocol) { item(p, 0, 0, 6).MaxLength = -5 }, "forms[0].groups[0].items[6].max_length", "DM.NOTE", "negative"},
		{"pattern syntax", func(p *Protocol) { item(p, 0, 0, 6).Pattern = "[0-9" }, "forms[0].groups[0].items[6].pattern", "DM.NOTE", "not a regular expression: missing closing ]"},
		{"pattern not RE2", func(p *Protocol) { item(p, 0, 0, 6).Pattern = "(?!x)y" }, "forms[0].groups[0].items[6].pattern", "DM.NOTE", "not a regular expression"},
		{"pattern too long", func(p *Protocol) { item(p, 0, 0, 6).Pattern = strings.Repeat("a", MaxPatternLength+1) }, "forms[0].groups[0].items[6].pattern", "DM.NOTE", "longer than 512 bytes"},
		{"pattern on choice", func(p *Protocol) { item(p, 0, 0, 2).Pattern = "[12]" }, "forms[0].groups[0].items[2].pattern", "DM.SEX", "cannot have a pattern"},
		{"pattern message alone", func(p *Protocol) { item(p, 0, 0, 6).PatternMessage = "a code" }, "forms[0].groups[0].items[6].pattern_message", "DM.NOTE", "without a pattern"},
		{"range on text", func(p *Protocol) { item(p, 0, 0, 6).Hard = &Range{Max: "5"} }, "forms[0].groups[0].items[6].hard", "DM.NOTE", "cannot have a hard range"},
		{"range on choice", func(p *Protocol) { item(p, 0, 0, 2).Soft = &Range{Min: "1"} }, "forms[0].groups[0].items[2].soft", "DM.SEX", "cannot have a soft range"},
		{"range on yesno", func(p *Protocol) { item(p, 0, 0, 3).Hard = &Range{Min: "0"} }, "forms[0].groups[0].items[3].hard", "DM.PREG", "cannot have a hard range"},
		{"range on partial date", func(p *Protocol) { item(p, 0, 0, 7).Hard = &Range{Min: "2000"} }, "forms[0].groups[0].items[7].hard", "DM.DIAGDT", "cannot have a hard range"},
		{"bad number bound", func(p *Protocol) { item(p, 1, 0, 1).Hard.Max = "2.5e2" }, "forms[1].groups[0].items[1].hard.max", "VS.SYSBP", `hard range max "2.5e2" is not a valid number`},
		{"bad date bound", func(p *Protocol) { item(p, 0, 0, 0).Hard.Min = "01/01/1900" }, "forms[0].groups[0].items[0].hard.min", "DM.BRTHDAT", "is not a valid date"},
		{"impossible date bound", func(p *Protocol) { item(p, 0, 0, 0).Hard.Max = "2010-02-30" }, "forms[0].groups[0].items[0].hard.max", "DM.BRTHDAT", "is not a valid date"},
		{"today bound", func(p *Protocol) { item(p, 0, 0, 0).Hard.Max = "today" }, "forms[0].groups[0].items[0].hard.max", "DM.BRTHDAT", `"today" is not a valid date`},
		{"bad datetime bound", func(p *Protocol) { item(p, 0, 0, 8).Hard.Min = "2025-01-01" }, "forms[0].groups[0].items[8].hard.min", "DM.CONSDTC", "is not a valid datetime"},
		{"bad time bound", func(p *Protocol) { item(p, 0, 0, 9).Soft.Max = "25:00" }, "forms[0].groups[0].items[9].soft.max", "DM.CONSTM", "is not a valid time"},
		{"min above max", func(p *Protocol) { item(p, 1, 0, 1).Hard = &Range{Min: "250", Max: "60"} }, "forms[1].groups[0].items[1].hard", "VS.SYSBP", "hard range min 250 is above max 60"},
		{"soft min below hard min", func(p *Protocol) { item(p, 1, 0, 1).Soft.Min = "50" }, "forms[1].groups[0].items[1].soft.min", "VS.SYSBP", "soft range min 50 is below the hard range min 60"},
		{"soft max above hard max", func(p *Protocol) { item(p, 1, 0, 1).Soft.Max = "260" }, "forms[1].groups[0].items[1].soft.max", "VS.SYSBP", "soft range max 260 is above the hard range max 250"},
		{"soft entirely above hard", func(p *Protocol) { item(p, 1, 0, 1).Soft = &Range{Min: "300"} }, "forms[1].groups[0].items[1].soft.min", "VS.SYSBP", "soft range min 300 is above the hard range max 250"},
		{"soft entirely below hard", func(p *Protocol) { item(p, 1, 0, 1).Soft = &Range{Max: "10"} }, "forms[1].groups[0].items[1].soft.max", "VS.SYSBP", "soft range max 10 is below the hard range min 60"},
		{"condition syntax", func(p *Protocol) { item(p, 0, 0, 3).ShowIf = `[DM.SEX] = ` }, "forms[0].groups[0].items[3].show_if", "DM.PREG", `show_if column 12: expected a value after "="`},
		{"condition missing item", func(p *Protocol) { item(p, 0, 0, 3).ShowIf = `[DM.GENDER] = "2"` }, "forms[0].groups[0].items[3].show_if", "DM.PREG", "refers to [DM.GENDER], which is not an item of the protocol"},
		{"condition self reference", func(p *Protocol) { item(p, 0, 0, 3).ShowIf = `[DM.PREG] = ""` }, "forms[0].groups[0].items[3].show_if", "DM.PREG", "refers to the item itself"},
		{"checkbox on non-multichoice", func(p *Protocol) { item(p, 0, 0, 3).ShowIf = `[DM.SEX(2)] = "1"` }, "forms[0].groups[0].items[3].show_if", "DM.PREG", "checkbox syntax [DM.SEX(2)] but DM.SEX is a choice item"},
		{"checkbox unknown code", func(p *Protocol) { item(p, 0, 0, 5).ShowIf = `[DM.MEDS(9)] = "1"` }, "forms[0].groups[0].items[5].show_if", "DM.ACEDOSE", `code "9" of DM.MEDS, which is not in code list MEDS`},
		{"non-repeating refers into repeating", func(p *Protocol) { item(p, 2, 0, 0).ShowIf = `[AE.TERM] <> ""` }, "forms[2].groups[0].items[0].show_if", "AE.ANY", "refers to [AE.TERM] of repeating group AE.ROWS"},
		{"repeating refers to other repeating", func(p *Protocol) {
			p.Forms[2].Groups = append(p.Forms[2].Groups, ItemGroup{OID: "AE.TRT", Repeating: true, Items: []Item{{OID: "AE.DRUG", Label: "Treatment", Type: TypeText}}})
			item(p, 2, 1, 2).ShowIf = `[AE.DRUG] <> ""`
		}, "forms[2].groups[1].items[2].show_if", "AE.SERIOUS", "in repeating group AE.ROWS refers to [AE.DRUG] of another repeating group AE.TRT"},
		{"check without items", func(p *Protocol) { p.Forms[1].Checks[0].Items = nil }, "forms[1].checks[0].items", "VS.CHK1", "names no items"},
		{"check unknown item", func(p *Protocol) { p.Forms[1].Checks[0].Items[1] = "VS.PULSE" }, "forms[1].checks[0].items[1]", "VS.CHK1", `names unknown item "VS.PULSE"`},
		{"check item of other form", func(p *Protocol) { p.Forms[1].Checks[0].Items[1] = "DM.AGE" }, "forms[1].checks[0].items[1]", "VS.CHK1", "names item DM.AGE of form DM"},
		{"check condition syntax", func(p *Protocol) { p.Forms[1].Checks[0].Condition = `[VS.DIABP] < [VS.SYSBP` }, "forms[1].checks[0].condition", "VS.CHK1", "condition column 14: the item reference is not closed"},
		{"check condition missing item", func(p *Protocol) { p.Forms[1].Checks[0].Condition = `[VS.DIA] < [VS.SYSBP]` }, "forms[1].checks[0].condition", "VS.CHK1", "refers to [VS.DIA]"},
		{"check no condition", func(p *Protocol) { p.Forms[1].Checks[0].Condition = "" }, "forms[1].checks[0].condition", "VS.CHK1", "has no condition"},
		{"check severity", func(p *Protocol) { p.Forms[1].Checks[0].Severity = "warning" }, "forms[1].checks[0].severity", "VS.CHK1", `unknown severity "warning"`},
		{"check oid", func(p *Protocol) { p.Forms[1].Checks[0].OID = "" }, "forms[1].checks[0]", "", "edit check has no OID"},
		{"check duplicate oid", func(p *Protocol) { p.Forms[2].Checks[1].OID = "VS.CHK1" }, "forms[2].checks[1]", "VS.CHK1", "duplicate edit check OID"},
		{"check mixes repeating groups", func(p *Protocol) {
			p.Forms[2].Groups = append(p.Forms[2].Groups, ItemGroup{OID: "AE.TRT", Repeating: true, Items: []Item{{OID: "AE.DRUG", Label: "Treatment", Type: TypeText}}})
			p.Forms[2].Checks[0].Condition = `[AE.ENDAT] >= [AE.STDAT] or [AE.DRUG] = ""`
		}, "forms[2].checks[0]", "AE.CHK1", "mixes items of repeating groups AE.ROWS and AE.TRT"},
		{"empty codelist oid", func(p *Protocol) { p.CodeLists[0].OID = "" }, "codelists[0]", "", "code list has no OID"},
		{"duplicate codelist", func(p *Protocol) { p.CodeLists[2].OID = "SEX" }, "codelists[2]", "SEX", "duplicate code list OID"},
		{"empty codelist", func(p *Protocol) { p.CodeLists[1].Items = nil }, "codelists[1]", "SEV", "has no codes"},
		{"duplicate code", func(p *Protocol) { p.CodeLists[1].Items[2].Code = "1" }, "codelists[1].items[2]", "SEV", `code "1" appears twice (first at codelists[1].items[0])`},
		{"empty code", func(p *Protocol) { p.CodeLists[1].Items[2].Code = "" }, "codelists[1].items[2]", "SEV", "empty code"},
		{"code with comma", func(p *Protocol) { p.CodeLists[2].Items[0].Code = "1,2" }, "codelists[2].items[0]", "MEDS", "contains a comma"},
		{"code with spaces", func(p *Protocol) { p.CodeLists[2].Items[0].Code = " 1" }, "codelists[2].items[0]", "MEDS", "leading or trailing spaces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := cvProtocol()
			c.break_(p)
			got, err := Compile(p)
			if err == nil || got != nil {
				t.Fatalf("Compile accepted the protocol")
			}
			var errs DefinitionErrors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not DefinitionErrors", err)
			}
			for _, e := range errs {
				if e.Path == c.path && e.OID == c.oid && strings.Contains(e.Msg, c.msg) {
					if e.Fix == "" {
						t.Errorf("%s: no fix", e)
					}
					return
				}
			}
			t.Errorf("want %s %s: ...%s..., got:\n%v", c.path, c.oid, c.msg, err)
		})
	}
}

func TestCompileReportsAllProblems(t *testing.T) {
	p := cvProtocol()
	p.Study.ID = ""
	p.Events[0].Forms = append(p.Events[0].Forms, "LB")
	p.Forms[1].Groups[0].Items[1].Hard.Min = "abc"
	p.Forms[0].Groups[0].Items[3].ShowIf = `[DM.SEX] == `
	p.CodeLists[0].Items[1].Code = "1"
	_, err := Compile(p)
	var errs DefinitionErrors
	if !errors.As(err, &errs) || len(errs) != 5 {
		t.Fatalf("want 5 problems, got %v", err)
	}
	wantOrder := []string{"study.id", "events[0].forms[2]", "forms[0].groups[0].items[3].show_if", "forms[1].groups[0].items[1].hard.min", "codelists[0].items[1]"}
	for i, e := range errs {
		if e.Path != wantOrder[i] {
			t.Errorf("problem %d at %s, want %s", i, e.Path, wantOrder[i])
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "the protocol has 5 problems:\n  study.id: the study has no ID (fix: set study.id") {
		t.Errorf("Error() = %s", msg)
	}
	var one *DefinitionError
	if !errors.As(err, &one) || one.Path != "study.id" {
		t.Error("errors.As to *DefinitionError")
	}
}

func TestDefinitionErrorFormat(t *testing.T) {
	e := &DefinitionError{Path: "forms[1].groups[0].items[1].hard", OID: "VS.SYSBP", Msg: "hard range min 250 is above max 60", Fix: "swap the bounds"}
	want := "forms[1].groups[0].items[1].hard VS.SYSBP: hard range min 250 is above max 60 (fix: swap the bounds)"
	if e.Error() != want {
		t.Errorf("Error() = %q", e.Error())
	}
	if (DefinitionErrors{e}).Error() != want {
		t.Error("single-error DefinitionErrors")
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) accepted")
	}
}

func TestCompiledConcurrentUse(t *testing.T) {
	c := mustCompile(t, cvProtocol())
	vals := []ItemValue{{Item: "VS.VSDAT", Value: "2025-03-01"}, {Item: "VS.SYSBP", Value: "300"}, {Item: "VS.DIABP", Value: "80"}}
	want := c.Validate("VS", vals, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got := c.Validate("VS", vals, nil)
				if len(got) != len(want) || got[0] != want[0] {
					t.Error("concurrent Validate differs")
					return
				}
				c.Validate("AE", []ItemValue{{Item: "AE.ANY", Value: "1"}, {Item: "AE.TERM", Repeat: 2, Value: "x"}}, nil)
			}
		})
	}
	wg.Wait()
}
