package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
)

// Export formats verify-export reads.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv" // a zip or a directory
	FormatODM  = "odm"
)

// Difference is one way an exported file departs from the ledger.
type Difference struct {
	// Kind: changed value, missing row, extra row, missing record, extra
	// record, changed record, provenance; prefixed by "altered audit
	// trail: " on the audit trail and "forged or altered signature: " on
	// the signatures.
	Kind string `json:"kind"`
	// Sheet (workbook), file (CSV) or "ODM".
	Sheet string `json:"sheet"`
	// Row is the 1-based row (line) in the file; for a missing row, the
	// row where the ledger's export has it.
	Row    int    `json:"row,omitempty"`
	Column string `json:"column,omitempty"` // letter and name ("E (VS.HR)")
	Path   string `json:"path,omitempty"`   // XML path (ODM)
	Key    string `json:"key,omitempty"`    // ledger key of the row
	File   string `json:"file,omitempty"`   // what the file says
	Ledger string `json:"ledger,omitempty"` // what the ledger says
}

// ExportReport is the outcome of VerifyExport.
type ExportReport struct {
	File    string `json:"file"`
	Format  string `json:"format"`
	Study   string `json:"study"`
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	// BlockHash and AppHash come from headers verified with the light
	// client (the app hash from the header of block height+1).
	BlockHash string `json:"block_hash"`
	AppHash   string `json:"app_hash"`
	// Records is the number of records the ledger has for the study at
	// the height; each was proven against AppHash.
	Records         int     `json:"records"`
	ProofsPerSecond float64 `json:"proofs_per_second"`
	// Digest is the dataset digest recomputed from the proven records;
	// FileDigest what the file claims.
	Digest     string `json:"digest"`
	FileDigest string `json:"file_digest"`
	// Identical is true when the file is byte for byte the export the
	// ledger's proven records render to.
	Identical   bool         `json:"identical"`
	Differences []Difference `json:"differences"`
	// Omitted counts differences beyond the first MaxDifferences.
	Omitted int     `json:"omitted,omitempty"`
	Seconds float64 `json:"seconds"`
}

// OK reports whether the file is exactly the ledger's export.
func (r *ExportReport) OK() bool { return len(r.Differences) == 0 && r.Omitted == 0 }

// MaxDifferences bounds the differences listed.
const MaxDifferences = 1000

// ExportOptions configures VerifyExport.
type ExportOptions struct {
	File string
	// Chain verifies the headers of the export's height (Primary is the
	// node read from; Genesis or the trust dir's root is the trust root).
	Chain ChainOptions
	// TmpDir for the re-rendered export (default: the system's).
	TmpDir string
	// Home places the default trust dir (<home>/audit/<chain-id>) when
	// Chain.TrustDir is empty.
	Home string
}

// ErrNotExport means the file is not a readable veritrial export.
var ErrNotExport = errors.New("not a veritrial export")

// exportFile is an export read into tables.
type exportFile struct {
	format string
	tables []table
	odm    []byte
	prov   map[string]string
	// records are the (key, value hash) rows of the record list, with
	// their rows.
	records []recordRow
	recName string
	// header is the number of header rows of every table: 2 in a
	// workbook (names, labels), 1 in CSV (names).
	header int
	// raw is the file's bytes (a CSV directory: as a zip); files the CSV
	// files by name.
	raw   []byte
	files map[string][]byte
}

// identical reports whether the file is byte for byte the ledger's
// export (CSV: every file).
func (ef *exportFile) identical(want *exportFile) bool {
	if ef.format != FormatCSV {
		return bytes.Equal(ef.raw, want.raw)
	}
	if len(ef.files) != len(want.files) {
		return false
	}
	for n, b := range want.files {
		if g, ok := ef.files[n]; !ok || !bytes.Equal(g, b) {
			return false
		}
	}
	return true
}

type table struct {
	name string
	rows [][]string
}

type recordRow struct {
	key, hash string
	sheet     string // empty: the record list's first sheet or file
	row       int
}

// VerifyExport checks an exported file against the ledger: it reads the
// provenance, verifies the headers of the export's height and the next
// with the light client, then runs CheckExport with the verified block
// context and the node's records.
func VerifyExport(ctx context.Context, o ExportOptions) (*ExportReport, error) {
	start := time.Now()
	ef, err := readExport(o.File)
	if err != nil {
		return nil, err
	}
	study, chainID, h, err := ef.claims(o.File)
	if err != nil {
		return nil, err
	}
	if o.Chain.ChainID == "" && o.Chain.Genesis == nil {
		o.Chain.ChainID = chainID
	}
	if o.Chain.TrustDir == "" {
		id := o.Chain.ChainID
		if o.Chain.Genesis != nil {
			id = o.Chain.Genesis.ChainID
		}
		o.Chain.TrustDir = DefaultTrustDir(o.Home, id)
	}
	lbH, lbN, err := verifiedPair(ctx, o.Chain, h)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(o.Chain.Primary)
	if err != nil {
		return nil, err
	}
	rep, err := checkExport(ctx, ef, o.File, study, cl.ABCIQuery, exportBlock(lbH, lbN), o.TmpDir)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// claims returns what the file says it is: study, chain ID, height.
func (ef *exportFile) claims(file string) (string, string, int64, error) {
	h, err := strconv.ParseInt(ef.prov["Height"], 10, 64)
	if err != nil || h < 1 || ef.prov["Study"] == "" {
		return "", "", 0, fmt.Errorf("%w: %s has no usable provenance (study and height)", ErrNotExport, file)
	}
	return ef.prov["Study"], ef.prov["Chain ID"], h, nil
}

// CheckExport checks an exported file against the records q serves at
// the height of block, whose app hash and context the caller has verified
// (VerifyExport takes them from headers verified by the light client):
// every record of the study is fetched with its ics23 proof and checked
// against block.AppHash; the file's record list is compared with the
// ledger's (nothing left out, nothing added, no value changed) and its
// dataset digest recomputed; then the ledger's export of the proven
// records is rendered with app/export and compared with the file table by
// table, row by row, cell by cell (element by element for ODM).
func CheckExport(ctx context.Context, file string, q client.QueryFunc, block export.Block, tmpDir string) (*ExportReport, error) {
	start := time.Now()
	ef, err := readExport(file)
	if err != nil {
		return nil, err
	}
	study, _, h, err := ef.claims(file)
	if err != nil {
		return nil, err
	}
	if h != block.Height {
		return nil, fmt.Errorf("%s is of height %d, not %d", file, h, block.Height)
	}
	rep, err := checkExport(ctx, ef, file, study, q, block, tmpDir)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func checkExport(ctx context.Context, ef *exportFile, file, study string, q client.QueryFunc, block export.Block, tmpDir string) (*ExportReport, error) {
	rep := &ExportReport{File: file, Format: ef.format, Study: study, ChainID: block.ChainID, Height: block.Height,
		BlockHash: block.Hash, AppHash: block.AppHash, FileDigest: ef.prov["Dataset digest (SHA-256)"], Differences: []Difference{}}
	if c := ef.prov["Chain ID"]; c != block.ChainID {
		rep.add(Difference{Kind: "provenance", Sheet: "Provenance", Key: "Chain ID", File: c, Ledger: block.ChainID})
	}
	root, err := hex.DecodeString(block.AppHash)
	if err != nil || len(root) != 32 {
		return nil, fmt.Errorf("app hash %q is not a 32-byte hash in hex", block.AppHash)
	}
	h := block.Height

	// Every record of the study at h, proven.
	records, pps, err := provenRecords(ctx, q, study, h, root)
	if err != nil {
		return nil, err
	}
	rep.Records, rep.ProofsPerSecond = len(records), pps
	entries := make([]types.ListEntry, 0, len(records))
	for k, v := range records {
		entries = append(entries, types.ListEntry{Key: k, Value: v})
	}
	if rep.Digest, err = export.DigestRecords(entries); err != nil {
		return nil, err
	}
	if rep.FileDigest != rep.Digest {
		rep.add(Difference{Kind: "provenance", Sheet: "Provenance", Key: "Dataset digest (SHA-256)", File: rep.FileDigest, Ledger: rep.Digest})
	}

	// The ledger's own export of the proven records (the exporter derives
	// the height basis from the study record itself).
	if records[string(types.KeyStudy(study))] == nil {
		return nil, fmt.Errorf("study %s is not registered on the ledger at height %d", study, h)
	}
	opt := export.Options{Study: study, Block: block, TmpDir: tmpDir, Version: strings.TrimPrefix(ef.prov["Software"], "veritrial ")}
	var buf bytes.Buffer
	mem := client.NewReader(client.MemQuery(h, records), h, nil)
	switch ef.format {
	case FormatXLSX:
		_, err = export.WriteXLSX(ctx, mem, opt, &buf)
	case FormatCSV:
		_, err = export.WriteCSVZip(ctx, mem, opt, &buf)
	case FormatODM:
		_, err = export.WriteODM(ctx, mem, opt, &buf)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering the ledger's export: %w", err)
	}
	want, err := parseExport(ef.format, buf.Bytes(), false)
	if err != nil {
		return nil, fmt.Errorf("reading the ledger's export: %w", err)
	}
	if ef.identical(want) {
		// Byte for byte the ledger's export of the proven records: its
		// record list, digest and every cell are the ledger's.
		rep.Identical = true
		return rep, nil
	}
	if ef, err = parseExport(ef.format, ef.raw, true); err != nil {
		return nil, err
	}
	if want, err = parseExport(want.format, want.raw, true); err != nil {
		return nil, fmt.Errorf("reading the ledger's export: %w", err)
	}
	manifestRecords(rep, ef, file)
	checkRecordList(rep, ef, records)
	if ef.format == FormatODM {
		compareODM(rep, ef.odm, want.odm)
		return rep, nil
	}
	// CSV files that are byte-identical need no comparison.
	var got, exp []table
	for _, t := range want.tables {
		if ef.format == FormatCSV && bytes.Equal(ef.files[t.name], want.files[t.name]) {
			continue
		}
		exp = append(exp, t)
	}
	for _, t := range ef.tables {
		if ef.format == FormatCSV && bytes.Equal(ef.files[t.name], want.files[t.name]) {
			continue
		}
		got = append(got, t)
	}
	compareBooks(rep, got, exp, ef.header)
	return rep, nil
}

func (r *ExportReport) add(d Difference) {
	if len(r.Differences) >= MaxDifferences {
		r.Omitted++
		return
	}
	r.Differences = append(r.Differences, d)
}

// verifiedPair returns the verified light blocks of h and h+1, verifying
// up to h+1 with VerifyChain when the trust dir does not hold them.
func verifiedPair(ctx context.Context, co ChainOptions, h int64) (*cmttypes.LightBlock, *cmttypes.LightBlock, error) {
	get := func() (*cmttypes.LightBlock, *cmttypes.LightBlock, error) {
		a, err := TrustedHeader(co.TrustDir, h)
		if err != nil {
			return nil, nil, err
		}
		b, err := TrustedHeader(co.TrustDir, h+1)
		return a, b, err
	}
	if a, b, err := get(); err == nil {
		return a, b, nil
	}
	if co.To == 0 || co.To < h+1 {
		co.To = h + 1
	}
	rep, err := VerifyChain(ctx, co)
	if err != nil {
		return nil, nil, err
	}
	if !rep.OK() {
		return nil, nil, fmt.Errorf("the headers up to height %d do not verify: height %d: %s", h+1, rep.Failure.Height, rep.Failure.Reason)
	}
	return get()
}

// exportBlock is the consensus context of the export from verified
// headers: the block of h, its commit (in the light block of h) and the
// app hash in the header of h+1.
func exportBlock(lbH, lbN *cmttypes.LightBlock) export.Block {
	b := export.Block{ChainID: lbH.ChainID, Height: lbH.Height, Time: lbH.Time.UTC(), Hash: fmt.Sprintf("%X", lbH.Hash()),
		AppHash: fmt.Sprintf("%X", []byte(lbN.AppHash)), NextHash: fmt.Sprintf("%X", lbN.Hash())}
	signed := map[string]bool{}
	for _, s := range lbH.Commit.Signatures {
		if s.BlockIDFlag == cmttypes.BlockIDFlagCommit {
			signed[s.ValidatorAddress.String()] = true
		}
	}
	for _, v := range lbH.ValidatorSet.Validators {
		b.Validators = append(b.Validators, export.Validator{Address: v.Address.String(), PubKey: base64.StdEncoding.EncodeToString(v.PubKey.Bytes()),
			Power: v.VotingPower, Signed: signed[v.Address.String()]})
	}
	return b
}

// provenRecords reads every record an export of study covers at height
// h through q, each proven against root; it returns the records and the
// proofs verified per second.
func provenRecords(ctx context.Context, q client.QueryFunc, study string, h int64, root []byte) (map[string][]byte, float64, error) {
	r := client.NewReader(q, h, client.FixedRoot(h, root))
	out := map[string][]byte{}
	if err := export.WalkRecords(ctx, r, study, func(e types.ListEntry) error {
		out[e.Key] = e.Value
		return nil
	}); err != nil {
		if errors.Is(err, client.ErrProof) {
			return nil, 0, fmt.Errorf("the node served a record that does not match the verified app hash: it is not serving the ledger: %w", err)
		}
		return nil, 0, err
	}
	pps := 0.0
	if n, d := r.Proofs(); d > 0 {
		pps = float64(n) / d.Seconds()
	}
	return out, pps, nil
}

// xlsxMaxRecordRows is how many records one Records sheet holds before
// the list continues on "Records (2)" (docs/EXPORT.md).
const xlsxMaxRecordRows = 1_048_574

// manifestRecords reads the file's record list with export.ReadManifest
// (which undoes the ODM comment escaping and follows continuation
// sheets) and checks it hashes to the file's digest; rows are located as
// docs/EXPORT.md lays them out. A list it cannot read is a difference, and
// the list parsed with the tables is kept.
func manifestRecords(rep *ExportReport, ef *exportFile, file string) {
	var refs []recordRow
	m, err := export.ReadManifest(file, func(r export.RecordRef) error {
		i := len(refs)
		rr := recordRow{key: r.Key, hash: r.ValueSHA256}
		switch ef.format {
		case FormatXLSX:
			rr.row = i%xlsxMaxRecordRows + 3
			if part := i / xlsxMaxRecordRows; part > 0 {
				rr.sheet = fmt.Sprintf("Records (%d)", part+1)
			}
		case FormatCSV:
			rr.row = i + 2
		case FormatODM:
			if i < len(ef.records) {
				rr.row = ef.records[i].row
			}
		}
		refs = append(refs, rr)
		return nil
	})
	if err != nil {
		rep.add(Difference{Kind: "record list", Sheet: ef.recName, File: err.Error(), Ledger: "a list of every record in ascending key order"})
		return
	}
	if m.ListDigest != m.Digest {
		rep.add(Difference{Kind: "provenance", Sheet: ef.recName, Key: "record list digest", File: m.ListDigest + " (the list)", Ledger: m.Digest + " (the digest the file states)"})
	}
	ef.records = refs
}

// checkRecordList compares the file's record list with the ledger's.
func checkRecordList(rep *ExportReport, ef *exportFile, records map[string][]byte) {
	seen := map[string]bool{}
	lastRow := ef.header
	for _, r := range ef.records {
		lastRow = r.row
		sheet := ef.recName
		if r.sheet != "" {
			sheet = r.sheet
		}
		v, ok := records[r.key]
		switch {
		case seen[r.key]:
			rep.add(Difference{Kind: "extra record", Sheet: sheet, Row: r.row, Column: "A (ledger_key)", Key: r.key, File: r.key, Ledger: "listed twice"})
		case !ok:
			rep.add(Difference{Kind: "extra record", Sheet: sheet, Row: r.row, Column: "A (ledger_key)", Key: r.key, File: r.key, Ledger: "no such record at this height"})
		case sha(v) != r.hash:
			rep.add(Difference{Kind: "changed record", Sheet: sheet, Row: r.row, Column: "B (value_sha256)", Key: r.key, File: r.hash, Ledger: sha(v)})
		}
		seen[r.key] = true
	}
	var missing []string
	for k := range records {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		rep.add(Difference{Kind: "missing record", Sheet: ef.recName, Row: lastRow + 1, Key: k, Ledger: sha(records[k]), File: "not listed"})
	}
}

// readExport reads an export file (xlsx, CSV zip or directory, ODM).
func readExport(path string) (*exportFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.IsDir() {
		z, err := zipDir(path)
		if err != nil {
			return nil, err
		}
		return parseExport(FormatCSV, z, false)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not a valid zip file: %v", ErrNotExport, path, err)
		}
		for _, f := range zr.File {
			if f.Name == "[Content_Types].xml" {
				return parseExport(FormatXLSX, data, false)
			}
		}
		return parseExport(FormatCSV, data, false)
	case bytes.Contains(data[:min(len(data), 4096)], []byte("<ODM")) || bytes.HasPrefix(bytes.TrimSpace(data), []byte("<?xml")):
		return parseExport(FormatODM, data, false)
	}
	return nil, fmt.Errorf("%w: %s is neither a workbook, a CSV export (zip or directory) nor an ODM file", ErrNotExport, path)
}

// zipDir packs a CSV export directory as the zip parseExport reads.
func zipDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		bz, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		w, err := zw.Create(e.Name())
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(bz); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseExport reads export bytes into tables.
//
// Without full only the provenance is read (the rest when the file is
// not byte-identical to the ledger's export).
func parseExport(format string, data []byte, full bool) (*exportFile, error) {
	ef := &exportFile{format: format, prov: map[string]string{}, header: 2, raw: data}
	if format == FormatCSV {
		ef.header = 1
	}
	switch format {
	case FormatXLSX:
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: not a readable workbook: %v", ErrNotExport, err)
		}
		defer f.Close()
		for _, name := range f.GetSheetList() {
			if !full && !strings.HasPrefix(name, "Provenance") {
				continue
			}
			rows, err := f.GetRows(name)
			if err != nil {
				return nil, fmt.Errorf("sheet %s: %w", name, err)
			}
			ef.tables = append(ef.tables, table{name: name, rows: rows})
		}
	case FormatCSV:
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		files := append([]*zip.File(nil), zr.File...)
		sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		ef.files = map[string][]byte{}
		for _, zf := range files {
			if !strings.HasSuffix(zf.Name, ".csv") {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			bz, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("%s cannot be read: %w", zf.Name, err)
			}
			ef.files[zf.Name] = bz
			if !full && zf.Name != "provenance.csv" {
				continue
			}
			cr := csv.NewReader(bytes.NewReader(bz))
			cr.FieldsPerRecord = -1
			rows, err := cr.ReadAll()
			if err != nil {
				return nil, fmt.Errorf("%s is not valid CSV: %w", zf.Name, err)
			}
			ef.tables = append(ef.tables, table{name: zf.Name, rows: rows})
		}
	case FormatODM:
		ef.odm = data
		parseODMProvenance(ef)
		return ef, nil
	}
	for _, t := range ef.tables {
		base := strings.TrimSuffix(t.name, ".csv")
		switch {
		case strings.EqualFold(base, "Provenance") || strings.HasPrefix(base, "Provenance"):
			for _, r := range t.rows {
				if len(r) >= 2 {
					ef.prov[r[0]] = r[1]
				}
			}
		case strings.EqualFold(base, "Records") || strings.HasPrefix(base, "Records"):
			if ef.recName == "" {
				ef.recName = t.name
			}
			for i, r := range t.rows {
				if i < ef.header || len(r) < 2 {
					continue
				}
				ef.records = append(ef.records, recordRow{key: r[0], hash: r[1], row: i + 1})
			}
		}
	}
	if ef.recName == "" {
		ef.recName = "Records"
	}
	return ef, nil
}

// compareBooks compares the file's tables with the ledger's export.
func compareBooks(rep *ExportReport, got, want []table, header int) {
	gm := map[string]table{}
	for _, t := range got {
		gm[t.name] = t
	}
	wm := map[string]bool{}
	for _, w := range want {
		wm[w.name] = true
		g, ok := gm[w.name]
		if !ok {
			rep.add(Difference{Kind: "missing sheet", Sheet: w.name, Ledger: fmt.Sprintf("%d rows", len(w.rows))})
			continue
		}
		compareTable(rep, w.name, g.rows, w.rows, header)
	}
	for _, g := range got {
		if !wm[g.name] {
			rep.add(Difference{Kind: "extra sheet", Sheet: g.name, File: fmt.Sprintf("%d rows", len(g.rows))})
		}
	}
}

// compareTable aligns rows by their ledger key (the column named
// ledger_key) when the table has one, else by content, and reports
// changed cells, missing rows and extra rows.
func compareTable(rep *ExportReport, sheet string, got, want [][]string, headerRows int) {
	prefix := ""
	switch strings.TrimSuffix(sheet, ".csv") {
	case "Audit trail", "audit_trail":
		prefix = "altered audit trail: "
	case "Signatures", "signatures":
		prefix = "forged or altered signature: "
	}
	if strings.HasPrefix(sheet, "Provenance") || strings.HasPrefix(sheet, "provenance") {
		prefix = "provenance: "
	}
	var names []string
	if len(want) > 0 {
		names = want[0]
	}
	colName := func(i int) string {
		l, _ := excelize.ColumnNumberToName(i + 1)
		if i < len(names) {
			return l + " (" + names[i] + ")"
		}
		return l
	}
	keyCol := -1
	for i, n := range names {
		if n == "ledger_key" {
			keyCol = i
		}
	}
	cell := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	keyOf := func(r []string) string {
		if keyCol < 0 {
			return ""
		}
		return cell(r, keyCol)
	}
	// Header rows: positional.
	for i := 0; i < headerRows && (i < len(got) || i < len(want)); i++ {
		var g, w []string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		for c := 0; c < max(len(g), len(w)); c++ {
			if cell(g, c) != cell(w, c) {
				rep.add(Difference{Kind: prefix + "changed header", Sheet: sheet, Row: i + 1, Column: colName(c), File: cell(g, c), Ledger: cell(w, c)})
			}
		}
	}
	type rowRef struct {
		n   int // 1-based row
		row []string
	}
	group := func(rows [][]string) (map[string][]rowRef, []string) {
		m := map[string][]rowRef{}
		var order []string
		for i := headerRows; i < len(rows); i++ {
			k := keyOf(rows[i])
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], rowRef{i + 1, rows[i]})
		}
		return m, order
	}
	gg, gorder := group(got)
	wg, worder := group(want)
	join := func(r []string) string { return strings.Join(r, "\x1f") }
	for _, k := range worder {
		ws, gs := wg[k], gg[k]
		// Identical rows match first.
		used := make([]bool, len(gs))
		var wl []rowRef
		for _, w := range ws {
			found := false
			for j, g := range gs {
				if !used[j] && join(g.row) == join(w.row) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				wl = append(wl, w)
			}
		}
		var gl []rowRef
		for j, g := range gs {
			if !used[j] {
				gl = append(gl, g)
			}
		}
		// Leftovers pair up as changed rows; the rest are missing or extra.
		for len(wl) > 0 && len(gl) > 0 {
			w, g := wl[0], gl[0]
			wl, gl = wl[1:], gl[1:]
			for c := 0; c < max(len(g.row), len(w.row)); c++ {
				if cell(g.row, c) != cell(w.row, c) {
					rep.add(Difference{Kind: prefix + "changed value", Sheet: sheet, Row: g.n, Column: colName(c), Key: k, File: cell(g.row, c), Ledger: cell(w.row, c)})
				}
			}
		}
		for _, w := range wl {
			rep.add(Difference{Kind: prefix + "missing row", Sheet: sheet, Row: w.n, Key: k, Ledger: summarize(w.row), File: "absent"})
		}
		for _, g := range gl {
			rep.add(Difference{Kind: prefix + "extra row", Sheet: sheet, Row: g.n, Key: k, File: summarize(g.row), Ledger: "absent"})
		}
	}
	for _, k := range gorder {
		if _, ok := wg[k]; ok {
			continue
		}
		for _, g := range gg[k] {
			rep.add(Difference{Kind: prefix + "extra row", Sheet: sheet, Row: g.n, Key: k, File: summarize(g.row), Ledger: "no such record"})
		}
	}
}

func summarize(r []string) string {
	s := strings.Join(r, " | ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func sha(v []byte) string {
	return fmt.Sprintf("%x", sha256Sum(v))
}

func sha256Sum(v []byte) [32]byte { return sha256.Sum256(v) }

// parseODMProvenance reads the provenance comment before the root element
// ("Label: value" lines) and the record list comment after it ("key TAB
// hash" lines).
func parseODMProvenance(ef *exportFile) {
	ef.recName = "ODM (records comment)"
	lines := strings.Split(string(ef.odm), "\n")
	inRoot := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "<ODM") {
			inRoot = true
		}
		if !inRoot {
			if k, v, ok := strings.Cut(l, ": "); ok && !strings.Contains(k, "<") {
				if _, dup := ef.prov[k]; !dup {
					ef.prov[k] = v
				}
			}
			continue
		}
		if k, v, ok := strings.Cut(l, "\t"); ok && !strings.Contains(l, "<") && len(v) == 64 {
			ef.records = append(ef.records, recordRow{key: k, hash: v, row: i + 1})
		}
	}
}

// xmlNode is one element start or text of an ODM file.
type xmlNode struct {
	path, content string
	line          int
}

// flattenODM lists the elements (with their attributes) and texts of an
// ODM document; paths name identifying attributes (…OID, …Key).
func flattenODM(data []byte) ([]xmlNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	var out []xmlNode
	line := func() int { l, _ := dec.InputPos(); return l }
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			seg := t.Name.Local
			var ids, attrs []string
			for _, a := range t.Attr {
				attrs = append(attrs, a.Name.Local+"="+a.Value)
				if strings.HasSuffix(a.Name.Local, "OID") || strings.HasSuffix(a.Name.Local, "Key") {
					ids = append(ids, "@"+a.Name.Local+"="+a.Value)
				}
			}
			if len(ids) > 0 {
				seg += "[" + strings.Join(ids, ",") + "]"
			}
			stack = append(stack, seg)
			sort.Strings(attrs)
			out = append(out, xmlNode{path: "/" + strings.Join(stack, "/"), content: strings.Join(attrs, "; "), line: line()})
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if txt := strings.TrimSpace(string(t)); txt != "" {
				out = append(out, xmlNode{path: "/" + strings.Join(stack, "/") + "/text()", content: txt, line: line()})
			}
		}
	}
}

// compareODM compares the file's ODM with the ledger's, element by
// element, grouped by path.
func compareODM(rep *ExportReport, got, want []byte) {
	gp, gw := map[string]string{}, map[string]string{}
	parseProv := func(data []byte, m map[string]string) {
		ef := &exportFile{odm: data, prov: m}
		parseODMProvenance(ef)
	}
	parseProv(got, gp)
	parseProv(want, gw)
	var labels []string
	for k := range gw {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		if gp[k] != gw[k] {
			rep.add(Difference{Kind: "provenance", Sheet: "ODM", Path: "comment/" + k, File: gp[k], Ledger: gw[k]})
		}
	}
	g, err := flattenODM(got)
	if err != nil {
		rep.add(Difference{Kind: "not well-formed XML", Sheet: "ODM", File: err.Error()})
		return
	}
	w, err := flattenODM(want)
	if err != nil {
		rep.add(Difference{Kind: "internal", Sheet: "ODM", Ledger: err.Error()})
		return
	}
	group := func(ns []xmlNode) (map[string][]xmlNode, []string) {
		m := map[string][]xmlNode{}
		var order []string
		for _, n := range ns {
			if _, ok := m[n.path]; !ok {
				order = append(order, n.path)
			}
			m[n.path] = append(m[n.path], n)
		}
		return m, order
	}
	gg, gorder := group(g)
	wg, worder := group(w)
	for _, p := range worder {
		ws, gs := wg[p], gg[p]
		used := make([]bool, len(gs))
		var wl []xmlNode
		for _, x := range ws {
			found := false
			for j, y := range gs {
				if !used[j] && y.content == x.content {
					used[j], found = true, true
					break
				}
			}
			if !found {
				wl = append(wl, x)
			}
		}
		var gl []xmlNode
		for j, y := range gs {
			if !used[j] {
				gl = append(gl, y)
			}
		}
		for len(wl) > 0 && len(gl) > 0 {
			rep.add(Difference{Kind: odmKind(p, "changed value"), Sheet: "ODM", Row: gl[0].line, Path: p, File: gl[0].content, Ledger: wl[0].content})
			wl, gl = wl[1:], gl[1:]
		}
		for _, x := range wl {
			rep.add(Difference{Kind: odmKind(p, "missing element"), Sheet: "ODM", Path: p, File: "absent", Ledger: x.content})
		}
		for _, y := range gl {
			rep.add(Difference{Kind: odmKind(p, "extra element"), Sheet: "ODM", Row: y.line, Path: p, File: y.content, Ledger: "absent"})
		}
	}
	for _, p := range gorder {
		if _, ok := wg[p]; ok {
			continue
		}
		for _, y := range gg[p] {
			rep.add(Difference{Kind: odmKind(p, "extra element"), Sheet: "ODM", Row: y.line, Path: p, File: y.content, Ledger: "absent"})
		}
	}
}

func odmKind(path, base string) string {
	switch {
	case strings.Contains(path, "AuditRecord"):
		return "altered audit trail: " + base
	case strings.Contains(path, "Signature"):
		return "forged or altered signature: " + base
	}
	return base
}
