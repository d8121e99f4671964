package export

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/veritrial/veritrial/app/client"
)

// Export formats, as veritrial export --format names them.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv" // a zip or a directory of CSV files
	FormatODM  = "odm"
	// FormatDatasetJSON is a zip of CDISC Dataset-JSON v1.1 files.
	FormatDatasetJSON = "dataset-json"
)

// Formats lists every export format.
var Formats = []string{FormatXLSX, FormatCSV, FormatODM, FormatDatasetJSON, FormatPDF}

// UnknownFormatError is the error for an export format none of Formats
// names.
func UnknownFormatError(format string) error {
	return fmt.Errorf("export format %q is not known: use %s", format, strings.Join(Formats, ", "))
}

// ErrNotExport means a file is not a readable veritrial export.
var ErrNotExport = errors.New("not a veritrial export")

// Write writes the export of the study r reads to w in format (FormatCSV
// and FormatPDF: a zip; WriteCSVDir and WritePDFDir write a directory).
func Write(ctx context.Context, format string, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	switch format {
	case FormatXLSX:
		return WriteXLSX(ctx, r, opt, w)
	case FormatCSV:
		return WriteCSVZip(ctx, r, opt, w)
	case FormatODM:
		return WriteODM(ctx, r, opt, w)
	case FormatDatasetJSON:
		return WriteDatasetJSON(ctx, r, opt, w)
	case FormatPDF:
		return WritePDFZip(ctx, r, opt, w)
	}
	return nil, UnknownFormatError(format)
}

// sniff tells the format of an export file from its bytes: a zip holding
// a workbook part is a workbook, one holding .json files Dataset-JSON,
// one holding casebooks.csv or .pdf files casebooks, any other zip CSV
// files, a document starting with an XML tag ODM.
func sniff(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return "", fmt.Errorf("%w: not a valid zip file: %v", ErrNotExport, err)
		}
		format := FormatCSV
		for _, f := range zr.File {
			switch {
			case f.Name == "xl/workbook.xml":
				return FormatXLSX, nil
			case strings.HasSuffix(f.Name, ".json"):
				format = FormatDatasetJSON
			case f.Name == tCasebooks[1] || strings.HasSuffix(f.Name, ".pdf"):
				format = FormatPDF
			}
		}
		return format, nil
	case bytes.HasPrefix(bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), []byte("<")):
		return FormatODM, nil
	}
	return "", fmt.Errorf("%w: neither a workbook, a CSV export (zip or directory), a Dataset-JSON zip, a casebook export (zip or directory) nor an ODM file", ErrNotExport)
}
