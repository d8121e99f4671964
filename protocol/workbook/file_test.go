package workbook

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/protocol"
)

func mustExample(t testing.TB) *protocol.Protocol {
	t.Helper()
	p := protocol.Example()
	if p == nil {
		t.Fatal("the embedded example does not load")
	}
	return p
}

func fingerprint(t testing.TB, p *protocol.Protocol) string {
	t.Helper()
	fp, err := p.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func assertWarn(t *testing.T, ws []protocol.Warning, sub string) protocol.Warning {
	t.Helper()
	for _, w := range ws {
		if strings.Contains(w.String(), sub) {
			return w
		}
	}
	var all []string
	for _, w := range ws {
		all = append(all, w.String())
	}
	t.Errorf("no warning containing %q in:\n%s", sub, strings.Join(all, "\n"))
	return protocol.Warning{}
}

func TestExampleBytesAllFormatsSameFingerprint(t *testing.T) {
	want := fingerprint(t, mustExample(t))
	for _, format := range []string{"yaml", "redcap", "xlsx"} {
		b, err := ExampleBytes(format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var p *protocol.Protocol
		var w []protocol.Warning
		switch format {
		case "yaml":
			p, w, err = protocol.LoadYAML(bytes.NewReader(b), "x.yaml")
		case "redcap":
			p, w, err = protocol.LoadREDCap(bytes.NewReader(b), "x.csv", mustExample(t))
		case "xlsx":
			p, w, err = LoadXLSX(bytes.NewReader(b), "x.xlsx")
		}
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(w) != 0 {
			t.Errorf("%s warnings: %v", format, w)
		}
		if got := fingerprint(t, p); got != want {
			t.Errorf("%s: fingerprint %s, want %s", format, got, want)
		}
	}
	if _, err := ExampleBytes("pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestLoadFileDoors: LoadFile picks the door by extension and every door
// gives the example's fingerprint.
func TestLoadFileDoors(t *testing.T) {
	want := fingerprint(t, mustExample(t))
	c, err := mustExample(t).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	xb, err := ExampleBytes("xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htn201.xlsx"), xb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htn201.json"), c, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]struct {
		path string
		base *protocol.Protocol
	}{
		"xlsx":   {filepath.Join(dir, "htn201.xlsx"), nil},
		"json":   {filepath.Join(dir, "htn201.json"), nil},
		"redcap": {"../testdata/htn201_redcap.csv", mustExample(t)},
		"yaml":   {"../testdata/htn201.yaml", nil},
	} {
		p, _, err := LoadFile(in.path, in.base)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := fingerprint(t, p); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, _, err := LoadFile("protocol.pdf", nil)
	var le *protocol.LoadError
	if !errors.As(err, &le) || !strings.Contains(le.Fix, ".xlsx") {
		t.Errorf("pdf: %v", err)
	}
	_, _, err = LoadFile(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if !errors.As(err, &le) || le.File == "" {
		t.Errorf("missing: %v", err)
	}
}

// TestDocsExampleLoads: the example in docs/PROTOCOL.md goes through the
// workbook door unchanged.
func TestDocsExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Skip("docs not present")
	}
	_, s, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("no yaml example in docs/PROTOCOL.md")
	}
	s, _, _ = strings.Cut(s, "```")
	p, _, err := protocol.LoadYAML(strings.NewReader(s), "PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	var x bytes.Buffer
	if err := WriteXLSX(&x, p); err != nil {
		t.Fatal(err)
	}
	px, _, err := LoadXLSX(&x, "doc.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, px) != fingerprint(t, p) {
		t.Fatal("documented example does not round-trip")
	}
}

// TestNoEventCollectsAFormWarns: a protocol under which no data can be
// entered (no event collects a form) loads through the workbook door, with
// a warning that names the file.
func TestNoEventCollectsAFormWarns(t *testing.T) {
	none := mustExample(t)
	none.Study.AnchorEvent = ""
	none.Randomization = nil
	for i := range none.Events {
		none.Events[i].Forms = nil
		none.Events[i].VisitDate = ""
	}
	var x bytes.Buffer
	if err := WriteXLSX(&x, none); err != nil {
		t.Fatal(err)
	}
	_, ws, err := LoadXLSX(&x, "p.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if w := assertWarn(t, ws, "no event collects any form"); !strings.HasPrefix(w.String(), "p.") {
		t.Errorf("warning %q does not name its file", w)
	}
}

// checkLoad asserts the contract LoadXLSX keeps on any input: no panic,
// either a protocol that compiles or a located *LoadError.
func checkLoad(t *testing.T, p *protocol.Protocol, err error) {
	t.Helper()
	if err != nil {
		var le *protocol.LoadError
		if !errors.As(err, &le) {
			t.Fatalf("error %T is not a *LoadError: %v", err, err)
		}
		if le.File == "" || le.Msg == "" {
			t.Fatalf("error without file or message: %#v", le)
		}
		return
	}
	if p == nil {
		t.Fatal("nil protocol without error")
	}
	if _, err := protocol.Compile(p); err != nil {
		t.Fatalf("loaded protocol does not compile: %v", err)
	}
	if _, err := p.Fingerprint(); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoadXLSX(f *testing.F) {
	b, err := os.ReadFile("testdata/htn201.xlsx")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	var tpl bytes.Buffer
	if err := WriteTemplate(&tpl); err != nil {
		f.Fatal(err)
	}
	f.Add(tpl.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := LoadXLSX(bytes.NewReader(b), "fuzz.xlsx")
		checkLoad(t, p, err)
	})
}
