package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/protocol"
	"github.com/veritrial/veritrial/protocol/workbook"
)

func protocolCommand() *cli.Command {
	return &cli.Command{
		Name:     "protocol",
		Category: categoryProtocol,
		Usage:    "check, compare and write protocol definitions (YAML, REDCap CSV, XLSX)",
		UsageText: `veritrial protocol check|diff|template|example [arguments...]

Example:
   veritrial protocol example --out htn201.yaml
   veritrial protocol check htn201.yaml`,
		Description: `Works on files only; no node is needed. A protocol is read from a .yaml/.yml/
.json file, a REDCap data dictionary .csv (study metadata and events from
--base) or a CRF specification workbook .xlsx.`,
		Subcommands: []*cli.Command{
			protocolCheckCommand(), protocolDiffCommand(), protocolTemplateCommand(), protocolExampleCommand(),
		},
	}
}

// baseFlag names the protocol a REDCap dictionary takes its study
// metadata and events from.
func baseFlag() cli.Flag {
	return &cli.StringFlag{Name: "base", Usage: "YAML protocol supplying study metadata and events (it may hold only those) when `FILE` is a REDCap .csv", TakesFile: true}
}

// loadBase loads the --base protocol, or returns nil when none is given.
func loadBase(c *cli.Context) (*protocol.Protocol, error) {
	b, err := nonEmptyFlag(c, "base")
	if err != nil || b == "" {
		return nil, err
	}
	if err := checkReadable(b, "--base protocol file"); err != nil {
		return nil, err
	}
	bp, err := workbook.LoadBaseFile(b)
	if err != nil {
		return nil, inputErrorf("--base %s is not a usable base protocol:\n%v", b, err)
	}
	return bp, nil
}

// loadProtocol loads a protocol file (with the --base protocol, if given)
// and compiles it. Load errors list every problem found, one per line,
// with file positions.
func loadProtocol(c *cli.Context, path string) (*protocol.Compiled, []protocol.Warning, error) {
	base, err := loadBase(c)
	if err != nil {
		return nil, nil, err
	}
	if err := checkReadable(path, "protocol file"); err != nil {
		return nil, nil, err
	}
	p, warns, err := workbook.LoadFile(path, base)
	if err != nil {
		return nil, nil, inputErrorf("%s is not a valid protocol:\n%v", path, err)
	}
	cp, err := protocol.Compile(p)
	if err != nil {
		return nil, nil, inputErrorf("%s is not a valid protocol:\n%v", path, err)
	}
	return cp, warns, nil
}

// protocolSummary is what veritrial protocol check reports.
type protocolSummary struct {
	File      string `json:"file"`
	Study     string `json:"study"`
	Title     string `json:"title"`
	Version   string `json:"version"`
	Events    int    `json:"events"`
	Forms     int    `json:"forms"`
	Items     int    `json:"items"`
	CodeLists int    `json:"codelists"`
	// SubjectIDs is the pattern every subject ID must match; SubjectIDsDefault
	// is true when the protocol declares none and the default applies.
	SubjectIDs        string             `json:"subject_id_pattern"`
	SubjectIDsDefault bool               `json:"subject_id_pattern_default"`
	Warnings          []protocol.Warning `json:"warnings"`
	Fingerprint       string             `json:"fingerprint"`
}

func summarize(path string, c *protocol.Compiled, warns []protocol.Warning) (*protocolSummary, error) {
	p := c.Protocol()
	fp, err := p.Fingerprint()
	if err != nil {
		return nil, inputErrorf("cannot fingerprint %s: %v", path, err)
	}
	s := &protocolSummary{
		File: path, Study: p.Study.ID, Title: p.Study.Title, Version: p.Study.Version,
		Events: len(p.Events), Forms: len(p.Forms), CodeLists: len(p.CodeLists),
		SubjectIDs: c.SubjectIDPattern(), SubjectIDsDefault: c.SubjectIDDefault(),
		Warnings: warns, Fingerprint: fp,
	}
	if s.Warnings == nil {
		s.Warnings = []protocol.Warning{}
	}
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			s.Items += len(g.Items)
		}
	}
	return s, nil
}

func protocolCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "load a protocol, report its contents, warnings and fingerprint",
		ArgsUsage: "FILE",
		UsageText: `veritrial protocol check FILE [--base PROTOCOL.yaml]

Example:
   veritrial protocol check htn201.yaml
   veritrial protocol check dictionary.csv --base htn201.yaml --output json`,
		Description: `Prints the study, version, the number of events, forms, items and code lists,
the pattern every subject ID must match (enrolment refuses any other),
every warning (something imported inexactly, or a protocol that cannot
collect data as written, such as one in which no event collects a form) and
the fingerprint the ledger will record. Exits non-zero, listing every problem with its position, if the
file is not a valid protocol.`,
		Flags: []cli.Flag{baseFlag()},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "file"); err != nil {
				return err
			}
			path := c.Args().First()
			p, warns, err := loadProtocol(c, path)
			if err != nil {
				return err
			}
			s, err := summarize(path, p, warns)
			if err != nil {
				return err
			}
			return emit(c, s, func(w io.Writer) error {
				t := newTable(w)
				t.row("File", s.File)
				t.row("Study", fmt.Sprintf("%s  %s", s.Study, s.Title))
				t.row("Version", s.Version)
				t.row("Events", fmt.Sprint(s.Events))
				t.row("Forms", fmt.Sprint(s.Forms))
				t.row("Items", fmt.Sprint(s.Items))
				t.row("Code lists", fmt.Sprint(s.CodeLists))
				ids := s.SubjectIDs
				if s.SubjectIDsDefault {
					ids += "  (the default: the protocol declares no subject_id_pattern)"
				}
				t.row("Subject IDs", ids)
				t.row("Warnings", fmt.Sprint(len(s.Warnings)))
				t.row("Fingerprint", s.Fingerprint)
				if err := t.flush(); err != nil {
					return err
				}
				for _, wn := range s.Warnings {
					printf(w, "warning: %s\n", wn.String())
				}
				printf(w, "The protocol is valid.\n")
				return nil
			})
		},
	}
}

func protocolDiffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show what an amendment changes and whether data already entered stays valid",
		ArgsUsage: "OLD NEW",
		UsageText: `veritrial protocol diff OLD NEW [--base PROTOCOL.yaml]

Example:
   veritrial protocol diff htn201-v1.yaml htn201-v2.yaml`,
		Description: `Loads both versions (any format; --base applies to REDCap .csv files) and
prints the amendment: every added, removed and changed event, form, item and
code list, with the compatibility verdict for data already entered.`,
		Flags: []cli.Flag{baseFlag()},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "old", "new"); err != nil {
				return err
			}
			oldC, _, err := loadProtocol(c, c.Args().Get(0))
			if err != nil {
				return err
			}
			newC, _, err := loadProtocol(c, c.Args().Get(1))
			if err != nil {
				return err
			}
			a := protocol.Diff(oldC.Protocol(), newC.Protocol())
			if a == nil {
				return failf("cannot compare %s and %s", c.Args().Get(0), c.Args().Get(1))
			}
			return emit(c, a, func(w io.Writer) error {
				for _, line := range strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n") {
					printf(w, "%s\n", line)
				}
				return nil
			})
		},
	}
}

func protocolTemplateCommand() *cli.Command {
	return &cli.Command{
		Name:  "template",
		Usage: "write a blank CRF specification workbook to fill in",
		UsageText: `veritrial protocol template --out FILE.xlsx [--force]

Example:
   veritrial protocol template --out my-study.xlsx`,
		Description: `The workbook has one sheet per part of a protocol (study, events, forms, items,
code lists, edit checks), notes on each column and drop-downs for the fixed
vocabularies. Fill it in, then run veritrial protocol check on it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "the .xlsx file to write", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "replace --out if it exists"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c); err != nil {
				return err
			}
			out := c.String("out")
			if out == "" {
				return usageErrorf("missing --out FILE.xlsx: the workbook cannot be printed")
			}
			if !strings.EqualFold(filepath.Ext(out), ".xlsx") {
				return usageErrorf("--out %s must end in .xlsx", out)
			}
			if err := checkOutFree(out, c.Bool("force")); err != nil {
				return err
			}
			var b bytes.Buffer
			if err := workbook.WriteTemplate(&b); err != nil {
				return failf("cannot build the template: %v", err)
			}
			if err := writeFileAtomic(out, b.Bytes(), 0o644, c.Bool("force")); err != nil {
				return err
			}
			return emit(c, map[string]any{"file": out, "bytes": b.Len()}, func(w io.Writer) error {
				printf(w, "Wrote the CRF specification template to %s.\n", out)
				return nil
			})
		},
	}
}

// exampleFormats maps --format values to the extension LoadFile needs to
// read the file back.
var exampleFormats = map[string]string{"yaml": ".yaml", "redcap": ".csv", "xlsx": ".xlsx"}

func protocolExampleCommand() *cli.Command {
	return &cli.Command{
		Name:  "example",
		Usage: "write the example protocol VT-HTN-201 (a fictitious phase II trial)",
		UsageText: `veritrial protocol example [--out FILE] [--format yaml|redcap|xlsx] [--force]

Example:
   veritrial protocol example --out htn201.yaml
   veritrial protocol example --out htn201.xlsx
   veritrial protocol example --format redcap --out htn201-dictionary.csv`,
		Description: `--format picks the door: yaml (the native, documented source), redcap (a REDCap
data dictionary; check it with --base htn201.yaml) or xlsx (a CRF specification
workbook). Without --format it follows the --out extension (.yaml, .csv,
.xlsx), else yaml. Without --out, yaml and redcap are printed on stdout.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "file to write", TakesFile: true},
			&cli.StringFlag{Name: "format", Usage: "yaml, redcap or xlsx", DefaultText: "from --out, else yaml"},
			&cli.BoolFlag{Name: "force", Usage: "replace --out if it exists"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c); err != nil {
				return err
			}
			out := c.String("out")
			ext := strings.ToLower(filepath.Ext(out))
			format := strings.ToLower(c.String("format"))
			if format == "" {
				switch ext {
				case ".csv":
					format = "redcap"
				case ".xlsx":
					format = "xlsx"
				default:
					format = "yaml"
				}
			}
			want, ok := exampleFormats[format]
			if !ok {
				return usageErrorf("--format %q is not known: use yaml, redcap or xlsx", format)
			}
			if out != "" && ext != want && !(want == ".yaml" && ext == ".yml") {
				return usageErrorf("--out %s does not end in %s, which %s files need to be read back", out, want, format)
			}
			if out == "" && format == "xlsx" {
				return usageErrorf("missing --out FILE.xlsx: a workbook cannot be printed")
			}
			data, err := workbook.ExampleBytes(format)
			if err != nil {
				return failf("cannot build the example: %v", err)
			}
			if out == "" {
				return emit(c, map[string]any{"format": format, "content": string(data)}, func(w io.Writer) error {
					return writeVerbatim(w, data)
				})
			}
			if err := writeFileAtomic(out, data, 0o644, c.Bool("force")); err != nil {
				return err
			}
			return emit(c, map[string]any{"file": out, "format": format, "bytes": len(data)}, func(w io.Writer) error {
				printf(w, "Wrote the example protocol (%s) to %s.\n", format, out)
				return nil
			})
		},
	}
}
