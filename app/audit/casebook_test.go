package audit

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
)

// rewriteFile rewrites entry name of the zip at path with edit.
func rewriteFile(t *testing.T, path, name string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(path, rewriteEntry(t, data, name, edit), 0o600))
}

var flateStream = regexp.MustCompile(`<</Filter /FlateDecode /Length (\d+)>>\nstream\n`)

func editStream(t *testing.T, pdf []byte, old, new string) ([]byte, bool) {
	for _, m := range flateStream.FindAllSubmatchIndex(pdf, -1) {
		var n int
		fmt.Sscan(string(pdf[m[2]:m[3]]), &n)
		zr, err := zlib.NewReader(bytes.NewReader(pdf[m[1] : m[1]+n]))
		must(t, err)
		content, err := io.ReadAll(zr)
		must(t, err)
		if !bytes.Contains(content, []byte(old)) {
			continue
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		_, _ = zw.Write(bytes.Replace(content, []byte(old), []byte(new), 1))
		must(t, zw.Close())
		var out bytes.Buffer
		out.Write(pdf[:m[0]])
		fmt.Fprintf(&out, "<</Filter /FlateDecode /Length %d>>\nstream\n", z.Len())
		out.Write(z.Bytes())
		out.Write(pdf[m[1]+n:])
		return out.Bytes(), true
	}
	return pdf, false
}

// TestCheckExportCasebook verifies a genuine casebook export (every
// subject, and one subject's: the selection is read back from the
// provenance), then casebooks edited after the export: a value changed
// on a page is named by file, page and line with both texts, and an edit
// outside the pages' content by file and byte.
func TestCheckExportCasebook(t *testing.T) {
	c := studyChain(t, 3)
	dir := t.TempDir()
	ctx := context.Background()
	q := c.App.TrustedQuery
	file, block := exportAt(t, c, export.FormatPDF, dir)
	rep, err := CheckExport(ctx, file, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !rep.Identical || rep.Format != export.FormatPDF {
		t.Fatalf("genuine casebooks: %+v", rep)
	}

	// S1-0002's systolic pressure is 129 on the ledger: a PDF editor
	// changes it on its page (the stream inflated, edited, deflated).
	rewriteFile(t, file, "casebook_S1-0002.pdf", func(pdf []byte) []byte {
		out, ok := editStream(t, pdf, "(129)Tj", "(139)Tj")
		if !ok {
			t.Fatal("no page shows 129")
		}
		return out
	})
	rep, err = CheckExport(ctx, file, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 {
		t.Fatalf("differences of an edited casebook: %+v", rep.Differences)
	}
	d := rep.Differences[0]
	if d.Kind != "changed casebook page" || d.Sheet != "casebook_S1-0002.pdf" || d.Page < 1 || d.Row < 1 ||
		!strings.Contains(d.File, "139") || !strings.Contains(d.Ledger, "129") || !strings.Contains(d.Ledger, "VS.SYSBP") {
		t.Errorf("edited value located as %+v", d)
	}
	if d.Where() != fmt.Sprintf("page %d, line %d", d.Page, d.Row) {
		t.Errorf("place %q", d.Where())
	}

	// The creation date changed: outside every page.
	file, block = exportAt(t, c, export.FormatPDF, t.TempDir())
	at := -1
	rewriteFile(t, file, "casebook_S1-0003.pdf", func(pdf []byte) []byte {
		at = bytes.Index(pdf, []byte("/CreationDate (D:202")) + len("/CreationDate (D:202")
		return bytes.Replace(pdf, []byte("/CreationDate (D:202"), []byte("/CreationDate (D:201"), 1)
	})
	rep, err = CheckExport(ctx, file, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != "changed casebook" || rep.Differences[0].Sheet != "casebook_S1-0003.pdf" ||
		rep.Differences[0].Key != fmt.Sprintf("byte %d", at) {
		t.Errorf("edited creation date (byte %d): %+v", at, rep.Differences)
	}

	// One subject's casebook.
	file = filepath.Join(t.TempDir(), "one.pdf.zip")
	r := client.NewReader(q, block.Height, nil)
	var buf bytes.Buffer
	_, err = export.WritePDFZip(ctx, r, export.Options{Study: apptest.StudyID, Block: block, Version: "test", Subject: "S1-0002"}, &buf)
	must(t, err)
	must(t, os.WriteFile(file, buf.Bytes(), 0o600))
	rep, err = CheckExport(ctx, file, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !rep.Identical {
		t.Errorf("one subject's casebook: %+v", rep)
	}
}
