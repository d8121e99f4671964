package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
	"github.com/veritrial/veritrial/protocol/workbook"
)

// loadProtocolFile loads and checks a protocol file (YAML, REDCap CSV with
// --base, or XLSX) and returns it with its fingerprint.
func loadProtocolFile(c *cli.Context, path string) (*protocol.Protocol, string, error) {
	base, err := loadBase(c)
	if err != nil {
		return nil, "", err
	}
	p, warnings, err := workbook.LoadFile(path, base)
	if err != nil {
		return nil, "", inputErrorf("%v", err)
	}
	for _, w := range warnings {
		note(c, "warning: %s", w.String())
	}
	fp, err := p.Fingerprint()
	if err != nil {
		return nil, "", inputErrorf("%v", err)
	}
	return p, fp, nil
}

func studyCommand() *cli.Command {
	return &cli.Command{
		Name:     "study",
		Usage:    "register a study, amend its protocol, delegate its work to CROs",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "register",
				Usage:     "register a study with its protocol (sponsor data manager)",
				ArgsUsage: "PROTOCOL_FILE",
				UsageText: "veritrial study register --from sponsor-dm htn201.yaml",
				Description: `Registers the study with the protocol's first version. The block time of
registration is a public commitment: outcomes and document hashes were
declared before the first subject. Amendments need the approvers named
with --approver (default: every regulator and ethics committee); never the
sponsor itself, and at least one organisation that is not a sponsor.

Data management settings: --signature-meaning (default authorship, review,
approval, responsibility), --sdv-policy none|all (SDV required before the
database lock), --lock-approver (the sponsors, CROs and regulators that
approve the database lock and unlock besides the sponsor, whose approval
is always required; at least one not a sponsor; default every regulator
organisation) and --lock-quorum (how many approvals are needed, the
sponsor's included; at least 2, default 2: the sponsor and one other).
A lock or unlock also needs the approval of an organisation that is not
a sponsor.`,
				Flags: []cli.Flag{baseFlag(), &cli.StringSliceFlag{Name: "approver", Usage: "organisation whose approval amendments need (repeatable; never the sponsor, at least one not a sponsor)"},
					&cli.StringSliceFlag{Name: "signature-meaning", Usage: "allowed e-signature meaning (repeatable)"},
					&cli.StringFlag{Name: "sdv-policy", Usage: "none or all: forms that must be verified against source before the database lock"},
					&cli.StringSliceFlag{Name: "lock-approver", Usage: "organisation approving the database lock and unlock, besides the sponsor (repeatable; at least one not a sponsor)"},
					&cli.IntFlag{Name: "lock-quorum", Usage: "approvals the database lock and unlock need, the sponsor's included (the sponsor and one organisation that is not a sponsor must always approve)", DefaultText: "2"},
				},
				Action: func(c *cli.Context) error {
					if err := exactArgs(c, "PROTOCOL_FILE"); err != nil {
						return err
					}
					p, fp, err := loadProtocolFile(c, c.Args().First())
					if err != nil {
						return err
					}
					return send(c, types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: *p, Fingerprint: fp, Approvers: c.StringSlice("approver"),
						SignatureMeanings: c.StringSlice("signature-meaning"), SDVPolicy: c.String("sdv-policy"),
						LockApprovers: c.StringSlice("lock-approver"), LockQuorum: c.Int("lock-quorum")}},
						fmt.Sprintf("Registered study %s, protocol version %s (fingerprint %s)", p.Study.ID, p.Study.Version, fp))
				},
			},
			{
				Name:      "amend",
				Usage:     "propose the next protocol version (sponsor)",
				ArgsUsage: "PROTOCOL_FILE",
				UsageText: `veritrial study amend --from sponsor-dm --rationale "Add potassium check" htn201_v2.yaml`,
				Description: `Proposes a new protocol version; it takes effect when every approver
organisation has approved it. veritrial protocol diff shows the changes first.

Forms entered before keep being judged, when corrected, under the version
they were entered under; --migrate FORM says the data already entered on
that form must migrate: from the amendment's approval its corrections are
judged under the new version (and the record says so).`,
				Flags: []cli.Flag{baseFlag(), &cli.StringFlag{Name: "rationale", Usage: "why the protocol changes", Required: true},
					&cli.StringSliceFlag{Name: "migrate", Usage: "form OID whose data already entered is judged under the new version when corrected (repeatable)"}},
				Action: func(c *cli.Context) error {
					if err := exactArgs(c, "PROTOCOL_FILE"); err != nil {
						return err
					}
					p, fp, err := loadProtocolFile(c, c.Args().First())
					if err != nil {
						return err
					}
					return send(c, types.Msg{ProposeAmendment: &types.MsgProposeAmendment{Study: p.Study.ID, Protocol: *p, Fingerprint: fp, Rationale: c.String("rationale"),
						Migrate: c.StringSlice("migrate")}},
						fmt.Sprintf("Proposed protocol version %s for study %s", p.Study.Version, p.Study.ID))
				},
			},
			voteCommand("approve-amendment", true),
			voteCommand("reject-amendment", false),
			{
				Name:      "delegate",
				Usage:     "delegate a study's work to a CRO (sponsor)",
				UsageText: "veritrial study delegate --from sponsor-dm --study VT-HTN-201 --org cro --tasks monitoring,data_management",
				Description: `A CRO acts on a study only within the tasks delegated to it: monitoring
(source data verification and data queries), data_management (data
queries, freeze and unfreeze, site, subject and form locks, and the
database lock approval when the study's lock approvers name the CRO).
They replace the tasks in force; every change is kept (veritrial show
delegations).`,
				Flags: []cli.Flag{studyFlag(), croFlag(), tasksFlag(types.StudyTasks)},
				Action: func(c *cli.Context) error {
					m := &types.MsgStudyDelegation{Study: c.String("study"), Org: c.String("org"), Tasks: tasksArg(c)}
					return send(c, types.Msg{DelegateStudy: m}, fmt.Sprintf("Delegated %s on study %s to %s", types.TaskList(m.Tasks), m.Study, m.Org))
				},
			},
			{
				Name:      "undelegate",
				Usage:     "revoke a CRO's delegation on a study (sponsor)",
				UsageText: `veritrial study undelegate --from sponsor-dm --study VT-HTN-201 --org cro --reason "contract ended"`,
				Flags:     []cli.Flag{studyFlag(), croFlag(), &cli.StringFlag{Name: "reason", Required: true, Usage: "why the delegation ends (kept with it)"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgStudyDelegation{Study: c.String("study"), Org: c.String("org"), Reason: c.String("reason")}
					return send(c, types.Msg{UndelegateStudy: m}, fmt.Sprintf("Revoked the delegation of study %s to %s", m.Study, m.Org))
				},
			},
		},
	}
}

func croFlag() cli.Flag {
	return &cli.StringFlag{Name: "org", Required: true, Usage: "the CRO organisation `ID`"}
}

func voteCommand(name string, approve bool) *cli.Command {
	verb, done := "approve", "Approved"
	if !approve {
		verb, done = "reject", "Rejected"
	}
	return &cli.Command{
		Name:      name,
		Usage:     verb + " a pending amendment (approver organisation)",
		UsageText: "veritrial study " + name + " --from regulator-auditor --study VT-HTN-201 --amendment 1 --comment \"...\"",
		Flags: []cli.Flag{
			studyFlag(),
			&cli.IntFlag{Name: "amendment", Required: true, Usage: "amendment number (veritrial show study lists them)"},
			&cli.StringFlag{Name: "comment", Usage: "comment (required to reject)"},
		},
		Action: func(c *cli.Context) error {
			v := &types.MsgVoteAmendment{Study: c.String("study"), Amendment: c.Int("amendment"), Comment: c.String("comment")}
			msg := types.Msg{ApproveAmendment: v}
			if !approve {
				msg = types.Msg{RejectAmendment: v}
			}
			return send(c, msg, fmt.Sprintf("%s amendment %d of study %s", done, v.Amendment, v.Study))
		},
	}
}
