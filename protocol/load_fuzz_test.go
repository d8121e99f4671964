package protocol

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// checkLoad asserts the contract every loader keeps on any input: no
// panic, either a protocol that compiles or a located *LoadError.
func checkLoad(t *testing.T, p *Protocol, err error) {
	t.Helper()
	if err != nil {
		var le *LoadError
		if !errors.As(err, &le) {
			t.Fatalf("error %T is not a *LoadError: %v", err, err)
		}
		if le.File == "" || le.Msg == "" {
			t.Fatalf("error without file or message: %#v", le)
		}
		return
	}
	if p == nil {
		t.Fatal("nil protocol without error")
	}
	if _, err := Compile(p); err != nil {
		t.Fatalf("loaded protocol does not compile: %v", err)
	}
	if _, err := p.Fingerprint(); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoadYAML(f *testing.F) {
	for _, name := range []string{"testdata/htn201.yaml", "testdata/htn201_v2.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c, _ := mustExample(f).Canonical()
	f.Add(c)
	f.Add([]byte("study: {id: X, version: '1'}\nforms: []\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := LoadYAML(bytes.NewReader(b), "fuzz.yaml")
		checkLoad(t, p, err)
	})
}

func FuzzLoadREDCap(f *testing.F) {
	b, err := os.ReadFile("testdata/htn201_redcap.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, false)
	f.Add(rcDictionary(12), true)
	f.Add([]byte(rcHeader+"record_id,f,,text,ID,,,,,,,,,,,,,\r\na,f,,radio,A,\"1, x | 2, y\",,,,,,[b(1)] = \"1\",,,,m,,@VT-OID=A.B\r\n"), false)
	base := mustExample(f)
	f.Fuzz(func(t *testing.T, b []byte, withBase bool) {
		var bp *Protocol
		if withBase {
			bp = base
		}
		p, _, err := LoadREDCap(bytes.NewReader(b), "fuzz.csv", bp)
		checkLoad(t, p, err)
	})
}
