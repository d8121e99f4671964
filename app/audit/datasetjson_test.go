package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/export"
)

// rewriteZip returns the zip data with every entry passed through edit
// (given its name and a copy of its bytes).
func rewriteZip(t *testing.T, data []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must(t, err)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		must(t, err)
		w, err := zw.Create(zf.Name)
		must(t, err)
		_, err = w.Write(edit(zf.Name, b))
		must(t, err)
	}
	must(t, zw.Close())
	return buf.Bytes()
}

// rewriteEntry returns the zip data with entry name passed through edit,
// which must change it.
func rewriteEntry(t *testing.T, data []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	found := false
	out := rewriteZip(t, data, func(n string, b []byte) []byte {
		if n != name {
			return b
		}
		nb := edit(bytes.Clone(b))
		if bytes.Equal(nb, b) {
			t.Fatalf("the edit left %s as it was", name)
		}
		found = true
		return nb
	})
	if !found {
		t.Fatalf("no %s in the zip", name)
	}
	return out
}

// TestCheckDatasetJSON tampers with a Dataset-JSON export: a changed
// value, a column's data type, the record count, a dropped audit trail
// row and a listed value hash are each found and located in their
// dataset.
func TestCheckDatasetJSON(t *testing.T) {
	c := studyChain(t, 6)
	dir := t.TempDir()
	ctx := context.Background()
	file, block := exportAt(t, c, export.FormatDatasetJSON, dir)
	data, err := os.ReadFile(file)
	must(t, err)
	hashInList := regexp.MustCompile(`(?m)^(\["[^"]+",")[0-9a-f]`)
	sysbp := regexp.MustCompile(`\[("S1-0003",(?:[^,]*,){8})(\d+)`)
	cases := []struct {
		name, entry string
		edit        func([]byte) []byte
		kind        string
		row         int
		column      string
	}{
		{"value", "form_VS.json", func(b []byte) []byte { return sysbp.ReplaceAll(b, []byte("[${1}999")) }, "changed value", 0, "(VS.SYSBP)"},
		{"data type", "form_VS.json", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"name":"VS.HR","label":"Heart rate (bpm)","dataType":"integer"`), []byte(`"name":"VS.HR","label":"Heart rate (bpm)","dataType":"string"`), 1)
		}, "changed header", 3, "(VS.HR)"},
		{"record count", "form_VS.json", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"records":6,`), []byte(`"records":7,`), 1)
		}, "changed header", 4, ""},
		{"audit row", "audit_trail.json", func(b []byte) []byte {
			lines := bytes.Split(b, []byte("\n"))
			for i, l := range lines {
				if bytes.HasPrefix(l, []byte(`[`)) {
					return bytes.Join(append(lines[:i:i], lines[i+1:]...), []byte("\n"))
				}
			}
			return b
		}, "altered audit trail: missing row", 5, ""},
		{"listed hash", "records.json", func(b []byte) []byte {
			return hashInList.ReplaceAll(b, []byte(`${1}0`))
		}, "changed record", 5, ""},
	}
	for _, tc := range cases {
		bad := filepath.Join(dir, "tampered-"+strings.ReplaceAll(tc.name, " ", "-"))
		must(t, os.WriteFile(bad, rewriteEntry(t, data, tc.entry, tc.edit), 0o600))
		rep, err := CheckExport(ctx, bad, c.App.TrustedQuery, block, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		found := false
		for _, d := range rep.Differences {
			if d.Kind == "record list" {
				t.Errorf("%s: the record list was not read: %+v", tc.name, d)
			}
			if d.Kind == tc.kind && d.Sheet == tc.entry && (tc.row == 0 || d.Row == tc.row) && strings.Contains(d.Column, tc.column) {
				found = true
			}
		}
		if rep.OK() || !found {
			t.Errorf("%s: want %q in %s row %d column %s, got %+v", tc.name, tc.kind, tc.entry, tc.row, tc.column, rep.Differences)
		}
	}
}
