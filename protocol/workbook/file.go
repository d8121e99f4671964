package workbook

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/veritrial/veritrial/protocol"
)

// LoadFile loads a protocol from path, choosing the door by extension:
// .yaml, .yml or .json (native), .csv (REDCap data dictionary, with base
// supplying study metadata and events, may be nil) or .xlsx (CRF
// specification workbook).
func LoadFile(path string, base *protocol.Protocol) (*protocol.Protocol, []protocol.Warning, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".yaml", ".yml", ".json", ".csv", ".xlsx":
	default:
		return nil, nil, &protocol.LoadError{File: path, Msg: fmt.Sprintf("unsupported file type %q", ext),
			Fix: "use a .yaml/.yml/.json protocol file, a REDCap data dictionary .csv or a CRF specification workbook .xlsx"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &protocol.LoadError{File: path, Msg: err.Error(), Fix: "check the path and permissions"}
	}
	defer f.Close()
	name := filepath.Base(path)
	switch ext {
	case ".csv":
		return protocol.LoadREDCap(f, name, base)
	case ".xlsx":
		return LoadXLSX(f, name)
	default:
		return protocol.LoadYAML(f, name)
	}
}

// LoadBaseFile loads the base protocol of a REDCap data dictionary (see
// protocol.LoadBase): a .yaml, .yml or .json file holding at least the
// study metadata and the schedule of events.
func LoadBaseFile(path string) (*protocol.Protocol, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml", ".json":
	default:
		return nil, &protocol.LoadError{File: path, Msg: fmt.Sprintf("a base protocol must be a .yaml, .yml or .json file, not %q", ext),
			Fix: "write the study metadata and the events in the native layout (docs/PROTOCOL.md)"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &protocol.LoadError{File: path, Msg: err.Error(), Fix: "check the path and permissions"}
	}
	defer f.Close()
	return protocol.LoadBase(f, filepath.Base(path))
}

// ExampleBytes returns the example protocol (protocol.Example) in the
// given format: "yaml" (the documented source file), "redcap" (a REDCap
// data dictionary CSV) or "xlsx" (a CRF specification workbook).
func ExampleBytes(format string) ([]byte, error) {
	var write func(io.Writer, *protocol.Protocol) error
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "yaml", "yml":
		return protocol.ExampleYAML(), nil
	case "redcap", "csv":
		write = protocol.WriteREDCap
	case "xlsx", "excel":
		write = WriteXLSX
	default:
		return nil, fmt.Errorf("protocol: unknown example format %q (use yaml, redcap or xlsx)", format)
	}
	p := protocol.Example()
	if p == nil {
		return nil, fmt.Errorf("protocol: embedded example does not load")
	}
	var b bytes.Buffer
	if err := write(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
