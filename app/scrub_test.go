package app

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/util"
)

// scrubStore writes n records over three committed versions into a
// store in dir and closes it; the value of record i is "value-<i>".
func scrubStore(t *testing.T, dir string, n int) []byte {
	t.Helper()
	s, err := openStore(dir, MinCacheSize)
	if err != nil {
		t.Fatal(err)
	}
	var root []byte
	for v := int64(1); v <= 3; v++ {
		for i := int(v-1) * n / 3; i < int(v)*n/3; i++ {
			if _, err := s.tree.Set([]byte(fmt.Sprintf("rec/%05d", i)), []byte(fmt.Sprintf("value-%05d", i))); err != nil {
				t.Fatal(err)
			}
		}
		if root, err = s.commit(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	return root
}

// alterOnDisk changes one byte of the stored tree node holding old,
// behind IAVL's back, as a disk fault or a hand edit would.
func alterOnDisk(t *testing.T, dir, old, new string) {
	t.Helper()
	s, err := openStore(dir, MinCacheSize)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	db := s.ldb.RawDB()
	it := db.NewIterator(util.BytesPrefix(treePrefix), nil)
	defer it.Release()
	for it.Next() {
		if bytes.Contains(it.Value(), []byte(old)) {
			if err := db.Put(bytes.Clone(it.Key()), bytes.Replace(it.Value(), []byte(old), []byte(new), 1), nil); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no stored node holds %q", old)
}

// TestScrub: on an intact store the root recomputed from the leaves is
// the stored root; after one stored value is altered on disk the stored
// root (the app hash the node reports) is unchanged, but Scrub finds the
// difference and names the record, and QuickCheck finds it too.
func TestScrub(t *testing.T) {
	dir := t.TempDir()
	root := scrubStore(t, dir, 3000)
	r, err := Scrub(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Height != 3 || r.Records != 3000 || r.Nodes != 5999 || !bytes.Equal(r.StoredRoot, root) || !bytes.Equal(r.RecomputedRoot, root) {
		t.Fatalf("intact store: %+v (root %X)", r, root)
	}

	alterOnDisk(t, dir, "value-01234", "value-01239")
	r, err = Scrub(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !bytes.Equal(r.StoredRoot, root) || bytes.Equal(r.RecomputedRoot, root) {
		t.Fatalf("altered store: ok %v, stored %X, recomputed %X, root %X", r.OK(), r.StoredRoot, r.RecomputedRoot, root)
	}
	var named bool
	for _, d := range r.Damaged {
		named = named || d.Key == `"rec/01234"`
		if d.Key != `"rec/01234"` && d.Key != `"rec/01235"` && d.Key != `"rec/01233"` {
			t.Errorf("an intact record named damaged: %+v", d)
		}
	}
	if !named || !strings.Contains(r.Damaged[0].Reason, "Merkle proof") {
		t.Fatalf("the altered record is not named: %+v", r.Damaged)
	}

	a, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !bytes.Equal(a.store.lastHash(), root) {
		t.Fatalf("the node reports app hash %X, not %X: the alteration is not visible without a scrub", a.store.lastHash(), root)
	}
	found, err := a.QuickCheck(5000)
	if err != nil || len(found) == 0 || found[0].Key != `"rec/01234"` && found[0].Key != `"rec/01235"` && found[0].Key != `"rec/01233"` {
		t.Fatalf("QuickCheck of every record: %+v %v", found, err)
	}
}

// TestQuickCheckIntact: a sample of an intact store finds nothing.
func TestQuickCheckIntact(t *testing.T) {
	dir := t.TempDir()
	scrubStore(t, dir, 900)
	a, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if found, err := a.QuickCheck(100); err != nil || len(found) != 0 {
		t.Fatalf("QuickCheck of an intact store: %+v %v", found, err)
	}
}

// BenchmarkScrub times Scrub on stores of item-value-sized records
// (about 200 bytes each, written in blocks of 10,000), per store.
func BenchmarkScrub(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s, err := openStore(dir, DefaultCacheSize)
			if err != nil {
				b.Fatal(err)
			}
			value := bytes.Repeat([]byte("v"), 200)
			for i := 0; i < n; i++ {
				if _, err := s.tree.Set([]byte(fmt.Sprintf("form/VT-HTN-201/S%d-%05d/SCR/1/VS", i%40, i)), value); err != nil {
					b.Fatal(err)
				}
				if (i+1)%10_000 == 0 {
					if _, err := s.commit(int64(i/10_000 + 1)); err != nil {
						b.Fatal(err)
					}
				}
			}
			s.close()
			b.ResetTimer()
			for range b.N {
				r, err := Scrub(context.Background(), dir)
				if err != nil || !r.OK() || r.Records != int64(n) {
					b.Fatalf("%+v %v", r, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
		})
	}
}
