package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

func labRangesCommand() *cli.Command {
	return &cli.Command{
		Name:     "labranges",
		Usage:    "register and read a study's reference ranges for lab items",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "register the next version of the reference-range table (sponsor data manager)",
				ArgsUsage: "TABLE_FILE",
				UsageText: `veritrial labranges set --from sponsor-dm --study VT-HTN-201 --reason "central laboratory ranges 2026" ranges.yaml`,
				Description: `The table replaces the one in force; every version stays on the ledger.
A YAML or JSON file holds the items that give the lab, the subject's sex
and age, and the ranges:

  sex_item: DM.SEX
  age_item: DM.AGE
  ranges:
    - {item: LB.HGB, sex: "1", low: "13.0", high: "17.0", unit: g/dL}
    - {item: LB.ALT, age_max: 64, high: "40", unit: U/L}

A CSV file holds the ranges, one a row under the header
item,lab,sex,age_min,age_max,low,high,unit (columns in any order, empty
cells for "any"), and --lab-item, --sex-item and --age-item name the
items. Those flags also replace a YAML or JSON file's items.

A value entered outside its range is flagged on the form, not queried;
the investigator assesses it (veritrial form assess). docs/LABRANGES.md
has the rules.`,
				Flags: []cli.Flag{studyFlag(),
					&cli.StringFlag{Name: "reason", Required: true, Usage: "why the table changes (kept with it)"},
					&cli.StringFlag{Name: "lab-item", Usage: "the item `OID` that gives the lab a value was measured by"},
					&cli.StringFlag{Name: "sex-item", Usage: "the item `OID` that gives the subject's sex (e.g. DM.SEX)"},
					&cli.StringFlag{Name: "age-item", Usage: "the item `OID` that gives the subject's age in years (e.g. DM.AGE)"},
				},
				Action: func(c *cli.Context) error {
					if err := exactArgs(c, "TABLE_FILE"); err != nil {
						return err
					}
					path := c.Args().First()
					data, err := readInputFile(path, "reference-range table", maxSmallFile)
					if err != nil {
						return err
					}
					t, err := decodeLabRanges(data, filepath.Ext(path))
					if err != nil {
						return inputErrorf("%s: %v", path, err)
					}
					for _, f := range []struct {
						flag string
						item *string
					}{{"lab-item", &t.LabItem}, {"sex-item", &t.SexItem}, {"age-item", &t.AgeItem}} {
						if c.IsSet(f.flag) {
							*f.item = c.String(f.flag)
						}
					}
					if e := t.Check(); e != nil {
						return inputErrorf("%s: %s", path, e.Msg)
					}
					m := &types.MsgSetLabRanges{Study: c.String("study"), LabRanges: *t, Reason: c.String("reason")}
					return sendWrite(c, write{msg: types.Msg{SetLabRanges: m}, done: func(_ context.Context, _ *client.Client, res *client.Result) string {
						return fmt.Sprintf("Registered version %s of the reference-range table of study %s (%d ranges)", res.Attr("lab_ranges"), m.Study, len(t.Ranges))
					}})
				},
			},
			{
				Name:      "show",
				Usage:     "a study's reference-range table: the one in force or an earlier version",
				UsageText: "veritrial labranges show --from site1-investigator --study VT-HTN-201 [--version 1] --prove",
				Flags: append([]cli.Flag{studyFlag(),
					&cli.IntFlag{Name: "version", Usage: "the table version `N` to show", DefaultText: "the one in force"}}, readFlags()...),
				Action: showLabRanges,
			},
		},
	}
}

// labCSVColumns are the columns of a reference-range CSV file.
var labCSVColumns = []string{"item", "lab", "sex", "age_min", "age_max", "low", "high", "unit"}

// decodeLabRanges reads a table from YAML or JSON, or its ranges from CSV
// (by the file's extension); unknown fields and columns are refused.
func decodeLabRanges(data []byte, ext string) (*types.LabRanges, error) {
	var t types.LabRanges
	switch strings.ToLower(ext) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, err
		}
	case ".csv":
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("the file is empty; its first row names the columns %s", strings.Join(labCSVColumns, ","))
		}
		for n, row := range rows[1:] {
			r, err := labRangeRow(rows[0], row)
			if err != nil {
				return nil, fmt.Errorf("row %d: %v", n+2, err)
			}
			t.Ranges = append(t.Ranges, r)
		}
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&t); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// labRangeRow reads one CSV row under header.
func labRangeRow(header, row []string) (types.LabRange, error) {
	var r types.LabRange
	for i, col := range header {
		v := strings.TrimSpace(row[i])
		switch strings.ToLower(strings.TrimSpace(col)) {
		case "item":
			r.Item = v
		case "lab":
			r.Lab = v
		case "sex":
			r.Sex = v
		case "low":
			r.Low = v
		case "high":
			r.High = v
		case "unit":
			r.Unit = v
		case "age_min", "age_max":
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return r, fmt.Errorf("%s %q is not a whole number of years", col, v)
			}
			if strings.EqualFold(strings.TrimSpace(col), "age_min") {
				r.AgeMin = &n
			} else {
				r.AgeMax = &n
			}
		default:
			return r, fmt.Errorf("unknown column %q; the columns are %s", col, strings.Join(labCSVColumns, ","))
		}
	}
	return r, nil
}

func showLabRanges(c *cli.Context) error {
	s, st, err := newShowStudy(c)
	if err != nil {
		return err
	}
	n := st.LabRanges
	if c.IsSet("version") {
		n = c.Int("version")
	}
	var t *types.LabRangeTable
	if n != 0 {
		if t, err = s.rd.LabRangeTable(s.ctx, st.ID, n); err != nil {
			return nodeError(err)
		}
	}
	doc := map[string]any{"table": t, "in_force": st.LabRanges, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		if t == nil {
			printf(w, "Study %s has no reference-range table\n", st.ID)
			proofLine(w, s.rd)
			return nil
		}
		state := "in force"
		if t.Version != st.LabRanges {
			state = fmt.Sprintf("replaced; version %d is in force", st.LabRanges)
		}
		printf(w, "Reference-range table of study %s: version %d (%s), checked against protocol version %d\n", st.ID, t.Version, state, t.ProtocolVersion)
		printf(w, "Registered %s\nReason: %s\n", stampText(t.Stamp), t.Reason)
		printf(w, "Lab item: %s; sex item: %s; age item: %s\n", orText(t.LabItem, "none"), orText(t.SexItem, "none"), orText(t.AgeItem, "none"))
		tab := newTable(w, "ITEM", "LAB", "SEX", "AGE", "RANGE")
		for _, r := range t.Ranges {
			tab.row(r.Item, orText(r.Lab, "any"), orText(r.Sex, "any"), r.AgeBand(), r.Bounds())
		}
		tab.flush()
		proofLine(w, s.rd)
		return nil
	})
}

// orText is s, or dflt when s is empty.
func orText(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

func formAssessCommand() *cli.Command {
	return &cli.Command{
		Name:      "assess",
		Usage:     "assess a lab value outside its reference range: clinically significant or not (investigator)",
		UsageText: `veritrial form assess --from site1-investigator --study VT-HTN-201 --subject S1-001 --event SCR --form LB --item LB.ALT --version 1 --significant yes --comment "AE 1 reported"`,
		Description: `veritrial show form lists the form's flagged lab values and their
assessments. --version is the form version you looked at: the ledger
refuses the assessment if the form changed since. A correction that
changes the value asks for a new assessment.`,
		Flags: append(formKeyFlags(),
			&cli.StringFlag{Name: "item", Required: true, Usage: "the lab item `OID`"},
			&cli.IntFlag{Name: "row", Usage: "row of a repeating group"},
			&cli.IntFlag{Name: "version", Required: true, Usage: "the form version `N` assessed (veritrial show form prints it)"},
			&cli.StringFlag{Name: "significant", Required: true, Usage: "yes or no: whether the value is clinically significant"},
			&cli.StringFlag{Name: "comment", Usage: "the assessment's comment (required when clinically significant)"},
		),
		Action: func(c *cli.Context) error {
			var significant bool
			switch c.String("significant") {
			case "yes":
				significant = true
			case "no":
			default:
				return usageErrorf("--significant is yes or no, not %q", c.String("significant"))
			}
			m := &types.MsgAssessLabValue{FormKey: formKeyOf(c), Item: c.String("item"), ItemRepeat: c.Int("row"), FormVersion: c.Int("version"),
				Significant: significant, Comment: c.String("comment")}
			return send(c, types.Msg{AssessLabValue: m}, fmt.Sprintf("Assessed %s of form %s (version %d) of subject %s at %s: %s",
				types.ItemName(m.Item, m.ItemRepeat), m.Form, m.FormVersion, m.Subject, m.Event, types.Significance(m.Significant)))
		},
	}
}

// writeLabFlags lists the flagged lab values of form r with their
// assessments.
func writeLabFlags(w io.Writer, r *types.FormRecord, assessed []types.LabAssessments) {
	printf(w, "Lab values outside their reference range:\n")
	t := indented(w, "  ", "ITEM", "VALUE", "RANGE", "FLAG", "ASSESSMENT")
	for _, f := range r.LabFlags {
		rg := types.LabRange{Low: f.Low, High: f.High, Unit: f.Unit}
		state := "needs assessment"
		la := types.AssessmentsOf(assessed, r.FormKey, f)
		if a := la.For(f); a != nil {
			state = fmt.Sprintf("%s (form version %d, %s)", types.Significance(a.Significant), a.FormVersion, stampText(a.Stamp))
			if a.Comment != "" {
				state += ": " + a.Comment
			}
		} else if la != nil {
			state = fmt.Sprintf("needs assessment again (the value changed in version %d)", f.Since)
		}
		t.row(types.ItemName(f.Item, f.Repeat), f.Value, fmt.Sprintf("%s (table %d)", rg.Bounds(), f.Table), strings.ToUpper(f.Direction), state)
	}
	t.flush()
}

// writeLabToAssess lists, per form, the flagged lab values of a subject's
// forms that need the investigator's assessment.
func writeLabToAssess(w io.Writer, forms []types.FormRecord, assessed []types.LabAssessments) {
	for i := range forms {
		r := &forms[i]
		var items []string
		for _, f := range r.LabFlags {
			if types.AssessmentsOf(assessed, r.FormKey, f).For(f) == nil {
				items = append(items, types.ItemName(f.Item, f.Repeat))
			}
		}
		if len(items) > 0 {
			printf(w, "Lab values to assess on %s at %s (repeat %d), version %d: %s\n", r.Form, r.Event, r.EventRepeat, r.Version, strings.Join(items, ", "))
		}
	}
}
