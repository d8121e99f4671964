package export

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	return writeZipped(ctx, r, opt, w, WriteCSVDir)
}

// writeZipped writes the files writeDir exports into a temporary
// directory as one zip to w.
func writeZipped(ctx context.Context, r *client.Reader, opt Options, w io.Writer, writeDir func(context.Context, *client.Reader, Options, string) (*Summary, error)) (*Summary, error) {
	tmp, err := os.MkdirTemp(opt.TmpDir, "veritrial-export-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	s, err := writeDir(ctx, r, opt, tmp)
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
	t := &csvTable{f: f, bw: bufio.NewWriterSize(f, 64<<10)}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	if err := t.write(head); err != nil {
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
	rec []string
}

func (t *csvTable) row(cells []cell) error {
	t.rec = t.rec[:0]
	for _, c := range cells {
		t.rec = append(t.rec, c.s)
	}
	return t.write(t.rec)
}

// write writes one record (RFC 4180): fields separated by commas, the
// record ended by CRLF; a field holding a comma, quote, CR or LF, one
// starting with white space, or the field \. is quoted, its quotes
// doubled and every other byte, line ends included, kept as it is.
func (t *csvTable) write(rec []string) error {
	for i, f := range rec {
		if i > 0 {
			t.bw.WriteByte(',')
		}
		if !csvNeedsQuotes(f) {
			t.bw.WriteString(f)
			continue
		}
		t.bw.WriteByte('"')
		t.bw.WriteString(strings.ReplaceAll(f, `"`, `""`))
		t.bw.WriteByte('"')
	}
	_, err := t.bw.WriteString("\r\n")
	return err
}

// csvNeedsQuotes is encoding/csv's rule for quoting a field.
func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` || strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

func (t *csvTable) close() error {
	if err := t.bw.Flush(); err != nil {
		t.f.Close()
		return err
	}
	return t.f.Close()
}

// readCSV reads every record of a CSV file as csvTable.write writes it,
// exactly: a quoted field keeps every byte between its quotes (line ends
// included) with doubled quotes undone; records end with CRLF or LF. A
// quote inside an unquoted field, text after a closing quote, or a
// quoted field left open is an error naming the line.
func readCSV(data []byte) ([][]string, error) {
	var out [][]string
	var rec []string
	var field []byte
	line := 1
	for i := 0; i < len(data); {
		start := line
		field = field[:0]
		if data[i] == '"' {
			i++
			for {
				if i >= len(data) {
					return nil, fmt.Errorf("line %d: quoted field not terminated", start)
				}
				c := data[i]
				if c == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						field = append(field, '"')
						i += 2
						continue
					}
					i++
					break
				}
				if c == '\n' {
					line++
				}
				field = append(field, c)
				i++
			}
		} else {
			for i < len(data) && data[i] != ',' && data[i] != '\n' && !(data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n') {
				if data[i] == '"' {
					return nil, fmt.Errorf("line %d: quote in an unquoted field", line)
				}
				field = append(field, data[i])
				i++
			}
		}
		rec = append(rec, string(field))
		switch {
		case i >= len(data):
			return append(out, rec), nil
		case data[i] == ',':
			i++
			if i == len(data) {
				return append(out, append(rec, "")), nil
			}
			continue
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			i += 2
		case data[i] == '\n':
			i++
		default:
			return nil, fmt.Errorf("line %d: text after a closing quote", line)
		}
		line++
		out, rec = append(out, rec), nil
	}
	return out, nil
}
