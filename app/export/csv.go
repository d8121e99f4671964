package export

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/veritrial/veritrial/app/client"
)

// WriteCSVDir exports the study as RFC 4180 CSV files (UTF-8, CRLF line
// ends, one header row of machine names) into dir, which must exist and
// be empty: one file per form (form_<OID>.csv) plus audit_trail.csv,
// subjects.csv, queries.csv, signatures.csv, sdv.csv, dictionary.csv,
// provenance.csv and records.csv. Values are the exact ledger strings.
func WriteCSVDir(ctx context.Context, r *client.Reader, opt Options, dir string) (*Summary, error) {
	d, err := load(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	b := &csvBook{dir: dir}
	if err := d.writeTables(b); err != nil {
		b.abort()
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// WriteCSVZip exports the study as the CSV files of WriteCSVDir in one zip
// written to w: entries in name order, deflated, dated with the block
// time. The files are first written to a temporary directory.
func WriteCSVZip(ctx context.Context, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	tmp, err := os.MkdirTemp(opt.TmpDir, "veritrial-export-csv-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	s, err := WriteCSVDir(ctx, r, opt, tmp)
	if err != nil {
		return nil, err
	}
	if err := zipDir(tmp, w, opt.Block.Time.UTC()); err != nil {
		return nil, err
	}
	return s, nil
}

// zipDir writes the regular files of dir (not recursive) to w as a zip in
// name order.
func zipDir(dir string, w io.Writer, mod time.Time) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	zw := newZipWriter(w)
	for _, n := range names {
		hdr := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mod}
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// csvBook writes each table to its own file.
type csvBook struct {
	dir   string
	files []string
}

func (b *csvBook) table(_, file string, cols []column, _ int) (table, error) {
	path := filepath.Join(b.dir, file)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	b.files = append(b.files, path)
	bw := bufio.NewWriterSize(f, 64<<10)
	w := csv.NewWriter(bw)
	w.UseCRLF = true
	t := &csvTable{f: f, bw: bw, w: w}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	return t, nil
}

func (b *csvBook) abort() {
	for _, f := range b.files {
		os.Remove(f)
	}
}

type csvTable struct {
	f   *os.File
	bw  *bufio.Writer
	w   *csv.Writer
	rec []string
}

func (t *csvTable) row(cells []cell) error {
	t.rec = t.rec[:0]
	for _, c := range cells {
		t.rec = append(t.rec, c.s)
	}
	return t.w.Write(t.rec)
}

func (t *csvTable) close() error {
	t.w.Flush()
	if err := t.w.Error(); err != nil {
		t.f.Close()
		return err
	}
	if err := t.bw.Flush(); err != nil {
		t.f.Close()
		return err
	}
	return t.f.Close()
}
