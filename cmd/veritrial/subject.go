package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

func subjectCommand() *cli.Command {
	study := studyFlag()
	subject := subjectFlag(true, "pseudonymous subject `ID` (never a name or date of birth)")
	return &cli.Command{
		Name:     "subject",
		Usage:    "enroll, withdraw, randomise and unblind subjects",
		Category: categoryWorkflow,
		Subcommands: append([]*cli.Command{
			{
				Name:      "enroll",
				Usage:     "enroll a pseudonymous subject at your site (site investigator or coordinator)",
				UsageText: "veritrial subject enroll --from site1-coordinator --study VT-HTN-201 --subject S1-001 --consent-version 2.0 --consent-file icf_v2.pdf",
				Description: `The subject ID must be a pseudonym. The signed consent form is referenced
by its SHA-256 (--consent-file computes it; the file never leaves your machine).`,
				Flags: []cli.Flag{study, subject,
					&cli.StringFlag{Name: "site", Usage: "site organisation (default: the signer's)"},
					&cli.StringFlag{Name: "consent-version", Required: true, Usage: "version of the consent form the subject signed"},
					&cli.StringFlag{Name: "consent-file", Usage: "consent form document to hash"},
					&cli.StringFlag{Name: "consent-sha256", Usage: "SHA-256 of the consent form (instead of --consent-file)"},
				},
				Action: func(c *cli.Context) error {
					sum := strings.ToLower(c.String("consent-sha256"))
					if f := c.String("consent-file"); f != "" {
						h, err := hashInputFile(f, "consent form")
						if err != nil {
							return err
						}
						sum = hex.EncodeToString(h)
					}
					if sum == "" {
						return usageErrorf("give the consent form with --consent-file FILE or --consent-sha256 HASH")
					}
					site := c.String("site")
					if site == "" {
						var err error
						if site, err = signerOrg(c); err != nil {
							return err
						}
					}
					m := &types.MsgEnrollSubject{Study: c.String("study"), Subject: c.String("subject"), Site: site, ConsentVersion: c.String("consent-version"), ConsentSHA256: sum}
					return send(c, types.Msg{EnrollSubject: m}, fmt.Sprintf("Enrolled subject %s in study %s at site %s", m.Subject, m.Study, m.Site))
				},
			},
			{
				Name:      "withdraw",
				Usage:     "withdraw a subject; earlier data stays (site)",
				UsageText: `veritrial subject withdraw --from site1-investigator --study VT-HTN-201 --subject S1-002 --reason "withdrew consent"`,
				Flags:     []cli.Flag{study, subject, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the subject withdraws (kept in the trail)"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgWithdrawSubject{Study: c.String("study"), Subject: c.String("subject"), Reason: c.String("reason")}
					return send(c, types.Msg{WithdrawSubject: m}, fmt.Sprintf("Withdrew subject %s from study %s", m.Subject, m.Study))
				},
			},
		}, subjectRandomizationCommands(study, subject)...),
	}
}
