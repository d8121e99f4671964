package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/export"
)

// awkward are free-text values no format carries as they are: each starts
// with a tag that finds it in a file, followed by what is hard to carry.
var awkward = []string{
	"T1|" + strings.Repeat("x", 32760) + "é€😀_x0041_" + strings.Repeat("yz", 3600) + "\x1b end",
	"T2|\x1b[31mred\x1b[0m nul \x00 bel \x07 us \x1f del \x7f",
	"T3|\u2028line separator\u2029paragraph",
	"T4|\u202Egnp.exe\u202C \u2066isolate\u2069 \u200F",
	"T5|\rcarriage return only\r",
	"T6|\nline feed only\n",
	"T7|\r\nCRLF\r\nand \"quotes\", commas",
	"T8|_x001B_ and _x005F_x0041_ and _xZZZZ_ and _xD800_ and _x00 \uE000 7\uE000 ",
}

// padded has white space at both ends, which a careless reader trims.
const padded = "  T9| padded \t"

// awkwardChain registers the example study with a free-text adverse
// event term of up to 50,000 characters and enters one adverse event
// form whose rows hold the awkward values.
func awkwardChain(t *testing.T) *apptest.Chain {
	c := apptest.New(t)
	p := apptest.Example()
	for i := range p.Forms {
		for j := range p.Forms[i].Groups {
			for k := range p.Forms[i].Groups[j].Items {
				if it := &p.Forms[i].Groups[j].Items[k]; it.OID == "AE.TERM" {
					it.MaxLength = 50000
				}
			}
		}
	}
	c.SetupStudyWith(apptest.RegisterMsg(p))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	vals := append(awkward, padded)
	ae := apptest.AE(len(vals), 1)
	for i := range ae {
		if ae[i].Item == "AE.TERM" {
			ae[i].Value = vals[ae[i].Repeat-1]
		}
	}
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "AE"), ae))
	return c
}

// TestExactValues exports values with control characters, line ends of
// every kind, bidirectional overrides, line separators, a literal escape
// and a 40,000-character text in every format: each reads back exactly
// by the documented convention, verify-export accepts the files, and a
// one-byte change to any of the values in a file is found.
func TestExactValues(t *testing.T) {
	c := awkwardChain(t)
	dir := t.TempDir()
	ctx := context.Background()
	for _, f := range []string{"xlsx", "zip", "xml", export.FormatDatasetJSON} {
		file, block := exportAt(t, c, f, dir)
		rep, err := CheckExport(ctx, file, c.App.TrustedQuery, block, "")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !rep.OK() || !rep.Identical {
			t.Fatalf("%s: genuine export not accepted: %+v", f, rep.Differences)
		}
		got := termValues(t, file)
		for _, v := range append(awkward, padded) {
			if !got[v] {
				t.Errorf("%s: value %.40q… does not read back exactly", f, v)
			}
		}
		data, err := os.ReadFile(file)
		must(t, err)
		for _, v := range awkward {
			tag := v[:3]
			altered := alterAfter(t, data, tag)
			bad := filepath.Join(dir, "altered-"+tag[:2]+"."+f)
			must(t, os.WriteFile(bad, altered, 0o600))
			rep, err := CheckExport(ctx, bad, c.App.TrustedQuery, block, "")
			if err != nil {
				t.Fatalf("%s %s: %v", f, tag, err)
			}
			if rep.OK() {
				t.Errorf("%s: a one-byte change to value %s was not found", f, tag)
			}
		}
	}
}

// termValues reads the AE.TERM values of an export back by the
// documented convention.
func termValues(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := export.Open(file)
	must(t, err)
	ts, err := f.Tables()
	must(t, err)
	out := map[string]bool{}
	for _, tb := range ts {
		for _, e := range tb.Elements {
			if strings.Contains(e.Path, "ItemData[@ItemOID=I.AE.TERM]") {
				for _, a := range strings.Split(e.Content, "; ") {
					if v, ok := strings.CutPrefix(a, "Value="); ok {
						out[v] = true
					}
				}
			}
		}
		if tb.Name != "AE" && tb.Name != "form_AE.csv" && tb.Name != "form_AE.json" || len(tb.Rows) == 0 {
			continue
		}
		col := -1
		for i, n := range tb.Rows[0] {
			if n == "AE.TERM" {
				col = i
			}
		}
		for _, r := range tb.Rows[tb.HeaderRows:] {
			if col < len(r) {
				out[r[col]] = true
			}
		}
	}
	return out
}

// alterAfter changes the byte after the first occurrence of tag in the
// file (inside the zip entry that holds it, for a zip): one less, or 1
// for a NUL.
func alterAfter(t *testing.T, data []byte, tag string) []byte {
	t.Helper()
	alter := func(b []byte) bool {
		i := bytes.Index(b, []byte(tag))
		if i < 0 {
			return false
		}
		if b[i+len(tag)] == 0 {
			b[i+len(tag)] = 1
		} else {
			b[i+len(tag)]--
		}
		return true
	}
	if !bytes.HasPrefix(data, []byte("PK")) {
		out := bytes.Clone(data)
		if !alter(out) {
			t.Fatalf("%s not in the file", tag)
		}
		return out
	}
	done := false
	out := rewriteZip(t, data, func(name string, b []byte) []byte {
		if !done && (strings.HasPrefix(name, "xl/worksheets/") || strings.HasPrefix(name, "form_")) {
			done = alter(b)
		}
		return b
	})
	if !done {
		t.Fatalf("%s not in the file", tag)
	}
	return out
}
