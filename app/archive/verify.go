package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
)

// Problem is one way a bundle fails verification, located: the part
// (entry name), and within it the place (a height, a line and record
// key, a sheet, row and column).
type Problem struct {
	Part    string `json:"part"`
	Place   string `json:"place,omitempty"`
	Problem string `json:"problem"`
}

// ExportCheck is the outcome for one export of the bundle.
type ExportCheck struct {
	Part        string `json:"part"`
	Format      string `json:"format"`
	Identical   bool   `json:"identical"`
	Differences int    `json:"differences"`
}

// Report is the outcome of Verify.
type Report struct {
	Study   string `json:"study"`
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	Basis   string `json:"height_basis"`
	// BlockHash is the hash of the header of Height, AppHash the app hash
	// in the header of Height+1, both verified from the genesis.
	BlockHash   string        `json:"block_hash"`
	AppHash     string        `json:"app_hash"`
	LightBlocks int           `json:"light_blocks"`
	Changes     int           `json:"validator_set_changes"`
	Records     int           `json:"records"`
	Digest      string        `json:"dataset_digest"`
	Exports     []ExportCheck `json:"exports"`
	Problems    []Problem     `json:"problems"`
	// Omitted counts problems beyond the first MaxProblems.
	Omitted int     `json:"omitted,omitempty"`
	Seconds float64 `json:"seconds"`
}

// OK reports whether the bundle verified with no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// MaxProblems bounds the problems listed.
const MaxProblems = 1000

func (r *Report) add(part, place, format string, args ...any) {
	if len(r.Problems) >= MaxProblems {
		r.Omitted++
		return
	}
	r.Problems = append(r.Problems, Problem{Part: part, Place: place, Problem: fmt.Sprintf(format, args...)})
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// TmpDir for the exports rendered to compare with (default: the
	// system's).
	TmpDir string
	// Now is the verifier's clock (default time.Now): no header may be
	// from its future.
	Now func() time.Time
}

// verifier is one run of Verify, reading the bundle entry by entry.
type verifier struct {
	ctx     context.Context
	o       VerifyOptions
	rep     *Report
	m       *Manifest
	chain   *chainCheck
	broken  bool                 // a light block failed: the rest is not verified from the genesis
	prev    *cmttypes.LightBlock // the light block before the last
	records map[string][]byte
	block   export.Block
}

// Verify checks the bundle read from r with no network: the manifest
// and every part's size and SHA-256; the light blocks from the genesis
// (chainCheck), ending with the blocks of the manifest's height and the
// next, whose app hash the manifest names; every record's proof against
// that app hash; and every export against the records
// (audit.CheckExportRecords), each difference located. Problems with
// the bundle are reported, not returned as errors; an error is a failure
// of the verifier itself (its temporary files).
func Verify(ctx context.Context, r io.Reader, o VerifyOptions) (*Report, error) {
	start := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &verifier{ctx: ctx, o: o, rep: &Report{Exports: []ExportCheck{}, Problems: []Problem{}}, records: map[string][]byte{}}
	err := v.run(tar.NewReader(r))
	v.rep.Seconds = time.Since(start).Seconds()
	return v.rep, err
}

func (v *verifier) run(tr *tar.Reader) error {
	if !v.manifest(tr) {
		return nil
	}
	for i, p := range v.m.Parts {
		hdr, err := tr.Next()
		if err != nil {
			what := "the bundle is damaged before it"
			if errors.Is(err, io.EOF) {
				what = "missing: the bundle ends before it (truncated?)"
			}
			v.rep.add(p.Name, fmt.Sprintf("entry %d", i+2), "%s (%v; %d of the manifest's %d parts were read)", what, err, i, len(v.m.Parts))
			return nil
		}
		if hdr.Name != p.Name {
			v.rep.add(hdr.Name, fmt.Sprintf("entry %d", i+2), "the manifest lists %s here: a reordered, renamed or foreign entry", p.Name)
			return nil
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size != p.Size {
			v.rep.add(p.Name, "", "the entry is %d bytes (type %q), the manifest lists %d bytes", hdr.Size, hdr.Typeflag, p.Size)
			if hdr.Size > limit(p.Kind) {
				return nil
			}
		}
		hr := &hashReader{r: io.LimitReader(tr, hdr.Size), h: sha256.New()}
		ok, err := v.part(p, hr, hdr.Size)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, hr); err != nil || hr.n < hdr.Size {
			v.rep.add(p.Name, fmt.Sprintf("byte %d", hr.n), "truncated: the bundle ends inside this part (%d of %d bytes)", hr.n, hdr.Size)
			return nil
		}
		if got := hex.EncodeToString(hr.h.Sum(nil)); got != p.SHA256 {
			v.rep.add(p.Name, "", "SHA-256 %s, the manifest lists %s: the part was altered", got, p.SHA256)
		}
		if !ok {
			return nil
		}
	}
	if hdr, err := tr.Next(); err == nil {
		v.rep.add(hdr.Name, fmt.Sprintf("entry %d", len(v.m.Parts)+2), "an entry the manifest does not list")
	} else if !errors.Is(err, io.EOF) {
		v.rep.add("bundle", "end", "damaged after the last part: %v", err)
	}
	v.finish()
	return nil
}

// manifest reads and checks the first entry; false when nothing further
// can be verified.
func (v *verifier) manifest(tr *tar.Reader) bool {
	hdr, err := tr.Next()
	if err != nil {
		v.rep.add(ManifestName, "entry 1", "not a readable tar file (empty, truncated or another format): %v", err)
		return false
	}
	if hdr.Name != ManifestName {
		v.rep.add(hdr.Name, "entry 1", "the first entry must be %s", ManifestName)
		return false
	}
	if hdr.Size > MaxManifest {
		v.rep.add(ManifestName, "", "%d bytes, over the limit of %d: refused unread", hdr.Size, MaxManifest)
		return false
	}
	data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil {
		v.rep.add(ManifestName, "", "truncated: the bundle ends inside the manifest (%v)", err)
		return false
	}
	m := &Manifest{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		v.rep.add(ManifestName, jsonPlace(data, err), "not a valid manifest: %v", err)
		return false
	}
	v.m = m
	v.rep.Study, v.rep.ChainID, v.rep.Height, v.rep.Basis = m.Study, m.ChainID, m.Height, m.Basis
	bad := func(i int, format string, args ...any) bool {
		v.rep.add(ManifestName, fmt.Sprintf("parts[%d]", i), format, args...)
		return false
	}
	if m.Format != FormatVersion {
		v.rep.add(ManifestName, "format", "format %q, this verifier reads %q", m.Format, FormatVersion)
		return false
	}
	if len(m.Parts) > MaxParts+1 {
		v.rep.add(ManifestName, "parts", "%d parts, over the limit of %d", len(m.Parts), MaxParts+1)
		return false
	}
	// The order: the genesis, light blocks in ascending height, the
	// records, one or more exports.
	order := []string{KindGenesis, KindLightBlock, KindRecords, KindExport}
	stage, last, names := -1, int64(0), map[string]bool{}
	for i, p := range m.Parts {
		k := 0
		for k < len(order) && order[k] != p.Kind {
			k++
		}
		switch {
		case k == len(order):
			return bad(i, "unknown kind %q", p.Kind)
		case k < stage || (k == stage && p.Kind != KindLightBlock && p.Kind != KindExport) || k > stage+1:
			return bad(i, "%s %s out of order: the genesis, the light blocks, the records and the exports follow one another", p.Kind, p.Name)
		case names[p.Name]:
			return bad(i, "%s is listed twice", p.Name)
		case p.Size < 0 || p.Size > limit(p.Kind):
			return bad(i, "%s: %d bytes, over the limit of %d for a %s", p.Name, p.Size, limit(p.Kind), p.Kind)
		case len(p.SHA256) != 64:
			return bad(i, "%s: %q is not a SHA-256 in hex", p.Name, p.SHA256)
		case p.Kind == KindLightBlock && (p.Height <= last || p.Name != lightBlockName(p.Height)):
			return bad(i, "light block %s of height %d: heights must ascend and name the entry", p.Name, p.Height)
		case p.Kind == KindExport && p.Name != exportName(p.Format):
			return bad(i, "export %s of format %q: the format names the entry", p.Name, p.Format)
		}
		if p.Kind == KindLightBlock {
			last = p.Height
		}
		stage, names[p.Name] = k, true
	}
	if stage != len(order)-1 {
		v.rep.add(ManifestName, "parts", "the manifest lists no export, or lacks the genesis, the light blocks or the records")
		return false
	}
	return true
}

// part checks the content of one part; false when nothing further can
// be verified.
func (v *verifier) part(p Part, body io.Reader, size int64) (bool, error) {
	if p.Kind == KindRecords {
		v.recordsPart(p, body)
		return true, nil
	}
	data, err := io.ReadAll(body)
	if err != nil || int64(len(data)) < size {
		// Truncated: run reports it.
		return false, nil
	}
	switch p.Kind {
	case KindGenesis:
		g, err := cmttypes.GenesisDocFromJSON(data)
		if err != nil {
			v.rep.add(p.Name, "", "not a valid genesis: %v", err)
			return false, nil
		}
		if g.ChainID != v.m.ChainID {
			v.rep.add(p.Name, "chain_id", "the genesis is of chain %q, the manifest names %q", g.ChainID, v.m.ChainID)
		}
		v.chain = &chainCheck{g: g, now: v.o.Now()}
	case KindLightBlock:
		v.lightBlock(p, data)
	case KindExport:
		return true, v.exportPart(p, data)
	}
	return true, nil
}

// lightBlock decodes and verifies one light block.
func (v *verifier) lightBlock(p Part, data []byte) {
	place := "height " + heightString(p.Height)
	lb, err := unmarshalLightBlock(data)
	if err != nil {
		v.rep.add(p.Name, place, "%v", err)
		v.broken = true
		return
	}
	if lb.Height != p.Height {
		v.rep.add(p.Name, place, "the block is of height %d", lb.Height)
		v.broken = true
	}
	if !v.broken {
		before := v.chain.last
		if err := v.chain.add(v.ctx, lb); err != nil {
			v.rep.add(p.Name, place, "%v", err)
			v.broken = true
		}
		v.prev = before
	}
	v.rep.LightBlocks++
	v.rep.Changes = v.chain.changes
}

// appHash is the app hash the records are proven against: that of the
// last light block (height+1), checked against the manifest; nil when the
// light blocks did not verify.
func (v *verifier) appHash() []byte {
	if v.broken || v.chain == nil || v.chain.last == nil {
		return nil
	}
	last := v.chain.last
	if last.Height != v.m.Height+1 || v.prev == nil {
		return nil
	}
	return last.AppHash
}

// recordsPart verifies every record's proof, line by line.
func (v *verifier) recordsPart(p Part, body io.Reader) {
	root := v.appHash()
	lastLB := int64(0)
	if v.chain != nil && v.chain.last != nil {
		lastLB = v.chain.last.Height
	}
	switch {
	case root == nil && !v.broken:
		v.rep.add(RecordsName, "", "no verified header of height %d (the light blocks end at %d): the records cannot be proven", v.m.Height+1, lastLB)
	case root != nil && !strings.EqualFold(hex.EncodeToString(root), v.m.AppHash):
		v.rep.add(ManifestName, "app_hash", "the manifest names app hash %s, the verified header of height %d holds %X", v.m.AppHash, v.m.Height+1, root)
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordLine)
	line, prev := 0, ""
	for sc.Scan() {
		line++
		var e types.ListEntry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			v.rep.add(p.Name, fmt.Sprintf("line %d", line), "not a record: %v", err)
			continue
		}
		place := fmt.Sprintf("line %d (record %s)", line, e.Key)
		if line > 1 && e.Key <= prev {
			v.rep.add(p.Name, place, "keys must ascend: %q follows %q", e.Key, prev)
		}
		prev = e.Key
		if root != nil {
			if err := types.VerifyProof(root, []byte(e.Key), e.Value, e.Proof); err != nil {
				v.rep.add(p.Name, place, "the proof does not hold against the app hash: %v", err)
				continue
			}
		}
		if e.Value != nil {
			v.records[e.Key] = e.Value
		}
	}
	if err := sc.Err(); err != nil {
		v.rep.add(p.Name, fmt.Sprintf("line %d", line+1), "unreadable: %v", err)
	}
	v.rep.Records = len(v.records)
}

// exportPart checks one export against the records.
func (v *verifier) exportPart(p Part, data []byte) error {
	ec := ExportCheck{Part: p.Name, Format: p.Format}
	defer func() { v.rep.Exports = append(v.rep.Exports, ec) }()
	root := v.appHash()
	if root == nil {
		v.rep.add(p.Name, "", "not checked: the light blocks did not verify up to height %d", v.m.Height+1)
		return nil
	}
	v.block = export.BlockOf(v.prev, v.chain.last)
	v.rep.BlockHash, v.rep.AppHash = v.block.Hash, v.block.AppHash
	f, err := export.Parse(p.Format, data)
	if err != nil {
		v.rep.add(p.Name, "", "not a readable %s export: %v", p.Format, err)
		return nil
	}
	if s := f.Field(export.FieldStudy); s != v.m.Study {
		v.rep.add(p.Name, f.ProvenanceTable(), "the export is of study %q, the manifest names %q", s, v.m.Study)
		return nil
	}
	er, err := audit.CheckExportRecords(v.ctx, f, p.Name, v.records, v.block, v.o.TmpDir)
	if err != nil {
		v.rep.add(p.Name, "", "%v", err)
		return nil
	}
	ec.Identical, ec.Differences = er.Identical, len(er.Differences)+er.Omitted
	v.rep.Digest = er.Digest
	for _, d := range er.Differences {
		v.rep.add(p.Name, place(d), "%s: file %q, ledger %q", d.Kind, d.File, d.Ledger)
	}
	v.rep.Omitted += er.Omitted
	return nil
}

// place locates an export difference as audit verify-export does.
func place(d audit.Difference) string {
	s := d.Sheet
	switch {
	case d.Page > 0:
		s += " " + d.Where()
	case d.Row > 0 && d.Path != "":
		s += fmt.Sprintf(" line %d", d.Row)
	case d.Row > 0:
		s += fmt.Sprintf(" row %d", d.Row)
	}
	if d.Column != "" {
		s += " column " + d.Column
	}
	if d.Path != "" {
		s += " " + d.Path
	}
	if d.Key != "" {
		s += " (" + d.Key + ")"
	}
	return s
}

// finish checks what the whole bundle must hold.
func (v *verifier) finish() {
	if v.chain == nil || v.broken {
		return
	}
	if v.chain.last == nil || v.chain.last.Height != v.m.Height+1 || v.prev == nil || v.prev.Height != v.m.Height {
		v.rep.add(ManifestName, "height", "the light blocks must end with those of heights %d and %d", v.m.Height, v.m.Height+1)
	}
	if v.records[string(types.KeyStudy(v.m.Study))] == nil {
		v.rep.add(RecordsName, "", "no record of study %s", v.m.Study)
	}
}

// hashReader hashes and counts what is read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

// jsonPlace locates a JSON decoding error: the byte offset when known.
func jsonPlace(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("byte %d (field %s)", te.Offset, te.Field)
	}
	return ""
}
