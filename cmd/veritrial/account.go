package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// pubKeyArg reads --pubkey (base64) or --key (a key of the local keyring).
func pubKeyArg(c *cli.Context) ([]byte, error) {
	if k := c.String("key"); k != "" {
		kr, err := openKeyring(c, false)
		if err != nil {
			return nil, err
		}
		info, err := kr.Show(k)
		if err != nil {
			return nil, keyringError(err)
		}
		return info.PubKey, nil
	}
	p := c.String("pubkey")
	if p == "" {
		return nil, usageErrorf("give the person's public key with --pubkey BASE64 (they print it with veritrial keys show) or --key NAME from this keyring")
	}
	b, err := base64.StdEncoding.DecodeString(p)
	if err != nil || len(b) != 32 {
		return nil, inputErrorf("--pubkey must be a base64 ed25519 public key of 32 bytes (veritrial keys show prints it)")
	}
	return b, nil
}

// listArg returns the values of a repeatable, comma-separated flag.
func listArg(c *cli.Context, name string) []string {
	var out []string
	for _, v := range c.StringSlice(name) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func rolesArg(c *cli.Context) []types.Role {
	var out []types.Role
	for _, r := range listArg(c, "role") {
		out = append(out, types.Role(r))
	}
	return out
}

func accountCommand() *cli.Command {
	acct := &cli.StringFlag{Name: "account", Required: true, Usage: "account ID"}
	keyFlags := []cli.Flag{&cli.StringFlag{Name: "pubkey", Usage: "base64 ed25519 public key"}, &cli.StringFlag{Name: "key", Usage: "take the public key of this local keyring key"}}
	roleFlag := &cli.StringSliceFlag{Name: "role", Required: true, Usage: "role (repeatable or comma-separated): admin, data_manager, medical_monitor, monitor, statistician, investigator, coordinator, auditor; or node alone, for a node account (veritrial access-log node-key)"}
	return &cli.Command{
		Name:     "account",
		Usage:    "manage your organisation's accounts (organisation admin)",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a person to your organisation",
				UsageText: `veritrial account add --from site1-admin --account site1-nurse --name "Nia Nurse" --role coordinator --pubkey BASE64`,
				Flags:     append([]cli.Flag{acct, &cli.StringFlag{Name: "name", Required: true, Usage: "printed name, as it must appear on signatures"}, roleFlag}, keyFlags...),
				Action: func(c *cli.Context) error {
					pub, err := pubKeyArg(c)
					if err != nil {
						return err
					}
					m := &types.MsgAddAccount{Account: c.String("account"), Name: c.String("name"), Roles: rolesArg(c), PubKey: pub}
					return send(c, types.Msg{AddAccount: m}, fmt.Sprintf("Added account %s", m.Account))
				},
			},
			{
				Name:      "set-roles",
				Usage:     "replace an account's roles",
				UsageText: "veritrial account set-roles --from site1-admin --account site1-nurse --role coordinator,investigator",
				Flags:     []cli.Flag{acct, roleFlag},
				Action: func(c *cli.Context) error {
					m := &types.MsgSetRoles{Account: c.String("account"), Roles: rolesArg(c)}
					return send(c, types.Msg{SetRoles: m}, fmt.Sprintf("Set roles of %s", m.Account))
				},
			},
			{
				Name:      "rotate",
				Usage:     "replace an account's key; the old key can never sign again",
				UsageText: "veritrial account rotate --from site1-admin --account site1-nurse --pubkey NEWBASE64",
				Description: `Your own key is replaced at once. Another person's key (as an administrator)
is a request: it applies when a second person approves it with veritrial
account approve-rotation, another administrator of the organisation or the
person with their current key, before it expires.`,
				Flags: append([]cli.Flag{acct}, keyFlags...),
				Action: func(c *cli.Context) error {
					pub, err := pubKeyArg(c)
					if err != nil {
						return err
					}
					from, err := fromKey(c)
					if err != nil {
						return err
					}
					m := &types.MsgRotateKey{Account: c.String("account"), NewPubKey: pub}
					done := fmt.Sprintf("Rotated the key of %s", m.Account)
					if m.Account != from {
						done = fmt.Sprintf("Requested the rotation of the key of %s; it applies when another administrator of the organisation, or %s with its current key, approves it (veritrial account approve-rotation)", m.Account, m.Account)
					}
					return sendRotation(c, types.Msg{RotateKey: m}, m.Account, done)
				},
			},
			{
				Name:      "approve-rotation",
				Usage:     "approve another administrator's request to rotate an account's key, naming the new key",
				UsageText: "veritrial account approve-rotation --from site1-admin2 --account site1-nurse --pubkey NEWBASE64",
				Description: `The second person of a two-person key rotation: another administrator of the
organisation, or the person with their current key. veritrial show account
shows the pending request and its new key.`,
				Flags: append([]cli.Flag{acct}, keyFlags...),
				Action: func(c *cli.Context) error {
					pub, err := pubKeyArg(c)
					if err != nil {
						return err
					}
					m := &types.MsgApproveKeyRotation{Account: c.String("account"), NewPubKey: pub}
					return sendRotation(c, types.Msg{ApproveKeyRotation: m}, m.Account, fmt.Sprintf("Rotated the key of %s (request approved)", m.Account))
				},
			},
			{
				Name:      "revoke",
				Usage:     "revoke an account; its history stays attributed",
				UsageText: `veritrial account revoke --from site1-admin --account site1-nurse --reason "left the site"`,
				Flags:     []cli.Flag{acct, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the account is revoked (kept in its history)"}},
				Action: func(c *cli.Context) error {
					m := &types.MsgRevokeAccount{Account: c.String("account"), Reason: c.String("reason")}
					return send(c, types.Msg{RevokeAccount: m}, fmt.Sprintf("Revoked account %s", m.Account))
				},
			},
		},
	}
}

// sendRotation sends msg, which rotates account's key, and says success:
// when account is the --from one and the new key is this keyring's
// (--key), the outcome is read with it once the old one no longer reads.
func sendRotation(c *cli.Context, msg types.Msg, account, success string) error {
	w := write{msg: msg, done: func(context.Context, *client.Client, *client.Result) string { return success }}
	if from, err := fromKey(c); err == nil && from == account {
		w.rekey = c.String("key")
	}
	return sendWrite(c, w)
}
