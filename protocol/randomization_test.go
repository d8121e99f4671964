package protocol

import (
	"slices"
	"strings"
	"testing"
)

// The example's section: site and a screening systolic band.
func TestExampleRandomization(t *testing.T) {
	c, err := Compile(mustExample(t))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Randomization()
	if r == nil || r.Form != "IE" || r.Item != "IE.ELIG" || len(r.Strata) != 2 {
		t.Fatalf("randomisation section %+v", r)
	}
	values := map[string]string{"SCR/VS.SYSBP": "159"}
	at := func(event, item string) (string, bool) { v, ok := values[event+"/"+item]; return v, ok }
	for _, c := range []struct{ sbp, want string }{{"159", "site1+SBP-LT160"}, {"160", "site1+SBP-GE160"}, {"159.9", "site1+SBP-LT160"}, {"210", "site1+SBP-GE160"}} {
		values["SCR/VS.SYSBP"] = c.sbp
		if got, missing := r.Stratum("site1", at); got != c.want || missing != "" {
			t.Errorf("SBP %s: stratum %q (missing %q), want %q", c.sbp, got, missing, c.want)
		}
	}
	delete(values, "SCR/VS.SYSBP")
	if got, missing := r.Stratum("site1", at); got != "" || !strings.Contains(missing, "VS.SYSBP") {
		t.Errorf("no SBP: stratum %q, missing %q", got, missing)
	}
	if got := r.AllStrata([]string{"site1", "site2"}); !slices.Equal(got, []string{"site1+SBP-LT160", "site1+SBP-GE160", "site2+SBP-LT160", "site2+SBP-GE160"}) {
		t.Errorf("strata %v", got)
	}
	site := func(s string) bool { return s == "site1" }
	for s, want := range map[string]bool{"site1+SBP-LT160": true, "site2+SBP-LT160": false, "site1+SBP-XX": false, "site1": false, "site1+SBP-LT160+x": false, "all": false} {
		if r.ValidStratum(s, site) != want {
			t.Errorf("ValidStratum(%q) = %v", s, !want)
		}
	}
	none := &Randomization{}
	if got, _ := none.Stratum("site1", at); got != StratumAll || !none.ValidStratum(StratumAll, site) || !slices.Equal(none.AllStrata(nil), []string{StratumAll}) {
		t.Errorf("no factors: stratum %q", got)
	}
}

// Every broken randomisation section is refused with its path.
func TestRandomizationDefinitionErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(p *Protocol)
		want string
	}{
		{"one arm", func(p *Protocol) { p.Study.Arms = p.Study.Arms[:1] }, "at least two arms"},
		{"duplicate arm", func(p *Protocol) { p.Study.Arms[1].OID = p.Study.Arms[0].OID }, "listed twice"},
		{"arm OID with a comma", func(p *Protocol) { p.Study.Arms[0].OID = "ARM,PBO" }, "cannot name an allocation"},
		{"no form", func(p *Protocol) { p.Randomization.Form = "" }, "names no eligibility form"},
		{"unknown item", func(p *Protocol) { p.Randomization.Item = "IE.NOPE" }, "not in the protocol"},
		{"item of another form", func(p *Protocol) { p.Randomization.Item = "DM.CBP" }, "is on form DM"},
		{"not yes/no", func(p *Protocol) { p.Randomization.Item = "IE.INC1"; p.Forms[1].Groups[0].Items[0].Type = TypeText }, "not yesno"},
		{"event without the form", func(p *Protocol) { p.Randomization.Event = "W4" }, "does not collect form IE"},
		{"two site factors", func(p *Protocol) {
			p.Randomization.Strata = append(p.Randomization.Strata, Factor{Name: "centre", Site: true})
		}, "more than one site factor"},
		{"site factor with bands", func(p *Protocol) { p.Randomization.Strata[0].Bands = []Band{{Code: "A"}} }, "takes its levels from the subject's site"},
		{"repeated factor name", func(p *Protocol) { p.Randomization.Strata[1].Name = "site" }, "repeated"},
		{"text factor item", func(p *Protocol) { p.Randomization.Strata[1].Item = "VS.DATE" }, "not integer or decimal"},
		{"one band", func(p *Protocol) { p.Randomization.Strata[1].Bands = p.Randomization.Strata[1].Bands[:1] }, "at least two bands"},
		{"gap between bands", func(p *Protocol) { p.Randomization.Strata[1].Bands[1].Min = "161" }, "does not start where"},
		{"closed first band", func(p *Protocol) { p.Randomization.Strata[1].Bands[0].Min = "100" }, "open below"},
		{"bad bound", func(p *Protocol) {
			p.Randomization.Strata[1].Bands[0].Max = "1x"
			p.Randomization.Strata[1].Bands[1].Min = "1x"
		}, "not a number"},
		{"band code with +", func(p *Protocol) { p.Randomization.Strata[1].Bands[0].Code = "A+B" }, "band code"},
		{"empty band", func(p *Protocol) {
			b := &p.Randomization.Strata[1].Bands
			*b = []Band{{Code: "LO", Max: "160"}, {Code: "MID", Min: "160", Max: "150"}, {Code: "HI", Min: "150"}}
		}, "is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustExample(t)
			c.edit(p)
			_, err := Compile(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// The fingerprint covers the section, and the amendment report names a
// change of it.
func TestRandomizationFingerprintAndDiff(t *testing.T) {
	old := mustExample(t)
	nw := mustExample(t)
	nw.Randomization.Strata[1].Bands[0].Max = "150"
	nw.Randomization.Strata[1].Bands[1].Min = "150"
	if fingerprint(t, old) == fingerprint(t, nw) {
		t.Error("a changed band leaves the fingerprint unchanged")
	}
	a := Diff(old, nw)
	if len(a.Changes) != 1 || a.Changes[0].What != "randomization" || a.Changes[0].Kind != Changed || !strings.Contains(a.Changes[0].New, `"max":"150"`) {
		t.Errorf("changes %v", a.Changes)
	}
	nw.Randomization = nil
	if a := Diff(old, nw); len(a.Changes) != 1 || a.Changes[0].Kind != Removed {
		t.Errorf("removed section: %v", a.Changes)
	}
	if a := Diff(nw, old); len(a.Changes) != 1 || a.Changes[0].Kind != Added {
		t.Errorf("added section: %v", a.Changes)
	}
	r, err := ParseRandomizationJSON(RandomizationJSON(old.Randomization))
	if err != nil || RandomizationJSON(r) != RandomizationJSON(old.Randomization) {
		t.Errorf("JSON round trip: %v", err)
	}
	if _, err := ParseRandomizationJSON(`{"event":"SCR","typo":1}`); err == nil {
		t.Error("an unknown key is accepted")
	}
}
