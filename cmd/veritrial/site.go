package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

func siteCommand() *cli.Command {
	return &cli.Command{
		Name:     "site",
		Usage:    "activate sites for a study",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{{
			Name:      "activate",
			Usage:     "activate a site organisation for a study (sponsor)",
			UsageText: "veritrial site activate --from sponsor-dm --study VT-HTN-201 --site site1",
			Flags:     []cli.Flag{studyFlag(), &cli.StringFlag{Name: "site", Required: true, Usage: "the site organisation `ID` to activate"}},
			Action: func(c *cli.Context) error {
				return send(c, types.Msg{ActivateSite: &types.MsgActivateSite{Study: c.String("study"), Site: c.String("site")}},
					fmt.Sprintf("Activated site %s for study %s", c.String("site"), c.String("study")))
			},
		}},
	}
}
