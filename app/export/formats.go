package export

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/veritrial/veritrial/app/client"
)

// Export formats, as veritrial export --format names them.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv" // a zip or a directory of CSV files
	FormatODM  = "odm"
)

// ErrNotExport means a file is not a readable veritrial export.
var ErrNotExport = errors.New("not a veritrial export")

// Write writes the export of the study r reads to w in format (FormatCSV:
// a zip; WriteCSVDir writes a directory).
func Write(ctx context.Context, format string, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	switch format {
	case FormatXLSX:
		return WriteXLSX(ctx, r, opt, w)
	case FormatCSV:
		return WriteCSVZip(ctx, r, opt, w)
	case FormatODM:
		return WriteODM(ctx, r, opt, w)
	}
	return nil, fmt.Errorf("export format %q is not known: use %s, %s or %s", format, FormatXLSX, FormatCSV, FormatODM)
}

// sniff tells the format of an export file from its bytes: a zip holding
// a workbook part is a workbook, any other zip CSV files, a document
// starting with an XML tag ODM.
func sniff(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return "", fmt.Errorf("%w: not a valid zip file: %v", ErrNotExport, err)
		}
		for _, f := range zr.File {
			if f.Name == "xl/workbook.xml" {
				return FormatXLSX, nil
			}
		}
		return FormatCSV, nil
	case bytes.HasPrefix(bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), []byte("<")):
		return FormatODM, nil
	}
	return "", fmt.Errorf("%w: neither a workbook, a CSV export (zip or directory) nor an ODM file", ErrNotExport)
}
