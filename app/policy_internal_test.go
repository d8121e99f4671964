package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// TestReadPolicyCoversEveryKey: every record prefix and key that
// app/types/keys.go declares has a rule in the read policy table, so that
// no new kind of record is readable, or refused, by accident.
func TestReadPolicyCoversEveryKey(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "types/keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{string(types.KeyGovernance): true}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if ok && (strings.HasPrefix(name.Name, "Prefix") || strings.HasPrefix(name.Name, "Key")) {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared[s] = true
				}
			}
		}
		return true
	})
	if len(declared) < 25 {
		t.Fatalf("found only %d keys in keys.go: %v", len(declared), declared)
	}
	ruled := map[string]bool{}
	for _, p := range readPolicy {
		if ruled[p.prefix] {
			t.Errorf("the read policy rules %q twice", p.prefix)
		}
		ruled[p.prefix] = true
	}
	for k := range declared {
		if !ruled[k] {
			t.Errorf("keys.go declares %q but the read policy has no rule for it", k)
		}
	}
	for k := range ruled {
		if !declared[k] {
			t.Errorf("the read policy rules %q, which keys.go does not declare", k)
		}
	}
}
