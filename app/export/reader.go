package export

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// Entry is one ledger record: its store key and its value bytes.
type Entry struct {
	Key   string
	Value []byte
}

// Reader reads ledger records at one fixed height. Implementations must
// return the same bytes for the same key on every call: an export reads
// some records twice (once for the record list and digest, once for the
// sheets).
type Reader interface {
	// Get returns the value stored under key, nil when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns up to limit entries whose keys start with prefix and
	// sort after after (every entry under prefix when after is empty), in
	// key order, and whether more follow.
	List(ctx context.Context, prefix, after string, limit int) ([]Entry, bool, error)
}

// PageSize is how many records an export asks a Reader for at a time.
const PageSize = types.MaxListLimit

// cursor walks the entries under a prefix page by page, holding one page.
type cursor struct {
	ctx    context.Context
	r      Reader
	prefix string
	page   []Entry
	pos    int
	after  string
	more   bool
	err    error
}

// newCursor starts a cursor over prefix.
func newCursor(ctx context.Context, r Reader, prefix string) *cursor {
	return &cursor{ctx: ctx, r: r, prefix: prefix, more: true}
}

// next returns the next entry; ok is false at the end or on an error
// (see err).
func (c *cursor) next() (Entry, bool) {
	for c.pos >= len(c.page) {
		if !c.more || c.err != nil {
			return Entry{}, false
		}
		page, more, err := c.r.List(c.ctx, c.prefix, c.after, PageSize)
		if err != nil {
			c.err = fmt.Errorf("listing %s: %w", c.prefix, err)
			return Entry{}, false
		}
		c.page, c.pos, c.more = page, 0, more && len(page) > 0
		if len(page) > 0 {
			last := page[len(page)-1].Key
			if last <= c.after && c.after != "" {
				c.err = fmt.Errorf("listing %s: the reader went backwards after %q", c.prefix, c.after)
				return Entry{}, false
			}
			c.after = last
		}
	}
	e := c.page[c.pos]
	c.pos++
	if !strings.HasPrefix(e.Key, c.prefix) {
		c.err = fmt.Errorf("listing %s: the reader returned key %q outside the prefix", c.prefix, e.Key)
		return Entry{}, false
	}
	return e, true
}

// scan calls fn for every entry under prefix, in key order.
func scan(ctx context.Context, r Reader, prefix string, fn func(Entry) error) error {
	c := newCursor(ctx, r, prefix)
	for {
		e, ok := c.next()
		if !ok {
			return c.err
		}
		if err := fn(e); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// getJSON reads and decodes the record at key; found is false when absent.
func getJSON(ctx context.Context, r Reader, key string, out any) (bool, error) {
	v, err := r.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", key, err)
	}
	if v == nil {
		return false, nil
	}
	if err := json.Unmarshal(v, out); err != nil {
		return false, fmt.Errorf("record %s is not valid: %w", key, err)
	}
	return true, nil
}

// QueryFunc is the ABCI Query entry point of a veritrial App (App.Query)
// or anything that answers like it (a node's RPC).
type QueryFunc func(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error)

// ABCIReader reads records at Height through ABCI queries: App.Query of an
// in-process App (tests), or a node's RPC (NodeSource).
type ABCIReader struct {
	Query  QueryFunc
	Height int64
}

// Get implements Reader.
func (a *ABCIReader) Get(ctx context.Context, key string) ([]byte, error) {
	res, err := a.Query(ctx, &abci.RequestQuery{Path: types.QueryKey, Data: []byte(key), Height: a.Height})
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("query %q refused: %s", key, res.Log)
	}
	if res.Height != a.Height {
		return nil, fmt.Errorf("query %q answered at height %d, not %d", key, res.Height, a.Height)
	}
	return res.Value, nil
}

// List implements Reader.
func (a *ABCIReader) List(ctx context.Context, prefix, after string, limit int) ([]Entry, bool, error) {
	req, err := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: limit})
	if err != nil {
		return nil, false, err
	}
	res, err := a.Query(ctx, &abci.RequestQuery{Path: types.QueryList, Data: req, Height: a.Height})
	if err != nil {
		return nil, false, err
	}
	if res.Code != 0 {
		return nil, false, fmt.Errorf("list %q refused: %s", prefix, res.Log)
	}
	if res.Height != a.Height {
		return nil, false, fmt.Errorf("list %q answered at height %d, not %d", prefix, res.Height, a.Height)
	}
	var lr types.ListResponse
	if err := json.Unmarshal(res.Value, &lr); err != nil {
		return nil, false, fmt.Errorf("list response is not valid: %w", err)
	}
	out := make([]Entry, len(lr.Entries))
	for i, e := range lr.Entries {
		out[i] = Entry{Key: e.Key, Value: e.Value}
	}
	return out, lr.More, nil
}

// MemReader is a Reader over records held in memory (tests).
type MemReader struct {
	keys []string
	vals map[string][]byte
}

// NewMemReader returns a reader over a copy of records.
func NewMemReader(records map[string][]byte) *MemReader {
	m := &MemReader{vals: make(map[string][]byte, len(records))}
	for k, v := range records {
		m.keys = append(m.keys, k)
		m.vals[k] = append([]byte(nil), v...)
	}
	sort.Strings(m.keys)
	return m
}

// Get implements Reader.
func (m *MemReader) Get(_ context.Context, key string) ([]byte, error) { return m.vals[key], nil }

// List implements Reader.
func (m *MemReader) List(_ context.Context, prefix, after string, limit int) ([]Entry, bool, error) {
	start := prefix
	if after >= prefix {
		start = after + "\x00"
	}
	i := sort.SearchStrings(m.keys, start)
	var out []Entry
	for ; i < len(m.keys) && strings.HasPrefix(m.keys[i], prefix); i++ {
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, Entry{Key: m.keys[i], Value: m.vals[m.keys[i]]})
	}
	return out, false, nil
}

// Block is the consensus context of the exported height: which chain,
// which block, the app hash committing the state after it, and the
// validators that signed it.
type Block struct {
	ChainID string
	Height  int64
	// Time is the block's consensus time (UTC); it dates the files.
	Time time.Time
	// Hash is the block hash (upper-case hex), empty when unknown.
	Hash string
	// AppHash is the app hash of the state after the block (carried by
	// the header of the next block), upper-case hex.
	AppHash string
	// NextHash is the hash of block Height+1 whose header carries
	// AppHash, empty when unknown.
	NextHash string
	// Validators are the validators whose signatures commit the block
	// (the commit for Height, carried as LastCommit by block Height+1).
	Validators []Validator
}

// Validator is one validator of the exported block.
type Validator struct {
	Address string // upper-case hex
	PubKey  string // base64 ed25519 key
	Power   int64
	Signed  bool // its signature is in the block's commit
}
