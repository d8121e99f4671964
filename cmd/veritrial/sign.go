package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/types"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "electronically sign a form, an event or a subject's casebook (investigator)",
		Category:  categoryWorkflow,
		UsageText: "veritrial sign --from site1-investigator --study VT-HTN-201 --subject S1-001 [--event SCR [--form VS]] --meaning approval",
		Description: `An electronic signature under 21 CFR Part 11: the ledger records your
printed name, role, the meaning of the signature, the block time (UTC) and
the SHA-256 of exactly the content signed, which this command computes from
the ledger and the ledger checks again. The command shows the attestation
and asks for your passphrase: signing is a deliberate act, so the
passphrase comes from the prompt or an explicit --passphrase-file, never
from VERITRIAL_PASSPHRASE. Any later correction of signed content
invalidates the signature on the ledger.`,
		Flags: []cli.Flag{
			studyFlag(),
			subjectFlag(true, "the subject `ID` whose casebook, event or form you sign"),
			&cli.StringFlag{Name: "event", Usage: "event OID (default: the whole casebook)"},
			&cli.IntFlag{Name: "repeat", Usage: "event repeat, from 1", DefaultText: "1 with --event"},
			&cli.StringFlag{Name: "form", Usage: "form OID (default: every form of the event)"},
			&cli.StringFlag{Name: "meaning", Required: true, Usage: "meaning of the signature: one the study defines (default set: authorship, review, approval, responsibility)"},
		},
		Action: signAction,
	}
}

func signAction(c *cli.Context) error {
	m := &types.MsgSign{Study: c.String("study"), Subject: c.String("subject"), Event: c.String("event"), EventRepeat: c.Int("repeat"), Form: c.String("form"), Meaning: c.String("meaning")}
	if m.Event == "" && (m.Form != "" || c.IsSet("repeat")) {
		return usageErrorf("--form and --repeat need --event")
	}
	if c.IsSet("repeat") && m.EventRepeat < 1 {
		return usageErrorf("--repeat %d is not an event repeat: repeats count from 1", m.EventRepeat)
	}
	if m.Event != "" && m.EventRepeat == 0 {
		m.EventRepeat = 1
	}
	account, err := fromKey(c)
	if err != nil {
		return err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	acct, err := cl.Reader(0, false).Account(c.Context, account)
	if err != nil {
		return nodeError(err)
	}
	if err := verifiedHeaders(c, cl); err != nil {
		return err
	}
	rd := cl.Reader(0, true)
	content, err := rd.SignContent(c.Context, m)
	if err != nil {
		return nodeError(err)
	}
	h := rd.Height()
	if len(content.Forms) == 0 {
		return inputErrorf("nothing to sign: no form of subject %s is entered in the %s named", m.Subject, m.Level())
	}
	m.ContentHash = content.Hash()
	role := types.RoleInvestigator
	if !acct.HasRole(role) && len(acct.Roles) > 0 {
		role = acct.Roles[0]
	}
	w := stderr(c)
	printf(w, "You are signing, as read from the ledger at height %d (proof verified):\n", h)
	for _, f := range content.Forms {
		printf(w, "  %s (repeat %d) form %s, version %d, %d values\n", f.Event, f.EventRepeat, f.Form, f.Version, len(f.Values))
	}
	printf(w, "\n%s\n\n", types.Attestation(acct.Name, role, m.Meaning, m))
	// The person, shown what they sign, proves they are present: the key
	// unlocked so signs the tx and the reads that follow it.
	if _, err := presentSigner(c, account); err != nil {
		return err
	}
	return sendWrite(c, write{msg: types.Msg{Sign: m}, done: func(_ context.Context, _ *client.Client, res *client.Result) string {
		return fmt.Sprintf("Signed (%s, signature %s of subject %s); content SHA-256 %s", m.Meaning, res.Attr("signature"), m.Subject, m.ContentHash)
	}})
}

// presentSigner unlocks a key with a passphrase that proves the person is
// present: prompted, or from an explicit --passphrase-file; never from the
// environment. The key stays unlocked for the rest of the run (signer),
// in place of one unlocked before for reading.
func presentSigner(c *cli.Context, name string) (*keyring.Signer, error) {
	s, err := unlockKey(c, name, func() (string, error) {
		pass, err := presentPassphrase(c, "Passphrase of "+name+" (your electronic signature): ")
		if errors.Is(err, keyring.ErrNoTerminal) {
			return "", keyErrorf("signing needs your passphrase: type it at the prompt (run the command in a terminal) or give --passphrase-file on the sign command; VERITRIAL_PASSPHRASE is never accepted for an electronic signature")
		}
		return pass, err
	})
	if err != nil {
		return nil, err
	}
	stateOf(c.App).keep(name, s)
	return s, nil
}
