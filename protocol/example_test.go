package protocol

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"
)

func mustExample(t testing.TB) *Protocol {
	t.Helper()
	p, w, err := LoadYAML(bytes.NewReader(exampleYAML), "htn201.yaml")
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	if len(w) != 0 {
		t.Fatalf("example warnings: %v", w)
	}
	return p
}

func fingerprint(t testing.TB, p *Protocol) string {
	t.Helper()
	fp, err := p.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestExampleShape(t *testing.T) {
	p := Example()
	if p == nil {
		t.Fatal("Example() is nil")
	}
	if p.Study.ID != "VT-HTN-201" || len(p.Events) < 6 || len(p.Forms) < 8 {
		t.Fatalf("example: %s, %d events, %d forms", p.Study.ID, len(p.Events), len(p.Forms))
	}
	items, checks, hard, soft, branch := 0, 0, 0, 0, 0
	for _, f := range p.Forms {
		checks += len(f.Checks)
		for _, g := range f.Groups {
			for _, it := range g.Items {
				items++
				if it.Hard != nil {
					hard++
				}
				if it.Soft != nil {
					soft++
				}
				if it.ShowIf != "" {
					branch++
				}
			}
		}
	}
	if items < 60 || checks < 2 || hard == 0 || soft == 0 || branch == 0 {
		t.Fatalf("example: %d items, %d checks, %d hard, %d soft, %d branching", items, checks, hard, soft, branch)
	}
	if _, err := Compile(p); err != nil {
		t.Fatal(err)
	}
}

func TestDocsExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Skip("docs not present")
	}
	s := string(b)
	i := bytes.Index(b, []byte("```yaml\n"))
	if i < 0 {
		t.Fatal("no yaml example in docs/PROTOCOL.md")
	}
	s = s[i+len("```yaml\n"):]
	s = s[:bytes.Index([]byte(s), []byte("```"))]
	p, _, err := LoadYAML(bytes.NewReader([]byte(s)), "PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	// The documented example goes through the REDCap door unchanged
	// (protocol/workbook tests the workbook door).
	var r bytes.Buffer
	if err := WriteREDCap(&r, p); err != nil {
		t.Fatal(err)
	}
	pr, _, err := LoadREDCap(&r, "doc.csv", p)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, pr) != fingerprint(t, p) {
		t.Fatal("documented example does not round-trip")
	}
}

// TestDocsExampleCounts pins the counts docs/PROTOCOL.md gives of the
// example protocol to the example itself.
func TestDocsExampleCounts(t *testing.T) {
	b, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Skip("docs not present")
	}
	p := Example()
	items, checks := 0, 0
	for _, f := range p.Forms {
		checks += len(f.Checks)
		for _, g := range f.Groups {
			items += len(g.Items)
		}
	}
	summary := regexp.MustCompile(`(\d+) events, (\d+) forms, (\d+) items, (\d+) code lists, (\d+) edit checks`).FindSubmatch(b)
	complete := regexp.MustCompile(`complete (\d+)-item protocol`).FindSubmatch(b)
	if summary == nil || complete == nil {
		t.Fatal("docs/PROTOCOL.md no longer counts the example: update this test")
	}
	stated := append(summary[1:], complete[1])
	what := []string{"events", "forms", "items", "code lists", "edit checks", "items (the complete protocol)"}
	for i, want := range []int{len(p.Events), len(p.Forms), items, len(p.CodeLists), checks, items} {
		if n, _ := strconv.Atoi(string(stated[i])); n != want {
			t.Errorf("docs/PROTOCOL.md says %s %s, the example has %d", stated[i], what[i], want)
		}
	}
}
