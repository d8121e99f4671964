// Package ziplimit bounds what reading a zip package (a workbook, a CSV
// export) from outside may cost: its entries, the decompressed size of
// each part and of all of them, and in a workbook the rows and cells of
// each worksheet and the shared strings. Every check runs before the
// package is opened for real, streaming, in memory that does not grow
// with the package; a package over a limit is refused with a *LimitError
// naming the limit. The limits of every reader are here (Import, Export).
package ziplimit

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Limits bound a zip package.
type Limits struct {
	// Entries is the most entries (files) the package may hold.
	Entries int
	// Part is the most bytes one entry may decompress to; Total all of
	// them together.
	Part, Total int64
	// Rows and Cells bound one worksheet of a workbook; SharedStrings its
	// shared string table.
	Rows, Cells, SharedStrings int64
}

var (
	// Import bounds a workbook a person hands in: form data (form import),
	// a protocol.
	Import = Limits{Entries: 1000, Part: 128 << 20, Total: 256 << 20, Rows: 1 << 20, Cells: 5_000_000, SharedStrings: 2_000_000}
	// Export bounds an export read back (audit verify-export): an export
	// of a million item values holds about 1.1 million audit trail rows
	// of 28 columns and decompresses to about 1 GiB.
	Export = Limits{Entries: 10_000, Part: 2 << 30, Total: 4 << 30, Rows: 1 << 20, Cells: 40_000_000, SharedStrings: 40_000_000}
	// Casebooks bounds a casebook export read back: Export's limits, but
	// an entry per subject (a PDF each, and three lists), so as many
	// entries as a study may have subjects.
	Casebooks = Limits{Entries: 1_000_000, Part: Export.Part, Total: Export.Total, Rows: Export.Rows, Cells: Export.Cells, SharedStrings: Export.SharedStrings}
)

// LimitError is a package over one of its limits.
type LimitError struct {
	// Part is the entry concerned ("" for the package as a whole).
	Part string
	// What names the limit: "entries", "decompressed size of one part",
	// "decompressed size", "rows of a worksheet", "cells of a worksheet",
	// "shared strings".
	What  string
	Limit int64
}

func (e *LimitError) Error() string {
	where := "the package"
	if e.Part != "" {
		where = e.Part
	}
	return fmt.Sprintf("%s is over the limit of %d %s: refused unread (a damaged or hostile file?)", where, e.Limit, e.What)
}

// Check checks the zip package in data against l: the entries and their
// declared sizes (archive/zip refuses to read an entry past its declared
// size, so they bound what reading inflates), and in every worksheet and
// the shared string table, read as a stream, the rows, cells and strings.
func Check(data []byte, l Limits) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	if len(zr.File) > l.Entries {
		return &LimitError{What: "entries", Limit: int64(l.Entries)}
	}
	var total uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > uint64(l.Part) {
			return &LimitError{Part: f.Name, What: "bytes, the decompressed size of one part", Limit: l.Part}
		}
		if total += f.UncompressedSize64; total > uint64(l.Total) {
			return &LimitError{What: "bytes, the decompressed size of all parts", Limit: l.Total}
		}
	}
	for _, f := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))
		switch {
		case strings.HasPrefix(name, "xl/worksheets/") && strings.HasSuffix(name, ".xml"):
			err = countTags(f, map[string]*LimitError{
				"row": {Part: f.Name, What: "rows", Limit: l.Rows},
				"c":   {Part: f.Name, What: "cells", Limit: l.Cells}})
		case name == "xl/sharedstrings.xml":
			err = countTags(f, map[string]*LimitError{"si": {Part: f.Name, What: "shared strings", Limit: l.SharedStrings}})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// countTags streams the XML part f and counts the start tags named in
// limits (namespace prefix ignored), failing with the limit's error as
// soon as one count passes its limit.
func countTags(f *zip.File, limits map[string]*LimitError) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	counts := map[string]int64{}
	for {
		_, err := br.ReadSlice('<')
		if err == io.EOF {
			return nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		// The tag name, without its namespace prefix.
		peek, _ := br.Peek(24)
		end := bytes.IndexAny(peek, " \t\r\n/>")
		if end < 0 {
			continue
		}
		name := peek[:end]
		if i := bytes.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		if e, ok := limits[string(name)]; ok {
			if counts[e.What]++; counts[e.What] > e.Limit {
				return e
			}
		}
	}
}

// OpenWorkbook checks the workbook in data against l and opens it with
// excelize, its decompressed size bounded by l as well.
func OpenWorkbook(data []byte, l Limits) (*excelize.File, error) {
	if err := Check(data, l); err != nil {
		return nil, err
	}
	return excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: l.Total})
}
