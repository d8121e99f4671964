package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/veritrial/veritrial/app/internal/durable"
	"github.com/veritrial/veritrial/app/types"
)

// Defaults of Options.
const (
	// DefaultSegmentBytes: a segment is closed and the next one begun
	// once it would pass 64 MiB, about 200,000 entries.
	DefaultSegmentBytes = 64 << 20
	// DefaultSyncInterval: written entries reach the disk (fsync) within
	// a second.
	DefaultSyncInterval = time.Second
)

// maxLine bounds a line: every field is bounded (MaxField), so a longer
// one is damage, never an entry.
const maxLine = 64 << 10

// Options tune a Log.
type Options struct {
	// SegmentBytes is the size past which the next entry begins a new
	// segment (DefaultSegmentBytes when 0).
	SegmentBytes int64
	// SyncInterval is how often written entries are synced to the disk
	// (DefaultSyncInterval when 0).
	SyncInterval time.Duration
	// Now stamps entries recorded without a time (time.Now when nil).
	Now func() time.Time
}

// Head is a log's last entry: its sequence number, which is also the
// number of entries, and its hash. An empty log's head is {0, Genesis}.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Torn is an incomplete last line that Open found (a crash in the middle
// of a write) and set aside: the log goes on from the last complete entry,
// and the bytes are kept beside the log for whoever investigates.
type Torn struct {
	// Segment is the segment's file name, Bytes the fragment's length.
	Segment string
	Bytes   int
	// SavedAs is the path of the file holding the fragment.
	SavedAs string
	// After is the last complete entry.
	After Head
}

// ErrClosed is the error of a Record on a closed log.
var ErrClosed = errors.New("the access log is closed")

// Log is a node's access log: append-only segment files of one entry per
// line, each entry hash-chained to the one before it. It is safe for
// concurrent use.
//
// Durability: every Record is one write(2) of its whole line, so a
// process that crashes keeps every entry it recorded; entries reach the
// disk within Options.SyncInterval (one fsync for all written since the
// last), so a machine that loses power may lose the entries of that last
// interval, never an earlier one. A torn last line is set aside by the
// next Open (see Torn). A write or sync that fails and cannot be undone
// breaks the log: every later Record fails with that error, so that
// nothing is ever written after a damaged line.
type Log struct {
	dir  string
	opts Options

	// smu serialises Sync; lock order smu before mu.
	smu sync.Mutex
	mu  sync.Mutex
	f   *os.File // the last segment, opened for appending; nil once closed
	// size is the length of f's complete entries.
	size   int64
	head   Head // the last entry written
	synced Head // the last entry synced to the disk
	broken error

	lock      *os.File
	torn      *Torn
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// segmentName is the file name of the segment whose first entry is first.
func segmentName(first int64) string { return fmt.Sprintf("access-%016d.jsonl", first) }

// segment is one segment file and the number of its first entry.
type segment struct {
	name  string
	first int64
}

// listSegments returns dir's segments in order; other files are ignored.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []segment
	for _, e := range ents {
		n := e.Name()
		digits, ok := strings.CutPrefix(n, "access-")
		if digits, ok = strings.CutSuffix(digits, ".jsonl"); !ok || len(digits) != 16 {
			continue
		}
		first, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || first < 1 {
			continue
		}
		out = append(out, segment{name: n, first: first})
	}
	return out, nil
}

// Open opens the log in dir, creating dir and the first segment if need
// be, locks it against other processes (on Unix), and checks its last
// entry. An incomplete last line is set aside
// (see Torn); a last entry that does not check out is an error: the node
// never appends to a damaged log (veritrial access-log verify finds the
// damage).
func Open(dir string, o Options) (*Log, error) {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: o, head: Head{Seq: 0, Hash: Genesis}, lock: lock, stop: make(chan struct{}), done: make(chan struct{})}
	segs, err := listSegments(dir)
	if err == nil && len(segs) == 0 {
		err = l.create(1)
	} else if err == nil {
		err = l.openLast(segs)
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	l.synced = l.head
	go l.syncLoop()
	return l, nil
}

// create begins the segment whose first entry is first; the caller holds
// mu or owns the log.
func (l *Log) create(first int64) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(first)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := durable.SyncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, 0
	return nil
}

// openLast opens the last segment for appending and finds the head,
// setting aside an incomplete last line.
func (l *Log) openLast(segs []segment) error {
	last := segs[len(segs)-1]
	path := filepath.Join(l.dir, last.name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	head, complete, frag, err := lastEntry(f)
	if err == nil && frag != nil {
		err = l.setAside(f, last.name, complete, frag)
	}
	switch {
	case err != nil:
	case head != nil && head.Seq < last.first:
		err = fmt.Errorf("it holds entry %d, before its first (%d)", head.Seq, last.first)
	case head == nil && last.first > 1:
		// An empty segment: the head is the previous one's last entry.
		head, err = l.previousHead(segs, last.first)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("the last entry of the access log in %s is damaged (%v); the node does not append to a damaged log: run veritrial access-log verify", path, err)
	}
	if head != nil {
		l.head = *head
	}
	if l.torn != nil {
		l.torn.After = l.head
	}
	l.f, l.size = f, complete
	return nil
}

// previousHead returns the last entry of the segment before the one that
// begins at first, which must be entry first-1.
func (l *Log) previousHead(segs []segment, first int64) (*Head, error) {
	if len(segs) < 2 {
		return nil, fmt.Errorf("the log begins at entry %d, not 1", first)
	}
	f, err := os.Open(filepath.Join(l.dir, segs[len(segs)-2].name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head, _, frag, err := lastEntry(f)
	switch {
	case err != nil:
		return nil, err
	case frag != nil:
		return nil, fmt.Errorf("segment %s ends with an incomplete line", segs[len(segs)-2].name)
	case head == nil || head.Seq != first-1:
		return nil, fmt.Errorf("segment %s does not end with entry %d", segs[len(segs)-2].name, first-1)
	}
	return head, nil
}

// lastEntry reads the end of a segment: its last complete entry (nil when
// it has none), checked, the length of its complete lines, and what
// follows the last newline (nil when nothing).
func lastEntry(f *os.File) (head *Head, complete int64, frag []byte, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, nil, err
	}
	size := st.Size()
	from := max(0, size-2*maxLine)
	buf := make([]byte, size-from)
	if _, err := f.ReadAt(buf, from); err != nil {
		return nil, 0, nil, err
	}
	nl := bytes.LastIndexByte(buf, '\n')
	if nl < 0 && from > 0 {
		return nil, 0, nil, fmt.Errorf("its last %d bytes hold no complete line", len(buf))
	}
	if nl+1 < len(buf) {
		frag = buf[nl+1:]
	}
	complete = from + int64(nl+1)
	if nl < 0 {
		return nil, complete, frag, nil
	}
	line := buf[:nl]
	if prev := bytes.LastIndexByte(line, '\n'); prev >= 0 {
		line = line[prev+1:]
	} else if from > 0 {
		return nil, 0, nil, fmt.Errorf("its last line is longer than any entry")
	}
	e, err := parse(line)
	if err != nil {
		return nil, 0, nil, err
	}
	return &Head{Seq: e.Seq, Hash: e.Hash}, complete, frag, nil
}

// setAside saves an incomplete last line beside the log, then cuts it off
// the segment.
func (l *Log) setAside(f *os.File, name string, complete int64, frag []byte) error {
	saved := filepath.Join(l.dir, name+".torn-"+l.opts.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := durable.WriteFile(saved, frag); err != nil {
		return fmt.Errorf("setting aside its incomplete last line: %w", err)
	}
	if err := f.Truncate(complete); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := durable.SyncDir(l.dir); err != nil {
		return err
	}
	l.torn = &Torn{Segment: name, Bytes: len(frag), SavedAs: saved}
	return nil
}

// Torn reports the incomplete last line Open set aside, nil if there was
// none.
func (l *Log) Torn() *Torn { return l.torn }

// Record appends an entry for one read. Text fields are made valid UTF-8
// and cut at MaxField bytes; an entry without a time gets the log's clock.
func (l *Log) Record(a types.AccessEntry) error {
	a.Reader, a.Org, a.Path, a.Scope = clean(a.Reader), clean(a.Org), clean(a.Path), clean(a.Scope)
	a.Time = clean(a.Time)
	if a.Time == "" {
		a.Time = l.opts.Now().UTC().Format(time.RFC3339Nano)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return l.broken
	}
	if l.f == nil {
		return ErrClosed
	}
	e := Entry{Seq: l.head.Seq + 1, Prev: l.head.Hash, AccessEntry: a}
	line, err := seal(&e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if l.size > 0 && l.size+int64(len(line)) > l.opts.SegmentBytes {
		if err := l.rotate(e.Seq); err != nil {
			l.broken = fmt.Errorf("the access log could not begin a new segment (%v): it takes no more entries until the node restarts", err)
			return l.broken
		}
	}
	if _, err := l.f.Write(line); err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			l.broken = fmt.Errorf("the access log could not be written (%v) nor cut back to its last entry (%v): it takes no more entries until the node restarts", err, terr)
		}
		return fmt.Errorf("writing the access log: %w", err)
	}
	l.size += int64(len(line))
	l.head = Head{Seq: e.Seq, Hash: e.Hash}
	return nil
}

// rotate syncs and closes the last segment and begins the next, whose
// first entry is first; the caller holds mu.
func (l *Log) rotate(first int64) error {
	if err := l.f.Sync(); err != nil {
		return err
	}
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	l.synced = l.head
	return l.create(first)
}

// Sync makes every entry written so far durable and returns the head of
// the durable log: what a commitment to the ledger may cover.
func (l *Log) Sync() (Head, error) {
	l.smu.Lock()
	defer l.smu.Unlock()
	l.mu.Lock()
	f, head, synced, broken := l.f, l.head, l.synced, l.broken
	l.mu.Unlock()
	switch {
	case broken != nil:
		return synced, broken
	case f == nil:
		return synced, ErrClosed
	case head == synced:
		return synced, nil
	}
	err := f.Sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil && f == l.f {
		// The kernel may have dropped the unsynced pages: nothing may
		// follow them.
		l.broken = fmt.Errorf("the access log could not be synced to the disk (%v): it takes no more entries until the node restarts", err)
		return l.synced, l.broken
	}
	// A segment closed meanwhile was synced before it was closed.
	if head.Seq > l.synced.Seq {
		l.synced = head
	}
	return l.synced, nil
}

// Head returns the head of the durable log: its last entry synced to the
// disk.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.synced
}

// syncLoop syncs the written entries every SyncInterval until Close.
func (l *Log) syncLoop() {
	defer close(l.done)
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Sync() // a failure breaks the log; Record reports it
		}
	}
}

// Close syncs and closes the log; closing it again does nothing.
func (l *Log) Close() error {
	first := false
	l.closeOnce.Do(func() { close(l.stop); first = true })
	<-l.done
	if !first {
		return nil
	}
	_, err := l.Sync()
	l.smu.Lock()
	defer l.smu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		l.f = nil
	}
	l.lock.Close()
	return err
}
