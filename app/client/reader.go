package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// QueryFunc answers one /key or /list query the way App.TrustedQuery
// does: a node's RPC with reads signed by the reader (Client.Query,
// SignedQuery), an in-process App (its TrustedQuery method) or records
// held in memory (MemQuery). Another transport plugs in here.
type QueryFunc func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error)

// RootSource returns the app hash of the ledger after block h, the root
// every proof read at h is checked against: the header of block h+1 as
// the node read serves it (Client.AppHash), or a header verified with the
// light client (FixedRoot).
type RootSource func(ctx context.Context, h int64) ([]byte, error)

// FixedRoot is the RootSource of one height whose app hash the caller has
// verified; any other height is an error.
func FixedRoot(h int64, root []byte) RootSource {
	return func(_ context.Context, at int64) ([]byte, error) {
		if at != h {
			return nil, fmt.Errorf("the app hash of height %d is not known (only that of %d)", at, h)
		}
		return root, nil
	}
}

// ErrProof means a record read with proofs does not match the app hash of
// its height: the node answered with something the validators did not
// commit.
var ErrProof = errors.New("not proven")

// Refusal is a query the node refused: its code (read_not_visible,
// read_unsigned...) and its message.
type Refusal struct {
	Code types.Code
	Log  string
}

func (r *Refusal) Error() string { return "refused: " + r.Log }

// Reader reads the ledger at one height through a QueryFunc: single keys
// (/key) and key ranges page by page (/list). A reader made for height 0
// pins the height of its first answer (the latest) and reads every key
// and page after it at that height; an answer at another height is an
// error. With a RootSource every value, every absence and every listed
// entry is checked against the app hash of the height before it is
// returned.
type Reader struct {
	query QueryFunc
	roots RootSource

	mu     sync.Mutex
	height int64
	root   []byte
	proofs int64
	spent  time.Duration
}

// NewReader returns a reader of the ledger q serves, at height (0: the
// latest, pinned at the first read), checking proofs against roots (nil:
// no proofs).
func NewReader(q QueryFunc, height int64, roots RootSource) *Reader {
	return &Reader{query: q, roots: roots, height: height}
}

// Height is the height the reader reads at (0 until a latest-height
// reader's first answer).
func (r *Reader) Height() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.height
}

// Proving reports whether every read is checked against the app hash.
func (r *Reader) Proving() bool { return r.roots != nil }

// AppHash is the app hash reads were checked against (nil before the
// first proof, or without proofs).
func (r *Reader) AppHash() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.root
}

// Proofs returns how many proofs the reader has checked and the time spent
// checking them.
func (r *Reader) Proofs() (int64, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proofs, r.spent
}

// ask sends one query at the reader's height and pins the height of the
// answer.
func (r *Reader) ask(ctx context.Context, path string, data []byte, prove bool) (*abci.ResponseQuery, int64, error) {
	res, err := r.query(ctx, &abci.RequestQuery{Path: path, Data: data, Height: r.Height(), Prove: prove})
	if err != nil {
		return nil, 0, err
	}
	if res.Code != 0 {
		return nil, 0, &Refusal{Code: types.Code(res.Code), Log: res.Log}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case res.Height < 1:
		return nil, 0, fmt.Errorf("answered without a committed height")
	case r.height == 0:
		r.height = res.Height
	case res.Height != r.height:
		return nil, 0, fmt.Errorf("answered at height %d, not at height %d", res.Height, r.height)
	}
	return res, r.height, nil
}

// Get returns the value of key, nil when the ledger has none; with proofs
// the value, or its absence, is checked.
func (r *Reader) Get(ctx context.Context, key []byte) ([]byte, error) {
	res, h, err := r.ask(ctx, types.QueryKey, key, r.Proving())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", key, err)
	}
	if r.Proving() {
		ops := res.ProofOps
		if ops == nil || len(ops.Ops) != 1 || ops.Ops[0].Type != types.ProofOpType {
			return nil, fmt.Errorf("record %q at height %d is %w: the node returned no ics23 proof", key, h, ErrProof)
		}
		if err := r.verify(ctx, h, []types.ListEntry{{Key: string(key), Value: res.Value, Proof: ops.Ops[0].Data}}); err != nil {
			return nil, err
		}
	}
	return res.Value, nil
}

// GetJSON reads and decodes the record at key; found is false when there
// is none.
func (r *Reader) GetJSON(ctx context.Context, key []byte, out any) (bool, error) {
	v, err := r.Get(ctx, key)
	if err != nil || v == nil {
		return false, err
	}
	if err := json.Unmarshal(v, out); err != nil {
		return false, fmt.Errorf("record %q is not valid: %w", key, err)
	}
	return true, nil
}

// List returns one page: up to limit entries whose keys start with prefix
// and sort after after (from the start of prefix when after is empty), in
// key order, and whether more follow. With proofs every entry is checked
// and its proof dropped.
func (r *Reader) List(ctx context.Context, prefix, after string, limit int) ([]types.ListEntry, bool, error) {
	req, err := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: limit, Prove: r.Proving()})
	if err != nil {
		return nil, false, err
	}
	res, h, err := r.ask(ctx, types.QueryList, req, false)
	if err != nil {
		return nil, false, fmt.Errorf("list %q: %w", prefix, err)
	}
	var lr types.ListResponse
	if err := json.Unmarshal(res.Value, &lr); err != nil {
		return nil, false, fmt.Errorf("list %q: the response is not valid: %w", prefix, err)
	}
	prev := after
	for i := range lr.Entries {
		e := &lr.Entries[i]
		if !strings.HasPrefix(e.Key, prefix) {
			return nil, false, fmt.Errorf("list %q: the node returned key %q outside the prefix", prefix, e.Key)
		}
		if (i > 0 || prev != "") && e.Key <= prev {
			return nil, false, fmt.Errorf("list %q: the node returned key %q after %q, out of order", prefix, e.Key, prev)
		}
		prev = e.Key
		if e.Value == nil {
			// A listed key exists: its proof must show membership.
			e.Value = []byte{}
		}
	}
	if r.Proving() {
		if err := r.verify(ctx, h, lr.Entries); err != nil {
			return nil, false, err
		}
		for i := range lr.Entries {
			lr.Entries[i].Proof = nil
		}
	}
	return lr.Entries, lr.More && len(lr.Entries) > 0, nil
}

// Scan calls fn for every entry under prefix, in key order, reading one
// page of MaxListLimit entries at a time.
func (r *Reader) Scan(ctx context.Context, prefix string, fn func(types.ListEntry) error) error {
	after := ""
	for {
		page, more, err := r.List(ctx, prefix, after, types.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = page[len(page)-1].Key
	}
}

// ScanJSON decodes every record under prefix, in key order, and calls fn
// with its key.
func ScanJSON[T any](ctx context.Context, r *Reader, prefix string, fn func(key string, v *T) error) error {
	return r.Scan(ctx, prefix, func(e types.ListEntry) error {
		v := new(T)
		if err := json.Unmarshal(e.Value, v); err != nil {
			return fmt.Errorf("record %q is not valid: %w", e.Key, err)
		}
		return fn(e.Key, v)
	})
}

// ListJSON returns every record under prefix, decoded, in key order.
func ListJSON[T any](ctx context.Context, r *Reader, prefix string) ([]T, error) {
	out := []T{}
	err := ScanJSON(ctx, r, prefix, func(_ string, v *T) error {
		out = append(out, *v)
		return nil
	})
	return out, err
}

// verify checks the proof of every entry (a nil Value: its absence)
// against the app hash of height h, on every CPU.
func (r *Reader) verify(ctx context.Context, h int64, entries []types.ListEntry) error {
	root, err := r.appHash(ctx, h)
	if err != nil {
		return err
	}
	start := time.Now()
	workers := min(runtime.GOMAXPROCS(0), len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				e := &entries[i]
				if len(e.Proof) == 0 {
					errs[i] = errors.New("the node returned no proof")
					continue
				}
				errs[i] = types.VerifyProof(root, []byte(e.Key), e.Value, e.Proof)
			}
		}()
	}
	wg.Wait()
	r.mu.Lock()
	r.proofs += int64(len(entries))
	r.spent += time.Since(start)
	r.mu.Unlock()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("record %q at height %d is %w: %v", entries[i].Key, h, ErrProof, err)
		}
	}
	return nil
}

// appHash returns the root of height h from the RootSource, once.
func (r *Reader) appHash(ctx context.Context, h int64) ([]byte, error) {
	if root := r.AppHash(); root != nil {
		return root, nil
	}
	root, err := r.roots(ctx, h)
	if err != nil {
		return nil, err
	}
	if len(root) == 0 {
		return nil, fmt.Errorf("no app hash for height %d", h)
	}
	r.mu.Lock()
	r.root = root
	r.mu.Unlock()
	return root, nil
}
