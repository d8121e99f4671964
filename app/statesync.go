package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/veritrial/veritrial/app/types"
)

// State sync: the ABCI snapshot methods. CometBFT serves this node's
// snapshots (snapshot.go) to nodes that join, and on a node that joins it
// offers a snapshot whose height's app hash its light client verified,
// then applies its chunks in order. The node imports the nodes into its
// empty tree with iavl's importer; after the last chunk the tree's root
// hash must be that verified app hash. Whatever goes wrong, the store is
// left empty, so that another snapshot, or a replay from genesis, can
// follow.

// ListSnapshots lists the node's complete snapshots, newest first, from
// the second height below the last committed one down. A node that joins
// verifies the headers of the two heights after the snapshot's before it
// takes it, and refuses for good a snapshot it could not verify: one at
// the tip of an idle chain would be refused until the next snapshot, a
// whole interval later.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	a.cmu.Lock()
	committed := a.checkedHeight
	a.cmu.Unlock()
	resp := &abci.ResponseListSnapshots{}
	for _, m := range a.snaps.list() {
		if m.Height > committed-2 {
			continue
		}
		meta := m.encode()
		hash := sha256.Sum256(meta)
		resp.Snapshots = append(resp.Snapshots, &abci.Snapshot{
			Height: uint64(m.Height), Format: m.Format, Chunks: uint32(len(m.ChunkSHA256)), Hash: hash[:], Metadata: meta,
		})
	}
	return resp, nil
}

// LoadSnapshotChunk returns a chunk of one of the node's snapshots, or no
// chunk (CometBFT then answers "missing") when it has none that matches.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	if req.Format != SnapshotFormat {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	bz, err := a.snaps.chunk(int64(req.Height), req.Chunk)
	if err != nil {
		a.log.Error("snapshot chunk not served", "height", req.Height, "chunk", req.Chunk, "err", err)
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: bz}, nil
}

// restore is a snapshot being restored, under the App's mu.
type restore struct {
	meta    *snapshotMeta
	appHash []byte // the app hash CometBFT's light client verified
	started time.Time
	busy    time.Duration // spent importing chunks (the rest: waiting for them)
	next    uint32        // the chunk expected next
	nodes   int64         // records imported so far
	imp     *iavl.Importer
	// heights mirrors the importer's stack of subtrees waiting for their
	// parent: an inner node takes the last two, which must be lower.
	heights []int8
	coder   *chunkCoder
	// nonces filters the nonce records imported so far: the restored
	// state's filter, with no second pass over the tree.
	nonces *nonceFilter
}

// OfferSnapshot accepts a snapshot of this node's format when the store
// is empty. A snapshot whose metadata is malformed or names another app
// hash is rejected; an offer to a node that already holds state aborts the
// state sync.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	result := func(r abci.ResponseOfferSnapshot_Result, why string, kv ...any) (*abci.ResponseOfferSnapshot, error) {
		a.log.Info("snapshot "+r.String(), append([]any{"reason", why}, kv...)...)
		return &abci.ResponseOfferSnapshot{Result: r}, nil
	}
	if err := a.abandonRestore(); err != nil {
		return result(abci.ResponseOfferSnapshot_ABORT, err.Error())
	}
	s := req.Snapshot
	if s == nil {
		return result(abci.ResponseOfferSnapshot_REJECT, "no snapshot in the offer")
	}
	if a.store.committed != 0 {
		return result(abci.ResponseOfferSnapshot_ABORT, "the ledger state is not empty: state sync needs an empty store", "committed_height", a.store.committed)
	}
	if s.Format != SnapshotFormat {
		return result(abci.ResponseOfferSnapshot_REJECT_FORMAT, fmt.Sprintf("format %d is not this node's %d", s.Format, SnapshotFormat), "height", s.Height)
	}
	m, err := decodeSnapshotMeta(s.Metadata)
	if err == nil {
		err = checkOffer(s, m, req.AppHash)
	}
	if err != nil {
		return result(abci.ResponseOfferSnapshot_REJECT, err.Error(), "height", s.Height)
	}
	imp, err := a.store.tree.Import(m.Height)
	if err != nil {
		return result(abci.ResponseOfferSnapshot_ABORT, "the tree cannot be imported into: "+err.Error())
	}
	a.restoring = &restore{meta: m, appHash: m.AppHash, started: time.Now(), imp: imp, coder: newChunkCoder(), nonces: newNonceFilter()}
	a.log.Info("restoring a snapshot", "height", m.Height, "chunks", len(m.ChunkSHA256), "nodes", m.Nodes, "app_hash", fmt.Sprintf("%X", m.AppHash))
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

// checkOffer checks that the offered snapshot is the one its metadata
// describes, and of the app hash CometBFT verified for its height.
func checkOffer(s *abci.Snapshot, m *snapshotMeta, appHash []byte) error {
	hash := sha256.Sum256(s.Metadata)
	switch {
	case !bytes.Equal(s.Hash, hash[:]):
		return errors.New("the snapshot hash is not the SHA-256 of its metadata")
	case s.Height != uint64(m.Height) || s.Chunks != uint32(len(m.ChunkSHA256)):
		return fmt.Errorf("the snapshot of height %d in %d chunks has metadata of height %d in %d chunks", s.Height, s.Chunks, m.Height, len(m.ChunkSHA256))
	case !bytes.Equal(appHash, m.AppHash):
		return fmt.Errorf("the snapshot's app hash %X is not the chain's %X at height %d", m.AppHash, appHash, m.Height)
	}
	return nil
}

// ApplySnapshotChunk imports the next chunk of the snapshot being
// restored. A chunk that does not match its hash is fetched again from
// another peer; a chunk that matches but does not decode into the tree,
// or a tree whose root hash is not the verified app hash, rejects the
// snapshot and empties the store.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	began := time.Now()
	r := a.restoring
	if r == nil {
		a.log.Error("snapshot chunk without a snapshot being restored", "chunk", req.Index)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	reject := func(err error) (*abci.ResponseApplySnapshotChunk, error) {
		a.log.Error("snapshot rejected", "height", r.meta.Height, "chunk", req.Index, "sender", req.Sender, "err", err)
		if derr := a.abandonRestore(); derr != nil {
			return nil, derr
		}
		resp := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}
		if req.Sender != "" {
			resp.RejectSenders = []string{req.Sender}
		}
		return resp, nil
	}
	if req.Index != r.next {
		return reject(fmt.Errorf("chunk %d applied where chunk %d was expected", req.Index, r.next))
	}
	if sum := sha256.Sum256(req.Chunk); len(req.Chunk) > maxChunkBytes || !bytes.Equal(sum[:], r.meta.ChunkSHA256[req.Index]) {
		a.log.Info("snapshot chunk does not match its hash: fetching it again from another peer", "height", r.meta.Height, "chunk", req.Index, "sender", req.Sender)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: nonEmpty(req.Sender)}, nil
	}
	if err := r.apply(req.Chunk); err != nil {
		return reject(fmt.Errorf("chunk %d: %w", req.Index, err))
	}
	r.busy += time.Since(began)
	r.next++
	if int(r.next) < len(r.meta.ChunkSHA256) {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	}
	if err := a.finishRestore(); err != nil {
		return reject(err)
	}
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// apply imports one chunk's records.
func (r *restore) apply(chunk []byte) error {
	raw, err := r.coder.decompress(chunk)
	if err != nil {
		return err
	}
	return decodeNodes(raw, r.meta.Height, func(n *iavl.ExportNode) error {
		if r.nodes == r.meta.Nodes {
			return fmt.Errorf("more than the %d nodes the metadata announces", r.meta.Nodes)
		}
		if err := r.shape(n.Height); err != nil {
			return err
		}
		if n.Height == 0 && bytes.HasPrefix(n.Key, noncePrefix) {
			exp, err := nonceExpiry(n.Key)
			if err != nil {
				return err
			}
			r.nonces.add(n.Key, exp)
		}
		if n.Height == 0 && bytes.HasPrefix(n.Key, nonceListPrefix) {
			if err := nonceListKeys(n.Key, n.Value, r.nonces.add); err != nil {
				return err
			}
		}
		r.nodes++
		return r.imp.Add(n)
	})
}

var noncePrefix, nonceListPrefix = []byte(types.PrefixNonce), []byte(types.PrefixNonceList)

// shape checks that a node of height h may come next in a post-order
// stream: a leaf always, an inner node on top of two lower subtrees.
// Without the check, a stream of nodes that never join would grow the
// importer's stack without bound.
func (r *restore) shape(h int8) error {
	n := len(r.heights)
	if h > 0 {
		if n < 2 || r.heights[n-1] >= h || r.heights[n-2] >= h {
			return fmt.Errorf("an inner node of height %d without two lower subtrees before it", h)
		}
		r.heights = r.heights[:n-2]
	}
	if len(r.heights) > maxNodeHeight {
		return errors.New("more subtrees waiting for a parent than a tree can be tall")
	}
	r.heights = append(r.heights, h)
	return nil
}

// finishRestore commits the import as the snapshot's version, checks its
// root hash against the verified app hash, records the committed height
// and loads the state the node serves from, with the nonce filter the
// import filled.
func (a *App) finishRestore() error {
	began := time.Now()
	r := a.restoring
	if r.nodes != r.meta.Nodes {
		return fmt.Errorf("the chunks hold %d nodes, the metadata announces %d", r.nodes, r.meta.Nodes)
	}
	if len(r.heights) > 1 {
		return fmt.Errorf("the nodes form %d subtrees, not one tree", len(r.heights))
	}
	if err := r.imp.Commit(); err != nil {
		return fmt.Errorf("committing the imported tree: %w", err)
	}
	if got := a.store.tree.Hash(); !bytes.Equal(got, r.appHash) {
		return fmt.Errorf("the restored tree's root hash %X is not the chain's app hash %X at height %d", got, r.appHash, r.meta.Height)
	}
	if err := a.store.commitRestored(r.meta.Height); err != nil {
		return fmt.Errorf("recording the restored height: %w", err)
	}
	r.coder.close()
	a.restoring = nil
	a.blockReads = newReadMemo(a.store.tree)
	loading := time.Now()
	for _, load := range []func() error{a.loadParams, a.refreshChecked} {
		if err := load(); err != nil {
			panic(fmt.Sprintf("loading the state restored at height %d: %v", r.meta.Height, err))
		}
	}
	a.cmu.Lock()
	a.nonces = r.nonces
	a.cmu.Unlock()
	a.log.Info("state restored from a snapshot", "height", r.meta.Height, "app_hash", fmt.Sprintf("%X", r.appHash),
		"nodes", r.nodes, "chunks", len(r.meta.ChunkSHA256), "seconds", fmt.Sprintf("%.1f", time.Since(r.started).Seconds()),
		"importing_seconds", fmt.Sprintf("%.1f", (r.busy+loading.Sub(began)).Seconds()), "loading_seconds", fmt.Sprintf("%.1f", time.Since(loading).Seconds()))
	return nil
}

// abandonRestore stops the restore in progress, if any, and empties the
// store. Its error means the store could not be emptied.
func (a *App) abandonRestore() error {
	r := a.restoring
	if r == nil {
		return nil
	}
	a.restoring = nil
	r.imp.Close() // safe after Commit too
	r.coder.close()
	if err := a.store.discardTree(); err != nil {
		return fmt.Errorf("emptying the store after a failed restore: %w", err)
	}
	a.blockReads = newReadMemo(a.store.tree)
	return nil
}

// commitRestored records height, synced, as both the committed height
// and the first height the tree holds, and reopens the reader on the
// imported tree.
func (s *store) commitRestored(height int64) error {
	var bz [8]byte
	binary.BigEndian.PutUint64(bz[:], uint64(height))
	b := new(leveldb.Batch)
	b.Put(metaCommitted, bz[:])
	b.Put(metaRestored, bz[:])
	if err := s.ldb.RawDB().Write(b, &opt.WriteOptions{Sync: true}); err != nil {
		return err
	}
	s.committed = height
	s.restored.Store(height)
	s.reader = newTree(s.treeDB, max(s.cacheSize/2, 1000))
	return nil
}

// exportTree opens a saved version for a snapshot on a tree handle of its
// own, whose small node cache the export alone uses.
func (s *store) exportTree(height int64) (*iavl.ImmutableTree, error) {
	return newTree(s.treeDB, 10_000).GetImmutable(height)
}
