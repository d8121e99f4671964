package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func scheduleShowCommand(with func(extra ...cli.Flag) []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "schedule",
		Usage: "subjects' visit calendars: target dates, windows, visit dates, what is due or overdue, and the deviations the ledger recorded",
		UsageText: `veritrial show schedule --from cro-monitor --study VT-HTN-201 --site site1 --as-of 2026-04-20
veritrial show schedule --from site1-coordinator --study VT-HTN-201 --subject S1-001 --output json`,
		Description: `Due and overdue are judged on --as-of (default: today's UTC date), never on
the ledger: the same height and date give the same answer. Out of window is
decided from the visit dates entered; the ledger records each such visit as
a deviation when its date is entered or corrected.`,
		Flags: with(studyFlag(),
			&cli.StringFlag{Name: "site", Usage: "only the subjects of this site `ID`"},
			subjectFlag(false, "only this subject `ID`"),
			&cli.StringFlag{Name: "as-of", Usage: "judge due and overdue visits on this `DATE` (YYYY-MM-DD; default: today, UTC)"},
		),
		Action: showSchedule,
	}
}

func showSchedule(c *cli.Context) error {
	if c.String("site") != "" && c.String("subject") != "" {
		return usageErrorf("give --site or --subject, not both")
	}
	asOf := c.String("as-of")
	if asOf == "" {
		asOf = time.Now().UTC().Format("2006-01-02")
	} else if _, ok := protocol.DateDays(asOf); !ok {
		return usageErrorf("--as-of %q is not a date (YYYY-MM-DD)", asOf)
	}
	s, err := newShow(c)
	if err != nil {
		return err
	}
	study, subject := c.String("study"), c.String("subject")
	schedules, err := s.rd.Schedules(s.ctx, study, c.String("site"), subject, asOf)
	if err != nil {
		return nodeError(err)
	}
	devs, err := s.rd.Deviations(s.ctx, study, subject)
	if err != nil {
		return nodeError(err)
	}
	if site := c.String("site"); site != "" {
		kept := devs[:0]
		for _, d := range devs {
			if d.Site == site {
				kept = append(kept, d)
			}
		}
		devs = kept
	}
	doc := map[string]any{"study": study, "as_of": asOf, "schedules": schedules, "deviations": devs, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		writeSchedules(w, study, asOf, schedules)
		writeDeviations(w, devs)
		proofLine(w, s.rd)
		return nil
	})
}

// writeSchedules prints one row per scheduled visit and the count of each
// status.
func writeSchedules(w io.Writer, study, asOf string, schedules []types.SubjectSchedule) {
	printf(w, "Schedule of study %s as of %s: %d subject(s)\n", study, asOf, len(schedules))
	counts := map[protocol.VisitStatus]int{}
	t := newTable(w)
	t.row("SUBJECT", "SITE", "EVENT", "DAY", "TARGET", "WINDOW", "VISIT DATE", "STATUS")
	for _, s := range schedules {
		for _, v := range s.Visits {
			counts[v.Status]++
			window := "-"
			if v.Target != "" {
				window = v.Earliest + " to " + v.Latest
				if v.Hard {
					window += " (hard)"
				}
			}
			status := string(v.Status)
			if v.DaysOff != 0 {
				status += fmt.Sprintf(" (%+d d)", v.DaysOff)
			}
			t.row(s.Subject, s.Site, v.Event, fmt.Sprint(v.Day), orDash(v.Target), window, orDash(v.Date), status)
		}
	}
	t.flush()
	printf(w, "Visits: %d overdue, %d due, %d out of window, %d entered, %d upcoming, %d pending (anchor not entered), %d no longer expected\n",
		counts[protocol.VisitOverdue], counts[protocol.VisitDue], counts[protocol.VisitOutOfWindow], counts[protocol.VisitEntered],
		counts[protocol.VisitUpcoming], counts[protocol.VisitPending], counts[protocol.VisitNotExpected])
}

// writeDeviations prints the deviations the ledger recorded.
func writeDeviations(w io.Writer, devs []types.Deviation) {
	if len(devs) == 0 {
		printf(w, "Deviations on the ledger: none\n")
		return
	}
	printf(w, "Deviations on the ledger:\n")
	t := newTable(w)
	t.row("SUBJECT", "SITE", "EVENT", "VISIT DATE", "WINDOW", "DAYS OFF", "STATUS", "LAST CHANGE")
	for _, d := range devs {
		last := "-"
		if n := len(d.History); n > 0 {
			h := d.History[n-1]
			last = fmt.Sprintf("%s at height %d by %s", h.Action, h.Stamp.Height, h.Stamp.Signer)
		}
		t.row(d.Subject, d.Site, d.Event, d.VisitDate, d.Earliest+" to "+d.Latest, fmt.Sprintf("%+d", d.DaysOff), string(d.Status), last)
	}
	t.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
