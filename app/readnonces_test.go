package app

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

func TestReadNoncesReplayAndExpiry(t *testing.T) {
	n := newReadNonces(3)
	t0 := time.Unix(1_000_000, 0)
	n.clock(t0)
	if e := n.spend("alice", "00", t0.Unix()+10); e != nil {
		t.Fatal(e)
	}
	if e := n.spend("alice", "00", t0.Unix()+10); e == nil || e.Code != types.CodeReadReplayed {
		t.Fatalf("same request twice: %v", e)
	}
	if e := n.spend("bob", "00", t0.Unix()+10); e != nil {
		t.Fatalf("another reader's nonce: %v", e)
	}
	if e := n.spend("alice", "01", t0.Unix()+300); e != nil {
		t.Fatal(e)
	}
	// Full: refused, never forgotten early.
	if e := n.spend("carol", "00", t0.Unix()+5); e == nil || e.Code != types.CodeReadBusy {
		t.Fatalf("a fourth request in a cache of three: %v", e)
	}
	// The clock passing an expiry frees its requests, and only those.
	n.clock(t0.Add(11 * time.Second))
	if len(n.seen) != 1 {
		t.Fatalf("%d requests remembered after two expired, want 1", len(n.seen))
	}
	if e := n.spend("alice", "01", t0.Unix()+300); e == nil || e.Code != types.CodeReadReplayed {
		t.Fatalf("an unexpired request replayed: %v", e)
	}
	// The clock never goes back: a request that expired stays expired.
	if got := n.clock(t0); got.Unix() != t0.Unix()+11 {
		t.Fatalf("clock went back to %v", got)
	}
	// A jump far ahead forgets everything.
	n.clock(t0.Add(time.Hour))
	if len(n.seen) != 0 {
		t.Fatalf("%d requests remembered an hour later", len(n.seen))
	}
}

// BenchmarkReadNonces measures the memory and time of remembering read
// requests at the cache's limit.
func BenchmarkReadNonces(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n := newReadNonces(maxReadNonces)
		now := time.Unix(1_000_000, 0)
		n.clock(now)
		start := time.Now()
		for j := 0; j < maxReadNonces; j++ {
			if e := n.spend("site1-coordinator", fmt.Sprintf("%032x", j), now.Unix()+int64(j%300)); e != nil {
				b.Fatal(e)
			}
		}
		spent := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB")
		b.ReportMetric(float64(spent.Nanoseconds())/maxReadNonces, "ns/request")
		runtime.KeepAlive(n)
	}
}
