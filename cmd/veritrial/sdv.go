package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

func sdvCommand() *cli.Command {
	return &cli.Command{
		Name:      "sdv",
		Usage:     "mark an item, a form or a whole event as verified against source (monitor)",
		Category:  categoryWorkflow,
		UsageText: "veritrial sdv --from cro-monitor --study VT-HTN-201 --subject S1-001 --event SCR [--form VS [--item VS.HR]]",
		Description: `Source data verification by a CRO monitor or the sponsor's monitor or
medical monitor; site users are refused. The ledger records the form
version and values hash verified. A later correction of a verified value
removes its verification on the ledger, and the SDV trail names the
correcting transaction (veritrial show sdv).`,
		Flags: []cli.Flag{
			studyFlag(),
			subjectFlag(true, "the subject `ID` whose data was verified"),
			&cli.StringFlag{Name: "event", Required: true, Usage: "event OID"},
			&cli.IntFlag{Name: "repeat", Value: 1, Usage: "event repeat"},
			&cli.StringFlag{Name: "form", Usage: "form OID (default: every entered form of the event)"},
			&cli.StringFlag{Name: "item", Usage: "item OID (default: every item of the form)"},
			&cli.IntFlag{Name: "row", Usage: "row of a repeating group"},
			&cli.StringFlag{Name: "comment", Usage: "a note kept with the verification in the SDV trail"},
		},
		Action: func(c *cli.Context) error {
			m := &types.MsgVerify{Study: c.String("study"), Subject: c.String("subject"), Event: c.String("event"), EventRepeat: c.Int("repeat"),
				Form: c.String("form"), Item: c.String("item"), ItemRepeat: c.Int("row"), Comment: c.String("comment")}
			what := fmt.Sprintf("every form of subject %s at %s", m.Subject, m.Event)
			if m.Form != "" {
				what = fmt.Sprintf("form %s of subject %s at %s", m.Form, m.Subject, m.Event)
			}
			if m.Item != "" {
				what = fmt.Sprintf("item %s of ", types.ItemName(m.Item, m.ItemRepeat)) + what
			}
			return send(c, types.Msg{Verify: m}, "Verified against source: "+what)
		},
	}
}
