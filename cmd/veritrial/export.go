package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/veritrial/veritrial/app/export"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export a study's dataset from the ledger: Excel, CSV, CDISC ODM 1.3.2, CDISC Dataset-JSON 1.1 or PDF casebooks",
		Category:  categoryWorkflow,
		UsageText: "veritrial export --from sponsor-dm --study VT-HTN-201 --format xlsx --out htn201-locked.xlsx",
		Description: `Writes the study as the ledger holds it at one height: by default the
database lock height (the locked dataset); a study that is not locked is
exported at the latest height, and both the file and this command say so.
--height exports any committed height.

Formats: xlsx (one sheet per form, audit trail, queries, signatures, SDV,
subjects, dictionary, provenance, record list); csv (the same tables as
RFC 4180 files: a zip when --out ends in .zip, else a new directory); odm
(CDISC ODM 1.3.2, Transactional, Archival, with every AuditRecord and
Signature); dataset-json (a zip of CDISC Dataset-JSON 1.1 files: one
dataset per form with its item metadata from the protocol, and the other
tables as datasets of their own); pdf (certified-copy casebooks: one PDF
per subject with every form, its values, the change history with reasons,
queries, SDV and signatures, each page footed with the study, subject,
page, height and dataset digest; a zip when --out ends in .zip, else a new
directory; --site or --subject limits them to one site or one subject).
The same study and height give byte-identical files on any
node. Every row carries its ledger key and the file carries a digest of
every exported record: check it with veritrial audit verify-export.
Layouts: docs/EXPORT.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "study", Required: true, Usage: "study `ID`"},
			&cli.StringFlag{Name: "format", Required: true, Usage: "xlsx, csv, odm, dataset-json or pdf"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `PATH` (csv, pdf: a .zip file or a new directory)", TakesFile: true},
			&cli.StringFlag{Name: "site", Usage: "pdf: only the casebooks of the subjects of site `ORG`"},
			&cli.StringFlag{Name: "subject", Usage: "pdf: only the casebook of subject `ID`"},
			&cli.Int64Flag{Name: "height", Usage: "export the ledger as it was after block `H` (default: the database lock height, else the latest)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output file"},
		},
		Action: exportAction,
	}
}

// exportResult is what export prints.
type exportResult struct {
	Out    string `json:"out"`
	Format string `json:"format"`
	export.Summary
	ChainID string `json:"chain_id"`
	AppHash string `json:"app_hash"`
	Locked  bool   `json:"locked"`
}

func exportAction(c *cli.Context) error {
	study, format, out := c.String("study"), strings.ToLower(c.String("format")), c.String("out")
	if err := exactArgs(c); err != nil {
		return err
	}
	if c.Int64("height") < 0 {
		return usageErrorf("--height must be a committed height (1 or more)")
	}
	multi := format == export.FormatCSV || format == export.FormatPDF // a zip or a directory
	asDir := multi && !strings.EqualFold(filepath.Ext(out), ".zip")
	if format != export.FormatPDF && (c.String("site") != "" || c.String("subject") != "") {
		return usageErrorf("--site and --subject select casebooks: they go with --format pdf")
	}
	switch format {
	case export.FormatXLSX, export.FormatODM, export.FormatDatasetJSON:
	case export.FormatCSV, export.FormatPDF:
		if asDir {
			if _, err := os.Lstat(out); err == nil {
				return usageErrorf("%s already exists: a %s export creates a new directory (or give a .zip path)", out, strings.ToUpper(format))
			}
		}
	default:
		return usageErrorf("--format %q is not known: use %s", format, strings.Join(export.Formats, ", "))
	}
	if err := checkOutFree(out, c.Bool("force")); err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return inputErrorf("cannot write %s: directory %s does not exist", out, filepath.Dir(out))
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	if err := verifiedHeaders(c, cl); err != nil {
		return err
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r, blk, basis, err := export.NodeSource(ctx, cl, study, c.Int64("height"))
	if err != nil {
		return nodeError(err)
	}
	if basis == export.BasisNotLocked {
		what := "the latest height"
		if c.Int64("height") > 0 {
			what = "height"
		}
		note(c, "warning: study %s is NOT locked at %s %d: this is not a locked dataset (the file says so)", study, what, blk.Height)
	}
	bar := newExportProgress(stderr(c))
	opt := export.Options{Study: study, Block: blk, Version: version, TmpDir: filepath.Dir(out), Progress: bar.update,
		Site: c.String("site"), Subject: c.String("subject")}
	var sum *export.Summary
	if asDir {
		writeDir := export.WriteCSVDir
		if format == export.FormatPDF {
			writeDir = export.WritePDFDir
		}
		sum, err = writeDirAtomic(out, func(dir string) (*export.Summary, error) {
			return writeDir(ctx, r, opt, dir)
		})
	} else {
		sum, err = writeFileStreaming(out, c.Bool("force"), func(w io.Writer) (*export.Summary, error) {
			return export.Write(ctx, format, r, opt, w)
		})
	}
	bar.finish()
	if err != nil {
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return failf("export of study %s failed: %v", study, err)
	}
	res := exportResult{Out: out, Format: format, Summary: *sum, ChainID: blk.ChainID, AppHash: blk.AppHash, Locked: basis != export.BasisNotLocked}
	return emit(c, res, func(w io.Writer) error {
		printf(w, "Exported study %s at height %d (%s) to %s\n", study, sum.Height, sum.Basis, out)
		printf(w, "  %d subjects, %d forms, %d item values, %d audit trail rows, %d ledger records\n", sum.Subjects, sum.Forms, sum.Values, sum.Audit, sum.Records)
		printf(w, "  chain %s, app hash %s\n", blk.ChainID, blk.AppHash)
		printf(w, "  dataset digest %s\n", sum.Digest)
		printf(w, "Verify it with: veritrial audit verify-export %s\n", out)
		return nil
	})
}

// writeFileStreaming writes an export to path whole or not at all
// (writeFileWith) and returns its summary.
func writeFileStreaming(path string, force bool, write func(io.Writer) (*export.Summary, error)) (*export.Summary, error) {
	var sum *export.Summary
	err := writeFileWith(path, 0o644, force, func(w io.Writer) error {
		var err error
		sum, err = write(w)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// writeDirAtomic creates directory path whole or not at all: the files go
// to a temporary sibling directory renamed to path at the end.
func writeDirAtomic(path string, write func(dir string) (*export.Summary, error)) (*export.Summary, error) {
	parent := filepath.Dir(path)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, failf("cannot create %s: %v", path, pathError(err))
	}
	sum, err := write(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, failf("cannot create %s: %v", path, pathError(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.RemoveAll(tmp)
		return nil, failf("cannot create %s: %v", path, pathError(err))
	}
	syncDir(parent)
	return sum, nil
}

// exportProgress draws a progress bar on stderr: redrawn in place on a
// terminal, a line every tenth otherwise (logs stay short).
type exportProgress struct {
	w     io.Writer
	tty   bool
	phase string
	tenth int64
	drawn bool
	start time.Time
}

func newExportProgress(w io.Writer) *exportProgress {
	p := &exportProgress{w: w, tenth: -1, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *exportProgress) update(phase string, done, total int64) {
	if phase != p.phase {
		if p.tty && p.drawn {
			printf(p.w, "\n")
		}
		p.phase, p.tenth, p.drawn = phase, -1, false
	}
	var line string
	if total <= 0 {
		line = fmt.Sprintf("export: listing ledger records ... %d", done)
		if !p.tty {
			return
		}
	} else {
		const width = 30
		n := min(done*width/total, width)
		line = fmt.Sprintf("export: %-7s [%s%s] %d/%d records (%s)", phase, strings.Repeat("#", int(n)), strings.Repeat("-", width-int(n)), done, total, time.Since(p.start).Round(time.Second))
		if !p.tty {
			t := min(done*10/total, 10)
			if t == p.tenth {
				return
			}
			p.tenth = t
		}
	}
	p.drawn = true
	if p.tty {
		printf(p.w, "\r%s", line)
		return
	}
	printf(p.w, "%s\n", line)
}

func (p *exportProgress) finish() {
	if p.tty && p.drawn {
		printf(p.w, "\n")
	}
}
