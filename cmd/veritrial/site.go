package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

func siteCommand() *cli.Command {
	site := &cli.StringFlag{Name: "site", Required: true, Usage: "the site organisation `ID`"}
	pi := &cli.StringFlag{Name: "pi", Required: true, Usage: "the principal investigator: an investigator `ACCOUNT` of the site"}
	account := &cli.StringFlag{Name: "account", Required: true, Usage: "the `ACCOUNT` of a person of the site"}
	return &cli.Command{
		Name:     "site",
		Usage:    "activate sites for a study, name their principal investigators, keep their delegation logs",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "activate",
				Usage:     "activate a site organisation for a study with its principal investigator (sponsor)",
				UsageText: "veritrial site activate --from sponsor-dm --study VT-HTN-201 --site site1 --pi site1-investigator",
				Description: `The principal investigator, an investigator of the site, holds every site
task on the study (enroll, entry, answer, sign) and delegates them to the
site's people with veritrial site delegate.`,
				Flags: []cli.Flag{studyFlag(), site, pi},
				Action: func(c *cli.Context) error {
					m := &types.MsgActivateSite{Study: c.String("study"), Site: c.String("site"), PrincipalInvestigator: c.String("pi")}
					return send(c, types.Msg{ActivateSite: m},
						fmt.Sprintf("Activated site %s for study %s; principal investigator %s", m.Site, m.Study, m.PrincipalInvestigator))
				},
			},
			{
				Name:      "change-pi",
				Usage:     "name another principal investigator of a site (sponsor)",
				UsageText: `veritrial site change-pi --from sponsor-dm --study VT-HTN-201 --site site1 --pi site1-inv2 --reason "Dr. Demo moved to another hospital"`,
				Description: `The delegations the former principal investigator gave stay in force until
the new one revokes them; the former one holds no task unless delegated.`,
				Flags: []cli.Flag{studyFlag(), site, pi, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the principal investigator changes"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgChangeInvestigator{Study: c.String("study"), Site: c.String("site"), PrincipalInvestigator: c.String("pi"), Reason: c.String("reason")}
					return send(c, types.Msg{ChangeInvestigator: m},
						fmt.Sprintf("%s is the principal investigator of site %s on study %s", m.PrincipalInvestigator, m.Site, m.Study))
				},
			},
			{
				Name:      "delegate",
				Usage:     "delegate study tasks at the site to one of its people (principal investigator)",
				UsageText: "veritrial site delegate --from site1-investigator --study VT-HTN-201 --site site1 --account site1-coordinator --tasks enroll,entry,answer",
				Description: `Tasks: enroll (enrol and withdraw subjects), entry (enter and correct case
report form data), answer (answer data queries), sign (e-signature,
investigators only). They replace the tasks in force; the site's
delegation log keeps every change (veritrial show delegations).`,
				Flags: []cli.Flag{studyFlag(), site, account, tasksFlag(types.SiteTasks)},
				Action: func(c *cli.Context) error {
					m := &types.MsgSiteDelegation{Study: c.String("study"), Site: c.String("site"), Account: c.String("account"), Tasks: tasksArg(c)}
					return send(c, types.Msg{DelegateSite: m},
						fmt.Sprintf("Delegated %s on study %s at site %s to %s", types.TaskList(m.Tasks), m.Study, m.Site, m.Account))
				},
			},
			{
				Name:      "undelegate",
				Usage:     "revoke a person's delegation at the site (principal investigator)",
				UsageText: `veritrial site undelegate --from site1-investigator --study VT-HTN-201 --site site1 --account site1-coordinator --reason "left the study team"`,
				Flags:     []cli.Flag{studyFlag(), site, account, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the delegation ends (kept in the delegation log)"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgSiteDelegation{Study: c.String("study"), Site: c.String("site"), Account: c.String("account"), Reason: c.String("reason")}
					return send(c, types.Msg{UndelegateSite: m},
						fmt.Sprintf("Revoked the delegation of %s on study %s at site %s", m.Account, m.Study, m.Site))
				},
			},
		},
	}
}

// tasksFlag is --tasks, with the tasks of vocab.
func tasksFlag(vocab []types.Task) cli.Flag {
	return &cli.StringSliceFlag{Name: "tasks", Required: true, Usage: "tasks to delegate (comma-separated or repeated): " + types.TaskList(vocab)}
}

// tasksArg returns the tasks of --tasks.
func tasksArg(c *cli.Context) []types.Task {
	var out []types.Task
	for _, t := range listArg(c, "tasks") {
		out = append(out, types.Task(t))
	}
	return out
}
