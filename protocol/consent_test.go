package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func formIndex(p *Protocol, oid string) int {
	for i, f := range p.Forms {
		if f.OID == oid {
			return i
		}
	}
	return -1
}

func TestCompileConsentErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(p *Protocol)
		path   string
		msg    string
	}{
		{"unknown re-consent rule", func(p *Protocol) { p.Study.Reconsent = "ignore" }, "study.reconsent", `unknown re-consent rule "ignore"`},
		{"seriousness item unknown", func(p *Protocol) { p.Forms[formIndex(p, "AE")].SeriousItem = "AE.GRAVE" }, "serious_item", `"AE.GRAVE" is not an item of form AE`},
		{"seriousness item of another form", func(p *Protocol) { p.Forms[formIndex(p, "AE")].SeriousItem = "VS.SYSBP" }, "serious_item", `"VS.SYSBP" is not an item of form AE`},
		{"seriousness item not yes/no", func(p *Protocol) { p.Forms[formIndex(p, "AE")].SeriousItem = "AE.SEV" }, "serious_item", "is of type choice, not yesno"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustExample(t)
			tc.break_(p)
			_, err := Compile(p)
			var de DefinitionErrors
			if !errors.As(err, &de) || len(de) != 1 || !strings.HasSuffix(de[0].Path, tc.path) || !strings.Contains(de[0].Msg, tc.msg) {
				t.Fatalf("got %v, want one problem at %s: %s", err, tc.path, tc.msg)
			}
		})
	}
	for _, rule := range []string{"", ReconsentRefuse, ReconsentFlag} {
		p := mustExample(t)
		p.Study.Reconsent = rule
		if _, err := Compile(p); err != nil {
			t.Errorf("re-consent rule %q: %v", rule, err)
		}
	}
}

func TestSafetyForms(t *testing.T) {
	c, err := Compile(mustExample(t))
	if err != nil {
		t.Fatal(err)
	}
	for form, want := range map[string][2]bool{"AE": {true, false}, "EOS": {false, true}, "VS": {false, false}, "NOPE": {false, false}} {
		if s, e := c.SafetyForm(form); s != want[0] || e != want[1] {
			t.Errorf("SafetyForm(%s) = %v, %v; want %v", form, s, e, want)
		}
	}
	row := func(r int, item, v string) ItemValue { return ItemValue{Item: item, Repeat: r, Value: v} }
	vals := []ItemValue{row(1, "AE.TERM", "Headache"), row(1, "AE.SER", "0"), row(2, "AE.TERM", "Pneumonia"), row(2, "AE.SER", "1"), row(3, "AE.SER", "1")}
	if got := c.SeriousRows("AE", vals); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("SeriousRows = %v", got)
	}
	if got := c.SeriousRows("VS", vals); got != nil {
		t.Errorf("SeriousRows of a form without a seriousness item = %v", got)
	}
	if got := c.SeriousRow("AE", vals, 2); !reflect.DeepEqual(got, vals[2:4]) {
		t.Errorf("SeriousRow(2) = %v", got)
	}
}

func TestDiffConsent(t *testing.T) {
	o := mustExample(t)
	n := mustExample(t)
	n.Study.ConsentVersion = "2.0"
	n.Study.Reconsent = ReconsentFlag
	n.Forms[formIndex(n, "EOS")].Safety = true
	n.Forms[formIndex(n, "AE")].SeriousItem = ""
	a := Diff(o, n)
	if !a.NeedsReconsent {
		t.Error("a new consent version does not need re-consent")
	}
	for _, c := range []struct{ what, oid, field, old, nw string }{
		{"study", "", "consent_version", "1.0", "2.0"}, {"study", "", "reconsent", "", "flag"},
		{"form", "AE", "serious_item", "AE.SER", ""}, {"form", "EOS", "safety", "false", "true"},
	} {
		found := false
		for _, ch := range a.Changes {
			if ch.What == c.what && ch.OID == c.oid && ch.Field == c.field && ch.Old == c.old && ch.New == c.nw {
				found = true
			}
		}
		if !found {
			t.Errorf("no change %+v in %+v", c, a.Changes)
		}
	}
	// A protocol that declares none of this keeps its fingerprint: the
	// fields are left out of the canonical encoding when empty.
	plain := mustExample(t)
	plain.Study.ConsentVersion = ""
	for i := range plain.Forms {
		plain.Forms[i].Safety, plain.Forms[i].EndOfStudy, plain.Forms[i].SeriousItem = false, false, ""
	}
	cj, err := plain.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"consent_version", "reconsent", "safety", "end_of_study", "serious_item"} {
		if strings.Contains(string(cj), `"`+f+`"`) {
			t.Errorf("the canonical encoding of a protocol without %s names it", f)
		}
	}
}
