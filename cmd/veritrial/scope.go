package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

func scopeFlags(reasonRequired bool) []cli.Flag {
	return []cli.Flag{
		studyFlag(),
		&cli.StringFlag{Name: "site", Usage: "a site of the study"},
		&cli.StringFlag{Name: "subject", Usage: "a subject (with --event and --form: one form)"},
		&cli.StringFlag{Name: "event", Usage: "event OID of the form"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "event repeat of the form"},
		&cli.StringFlag{Name: "form", Usage: "form OID"},
		&cli.StringFlag{Name: "reason", Usage: reasonUsage(reasonRequired)},
	}
}

func reasonUsage(required bool) string {
	if required {
		return "why (required; kept in the trail)"
	}
	return "why (kept in the trail)"
}

func scopeOf(c *cli.Context) (types.Scope, error) {
	sc := types.Scope{Study: c.String("study"), Site: c.String("site"), Subject: c.String("subject"), Event: c.String("event"), EventRepeat: c.Int("repeat"), Form: c.String("form")}
	if (sc.Event != "") != (sc.Form != "") {
		return sc, usageErrorf("a form scope needs --subject, --event and --form together")
	}
	if sc.Form == "" {
		sc.EventRepeat = 0
	}
	if sc.Form != "" && sc.Subject == "" {
		return sc, usageErrorf("a form scope needs --subject, --event and --form together")
	}
	if sc.Site != "" && sc.Subject != "" {
		return sc, usageErrorf("name one scope: --site or --subject, not both")
	}
	return sc, nil
}

func scopeCommand(kind types.Kind) *cli.Command {
	var usage, example, desc string
	switch kind {
	case types.KindFreeze:
		usage = "freeze a form, subject, site or study: site edits refused, queries still flow (data manager)"
		example = `veritrial freeze --from sponsor-dm --study VT-HTN-201 --site site1 --reason "interim analysis"`
		desc = `A frozen scope refuses data entry, corrections, enrolment and withdrawal;
queries, SDV and signatures continue. Unfreeze with veritrial unfreeze.`
	case types.KindUnfreeze:
		usage = "unfreeze a frozen scope, with a reason (data manager)"
		example = `veritrial unfreeze --from sponsor-dm --study VT-HTN-201 --site site1 --reason "interim analysis done"`
		desc = `Opens a frozen scope for site edits again.`
	case types.KindLock:
		usage = "lock a form, subject or site (data manager); with --study alone: approve the database lock"
		example = `veritrial lock --from sponsor-dm --study VT-HTN-201    # then: veritrial lock --from regulator-auditor --study VT-HTN-201`
		desc = `A locked scope refuses every write. With --study alone this is one
organisation's approval of the database lock: by default the sponsor's data
manager and one regulator organisation must approve (configurable at
registration). When the last approval arrives the ledger checks the
preconditions (no open or answered query, every casebook signed by the
investigator over its current content, SDV as the study's policy says) and
refuses with every blocker listed. The lock height is "the locked dataset".`
	case types.KindUnlock:
		usage = "unlock a scope, with a reason; with --study alone: approve the database unlock"
		example = `veritrial unlock --from sponsor-dm --study VT-HTN-201 --reason "late SAE report"`
		desc = `Unlocking the study database needs the same approvals as locking it, each
with a reason.`
	}
	return &cli.Command{
		Name:        string(kind),
		Usage:       usage,
		UsageText:   example,
		Description: desc,
		Category:    categoryWorkflow,
		Flags:       scopeFlags(kind == types.KindUnfreeze || kind == types.KindUnlock),
		Action: func(c *cli.Context) error {
			sc, err := scopeOf(c)
			if err != nil {
				return err
			}
			if (kind == types.KindUnfreeze || kind == types.KindUnlock) && strings.TrimSpace(c.String("reason")) == "" {
				return usageErrorf("%s needs a reason: --reason \"...\" (it is kept in the trail)", kind)
			}
			msg, _ := types.ScopeActionMsg(kind, &types.MsgScope{Scope: sc, Reason: c.String("reason")})
			success := fmt.Sprintf("%s: %s", strings.ToUpper(string(kind[:1]))+string(kind[1:]), sc)
			return sendWrite(c, write{msg: msg, done: func(ctx context.Context, cl *client.Client, res *client.Result) string {
				if sc.Level() == types.ScopeStudy && (kind == types.KindLock || kind == types.KindUnlock) {
					return databaseLockOutcome(ctx, cl.Reader(res.Height, false), sc.Study, kind)
				}
				return success
			}})
		},
	}
}

// databaseLockOutcome says whether an approval decided the database lock
// or how many approvals are still needed, as rd reads the ledger at the
// approval's height.
func databaseLockOutcome(ctx context.Context, rd *client.Reader, study string, kind types.Kind) string {
	s, err := rd.Study(ctx, study)
	if err != nil {
		return "Approval recorded"
	}
	db, err := rd.DatabaseLock(ctx, study)
	if err != nil {
		return "Approval recorded"
	}
	if len(db.Approvals) == 0 {
		if kind == types.KindLock {
			return fmt.Sprintf("Study %s database LOCKED at height %d (the locked dataset)", study, s.LockHeight)
		}
		return fmt.Sprintf("Study %s database unlocked at height %d", study, rd.Height())
	}
	approvers, quorum := s.LockPolicy()
	var orgs []string
	sponsor := false
	for _, v := range db.Approvals {
		orgs = append(orgs, v.Org)
		sponsor = sponsor || v.Org == s.Sponsor
	}
	msg := fmt.Sprintf("Database %s approval recorded: %d of %d (approved by %s; approvers %s)", kind, len(db.Approvals), quorum, strings.Join(orgs, ", "), strings.Join(approvers, ", "))
	if !sponsor {
		msg += "; the sponsor " + s.Sponsor + " must approve too"
	}
	return msg
}
