package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

func proposeUpgradeCommand() *cli.Command {
	return &cli.Command{
		Name:  "upgrade",
		Usage: "propose switching every node to a new release at a height",
		UsageText: `veritrial consortium propose upgrade --from sponsor-admin --name NAME --height H (--sums dist/SHA256SUMS | --sha256 FILE...) [--note TEXT]

Example:
   veritrial consortium propose upgrade --from sponsor-admin --name v2 --height 120000 --sums dist/SHA256SUMS`,
		Description: `NAME is the name of the migration the new release carries (its release
notes give it). At height H every node running an older release stops
before executing the block; the operators then start the new release,
which runs the migration in that block and carries on. The checksums of
the release binaries (from make release's SHA256SUMS, or computed here
from the binaries, named veritrial-<release>-<os>-<arch>) go on the
ledger: a node refuses to start a binary whose checksum for its platform
differs. See docs/UPGRADES.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Required: true, Usage: "the upgrade's name, as the new release names its migration"},
			&cli.Int64Flag{Name: "height", Required: true, Usage: fmt.Sprintf("the first height the new release executes (at least %d blocks after the deciding vote)", types.MinUpgradeMargin)},
			&cli.StringFlag{Name: "sums", Usage: "a SHA256SUMS `FILE` of the release binaries", TakesFile: true},
			&cli.StringSliceFlag{Name: "sha256", Usage: "a release binary `FILE` to checksum (repeatable)", TakesFile: true},
			&cli.StringFlag{Name: "note", Usage: "a note for the operators (where to find the release)"},
		},
		Action: proposeUpgrade,
	}
}

func proposeUpgrade(c *cli.Context) error {
	bins, err := releaseChecksums(c.String("sums"), c.StringSlice("sha256"))
	if err != nil {
		return err
	}
	return propose(c, types.Change{Upgrade: &types.UpgradePlan{Name: c.String("name"), Height: c.Int64("height"), Binaries: bins, Note: c.String("note")}})
}

// releaseChecksums reads the checksums of release binaries from a
// SHA256SUMS file and from the binaries files, by platform (from the
// names veritrial-<release>-<os>-<arch>), in platform order.
func releaseChecksums(sums string, files []string) ([]types.UpgradeBinary, error) {
	if sums == "" && len(files) == 0 {
		return nil, usageErrorf("give the release checksums: --sums dist/SHA256SUMS or --sha256 FILE (repeatable)")
	}
	byPlatform := map[string]string{}
	add := func(name, sum string) error {
		p, ok := platformOf(name)
		if !ok {
			return usageErrorf("%s is not named veritrial-<release>-<os>-<arch>, so its platform is unknown", name)
		}
		if other, dup := byPlatform[p]; dup && other != sum {
			return usageErrorf("two different checksums for %s", p)
		}
		byPlatform[p] = sum
		return nil
	}
	if sums != "" {
		f, err := os.Open(sums)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			if !ok {
				return nil, usageErrorf("%s: line %q is not \"<sha256>  <file>\"", sums, sc.Text())
			}
			if err := add(strings.TrimLeft(name, " *"), sum); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	for _, file := range files {
		sum, err := hashInputFile(file, "release binary")
		if err != nil {
			return nil, err
		}
		if err := add(file, hex.EncodeToString(sum)); err != nil {
			return nil, err
		}
	}
	var out []types.UpgradeBinary
	for p, sum := range byPlatform {
		out = append(out, types.UpgradeBinary{Platform: p, SHA256: sum})
	}
	slices.SortFunc(out, func(a, b types.UpgradeBinary) int { return strings.Compare(a.Platform, b.Platform) })
	return out, nil
}

// platformOf reads os/arch from a release binary's name,
// veritrial-<release>-<os>-<arch>[.exe].
func platformOf(name string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(name), ".exe"), "-")
	if len(parts) < 4 || parts[0] != "veritrial" {
		return "", false
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1], true
}

// ownSHA256 is the SHA-256 of the running binary, in hex.
func ownSHA256() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	sum, err := hashInputFile(exe, "this binary")
	return hex.EncodeToString(sum), err
}
