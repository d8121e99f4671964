package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// TestUpgradeReleaseChecksums: propose upgrade reads the platforms and
// checksums from SHA256SUMS and from the binaries themselves, and
// refuses names without a platform and conflicting checksums.
func TestUpgradeReleaseChecksums(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s1, s2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	sums := write("SHA256SUMS", s2+"  veritrial-v2.0-rc1-linux-arm64\n"+s1+"  veritrial-v2.0-rc1-darwin-arm64\n")
	bin := write("veritrial-v2.0-rc1-linux-amd64", "a release binary")
	h := sha256.Sum256([]byte("a release binary"))
	binSum := hex.EncodeToString(h[:])

	got, err := releaseChecksums(sums, []string{bin})
	want := []types.UpgradeBinary{{Platform: "darwin/arm64", SHA256: s1}, {Platform: "linux/amd64", SHA256: binSum}, {Platform: "linux/arm64", SHA256: s2}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("releaseChecksums = %v, %v; want %v", got, err, want)
	}
	conflict := write("SUMS2", s1+"  veritrial-v2-linux-amd64\n")
	for _, tc := range []struct {
		name  string
		sums  string
		files []string
		want  string
	}{
		{name: "nothing", want: "--sums"},
		{name: "a binary without a platform", files: []string{write("veritrial", "x")}, want: "platform is unknown"},
		{name: "a malformed line", sums: write("BAD", "just-one-field\n"), want: "is not"},
		{name: "two checksums for one platform", sums: conflict, files: []string{bin}, want: "two different checksums for linux/amd64"},
		{name: "no such file", files: []string{filepath.Join(dir, "veritrial-v2-linux-amd64")}, want: "cannot read release binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := releaseChecksums(tc.sums, tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
