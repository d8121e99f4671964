package archive

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/ziplimit"
)

// FormatVersion names the bundle layout in the manifest.
const FormatVersion = "veritrial-archive/1"

// Part kinds.
const (
	KindGenesis    = "genesis"
	KindLightBlock = "light-block"
	KindRecords    = "records"
	KindExport     = "export"
)

// Entry names.
const (
	ManifestName = "manifest.json"
	GenesisName  = "genesis.json"
	RecordsName  = "records.jsonl"
)

// Manifest is the bundle's first entry: what the bundle holds and, for
// every later entry in order, its name, kind, size and SHA-256.
type Manifest struct {
	Format  string `json:"format"`
	Study   string `json:"study"`
	ChainID string `json:"chain_id"`
	// Height is the export's height; AppHash (upper-case hex) the app hash
	// after it, in the header of block Height+1.
	Height   int64  `json:"height"`
	AppHash  string `json:"app_hash"`
	Basis    string `json:"height_basis"`
	Software string `json:"software"`
	Parts    []Part `json:"parts"`
}

// Part is one entry of the bundle after the manifest.
type Part struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Height of a light block; Format of an export.
	Height int64  `json:"height,omitempty"`
	Format string `json:"format,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// lightBlockName is the entry name of the light block of height h.
func lightBlockName(h int64) string { return fmt.Sprintf("light/%012d.pb", h) }

// exportName is the entry name of the export in format.
func exportName(format string) string {
	switch format {
	case export.FormatCSV:
		return "export/dataset.csv.zip"
	case export.FormatODM:
		return "export/dataset.odm.xml"
	case export.FormatDatasetJSON:
		return "export/dataset.dataset-json.zip"
	case export.FormatPDF:
		return "export/dataset.pdf.zip"
	}
	return "export/dataset." + format
}

// ParseFormats reads a comma-separated list of export formats, each once.
func ParseFormats(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(export.Formats, f) {
			return nil, export.UnknownFormatError(f)
		}
		if !seen[f] {
			out = append(out, f)
		}
		seen[f] = true
	}
	return out, nil
}

// Limits bound what Verify reads, each checked before the bytes are read.
var (
	// MaxParts is the most entries after the manifest.
	MaxParts = 1_000_000
	// MaxManifest, MaxGenesis and MaxLightBlock bound those entries.
	MaxManifest   int64 = 256 << 20
	MaxGenesis    int64 = 64 << 20
	MaxLightBlock int64 = 16 << 20
	// MaxRecords bounds the records entry, MaxRecordLine one line of it.
	MaxRecords    int64 = 64 << 30
	MaxRecordLine       = 64 << 20
	// MaxExport bounds an export entry (as audit verify-export does).
	MaxExport = ziplimit.Export.Total
)

// limit is the most bytes an entry of kind may hold.
func limit(kind string) int64 {
	switch kind {
	case KindGenesis:
		return MaxGenesis
	case KindLightBlock:
		return MaxLightBlock
	case KindRecords:
		return MaxRecords
	case KindExport:
		return MaxExport
	}
	return 0
}

// heightString is h in decimal.
func heightString(h int64) string { return strconv.FormatInt(h, 10) }
