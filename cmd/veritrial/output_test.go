package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
)

func TestPrintfEscapesArgumentsNotTheFormat(t *testing.T) {
	var b strings.Builder
	printf(&b, "%s|%v|%q|%d (%s)|%s|%-6s|\n", "a\nb", []types.Role{"x\x1b[0m"}, "c\u202e", types.CodeTxMalformed, types.CodeTxMalformed, errors.New("e\r"), "ok")
	want := `a\nb|[x\x1b[0m]|"c\u202e"|102 (tx_malformed)|e\r|ok    |` + "\n"
	if got := b.String(); got != want {
		t.Errorf("printf wrote %q, want %q", got, want)
	}
	b.Reset()
	printf(&b, "Error: %s\n", safeLines("refused:\n- query 1 \x1b[8mhidden"))
	if got, want := b.String(), "Error: refused:\n- query 1 \\x1b[8mhidden\n"; got != want {
		t.Errorf("safeLines: %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b, "NO", "TEXT", "BY")
	tb.row("1", "a value\twith a tab and \x1b[31m colour", "site1-coordinator")
	tb.row("22", "short", "\u202emonitor")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	want := "NO  TEXT                                     BY\n" +
		`1   a value\twith a tab and \x1b[31m colour  site1-coordinator` + "\n" +
		`22  short                                    \u202emonitor` + "\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}

	// On a 40-column terminal the widest column wraps at spaces.
	b.Reset()
	tb = indented(&b, "  ", "NO", "WHAT", "WHO")
	tb.width = 40
	tb.row("1", "entered form VS: VS.SYSBP=148, VS.DIABP=92, VS.HR=38", "site1-coordinator")
	tb.row("2", "rejected", "x")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	want = "  NO  WHAT             WHO\n" +
		"  1   entered form     site1-coordinator\n" +
		"      VS:\n" +
		"      VS.SYSBP=148,\n" +
		"      VS.DIABP=92,\n" +
		"      VS.HR=38\n" +
		"  2   rejected         x\n"
	if got != want {
		t.Errorf("wrapped table:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if n := len([]rune(line)); n > 40 {
			t.Errorf("line of %d characters on a 40-column terminal: %q", n, line)
		}
	}
	// Words are never split, even when the terminal is too narrow.
	b.Reset()
	tb = newTable(&b)
	tb.width = 10
	tb.row("rejected", "database lock refused")
	tb.flush()
	for _, w := range []string{"rejected", "database", "refused"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("%q was split:\n%s", w, b.String())
		}
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Source checked", 60, "Source checked"},
		{"Source document shows 59 mmHg; please check", 24, "Source document shows …"},
		{"Source document shows 59 mmHg; please check", 30, "Source document shows 59 …"},
		{"Supercalifragilistic expialidocious", 10, "Supercalifragilistic …"},
		{"rejected", 5, "rejected"},
	} {
		if got := shorten(tc.in, tc.n); got != tc.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestTextGoesThroughPrintf keeps text output in one place: outside
// output.go and table.go no code of the command writes with fmt.Fprint*
// or io.WriteString, so that every value printed for people is escaped
// by printf or a table.
func TestTextGoesThroughPrintf(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "output.go" || f == "table.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok {
				name := pkg.Name + "." + sel.Sel.Name
				switch name {
				case "fmt.Fprint", "fmt.Fprintf", "fmt.Fprintln", "io.WriteString":
					t.Errorf("%s: %s writes text without escaping it: use printf or a table", fset.Position(call.Pos()), name)
				}
			}
			return true
		})
	}
}

// TestHostileTextIsEscaped enters free text meant to fool a monitor's
// terminal (escape sequences that clear the screen and recolour, a
// right-to-left override, newlines that forge a line of their own) as a
// form value, a reason for change and a query, then reads them back:
// every text output shows them escaped, JSON keeps them exact.
func TestHostileTextIsEscaped(t *testing.T) {
	t.Parallel()
	work, _, env, n := devNode(t)
	const (
		value  = "ok\x1b[2J\x1b[31mFAKE\u202elave\nSIGNED BY PI"
		reason = "typo\x1b]0;title\x07\u202e\r\nVERIFIED\tOK"
		text   = "see source\x1b[8m hidden\u2066\nclosed by cro-monitor"
	)
	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	note := "          - oid: VS.NOTE\n            label: Note\n            type: text\n"
	writeFile(t, proto, strings.Replace(readFile(t, proto), "          - oid: VS.HR\n", note+"          - oid: VS.HR\n", 1))
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "1.0", "--consent-sha256", strings.Repeat("ab", 32))
	key := []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	mustVT(t, env, append([]string{"form", "submit", "--from", "site1-coordinator"}, append(key, "VS.DATE=2026-01-12", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=72", "VS.NOTE="+value)...)...)
	mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", reason}, append(key, "VS.HR=58")...)...)
	mustVT(t, env, append([]string{"query", "open", "--from", "cro-monitor", "--text", text}, key...)...)

	for _, args := range [][]string{
		append([]string{"show", "form"}, key...),
		append([]string{"show", "history"}, key...),
		{"show", "query", "--study", "VT-HTN-201", "--number", "1"},
		{"query", "list", "--study", "VT-HTN-201", "--thread"},
		{"audit", "trail", "--study", "VT-HTN-201"},
	} {
		out := mustVT(t, env, append(args, "--from", "sponsor-dm")...).stdout
		for _, raw := range []string{"\x1b", "\u202e", "\u2066", "\x07", "\r", "\t"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s prints %q raw:\n%s", strings.Join(args[:2], " "), raw, out)
			}
		}
		for _, forged := range []string{"\nSIGNED BY PI", "\nVERIFIED", "\nclosed by cro-monitor"} {
			if strings.Contains(out, forged) {
				t.Errorf("%s lets free text start a line of its own (%q):\n%s", strings.Join(args[:2], " "), forged, out)
			}
		}
	}
	for args, want := range map[string][]string{
		"show form":    {`ok\x1b[2J\x1b[31mFAKE\u202elave\nSIGNED BY PI`, `typo\x1b]0;title\x07\u202e\r\nVERIFIED\tOK`},
		"show history": {`typo\x1b]0;title\x07\u202e\r\nVERIFIED\tOK`},
		"show query":   {`see source\x1b[8m hidden\u2066\nclosed by cro-monitor`},
		"audit trail":  {`VS.NOTE=ok\x1b[2J\x1b[31mFAKE\u202elave\nSIGNED BY PI`, `typo\x1b]0;title\x07\u202e\r\nVERIFIED\tOK`},
	} {
		a := strings.Fields(args)
		if a[0] == "show" && a[1] != "query" {
			a = append(a, key...)
		} else {
			a = append(a, "--study", "VT-HTN-201")
			if a[1] == "query" {
				a = append(a, "--number", "1")
			}
		}
		out := mustVT(t, env, append(a, "--from", "sponsor-dm")...).stdout
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s does not show %s escaped:\n%s", args, w, out)
			}
		}
	}

	// The trail's workbook shows them visibly too, each line kept.
	xl := filepath.Join(work, "trail.xlsx")
	mustVT(t, env, "audit", "trail", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--format", "xlsx", "--out", xl)
	f, err := excelize.OpenFile(xl)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Audit trail")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var cells strings.Builder
	for _, r := range rows {
		cells.WriteString(strings.Join(r, "|"))
	}
	for _, w := range []string{`typo\x1b]0;title\x07\u202e` + "\r\nVERIFIED\tOK", `VS.NOTE=ok\x1b[2J\x1b[31mFAKE\u202elave` + "\nSIGNED BY PI"} {
		if !strings.Contains(cells.String(), w) {
			t.Errorf("the trail workbook does not show %q:\n%s", w, cells.String())
		}
	}
	if strings.ContainsAny(cells.String(), "\x1b\u202e\ufffd") {
		t.Errorf("the trail workbook holds a control, override or replacement character:\n%q", cells.String())
	}

	// JSON keeps the exact values.
	var doc struct {
		Form types.FormRecord `json:"form"`
	}
	decode(t, mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "--output", "json"}, key...)...), &doc)
	got := map[string]string{}
	for _, v := range doc.Form.Values {
		got[v.Item] = v.Value
	}
	if got["VS.NOTE"] != value || doc.Form.Reason != reason {
		t.Errorf("JSON changed the values: note %q, reason %q", got["VS.NOTE"], doc.Form.Reason)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
}
