package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestCanonicalNormalizes(t *testing.T) {
	a := &Protocol{Study: Study{ID: " X ", Version: "1", ProtocolDocSHA256: "ABCDEF"},
		Events: []Event{{OID: "E", Name: "E", Forms: nil}},
		Forms: []Form{{OID: "F", Groups: []ItemGroup{{OID: "G", Items: []Item{{OID: "I", Type: "Text", Hard: &Range{}, Soft: &Range{Min: " 1 "}}}}},
			Checks: []EditCheck{}}},
		CodeLists: []CodeList{{OID: "B"}, {OID: "A"}}}
	b := &Protocol{Study: Study{ID: "X", Version: "1", ProtocolDocSHA256: "abcdef", PrimaryOutcomes: []Outcome{}},
		Events:    []Event{{OID: "E", Name: "E", Type: EventScheduled, Forms: []string{}}},
		Forms:     []Form{{OID: "F", Groups: []ItemGroup{{OID: "G", Items: []Item{{OID: "I", Type: TypeText, Soft: &Range{Min: "1"}}}}}}},
		CodeLists: []CodeList{{OID: "A", Items: []CodeItem{}}, {OID: "B"}}}
	ca, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Canonical()
	if !bytes.Equal(ca, cb) {
		t.Fatalf("\n%s\n%s", ca, cb)
	}
	if a.Study.ID != " X " {
		t.Error("Canonical modified its receiver")
	}
	if !json.Valid(ca) || bytes.HasSuffix(ca, []byte("\n")) || !bytes.Contains(ca, []byte(`"events":[{"oid":"E","name":"E","type":"scheduled"`)) {
		t.Errorf("canonical %s", ca)
	}
	fa, _ := a.Fingerprint()
	if len(fa) != 64 || strings.ToLower(fa) != fa {
		t.Errorf("fingerprint %q", fa)
	}
	var nilP *Protocol
	if _, err := nilP.Canonical(); err != nil {
		t.Error(err)
	}
	Normalize(nil)
}

func TestCanonicalOrderMatters(t *testing.T) {
	p := mustExample(t)
	q := mustExample(t)
	q.Events[0], q.Events[1] = q.Events[1], q.Events[0]
	if fingerprint(t, p) == fingerprint(t, q) {
		t.Fatal("event order is significant")
	}
}

func TestCrossDoorFingerprints(t *testing.T) {
	want := fingerprint(t, mustExample(t))
	// JSON through the YAML door.
	c, _ := mustExample(t).Canonical()
	pj, _, err := LoadYAML(bytes.NewReader(c), "htn201.json")
	if err != nil {
		t.Fatal(err)
	}
	// WriteYAML output.
	var y bytes.Buffer
	if err := WriteYAML(&y, mustExample(t)); err != nil {
		t.Fatal(err)
	}
	py, _, err := LoadYAML(&y, "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*Protocol{"json": pj, "writeyaml": py} {
		if got := fingerprint(t, p); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

func TestYAMLErrors(t *testing.T) {
	good, _ := os.ReadFile("testdata/htn201.yaml")
	cases := []struct {
		name, in string
		line     int
		want     []string
	}{
		{"empty", "  \n", 1, []string{"empty"}},
		{"typo", strings.Replace(string(good), "            required: true\n            section: Consent", "            requird: true\n            section: Consent", 1),
			lineOf(string(good), "section: Consent") - 1, []string{`field requird not found`, "keys of item are: oid, label"}},
		{"tab", "study:\n\tid: x\n", 2, []string{"tabs"}},
		{"bad int", strings.Replace(string(good), "day: -14", "day: minus fourteen", 1), lineOf(string(good), "day: -14"), []string{"whole number"}},
		{"bad bool", strings.Replace(string(good), "repeatable: true", "repeatable: sometimes", 1), lineOf(string(good), "repeatable: true"), []string{"true or false"}},
		{"duplicate key", "study:\n  id: a\n  id: b\n", 3, []string{"already defined", "duplicated key"}},
		{"two documents", "study: {id: a}\n---\nstudy: {id: b}\n", 2, []string{"more than one YAML document"}},
		{"scalar", "hello\n", 1, []string{"cannot unmarshal"}},
		{"duplicate OID", strings.Replace(string(good), "oid: DM.AGE", "oid: DM.CONSDT", 1), lineOf(string(good), "oid: DM.AGE"), []string{"DM.CONSDT", "forms[0].groups[0].items[1]"}},
		{"dangling form", strings.Replace(string(good), "forms: [DM, IE, VS, LB]", "forms: [DM, IE, VS, LABS]", 1), lineOf(string(good), "forms: [DM, IE, VS, LB]"), []string{"LABS"}},
		{"bad condition", strings.Replace(string(good), `show_if: '[DM.SEX] = "2"'`, `show_if: '[DM.SEX] = = "2"'`, 1), lineOf(string(good), `show_if: '[DM.SEX] = "2"'`), []string{"show_if"}},
		{"dangling condition", strings.Replace(string(good), `show_if: '[AE.ONGO] = "0"'`, `show_if: '[AE.ONGOING] = "0"'`, 1), lineOf(string(good), `show_if: '[AE.ONGO] = "0"'`), []string{"AE.ONGOING"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := LoadYAML(strings.NewReader(c.in), "p.yaml")
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if le.File != "p.yaml" || le.Fix == "" {
				t.Errorf("file %q fix %q", le.File, le.Fix)
			}
			if c.line != 0 && le.Line != c.line {
				t.Errorf("line %d, want %d: %v", le.Line, c.line, err)
			}
		})
	}
}

func lineOf(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return strings.Count(s[:i], "\n") + 1
}

func TestYAMLColumnNamesField(t *testing.T) {
	good, _ := os.ReadFile("testdata/htn201.yaml")
	in := strings.Replace(string(good), `show_if: '[DM.SEX] = "2"'`, `show_if: '[DM.SEX] = = "2"'`, 1)
	_, _, err := LoadYAML(strings.NewReader(in), "p.yaml")
	var le *LoadError
	if !errors.As(err, &le) || le.Column != "show_if" {
		t.Fatalf("column: %#v", err)
	}
}

func TestWarningAndErrorStrings(t *testing.T) {
	w := Warning{File: "d.csv", Row: 12, Line: 14, Column: "Field Type", Msg: "m"}
	if got := w.String(); got != `d.csv: row 12 (line 14): column "Field Type": m` {
		t.Errorf("%q", got)
	}
	w = Warning{File: "s.xlsx", Sheet: "Items", Row: 3, Msg: "m"}
	if got := w.String(); got != `s.xlsx: sheet Items: row 3: m` {
		t.Errorf("%q", got)
	}
	e := &LoadError{File: "p.yaml", Line: 4, Msg: "bad", Fix: "fix it", Others: []*LoadError{{File: "p.yaml", Line: 9, Msg: "worse"}}}
	if got := e.Error(); got != "p.yaml:4: bad (fix: fix it)\np.yaml:9: worse" {
		t.Errorf("%q", got)
	}
	if len(e.All()) != 2 {
		t.Error("All")
	}
}

// TestNoEventCollectsAFormWarns: a protocol under which no data can be
// entered (no event collects a form) loads through every door, with a
// warning; one event collecting one form is enough to silence it.
func TestNoEventCollectsAFormWarns(t *testing.T) {
	const msg = "no event collects any form"
	none := mustExample(t)
	none.Study.AnchorEvent = ""
	none.Randomization = nil
	for i := range none.Events {
		none.Events[i].Forms = nil
		none.Events[i].VisitDate = ""
	}
	var y, r bytes.Buffer
	if err := WriteYAML(&y, none); err != nil {
		t.Fatal(err)
	}
	if err := WriteREDCap(&r, none); err != nil {
		t.Fatal(err)
	}
	noEvents := mustExample(t)
	noEvents.Events = nil
	noEvents.Study.AnchorEvent = ""
	noEvents.Randomization = nil
	noForms := &Protocol{Study: Study{ID: "X", Version: "1"}, Events: []Event{{OID: "E", Name: "E", Day: 1}}}
	load := func(p *Protocol) func() (*Protocol, []Warning, error) {
		return func() (*Protocol, []Warning, error) {
			var b bytes.Buffer
			if err := WriteYAML(&b, p); err != nil {
				t.Fatal(err)
			}
			return LoadYAML(&b, "p.yaml")
		}
	}
	for name, door := range map[string]func() (*Protocol, []Warning, error){
		"yaml":      func() (*Protocol, []Warning, error) { return LoadYAML(&y, "p.yaml") },
		"redcap":    func() (*Protocol, []Warning, error) { return LoadREDCap(&r, "p.csv", none) },
		"no events": load(noEvents),
		"no forms":  load(noForms),
	} {
		_, ws, err := door()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w := assertWarn(t, ws, msg); !strings.HasPrefix(w.String(), "p.") {
			t.Errorf("%s: warning %q does not name its file", name, w)
		}
	}
	one := mustExample(t)
	one.Study.AnchorEvent = ""
	one.Randomization = nil
	for i := range one.Events {
		one.Events[i].Forms = nil
		one.Events[i].VisitDate = ""
	}
	one.Events[3].Forms = []string{"VS"}
	if _, ws, err := load(one)(); err != nil || len(ws) != 0 {
		t.Errorf("one form in one event: %v %v", ws, err)
	}
}
