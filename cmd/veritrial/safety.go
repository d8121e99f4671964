package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/types"
)

func safetyCommand() *cli.Command {
	return &cli.Command{
		Name:     "safety",
		Usage:    "serious adverse events: acknowledge them (the sponsor's medical monitor)",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "acknowledge",
				Usage:     "acknowledge a serious adverse event, which stops its clock (medical monitor)",
				UsageText: `veritrial safety acknowledge --from sponsor-mm --study VT-HTN-201 --subject S1-001 --event W4 --form AE --row 1 --comment "case VT-0001 opened"`,
				Description: `An adverse event form whose seriousness item says yes opens a serious
adverse event record per row; the block time of that form version starts its
clock. veritrial show safety lists them, with those unacknowledged past 24 hours.`,
				Flags: append(formKeyFlags(),
					&cli.IntFlag{Name: "row", Usage: "the adverse event's `ROW` (0 when the seriousness item is not in a repeating group)"},
					&cli.StringFlag{Name: "comment", Usage: "a note for the trail (a safety database case number ...)"}),
				Action: func(c *cli.Context) error {
					m := &types.MsgAcknowledgeSAE{FormKey: formKeyOf(c), Row: c.Int("row"), Comment: c.String("comment")}
					return send(c, types.Msg{AcknowledgeSAE: m}, fmt.Sprintf("Acknowledged the serious adverse event of subject %s at %s/%d, form %s row %d", m.Subject, m.Event, m.EventRepeat, m.Form, m.Row))
				},
			},
		},
	}
}

// safetyShowCommand is veritrial show safety.
func safetyShowCommand(with func(extra ...cli.Flag) []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "safety",
		Usage:     "a study's serious adverse events: clock start, time to acknowledgement, those past 24 hours without one",
		UsageText: "veritrial show safety --from sponsor-mm --study VT-HTN-201 [--subject S1-001] [--as-of 2026-04-20T12:00:00Z] --prove",
		Description: `The clocks are judged at --as-of (default: the time of the node's latest
block), never by the ledger. Only investigators, coordinators, medical
monitors, data managers and auditors read SAE records.`,
		Flags: with(studyFlag(), subjectFlag(false, "only this subject `ID`"),
			&cli.StringFlag{Name: "as-of", Usage: "judge the clocks at this `TIME` (RFC 3339, e.g. 2026-04-20T12:00:00Z; default: the latest block's time)"}),
		Action: showSafety,
	}
}

func showSafety(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	var asOf time.Time
	if v := c.String("as-of"); v != "" {
		if asOf, err = time.Parse(time.RFC3339, v); err != nil {
			return usageErrorf("--as-of %q is not a time: write it as RFC 3339, e.g. 2026-04-20T12:00:00Z", v)
		}
	} else {
		cl, err := ledgerClient(c)
		if err != nil {
			return err
		}
		st, err := cl.Status(s.ctx)
		if err != nil {
			return nodeError(err)
		}
		asOf = st.LatestBlockTime
	}
	saes, err := s.rd.SAEs(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	safety, err := audit.SafetyOf(c.String("study"), saes, asOf)
	if err != nil {
		return inputErrorf("%v", err)
	}
	doc := map[string]any{"safety": safety, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		writeSafety(w, safety)
		proofLine(w, s.rd)
		return nil
	})
}

// writeSafety prints a study's serious adverse events and their clocks.
func writeSafety(w io.Writer, s *audit.Safety) {
	printf(w, "Serious adverse events of study %s as of %s: %d, %d unacknowledged, %d past %d hours without acknowledgement, %d acknowledged late\n",
		s.Study, s.AsOf, len(s.SAEs), s.Unacknowledged, s.Overdue, types.SAEReportHours, s.Late)
	if len(s.SAEs) == 0 {
		return
	}
	t := newTable(w)
	t.row("SITE", "SUBJECT", "EVENT", "FORM", "ROW", "CLOCK START", "ACKNOWLEDGED", "TIME TO ACK", "FOLLOW-UPS", "STATUS")
	for _, e := range s.SAEs {
		ack, took, status := "-", "-", "open "+audit.Duration(e.OpenMinutes)
		if e.Acknowledged != nil {
			ack = fmt.Sprintf("%s by %s", e.Acknowledged.Time, e.Acknowledged.Signer)
			took, status = audit.Duration(e.MinutesToAck), "acknowledged"
		}
		switch {
		case e.Overdue:
			status = fmt.Sprintf("OVERDUE (open %s)", audit.Duration(e.OpenMinutes))
		case e.Late:
			status = "acknowledged LATE"
		}
		t.row(e.Site, e.Subject, fmt.Sprintf("%s/%d", e.Event, e.EventRepeat), e.Form, fmt.Sprint(e.Row), e.Opened.Time, ack, took, fmt.Sprint(len(e.FollowUps)), status)
	}
	t.flush()
}
