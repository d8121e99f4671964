package entry_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/entry"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestCheckPredictsTheLedger imports workbooks into a ledger and checks
// that the offline check found a hard problem on exactly the forms the
// ledger rejects. The subject is a woman of childbearing potential
// (DM.SEX 2, DM.CBP 1), whose laboratory form needs the pregnancy test
// (LB.PREGDONE shows when [DM.SEX] = "2" and [DM.CBP] = "1"). Her
// demographics are on the ledger; the workbook corrects them on a sheet
// without the DM.CBP column, which a correction leaves as the ledger
// holds it, for the form's own conditions and for the laboratory form's.
func TestCheckPredictsTheLedger(t *testing.T) {
	v := apptest.V
	dm := []protocol.ItemValue{v("DM.CONSDT", "2026-01-05"), v("DM.AGE", "54"), v("DM.SEX", "2"), v("DM.CBP", "1"),
		v("DM.HEIGHT", "165.0"), v("DM.WEIGHT", "62.5"), v("DM.SMOKE", "1")}
	pregnancyTest := append(apptest.LB(), v("LB.PREGDONE", "1"), v("LB.PREGRES", "1"))
	chain := apptest.New(t)
	chain.SetupStudy()
	comp, err := protocol.Compile(apptest.Example())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		subject string
		dmSheet []protocol.ItemValue // DM without a DM.CBP column
		lb      []protocol.ItemValue // nil: no LB sheet
		want    []string             // "sheet item code" of the problems
	}{
		{"age corrected, pregnancy test recorded", "S1-001", with(dm, "DM.AGE", "55"), pregnancyTest, nil},
		{"age corrected, pregnancy test missing", "S1-002", with(dm, "DM.AGE", "55"), apptest.LB(),
			[]string{"LB LB.PREGDONE required.missing"}},
		{"sex corrected to male, childbearing potential still recorded", "S1-003", with(dm, "DM.SEX", "1"), nil,
			[]string{"DM DM.CBP hidden.has_value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain.MustDo("site1-coordinator", apptest.EnrollMsg(tc.subject, "site1"))
			dmKey := apptest.FormKey(tc.subject, "SCR", 1, "DM")
			chain.MustDo("site1-coordinator", apptest.SubmitMsg(dmKey, dm))
			led := entry.Ledger{Subjects: map[string]types.Subject{}, Records: map[types.FormKey]types.FormRecord{}, Site: "site1"}
			var sub types.Subject
			var rec types.FormRecord
			if !chain.Get(types.KeySubject(apptest.StudyID, tc.subject), &sub) || !chain.Get(types.KeyForm(dmKey), &rec) {
				t.Fatal("subject or demographics not on the ledger")
			}
			led.Subjects[sub.ID], led.Records[dmKey] = sub, rec

			p := &entry.Parsed{Instances: []*entry.Instance{sheet(comp, "DM", dmKey, tc.dmSheet, "DM.CBP")}}
			p.Instances[0].LedgerVersion = rec.Version // pre-filled from the ledger
			if tc.lb != nil {
				p.Instances = append(p.Instances, sheet(comp, "LB", apptest.FormKey(tc.subject, "SCR", 1, "LB"), tc.lb))
			}
			problems := entry.Check(comp, p, led)
			var got []string
			hard := map[string]string{} // sheet -> an item with a hard problem
			for _, pr := range problems {
				got = append(got, pr.Sheet+" "+pr.Item+" "+pr.Code)
				if pr.Severity == protocol.Hard {
					hard[pr.Sheet] = pr.Item
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}

			steps, _ := entry.Plan(comp, p, led.Records, entry.PlanOptions{Reason: "source document re-read"})
			slices.SortStableFunc(steps, func(a, b entry.Step) int { return a.Wave - b.Wave })
			for _, st := range steps {
				in := st.Instance
				msg := apptest.SubmitMsg(in.Key, st.Values)
				if st.Action == entry.ActionCorrect {
					msg = apptest.CorrectMsg(in.Key, st.Reason, st.Values...)
					msg.CorrectForm.BaseVersion = st.BaseVersion
				}
				code, log := chain.Do("site1-coordinator", msg)
				item, predicted := hard[in.Sheet]
				switch {
				case predicted && (code != types.CodeEditCheckFailed || !strings.Contains(log, item)):
					t.Errorf("%s: the check found a problem with %s; the ledger says %d: %s", in.Sheet, item, code, log)
				case !predicted && code != types.CodeOK:
					t.Errorf("%s: the check found no problem; the ledger says %d: %s", in.Sheet, code, log)
				}
			}
		})
	}
}

// with returns a copy of vals with item set to value.
func with(vals []protocol.ItemValue, item, value string) []protocol.ItemValue {
	out := slices.Clone(vals)
	for i := range out {
		if out[i].Item == item {
			out[i].Value = value
		}
	}
	return out
}

// sheet is a form instance as read from a sheet with a column for every
// item of the form but those left out and the derived ones (which a
// workbook has no column for), holding vals.
func sheet(c *protocol.Compiled, name string, k types.FormKey, vals []protocol.ItemValue, leftOut ...string) *entry.Instance {
	in := &entry.Instance{Sheet: name, Row: 4, Key: k}
	f, _ := c.Form(k.Form)
	for _, g := range f.Groups {
		for _, it := range g.Items {
			if !slices.Contains(leftOut, it.OID) && it.Derive == "" {
				in.Items = append(in.Items, it.OID)
			}
		}
	}
	for _, v := range vals {
		if slices.Contains(in.Items, v.Item) {
			in.Values = append(in.Values, v)
		}
	}
	in.Values = c.CanonicalValues(k.Form, in.Values)
	return in
}
