package export_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
)

// pdftotext returns the pdftotext binary (Debian poppler-utils).
func pdftotext(t *testing.T) string {
	t.Helper()
	return tool(t, "pdftotext", "make poppler installs poppler-utils", "CASEBOOK TEXT CHECK", "the casebook text check")
}

// squeeze drops white space, so that text wrapped across lines and pages
// still matches.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestCasebookText renders the casebooks of the example study and reads
// a subject's casebook back with pdftotext: every value of every version
// of its forms, every change reason, query text, SDV step and signature
// of the subject appears, and every page is footed with the study, the
// subject, its page number of the page count, the height and the digest.
func TestCasebookText(t *testing.T) {
	bin := pdftotext(t)
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	dir := t.TempDir()
	out := filepath.Join(dir, "casebooks")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	opt.TmpDir = dir
	sum, err := export.WritePDFDir(context.Background(), r, opt, out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Subjects != 2 || sum.Forms != 5 || sum.Audit == 0 {
		t.Fatalf("summary %+v", sum)
	}
	text, err := exec.Command(bin, filepath.Join(out, "casebook_S1-001.pdf"), "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	all := squeeze(string(text))

	var want []string
	seen := map[string]bool{}
	need := func(what string, s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			want = append(want, s)
			if !strings.Contains(all, squeeze(s)) {
				t.Errorf("casebook of S1-001 lacks %s %q", what, s)
			}
		}
	}
	rd := client.NewReader(c.App.TrustedQuery, h, nil)
	ctx := context.Background()
	for _, p := range []string{types.PrefixForm, types.PrefixHistory} {
		if err := client.ScanJSON(ctx, rd, p+study+"/S1-001/", func(_ string, f *types.FormRecord) error {
			for _, v := range f.Values {
				need("value", v.Value)
			}
			need("reason", f.Reason)
			need("tx hash", f.Stamp.TxHash)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	queries := 0
	if err := client.ScanJSON(ctx, rd, types.PrefixQuery+study+"/", func(_ string, q *types.Query) error {
		if q.Subject != "S1-001" {
			return nil
		}
		queries++
		for _, m := range q.Thread {
			need("query text", m.Text)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sdv := 0
	if err := client.ScanJSON(ctx, rd, types.PrefixSDV+study+"/S1-001/", func(_ string, s *types.SDVRecord) error {
		for _, e := range s.History {
			sdv++
			need("SDV values hash", e.ValuesHash)
			need("SDV comment", e.Comment)
			need("SDV tx", e.Stamp.TxHash)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sigs := 0
	if err := client.ScanJSON(ctx, rd, types.PrefixSignature+study+"/S1-001/", func(_ string, s *types.Signature) error {
		sigs++
		need("signature meaning", s.Meaning)
		need("signature statement", s.Statement)
		need("signed content hash", s.ContentHash)
		need("signer", s.PrintedName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if queries == 0 || sdv < 2 || sigs < 2 || len(want) < 40 {
		t.Fatalf("the scenario gives too little to check: %d queries, %d SDV steps, %d signatures, %d texts", queries, sdv, sigs, len(want))
	}

	pages := strings.Split(strings.TrimSuffix(string(text), "\f"), "\f")
	if len(pages) < 2 {
		t.Fatalf("%d pages", len(pages))
	}
	for i, p := range pages {
		foot := fmt.Sprintf("Study %s | Subject S1-001 | Height %d | Page %d of %d", study, h, i+1, len(pages))
		if !strings.Contains(squeeze(p), squeeze(foot)) || !strings.Contains(p, sum.Digest) {
			t.Errorf("page %d is not footed with %q and the digest %s:\n%s", i+1, foot, sum.Digest, p)
		}
	}

	// The list of casebooks names each with its page count.
	list, err := os.ReadFile(filepath.Join(out, "casebooks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(list), fmt.Sprintf("casebook_S1-001.pdf,S1-001,site1,%d,", len(pages))) {
		t.Errorf("casebooks.csv:\n%s", list)
	}
}

// TestCasebookSelection exports the casebooks of one subject or one site,
// names the selection in the provenance, and refuses a site or subject
// the study does not have.
func TestCasebookSelection(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	opt.TmpDir = t.TempDir()
	for _, tc := range []struct {
		site, subject string
		files         []string
		err           string
	}{
		{subject: "S1-002", files: []string{"casebook_S1-002.pdf"}},
		{site: "site1", files: []string{"casebook_S1-001.pdf", "casebook_S1-002.pdf"}},
		{site: "site9", err: "site site9 is not a site of study"},
		{subject: "S1-404", err: "subject S1-404 is not enrolled"},
		{subject: "../S1-001", err: `subject ID "../S1-001" is not a valid identifier`},
		{site: "site1", subject: "S1-002", files: []string{"casebook_S1-002.pdf"}},
	} {
		o := opt
		o.Site, o.Subject = tc.site, tc.subject
		dir := t.TempDir()
		_, err := export.WritePDFDir(context.Background(), r, o, dir)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: error %v", tc, err)
			}
			if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) > 0 {
				t.Errorf("%+v: a refused export left %v", tc, names)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		got, _ := filepath.Glob(filepath.Join(dir, "casebook_*.pdf"))
		for i := range got {
			got[i] = filepath.Base(got[i])
		}
		if strings.Join(got, ",") != strings.Join(tc.files, ",") {
			t.Errorf("%+v: casebooks %v", tc, got)
		}
		f, err := export.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != export.FormatPDF || f.Field(export.FieldCasebookSite) != tc.site || f.Field(export.FieldCasebookSubject) != tc.subject {
			t.Errorf("%+v: read back as %s, site %q, subject %q", tc, f.Format, f.Field(export.FieldCasebookSite), f.Field(export.FieldCasebookSubject))
		}
		m, err := f.Manifest(nil)
		if err != nil || m.ListDigest != m.Digest || m.Records == 0 {
			t.Errorf("%+v: manifest %+v, %v", tc, m, err)
		}
	}
}

// TestCasebookPages reads a casebook's pages back: each page's text lines
// as drawn, the footer last.
func TestCasebookPages(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	opt.Subject = "S1-002"
	data, sum := run(t, format{"pdf.zip", export.WritePDFZip}, r, opt)
	f, err := export.Parse(export.FormatPDF, data)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := f.Tables()
	if err != nil {
		t.Fatal(err)
	}
	var pages []export.Page
	for i := range ts {
		if ts[i].Casebook {
			if pages, err = ts[i].Pages(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(pages) == 0 {
		t.Fatal("no casebook pages read back")
	}
	for i, p := range pages {
		n := len(p.Lines)
		if n < 2 || p.Lines[n-1] != "Dataset digest (SHA-256) "+sum.Digest ||
			p.Lines[n-2] != fmt.Sprintf("Study %s  |  Subject S1-002  |  Height %d  |  Page %d of %d", study, h, i+1, len(pages)) {
			t.Errorf("page %d ends %q", i+1, p.Lines[max(n-2, 0):])
		}
	}
	if pages[0].Lines[0] != "Casebook of subject S1-002" || !strings.Contains(strings.Join(pages[0].Lines, "\n"), "moved abroad") {
		t.Errorf("page 1: %q", pages[0].Lines)
	}
}
