package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/protocol"
)

// DatasetJSONVersion is the CDISC Dataset-JSON version the export writes.
const DatasetJSONVersion = "1.1.0"

// WriteDatasetJSON exports the study as CDISC Dataset-JSON v1.1 to w: a
// zip (entries in name order, dated with the block time) of one dataset
// per table of WriteCSVDir, form_<OID>.json for each form with its item
// metadata from the protocol, and the trails, record list and provenance
// as datasets of their own. Values are the exact ledger strings.
func WriteDatasetJSON(ctx context.Context, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	d, err := load(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opt.TmpDir, "veritrial-export-dsj-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := d.writeTables(&dsjBook{d: d, dir: tmp}); err != nil {
		return nil, err
	}
	if err := zipDir(tmp, w, opt.Block.Time.UTC()); err != nil {
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// dsjFile is the Dataset-JSON file name of a table's CSV file name.
func dsjFile(csvFile string) string { return strings.TrimSuffix(csvFile, ".csv") + ".json" }

// dsjBook writes each table as one Dataset-JSON file. The rows go to a
// spool file first: the dataset's metadata, which precedes them, holds
// their number.
type dsjBook struct {
	d   *dataset
	dir string
}

// dsjColumn is a column's Dataset-JSON metadata, in the order written.
type dsjColumn struct {
	ItemOID        string `json:"itemOID"`
	Name           string `json:"name"`
	Label          string `json:"label"`
	DataType       string `json:"dataType"`
	TargetDataType string `json:"targetDataType,omitempty"`
	Length         int    `json:"length,omitempty"`
	KeySequence    int    `json:"keySequence,omitempty"`
}

// dsjSource is the Dataset-JSON sourceSystem.
type dsjSource struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// dsjHeader is a dataset's metadata before its columns, in the order
// written.
type dsjHeader struct {
	Created            string    `json:"datasetJSONCreationDateTime"`
	Version            string    `json:"datasetJSONVersion"`
	FileOID            string    `json:"fileOID"`
	LastModified       string    `json:"dbLastModifiedDateTime"`
	Originator         string    `json:"originator"`
	SourceSystem       dsjSource `json:"sourceSystem"`
	StudyOID           string    `json:"studyOID"`
	MetaDataVersionOID string    `json:"metaDataVersionOID"`
	ItemGroupOID       string    `json:"itemGroupOID"`
	Records            int64     `json:"records"`
	Name               string    `json:"name"`
	Label              string    `json:"label"`
}

// dsjInteger is the dataType of a column whose integer cells are JSON
// numbers.
const dsjInteger = "integer"

// dsjItemType is the Dataset-JSON dataType of an item's column: integers
// (yes/no included, and a choice whose codes are all integers) are JSON
// numbers, exact decimals strings of dataType decimal, dates, date-times
// and times ISO 8601 strings, anything else a string.
func dsjItemType(c *itemCol) string {
	switch c.item.Type {
	case protocol.TypeInteger, protocol.TypeYesNo:
		return dsjInteger
	case protocol.TypeChoice:
		if codeListType(c.codeOrder) == "integer" {
			return dsjInteger
		}
	case protocol.TypeDecimal:
		return "decimal"
	case protocol.TypeDate:
		return "date"
	case protocol.TypeDateTime:
		return "datetime"
	case protocol.TypeTime:
		return "time"
	}
	return "string"
}

func (b *dsjBook) table(name, file string, cols []column, freeze int) (table, error) {
	spool, err := os.CreateTemp(b.dir, "rows-*.tmp")
	if err != nil {
		return nil, err
	}
	d := b.d
	base := strings.TrimSuffix(file, ".csv")
	group := "IG." + base
	label := tableTitle(name)
	if strings.HasPrefix(name, formTablePrefix) {
		lay := d.formByID[tableTitle(name)]
		base, group, label = lay.oid, "F."+lay.oid, nonEmpty(lay.name, lay.oid)
	}
	stamp := d.opt.Block.Time.UTC().Format("2006-01-02T15:04:05Z")
	t := &dsjTable{spool: spool, bw: bufio.NewWriterSize(spool, 64<<10), path: filepath.Join(b.dir, dsjFile(file)),
		head: dsjHeader{Created: stamp, Version: DatasetJSONVersion, FileOID: FileOID(d.opt.Block.ChainID, d.study.ID, d.opt.Block.Height) + "." + base,
			LastModified: stamp, Originator: d.opt.Block.ChainID, SourceSystem: dsjSource{"veritrial", nonEmpty(d.opt.Version, "dev")},
			StudyOID: d.study.ID, MetaDataVersionOID: oidMDV + itoa(d.current.Number), ItemGroupOID: group, Name: base, Label: label}}
	for i, c := range cols {
		oid := group + "." + c.name
		if c.item {
			oid = "I." + c.name
		}
		dc := dsjColumn{ItemOID: oid, Name: c.name, Label: c.label, DataType: nonEmpty(c.dataType, "string")}
		switch dc.DataType {
		case "decimal":
			dc.TargetDataType = "decimal"
		case "string":
			dc.Length = c.length
		}
		if i < freeze {
			dc.KeySequence = i + 1
		}
		t.cols = append(t.cols, dc)
		t.ints = append(t.ints, dc.DataType == dsjInteger)
	}
	return t, nil
}

// dsjTable is one dataset being written.
type dsjTable struct {
	spool *os.File
	bw    *bufio.Writer
	path  string
	head  dsjHeader
	cols  []dsjColumn
	ints  []bool // the column is of dataType integer
	buf   []byte
}

// row writes one row on a line: a blank cell is null, an integer cell of
// an integer column a JSON number, any other cell a JSON string.
func (t *dsjTable) row(cells []cell) error {
	b := t.buf[:0]
	if t.head.Records > 0 {
		b = append(b, ",\n"...)
	}
	b = append(b, '[')
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case c.s == "":
			b = append(b, "null"...)
		case c.k == cInt && i < len(t.ints) && t.ints[i]:
			b = append(b, c.s...)
		default:
			b = appendJSONString(b, c.s)
		}
	}
	t.buf = append(b, ']')
	t.head.Records++
	_, err := t.bw.Write(t.buf)
	return err
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it; printable ASCII that needs no escape is copied as it is.
func appendJSONString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	j, _ := json.Marshal(s) // a string always marshals
	return append(b, j...)
}

// close writes the dataset: its metadata, one column per line, then the
// spooled rows.
func (t *dsjTable) close() error {
	defer os.Remove(t.spool.Name())
	defer t.spool.Close()
	if err := t.bw.Flush(); err != nil {
		return err
	}
	head, err := json.Marshal(t.head)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", t.path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	w.Write(head[:len(head)-1])
	w.WriteString(`,"columns":[`)
	for i, c := range t.cols {
		j, err := json.Marshal(c)
		if err != nil {
			f.Close()
			return err
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n")
		w.Write(j)
	}
	w.WriteString("\n],\"rows\":[\n")
	if _, err := t.spool.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(w, t.spool); err != nil {
		f.Close()
		return err
	}
	if t.head.Records > 0 {
		w.WriteString("\n")
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dsjHeaderRows is how many rows lead a Dataset-JSON table read back:
// column names, labels, the columns' other metadata, the dataset's.
const dsjHeaderRows = 4

// readDatasetJSON reads one dataset as a table: the column names, their
// labels, each column's other metadata (compact JSON, keys sorted), the
// dataset's metadata (one "name=JSON" cell per member other than columns
// and rows, in name order), then one row per row of rows, a null cell
// blank, a string its text, a number its literal text. The rows are
// decoded one at a time (a member given twice counts once: the last).
func readDatasetJSON(data []byte) ([][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var names, labels, meta []string
	info := map[string]string{}
	var rows [][]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch key {
		case "columns":
			var cols []map[string]json.RawMessage
			if err := dec.Decode(&cols); err != nil {
				return nil, fmt.Errorf("columns: %w", err)
			}
			names, labels, meta = make([]string, len(cols)), make([]string, len(cols)), make([]string, len(cols))
			for i, c := range cols {
				names[i], labels[i] = jsonCell(c["name"]), jsonCell(c["label"])
				delete(c, "name")
				delete(c, "label")
				j, _ := json.Marshal(c) // keys sorted
				meta[i] = string(j)
			}
		case "rows":
			if rows, err = readRows(dec); err != nil {
				return nil, fmt.Errorf("rows: %w", err)
			}
		default:
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			info[key] = key + "=" + c.String()
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	var head []string
	for _, k := range slices.Sorted(maps.Keys(info)) {
		head = append(head, info[k])
	}
	return append([][]string{names, labels, meta, head}, rows...), nil
}

// readRows reads the rows array, one row at a time.
func readRows(dec *json.Decoder) ([][]string, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var out [][]string
	var raw []json.RawMessage
	for dec.More() {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("row %d: %w", len(out)+1, err)
		}
		rec := make([]string, len(raw))
		for i, v := range raw {
			rec[i] = jsonCell(v)
		}
		out = append(out, rec)
	}
	return out, expectDelim(dec, ']')
}

// jsonCell is the text of one JSON value: null (or nothing) blank, a
// string its text, anything else its JSON text.
func jsonCell(v json.RawMessage) string {
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] != '"':
		return string(v)
	case !bytes.ContainsRune(v, '\\'):
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s) // the decoder has checked it is a JSON string
	return s
}

// expectDelim reads the next token, which must be the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("%v where %v was expected", tok, d)
	}
	return nil
}
