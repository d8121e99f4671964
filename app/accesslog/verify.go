package accesslog

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// Damage is the first place a log fails its check: the entry expected
// there, where, and why.
type Damage struct {
	// Segment is the segment's file name; Line is the line in it (from
	// 1), 0 when the damage is the segment itself.
	Segment string `json:"segment"`
	Line    int    `json:"line,omitempty"`
	Seq     int64  `json:"seq"`
	Reason  string `json:"reason"`
}

// ErrNoLog means a directory holds no access log.
var ErrNoLog = errors.New("no access log")

func (d *Damage) Error() string {
	where := d.Segment
	if d.Line > 0 {
		where = fmt.Sprintf("%s line %d", d.Segment, d.Line)
	}
	return fmt.Sprintf("entry %d (%s): %s", d.Seq, where, d.Reason)
}

// Report is what Verify checked.
type Report struct {
	// Segments are the segment files, in order.
	Segments []string `json:"segments"`
	// Head is the last entry that checked out.
	Head Head `json:"head"`
	// Torn are the incomplete lines Open set aside after crashes (file
	// names).
	Torn []string `json:"torn,omitempty"`
	// Heads counts the ledger's heads checked; Committed is the last one
	// the log matched (nil if none).
	Heads     int               `json:"heads_checked"`
	Committed *types.AccessHead `json:"committed,omitempty"`
}

// appendWait is how long a reader waits before it takes an incomplete
// last line for a torn one rather than an entry being written.
const appendWait = 200 * time.Millisecond

// walk reads the log in dir from its first entry and checks each: its
// line, number, link to the one before, and hash; fn sees each good entry
// with its segment and line. It fills rep as it goes and returns the first
// Damage, or the error that stopped fn. A node may be appending as it
// reads: an incomplete last line completed meanwhile ends the walk.
func walk(dir string, rep *Report, fn func(seg string, line int, e Entry) error) error {
	rep.Head = Head{Seq: 0, Hash: Genesis}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%w in %s", ErrNoLog, dir)
	}
	torn, err := filepath.Glob(filepath.Join(dir, "access-*.jsonl.torn-*"))
	if err != nil {
		return err
	}
	for _, t := range torn {
		rep.Torn = append(rep.Torn, filepath.Base(t))
	}
	for i, s := range segs {
		rep.Segments = append(rep.Segments, s.name)
		if s.first != rep.Head.Seq+1 {
			return &Damage{Segment: s.name, Seq: rep.Head.Seq + 1, Reason: fmt.Sprintf("the segment begins at entry %d, not %d: a segment was deleted, added or renamed", s.first, rep.Head.Seq+1)}
		}
		if err := walkSegment(filepath.Join(dir, s.name), i == len(segs)-1, rep, fn); err != nil {
			return err
		}
	}
	return nil
}

// walkSegment walks one segment file (see walk); last says whether it is
// the one a node appends to.
func walkSegment(path string, last bool, rep *Report, fn func(seg string, line int, e Entry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(path)
	r := bufio.NewReaderSize(f, maxLine)
	var off int64
	for line := 1; ; line++ {
		b, err := r.ReadSlice('\n')
		damage := func(reason string) error {
			return &Damage{Segment: name, Line: line, Seq: rep.Head.Seq + 1, Reason: reason}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return damage("the line is longer than any entry")
		case err == io.EOF && len(b) == 0:
			return nil
		case err == io.EOF:
			if last && completedMeanwhile(f, off, len(b)) {
				return nil
			}
			return damage("the last line is incomplete: a write cut short by a crash, or the file was cut")
		case err != nil:
			return err
		}
		off += int64(len(b))
		e, err := parse(b[:len(b)-1])
		switch {
		case err != nil:
			return damage(err.Error())
		case e.Seq != rep.Head.Seq+1:
			return damage(fmt.Sprintf("the line holds entry %d: entries were deleted, inserted or reordered", e.Seq))
		case e.Prev != rep.Head.Hash:
			return damage("it does not chain to the entry before it: entries were edited, inserted or reordered")
		}
		rep.Head = Head{Seq: e.Seq, Hash: e.Hash}
		if err := fn(name, line, e); err != nil {
			return err
		}
	}
}

// completedMeanwhile reports whether the n bytes at off, a line without
// its newline, were an entry being appended: after appendWait they are
// followed by one.
func completedMeanwhile(f *os.File, off int64, n int) bool {
	time.Sleep(appendWait)
	buf := make([]byte, n+1)
	k, _ := f.ReadAt(buf, off)
	return k == n+1 && bytes.IndexByte(buf, '\n') == n
}

// Verify checks the log in dir from its first entry to its last: every
// line an entry whose hash matches its content, numbered in turn, chained
// to the one before. With heads (a node's commitments on the ledger) it
// also checks that the log reaches each head and that the entry there
// hashes to it. The error is the first Damage, in log order.
func Verify(dir string, heads []types.AccessHead) (*Report, error) {
	heads = slices.Clone(heads)
	slices.SortFunc(heads, func(a, b types.AccessHead) int { return cmp.Compare(a.Entries, b.Entries) })
	i := 0
	rep := &Report{}
	err := walk(dir, rep, func(seg string, line int, e Entry) error {
		for ; i < len(heads) && heads[i].Entries == e.Seq; i++ {
			h := &heads[i]
			if h.Head != e.Hash {
				return &Damage{Segment: seg, Line: line, Seq: e.Seq, Reason: fmt.Sprintf("it hashes to %s, not to the head committed to the ledger at height %d (commitment %d, %s): the log was edited, replaced or rebuilt after that", e.Hash, h.Stamp.Height, h.Seq, h.Head)}
			}
			rep.Committed = h
			rep.Heads++
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if i < len(heads) {
		h := heads[i]
		return rep, &Damage{Segment: rep.Segments[len(rep.Segments)-1], Seq: rep.Head.Seq + 1, Reason: fmt.Sprintf("the log ends after entry %d, but the ledger holds a head of %d entries (commitment %d, height %d): the log was truncated or replaced", rep.Head.Seq, h.Entries, h.Seq, h.Stamp.Height)}
	}
	return rep, nil
}

// Scan calls fn with every entry of the log in dir, in order, checking
// the chain as Verify does (without heads). An error of fn stops it and
// is returned.
func Scan(dir string, fn func(Entry) error) error {
	return walk(dir, &Report{}, func(_ string, _ int, e Entry) error { return fn(e) })
}
