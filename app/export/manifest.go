package export

import (
	"fmt"
	"strconv"
	"strings"
)

// RecordRef is one entry of an export's record list: a ledger key and the
// SHA-256 (lower-case hex) of the value the export was made from, and
// where the entry is in the file.
type RecordRef struct {
	Key         string
	ValueSHA256 string
	// Table is the sheet ("Records", "Records (2)" ...), the CSV file or
	// the ODM comment holding the entry; Row its 1-based row (the line in
	// an ODM file).
	Table string
	Row   int
}

// The columns of a record list entry, as a difference names them.
const (
	RecordKeyColumn  = "A (" + colLedgerKey + ")"
	RecordHashColumn = "B (" + colValueSHA256 + ")"
)

// Manifest is what an export file says about itself: its provenance
// table and a summary of its record list. The auditor checks that
// ListDigest equals Digest, then fetches every listed key with its proof
// at Height and compares the value's SHA-256 with the list.
type Manifest struct {
	// Format is FormatXLSX, FormatCSV (a zip or a directory), FormatODM,
	// FormatDatasetJSON or FormatPDF (a zip or a directory).
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

// ReadManifest reads the provenance and the record list of an export: an
// .xlsx workbook, a CSV zip or directory, or an ODM file. each (may be
// nil) is called for every record of the list, in order, as it is read;
// the list must be in ascending key order.
func ReadManifest(path string, each func(RecordRef) error) (*Manifest, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	m, err := f.Manifest(each)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Manifest reads the file's record list, checking that every entry has a
// SHA-256 and that the keys ascend, and summarises it with the
// provenance. each (may be nil) is called for every entry, in order.
func (f *File) Manifest(each func(RecordRef) error) (*Manifest, error) {
	m := &Manifest{Format: f.Format, Fields: f.Fields}
	dg := newDigester()
	if err := f.Records(func(ref RecordRef) error {
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
	}); err != nil {
		return nil, err
	}
	m.Records, m.ListDigest = dg.n, dg.sum()
	m.Study, m.ChainID, m.Basis = f.Field(FieldStudy), f.Field(FieldChainID), f.Field(FieldBasis)
	m.AppHash, m.Digest = f.Field(FieldAppHash), f.Field(FieldDigest)
	var err error
	if m.Height, err = strconv.ParseInt(f.Field(FieldHeight), 10, 64); err != nil {
		return nil, fmt.Errorf("the export has no height in its provenance")
	}
	return m, nil
}

// Records calls each for every entry of the file's record list, in file
// order, without checking them (Manifest does).
func (f *File) Records(each func(RecordRef) error) error {
	switch f.Format {
	case FormatCSV, FormatDatasetJSON, FormatPDF:
		table, _ := f.RecordList()
		return f.eachRow(tRecords[1], func(row int, rec []string) error {
			return each(RecordRef{Key: rec[0], ValueSHA256: rec[1], Table: table, Row: row})
		})
	case FormatODM:
		return eachODMComment(f.data, nil, func(line int, k, v string) error {
			return each(RecordRef{Key: k, ValueSHA256: v, Table: odmRecordTable, Row: line})
		})
	}
	x, err := f.workbook()
	if err != nil {
		return err
	}
	defer x.Close()
	found := false
	for _, s := range x.GetSheetList() {
		if s == tRecords[0] || strings.HasPrefix(s, tRecords[0]+" (") {
			found = true
			if err := eachSheetRow(x, s, func(row int, c []string) error {
				return each(RecordRef{Key: c[0], ValueSHA256: c[1], Table: s, Row: row})
			}); err != nil {
				return err
			}
		}
	}
	if !found {
		return fmt.Errorf("the workbook has no %s sheet", tRecords[0])
	}
	return nil
}
