package testnet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestnetInitCommand runs `veritrial testnet init` as a user would:
// text and JSON output, and refusals with exit code 2 and one clear line.
func TestTestnetInitCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the binary built by TestMain; skipped under -short")
	}
	work := t.TempDir()
	env := []string{"HOME=" + work, "PATH=" + os.Getenv("PATH")}
	out := filepath.Join(work, "consortium")
	so, se, code, err := runVT(env, "testnet", "init", "--orgs", "acme,site-1", "--kinds", "acme=sponsor", "--out", out,
		"--hosts", "10.0.0.11,10.0.0.12", "--base-port", "36656")
	if err != nil || code != 0 {
		t.Fatalf("testnet init: exit %d (%v)\n%s%s", code, err, so, se)
	}
	if !strings.HasPrefix(so, DevNotice+"\n") {
		t.Errorf("the output does not start by saying it is for development on one machine:\n%s", so)
	}
	for _, want := range []string{"acme", "sponsor", "10.0.0.11:36656", "site-1-coordinator", "veritrial-dev"} {
		if !strings.Contains(so, want) {
			t.Errorf("output lacks %q:\n%s", want, so)
		}
	}
	so, se, code, _ = runVT(env, "testnet", "init", "--orgs", "sponsor,regulator", "--out", filepath.Join(work, "j"), "--output", "json")
	var m Manifest
	if code != 0 || json.Unmarshal([]byte(so), &m) != nil || len(m.Nodes) != 2 || m.Nodes[1].Kind != "regulator" {
		t.Fatalf("--output json: exit %d\n%s%s", code, so, se)
	}
	if !strings.HasPrefix(so, "{\n  \"notice\": ") || m.Notice != DevNotice {
		t.Errorf("the JSON output does not start with the development notice:\n%s", so)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--orgs", "sponsor,hospital", "--out", filepath.Join(work, "x")}, "cannot tell the kind of organisation hospital"},
		{[]string{"--orgs", "sponsor,site-1", "--out", out}, "already exists"},
		{[]string{"--orgs", "sponsor", "--kinds", "sponsor=pharma", "--out", filepath.Join(work, "y")}, "not sponsor, site, cro, regulator or ethics"},
		{[]string{"--out", filepath.Join(work, "z")}, "orgs"},
	} {
		so, se, code, _ := runVT(env, append([]string{"testnet", "init"}, c.args...)...)
		if code != 2 || !strings.HasPrefix(se, "Error: ") || !strings.Contains(se, c.want) {
			t.Errorf("testnet init %v: exit %d, stderr %q, want exit 2 saying %q (stdout %q)", c.args, code, se, c.want, so)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "x")); err == nil {
		t.Error("a refused testnet init left a directory behind")
	}
}
