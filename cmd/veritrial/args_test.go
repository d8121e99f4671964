package main

import (
	"io"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	a := newApp(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"vt keys delete alice --passphrase-file p", "vt keys delete --passphrase-file p alice"},
		{"vt --home h keys show alice -o json", "vt --home h keys show -o json alice"},
		{"vt protocol check f.yaml --base b.yaml", "vt protocol check --base b.yaml f.yaml"},
		{"vt keys export alice --force --out x", "vt keys export --force --out x alice"},
		{"vt keys import a f --raw", "vt keys import --raw a f"},
		{"vt keys frob", "vt keys frob"},
		{"vt protocol check -- -odd.yaml", "vt protocol check -- -odd.yaml"},
		{"vt keys show alice --generate-bash-completion", "vt keys show alice --generate-bash-completion"},
		{"vt", "vt"},
	} {
		got := strings.Join(interspersed(a, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("interspersed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
