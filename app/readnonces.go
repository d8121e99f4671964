package app

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// maxReadNonces bounds the read requests a node remembers: 2,097,152,
// about 112 MB when full (BenchmarkReadNonces). A request is
// remembered until it expires, at most types.MaxReadTTL (300 s) ahead, so
// this serves 7,000 reads/s of requests good for the full five minutes,
// and 35,000 reads/s of the client's 60-second ones (client.ReadTTL).
const maxReadNonces = 1 << 21

// nonceRing is how many one-second buckets of expiries readNonces keeps:
// more than types.MaxReadTTL + 1, so that two live expiries never share a
// bucket.
const nonceRing = 512

// readNonces remembers the read requests whose signature verified, by
// reader and nonce, until they expire, so that the node never answers the
// same signed request twice. Its memory is bounded: when it is full a new
// request is refused (read_busy) rather than an unexpired one forgotten,
// which would let that request be replayed. Its clock never goes back
// (see clock), so a request it forgot as expired stays expired. Safe for
// concurrent use.
type readNonces struct {
	mu      sync.Mutex
	max     int
	seen    map[[16]byte]struct{}
	buckets [nonceRing]nonceBucket
	// now is the latest clock reading, in Unix seconds; every expiry
	// below it is forgotten.
	now int64
}

// nonceBucket holds the requests that expire in one second.
type nonceBucket struct {
	sec int64
	ids [][16]byte
}

func newReadNonces(max int) *readNonces {
	return &readNonces{max: max, seen: make(map[[16]byte]struct{})}
}

// clock returns the later of t and the latest time it was given, and
// forgets the requests expired by then.
func (n *readNonces) clock(t time.Time) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := t.Unix()
	if s <= n.now {
		return time.Unix(n.now, 0)
	}
	// The buckets of the seconds from the last reading to this one, each
	// visited once.
	for sec := n.now; sec < s && sec < n.now+nonceRing; sec++ {
		b := &n.buckets[sec%nonceRing]
		if b.sec >= s {
			continue
		}
		for _, id := range b.ids {
			delete(n.seen, id)
		}
		b.ids, b.sec = nil, 0
	}
	n.now = s
	return t
}

// spend records the request of reader with nonce, good until expires (a
// Unix second not before the clock's, and within nonceRing seconds of
// it); it refuses one already recorded, and any when full.
func (n *readNonces) spend(reader, nonce string, expires int64) *types.Error {
	id := nonceID(reader, nonce)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.seen[id]; dup {
		return types.Errf(types.CodeReadReplayed, "this read request was already received (nonce %s of %s); sign a new one for each read", nonce, reader)
	}
	if len(n.seen) >= n.max {
		return types.Errf(types.CodeReadBusy, "this node is answering more reads than it can remember for replay protection (%d in the last five minutes); try again in a few seconds, or sign reads with a shorter expiry", n.max)
	}
	b := &n.buckets[expires%nonceRing]
	if b.sec != expires {
		for _, old := range b.ids { // expired: clock emptied it already
			delete(n.seen, old)
		}
		b.sec, b.ids = expires, b.ids[:0]
	}
	b.ids = append(b.ids, id)
	n.seen[id] = struct{}{}
	return nil
}

// nonceID identifies a read request by its reader and nonce.
func nonceID(reader, nonce string) [16]byte {
	h := sha256.Sum256([]byte(reader + "\x00" + nonce))
	return [16]byte(h[:16])
}
