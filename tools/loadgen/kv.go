package main

import (
	"crypto/rand"
	"fmt"
	"sync/atomic"
)

// kvWorkload makes kvstore txs "k<16 hex digits>=<random letters>" of
// exactly size bytes; every key is new, so no tx repeats another.
type kvWorkload struct {
	size int
	tag  string
	n    atomic.Int64
}

const kvAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newKV(size int) (*kvWorkload, error) {
	if size < 32 {
		return nil, fmt.Errorf("kvstore tx size %d is below the minimum of 32 bytes", size)
	}
	t := make([]byte, 4)
	if _, err := rand.Read(t); err != nil {
		return nil, err
	}
	return &kvWorkload{size: size, tag: fmt.Sprintf("%x", t)}, nil
}

// next implements workload.
func (w *kvWorkload) next() (genTx, error) {
	return genTx{raw: kvTx(w.tag, w.n.Add(1), w.size), kind: kindKV}, nil
}

// kvTx returns the n-th tx of a run tagged tag: a unique key, '=', and
// random letters up to size bytes.
func kvTx(tag string, n int64, size int) []byte {
	key := fmt.Sprintf("k%s%08x=", tag, n)
	out := make([]byte, size)
	copy(out, key)
	fill := out[len(key):]
	_, _ = rand.Read(fill)
	for i, b := range fill {
		fill[i] = kvAlphabet[int(b)%len(kvAlphabet)]
	}
	return out
}
