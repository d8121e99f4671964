package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxProtocolFile bounds the size of a protocol file a loader reads.
const maxProtocolFile = 64 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// LoadYAML reads a native protocol file, YAML or JSON (the layout is
// documented in docs/PROTOCOL.md). Unknown fields are errors, so a typo
// such as "requird: true" names its line; the result is normalized and
// checked with Compile.
func LoadYAML(r io.Reader, name string) (*Protocol, []Warning, error) {
	p, root, err := decodeYAML(r, name)
	if err != nil {
		return nil, nil, err
	}
	loc := func(path string) LoadError {
		n, rest := yamlNodeAt(root, path)
		le := LoadError{Column: rest}
		if n != nil {
			le.Line = n.Line
		}
		return le
	}
	ws, err := CompileLocated(p, name, loc)
	if err != nil {
		return nil, nil, err
	}
	return p, ws, nil
}

// LoadBase reads the base protocol of a REDCap data dictionary, YAML or
// JSON in the native layout: the study metadata, the schedule of events
// and the randomisation section, which a dictionary does not carry. It
// may hold only those (its
// events then name the dictionary's forms); any forms and code lists it
// holds are ignored. It is checked as a whole once the dictionary's forms
// join it.
func LoadBase(r io.Reader, name string) (*Protocol, error) {
	p, root, err := decodeYAML(r, name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Study.ID) == "" {
		le := &LoadError{File: name, Msg: "the base protocol has no study ID", Fix: "write study: {id: VT-HTN-201, version: \"1.0\", title: ...}"}
		if n, _ := yamlNodeAt(root, "study"); n != nil {
			le.Line = n.Line
		}
		return nil, le
	}
	return &Protocol{Study: p.Study, Events: p.Events, Randomization: p.Randomization}, nil
}

// decodeYAML decodes and normalizes a native protocol file, returning its
// YAML node tree for locating definition errors.
func decodeYAML(r io.Reader, name string) (*Protocol, *yaml.Node, error) {
	b, err := ReadLimited(r, name)
	if err != nil {
		return nil, nil, err
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil, &LoadError{File: name, Line: 1, Msg: "the file is empty",
			Fix: "start from `protocol example --format yaml` or docs/PROTOCOL.md"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Protocol
	if err := dec.Decode(&p); err != nil {
		return nil, nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, &LoadError{File: name, Line: extra.Line, Msg: "the file holds more than one YAML document",
			Fix: "keep one protocol per file: remove the second `---` and what follows"}
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, yamlError(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, nil, yamlError(name, err)
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind != yaml.MappingNode {
		return nil, nil, &LoadError{File: name, Line: root.Content[0].Line,
			Msg: "the protocol must be a mapping with keys study, events, forms and codelists",
			Fix: "see docs/PROTOCOL.md for the layout"}
	}
	Normalize(&p)
	return &p, &root, nil
}

// WriteYAML writes p as a native YAML protocol file.
func WriteYAML(w io.Writer, p *Protocol) error {
	c := Clone(p)
	Normalize(c)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return err
	}
	return enc.Close()
}

// ReadLimited reads a whole protocol file named name from r, refusing one
// larger than a protocol file can be (a *LoadError).
func ReadLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxProtocolFile+1))
	if err != nil {
		return nil, &LoadError{File: name, Msg: "cannot read: " + err.Error(), Fix: "check that the file is readable"}
	}
	if len(b) > maxProtocolFile {
		return nil, &LoadError{File: name, Msg: fmt.Sprintf("file is larger than %d MiB", maxProtocolFile>>20),
			Fix: "split the protocol or remove embedded data"}
	}
	return b, nil
}

var (
	yamlLineRE     = regexp.MustCompile(`line (\d+): (.*)$`)
	yamlFieldRE    = regexp.MustCompile(`field (\S+) not found in type protocol\.(\w+)`)
	yamlUnmarshlRE = regexp.MustCompile("cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)")
)

// yamlError turns a yaml.v3 error into a located LoadError with a fix.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out []*LoadError
	for _, m := range msgs {
		le := &LoadError{File: name, Msg: m}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			le.Line, _ = strconv.Atoi(sm[1])
			le.Msg = sm[2]
		}
		le.Fix = yamlFix(le.Msg)
		out = append(out, le)
		if len(out) >= MaxLoadErrors {
			break
		}
	}
	return JoinLoadErrors(out)
}

var yamlTypes = map[string]reflect.Type{
	"Protocol": reflect.TypeOf(Protocol{}), "Study": reflect.TypeOf(Study{}),
	"Outcome": reflect.TypeOf(Outcome{}), "Arm": reflect.TypeOf(Arm{}),
	"Event": reflect.TypeOf(Event{}), "Form": reflect.TypeOf(Form{}),
	"ItemGroup": reflect.TypeOf(ItemGroup{}), "Item": reflect.TypeOf(Item{}),
	"Range": reflect.TypeOf(Range{}), "CodeList": reflect.TypeOf(CodeList{}),
	"CodeItem": reflect.TypeOf(CodeItem{}), "EditCheck": reflect.TypeOf(EditCheck{}),
	"Randomization": reflect.TypeOf(Randomization{}), "Factor": reflect.TypeOf(Factor{}),
	"Band": reflect.TypeOf(Band{}),
}

func yamlFix(msg string) string {
	if sm := yamlFieldRE.FindStringSubmatch(msg); sm != nil {
		if t, ok := yamlTypes[sm[2]]; ok {
			var names []string
			for i := 0; i < t.NumField(); i++ {
				tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
				if tag != "" && tag != "-" {
					names = append(names, tag)
				}
			}
			return fmt.Sprintf("check the spelling of %q; the keys of %s are: %s", sm[1],
				strings.ToLower(sm[2]), strings.Join(names, ", "))
		}
		return fmt.Sprintf("remove or correct the key %q", sm[1])
	}
	if sm := yamlUnmarshlRE.FindStringSubmatch(msg); sm != nil {
		switch {
		case sm[3] == "int":
			return "write a whole number (days, digits, lengths and repeats are integers)"
		case sm[3] == "bool":
			return "write true or false"
		case strings.HasPrefix(sm[3], "[]"):
			return "write a list (one `- ` entry per line or [a, b])"
		case sm[1] == "seq" || sm[1] == "map":
			return "write a single value here, quoted if it contains ': ' or starts with [ or {"
		default:
			return "write a value of type " + strings.TrimPrefix(sm[3], "protocol.")
		}
	}
	switch {
	case strings.Contains(msg, "already defined"):
		return "remove the duplicated key"
	case strings.Contains(msg, "found character that cannot start any token"):
		return "indent with spaces, not tabs, and quote values starting with @ or `"
	case strings.Contains(msg, "did not find expected"), strings.Contains(msg, "mapping values are not allowed"):
		return "check indentation and quote values that contain ': ' or start with [, {, *, & or !"
	}
	return "correct the YAML syntax at this line (docs/PROTOCOL.md has a full example)"
}

var pathSegRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]`)

// yamlNodeAt walks root along a definition path and returns the deepest
// node found and the part of the path it could not follow.
func yamlNodeAt(root *yaml.Node, path string) (*yaml.Node, string) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	segs := pathSegRE.FindAllStringSubmatch(path, -1)
	for i, s := range segs {
		var next *yaml.Node
		if s[1] != "" && n.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == s[1] {
					next = n.Content[j+1]
					if next.Kind == yaml.ScalarNode {
						next = n.Content[j]
					}
					break
				}
			}
		} else if s[2] != "" && n.Kind == yaml.SequenceNode {
			k, _ := strconv.Atoi(s[2])
			if k >= 0 && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			var rest []string
			for _, r := range segs[i:] {
				rest = append(rest, r[0])
			}
			return n, strings.TrimPrefix(strings.Join(rest, "."), ".")
		}
		n = next
	}
	if len(segs) > 0 && segs[len(segs)-1][1] != "" {
		return n, segs[len(segs)-1][1]
	}
	return n, ""
}
