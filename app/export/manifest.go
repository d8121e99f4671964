package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// RecordRef is one entry of an export's record list: a ledger key and the
// SHA-256 (lower-case hex) of the value the export was made from.
type RecordRef struct {
	Key         string
	ValueSHA256 string
}

// Manifest is what an export file says about itself: its provenance
// table and a summary of its record list. The auditor checks that
// ListDigest equals Digest, then fetches every listed key with its proof
// at Height and compares the value's SHA-256 with the list.
type Manifest struct {
	// Format is "xlsx", "csv" (a zip or a directory) or "odm".
	Format string
	// Fields is the provenance table, in order.
	Fields  [][2]string
	Study   string
	ChainID string
	Height  int64
	Basis   string
	AppHash string
	// Digest is the dataset digest written in the file.
	Digest string
	// Records is the number of entries in the record list.
	Records int64
	// ListDigest is the digest recomputed from the record list
	// (DigestDefinition); it equals Digest for an intact file.
	ListDigest string
}

// Field returns the first provenance value named name.
func (m *Manifest) Field(name string) string {
	for _, f := range m.Fields {
		if f[0] == name {
			return f[1]
		}
	}
	return ""
}

// ReadManifest reads the provenance and the record list of an export: an
// .xlsx workbook, a CSV zip or directory, or an ODM file. each (may be
// nil) is called for every record of the list, in order, as it is read;
// the list must be in ascending key order.
func ReadManifest(path string, each func(RecordRef) error) (*Manifest, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	dg := newDigester()
	add := func(ref RecordRef) error {
		if len(ref.ValueSHA256) != 64 {
			return fmt.Errorf("record list entry %q has no SHA-256", ref.Key)
		}
		if err := dg.addHash(ref.Key, ref.ValueSHA256); err != nil {
			return err
		}
		if each != nil {
			return each(ref)
		}
		return nil
	}
	switch {
	case st.IsDir():
		m.Format = "csv"
		err = readCSVManifest(func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(path, name)) }, m, add)
	default:
		var head [5]byte
		f, ferr := os.Open(path)
		if ferr != nil {
			return nil, ferr
		}
		n, _ := io.ReadFull(f, head[:])
		f.Close()
		switch {
		case n >= 2 && head[0] == 'P' && head[1] == 'K':
			err = readZipManifest(path, m, add)
		case bytes.HasPrefix(head[:n], []byte("<?xml")) || bytes.HasPrefix(head[:n], []byte("<")):
			m.Format = "odm"
			err = readODMManifest(path, m, add)
		default:
			err = fmt.Errorf("%s is not an export (xlsx, CSV zip or directory, ODM)", path)
		}
	}
	if err != nil {
		return nil, err
	}
	m.Records, m.ListDigest = dg.n, dg.sum()
	m.Study, m.ChainID, m.Basis = m.Field(FieldStudy), m.Field(FieldChainID), m.Field(FieldBasis)
	m.AppHash, m.Digest = m.Field(FieldAppHash), m.Field(FieldDigest)
	if m.Height, err = strconv.ParseInt(m.Field(FieldHeight), 10, 64); err != nil {
		return nil, fmt.Errorf("%s has no export height in its provenance", path)
	}
	return m, nil
}

// readZipManifest reads a workbook or a CSV zip.
func readZipManifest(path string, m *Manifest, add func(RecordRef) error) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == "xl/workbook.xml" {
			m.Format = "xlsx"
			return readXLSXManifest(path, m, add)
		}
	}
	m.Format = "csv"
	return readCSVManifest(func(name string) (io.ReadCloser, error) { return zr.Open(name) }, m, add)
}

// readCSVManifest reads provenance.csv and records.csv through open.
func readCSVManifest(open func(string) (io.ReadCloser, error), m *Manifest, add func(RecordRef) error) error {
	read := func(name string, row func([]string) error) error {
		f, err := open(name)
		if err != nil {
			return fmt.Errorf("the export has no %s: %w", name, err)
		}
		defer f.Close()
		r := csv.NewReader(bufio.NewReader(f))
		r.ReuseRecord = true
		first := true
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if first {
				first = false
				continue
			}
			if len(rec) >= 2 {
				if err := row(rec); err != nil {
					return err
				}
			}
		}
	}
	if err := read(tProvenance[1], func(rec []string) error {
		m.Fields = append(m.Fields, [2]string{rec[0], rec[1]})
		return nil
	}); err != nil {
		return err
	}
	return read(tRecords[1], func(rec []string) error { return add(RecordRef{Key: rec[0], ValueSHA256: rec[1]}) })
}

// readXLSXManifest reads the Provenance and Records sheets, row by row.
func readXLSXManifest(path string, m *Manifest, add func(RecordRef) error) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sheet := func(name string, row func([]string) error) error {
		rows, err := f.Rows(name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for n := 1; rows.Next(); n++ {
			cols, err := rows.Columns()
			if err != nil {
				return err
			}
			if n > 2 && len(cols) >= 2 {
				if err := row(cols); err != nil {
					return err
				}
			}
		}
		return rows.Error()
	}
	if err := sheet(tProvenance[0], func(c []string) error {
		m.Fields = append(m.Fields, [2]string{c[0], c[1]})
		return nil
	}); err != nil {
		return err
	}
	found := false
	for _, s := range f.GetSheetList() {
		if s == tRecords[0] || strings.HasPrefix(s, tRecords[0]+" (") {
			found = true
			if err := sheet(s, func(c []string) error { return add(RecordRef{Key: c[0], ValueSHA256: c[1]}) }); err != nil {
				return err
			}
		}
	}
	if !found {
		return fmt.Errorf("%s has no Records sheet", path)
	}
	return nil
}

// readODMManifest reads the provenance comment before the root element
// and the record list comment after it.
func readODMManifest(path string, m *Manifest, add func(RecordRef) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	state := 0 // 0 before the provenance, 1 in it, 2 body, 3 in the record list
	for sc.Scan() {
		line := sc.Text()
		switch state {
		case 0:
			if line == "<!--" {
				state = 1
			}
		case 1:
			if line == "-->" {
				state = 2
				continue
			}
			if k, v, ok := strings.Cut(line, ": "); ok {
				m.Fields = append(m.Fields, [2]string{commentUnescape(k), commentUnescape(v)})
			}
		case 2:
			if strings.HasPrefix(line, "veritrial records:") {
				state = 3
			}
		case 3:
			if line == "-->" {
				return nil
			}
			k, v, ok := strings.Cut(line, "\t")
			if !ok {
				return fmt.Errorf("record list line %q is not KEY TAB SHA-256", line)
			}
			if err := add(RecordRef{Key: commentUnescape(k), ValueSHA256: v}); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if state != 3 {
		return fmt.Errorf("%s has no veritrial record list", path)
	}
	return fmt.Errorf("%s: the record list is not terminated", path)
}
