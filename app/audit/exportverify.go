package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/light/provider"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/types"
)

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

// VerifyExport checks an exported file against the ledger: it reads the
// provenance, verifies the headers of the export's height and the next
// with the light client, then runs CheckExport with the verified block
// context and the node's records.
func VerifyExport(ctx context.Context, o ExportOptions) (*ExportReport, error) {
	start := time.Now()
	f, err := export.Open(o.File)
	if err != nil {
		return nil, err
	}
	study, chainID, h, err := claims(f, o.File)
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
		o.Chain.TrustDir = lightroot.DefaultTrustDir(o.Home, id)
	}
	lbH, lbN, err := verifiedPair(ctx, o.Chain, h)
	if err != nil {
		return nil, err
	}
	o.Chain.setDefaults()
	cl, err := o.Chain.Dial(o.Chain.Primary)
	if err != nil {
		return nil, err
	}
	rep, err := checkExport(ctx, f, o.File, study, cl.Query, export.BlockOf(lbH, lbN), o.TmpDir)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// claims returns what the file says it is: study, chain ID, height.
func claims(f *export.File, file string) (string, string, int64, error) {
	h, err := strconv.ParseInt(f.Field(export.FieldHeight), 10, 64)
	if err != nil || h < 1 || f.Field(export.FieldStudy) == "" {
		return "", "", 0, fmt.Errorf("%w: %s has no usable provenance (study and height)", export.ErrNotExport, file)
	}
	return f.Field(export.FieldStudy), f.Field(export.FieldChainID), h, nil
}

// CheckExport checks an exported file against the records q serves at
// the height of block, whose app hash and context the caller has verified
// (VerifyExport takes them from headers verified by the light client):
// every record of the study is read with its ics23 proof checked against
// block.AppHash; the ledger's export of the proven records is rendered
// with app/export and, unless the file is byte for byte that export,
// compared with it (compareExport).
func CheckExport(ctx context.Context, file string, q client.QueryFunc, block export.Block, tmpDir string) (*ExportReport, error) {
	start := time.Now()
	f, err := export.Open(file)
	if err != nil {
		return nil, err
	}
	study, _, h, err := claims(f, file)
	if err != nil {
		return nil, err
	}
	if h != block.Height {
		return nil, fmt.Errorf("%s is of height %d, not %d", file, h, block.Height)
	}
	rep, err := checkExport(ctx, f, file, study, q, block, tmpDir)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func checkExport(ctx context.Context, f *export.File, file, study string, q client.QueryFunc, block export.Block, tmpDir string) (*ExportReport, error) {
	root, err := hex.DecodeString(block.AppHash)
	if err != nil || len(root) != 32 {
		return nil, fmt.Errorf("app hash %q is not a 32-byte hash in hex", block.AppHash)
	}
	// Every record of the study at the height, proven.
	records, pps, err := provenRecords(ctx, q, study, block.Height, root)
	if err != nil {
		return nil, err
	}
	rep, err := CheckExportRecords(ctx, f, file, records, block, tmpDir)
	if err != nil {
		return nil, err
	}
	rep.ProofsPerSecond = pps
	return rep, nil
}

// CheckExportRecords checks an export read back (f, named file) against
// the records of its study at the height of block, which the caller has
// proven against block.AppHash (an archive's records, or those
// CheckExport reads): the dataset digest, then the ledger's export of the
// records rendered with app/export, compared unless the file is byte for
// byte that export.
func CheckExportRecords(ctx context.Context, f *export.File, file string, records map[string][]byte, block export.Block, tmpDir string) (*ExportReport, error) {
	study, _, h, err := claims(f, file)
	if err != nil {
		return nil, err
	}
	rep := &ExportReport{File: file, Format: f.Format, Study: study, ChainID: block.ChainID, Height: block.Height,
		BlockHash: block.Hash, AppHash: block.AppHash, FileDigest: f.Field(export.FieldDigest), Differences: []Difference{}}
	if h != block.Height {
		rep.add(Difference{Kind: "provenance", Sheet: f.ProvenanceTable(), Key: export.FieldHeight, File: strconv.FormatInt(h, 10), Ledger: strconv.FormatInt(block.Height, 10)})
		h = block.Height
	}
	if c := f.Field(export.FieldChainID); c != block.ChainID {
		rep.add(Difference{Kind: "provenance", Sheet: "Provenance", Key: export.FieldChainID, File: c, Ledger: block.ChainID})
	}
	rep.Records = len(records)
	entries := make([]types.ListEntry, 0, len(records))
	for k, v := range records {
		entries = append(entries, types.ListEntry{Key: k, Value: v})
	}
	if rep.Digest, err = export.DigestRecords(entries); err != nil {
		return nil, err
	}
	if rep.FileDigest != rep.Digest {
		rep.add(Difference{Kind: "provenance", Sheet: "Provenance", Key: export.FieldDigest, File: rep.FileDigest, Ledger: rep.Digest})
	}

	// The ledger's own export of the proven records (the exporter derives
	// the height basis from the study record itself).
	if records[string(types.KeyStudy(study))] == nil {
		return nil, fmt.Errorf("study %s is not registered on the ledger at height %d", study, h)
	}
	opt := export.Options{Study: study, Block: block, TmpDir: tmpDir, Version: strings.TrimPrefix(f.Field(export.FieldSoftware), "veritrial "),
		Site: f.Field(export.FieldCasebookSite), Subject: f.Field(export.FieldCasebookSubject)}
	var buf bytes.Buffer
	if _, err := export.Write(ctx, f.Format, client.NewReader(client.MemQuery(h, records), h, nil), opt, &buf); err != nil {
		return nil, fmt.Errorf("rendering the ledger's export: %w", err)
	}
	want, err := export.Parse(f.Format, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading the ledger's export: %w", err)
	}
	if f.Identical(want) {
		// Byte for byte the ledger's export of the proven records: its
		// record list, digest and every cell are the ledger's.
		rep.Identical = true
		return rep, nil
	}
	if err := compareExport(rep, f, want, records); err != nil {
		return nil, err
	}
	return rep, nil
}

// verifiedPair returns the light blocks of h and h+1 verified by the light
// client from the headers the trust dir holds, or from the trust root
// (the genesis, or a trusted header) when it holds none, and keeps them
// there.
func verifiedPair(ctx context.Context, co ChainOptions, h int64) (*cmttypes.LightBlock, *cmttypes.LightBlock, error) {
	co.setDefaults()
	chainID := co.ChainID
	if co.Genesis != nil {
		chainID = co.Genesis.ChainID
	}
	if co.Genesis == nil && co.TrustedHeight == 0 {
		if last, err := lightroot.LastTrusted(co.TrustDir); err != nil {
			return nil, nil, err
		} else if last == 0 {
			return nil, nil, fmt.Errorf("no trust root to verify the headers of height %d with: pass the consortium's genesis with --genesis FILE, or the --trust-dir of an earlier veritrial audit verify-chain run (this one looked in %s)", h, co.TrustDir)
		}
	}
	src := co.source
	if src == nil {
		src = nodeSource
	}
	cs, err := src(ctx, co, chainID)
	if err != nil {
		return nil, nil, err
	}
	witnesses := make([]provider.Provider, len(cs.witnesses))
	for i, w := range cs.witnesses {
		witnesses[i] = w
	}
	o := lightroot.Options{ChainID: chainID, Genesis: co.Genesis, TrustDir: co.TrustDir, Primary: cs.primary, Witnesses: witnesses,
		TrustingPeriod: co.TrustingPeriod, Now: co.Now, Logger: co.Logger}
	if co.TrustedHeight > 0 {
		if o.Root, err = lightroot.TrustHeader(ctx, cs.primary, co.TrustedHeight, co.TrustedHash); err != nil {
			return nil, nil, err
		}
	}
	lbs, err := lightroot.Verify(ctx, o, h, h+1)
	if err != nil {
		return nil, nil, fmt.Errorf("the headers of heights %d and %d do not verify: %w", h, h+1, err)
	}
	return lbs[0], lbs[1], nil
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
