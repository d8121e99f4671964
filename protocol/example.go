package protocol

import (
	"bytes"
	_ "embed"
)

//go:embed testdata/htn201.yaml
var exampleYAML []byte

// Example returns the example protocol VT-HTN-201, a fictitious phase II
// antihypertensive trial (8 events, 8 forms, 76 items), freshly loaded from
// its embedded YAML; it returns nil only if the embedded file is broken.
func Example() *Protocol {
	p, _, err := LoadYAML(bytes.NewReader(exampleYAML), "htn201.yaml")
	if err != nil {
		return nil
	}
	return p
}

// ExampleYAML returns the documented source file of the example protocol
// (a copy: the caller may change it).
func ExampleYAML() []byte {
	return append([]byte(nil), exampleYAML...)
}
