package types

import (
	"fmt"
	"strings"
)

// UpgradePlan is a coordinated switch of the ledger to the next version
// of its state machine, decided by a consortium proposal: at Height
// every node running a binary that does not carry the upgrade stops
// before executing the block, and the binary that carries it (its
// migration registry has a migration named Name from the ledger's
// version) migrates the state in that block and carries on.
// docs/UPGRADES.md describes the procedure.
type UpgradePlan struct {
	// Name names the upgrade; the new binary's migration carries the
	// same name. An identifier, never reused.
	Name string `json:"name"`
	// Height is the first height the new binary executes.
	Height int64 `json:"height"`
	// Binaries are the SHA-256 checksums of the release binaries, one
	// per platform; a binary started for the upgrade checks its own.
	Binaries []UpgradeBinary `json:"binaries,omitempty"`
	// Note is free text for the operators (where to download, say).
	Note string `json:"note,omitempty"`
}

// UpgradeBinary is the checksum of one release binary.
type UpgradeBinary struct {
	// Platform is GOOS/GOARCH, e.g. linux/amd64.
	Platform string `json:"platform"`
	// SHA256 is the binary's SHA-256, 64 lower-case hex characters.
	SHA256 string `json:"sha256"`
}

// Upgrade is a decided upgrade as the ledger keeps it.
type Upgrade struct {
	UpgradePlan
	// Proposal is the number of the consortium proposal that decided it.
	Proposal int `json:"proposal"`
	// Applied is the height whose block ran the migration (Height), 0
	// while the upgrade is pending.
	Applied int64 `json:"applied,omitempty"`
}

// VersionSpan says that state-machine Version executed the blocks from
// height From on (until the next span's).
type VersionSpan struct {
	Version uint64 `json:"version"`
	From    int64  `json:"from"`
}

// MinUpgradeMargin is how many blocks after the block that decides an
// upgrade its height must at least be: time for every organisation to
// install the new binary.
const MinUpgradeMargin = 20

// MaxUpgradeBinaries bounds the platforms of an upgrade.
const MaxUpgradeBinaries = 16

// Checksum returns the SHA-256 the plan gives for platform, or "".
func (p *UpgradePlan) Checksum(platform string) string {
	for _, b := range p.Binaries {
		if b.Platform == platform {
			return b.SHA256
		}
	}
	return ""
}

// validate runs the stateless checks of an upgrade plan.
func (p *UpgradePlan) validate() *Error {
	if e := CheckID("upgrade name", p.Name); e != nil {
		return e
	}
	if p.Height < 1 {
		return Errf(CodeInvalidMsg, "upgrade height %d is not a height", p.Height)
	}
	if e := checkText("upgrade note", p.Note, false); e != nil {
		return e
	}
	if len(p.Binaries) > MaxUpgradeBinaries {
		return Errf(CodeInvalidMsg, "the upgrade lists %d binaries, above the limit of %d", len(p.Binaries), MaxUpgradeBinaries)
	}
	seen := map[string]bool{}
	for _, b := range p.Binaries {
		if !validPlatform(b.Platform) {
			return Errf(CodeInvalidMsg, "platform %q is not GOOS/GOARCH in lower case (e.g. linux/amd64)", b.Platform)
		}
		if seen[b.Platform] {
			return Errf(CodeInvalidMsg, "the upgrade gives platform %s twice", b.Platform)
		}
		seen[b.Platform] = true
		if len(b.SHA256) != 64 || !ValidNonce(b.SHA256) {
			return Errf(CodeInvalidMsg, "the checksum of the %s binary, %q, is not a SHA-256 in 64 lower-case hex characters", b.Platform, b.SHA256)
		}
	}
	return nil
}

// validPlatform reports whether s is GOOS/GOARCH: two lower-case
// alphanumeric words.
func validPlatform(s string) bool {
	goos, goarch, ok := strings.Cut(s, "/")
	return ok && lowerAlnum(goos) && lowerAlnum(goarch)
}

func lowerAlnum(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// String describes the plan in a few words.
func (p *UpgradePlan) String() string {
	s := fmt.Sprintf("upgrade %s at height %d", p.Name, p.Height)
	if len(p.Binaries) > 0 {
		var ps []string
		for _, b := range p.Binaries {
			ps = append(ps, b.Platform)
		}
		s += ", binaries for " + strings.Join(ps, ", ")
	}
	return s
}
