package app

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cosmos/iavl"
	"github.com/klauspost/compress/zstd"

	"github.com/veritrial/veritrial/app/internal/durable"
)

// State sync snapshots.
//
// Every SnapshotInterval committed heights the node exports that height's
// IAVL version in the background, after Commit returned: a saved version
// never changes and is never pruned, so it is read while later blocks
// commit. A snapshot lives in <data dir>/snapshots/<height>/:
//
//   - meta.json: the snapshot's metadata (snapshotMeta), byte for byte the
//     Metadata CometBFT sends with it; its SHA-256 is the snapshot's Hash.
//   - 00000, 00001, ...: the chunks.
//
// Format 1 (SnapshotFormat). The tree's nodes as iavl's exporter streams
// them, depth-first post-order, each as one record:
//
//	height  1 byte, the node's subtree height (0 for a leaf, at most 127)
//	version uvarint, the version that wrote the node (1 to the snapshot height)
//	key     uvarint length, then the key
//	value   leaves only: uvarint length, then the value
//
// A chunk is one zstd frame holding whole records, about snapshotChunkRaw
// bytes before compression (at most maxChunkRaw), at most maxChunkBytes
// compressed. The same tree gives the same bytes on every node running the
// same build, so every validator's snapshot of a height is the same
// snapshot to CometBFT, which fetches its chunks from all of them.
//
// A snapshot is written into snapshots/.tmp-<height> and renamed into place
// once every file is synced: a crash leaves no partial snapshot listed, and
// the next start removes the leftover.

// SnapshotFormat is the snapshot format this node writes and restores.
const SnapshotFormat uint32 = 1

// DefaultSnapshotInterval is veritrial start's snapshot interval, in
// heights: about ten minutes of blocks under load, an hour and a half of
// idle empty blocks. A node that joins by state sync replays at most this
// many blocks after the snapshot it restores.
const DefaultSnapshotInterval = 1000

// DefaultSnapshotKeep is how many snapshots a node keeps: the newest, and
// the one before for a node still restoring it when the next one is taken.
const DefaultSnapshotKeep = 2

// Limits of format 1; a snapshot outside them is refused.
const (
	// snapshotChunkRaw is the uncompressed size at which a chunk is cut.
	snapshotChunkRaw = 16 << 20
	// maxChunkRaw bounds a chunk's uncompressed records: a cut chunk plus
	// one record with a value up to the largest tx (a value comes from a
	// tx of at most types.MaxTxBytes).
	maxChunkRaw = 20 << 20
	// maxChunkBytes bounds a compressed chunk: CometBFT's chunk message is
	// at most 16e6 bytes.
	maxChunkBytes = 15_000_000
	// maxSnapshotChunks keeps the metadata below CometBFT's 4 MB snapshot
	// message (about 90 bytes of JSON per chunk).
	maxSnapshotChunks = 40_000
	// maxSnapshotNodes bounds the nodes a snapshot may announce (a store of
	// 10 million item values has about 3 million).
	maxSnapshotNodes = 1 << 32
	// maxNodeHeight is the tallest subtree iavl builds (its heights are int8).
	maxNodeHeight = 127
)

// snapshotMeta describes a snapshot: meta.json on disk, and the Metadata
// CometBFT carries to the node that restores it.
type snapshotMeta struct {
	Format uint32 `json:"format"`
	Height int64  `json:"height"`
	// AppHash is the tree's root hash at Height: the app hash in the header
	// of block Height+1.
	AppHash []byte `json:"app_hash"`
	// Nodes is the number of records in all chunks.
	Nodes int64 `json:"nodes"`
	// ChunkSHA256 and ChunkBytes give each chunk's hash and size.
	ChunkSHA256 [][]byte `json:"chunk_sha256"`
	ChunkBytes  []int64  `json:"chunk_bytes"`
}

// encode returns the metadata's one encoding.
func (m *snapshotMeta) encode() []byte {
	bz, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain fields only
	}
	return bz
}

// decodeSnapshotMeta decodes and checks metadata of format 1.
func decodeSnapshotMeta(bz []byte) (*snapshotMeta, error) {
	var m snapshotMeta
	if err := json.Unmarshal(bz, &m); err != nil {
		return nil, fmt.Errorf("snapshot metadata is not valid JSON: %v", err)
	}
	if !bytes.Equal(m.encode(), bz) {
		return nil, errors.New("snapshot metadata is not in its canonical encoding")
	}
	n := len(m.ChunkSHA256)
	switch {
	case m.Format != SnapshotFormat:
		return nil, fmt.Errorf("snapshot metadata of format %d, not %d", m.Format, SnapshotFormat)
	case m.Height < 1:
		return nil, fmt.Errorf("snapshot height %d", m.Height)
	case len(m.AppHash) != sha256.Size:
		return nil, fmt.Errorf("snapshot app hash of %d bytes", len(m.AppHash))
	case m.Nodes < 0 || m.Nodes > maxSnapshotNodes:
		return nil, fmt.Errorf("snapshot of %d nodes (at most %d)", m.Nodes, int64(maxSnapshotNodes))
	case n < 1 || n > maxSnapshotChunks:
		return nil, fmt.Errorf("snapshot of %d chunks (1 to %d)", n, maxSnapshotChunks)
	case len(m.ChunkBytes) != n:
		return nil, fmt.Errorf("snapshot metadata gives %d chunk hashes and %d chunk sizes", n, len(m.ChunkBytes))
	}
	for i := range n {
		if len(m.ChunkSHA256[i]) != sha256.Size || m.ChunkBytes[i] < 1 || m.ChunkBytes[i] > maxChunkBytes {
			return nil, fmt.Errorf("snapshot chunk %d: a hash of %d bytes, a size of %d bytes (at most %d)", i, len(m.ChunkSHA256[i]), m.ChunkBytes[i], maxChunkBytes)
		}
	}
	return &m, nil
}

// appendNode appends n's record to buf.
func appendNode(buf []byte, n *iavl.ExportNode) []byte {
	buf = append(buf, byte(n.Height))
	buf = binary.AppendUvarint(buf, uint64(n.Version))
	buf = binary.AppendUvarint(buf, uint64(len(n.Key)))
	buf = append(buf, n.Key...)
	if n.Height == 0 {
		buf = binary.AppendUvarint(buf, uint64(len(n.Value)))
		buf = append(buf, n.Value...)
	}
	return buf
}

// decodeNodes calls fn with each record of raw, in order. Heights,
// versions (1 to maxVersion) and lengths are checked; keys and values are
// fresh copies.
func decodeNodes(raw []byte, maxVersion int64, fn func(*iavl.ExportNode) error) error {
	field := func(what string) ([]byte, error) {
		n, k := binary.Uvarint(raw)
		if k <= 0 || n > uint64(len(raw)-k) {
			return nil, fmt.Errorf("%s length runs past the chunk", what)
		}
		b := make([]byte, n)
		copy(b, raw[k:])
		raw = raw[k+int(n):]
		return b, nil
	}
	for len(raw) > 0 {
		n := &iavl.ExportNode{Height: int8(raw[0])}
		if raw[0] > maxNodeHeight {
			return fmt.Errorf("node height %d", raw[0])
		}
		v, k := binary.Uvarint(raw[1:])
		if k <= 0 || v < 1 || v > uint64(maxVersion) {
			return fmt.Errorf("node version outside 1 to %d", maxVersion)
		}
		n.Version, raw = int64(v), raw[1+k:]
		var err error
		if n.Key, err = field("key"); err != nil {
			return err
		}
		if n.Height == 0 {
			if n.Value, err = field("value"); err != nil {
				return err
			}
		}
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}

// chunkCoder compresses and decompresses chunks. zstd at its fastest level
// on one goroutine: the same input always gives the same bytes.
type chunkCoder struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	buf []byte // decompression buffer of maxChunkRaw bytes
}

func newChunkCoder() *chunkCoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err) // constant options
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxChunkRaw), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		panic(err)
	}
	return &chunkCoder{enc: enc, dec: dec}
}

func (c *chunkCoder) compress(raw []byte) []byte { return c.enc.EncodeAll(raw, nil) }

// decompress returns the chunk's records, valid until the next call.
func (c *chunkCoder) decompress(chunk []byte) ([]byte, error) {
	if c.buf == nil {
		c.buf = make([]byte, 0, maxChunkRaw)
	}
	raw, err := c.dec.DecodeAll(chunk, c.buf[:0])
	if err != nil {
		return nil, fmt.Errorf("chunk does not decompress (at most %d bytes): %v", maxChunkRaw, err)
	}
	return raw, nil
}

func (c *chunkCoder) close() {
	c.enc.Close()
	c.dec.Close()
}

// snapshots takes, keeps and serves the node's snapshots.
type snapshots struct {
	dir      string
	interval int64 // 0: none taken
	keep     int
	log      cmtlog.Logger
	// export opens a saved version for export on a tree handle of its own.
	export func(height int64) (*iavl.ImmutableTree, error)
	// chunkRaw is where chunks are cut (snapshotChunkRaw; tests use less).
	chunkRaw int

	mu      sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

const tmpPrefix = ".tmp-"

// newSnapshots prepares dir and removes what an interrupted snapshot left.
func newSnapshots(dir string, interval int64, keep int, log cmtlog.Logger, export func(int64) (*iavl.ImmutableTree, error)) (*snapshots, error) {
	if interval < 0 || keep < 0 {
		return nil, fmt.Errorf("snapshot interval %d and keep %d must not be negative", interval, keep)
	}
	if keep == 0 {
		keep = DefaultSnapshotKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	return &snapshots{dir: dir, interval: interval, keep: keep, log: log, export: export, chunkRaw: snapshotChunkRaw}, nil
}

// afterCommit starts a snapshot of height in the background when one is
// due and none is running; it never waits.
func (s *snapshots) afterCommit(height int64) {
	if s.interval == 0 || height%s.interval != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.running {
		s.log.Info("snapshot skipped: the previous one is still being written", "height", height)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.running, s.cancel = true, cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		start := time.Now()
		m, err := s.take(ctx, height)
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("snapshot failed", "height", height, "err", err)
			}
			return
		}
		var size int64
		for _, b := range m.ChunkBytes {
			size += b
		}
		s.log.Info("snapshot taken", "height", height, "nodes", m.Nodes, "chunks", len(m.ChunkBytes), "bytes", size,
			"app_hash", fmt.Sprintf("%X", m.AppHash), "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
		s.prune()
	}()
}

// wait waits for the snapshot being written, if any.
func (s *snapshots) wait() { s.wg.Wait() }

// close stops the snapshot being written (its temporary directory is
// removed at the next start) and takes no more.
func (s *snapshots) close() {
	s.mu.Lock()
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// take writes the snapshot of height.
func (s *snapshots) take(ctx context.Context, height int64) (*snapshotMeta, error) {
	final := filepath.Join(s.dir, strconv.FormatInt(height, 10))
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("%s already exists", final)
	}
	tree, err := s.export(height)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(s.dir, tmpPrefix+strconv.FormatInt(height, 10))
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	m, err := writeSnapshot(ctx, tree, tmp, s.chunkRaw)
	if err == nil {
		err = durable.SyncDir(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return m, durable.SyncDir(s.dir)
}

// writeSnapshot writes tree's chunks and meta.json into dir, each file
// synced, cutting a chunk once it holds chunkRaw bytes of records.
func writeSnapshot(ctx context.Context, tree *iavl.ImmutableTree, dir string, chunkRaw int) (*snapshotMeta, error) {
	exp, err := tree.Export()
	if err != nil {
		return nil, err
	}
	defer exp.Close()
	coder := newChunkCoder()
	defer coder.close()
	m := &snapshotMeta{Format: SnapshotFormat, Height: tree.Version(), AppHash: tree.Hash()}
	var buf []byte
	flush := func() error {
		chunk := coder.compress(buf)
		if len(chunk) > maxChunkBytes || len(buf) > maxChunkRaw {
			return fmt.Errorf("chunk %d is %d bytes, %d compressed: above the format's limits", len(m.ChunkBytes), len(buf), len(chunk))
		}
		if len(m.ChunkBytes) == maxSnapshotChunks {
			return fmt.Errorf("the snapshot needs more than %d chunks", maxSnapshotChunks)
		}
		if err := durable.WriteFile(filepath.Join(dir, chunkName(len(m.ChunkBytes))), chunk); err != nil {
			return err
		}
		sum := sha256.Sum256(chunk)
		m.ChunkSHA256 = append(m.ChunkSHA256, sum[:])
		m.ChunkBytes = append(m.ChunkBytes, int64(len(chunk)))
		buf = buf[:0]
		return nil
	}
	for {
		n, err := exp.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			break
		}
		if err != nil {
			return nil, err
		}
		buf = appendNode(buf, n)
		m.Nodes++
		if len(buf) >= chunkRaw {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(buf) > 0 || len(m.ChunkBytes) == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return m, durable.WriteFile(filepath.Join(dir, metaFile), m.encode())
}

const metaFile = "meta.json"

func chunkName(i int) string { return fmt.Sprintf("%05d", i) }

// list returns the complete snapshots on disk, newest first: those whose
// metadata decodes and whose every chunk file has the size it gives.
func (s *snapshots) list() []*snapshotMeta {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Error("listing snapshots", "err", err)
		return nil
	}
	var out []*snapshotMeta
	for _, e := range entries {
		h, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		if m, err := s.load(h); err == nil {
			out = append(out, m)
		} else {
			s.log.Error("snapshot not served", "height", h, "err", err)
		}
	}
	slices.SortFunc(out, func(a, b *snapshotMeta) int { return cmp.Compare(b.Height, a.Height) })
	return out
}

// load reads the metadata of the snapshot of height and checks its files.
func (s *snapshots) load(height int64) (*snapshotMeta, error) {
	dir := filepath.Join(s.dir, strconv.FormatInt(height, 10))
	bz, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	m, err := decodeSnapshotMeta(bz)
	if err != nil {
		return nil, err
	}
	if m.Height != height {
		return nil, fmt.Errorf("its metadata is of height %d", m.Height)
	}
	for i, size := range m.ChunkBytes {
		st, err := os.Stat(filepath.Join(dir, chunkName(i)))
		if err != nil {
			return nil, err
		}
		if st.Size() != size {
			return nil, fmt.Errorf("chunk %d has %d bytes, not %d", i, st.Size(), size)
		}
	}
	return m, nil
}

// chunk returns chunk i of the snapshot of height, checked against its
// hash.
func (s *snapshots) chunk(height int64, i uint32) ([]byte, error) {
	m, err := s.load(height)
	if err != nil {
		return nil, err
	}
	if int(i) >= len(m.ChunkSHA256) {
		return nil, fmt.Errorf("chunk %d of a snapshot of %d chunks", i, len(m.ChunkSHA256))
	}
	bz, err := os.ReadFile(filepath.Join(s.dir, strconv.FormatInt(height, 10), chunkName(int(i))))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(bz); !bytes.Equal(sum[:], m.ChunkSHA256[i]) {
		return nil, fmt.Errorf("chunk %d on disk does not match its hash", i)
	}
	return bz, nil
}

// prune removes the oldest snapshots beyond keep.
func (s *snapshots) prune() {
	all := s.list()
	for _, m := range all[min(s.keep, len(all)):] {
		if err := os.RemoveAll(filepath.Join(s.dir, strconv.FormatInt(m.Height, 10))); err != nil {
			s.log.Error("removing an old snapshot", "height", m.Height, "err", err)
		}
	}
}
