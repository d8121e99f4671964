package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	ics23 "github.com/cosmos/ics23/go"

	"github.com/cosmos/iavl"
)

// ScrubReport is what Scrub found in a node's ledger state.
type ScrubReport struct {
	// Height is the committed version checked.
	Height int64 `json:"height"`
	// Records and Nodes count the tree's leaves and all its nodes.
	Records int64 `json:"records"`
	Nodes   int64 `json:"nodes"`
	// StoredRoot is the root hash the store holds (what the node reports
	// as its app hash); RecomputedRoot is the root recomputed from every
	// stored leaf and the tree's shape.
	StoredRoot     []byte `json:"stored_root"`
	RecomputedRoot []byte `json:"recomputed_root"`
	// Damaged names the records found damaged, at most MaxScrubDamage.
	Damaged []ScrubDamage `json:"damaged,omitempty"`
	// More counts damaged records beyond those named.
	More    int     `json:"more_damaged,omitempty"`
	Seconds float64 `json:"seconds"`
}

// ScrubDamage is one damaged record.
type ScrubDamage struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// MaxScrubDamage bounds the damaged records a report names.
const MaxScrubDamage = 100

// OK says the store is intact: the recomputed root is the stored one and
// no record was found damaged.
func (r *ScrubReport) OK() bool {
	return len(r.Damaged) == 0 && bytes.Equal(r.StoredRoot, r.RecomputedRoot)
}

func (r *ScrubReport) damage(key []byte, format string, args ...any) {
	if len(r.Damaged) == MaxScrubDamage {
		r.More++
		return
	}
	r.Damaged = append(r.Damaged, ScrubDamage{Key: fmt.Sprintf("%q", key), Reason: fmt.Sprintf(format, args...)})
}

// Scrub checks the committed version of the ledger state in dataDir (the
// node stopped: the store is locked while it runs). It recomputes every
// node hash from the stored leaves up to the root, as IAVL hashes them,
// and compares the root with the stored one (the tree keeps no separate
// index of values: reads and proofs use these leaves); when the roots
// differ, it checks each record's Merkle proof against the stored root to
// name the damaged ones. The caller compares StoredRoot
// with the app hash the validators signed.
func Scrub(ctx context.Context, dataDir string) (*ScrubReport, error) {
	began := time.Now()
	s, err := openStore(dataDir, MinCacheSize)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if s.committed == 0 {
		return nil, errors.New("the ledger state holds no committed height yet")
	}
	imm, err := s.reader.GetImmutable(s.committed)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot load version %d: %v", ErrStoreDamaged, s.committed, err)
	}
	r := &ScrubReport{Height: s.committed, StoredRoot: imm.Hash()}
	if err := r.recompute(ctx, imm); err != nil {
		return nil, err
	}
	if !bytes.Equal(r.StoredRoot, r.RecomputedRoot) {
		if err := r.locate(ctx, imm); err != nil {
			return nil, err
		}
	}
	r.Seconds = time.Since(began).Seconds()
	return r, nil
}

// scrubNode is a subtree's hash and leaf count while the root is rebuilt.
type scrubNode struct {
	hash []byte
	size int64
}

// recompute walks imm's nodes in IAVL's export order (post-order, leaves
// in key order), hashing each as IAVL does (Node.writeHashBytes: height,
// size and version as signed varints; a leaf's key and the SHA-256 of its
// value, an inner node's children's hashes, each length-prefixed).
func (r *ScrubReport) recompute(ctx context.Context, imm *iavl.ImmutableTree) error {
	exp, err := imm.Export()
	if err != nil {
		return err
	}
	defer exp.Close()
	var stack []scrubNode
	buf := make([]byte, 0, 256)
	for {
		n, err := exp.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading the tree after %d nodes: %v", ErrStoreDamaged, r.Nodes, err)
		}
		if r.Nodes++; r.Nodes%100_000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		buf = binary.AppendVarint(buf[:0], int64(n.Height))
		if n.Height == 0 {
			r.Records++
			vh := sha256.Sum256(n.Value)
			buf = binary.AppendVarint(buf, 1)
			buf = binary.AppendVarint(buf, n.Version)
			buf = binary.AppendUvarint(buf, uint64(len(n.Key)))
			buf = append(buf, n.Key...)
			buf = append(append(buf, 32), vh[:]...)
			h := sha256.Sum256(buf)
			stack = append(stack, scrubNode{hash: h[:], size: 1})
			continue
		}
		if len(stack) < 2 {
			return fmt.Errorf("%w: an inner node without two children after %d nodes", ErrStoreDamaged, r.Nodes)
		}
		left, right := stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-2]
		size := left.size + right.size
		buf = binary.AppendVarint(buf, size)
		buf = binary.AppendVarint(buf, n.Version)
		buf = append(append(buf, 32), left.hash...)
		buf = append(append(buf, 32), right.hash...)
		h := sha256.Sum256(buf)
		stack = append(stack, scrubNode{hash: h[:], size: size})
	}
	switch len(stack) {
	case 0:
		r.RecomputedRoot = sha256.New().Sum(nil) // IAVL's hash of an empty tree
	case 1:
		r.RecomputedRoot = stack[0].hash
	default:
		return fmt.Errorf("%w: the tree's nodes do not form one tree (%d subtrees left)", ErrStoreDamaged, len(stack))
	}
	return nil
}

// locate checks every record's membership proof against the stored root:
// a record whose proof fails is damaged, or is the leaf beside a damaged
// one (a proof carries a sibling leaf's hash recomputed from its value).
func (r *ScrubReport) locate(ctx context.Context, imm *iavl.ImmutableTree) error {
	var n int64
	var failed error
	imm.Iterate(func(k, v []byte) bool {
		if n++; n%10_000 == 0 && ctx.Err() != nil {
			failed = ctx.Err()
			return true
		}
		if !proves(imm, r.StoredRoot, k, v) {
			r.damage(k, "its Merkle proof does not lead to the stored root: the record, or the one beside it in the tree, was altered")
		}
		return false
	})
	return failed
}

// proves says whether key's membership proof in imm, with value, leads
// to root.
func proves(imm *iavl.ImmutableTree, root, key, value []byte) bool {
	p, err := imm.GetMembershipProof(key)
	if err != nil {
		return false
	}
	return ics23.VerifyMembership(ics23.IavlSpec, root, p, key, value)
}

// QuickCheck checks up to samples records of the committed version,
// chosen at random, against the stored root with their Merkle proofs: a
// bounded look for damage at start (Scrub checks everything). It returns
// the damaged records found.
func (a *App) QuickCheck(samples int) ([]ScrubDamage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.store
	if s.committed == 0 {
		return nil, nil
	}
	imm, err := s.reader.GetImmutable(s.committed)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot load version %d: %v", ErrStoreDamaged, s.committed, err)
	}
	size := imm.Size()
	if size == 0 {
		return nil, nil
	}
	root := imm.Hash()
	r := &ScrubReport{}
	for i := 0; i < samples && int64(i) < size; i++ {
		idx := int64(i)
		if size > int64(samples) {
			idx = rand.Int64N(size) // not consensus code: any sample will do
		}
		k, v, err := imm.GetByIndex(idx)
		if err != nil {
			return nil, fmt.Errorf("%w: reading record %d of %d: %v", ErrStoreDamaged, idx, size, err)
		}
		if !proves(imm, root, k, v) {
			r.damage(k, "its Merkle proof does not lead to the stored root")
		}
	}
	return r.Damaged, nil
}

// StateDifference is a record two ledger states hold differently: the
// SHA-256 of each side's value, or "absent".
type StateDifference struct {
	Key      string `json:"key"`
	Node     string `json:"node"`
	Replayed string `json:"replayed"`
}

// CompareState compares, record by record, a's state at height with the
// state of a stopped node in dataDir at the same height (or its last
// committed height, if lower: the height compared is returned). It names
// at most MaxScrubDamage differences and counts the rest.
func (a *App) CompareState(ctx context.Context, dataDir string, height int64) (compared int64, diffs []StateDifference, more int, err error) {
	s, err := openStore(dataDir, MinCacheSize)
	if err != nil {
		return 0, nil, 0, err
	}
	defer s.close()
	compared = min(height, s.committed)
	if compared == 0 {
		return 0, nil, 0, errors.New("the node's ledger state holds no committed height")
	}
	theirs, err := s.readVersion(compared)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("the node's ledger state at height %d: %w", compared, err)
	}
	a.mu.Lock()
	mine, err := a.store.readVersion(compared)
	a.mu.Unlock()
	if err != nil {
		return 0, nil, 0, fmt.Errorf("the replayed state at height %d: %w", compared, err)
	}
	ni, err := theirs.Iterator(nil, nil, true)
	if err != nil {
		return 0, nil, 0, err
	}
	defer ni.Close()
	ri, err := mine.Iterator(nil, nil, true)
	if err != nil {
		return 0, nil, 0, err
	}
	defer ri.Close()
	differ := func(k []byte, node, replayed string) {
		if len(diffs) == MaxScrubDamage {
			more++
			return
		}
		diffs = append(diffs, StateDifference{Key: fmt.Sprintf("%q", k), Node: node, Replayed: replayed})
	}
	sum := func(v []byte) string { return fmt.Sprintf("%x", sha256.Sum256(v)) }
	for n := 0; ni.Valid() || ri.Valid(); n++ {
		if n%100_000 == 0 && ctx.Err() != nil {
			return 0, nil, 0, ctx.Err()
		}
		c := 0
		switch {
		case !ni.Valid():
			c = 1
		case !ri.Valid():
			c = -1
		default:
			c = bytes.Compare(ni.Key(), ri.Key())
		}
		switch {
		case c < 0:
			differ(ni.Key(), sum(ni.Value()), "absent")
			ni.Next()
		case c > 0:
			differ(ri.Key(), "absent", sum(ri.Value()))
			ri.Next()
		default:
			if !bytes.Equal(ni.Value(), ri.Value()) {
				differ(ni.Key(), sum(ni.Value()), sum(ri.Value()))
			}
			ni.Next()
			ri.Next()
		}
	}
	return compared, diffs, more, nil
}
