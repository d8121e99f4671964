package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/types"
)

// CreateOptions say what to archive.
type CreateOptions struct {
	Study string
	// Height to archive (0: the study's database lock height, else the
	// latest).
	Height int64
	// Formats of the exports (export.Formats).
	Formats []string
	// Genesis is the consortium's genesis file as it is distributed.
	Genesis []byte
	// Version is the software version the exports name.
	Version string
	// TmpDir holds the parts while the bundle is assembled.
	TmpDir string
	// Progress, when set, is told of each phase and its progress.
	Progress func(phase string, done, total int64)
}

// Summary is what Create wrote.
type Summary struct {
	Study       string   `json:"study"`
	ChainID     string   `json:"chain_id"`
	Height      int64    `json:"height"`
	Basis       string   `json:"height_basis"`
	AppHash     string   `json:"app_hash"`
	Digest      string   `json:"dataset_digest"`
	Records     int      `json:"records"`
	LightBlocks int      `json:"light_blocks"`
	Changes     int      `json:"validator_set_changes"`
	Formats     []string `json:"formats"`
}

// Create writes the bundle of study o.Study to w: it reads the block
// context of the height from cl (export.NodeSource, verified by cl's
// header verifier when it has one), fetches the light blocks from the
// chain's first block to the height and the next, verifies them from the
// genesis as Verify will, reads every record the export is built from
// with its proof checked against the app hash of that verified header,
// renders the exports from those records, and writes the tar.
func Create(ctx context.Context, cl *client.Client, o CreateOptions, w io.Writer) (*Summary, error) {
	g, err := cmttypes.GenesisDocFromJSON(o.Genesis)
	if err != nil {
		return nil, fmt.Errorf("the genesis is not valid: %w", err)
	}
	_, blk, basis, err := export.NodeSource(ctx, cl, o.Study, o.Height)
	if err != nil {
		return nil, err
	}
	if blk.ChainID != g.ChainID {
		return nil, fmt.Errorf("%w: the node serves chain %q, the genesis is for %q", lightroot.ErrWrongGenesis, blk.ChainID, g.ChainID)
	}
	h := blk.Height
	p, err := cl.LightProvider(ctx)
	if err != nil {
		return nil, err
	}
	lbs, err := collect(ctx, p, lightroot.FirstHeight(g), h, func(done, total int64) { progress(o, "headers", done, total) })
	if err != nil {
		return nil, err
	}
	chk := &chainCheck{g: g, now: time.Now()}
	for _, lb := range lbs {
		if err := chk.add(ctx, lb); err != nil {
			return nil, fmt.Errorf("the node's light blocks do not verify from the genesis: %w", err)
		}
	}
	// The exports name the block context as Verify reads it from the
	// bundle's last two light blocks.
	lbH, lbN := lbs[len(lbs)-2], lbs[len(lbs)-1]
	block := export.BlockOf(lbH, lbN)
	if block.Hash != blk.Hash || block.AppHash != blk.AppHash {
		return nil, fmt.Errorf("the light blocks of height %d and %d are not those the export's block context was read from", h, h+1)
	}

	// Every record, with the proof checked against the verified app hash;
	// the recorder keeps each answer's proofs in records.jsonl.
	rf, err := os.CreateTemp(o.TmpDir, "veritrial-archive-records-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(rf.Name())
	defer rf.Close()
	rec := &recorder{q: cl.Query, w: bufio.NewWriterSize(rf, 1<<20)}
	r := client.NewReader(rec.query, h, client.FixedRoot(h, []byte(lbN.AppHash)))
	records := map[string][]byte{}
	if err := export.WalkRecords(ctx, r, o.Study, func(e types.ListEntry) error {
		records[e.Key] = e.Value
		if n := int64(len(records)); n%10000 == 0 {
			progress(o, "records", n, 0)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := rec.flush(); err != nil {
		return nil, err
	}

	m := &Manifest{Format: FormatVersion, Study: o.Study, ChainID: g.ChainID, Height: h, AppHash: blk.AppHash, Basis: basis, Software: "veritrial " + o.Version}
	parts := []source{{part: Part{Name: GenesisName, Kind: KindGenesis}, data: o.Genesis}}
	for _, lb := range lbs {
		data, err := marshalLightBlock(lb)
		if err != nil {
			return nil, err
		}
		parts = append(parts, source{part: Part{Name: lightBlockName(lb.Height), Kind: KindLightBlock, Height: lb.Height}, data: data})
	}
	parts = append(parts, source{part: Part{Name: RecordsName, Kind: KindRecords}, file: rf.Name()})
	sum := &Summary{Study: o.Study, ChainID: g.ChainID, Height: h, Basis: basis, AppHash: blk.AppHash, Records: len(records),
		LightBlocks: len(lbs), Changes: chk.changes, Formats: o.Formats}
	mem := client.NewReader(client.MemQuery(h, records), h, nil)
	for _, f := range o.Formats {
		ef, err := os.CreateTemp(o.TmpDir, "veritrial-archive-export-*")
		if err != nil {
			return nil, err
		}
		defer os.Remove(ef.Name())
		bw := bufio.NewWriterSize(ef, 1<<20)
		opt := export.Options{Study: o.Study, Block: block, Version: o.Version, TmpDir: o.TmpDir,
			Progress: func(phase string, done, total int64) { progress(o, f+" "+phase, done, total) }}
		es, err := export.Write(ctx, f, mem, opt, bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := ef.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("rendering the %s export: %w", f, err)
		}
		sum.Digest = es.Digest
		parts = append(parts, source{part: Part{Name: exportName(f), Kind: KindExport, Format: f}, file: ef.Name()})
	}
	if err := writeBundle(w, m, parts, blk.Time); err != nil {
		return nil, err
	}
	return sum, nil
}

func progress(o CreateOptions, phase string, done, total int64) {
	if o.Progress != nil {
		o.Progress(phase, done, total)
	}
}

// recorder is a QueryFunc that passes queries to q and writes every
// record answered with a proof to w, one JSON line per record (a
// types.ListEntry: key, value, proof; value null for an absence), in the
// order the answers come.
type recorder struct {
	q  client.QueryFunc
	mu sync.Mutex
	w  *bufio.Writer // its first error sticks: flush returns it
}

func (rc *recorder) query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	res, err := rc.q(ctx, req)
	if err != nil || res.Code != 0 {
		return res, err
	}
	var entries []types.ListEntry
	switch req.Path {
	case types.QueryKey:
		if ops := res.ProofOps; req.Prove && ops != nil && len(ops.Ops) == 1 {
			entries = []types.ListEntry{{Key: string(req.Data), Value: res.Value, Proof: ops.Ops[0].Data}}
		}
	case types.QueryList:
		var lr types.ListResponse
		if json.Unmarshal(res.Value, &lr) == nil {
			for _, e := range lr.Entries {
				if e.Value == nil {
					e.Value = []byte{}
				}
				entries = append(entries, e)
			}
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		rc.w.Write(append(line, '\n'))
	}
	return res, nil
}

func (rc *recorder) flush() error { return rc.w.Flush() }

// source is a part's content: in memory or in a file.
type source struct {
	part Part
	data []byte
	file string
}

func (s *source) open() (io.ReadCloser, error) {
	if s.file == "" {
		return io.NopCloser(bytes.NewReader(s.data)), nil
	}
	return os.Open(s.file)
}

// writeBundle hashes every part into the manifest, then writes the tar:
// the manifest, then the parts in order, every entry a regular file of
// mode 0644 dated mod.
func writeBundle(w io.Writer, m *Manifest, parts []source, mod time.Time) error {
	for i := range parts {
		s := &parts[i]
		rc, err := s.open()
		if err != nil {
			return err
		}
		hs := sha256.New()
		n, err := io.Copy(hs, rc)
		rc.Close()
		if err != nil {
			return err
		}
		s.part.Size, s.part.SHA256 = n, hex.EncodeToString(hs.Sum(nil))
		m.Parts = append(m.Parts, s.part)
	}
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	man = append(man, '\n')
	tw := tar.NewWriter(w)
	header := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: mod.UTC().Truncate(time.Second), Format: tar.FormatUSTAR})
	}
	if err := header(ManifestName, int64(len(man))); err != nil {
		return err
	}
	if _, err := tw.Write(man); err != nil {
		return err
	}
	for i := range parts {
		s := &parts[i]
		if err := header(s.part.Name, s.part.Size); err != nil {
			return err
		}
		rc, err := s.open()
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("writing %s: %w", s.part.Name, err)
		}
	}
	return tw.Close()
}
