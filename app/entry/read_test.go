package entry

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// filled is a template with cells set by fill, saved and opened again.
func filled(t *testing.T, c *protocol.Compiled, fill func(f *excelize.File), subs ...[]types.Subject) *Book {
	t.Helper()
	ss := subjects()
	if len(subs) > 0 {
		ss = subs[0]
	}
	_, f, _ := template(t, c, TemplateOptions{Meta: testMeta(), Subjects: ss})
	fill(f)
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	book, err := Open(&b)
	if err != nil {
		t.Fatal(err)
	}
	return book
}

func set(t *testing.T, f *excelize.File, sheet, cell string, v any) {
	t.Helper()
	if err := f.SetCellValue(sheet, cell, v); err != nil {
		t.Fatal(err)
	}
}

// setRaw stores a number exactly as written, as Excel does for values
// such as 36.600000000000001.
func setRaw(t *testing.T, f *excelize.File, sheet, cell, raw string) {
	t.Helper()
	if err := f.SetCellDefault(sheet, cell, raw); err != nil {
		t.Fatal(err)
	}
}

// fillGood enters a valid DM, IE and VS for S1-001 at screening and two
// adverse events at week 4, the ways a person types in Excel.
func fillGood(t *testing.T, f *excelize.File) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	// DM, S1-001 SCR is row 4.
	set(t, f, "DM", "E4", day(2026, 1, 5)) // a real Excel date (serial)
	set(t, f, "DM", "F4", 54)
	set(t, f, "DM", "G4", "Male") // the decode
	set(t, f, "DM", "J4", "5=White; 2")
	setRaw(t, f, "DM", "K4", "178.50000000000001")
	set(t, f, "DM", "L4", 82.3)
	set(t, f, "DM", "M4", "1=Never") // the drop-down entry
	// IE, S1-001 SCR is row 4.
	for _, col := range []string{"E", "F", "G"} {
		set(t, f, "IE", col+"4", "1=Yes")
	}
	set(t, f, "IE", "H4", "No")
	set(t, f, "IE", "I4", "0")
	set(t, f, "IE", "K4", "Yes")
	// VS, S1-001 SCR is row 4.
	set(t, f, "VS", "E4", "2026-01-05") // a date typed as text
	setRaw(t, f, "VS", "F4", "0.4375")  // 10:30 as Excel stores a time
	set(t, f, "VS", "G4", "1")
	set(t, f, "VS", "H4", 148)
	set(t, f, "VS", "I4", 92)
	set(t, f, "VS", "J4", 72)
	setRaw(t, f, "VS", "K4", "36.600000000000001")
	// AE, S1-001 W4 rows 1 and 2 are sheet rows 4 and 5.
	for i, ae := range [][]any{
		{"Headache", day(2026, 2, 1), "0=No", day(2026, 2, 3), "1=Mild", "No", nil, "2=Unlikely", "1", "Recovered or resolved"},
		{"Dizziness", day(2026, 2, 10), "1", nil, "Moderate", "0", nil, "3", "1=Dose not changed", "2"},
	} {
		for j, v := range ae {
			if v != nil {
				set(t, f, "AE", cellName(KeyColumns+1+j, 4+i), v)
			}
		}
	}
}

func ledgerOf(subs []types.Subject, recs ...types.FormRecord) Ledger {
	l := Ledger{Subjects: map[string]types.Subject{}, Records: map[types.FormKey]types.FormRecord{}, Site: "site1"}
	for _, s := range subs {
		l.Subjects[s.ID] = s
	}
	for _, r := range recs {
		l.Records[r.FormKey] = r
	}
	return l
}

func key(subject, event, form string) types.FormKey {
	return types.FormKey{Study: study, Subject: subject, Event: event, EventRepeat: 1, Form: form}
}

func TestImportFilledWorkbook(t *testing.T) {
	c := example(t)
	book := filled(t, c, func(f *excelize.File) { fillGood(t, f) })
	if !book.HasMeta || book.Meta.Study != study {
		t.Fatalf("meta %+v", book.Meta)
	}
	p := book.Parse(c, study)
	if probs := Check(c, p, ledgerOf(subjects())); len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(p.Instances) != 4 || p.DataRows != 5 {
		t.Fatalf("%d instances from %d rows", len(p.Instances), p.DataRows)
	}
	got := map[types.FormKey][]protocol.ItemValue{}
	for _, in := range p.Instances {
		got[in.Key] = in.Values
	}
	iv := func(item, value string) protocol.ItemValue { return protocol.ItemValue{Item: item, Value: value} }
	want := map[types.FormKey][]protocol.ItemValue{
		key("S1-001", "SCR", "DM"): {iv("DM.CONSDT", "2026-01-05"), iv("DM.AGE", "54"), iv("DM.SEX", "1"), iv("DM.RACE", "2,5"),
			iv("DM.HEIGHT", "178.5"), iv("DM.WEIGHT", "82.3"), iv("DM.SMOKE", "1")},
		key("S1-001", "SCR", "IE"): {iv("IE.INC1", "1"), iv("IE.INC2", "1"), iv("IE.INC3", "1"), iv("IE.EXC1", "0"), iv("IE.EXC2", "0"),
			iv("IE.ELIG", "1")},
		key("S1-001", "SCR", "VS"): {iv("VS.DATE", "2026-01-05"), iv("VS.TIME", "10:30"), iv("VS.POS", "1"), iv("VS.SYSBP", "148"),
			iv("VS.DIABP", "92"), iv("VS.HR", "72"), iv("VS.TEMP", "36.6")},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s %s:\n got %v\nwant %v", k.Form, k.Event, got[k], w)
		}
	}
	ae := got[key("S1-001", "W4", "AE")]
	wantAE := "AE.TERM[1]=Headache AE.STDT[1]=2026-02-01 AE.ONGO[1]=0 AE.ENDDT[1]=2026-02-03 AE.SEV[1]=1 AE.SER[1]=0 AE.REL[1]=2 AE.ACN[1]=1 AE.OUT[1]=1 " +
		"AE.TERM[2]=Dizziness AE.STDT[2]=2026-02-10 AE.ONGO[2]=1 AE.SEV[2]=2 AE.SER[2]=0 AE.REL[2]=3 AE.ACN[2]=1 AE.OUT[2]=2"
	var parts []string
	for _, v := range ae {
		parts = append(parts, v.Item+"["+itoa(v.Repeat)+"]="+v.Value)
	}
	if strings.Join(parts, " ") != wantAE {
		t.Errorf("AE:\n got %s\nwant %s", strings.Join(parts, " "), wantAE)
	}

	// Nothing on the ledger: everything is submitted, DM first.
	steps, probs := Plan(c, p, nil, PlanOptions{})
	if len(probs) != 0 {
		t.Errorf("plan problems %v", probs)
	}
	waves := map[string]int{}
	for _, st := range steps {
		if st.Action != ActionSubmit {
			t.Errorf("%s: %s", st.Instance.Key.Form, st.Action)
		}
		waves[st.Instance.Key.Form] = st.Wave
	}
	if waves["DM"] != 0 || waves["VS"] != 0 || waves["IE"] != 1 {
		t.Errorf("waves %v", waves)
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestImportPlanAgainstLedger(t *testing.T) {
	c := example(t)
	book := filled(t, c, func(f *excelize.File) { fillGood(t, f) })
	p := book.Parse(c, study)
	first, _ := Plan(c, p, nil, PlanOptions{})
	// The ledger holds what the first import sent.
	var recs []types.FormRecord
	for _, st := range first {
		vals := st.Values
		if st.Instance.Key.Form == "DM" {
			// The ledger stores the derived body mass index with the form.
			vals = c.CanonicalValues("DM", append(slices.Clone(vals), protocol.ItemValue{Item: "DM.BMI", Value: "25.8"}))
		}
		recs = append(recs, types.FormRecord{FormKey: st.Instance.Key, Version: 1, Values: vals})
	}
	l := ledgerOf(subjects(), recs...)
	// A number written differently ("36.60" for the ledger's "36.6", one
	// decimal place more than VS.TEMP allows): identical forms are
	// skipped, and the check judges the value the ledger keeps.
	book = filled(t, c, func(f *excelize.File) {
		fillGood(t, f)
		set(t, f, "VS", "K4", "36.60")
	})
	p = book.Parse(c, study)
	if probs := Check(c, p, l); len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	steps, probs := Plan(c, p, l.Records, PlanOptions{})
	for _, st := range steps {
		if st.Action != ActionSkip {
			t.Errorf("%s: %s %v", st.Instance.Key.Form, st.Action, st.Values)
		}
	}
	if len(probs) != 0 {
		t.Errorf("plan problems %v", probs)
	}

	// One changed cell and one emptied cell of the VS form, in a workbook
	// pre-filled from version ledgerVersion, with a reason or not.
	vs := key("S1-001", "SCR", "VS")
	changed := func(ledgerVersion int, reason string) *Parsed {
		t.Helper()
		book := filled(t, c, func(f *excelize.File) {
			fillGood(t, f)
			set(t, f, "VS", "H4", 138)
			set(t, f, "VS", "F4", "")
			if ledgerVersion > 0 {
				set(t, f, "VS", headerCell(t, f, "VS", HeaderVersion)+"4", ledgerVersion)
			}
			if reason != "" {
				set(t, f, "VS", headerCell(t, f, "VS", HeaderReason)+"4", reason)
			}
		})
		p := book.Parse(c, study)
		if probs := Check(c, p, l); len(probs) != 0 {
			t.Fatalf("problems: %v", probs)
		}
		return p
	}
	vsStep := func(steps []Step) Step {
		t.Helper()
		for _, st := range steps {
			if st.Instance.Key == vs {
				return st
			} else if st.Action != ActionSkip {
				t.Errorf("step %s %s %v", st.Instance.Key.Form, st.Action, st.Values)
			}
		}
		t.Fatal("no VS step")
		return Step{}
	}
	cells := func(ps []Problem) []string {
		var out []string
		for _, pr := range ps {
			out = append(out, pr.Cell()+" "+pr.Code)
		}
		return out
	}
	want := []protocol.ItemValue{{Item: "VS.TIME"}, {Item: "VS.SYSBP", Value: "138"}}

	// Pre-filled from the ledger's version, the reason in its column and
	// emptied cells allowed: a correction of those two, made from version 1.
	steps, probs = Plan(c, changed(1, "transcription error"), l.Records, PlanOptions{Reason: "default reason", ClearEmptied: true})
	if st := vsStep(steps); st.Action != ActionCorrect || !reflect.DeepEqual(st.Values, want) || st.Reason != "transcription error" || st.BaseVersion != 1 {
		t.Errorf("VS step %+v", st)
	}
	if len(probs) != 0 {
		t.Errorf("plan problems %v", probs)
	}
	// Without a reason the default applies; without either, the REASON
	// cell is named; without --clear-emptied, the emptied cell is.
	steps, _ = Plan(c, changed(1, ""), l.Records, PlanOptions{Reason: "default reason", ClearEmptied: true})
	if st := vsStep(steps); st.Reason != "default reason" {
		t.Errorf("reason %q", st.Reason)
	}
	reasonCell := "VS!" + headerCellOf(t, book, "VS", HeaderReason) + "4"
	_, probs = Plan(c, changed(1, ""), l.Records, PlanOptions{})
	if got := cells(probs); !reflect.DeepEqual(got, []string{"VS!F4 cell.emptied", reasonCell + " reason.required"}) {
		t.Errorf("plan problems %v", got)
	} else if !strings.Contains(probs[0].Message, `VS.TIME is "10:30" on the ledger (version 1) and its cell is empty`) {
		t.Errorf("message %q", probs[0].Message)
	}

	// Not pre-filled from the ledger: refused, the others kept.
	steps, probs = Plan(c, changed(0, "why"), l.Records, PlanOptions{ClearEmptied: true})
	if st := vsStep(steps); st.Action != ActionRefuse || !strings.Contains(st.Refusal, "the rows were not pre-filled from the ledger") ||
		!strings.Contains(st.Refusal, "VS.TIME, VS.SYSBP") {
		t.Errorf("VS step %+v", st)
	}
	if len(probs) != 0 {
		t.Errorf("plan problems %v", probs)
	}

	// The form changed on the ledger since the workbook was pre-filled.
	now := l.Records[vs]
	now.Version, now.Reason, now.Stamp = 2, "source re-read", types.Stamp{Signer: "site1-investigator", Height: 77}
	l.Records[vs] = now
	steps, _ = Plan(c, changed(1, "why"), l.Records, PlanOptions{ClearEmptied: true})
	if st := vsStep(steps); st.Action != ActionRefuse ||
		!strings.Contains(st.Refusal, "changed on the ledger since the workbook was pre-filled (version 1; now version 2, by site1-investigator at height 77: source re-read)") {
		t.Errorf("VS step %+v", st)
	}
	// --overwrite: a correction made from the ledger's current version.
	steps, _ = Plan(c, changed(1, "why"), l.Records, PlanOptions{ClearEmptied: true, Overwrite: true})
	if st := vsStep(steps); st.Action != ActionCorrect || st.BaseVersion != 2 {
		t.Errorf("VS step %+v", st)
	}
	// A version the ledger never had.
	_, probs = Plan(c, changed(3, "why"), l.Records, PlanOptions{ClearEmptied: true})
	if got := cells(probs); len(got) != 1 || !strings.HasSuffix(got[0], " version.invalid") {
		t.Errorf("plan problems %v", got)
	}
}

// headerCell is the column letter of a row-1 header of a sheet.
func headerCell(t *testing.T, f *excelize.File, sheet, header string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) == 0 {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	for i, h := range rows[0] {
		if h == header {
			return colLetter(i)
		}
	}
	t.Fatalf("sheet %s has no %s column", sheet, header)
	return ""
}

// headerCellOf is headerCell of a book's sheet.
func headerCellOf(t *testing.T, b *Book, sheet, header string) string {
	t.Helper()
	for _, s := range b.sheets {
		if s.name == sheet {
			for i, h := range s.rows[0] {
				if h == header {
					return colLetter(i)
				}
			}
		}
	}
	t.Fatalf("sheet %s has no %s column", sheet, header)
	return ""
}

func TestImportProblemsLocated(t *testing.T) {
	c := example(t)
	withdrawn := subjects()
	withdrawn[0].Status = types.SubjectWithdrawn // S1-002
	book := filled(t, c, func(f *excelize.File) {
		fillGood(t, f)
		set(t, f, "VS", "H4", 300)      // above the hard maximum
		set(t, f, "VS", "A5", "S9-999") // unknown subject (D1 row)
		set(t, f, "VS", "E5", "2026-01-20")
		set(t, f, "VS", "B6", "W99") // not in the schedule (W4 row)
		set(t, f, "VS", "E6", "2026-01-20")
		set(t, f, "DM", "B5", "D1") // DM is not collected at D1 (S1-002 row)
		set(t, f, "DM", "F5", 40)
		set(t, f, "IE", "C5", 2) // screening does not repeat (S1-002 row)
		set(t, f, "IE", "E5", "1")
		set(t, f, "AE", "D6", "")         // a repeating-group row without Row
		set(t, f, "AE", "E6", "Nausea")   // ...
		set(t, f, "AE", "E5", "")         // row 2 now lacks its term
		set(t, f, "EX", "E4", "KIT-0001") // EX at SCR? EX starts at D1: row 4 is S1-001 D1
		set(t, f, "VS", "N1", "VS.NOPE")  // an unknown header
		set(t, f, "VS", "E12", "2026-01-20")
	}, withdrawn)
	p := book.Parse(c, study)
	probs := Check(c, p, ledgerOf(withdrawn))
	var got []string
	for _, pr := range probs {
		got = append(got, pr.Cell()+" "+pr.Code)
	}
	for _, w := range []string{
		"AE!D6 row.invalid",
		"AE!E5 required.missing",
		"DM!B5 form.not_in_event",
		"IE!C5 event.repeat",
		"VS!N1 header.unknown_item",
		"VS!H4 range.above_max",
		"VS!A5 subject.unknown",
		"VS!B6 event.unknown",
		"VS!A12 subject.withdrawn",
		"EX!F4 required.missing",
	} {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			t.Errorf("missing problem %s; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, pr := range probs {
		if pr.Cell() == "VS!H4" && pr.Code == protocol.CodeRangeAboveMax {
			if s := pr.String(); !strings.HasPrefix(s, "VS!H4 (VS.SYSBP): ") || !strings.Contains(s, "300") {
				t.Errorf("message %q", s)
			}
		}
	}
	if !HasHard(probs) {
		t.Error("no hard problem")
	}
}

func TestNormalize(t *testing.T) {
	c := example(t)
	item := func(oid string) *protocol.Item {
		it, _, ok := c.Item(oid)
		if !ok {
			t.Fatalf("no item %s", oid)
		}
		return it
	}
	for _, tc := range []struct {
		item, raw, want string
		date1904        bool
	}{
		{"VS.DATE", "46027", "2026-01-05", false},
		{"VS.DATE", "44565", "2026-01-05", true},
		{"VS.DATE", "46027.5", "2026-01-05T12:00", false},
		{"VS.DATE", "2026-01-05", "2026-01-05", false},
		{"VS.DATE", "61", "1900-03-01", false},
		{"VS.DATE", "59", "1900-02-28", false},
		{"VS.TIME", "0.4375", "10:30", false},
		{"VS.TIME", "0.5", "12:00", false},
		{"VS.TIME", "08:15", "08:15", false},
		{"CM.STDT", "2024", "2024", false},
		{"CM.STDT", "2024-03", "2024-03", false},
		{"CM.STDT", "45352", "2024-03-01", false},
		{"VS.TEMP", "36.600000000000001", "36.6", false},
		{"VS.TEMP", "36.599999999999994", "36.6", false},
		{"VS.TEMP", "1.0000000000000001E-2", "0.01", false},
		{"VS.TEMP", "3.7E1", "37", false},
		{"VS.TEMP", " 37.20 ", "37.20", false},
		{"VS.SYSBP", "148", "148", false},
		{"VS.SYSBP", "abc", "abc", false},
		{"DM.SEX", "2=Female", "2", false},
		{"DM.SEX", "female", "2", false},
		{"DM.SEX", "7", "7", false},
		{"DM.CBP", "TRUE", "1", false},
		{"DM.CBP", "0=No", "0", false},
		{"DM.RACE", "White, Asian, White", "2,5", false},
		{"DM.RACE", "5,8", "5,8", false},
		{"EX.FORM", "Kit B", "B", false},
		{"EX.KITNO", "00123", "00123", false},
	} {
		if got := normalize(c, item(tc.item), tc.raw, tc.date1904); got != tc.want {
			t.Errorf("normalize(%s, %q, 1904=%v) = %q, want %q", tc.item, tc.raw, tc.date1904, got, tc.want)
		}
	}
	for _, tc := range []struct{ raw, want string }{
		{"0.30000000000000004", "0.3"}, {"-2.5E-3", "-0.0025"}, {"99999999999999999", "100000000000000000"}, {"0", "0"}, {"-0.0", "0"}, {"12", "12"},
	} {
		if got := cleanNumber(tc.raw); got != tc.want {
			t.Errorf("cleanNumber(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
	if n, ok := dateSerial("2026-01-05"); !ok || n != 46027 {
		t.Errorf("dateSerial = %d %v", n, ok)
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	if _, err := Open(strings.NewReader("not a workbook")); err == nil {
		t.Error("garbage opened")
	}
}
