package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/archive"
	"github.com/veritrial/veritrial/app/export"
)

func archiveCommand() *cli.Command {
	return &cli.Command{
		Name:     "archive",
		Usage:    "a trial archive: the export, the genesis, the headers and every record's proof in one file, verifiable with no node",
		Category: categoryWorkflow,
		Description: `create writes one file (a tar, docs/ARCHIVE.md) holding a study's export at
one height, the consortium's genesis, the light blocks from the first block
to that height (every change of validator set included) and the ics23 proof
of every record the export is built from. verify checks all of it with no
network and no node: the headers from the genesis with CometBFT's light
client verification, each record's proof against the verified app hash, and
each export against the records, naming the part and the place of anything
that does not hold.`,
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "archive a study: export, genesis, light blocks and proofs in one file",
				UsageText: "veritrial archive create --from sponsor-dm --study VT-HTN-201 --out VT-HTN-201.vtar [--height H] [--format xlsx,csv,odm]",
				Description: `The height is the study's database lock height by default (a study that is
not locked is archived at the latest height, with a warning). The genesis is
the home's (config/genesis.json); the node's headers are verified from it
before anything is read.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "study", Required: true, Usage: "study `ID`"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "the archive `FILE` to write", TakesFile: true},
					&cli.Int64Flag{Name: "height", Usage: "archive the ledger as it was after block `H` (default: the database lock height, else the latest)"},
					&cli.StringFlag{Name: "format", Value: "xlsx,csv,odm", Usage: "the export `FORMATS` to include, comma-separated: xlsx, csv, odm, dataset-json, pdf (every subject's casebook)"},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing output file"},
				},
				Action: archiveCreate,
			},
			{
				Name:      "verify",
				Usage:     "verify an archive offline, from its genesis alone",
				UsageText: "veritrial archive verify VT-HTN-201.vtar [--output json]",
				Description: `Needs no node, no key and no network. Exit 0 means every header verifies
from the genesis in the archive, every record's proof holds against the app
hash of the archived height, and every export is exactly the ledger's data
at that height; exit 1 lists every problem with the part and place.`,
				Action: archiveVerify,
			},
		},
	}
}

// archiveResult is what archive create prints.
type archiveResult struct {
	Out string `json:"out"`
	archive.Summary
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

func archiveCreate(c *cli.Context) error {
	study, out := c.String("study"), c.String("out")
	if err := exactArgs(c); err != nil {
		return err
	}
	if c.Int64("height") < 0 {
		return usageErrorf("--height must be a committed height (1 or more)")
	}
	formats, err := archive.ParseFormats(c.String("format"))
	if err != nil {
		return usageErrorf("--format: %v", err)
	}
	if err := checkOutFree(out, c.Bool("force")); err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return inputErrorf("cannot write %s: directory %s does not exist", out, filepath.Dir(out))
	}
	_, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	if err := verifiedHeaders(c, cl); err != nil {
		return err
	}
	genesis, err := readInputFile(conf.GenesisFile(), "genesis", maxGenesisFile)
	if err != nil {
		return err
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	bar := newExportProgress(stderr(c))
	o := archive.CreateOptions{Study: study, Height: c.Int64("height"), Formats: formats, Genesis: genesis, Version: version,
		TmpDir: filepath.Dir(out), Progress: bar.update}
	var sum *archive.Summary
	err = writeFileWith(out, 0o644, c.Bool("force"), func(w io.Writer) error {
		var err error
		sum, err = archive.Create(ctx, cl, o, w)
		return err
	})
	bar.finish()
	if err != nil {
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return failf("archive of study %s failed: %v", study, err)
	}
	if sum.Basis == export.BasisNotLocked {
		note(c, "warning: study %s is NOT locked at height %d: this is not a locked dataset (the exports say so)", study, sum.Height)
	}
	res := archiveResult{Out: out, Summary: *sum, Seconds: time.Since(start).Seconds()}
	if st, err := os.Stat(out); err == nil {
		res.Bytes = st.Size()
	}
	return emit(c, res, func(w io.Writer) error {
		printf(w, "Archived study %s at height %d (%s) to %s: %d bytes in %.1f s\n", study, sum.Height, sum.Basis, out, res.Bytes, res.Seconds)
		printf(w, "  exports %s; %d records with proofs; %d light blocks (%d validator set changes)\n", strings.Join(sum.Formats, ", "), sum.Records, sum.LightBlocks, sum.Changes)
		printf(w, "  chain %s, app hash %s, dataset digest %s\n", sum.ChainID, sum.AppHash, sum.Digest)
		printf(w, "Verify it with: veritrial archive verify %s\n", out)
		return nil
	})
}

func archiveVerify(c *cli.Context) error {
	if err := exactArgs(c, "file"); err != nil {
		return err
	}
	file := c.Args().First()
	if err := checkReadable(file, "archive"); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return inputErrorf("cannot read the archive %s: %v", file, pathError(err))
	}
	defer f.Close()
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := archive.Verify(ctx, f, archive.VerifyOptions{})
	if err != nil {
		return failf("verifying %s: %v", file, err)
	}
	if err := emit(c, rep, func(w io.Writer) error {
		printf(w, "Archive %s: study %s at height %d of chain %s\n", file, rep.Study, rep.Height, rep.ChainID)
		printf(w, "  %d light blocks from the genesis (%d validator set changes); block %s, app hash %s\n", rep.LightBlocks, rep.Changes, rep.BlockHash, rep.AppHash)
		printf(w, "  %d records proven; dataset digest %s\n", rep.Records, rep.Digest)
		for _, e := range rep.Exports {
			state := "identical to the ledger's export"
			if !e.Identical {
				state = "differs"
			}
			printf(w, "  export %s (%s): %s\n", e.Part, e.Format, state)
		}
		if rep.OK() {
			printf(w, "OK: the archive verifies from its genesis (%.1f s)\n", rep.Seconds)
			return nil
		}
		printf(w, "%d problem(s):\n", len(rep.Problems)+rep.Omitted)
		t := newTable(w)
		t.row("PART", "PLACE", "PROBLEM")
		for _, p := range rep.Problems {
			t.row(p.Part, p.Place, p.Problem)
		}
		t.flush()
		if rep.Omitted > 0 {
			printf(w, "... and %d more\n", rep.Omitted)
		}
		return nil
	}); err != nil {
		return err
	}
	if !rep.OK() {
		p := rep.Problems[0]
		return failf("%s does not verify: %d problem(s), the first in %s %s: %s", file, len(rep.Problems)+rep.Omitted, p.Part, p.Place, p.Problem)
	}
	return nil
}
