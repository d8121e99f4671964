package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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
