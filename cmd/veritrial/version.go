package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:     "version",
		Category: categoryOther,
		Usage:    "show the release, the commit and the state-machine version of this binary",
		UsageText: `veritrial version [--output json]

Example:
   veritrial version --output json`,
		Description: `Prints what identifies this binary in a validated system: the release and
the source commit it was built from (stamped by make release; otherwise
"dev", with the commit of Go's VCS stamp when the build made one, and
whether the tree had uncommitted changes), the
version of the state machine it runs up to (a new chain starts at it; a
ledger moves to the next one by a consortium upgrade, docs/UPGRADES.md;
veritrial status prints the version of the node's ledger), and the
versions of Go and CometBFT it was built with.`,
		Action: runVersion,
	}
}

// versionDoc is what identifies the binary.
type versionDoc struct {
	Release string `json:"release"`
	Commit  string `json:"commit"`
	// CommitTime is the commit's time (RFC 3339), from the build's VCS
	// stamp.
	CommitTime string `json:"commit_time,omitempty"`
	// Modified says the tree had uncommitted changes when it was built.
	Modified bool `json:"modified"`
	// StateMachine is the state-machine version the binary runs up to.
	StateMachine uint64 `json:"state_machine_version"`
	Go           string `json:"go"`
	Platform     string `json:"platform"`
	CometBFT     string `json:"cometbft"`
	// Protocols are CometBFT's block and p2p protocol versions.
	BlockProtocol uint64 `json:"block_protocol"`
	P2PProtocol   uint64 `json:"p2p_protocol"`
}

// buildVersion reads the binary's own identity.
func buildVersion() versionDoc {
	d := versionDoc{Release: version, Commit: commit, StateMachine: app.StateVersion(), Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, CometBFT: cmtversion.TMCoreSemVer,
		BlockProtocol: cmtversion.BlockProtocol, P2PProtocol: cmtversion.P2PProtocol}
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				d.Commit = s.Value
			case "vcs.time":
				d.CommitTime = s.Value
			case "vcs.modified":
				d.Modified = s.Value == "true"
			}
		}
	}
	if d.Commit == "" {
		d.Commit = "unknown"
	}
	return d
}

func runVersion(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	d := buildVersion()
	return emit(c, d, func(w io.Writer) error {
		t := newTable(w)
		commit := d.Commit
		if d.Modified {
			commit += " (with uncommitted changes)"
		}
		if d.CommitTime != "" {
			commit += ", " + d.CommitTime
		}
		t.row("Release", d.Release)
		t.row("Commit", commit)
		t.row("State machine", fmt.Sprintf("version %d", d.StateMachine))
		t.row("Built with", fmt.Sprintf("%s, CometBFT %s (block protocol %d, p2p %d), for %s", d.Go, d.CometBFT, d.BlockProtocol, d.P2PProtocol, d.Platform))
		return t.flush()
	})
}
