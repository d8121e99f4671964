package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

func queryActionCommand(name, usage, example string, kind types.Kind, textRequired bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: example,
		Flags: []cli.Flag{
			studyFlag(),
			&cli.IntFlag{Name: "number", Aliases: []string{"n"}, Required: true, Usage: "query number (veritrial query list shows them)"},
			&cli.StringFlag{Name: "text", Required: textRequired, Usage: "comment for the query's thread"},
		},
		Action: func(c *cli.Context) error {
			a := &types.MsgQueryAction{Study: c.String("study"), Number: c.Int("number"), Text: c.String("text")}
			m, _ := types.QueryActionMsg(kind, a)
			return send(c, m, fmt.Sprintf("Query %d of study %s: %s", a.Number, a.Study, types.QueryActionDone(name)))
		},
	}
}

func queryCommand() *cli.Command {
	return &cli.Command{
		Name:     "query",
		Usage:    "data queries: raise, answer, close, reopen, cancel, list",
		Category: categoryWorkflow,
		Description: `A data query asks the site about an item or a form of a subject's casebook.
States: open -> answered (by the subject's site, with a comment, or by a
correction: veritrial form correct --resolves N) -> closed by the raiser's
organisation, or reopened; an open query can be cancelled by its raiser.
The ledger itself raises a query for every soft edit-check warning.`,
		Subcommands: []*cli.Command{
			{
				Name:  "open",
				Usage: "raise a query on an item or a form, or on a missing form or overdue visit (sponsor data manager or medical monitor, CRO monitor)",
				UsageText: `veritrial query open --from cro-monitor --study VT-HTN-201 --subject S1-001 --event SCR --form VS --item VS.HR --text "Source shows 78 bpm; please check"
veritrial query open --from cro-monitor --study VT-HTN-201 --subject S1-001 --event W4 --form VS --missing --text "Week 4 overdue: please enter or explain"`,
				Flags: append(formKeyFlags(),
					&cli.StringFlag{Name: "item", Usage: "item OID (default: the whole form)"},
					&cli.IntFlag{Name: "row", Usage: "row of a repeating group"},
					&cli.StringFlag{Name: "text", Required: true, Usage: "the question to the site"},
					&cli.BoolFlag{Name: "missing", Usage: "the form has not been entered: query its absence (an overdue visit through the form that carries its date, as show schedule names it)"},
				),
				Action: func(c *cli.Context) error {
					m := &types.MsgOpenQuery{FormKey: formKeyOf(c), Item: c.String("item"), ItemRepeat: c.Int("row"), Text: c.String("text"), Missing: c.Bool("missing")}
					return sendWrite(c, write{msg: types.Msg{QueryOpen: m}, done: func(_ context.Context, _ *client.Client, res *client.Result) string {
						what := "form"
						if m.Missing {
							what = "missing form"
						}
						return fmt.Sprintf("Raised query %s on %s %s of subject %s at %s", res.Attr("query"), what, m.Form, m.Subject, m.Event)
					}})
				},
			},
			queryActionCommand("answer", "answer a query with a comment (site investigator or coordinator)",
				`veritrial query answer --from site1-coordinator --study VT-HTN-201 --number 3 --text "Source checked: 72 is correct"`, types.KindQueryAnswer, true),
			queryActionCommand("close", "close an answered query (the raiser's organisation)",
				`veritrial query close --from cro-monitor --study VT-HTN-201 --number 3`, types.KindQueryClose, false),
			queryActionCommand("reopen", "reopen an answered or closed query (the raiser's organisation)",
				`veritrial query reopen --from cro-monitor --study VT-HTN-201 --number 3 --text "Source still shows 78"`, types.KindQueryReopen, true),
			queryActionCommand("cancel", "cancel an open query (its raiser)",
				`veritrial query cancel --from cro-monitor --study VT-HTN-201 --number 3 --text "raised in error"`, types.KindQueryCancel, false),
			{
				Name:      "list",
				Usage:     "list a study's queries by site, subject, status and age",
				UsageText: "veritrial query list --from cro-monitor --study VT-HTN-201 --site site1 --older-than 14d --prove",
				Flags:     append(queryListFlags("unresolved"), readFlags()...),
				Action:    listQueries,
			},
		},
	}
}

// queryListFlags are the filters of query list and show queries; status
// is the default --status.
func queryListFlags(status string) []cli.Flag {
	return []cli.Flag{
		studyFlag(),
		&cli.StringFlag{Name: "site", Usage: "only the queries of this site `ID`"},
		subjectFlag(false, "only the queries on this subject `ID`"),
		&cli.StringFlag{Name: "status", Value: status, Usage: "open, answered, closed, cancelled, unresolved (open or answered) or all"},
		&cli.StringFlag{Name: "older-than", Usage: "only queries opened longer ago than this (e.g. 14d, 36h)"},
		&cli.BoolFlag{Name: "thread", Usage: "print every query's thread"},
	}
}

// parseAge reads 14d, 36h, 90m.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSuffix(s, "d"), "%d", &n); err != nil || n < 0 {
			return 0, usageErrorf("--older-than %q: use a number of days (14d) or a duration (36h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, usageErrorf("--older-than %q: use a number of days (14d) or a duration (36h)", s)
	}
	return d, nil
}

// queryRow is a query with its age for listings.
type queryRow struct {
	types.Query
	Opened string `json:"opened"`
	AgeDay int    `json:"age_days"`
}

func listQueries(c *cli.Context) error {
	status := strings.ToLower(c.String("status"))
	switch status {
	case "open", "answered", "closed", "cancelled", "unresolved", "all":
	default:
		return usageErrorf("--status %q: use open, answered, closed, cancelled, unresolved or all", status)
	}
	minAge, err := parseAge(c.String("older-than"))
	if err != nil {
		return err
	}
	s, err := newShow(c)
	if err != nil {
		return err
	}
	qs, err := s.rd.Queries(s.ctx, c.String("study"))
	if err != nil {
		return nodeError(err)
	}
	h := s.rd.Height()
	now := time.Now().UTC()
	rows := []queryRow{}
	for _, q := range qs {
		if site := c.String("site"); site != "" && q.Site != site {
			continue
		}
		if sub := c.String("subject"); sub != "" && q.Subject != sub {
			continue
		}
		switch status {
		case "all":
		case "unresolved":
			if q.Status.Resolved() {
				continue
			}
		default:
			if string(q.Status) != status {
				continue
			}
		}
		opened := q.Thread[0].Stamp.Time
		age := time.Duration(0)
		if t, err := time.Parse(time.RFC3339Nano, opened); err == nil {
			age = now.Sub(t)
		}
		if age < minAge {
			continue
		}
		rows = append(rows, queryRow{Query: q, Opened: opened, AgeDay: int(age.Hours() / 24)})
	}
	doc := map[string]any{"study": c.String("study"), "queries": rows, "height": h, "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		which := status + " "
		if status == "all" {
			which = ""
		}
		printf(w, "%d %squer%s in study %s at height %d\n", len(rows), which, plural(len(rows), "y", "ies"), c.String("study"), h)
		if len(rows) > 0 {
			t := newTable(w)
			t.row("NO", "STATUS", "SITE", "ON", "RAISED BY", "OPENED", "AGE", "LAST")
			for _, r := range rows {
				n := len(r.Thread) - 1
				last := r.Thread[n].Action + " by " + actor(&r.Query, n)
				if text := r.Thread[n].Text; text != "" {
					last += ": " + shorten(text, 60)
				}
				t.row(fmt.Sprint(r.Number), string(r.Status), r.Site, r.Target(), raiserText(&r.Query), r.Opened, fmt.Sprintf("%dd", r.AgeDay), last)
			}
			t.flush()
		}
		if c.Bool("thread") {
			for _, r := range rows {
				writeThread(w, &r.Query)
			}
		}
		if s.rd.Proving() {
			printf(w, "Proof: every query verified against the app hash of height %d\n", h)
		}
		return nil
	})
}

func raiserText(q *types.Query) string {
	if q.RaisedBy == types.SystemRaiser && q.Hard {
		return "system (" + q.Check + ", hard: found when a form it reads changed)"
	}
	if q.RaisedBy == types.SystemRaiser {
		return "system (" + q.Check + ")"
	}
	return q.RaisedBy + " (" + q.RaisedOrg + ")"
}

// actor says who took the action of message i of q's thread: the ledger
// opened a query it raised itself (the message's stamp is then the
// transaction whose values raised it), anyone else signed theirs.
func actor(q *types.Query, i int) string {
	if i == 0 && q.RaisedBy == types.SystemRaiser {
		return "system"
	}
	return q.Thread[i].Stamp.Signer
}

func writeThread(w io.Writer, q *types.Query) {
	printf(w, "\nQuery %d on %s, site %s: %s; raised by %s\n", q.Number, q.Target(), q.Site, q.Status, raiserText(q))
	for i, m := range q.Thread {
		line := fmt.Sprintf("  %s, %s", m.Action, stampText(m.Stamp))
		if actor(q, i) == "system" {
			line = fmt.Sprintf("  %s by the ledger's edit check %s, on the values entered %s", m.Action, q.Check, stampText(m.Stamp))
		}
		if m.FormVersion > 0 {
			line += fmt.Sprintf(", by the correction making form version %d", m.FormVersion)
		}
		printf(w, "%s\n", line)
		if m.Text != "" {
			printf(w, "    %s\n", m.Text)
		}
	}
}
