package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/types"
)

// A Log is what a node gives its App to record reads in.
var _ app.AccessLog = (*Log)(nil)

// read returns entry n of a test run: a varied, plausible read.
func read(n int) types.AccessEntry {
	e := types.AccessEntry{
		Time:    time.Date(2026, 3, 1, 9, 0, n, 0, time.UTC).Format(time.RFC3339Nano),
		Reader:  fmt.Sprintf("site1-coordinator-%d", n%3),
		Org:     "site1",
		Path:    "/key",
		Scope:   fmt.Sprintf("subj/VT-HTN-201/S1-%03d", n),
		Height:  int64(100 + n),
		Records: 1,
	}
	if n%4 == 0 {
		e.Path, e.Scope, e.Records = "/list", "form/VT-HTN-201/S1-001/", n
	}
	if n%5 == 0 {
		e.Code, e.Records = types.CodeReadNotVisible, 0
	}
	return e
}

// newLog opens a log in a fresh directory and records n entries.
func newLog(t *testing.T, o Options, n int) (string, *Log) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "accesslog")
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for i := 1; i <= n; i++ {
		if err := l.Record(read(i)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, l
}

// closedLog is newLog, closed.
func closedLog(t *testing.T, o Options, n int) string {
	t.Helper()
	dir, l := newLog(t, o, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, filepath.Join(dir, s.name))
	}
	return out
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

func writeLines(t *testing.T, path string, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecordVerifyReopen(t *testing.T) {
	o := Options{SegmentBytes: 2000}
	dir := closedLog(t, o, 40)
	if n := len(segments(t, dir)); n < 4 {
		t.Fatalf("%d segments of at most 2000 bytes for 40 entries", n)
	}
	rep, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Head.Seq != 40 || len(rep.Segments) != len(segments(t, dir)) {
		t.Fatalf("report: %+v", rep)
	}
	// Each line is the entry's canonical encoding, the hash last.
	first := lines(t, segments(t, dir)[0])[0]
	if !bytes.HasPrefix(first, []byte(`{"seq":1,"prev":"`+Genesis+`","time":"2026-03-01T09:00:01Z","reader":"site1-coordinator-1"`)) || !bytes.Contains(first, []byte(`"records":1,"hash":"`)) {
		t.Errorf("first line: %s", first)
	}
	// A reopened log goes on from its last entry, in the last segment.
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if l.Torn() != nil {
		t.Errorf("a clean log reported a torn line: %+v", l.Torn())
	}
	if h := l.Head(); h != rep.Head {
		t.Fatalf("reopened at %+v, want %+v", h, rep.Head)
	}
	for i := 41; i <= 45; i++ {
		if err := l.Record(read(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(read(46)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	var seen []int64
	if err := Scan(dir, func(e Entry) error { seen = append(seen, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 45 || seen[44] != 45 {
		t.Fatalf("scanned %d entries, last %v", len(seen), seen[len(seen)-1])
	}
}

// TestVerifyCatchesTampering edits a closed log of 10 entries (in one
// segment, or in segments of about three entries) each way and checks
// that Verify names the first bad entry.
func TestVerifyCatchesTampering(t *testing.T) {
	// forged is a well-formed entry that claims to follow entry 10 but
	// chains to entry 9.
	forged := func(t *testing.T, seg string) []byte {
		ls := lines(t, seg)
		e, err := parse(bytes.TrimSuffix(ls[len(ls)-3], []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		f := Entry{Seq: 11, Prev: e.Hash, AccessEntry: read(11)}
		line, err := seal(&f)
		if err != nil {
			t.Fatal(err)
		}
		return append(line, '\n')
	}
	for _, tc := range []struct {
		name   string
		edit   func(t *testing.T, seg string)
		seq    int64
		line   int
		reason string
	}{
		{"edit a byte", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			ls[4] = bytes.Replace(ls[4], []byte(`"org":"site1"`), []byte(`"org":"site2"`), 1)
			writeLines(t, seg, ls)
		}, 5, 5, "its hash does not match its content"},
		{"edit the hash too", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			e, _ := parse(bytes.TrimSuffix(ls[6], []byte("\n")))
			e.Reader = "someone-else"
			line, _ := seal(&e)
			ls[6] = append(line, '\n')
			writeLines(t, seg, ls)
		}, 8, 8, "does not chain to the entry before it"},
		{"respace a line", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			ls[2] = bytes.Replace(ls[2], []byte(`,"org"`), []byte(`, "org"`), 1)
			writeLines(t, seg, ls)
		}, 3, 3, "not in canonical form"},
		{"reorder two lines", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			ls[3], ls[4] = ls[4], ls[3]
			writeLines(t, seg, ls)
		}, 4, 4, "holds entry 5"},
		{"delete a middle line", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			writeLines(t, seg, append(ls[:5:5], ls[6:]...))
		}, 6, 6, "holds entry 7"},
		{"insert a copied line", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			out := append(append(append([][]byte{}, ls[:7]...), ls[2]), ls[7:]...)
			writeLines(t, seg, out)
		}, 8, 8, "holds entry 3"},
		{"truncate inside a line", func(t *testing.T, seg string) {
			b, _ := os.ReadFile(seg)
			os.WriteFile(seg, b[:len(b)-40], 0o600)
		}, 10, 10, "the last line is incomplete"},
		{"append a copied line", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			writeLines(t, seg, append(ls, ls[1]))
		}, 11, 11, "holds entry 2"},
		{"append a forged line", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			writeLines(t, seg, append(ls, forged(t, seg)))
		}, 11, 11, "does not chain to the entry before it"},
		{"append garbage", func(t *testing.T, seg string) {
			ls := lines(t, seg)
			writeLines(t, seg, append(ls, []byte("{\"seq\":11}\n")))
		}, 11, 11, "its hash does not match its content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := closedLog(t, Options{}, 10)
			seg := segments(t, dir)[0]
			tc.edit(t, seg)
			_, err := Verify(dir, nil)
			var d *Damage
			if !errors.As(err, &d) {
				t.Fatalf("Verify: %v, want damage at entry %d", err, tc.seq)
			}
			if d.Seq != tc.seq || d.Line != tc.line || d.Segment != filepath.Base(seg) || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("damage %v, want entry %d line %d: %q", d, tc.seq, tc.line, tc.reason)
			}
			if !strings.HasPrefix(d.Error(), fmt.Sprintf("entry %d (%s line %d): ", tc.seq, filepath.Base(seg), tc.line)) {
				t.Errorf("message %q", d.Error())
			}
		})
	}
	t.Run("delete a segment", func(t *testing.T) {
		dir := closedLog(t, Options{SegmentBytes: 1000}, 10)
		segs := segments(t, dir)
		if len(segs) < 3 {
			t.Fatalf("%d segments", len(segs))
		}
		os.Remove(segs[1])
		_, err := Verify(dir, nil)
		var d *Damage
		if !errors.As(err, &d) || d.Segment != filepath.Base(segs[2]) || d.Line != 0 || !strings.Contains(d.Reason, "a segment was deleted") {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("edit a middle segment", func(t *testing.T) {
		dir := closedLog(t, Options{SegmentBytes: 1000}, 10)
		seg := segments(t, dir)[1]
		ls := lines(t, seg)
		ls[0] = bytes.Replace(ls[0], []byte(`"org":"site1"`), []byte(`"org":"site2"`), 1)
		writeLines(t, seg, ls)
		_, err := Verify(dir, nil)
		var d *Damage
		if !errors.As(err, &d) || d.Segment != filepath.Base(seg) || d.Line != 1 || d.Seq < 2 || !strings.Contains(d.Reason, "hash does not match") {
			t.Fatalf("Verify: %v", err)
		}
	})
}

// TestVerifyAgainstHeads: a log cut at a line boundary or rebuilt with a
// consistent chain passes on its own, and disagrees with the heads its
// node committed.
func TestVerifyAgainstHeads(t *testing.T) {
	dir := closedLog(t, Options{}, 10)
	rep, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	Scan(dir, func(e Entry) error { hashes = append(hashes, e.Hash); return nil })
	head := func(seq, entries int64) types.AccessHead {
		return types.AccessHead{Node: strings.Repeat("ab", 20), Seq: seq, Entries: entries, Head: hashes[entries-1], Stamp: types.Stamp{Height: 40 + seq}}
	}
	heads := []types.AccessHead{head(2, 8), head(1, 4)}
	rep, err = Verify(dir, heads)
	if err != nil || rep.Heads != 2 || rep.Committed.Seq != 2 {
		t.Fatalf("Verify with heads: %+v %v", rep, err)
	}

	seg := segments(t, dir)[0]
	ls := lines(t, seg)
	writeLines(t, seg, ls[:6])
	if _, err := Verify(dir, nil); err != nil {
		t.Fatalf("a log cut at a line boundary checks out on its own: %v", err)
	}
	_, err = Verify(dir, heads)
	var d *Damage
	if !errors.As(err, &d) || d.Seq != 7 || !strings.Contains(d.Reason, "the log ends after entry 6, but the ledger holds a head of 8 entries (commitment 2, height 42)") {
		t.Fatalf("Verify of a cut log: %v", err)
	}

	// Rebuilt from entry 3 on with a consistent chain.
	writeLines(t, seg, ls[:2])
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 10; i++ {
		e := read(i)
		e.Records = 99
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if _, err := Verify(dir, nil); err != nil {
		t.Fatalf("a rebuilt log checks out on its own: %v", err)
	}
	_, err = Verify(dir, heads)
	if !errors.As(err, &d) || d.Seq != 4 || d.Line != 4 || !strings.Contains(d.Reason, "not to the head committed to the ledger at height 41 (commitment 1") {
		t.Fatalf("Verify of a rebuilt log: %v", err)
	}
}

// TestTornTail: a write cut short by a crash leaves an incomplete last
// line; Verify names it, and Open sets it aside, keeps it beside the log
// and goes on from the last complete entry.
func TestTornTail(t *testing.T) {
	for _, o := range []Options{{}, {SegmentBytes: 1000}} {
		t.Run(fmt.Sprint("segment bytes ", o.SegmentBytes), func(t *testing.T) {
			dir := closedLog(t, o, 9)
			segs := segments(t, dir)
			last := segs[len(segs)-1]
			// What a crash in the middle of entry 10's write leaves.
			e := Entry{Seq: 10, Prev: "x", AccessEntry: read(10)}
			line, _ := seal(&e)
			frag := line[:len(line)/2]
			f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(frag)
			f.Close()
			_, err = Verify(dir, nil)
			var d *Damage
			if !errors.As(err, &d) || d.Seq != 10 || !strings.Contains(d.Reason, "the last line is incomplete") {
				t.Fatalf("Verify of a torn log: %v", err)
			}

			l, err := Open(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			torn := l.Torn()
			if torn == nil || torn.Segment != filepath.Base(last) || torn.Bytes != len(frag) || torn.After.Seq != 9 {
				t.Fatalf("Torn: %+v", torn)
			}
			if saved, err := os.ReadFile(torn.SavedAs); err != nil || !bytes.Equal(saved, frag) {
				t.Fatalf("the fragment set aside: %q %v", saved, err)
			}
			if err := l.Record(read(10)); err != nil {
				t.Fatal(err)
			}
			l.Close()
			rep, err := Verify(dir, nil)
			if err != nil || rep.Head.Seq != 10 || len(rep.Torn) != 1 || rep.Torn[0] != filepath.Base(torn.SavedAs) {
				t.Fatalf("after recovery: %+v %v", rep, err)
			}
		})
	}
}

// TestOpenRefusesDamagedTail: the node never appends after a damaged last
// entry, nor to a log whose last segment does not follow the one before.
func TestOpenRefusesDamagedTail(t *testing.T) {
	dir := closedLog(t, Options{}, 5)
	seg := segments(t, dir)[0]
	ls := lines(t, seg)
	ls[4] = bytes.Replace(ls[4], []byte(`"site1"`), []byte(`"site9"`), 1)
	writeLines(t, seg, ls)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "is damaged (its hash does not match its content)") || !strings.Contains(err.Error(), "veritrial access-log verify") {
		t.Fatalf("Open of a damaged log: %v", err)
	}

	dir = closedLog(t, Options{SegmentBytes: 1000}, 10)
	segs := segments(t, dir)
	os.WriteFile(filepath.Join(dir, segmentName(50)), nil, 0o600)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "does not end with entry 49") {
		t.Fatalf("Open with a gap before an empty last segment: %v", err)
	}
	os.Remove(filepath.Join(dir, segmentName(50)))
	os.Remove(segs[0])
	if _, err := Open(dir, Options{}); err != nil {
		t.Fatalf("Open needs only the last segment: %v", err)
	}
}

// TestRecordCleansFields: what a refused request named is stored as it
// reads back, and bounded.
func TestRecordCleansFields(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 5, time.UTC)
	dir, l := newLog(t, Options{Now: func() time.Time { return now }}, 0)
	long := strings.Repeat("é", MaxField)
	if err := l.Record(types.AccessEntry{Reader: "bad\xffname", Path: "/key", Scope: long, Code: types.CodeReadMalformed}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var got []Entry
	if err := Scan(dir, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	e := got[0]
	if e.Reader != "bad\uFFFDname" || e.Time != "2026-03-02T10:00:00.000000005Z" || len(e.Scope) > MaxField || !strings.HasSuffix(e.Scope, "é…") {
		t.Fatalf("entry: reader %q time %q scope %d bytes ending %q", e.Reader, e.Time, len(e.Scope), e.Scope[len(e.Scope)-8:])
	}
}

// TestConcurrentRecord: Record from many goroutines, with syncs and
// segment changes in between, keeps one unbroken chain.
func TestConcurrentRecord(t *testing.T) {
	dir, l := newLog(t, Options{SegmentBytes: 20_000, SyncInterval: time.Millisecond}, 0)
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := l.Record(read(w*each + i)); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					if _, err := l.Sync(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	h, err := l.Sync()
	if err != nil || h.Seq != writers*each {
		t.Fatalf("synced head %+v %v", h, err)
	}
	l.Close()
	rep, err := Verify(dir, nil)
	if err != nil || rep.Head != h || len(rep.Segments) < 10 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

// benchLog opens a log for a benchmark and returns it with the entry to
// record.
func benchLog(b *testing.B) (*Log, types.AccessEntry) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	b.ResetTimer()
	return l, read(4)
}

// BenchmarkRecord measures Record, one goroutine at a time.
func BenchmarkRecord(b *testing.B) {
	l, e := benchLog(b)
	for range b.N {
		if err := l.Record(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordParallel measures Record from concurrent reads.
func BenchmarkRecordParallel(b *testing.B) {
	l, e := benchLog(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerify measures Verify per entry, on a log of 100,000.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for i := range n {
		if err := l.Record(read(i)); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	b.ResetTimer()
	for range b.N {
		rep, err := Verify(dir, nil)
		if err != nil || rep.Head.Seq != n {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
}
