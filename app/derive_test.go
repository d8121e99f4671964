package app_test

import (
	"slices"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestDerivedAndMissingValues: the ledger stores the derived DM.BMI with
// the form, recomputes it when an input is corrected (the record names
// it among the changes), refuses a value typed for it, and stores a
// missing-data code the item allows.
func TestDerivedAndMissingValues(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudyWith(apptest.RegisterMsg(propertyProtocol()))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	k := apptest.FormKey("S1-001", "SCR", 1, "DM")
	dm := []protocol.ItemValue{
		apptest.V("DM.CONSDT", "2026-01-10"), apptest.V("DM.AGE", "54"), apptest.V("DM.SEX", "1"), apptest.V("DM.SMOKE", "1"),
		apptest.V("DM.HEIGHT", "175.0"), apptest.V("DM.WEIGHT", "70.0"),
	}
	if code, log := c.Do("site1-coordinator", apptest.SubmitMsg(k, append(slices.Clone(dm), apptest.V("DM.BMI", "22.9")))); code != types.CodeEditCheckFailed {
		t.Fatalf("a typed derived value: %d %s", code, log)
	}
	c.MustDo("site1-coordinator", apptest.SubmitMsg(k, dm))
	bmi := func() (string, types.FormRecord) {
		var rec types.FormRecord
		get(t, c, types.KeyForm(k), &rec)
		for _, v := range rec.Values {
			if v.Item == "DM.BMI" {
				return v.Value, rec
			}
		}
		return "", rec
	}
	if v, _ := bmi(); v != "22.9" {
		t.Fatalf("stored BMI %q, want 22.9", v)
	}
	if code, _ := c.Do("site1-coordinator", apptest.CorrectMsg(k, "typo", apptest.V("DM.BMI", "30.0"))); code != types.CodeEditCheckFailed {
		t.Errorf("correcting a derived value: %d", code)
	}
	c.MustDo("site1-coordinator", apptest.CorrectMsg(k, "scale recalibrated", apptest.V("DM.WEIGHT", "80.0")))
	if v, rec := bmi(); v != "26.1" || !slices.Equal(rec.Changed, []string{"DM.WEIGHT", "DM.BMI"}) {
		t.Errorf("after correction: BMI %q, changed %v", v, rec.Changed)
	}

	lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	vals := apptest.LB()
	vals[4] = protocol.ItemValue{Item: "LB.PLT", Missing: "NA"}
	if code, _ := c.Do("site1-coordinator", apptest.SubmitMsg(lb, vals)); code != types.CodeEditCheckFailed {
		t.Errorf("a code the item does not allow: %d", code)
	}
	vals[4] = protocol.ItemValue{Item: "LB.PLT", Missing: "ND", Reason: "sample haemolysed"}
	c.MustDo("site1-coordinator", apptest.SubmitMsg(lb, vals))
	var rec types.FormRecord
	get(t, c, types.KeyForm(lb), &rec)
	if !slices.Contains(rec.Values, vals[4]) {
		t.Errorf("missing code not stored: %+v", rec.Values)
	}
}
