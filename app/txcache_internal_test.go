package app

import "testing"

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
