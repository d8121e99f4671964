// Package ziplimittest builds hostile zip packages for tests of readers
// bounded by package ziplimit.
package ziplimittest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/ziplimit"
)

// Workbook returns a small valid workbook (sheet "Sheet1" with A1 set to
// a1) whose part named part is replaced by head, then filler repeated
// until the part is n bytes long, then tail: deflated, a few hundred
// kilobytes that inflate to n bytes.
func Workbook(tb testing.TB, a1, part, head, filler, tail string, n int64) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetCellValue("Sheet1", "A1", a1); err != nil {
		tb.Fatal(err)
	}
	var base bytes.Buffer
	if err := f.Write(&base); err != nil {
		tb.Fatal(err)
	}
	return Replace(tb, base.Bytes(), part, head, filler, tail, n)
}

// Replace returns the zip in data with the entry named part (added when
// missing) holding head, filler repeated, and tail: n bytes in all.
func Replace(tb testing.TB, data []byte, part, head, filler, tail string, n int64) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	write := func(name string, r io.Reader) {
		w, err := zw.Create(name)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	body := func() io.Reader {
		fill := n - int64(len(head)+len(tail))
		return io.MultiReader(strings.NewReader(head), io.LimitReader(&repeat{s: filler}, fill), strings.NewReader(tail))
	}
	done := false
	for _, zf := range zr.File {
		if zf.Name == part {
			write(part, body())
			done = true
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		write(zf.Name, rc)
		rc.Close()
	}
	if !done {
		write(part, body())
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// repeat reads s over and over.
type repeat struct {
	s   string
	pos int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.s[r.pos:])
		n += k
		r.pos = (r.pos + k) % len(r.s)
	}
	return n, nil
}

// Refused runs read, which must refuse a package inflating to inflated
// bytes with a *ziplimit.LimitError, allocating less than a tenth of
// inflated (the time it took is logged, not asserted: this machine's load
// decides it).
func Refused(tb testing.TB, inflated int64, read func() error) {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := read()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	var le *ziplimit.LimitError
	if !errors.As(err, &le) {
		tb.Fatalf("not refused over a limit: %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(inflated/10) {
		tb.Errorf("refusing allocated %d bytes for a package inflating to %d", alloc, inflated)
	}
	tb.Logf("refused in %s: %v", took, err)
}
