package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/readapi"
)

func TestNormalizeNodeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:26657":    "tcp://127.0.0.1:26657",
		"localhost:26657":          "tcp://localhost:26657",
		"tcp://0.0.0.0:26657":      "tcp://127.0.0.1:26657",
		"http://10.0.0.5:26657":    "http://10.0.0.5:26657",
		"https://node.example:443": "https://node.example:443",
	} {
		got, err := normalizeNodeAddr(in)
		if err != nil || got != want {
			t.Errorf("normalizeNodeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x:1", "tcp://nohost"} {
		if _, err := normalizeNodeAddr(bad); exitCodeOf(err) != exitUsage {
			t.Errorf("normalizeNodeAddr(%q): %v, want a usage error", bad, err)
		}
	}
}

func TestGlobalFlagsAnyPosition(t *testing.T) {
	var out, errb strings.Builder
	dir := t.TempDir()
	t.Setenv(envHome, "/nonexistent-env-home")
	// --home before the command beats the environment.
	code := run([]string{"veritrial", "--home", dir, "keys", "list", "-o", "json"}, &out, &errb)
	if code != exitKey || !strings.Contains(errb.String(), dir) {
		t.Fatalf("exit %d, stderr %q: want the flag's home %s", code, errb.String(), dir)
	}
	var doc map[string]any
	if err := jsonUnmarshal(out.String(), &doc); err != nil || doc["exit_code"] != float64(exitKey) {
		t.Fatalf("JSON error document %q: %v", out.String(), err)
	}
	// After the command, the innermost wins.
	out.Reset()
	errb.Reset()
	code = run([]string{"veritrial", "--home", "/elsewhere", "keys", "list", "--home", dir}, &out, &errb)
	if code != exitKey || !strings.Contains(errb.String(), dir) {
		t.Fatalf("exit %d, stderr %q: want the innermost home %s", code, errb.String(), dir)
	}
	if !reflect.DeepEqual(out.String(), "") {
		t.Fatalf("text mode printed on stdout on error: %q", out.String())
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestMissingRequiredFlag: a required flag not given is a usage error
// (exit 2), like any other wrong flag, and says where to look.
func TestMissingRequiredFlag(t *testing.T) {
	for _, args := range [][]string{
		{"consortium", "vote", "--yes"},
		{"site", "activate", "--study", "VT-HTN-201"},
	} {
		var out, errb strings.Builder
		code := run(append([]string{"veritrial", "--home", t.TempDir()}, args...), &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "Required flag") || !strings.Contains(errb.String(), "see --help") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming the missing flag", args, code, errb.String(), exitUsage)
		}
	}
}

// TestNodeAddrDefault: without --node the CLI talks to the home's read
// API; a home made before the read API, to its RPC; no home, to the
// default read API.
func TestNodeAddrDefault(t *testing.T) {
	home := t.TempDir()
	addr := func() string {
		t.Helper()
		var got string
		a := &cli.App{Flags: globalFlags(), Action: func(c *cli.Context) error {
			var err error
			got, err = nodeAddr(c)
			return err
		}}
		if err := a.Run([]string{"veritrial", "--home", home}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := addr(); got != defaultNode {
		t.Errorf("no home: %q, want %q", got, defaultNode)
	}
	if _, err := node.InitFiles(node.Config(home, "m", "tcp://0.0.0.0:36657", "tcp://127.0.0.1:36656", node.DefaultTiming)); err != nil {
		t.Fatal(err)
	}
	if got := addr(); got != "tcp://127.0.0.1:36657" {
		t.Errorf("a home without the read API: %q, want its RPC", got)
	}
	if err := node.WriteAPI(home, readapi.Listen{Addr: "tcp://0.0.0.0:36680", CertFile: "api.crt", KeyFile: "api.key"}); err != nil {
		t.Fatal(err)
	}
	if got := addr(); got != "https://127.0.0.1:36680" {
		t.Errorf("a home serving HTTPS on every interface: %q", got)
	}
}

// TestReadsNeedFrom: a command that reads says, before contacting any
// node, that reads are signed and --from is missing.
func TestReadsNeedFrom(t *testing.T) {
	for _, args := range [][]string{
		{"show", "study", "--study", "VT-HTN-201"},
		{"status"},
		{"audit", "trail", "--study", "VT-HTN-201"},
		{"consortium", "members"},
	} {
		var out, errb strings.Builder
		code := run(append([]string{"veritrial", "--home", t.TempDir(), "--node", "tcp://127.0.0.1:1"}, args...), &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "no key chosen to read with") || !strings.Contains(errb.String(), "--from NAME") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
