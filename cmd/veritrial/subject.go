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
		Usage:    "enroll, re-consent, withdraw, randomise and unblind subjects",
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
					sum, err := consentSum(c)
					if err != nil {
						return err
					}
					site := c.String("site")
					if site == "" {
						if site, err = signerOrg(c); err != nil {
							return err
						}
					}
					m := &types.MsgEnrollSubject{Study: c.String("study"), Subject: c.String("subject"), Site: site, ConsentVersion: c.String("consent-version"), ConsentSHA256: sum}
					return send(c, types.Msg{EnrollSubject: m}, fmt.Sprintf("Enrolled subject %s in study %s at site %s", m.Subject, m.Study, m.Site))
				},
			},
			{
				Name:      "reconsent",
				Usage:     "record that a subject signed a new consent document version (site investigator or coordinator)",
				UsageText: "veritrial subject reconsent --from site1-coordinator --study VT-HTN-201 --subject S1-001 --consent-version 3.0 --consent-file icf_v3.pdf [--date 2026-04-20]",
				Description: `The version must be one a protocol version of the study declares
(study.consent_version). The signed document is referenced by its SHA-256
(--consent-file computes it; the file never leaves your machine). After an
amendment that needs re-consent, forms other than safety forms wait for it.`,
				Flags: []cli.Flag{study, subject,
					&cli.StringFlag{Name: "consent-version", Required: true, Usage: "version of the consent form the subject signed"},
					&cli.StringFlag{Name: "consent-file", Usage: "consent form document to hash"},
					&cli.StringFlag{Name: "consent-sha256", Usage: "SHA-256 of the consent form (instead of --consent-file)"},
					&cli.StringFlag{Name: "date", Usage: "the `DATE` the subject signed (YYYY-MM-DD)"},
				},
				Action: func(c *cli.Context) error {
					sum, err := consentSum(c)
					if err != nil {
						return err
					}
					m := &types.MsgReconsent{Study: c.String("study"), Subject: c.String("subject"), ConsentVersion: c.String("consent-version"), ConsentSHA256: sum, Date: c.String("date")}
					return send(c, types.Msg{Reconsent: m}, fmt.Sprintf("Recorded the re-consent of subject %s of study %s to consent version %s", m.Subject, m.Study, m.ConsentVersion))
				},
			},
			{
				Name:      "withdraw",
				Usage:     "withdraw a subject from treatment, follow-up or consent; earlier data stays (site)",
				UsageText: `veritrial subject withdraw --from site1-investigator --study VT-HTN-201 --subject S1-002 --kind follow_up --date 2026-04-20 --reason "moved abroad"`,
				Description: `--kind says what the withdrawal still allows: treatment (treatment stops,
follow-up continues), follow_up (only safety forms and the end-of-study
form), consent (nothing new; data already collected is kept and may still
be corrected). A later withdrawal may only restrict more.`,
				Flags: []cli.Flag{study, subject, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the subject withdraws (kept in the trail)"},
					&cli.StringFlag{Name: "kind", Usage: "`KIND` of withdrawal: treatment, follow_up or consent (required from state machine version 3)"},
					&cli.StringFlag{Name: "date", Usage: "the `DATE` the subject withdrew (YYYY-MM-DD)"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgWithdrawSubject{Study: c.String("study"), Subject: c.String("subject"), Reason: c.String("reason"), Kind: types.WithdrawalKind(c.String("kind")), Date: c.String("date")}
					what := "Withdrew subject " + m.Subject
					if m.Kind != "" {
						what += fmt.Sprintf(" (%s)", m.Kind)
					}
					return send(c, types.Msg{WithdrawSubject: m}, what+" from study "+m.Study)
				},
			},
		}, subjectRandomizationCommands(study, subject)...),
	}
}

// consentSum is the SHA-256 of the consent form: of --consent-file, or
// --consent-sha256.
func consentSum(c *cli.Context) (string, error) {
	if f := c.String("consent-file"); f != "" {
		h, err := hashInputFile(f, "consent form")
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(h), nil
	}
	if sum := strings.ToLower(c.String("consent-sha256")); sum != "" {
		return sum, nil
	}
	return "", usageErrorf("give the consent form with --consent-file FILE or --consent-sha256 HASH")
}
