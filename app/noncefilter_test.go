package app

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

func TestNonceFilter(t *testing.T) {
	f := newNonceFilter()
	key := func(exp int64, i int) []byte {
		return types.KeyNonce(exp, "site1-coordinator", fmt.Sprintf("%016x", i))
	}
	// More than one filter's worth in one group, and a few other groups.
	for i := 0; i < nonceFilterSize+500; i++ {
		f.add(key(250, i), 250)
	}
	for _, exp := range []int64{120, 199, 300} {
		f.add(key(exp, 1), exp)
	}
	if g := f.groups[250/nonceGroupSpan]; len(g.filters) != 2 {
		t.Fatalf("group of expiry 250 has %d filters, want 2", len(g.filters))
	}
	for _, i := range []int{0, 777, nonceFilterSize - 1, nonceFilterSize, nonceFilterSize + 499} {
		if !f.mayContain(key(250, i), 250) {
			t.Fatalf("added nonce %d reported absent", i)
		}
	}
	// Absent keys: mostly reported absent (a full filter's false-positive
	// rate is 0.1%; two filters are tested, so allow 1%).
	fp := 0
	for i := 0; i < 10_000; i++ {
		if f.mayContain(key(250, 1_000_000+i), 250) {
			fp++
		}
	}
	if fp > 100 {
		t.Errorf("%d false positives in 10,000", fp)
	}
	if f.mayContain(key(500, 1), 500) {
		t.Error("a nonce of an empty group reported present")
	}
	// Pruning at height 200 drops the group 100-199 only.
	f.prune(200)
	if f.mayContain(key(120, 1), 120) || f.mayContain(key(199, 1), 199) {
		t.Error("expired group kept")
	}
	if !f.mayContain(key(250, 1), 250) || !f.mayContain(key(300, 1), 300) {
		t.Error("live groups dropped")
	}
	// Height 250 is inside group 200-299, which still holds expiry 250..299.
	f.prune(250)
	if !f.mayContain(key(250, 1), 250) {
		t.Error("group dropped while some of its expiries are live")
	}
}

func TestNonceKeyExpiry(t *testing.T) {
	if exp, err := nonceExpiry(types.KeyNonce(42, "a", "0123456789abcdef")); err != nil || exp != 42 {
		t.Errorf("nonceExpiry = %d, %v", exp, err)
	}
	for _, k := range []string{"nonce/", "nonce/00000000004x/a/b", "nonce/000000000042a/b"} {
		if _, err := nonceExpiry([]byte(k)); err == nil {
			t.Errorf("malformed key %q accepted", k)
		}
	}
}
