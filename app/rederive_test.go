package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// bmiAtVisits is the example protocol with a body mass index on the
// vital signs form derived from its weight and the height on the
// demographics form: a derived item that reads another form.
func bmiAtVisits() *protocol.Protocol {
	p := apptest.Example()
	for i := range p.Forms {
		if p.Forms[i].OID != "VS" {
			continue
		}
		g := &p.Forms[i].Groups[0]
		g.Items = append(g.Items, protocol.Item{OID: "VS.BMI", Label: "Body mass index at the visit", Type: protocol.TypeDecimal, Digits: 1, Unit: "kg/m2",
			Derive: "round([VS.WEIGHT] / (([DM.HEIGHT] / 100) * ([DM.HEIGHT] / 100)), 1)"})
	}
	return p
}

// TestDerivedFollowsOtherForms: from state-machine version 4, a change to
// a form recomputes the derived items of the subject's other forms that
// read it (the vital signs' BMI reads the height on the demographics): a
// new version of the vital signs, attributed to the change, naming the
// derived item and its cause, de-verifying it and invalidating the
// signature that covered it; a change that leaves the derived value as it
// was stores nothing; a frozen form refuses the change that would
// recompute it. Version 3 left the derived value as computed at entry.
func TestDerivedFollowsOtherForms(t *testing.T) {
	v := apptest.V
	dmKey := apptest.FormKey("S1-001", "SCR", 1, "DM")
	vsKey := apptest.FormKey("S1-001", "SCR", 1, "VS")
	w4 := apptest.FormKey("S1-001", "W4", 1, "VS")
	dm := []protocol.ItemValue{v("DM.CONSDT", "2026-01-05"), v("DM.AGE", "54"), v("DM.SEX", "1"),
		v("DM.HEIGHT", "178.0"), v("DM.WEIGHT", "80.0"), v("DM.SMOKE", "1")}
	setup := func(c *apptest.Chain) {
		c.SetupStudyWith(apptest.RegisterMsg(bmiAtVisits()))
		c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
		c.MustDo("site1-coordinator", apptest.SubmitMsg(vsKey, apptest.VS(120, 80)))
	}
	form := func(c *apptest.Chain, k types.FormKey) types.FormRecord {
		var rec types.FormRecord
		get(t, c, types.KeyForm(k), &rec)
		return rec
	}

	c := apptest.New(t)
	setup(c)
	// No height yet: no BMI.
	if rec := form(c, vsKey); value(rec, "VS.BMI") != "" {
		t.Fatalf("BMI before the height is entered: %+v", rec.Values)
	}
	// The demographics' entry computes the screening visit's BMI: 81.5 kg at 178 cm.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(dmKey, dm))
	rec := form(c, vsKey)
	if rec.Version != 2 || value(rec, "VS.BMI") != "25.7" || !slices.Equal(rec.Changed, []string{"VS.BMI"}) ||
		rec.Reason != "derived values recomputed by the ledger after the entry of form DM at SCR (version 1)" || rec.Stamp.Signer != "site1-coordinator" || rec.Stamp.Height != c.Height {
		t.Fatalf("after the demographics' entry: %+v", rec)
	}
	var old types.FormRecord
	get(t, c, types.KeyFormHistory(vsKey, 1), &old)
	if old.Version != 1 || value(old, "VS.BMI") != "" {
		t.Errorf("version 1 in the history: %+v", old)
	}
	// A later visit computes its BMI at entry from the same height.
	c.MustDo("site1-coordinator", apptest.SubmitMsg(w4, apptest.VSOn("2026-02-02", 118, 78)))
	if rec := form(c, w4); rec.Version != 1 || value(rec, "VS.BMI") != "25.7" {
		t.Errorf("week 4 at entry: %+v", rec)
	}

	// The monitor verifies the BMI, the investigator signs the casebook;
	// the height is corrected: both visits' BMI follow, the verification
	// of the screening BMI and the signature go.
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "VS", "VS.BMI"))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(dmKey, "height from the source", v("DM.HEIGHT", "182.0")))
	for _, k := range []types.FormKey{vsKey, w4} {
		rec := form(c, k)
		if value(rec, "VS.BMI") != "24.6" || !slices.Equal(rec.Changed, []string{"VS.BMI"}) ||
			!strings.Contains(rec.Reason, "after the correction of form DM at SCR (version 2)") {
			t.Errorf("%s after the height's correction: %+v", k.Event, rec)
		}
	}
	var sdv types.SDVRecord
	get(t, c, types.KeySDV(vsKey), &sdv)
	if slices.Contains(sdv.Verified, "VS.BMI") || sdv.FormVersion != 3 {
		t.Errorf("SDV after the recomputation: %+v", sdv)
	}
	var sig types.Signature
	get(t, c, types.KeySignature(study, "S1-001", 1), &sig)
	if sig.Status != types.SignatureInvalidated {
		t.Errorf("casebook signature after the recomputation: %+v", sig)
	}

	// A correction that leaves the BMI as it is stores no new version.
	before := form(c, vsKey).Version
	c.MustDo("site1-coordinator", apptest.CorrectMsg(dmKey, "age from the source", v("DM.AGE", "55")))
	if got := form(c, vsKey).Version; got != before {
		t.Errorf("a change that leaves the BMI: version %d, was %d", got, before)
	}

	// A frozen visit: the height's correction that would recompute its
	// BMI is refused, and nothing changes.
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, scopeOf(w4), ""))
	if code, log := c.Do("site1-coordinator", apptest.CorrectMsg(dmKey, "height again", v("DM.HEIGHT", "180.0"))); code != types.CodeFrozen ||
		!strings.Contains(log, "form VS of subject S1-001 at W4 (repeat 1) derives items from form DM") {
		t.Errorf("a correction that would recompute a frozen form: %s %s", code, log)
	}
	if value(form(c, dmKey), "DM.HEIGHT") != "182.0" || value(form(c, vsKey), "VS.BMI") != "24.6" {
		t.Error("the refused correction changed data")
	}

	// Version 3: the BMI stays as computed at the visit's entry.
	o := apptest.NewAtVersion(t, 3)
	setup(o)
	o.MustDo("site1-coordinator", apptest.SubmitMsg(dmKey, dm))
	if rec := form(o, vsKey); rec.Version != 1 || value(rec, "VS.BMI") != "" {
		t.Errorf("version 3: %+v", rec)
	}
}
