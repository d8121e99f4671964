package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/node"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:     "doctor",
		Category: categoryNode,
		Usage:    "check the home's ledger state for damage: every stored record against the app hash the validators signed",
		UsageText: `veritrial doctor

Example:
   veritrial --home ~/veritrial doctor
   veritrial --home ~/veritrial doctor -o json`,
		Description: `Scrubs the ledger state of the home's node, which must be stopped. It reads
every node of the Merkle tree of the last committed height, recomputes each
hash from the stored records up to the root, and compares that root with the
stored one and with the app hash the consortium signed (the header of the
next height, else CometBFT's state). A record altered on disk leaves the
stored root as it was, so the node would keep reporting the right app hash
while serving the altered value: doctor finds it, and names each damaged
record by checking every record's Merkle proof against the stored root (a
record beside a damaged one in the tree may be named too).

Exits 0 when the state is intact, 1 when anything differs. A damaged state
is rebuilt, never edited: move the home's data/app aside and start the node,
which replays every block its block store holds from the first (a node that
joined by state sync holds them from its snapshot only: move data/ aside,
keeping a copy of priv_validator_state.json, and start with --state-sync).

start runs a bounded version of this check (a sample of records) every time
it opens the ledger state.`,
		Action: runDoctor,
	}
}

// doctorDoc is veritrial doctor's result.
type doctorDoc struct {
	Home   string `json:"home"`
	OK     bool   `json:"ok"`
	Signed string `json:"signed_app_hash"`
	// SignedSource says where Signed comes from.
	SignedSource string `json:"signed_source"`
	*app.ScrubReport
}

func runDoctor(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	r, err := app.Scrub(c.Context, node.AppDataDir(home))
	if err != nil {
		if isLockError(err) {
			return failf("the home %s is in use by a running node: stop it first (doctor reads every record of a stopped node's state)", home)
		}
		return failf("cannot scrub the ledger state in %s: %v", node.AppDataDir(home), err)
	}
	signed, source, err := node.SignedAppHash(conf, r.Height)
	if err != nil {
		return failf("the ledger state is at height %d, but the app hash the consortium signed for it cannot be read: %v", r.Height, err)
	}
	doc := doctorDoc{Home: home, Signed: fmt.Sprintf("%X", signed), SignedSource: source, ScrubReport: r}
	doc.OK = r.OK() && bytes.Equal(r.StoredRoot, signed)
	err = emit(c, doc, func(w io.Writer) error {
		t := newTable(w)
		t.row("Height", fmt.Sprint(r.Height))
		t.row("Records", fmt.Sprintf("%d in %d tree nodes, read in %.1f s", r.Records, r.Nodes, r.Seconds))
		t.row("Signed app hash", fmt.Sprintf("%X (%s)", signed, source))
		t.row("Stored root", fmt.Sprintf("%X", r.StoredRoot))
		t.row("Recomputed root", fmt.Sprintf("%X", r.RecomputedRoot))
		if err := t.flush(); err != nil {
			return err
		}
		switch {
		case doc.OK:
			printf(w, "\nThe ledger state is intact: every record leads to the app hash the consortium signed.\n")
			return nil
		case !bytes.Equal(r.StoredRoot, signed):
			printf(w, "\nThe stored root is not the app hash the consortium signed: this is not the ledger's state at height %d.\n", r.Height)
		default:
			printf(w, "\nThe records do not lead to the stored root: the state was altered on disk.\n")
		}
		if len(r.Damaged) > 0 {
			printf(w, "\nDamaged records (%d):\n", len(r.Damaged)+r.More)
			t = indented(w, "  ")
			t.row("KEY", "WHY")
			for _, d := range r.Damaged {
				t.row(d.Key, d.Reason)
			}
			if err := t.flush(); err != nil {
				return err
			}
			if r.More > 0 {
				printf(w, "  and %d more\n", r.More)
			}
		}
		printf(w, "\nRebuild it: move %s aside and start the node, which replays its stored blocks (README, \"A record altered on disk\").\n", node.AppDataDir(home))
		return nil
	})
	if err != nil {
		return err
	}
	if !doc.OK {
		return failf("the ledger state in %s is damaged (%d record(s) named)", node.AppDataDir(home), len(r.Damaged)+r.More)
	}
	return nil
}
