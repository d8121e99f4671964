package protocol

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func loadTestYAML(t *testing.T, path string) *Protocol {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _, err := LoadYAML(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiffAmendmentV2(t *testing.T) {
	v1 := loadTestYAML(t, "testdata/htn201.yaml")
	v2 := loadTestYAML(t, "testdata/htn201_v2.yaml")
	a := Diff(v1, v2)
	want := []Change{
		{Kind: Changed, What: "study", Field: "version", Old: "1.0", New: "2.0"},
		{Kind: Changed, What: "study", Field: "protocol_doc_sha256", Old: v1.Study.ProtocolDocSHA256, New: v2.Study.ProtocolDocSHA256, Impact: impactReconsent + ": the protocol document changed"},
		{Kind: Changed, What: "study", Field: "consent_version", Old: "1.0", New: "2.0", Impact: impactReconsent + ": the consent document changed"},
		{Kind: Changed, What: "item", OID: "VS.SYSBP", Field: "hard.min", Old: "60", New: "70", Impact: impactReentry + " (range narrowed)"},
		{Kind: Added, What: "item", OID: "VS.SYSBPST", New: "Systolic blood pressure, standing (after 2 minutes)"},
		{Kind: Added, What: "code", OID: "CL.EOSSTAT:8", New: "Study terminated by sponsor"},
	}
	if !reflect.DeepEqual(a.Changes, want) {
		t.Fatalf("changes:\n%s", a)
	}
	if a.Compatible || !a.NeedsReconsent || a.OutcomeSwitching {
		t.Errorf("verdict %+v", a)
	}
	if !reflect.DeepEqual(a.Reentry, []string{"VS.SYSBP"}) {
		t.Errorf("reentry %v", a.Reentry)
	}
	s := a.String()
	for _, sub := range []string{`Amendment "1.0" -> "2.0": 6 change(s)`, "Compatible: NO", "Re-consent: REQUIRED", "Re-entry / review: VS.SYSBP",
		`changed item     VS.SYSBP hard.min: "60" -> "70"`} {
		if !strings.Contains(s, sub) {
			t.Errorf("report lacks %q:\n%s", sub, s)
		}
	}
	if Diff(v1, v2).String() != s {
		t.Error("report not deterministic")
	}
	// Inputs untouched.
	if fingerprint(t, v1) != fingerprint(t, loadTestYAML(t, "testdata/htn201.yaml")) {
		t.Error("Diff modified its input")
	}
}

func TestDiffIdenticalAndCompatible(t *testing.T) {
	p := mustExample(t)
	a := Diff(p, p)
	if len(a.Changes) != 0 || !a.Compatible || a.NeedsReconsent || len(a.Reentry) != 0 {
		t.Fatalf("identical: %s", a)
	}
	q := mustExample(t)
	q.Forms[2].Groups[0].Items[3].Hard.Max = "260" // widen: compatible
	q.Forms[2].Groups[0].Items[3].Soft.Max = "170" // soft narrowing: queries only
	q.Forms[2].Groups[0].Items[3].Label = "SBP"
	a = Diff(p, q)
	if !a.Compatible || a.NeedsReconsent || len(a.Changes) != 3 {
		t.Fatalf("compatible amendment:\n%s", a)
	}
	if !strings.Contains(a.String(), impactQueries) {
		t.Errorf("soft narrowing not noted:\n%s", a)
	}
}

func TestDiffRules(t *testing.T) {
	base := mustExample(t)
	type rule struct {
		name      string
		edit      func(p *Protocol)
		reentry   []string
		compat    bool
		reconsent bool
		outcome   bool
		contains  string
	}
	item := func(p *Protocol, oid string) *Item {
		for fi := range p.Forms {
			for gi := range p.Forms[fi].Groups {
				for ii := range p.Forms[fi].Groups[gi].Items {
					if p.Forms[fi].Groups[gi].Items[ii].OID == oid {
						return &p.Forms[fi].Groups[gi].Items[ii]
					}
				}
			}
		}
		t.Fatalf("no item %s", oid)
		return nil
	}
	rules := []rule{
		{"primary outcome changed", func(p *Protocol) { p.Study.PrimaryOutcomes[0].Measure = "Change in diastolic BP" },
			nil, true, true, true, "OUTCOME SWITCHING"},
		{"time frame changed", func(p *Protocol) { p.Study.PrimaryOutcomes[0].TimeFrame = "Week 8" },
			nil, true, true, true, "time_frame"},
		{"outcomes reordered", func(p *Protocol) {
			s := p.Study.SecondaryOutcomes
			s[0], s[1] = s[1], s[0]
		}, nil, true, true, true, "order"},
		{"arm added", func(p *Protocol) { p.Study.Arms = append(p.Study.Arms, Arm{OID: "ARM.X", Name: "40 mg"}) },
			nil, true, true, false, "added   arm"},
		{"eligibility label", func(p *Protocol) { item(p, "IE.INC2").Label = "SBP 145-179" },
			nil, true, true, false, "eligibility"},
		{"code removed", func(p *Protocol) {
			for i := range p.CodeLists {
				if p.CodeLists[i].OID == "CL.SMOKE" {
					p.CodeLists[i].Items = p.CodeLists[i].Items[:2]
				}
			}
		}, []string{"DM.SMOKE"}, false, false, false, "removed code     CL.SMOKE:3"},
		{"type changed", func(p *Protocol) { item(p, "VS.HR").Type = TypeDecimal; item(p, "VS.HR").Digits = 1 },
			[]string{"VS.HR"}, false, false, false, "type"},
		{"became required", func(p *Protocol) { item(p, "VS.TIME").Required = true }, []string{"VS.TIME"}, false, false, false, "became required"},
		{"item removed", func(p *Protocol) {
			g := &p.Forms[2].Groups[0]
			g.Items = g.Items[:len(g.Items)-1]
		}, []string{"VS.WEIGHT"}, false, false, false, "removed item"},
		{"max length shortened", func(p *Protocol) { item(p, "AE.TERM").MaxLength = 100 }, []string{"AE.TERM"}, false, false, false, "shorter"},
		{"pattern added", func(p *Protocol) { item(p, "AE.TERM").Pattern = "[A-Za-z ]+" }, []string{"AE.TERM"}, false, false, false, "pattern changed"},
		{"hard max lowered", func(p *Protocol) { item(p, "LB.K").Hard.Max = "8.0" }, []string{"LB.K"}, false, false, false, "narrowed"},
		{"event removed", func(p *Protocol) { p.Events = p.Events[:len(p.Events)-1] }, nil, false, false, false, "removed event"},
		{"form dropped from event", func(p *Protocol) { p.Events[1].Forms = p.Events[1].Forms[:1] }, nil, false, false, false, "no longer collected"},
		{"new hard check", func(p *Protocol) {
			p.Forms[2].Checks = append(p.Forms[2].Checks, EditCheck{OID: "VS.CHK.HR", Condition: "[VS.HR] < 200", Severity: Hard, Message: "x", Items: []string{"VS.HR"}})
		}, []string{"VS.HR"}, false, false, false, "new hard check"},
		{"group becomes repeating", func(p *Protocol) { p.Forms[7].Groups[0].Repeating = true },
			[]string{"EOS.COMMENT", "EOS.DATE", "EOS.DTHDT", "EOS.LASTDOSE", "EOS.OTHSP", "EOS.STATUS"}, false, false, false, "repeating"},
		{"decode changed", func(p *Protocol) { p.CodeLists[0].Items[0].Decode = "Changed" }, nil, true, false, false, "meaning of recorded code"},
		{"window widened", func(p *Protocol) { p.Events[2].WindowAfter = 5 }, nil, true, false, false, "window_after"},
		{"window made hard", func(p *Protocol) { p.Events[2].WindowHard = true }, nil, true, false, false, "window_hard"},
		{"visit date item changed", func(p *Protocol) { p.Events[2].VisitDate = "EX.STDT" }, nil, true, false, false, "visit_date"},
		{"anchor changed", func(p *Protocol) { p.Study.AnchorEvent = "SCR" }, nil, true, false, false, "anchor_event"},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			q := mustExample(t)
			r.edit(q)
			a := Diff(base, q)
			if r.reentry == nil {
				r.reentry = []string{}
			}
			if !reflect.DeepEqual(a.Reentry, r.reentry) || a.Compatible != r.compat || a.NeedsReconsent != r.reconsent || a.OutcomeSwitching != r.outcome {
				t.Errorf("reentry %v compatible %v reconsent %v outcome %v:\n%s", a.Reentry, a.Compatible, a.NeedsReconsent, a.OutcomeSwitching, a)
			}
			if !strings.Contains(a.String(), r.contains) {
				t.Errorf("report lacks %q:\n%s", r.contains, a)
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	a := Diff(nil, mustExample(t))
	if len(a.Changes) == 0 || a.Compatible != true {
		t.Logf("%s", a)
	}
	if Diff(nil, nil) == nil {
		t.Fatal("nil amendment")
	}
	var none *Amendment
	if none.String() != "" {
		t.Error("nil String")
	}
}
