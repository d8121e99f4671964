package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// formKeyFlags are the flags addressing one form instance.
func formKeyFlags() []cli.Flag {
	return []cli.Flag{
		studyFlag(),
		subjectFlag(true, "the subject `ID`"),
		&cli.StringFlag{Name: "event", Required: true, Usage: "event OID (SCR, D1, W4 ...)"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "event repeat (1 unless the event repeats)"},
		&cli.StringFlag{Name: "form", Required: true, Usage: "form OID (DM, VS, AE ...)"},
	}
}

func formKeyOf(c *cli.Context) types.FormKey {
	return types.FormKey{Study: c.String("study"), Subject: c.String("subject"), Event: c.String("event"), EventRepeat: c.Int("repeat"), Form: c.String("form")}
}

// parseValues reads ITEM=VALUE (or ITEM[row]=VALUE for repeating groups)
// arguments and an optional --file (JSON or YAML: a list of {item, repeat,
// value} or a map ITEM: VALUE).
func parseValues(c *cli.Context) ([]protocol.ItemValue, error) {
	var out []protocol.ItemValue
	if f := c.String("file"); f != "" {
		data, err := readInputFile(f, "values file", maxSmallFile)
		if err != nil {
			return nil, err
		}
		vals, err := decodeValuesFile(data, filepath.Ext(f))
		if err != nil {
			return nil, inputErrorf("%s: %v", f, err)
		}
		out = append(out, vals...)
	}
	for _, a := range c.Args().Slice() {
		eq := strings.IndexByte(a, '=')
		if eq <= 0 {
			return nil, usageErrorf("argument %q is not ITEM=VALUE (write VS.SYSBP=128, or AE.TERM[2]=Headache for row 2 of a repeating group)", a)
		}
		item, val := a[:eq], a[eq+1:]
		rep := 0
		if i := strings.IndexByte(item, '['); i > 0 && strings.HasSuffix(item, "]") {
			n, err := strconv.Atoi(item[i+1 : len(item)-1])
			if err != nil || n < 1 {
				return nil, usageErrorf("argument %q: the row in brackets must be a number from 1", a)
			}
			item, rep = item[:i], n
		}
		out = append(out, protocol.ItemValue{Item: item, Repeat: rep, Value: val})
	}
	if len(out) == 0 {
		return nil, usageErrorf("no values given: pass ITEM=VALUE arguments or --file values.yaml")
	}
	return out, nil
}

func decodeValuesFile(data []byte, ext string) ([]protocol.ItemValue, error) {
	var list []protocol.ItemValue
	var m map[string]string
	if strings.EqualFold(ext, ".json") {
		if err := json.Unmarshal(data, &list); err == nil {
			return list, nil
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("expected a JSON list of {\"item\",\"repeat\",\"value\"} or an object ITEM: VALUE: %v", err)
		}
	} else {
		var raw []map[string]any
		if err := yaml.Unmarshal(data, &raw); err == nil && raw != nil {
			for _, r := range raw {
				v := protocol.ItemValue{Item: fmt.Sprint(r["item"]), Value: fmt.Sprint(r["value"])}
				if rep, ok := r["repeat"].(int); ok {
					v.Repeat = rep
				}
				list = append(list, v)
			}
			return list, nil
		}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("expected a YAML list of {item, repeat, value} or a map ITEM: VALUE: %v", err)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		list = append(list, protocol.ItemValue{Item: k, Value: m[k]})
	}
	return list, nil
}

func formCommand() *cli.Command {
	fileFlag := &cli.StringFlag{Name: "file", Usage: "values from a JSON or YAML file"}
	return &cli.Command{
		Name:     "form",
		Usage:    "enter and correct case report forms",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "submit",
				Usage:     "enter a form for the first time (site)",
				ArgsUsage: "ITEM=VALUE...",
				UsageText: "veritrial form submit --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS VS.DATE=2026-01-12 VS.POS=1 VS.SYSBP=148 VS.DIABP=92 VS.HR=72",
				Description: `Every validator runs the protocol's edit checks: hard problems reject the
form with every problem listed; soft problems are accepted and recorded as
warnings that become data queries.`,
				Flags: append(formKeyFlags(), fileFlag),
				Action: func(c *cli.Context) error {
					vals, err := parseValues(c)
					if err != nil {
						return err
					}
					m := &types.MsgSubmitForm{FormKey: formKeyOf(c), Values: vals}
					return send(c, types.Msg{SubmitForm: m}, fmt.Sprintf("Entered form %s for subject %s at %s", m.Form, m.Subject, m.Event))
				},
			},
			{
				Name:      "correct",
				Usage:     "change items of an entered form, with a reason (site)",
				ArgsUsage: "ITEM=VALUE...",
				UsageText: `veritrial form correct --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS --reason "transcription error" VS.SYSBP=138`,
				Description: `The previous values stay on the ledger; the form gets a new version. An
empty value (ITEM=) clears an item.`,
				Flags: append(formKeyFlags(), fileFlag, &cli.StringFlag{Name: "reason", Required: true, Usage: "reason for change"},
					&cli.IntSliceFlag{Name: "resolves", Usage: "number of an open data query of this form the correction answers (repeatable)"}),
				Action: func(c *cli.Context) error {
					vals, err := parseValues(c)
					if err != nil {
						return err
					}
					m := &types.MsgCorrectForm{FormKey: formKeyOf(c), Changes: vals, Reason: c.String("reason"), Resolves: c.IntSlice("resolves")}
					return send(c, types.Msg{CorrectForm: m}, fmt.Sprintf("Corrected form %s for subject %s at %s", m.Form, m.Subject, m.Event))
				},
			},
			formTemplateCommand(), formImportCommand(), formAssessCommand(),
		},
	}
}
