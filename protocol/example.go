package protocol

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

//go:embed testdata/htn201.yaml
var exampleYAML []byte

// Example returns the example protocol VT-HTN-201, a fictitious phase II
// antihypertensive trial (8 events, 8 forms, 75 items), freshly loaded from
// its embedded YAML; it returns nil only if the embedded file is broken.
func Example() *Protocol {
	p, _, err := LoadYAML(bytes.NewReader(exampleYAML), "htn201.yaml")
	if err != nil {
		return nil
	}
	return p
}

// ExampleBytes returns the example protocol in the given format: "yaml"
// (the documented source file), "redcap" (a REDCap data dictionary CSV) or
// "xlsx" (a CRF specification workbook).
func ExampleBytes(format string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "yaml", "yml":
		return append([]byte(nil), exampleYAML...), nil
	case "redcap", "csv":
		p := Example()
		if p == nil {
			return nil, fmt.Errorf("protocol: embedded example does not load")
		}
		var b bytes.Buffer
		if err := WriteREDCap(&b, p); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case "xlsx", "excel":
		p := Example()
		if p == nil {
			return nil, fmt.Errorf("protocol: embedded example does not load")
		}
		var b bytes.Buffer
		if err := WriteXLSX(&b, p); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("protocol: unknown example format %q (use yaml, redcap or xlsx)", format)
}
