package app

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

func TestTxCacheBound(t *testing.T) {
	c := newTxCache(3)
	key := func(i int) (h [32]byte) { h[0] = byte(i); h[1] = byte(i >> 8); return }
	for i := 0; i < 5; i++ {
		c.put(key(i), &cachedTx{pub: "p"})
	}
	if len(c.byKey) != 3 {
		t.Fatalf("holds %d entries, want 3", len(c.byKey))
	}
	if c.get(key(0)) != nil || c.get(key(1)) != nil || c.get(key(4)) == nil {
		t.Fatal("the oldest entries were not the ones dropped")
	}
	if c.take(key(4)) == nil || c.take(key(4)) != nil {
		t.Fatal("take must return an entry once")
	}
	// Many put/take rounds keep the order queue bounded.
	for i := 0; i < 10_000; i++ {
		c.put(key(100+i), &cachedTx{})
		c.take(key(100 + i))
	}
	if len(c.fifo) > 2*c.max+1024 || len(c.byKey) != 2 {
		t.Fatalf("queue %d entries, map %d", len(c.fifo), len(c.byKey))
	}
}

// countingReader is a reader over a map that counts its reads.
type countingReader struct {
	m     map[string][]byte
	reads int
}

func (r *countingReader) Get(key []byte) ([]byte, error) { r.reads++; return r.m[string(key)], nil }

func TestReadMemo(t *testing.T) {
	acct, subj, form := types.KeyAccount("a1"), types.KeySubject("S", "S1-001"), types.KeyForm(types.FormKey{Study: "S", Subject: "S1-001", Event: "E", EventRepeat: 1, Form: "F"})
	r := &countingReader{m: map[string][]byte{string(acct): []byte("A"), string(subj): []byte("B"), string(form): []byte("C")}}
	m := newReadMemo(r)
	m.max = 2
	read := func(key []byte, want string) {
		t.Helper()
		if v, err := m.Get(key); err != nil || string(v) != want {
			t.Fatalf("Get %s = %q, %v; want %q", key, v, err, want)
		}
	}
	read(acct, "A")
	read(acct, "A")
	read(subj, "B")
	read(subj, "B")
	if r.reads != 2 {
		t.Fatalf("%d reads of the tree, want 2 (one per remembered key)", r.reads)
	}
	read(form, "C")
	read(form, "C")
	if r.reads != 4 {
		t.Fatalf("%d reads, want 4: forms are not remembered", r.reads)
	}
	// An absent key is remembered as absent, and the full memo starts afresh.
	read(types.KeyStudy("S"), "")
	if len(m.m) != 1 {
		t.Fatalf("memo holds %d keys after filling up, want 1", len(m.m))
	}
	read(types.KeyStudy("S"), "")
	read(acct, "A")
	if r.reads != 6 {
		t.Fatalf("%d reads, want 6", r.reads)
	}
	// A forgotten key is read again, with the tree's new value.
	r.m[string(acct)] = []byte("A2")
	m.forget(string(acct))
	read(acct, "A2")
}
