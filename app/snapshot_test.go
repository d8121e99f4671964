package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veritrial/veritrial/app/types"
)

// The snapshot tests run the crash tests' chain (two accounts added per
// block) with snapshots cut into small chunks, and restore them into
// fresh apps through the ABCI snapshot methods, as CometBFT does.

// testChunkRaw cuts the test chain's snapshots into a dozen chunks or so.
const testChunkRaw = 2000

// openSnapApp opens an app in dir taking a snapshot every interval
// heights, keeping keep.
func openSnapApp(t *testing.T, dir string, interval int64, keep int) *App {
	t.Helper()
	a, err := New(Config{DataDir: dir, SnapshotInterval: interval, SnapshotKeep: keep})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a.snaps.chunkRaw = testChunkRaw
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// runSnap runs blocks 1..n on a fresh app that snapshots every interval
// heights, waiting for each snapshot, and returns it.
func runSnap(t *testing.T, interval int64, keep int, n int64) *App {
	t.Helper()
	a := openSnapApp(t, t.TempDir(), interval, keep)
	initChain(t, a)
	for h := int64(1); h <= n; h++ {
		finalize(t, a, h)
		commit(t, a)
		a.snaps.wait()
	}
	return a
}

// served is a snapshot as a peer serves it: the ABCI snapshot and its
// chunks.
type served struct {
	snap   *abci.Snapshot
	chunks [][]byte
}

// fetch lists src's snapshots and loads every chunk of the one of height h.
func fetch(t *testing.T, src *App, h int64) served {
	t.Helper()
	ls, err := src.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ls.Snapshots {
		if s.Height != uint64(h) {
			continue
		}
		out := served{snap: s}
		for i := range s.Chunks {
			res, err := src.LoadSnapshotChunk(context.Background(), &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
			if err != nil || res.Chunk == nil {
				t.Fatalf("chunk %d of snapshot %d not served (%v)", i, h, err)
			}
			out.chunks = append(out.chunks, res.Chunk)
		}
		return out
	}
	t.Fatalf("no snapshot of height %d listed (%d listed)", h, len(ls.Snapshots))
	return served{}
}

// restoreResult is what a restore driven like CometBFT's ended with.
type restoreResult struct {
	offer abci.ResponseOfferSnapshot_Result
	apply []*abci.ResponseApplySnapshotChunk
}

func (r restoreResult) last() abci.ResponseApplySnapshotChunk_Result {
	if len(r.apply) == 0 {
		return abci.ResponseApplySnapshotChunk_UNKNOWN
	}
	return r.apply[len(r.apply)-1].Result
}

// restoreInto offers s to dst with the trusted app hash and, if accepted,
// applies its chunks in order from peer "peer-a", stopping at the first
// answer other than ACCEPT.
func restoreInto(t *testing.T, dst *App, s served, appHash []byte) restoreResult {
	t.Helper()
	ctx := context.Background()
	off, err := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: s.snap, AppHash: appHash})
	if err != nil {
		t.Fatalf("OfferSnapshot: %v", err)
	}
	r := restoreResult{offer: off.Result}
	if off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		return r
	}
	for i, c := range s.chunks {
		res, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: c, Sender: "peer-a"})
		if err != nil {
			t.Fatalf("ApplySnapshotChunk %d: %v", i, err)
		}
		r.apply = append(r.apply, res)
		if res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			break
		}
	}
	return r
}

// mustRestore restores s into dst and checks what CometBFT checks after
// the last chunk: Info reports the snapshot's height and app hash.
func mustRestore(t *testing.T, dst *App, s served, appHash []byte) {
	t.Helper()
	r := restoreInto(t, dst, s, appHash)
	if r.offer != abci.ResponseOfferSnapshot_ACCEPT || r.last() != abci.ResponseApplySnapshotChunk_ACCEPT || len(r.apply) != len(s.chunks) {
		t.Fatalf("restore: offer %v, %d chunks applied, last %v", r.offer, len(r.apply), r.last())
	}
	if h, hash := info(t, dst); h != int64(s.snap.Height) || !bytes.Equal(hash, appHash) {
		t.Fatalf("Info after restore: %d %X, want %d %X", h, hash, s.snap.Height, appHash)
	}
}

// assertEmpty checks that a's store holds nothing: no committed height,
// an empty tree, and that it could start from genesis.
func assertEmpty(t *testing.T, a *App) {
	t.Helper()
	if h, hash := info(t, a); h != 0 || hash != nil {
		t.Fatalf("store not empty: Info %d %X", h, hash)
	}
	if !a.store.tree.IsEmpty() || a.store.tree.Version() != 0 {
		t.Fatalf("tree not empty: version %d", a.store.tree.Version())
	}
	n := 0
	it := a.store.ldb.RawDB().NewIterator(nil, nil)
	for it.Next() {
		if bytes.HasPrefix(it.Key(), treePrefix) {
			n++
		}
	}
	it.Release()
	if n > 0 {
		t.Fatalf("%d tree keys left in the database", n)
	}
}

// sameRecords checks that two trees hold the same keys and values.
func sameRecords(t *testing.T, want, got *iavl.ImmutableTree) int {
	t.Helper()
	var wk, gk [][2][]byte
	for tree, out := range map[*iavl.ImmutableTree]*[][2][]byte{want: &wk, got: &gk} {
		if _, err := tree.Iterate(func(k, v []byte) bool {
			*out = append(*out, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			return false
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(wk) != len(gk) {
		t.Fatalf("%d records restored, want %d", len(gk), len(wk))
	}
	for i := range wk {
		if !bytes.Equal(wk[i][0], gk[i][0]) || !bytes.Equal(wk[i][1], gk[i][1]) {
			t.Fatalf("record %d: %q, want %q", i, gk[i][0], wk[i][0])
		}
	}
	return len(wk)
}

func TestSnapshotRoundTrip(t *testing.T) {
	ref := reference(t, 10)
	src := runSnap(t, 3, 2, 8)
	s := fetch(t, src, 6)
	if s.snap.Format != SnapshotFormat || s.snap.Chunks < 5 {
		t.Fatalf("snapshot of format %d in %d chunks: want format %d in several", s.snap.Format, s.snap.Chunks, SnapshotFormat)
	}
	dir := t.TempDir()
	dst := openSnapApp(t, dir, 0, 0)
	mustRestore(t, dst, s, ref[6])

	want, err := src.store.readVersion(6)
	if err != nil {
		t.Fatal(err)
	}
	n := sameRecords(t, want, dst.checked)
	// Every record is proven by the restored tree against the app hash.
	if _, err := dst.checked.Iterate(func(k, v []byte) bool {
		p, err := dst.checked.GetMembershipProof(k)
		if err != nil || !ics23.VerifyMembership(ics23.IavlSpec, ref[6], p, k, v) {
			t.Fatalf("proof of %q: %v", k, err)
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records restored in %d chunks, each proven", n, s.snap.Chunks)

	// The restored node serves queries at the snapshot height, refuses
	// older ones with the reason, and continues the chain exactly: the
	// chain ID, the parameters and the replay protection were restored.
	q := func(a *App, h int64) *abci.ResponseQuery {
		res, err := a.TrustedQuery(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: types.KeyAccount("user-2-0"), Height: h})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := q(dst, 6); r.Code != 0 || r.Value == nil {
		t.Fatalf("query at the snapshot height: %d %s", r.Code, r.Log)
	}
	assertOldRefused := func(a *App) {
		t.Helper()
		r := q(a, 3)
		if r.Code == 0 || !strings.Contains(r.Log, "state sync from a snapshot at height 6") || !strings.Contains(r.Log, "full history") {
			t.Fatalf("query at height 3 on the restored node: %d %q", r.Code, r.Log)
		}
	}
	assertOldRefused(dst)
	replayed := block(t, 5)[0] // committed at height 5: refused as a replay
	res, err := dst.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: replayed, Type: abci.CheckTxType_New})
	if err != nil {
		t.Fatal(err)
	}
	if c := types.Code(res.Code); c != types.CodeNonceReused {
		t.Fatalf("a tx of block 5 sent again to the restored node: code %d (%s), want %d", c, res.Log, types.CodeNonceReused)
	}
	continueFrom(t, dst, 7, 9, ref)
	dst.Close()
	dst = openSnapApp(t, dir, 0, 0)
	assertOldRefused(dst)
	continueFrom(t, dst, 10, 10, ref)
}

func TestSnapshotDeterministic(t *testing.T) {
	a, b := runSnap(t, 4, 2, 6), runSnap(t, 4, 2, 6)
	sa, sb := fetch(t, a, 4), fetch(t, b, 4)
	if !bytes.Equal(sa.snap.Hash, sb.snap.Hash) || !bytes.Equal(sa.snap.Metadata, sb.snap.Metadata) {
		t.Fatalf("two nodes wrote different snapshots of the same height:\n%s\n%s", sa.snap.Metadata, sb.snap.Metadata)
	}
}

func TestSnapshotKeepAndInterval(t *testing.T) {
	a := runSnap(t, 2, 2, 9)
	var kept, listed []int64
	for _, m := range a.snaps.list() {
		kept = append(kept, m.Height)
	}
	ls, _ := a.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	for _, s := range ls.Snapshots {
		listed = append(listed, int64(s.Height))
	}
	// Snapshot 8 is kept but not offered to joining nodes before height 10.
	if !slices.Equal(kept, []int64{8, 6}) || !slices.Equal(listed, []int64{6}) {
		t.Fatalf("snapshots kept at heights %v, listed at %v: want [8 6] and [6]", kept, listed)
	}
	if off := runSnap(t, 0, 0, 3); len(off.snaps.list()) != 0 {
		t.Fatal("a snapshot was taken with the interval 0")
	}
}

func TestSnapshotCorruptChunkFetchedAgain(t *testing.T) {
	ref := reference(t, 6)
	s := fetch(t, runSnap(t, 6, 2, 8), 6)
	dst := openSnapApp(t, t.TempDir(), 0, 0)
	ctx := context.Background()
	if off, _ := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: s.snap, AppHash: ref[6]}); off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", off.Result)
	}
	bad := bytes.Clone(s.chunks[1])
	bad[len(bad)/2] ^= 1
	for i, c := range [][]byte{s.chunks[0], bad, s.chunks[1][:10]} {
		res, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(min(i, 1)), Chunk: c, Sender: "peer-b"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		if res.Result != abci.ResponseApplySnapshotChunk_RETRY || !slices.Equal(res.RefetchChunks, []uint32{1}) || !slices.Equal(res.RejectSenders, []string{"peer-b"}) {
			t.Fatalf("corrupt chunk 1: %v, refetch %v, reject %v", res.Result, res.RefetchChunks, res.RejectSenders)
		}
	}
	for i := 1; i < len(s.chunks); i++ {
		res, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: s.chunks[i], Sender: "peer-a"})
		if err != nil || res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d from another peer: %v %v", i, res, err)
		}
	}
	if h, hash := info(t, dst); h != 6 || !bytes.Equal(hash, ref[6]) {
		t.Fatalf("Info %d %X", h, hash)
	}
}

// reseal returns s with chunks replaced and the metadata made to match
// them (hashes, sizes, and nodes when given), as a hostile peer would.
func reseal(t *testing.T, s served, chunks [][]byte, nodes int64) served {
	t.Helper()
	m, err := decodeSnapshotMeta(s.snap.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	m.ChunkSHA256, m.ChunkBytes = nil, nil
	for _, c := range chunks {
		sum := sha256.Sum256(c)
		m.ChunkSHA256 = append(m.ChunkSHA256, sum[:])
		m.ChunkBytes = append(m.ChunkBytes, int64(len(c)))
	}
	if nodes >= 0 {
		m.Nodes = nodes
	}
	meta := m.encode()
	hash := sha256.Sum256(meta)
	return served{snap: &abci.Snapshot{Height: s.snap.Height, Format: s.snap.Format, Chunks: uint32(len(chunks)), Hash: hash[:], Metadata: meta}, chunks: chunks}
}

// records decompresses a snapshot's chunks into one record stream.
func records(t *testing.T, s served) []byte {
	t.Helper()
	c := newChunkCoder()
	defer c.close()
	var all []byte
	for _, ch := range s.chunks {
		raw, err := c.decompress(ch)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, raw...)
	}
	return all
}

func compress(raw []byte) []byte {
	c := newChunkCoder()
	defer c.close()
	return c.compress(raw)
}

// node encodes one record.
func node(h int8, v int64, key, value string) []byte {
	n := &iavl.ExportNode{Height: h, Version: v, Key: []byte(key)}
	if h == 0 {
		n.Value = []byte(value)
	}
	return appendNode(nil, n)
}

func TestSnapshotHostileChunksRejected(t *testing.T) {
	ref := reference(t, 6)
	src := runSnap(t, 3, 2, 8)
	good := fetch(t, src, 6)
	older := fetch(t, src, 3)
	all := records(t, good)
	m, _ := decodeSnapshotMeta(good.snap.Metadata)
	olderMeta, _ := decodeSnapshotMeta(older.snap.Metadata)
	leaves := slices.Concat(node(0, 1, "a", "1"), node(0, 1, "b", "2"), node(0, 1, "c", "3"))
	flood := bytes.Repeat(node(0, 1, "a", "1"), 200)
	cases := []struct {
		name   string
		chunks [][]byte
		nodes  int64 // -1: the good snapshot's count
		at     int   // the chunk refused (0: the last)
	}{
		{"not zstd", [][]byte{[]byte("not a zstd frame")}, -1, 0},
		{"zstd of garbage", [][]byte{compress([]byte{0, 0xff, 0xff, 0xff})}, -1, 0},
		{"key longer than the chunk", [][]byte{compress([]byte{0, 1, 200, 'k'})}, -1, 0},
		{"height above 127", [][]byte{compress(slices.Concat([]byte{128}, node(0, 1, "a", "1")[1:]))}, -1, 0},
		{"version 0", [][]byte{compress(node(0, 0, "a", "1"))}, -1, 0},
		{"a malformed nonce record", [][]byte{compress(node(0, 1, types.PrefixNonce+"x", "1"))}, -1, 0},
		{"version above the snapshot height", [][]byte{compress(node(0, 7, "a", "1"))}, -1, 0},
		{"version beyond int64", [][]byte{compress(slices.Concat([]byte{0}, binary.AppendUvarint(nil, 1<<63+1), []byte{1, 'a', 1, '1'}))}, -1, 0},
		{"inner node first", [][]byte{compress(node(1, 1, "a", "")), good.chunks[1]}, -1, 1},
		{"inner node over a taller subtree", [][]byte{compress(slices.Concat(node(0, 1, "a", "1"), node(0, 1, "b", "2"), node(1, 1, "b", ""), node(0, 1, "c", "3"), node(1, 1, "c", "")))}, -1, 0},
		{"subtrees that never join", [][]byte{compress(leaves)}, 3, 0},
		{"more subtrees waiting than a tree is tall", [][]byte{compress(flood), compress(flood)}, 400, 1},
		{"more nodes than announced", good.chunks, m.Nodes - 1, 0},
		{"fewer nodes than announced", good.chunks, m.Nodes + 1, 0},
		{"last chunk missing", good.chunks[:len(good.chunks)-1], -1, 0},
		{"chunks out of order", append([][]byte{good.chunks[1], good.chunks[0]}, good.chunks[2:]...), -1, 1},
		{"a key changed", [][]byte{compress(bytes.Replace(all, []byte("user-2-0"), []byte("user-2-X"), 1))}, -1, 0},
		{"the tree of another height", older.chunks, olderMeta.Nodes, 0},
	}
	dir := t.TempDir()
	dst := openSnapApp(t, dir, 0, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := restoreInto(t, dst, reseal(t, good, c.chunks, c.nodes), ref[6])
			at := len(c.chunks)
			if c.at > 0 {
				at = c.at
			}
			if r.offer != abci.ResponseOfferSnapshot_ACCEPT || r.last() != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT || len(r.apply) != at {
				t.Fatalf("offer %v, answer %v to chunk %d: want the snapshot rejected at chunk %d", r.offer, r.last(), len(r.apply)-1, at-1)
			}
			if last := r.apply[len(r.apply)-1]; !slices.Equal(last.RejectSenders, []string{"peer-a"}) {
				t.Fatalf("senders rejected: %v", last.RejectSenders)
			}
			assertEmpty(t, dst)
		})
	}
	// The store is still usable: the good snapshot restores, after a
	// restart too.
	dst.Close()
	dst = openSnapApp(t, dir, 0, 0)
	assertEmpty(t, dst)
	mustRestore(t, dst, good, ref[6])
}

func TestSnapshotOffersRefused(t *testing.T) {
	ref := reference(t, 6)
	good := fetch(t, runSnap(t, 6, 2, 8), 6)
	ctx := context.Background()
	dst := openSnapApp(t, t.TempDir(), 0, 0)
	with := func(f func(s *abci.Snapshot)) *abci.Snapshot {
		s := *good.snap
		f(&s)
		return &s
	}
	metaWith := func(f func(m *snapshotMeta)) *abci.Snapshot {
		m, _ := decodeSnapshotMeta(good.snap.Metadata)
		f(m)
		meta := m.encode()
		hash := sha256.Sum256(meta)
		return with(func(s *abci.Snapshot) { s.Metadata, s.Hash = meta, hash[:] })
	}
	cases := []struct {
		name    string
		snap    *abci.Snapshot
		appHash []byte
		want    abci.ResponseOfferSnapshot_Result
	}{
		{"no snapshot", nil, ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"another format", with(func(s *abci.Snapshot) { s.Format = 2 }), ref[6], abci.ResponseOfferSnapshot_REJECT_FORMAT},
		{"metadata not JSON", with(func(s *abci.Snapshot) { s.Metadata = []byte("{") }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"metadata not canonical", with(func(s *abci.Snapshot) { s.Metadata = append([]byte(" "), s.Metadata...) }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"hash not of the metadata", with(func(s *abci.Snapshot) { s.Hash = make([]byte, 32) }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"chunk count differs", with(func(s *abci.Snapshot) { s.Chunks++ }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"height differs", with(func(s *abci.Snapshot) { s.Height++ }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"another app hash than the chain's", good.snap, ref[5], abci.ResponseOfferSnapshot_REJECT},
		{"metadata of another format", metaWith(func(m *snapshotMeta) { m.Format = 2 }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"no chunks", metaWith(func(m *snapshotMeta) { m.ChunkSHA256, m.ChunkBytes = nil, nil }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"a chunk above the size limit", metaWith(func(m *snapshotMeta) { m.ChunkBytes[0] = maxChunkBytes + 1 }), ref[6], abci.ResponseOfferSnapshot_REJECT},
		{"too many nodes", metaWith(func(m *snapshotMeta) { m.Nodes = maxSnapshotNodes + 1 }), ref[6], abci.ResponseOfferSnapshot_REJECT},
	}
	for _, c := range cases {
		res, err := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: c.snap, AppHash: c.appHash})
		if err != nil || res.Result != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, res.Result, err, c.want)
		}
		assertEmpty(t, dst)
	}
	// A chunk without an accepted snapshot aborts.
	if res, _ := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: 0, Chunk: good.chunks[0]}); res.Result != abci.ResponseApplySnapshotChunk_ABORT {
		t.Errorf("chunk without a snapshot: %v", res.Result)
	}
	// A node that holds state aborts the state sync.
	full := runTo(t, t.TempDir(), 2)
	if res, _ := full.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: good.snap, AppHash: ref[6]}); res.Result != abci.ResponseOfferSnapshot_ABORT {
		t.Errorf("offer to a node at height 2: %v, want ABORT", res.Result)
	}
	if h, hash := info(t, full); h != 2 || !bytes.Equal(hash, ref[2]) {
		t.Errorf("the node at height 2 changed: %d %X", h, hash)
	}
	// A snapshot offered while another is being restored replaces it.
	other := fetch(t, runSnap(t, 3, 2, 5), 3)
	if r := restoreInto(t, dst, served{snap: other.snap, chunks: other.chunks[:1]}, ref[3]); r.last() != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("first chunk of snapshot 3: %v", r.last())
	}
	mustRestore(t, dst, good, ref[6])
}

func TestSnapshotInterruptedRestore(t *testing.T) {
	// A genesis of 6,000 accounts: the importer flushes its first nodes
	// to the database after 10,000, well before the last chunk.
	var g types.Genesis
	if err := json.Unmarshal(crashGenesis(), &g); err != nil {
		t.Fatal(err)
	}
	for i := range 6000 {
		id := fmt.Sprintf("user-%05d", i)
		g.Accounts = append(g.Accounts, types.GenesisAccount{ID: id, Org: "sponsor", Name: id, Roles: []types.Role{types.RoleDataManager},
			PubKey: crashKey(id).Public().(ed25519.PublicKey)})
	}
	appState, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	src := openSnapApp(t, t.TempDir(), 3, 1)
	src.snaps.chunkRaw = 64 << 10
	if _, err := src.InitChain(context.Background(), &abci.RequestInitChain{ChainId: crashChain, Time: crashT0, AppStateBytes: appState, Validators: []abci.ValidatorUpdate{crashValidator}}); err != nil {
		t.Fatal(err)
	}
	hashes := map[int64][]byte{}
	for h := int64(1); h <= 5; h++ {
		res, err := src.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h, Time: crashT0})
		if err != nil {
			t.Fatal(err)
		}
		hashes[h] = res.AppHash
		commit(t, src)
		src.snaps.wait()
	}
	good := fetch(t, src, 3)
	dir := t.TempDir()
	dst := openSnapApp(t, dir, 0, 0)
	r := restoreInto(t, dst, served{snap: good.snap, chunks: good.chunks[:len(good.chunks)-1]}, hashes[3])
	if r.last() != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("chunks before the last: %v", r.last())
	}
	// The process stops before the last chunk: the next start finds an
	// empty store, with no trace of the imported nodes.
	dst.Close()
	dst = openSnapApp(t, dir, 0, 0)
	assertEmpty(t, dst)
	mustRestore(t, dst, good, hashes[3])
}

func TestSnapshotIncompleteNotListed(t *testing.T) {
	a := runSnap(t, 1, 10, 9)
	dir := a.snaps.dir
	path := func(h int, f string) string { return filepath.Join(dir, strconv.Itoa(h), f) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(path(7, chunkName(1))))                                      // a chunk missing
	must(os.Truncate(path(6, chunkName(0)), 5))                                 // a chunk cut short
	must(os.Remove(path(5, metaFile)))                                          // no metadata
	must(os.WriteFile(path(4, metaFile), []byte("{\"format\":1"), 0o600))       // metadata cut short
	must(os.Rename(filepath.Join(dir, "3"), filepath.Join(dir, tmpPrefix+"3"))) // never renamed into place
	bz, err := os.ReadFile(path(2, chunkName(0)))
	must(err)
	bz[0] ^= 1
	must(os.WriteFile(path(2, chunkName(0)), bz, 0o600)) // same size, other bytes
	var got []uint64
	ls, _ := a.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	for _, s := range ls.Snapshots {
		got = append(got, s.Height)
	}
	if !slices.Equal(got, []uint64{2, 1}) {
		t.Fatalf("listed %v, want [2 1]", got)
	}
	// A chunk whose bytes changed on disk is not served.
	if res, _ := a.LoadSnapshotChunk(context.Background(), &abci.RequestLoadSnapshotChunk{Height: 2, Format: SnapshotFormat, Chunk: 0}); res.Chunk != nil {
		t.Fatal("a damaged chunk was served")
	}
	for _, req := range []*abci.RequestLoadSnapshotChunk{{Height: 1, Format: 2}, {Height: 1, Format: SnapshotFormat, Chunk: 1000}, {Height: 99, Format: SnapshotFormat}} {
		if res, _ := a.LoadSnapshotChunk(context.Background(), req); res.Chunk != nil {
			t.Fatalf("chunk served for %v", req)
		}
	}
	// The next start removes what an interrupted snapshot left.
	a.Close()
	openSnapApp(t, filepath.Dir(dir), 0, 0)
	if _, err := os.Stat(filepath.Join(dir, tmpPrefix+"3")); !os.IsNotExist(err) {
		t.Fatalf("temporary snapshot directory left after a restart: %v", err)
	}
}

// TestSnapshotMutatedRecordsRefused restores snapshots whose records had
// random bytes changed, the metadata resealed to match: each is refused
// and leaves the store empty, or (when the change left the records
// meaning the same) restores the chain's app hash. Nothing panics.
func TestSnapshotMutatedRecordsRefused(t *testing.T) {
	ref := reference(t, 6)
	good := fetch(t, runSnap(t, 6, 2, 8), 6)
	all := records(t, good)
	rng := rand.New(rand.NewPCG(1, 2))
	dst := openSnapApp(t, t.TempDir(), 0, 0)
	refused := 0
	for i := range 300 {
		raw := bytes.Clone(all)
		for range 1 + rng.IntN(3) {
			raw[rng.IntN(len(raw))] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			raw = raw[:rng.IntN(len(raw))]
		}
		r := restoreInto(t, dst, reseal(t, good, [][]byte{compress(raw)}, -1), ref[6])
		switch r.last() {
		case abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT:
			refused++
			assertEmpty(t, dst)
		case abci.ResponseApplySnapshotChunk_ACCEPT:
			if h, hash := info(t, dst); h != 6 || !bytes.Equal(hash, ref[6]) {
				t.Fatalf("mutation %d accepted with Info %d %X", i, h, hash)
			}
			dst.Close()
			dst = openSnapApp(t, t.TempDir(), 0, 0)
		default:
			t.Fatalf("mutation %d: %v %v", i, r.offer, r.last())
		}
	}
	if refused < 250 {
		t.Fatalf("only %d of 300 mutated snapshots refused", refused)
	}
}

// TestSnapshotConcurrentWithCommits takes a snapshot every other height
// while blocks commit and queries read, then restores each kept snapshot
// to its height's app hash (run it with -race).
func TestSnapshotConcurrentWithCommits(t *testing.T) {
	ref := reference(t, 20)
	a := openSnapApp(t, t.TempDir(), 2, 3)
	initChain(t, a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = a.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
			_, _ = a.TrustedQuery(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: types.KeyAccount("user-1-0")})
		}
	}()
	for h := int64(1); h <= 20; h++ {
		finalize(t, a, h)
		commit(t, a)
	}
	close(stop)
	wg.Wait()
	a.snaps.wait()
	ls, _ := a.ListSnapshots(context.Background(), &abci.RequestListSnapshots{})
	if len(ls.Snapshots) == 0 {
		t.Fatal("no snapshot taken")
	}
	for _, s := range ls.Snapshots {
		h := int64(s.Height)
		mustRestore(t, openSnapApp(t, t.TempDir(), 0, 0), fetch(t, a, h), ref[h])
	}
	t.Logf("%d snapshots restored, the newest of height %d", len(ls.Snapshots), ls.Snapshots[0].Height)
}
