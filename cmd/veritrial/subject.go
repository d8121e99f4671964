package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func init() {
	registerCommand(subjectCommand)
	registerCommand(formCommand)
	registerCommand(accountCommand)
}

// signerOrg looks up the organisation of the --from account on the ledger.
func signerOrg(c *cli.Context) (string, error) {
	account, err := fromKey(c)
	if err != nil {
		return "", err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return "", err
	}
	a, err := cl.Reader(0, false).Account(context.Background(), account)
	if err != nil {
		return "", nodeError(err)
	}
	return a.Org, nil
}

func subjectCommand() *cli.Command {
	study := &cli.StringFlag{Name: "study", Required: true}
	subject := &cli.StringFlag{Name: "subject", Required: true, Usage: "pseudonymous subject ID (never a name or date of birth)"}
	return &cli.Command{
		Name:     "subject",
		Usage:    "enroll and withdraw subjects",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "enroll",
				Usage:     "enroll a pseudonymous subject at your site (site investigator or coordinator)",
				UsageText: "veritrial subject enroll --from site1-coordinator --study VT-HTN-201 --subject S1-001 --consent-version 2.0 --consent-file icf_v2.pdf",
				Description: `The subject ID must be a pseudonym. The signed consent form is referenced
by its SHA-256 (--consent-file computes it; the file never leaves your machine).`,
				Flags: []cli.Flag{study, subject,
					&cli.StringFlag{Name: "site", Usage: "site organisation (default: the signer's)"},
					&cli.StringFlag{Name: "consent-version", Required: true},
					&cli.StringFlag{Name: "consent-file", Usage: "consent form document to hash"},
					&cli.StringFlag{Name: "consent-sha256", Usage: "SHA-256 of the consent form (instead of --consent-file)"},
				},
				Action: func(c *cli.Context) error {
					sum := strings.ToLower(c.String("consent-sha256"))
					if f := c.String("consent-file"); f != "" {
						data, err := readInputFile(f, "consent form")
						if err != nil {
							return err
						}
						h := sha256.Sum256(data)
						sum = hex.EncodeToString(h[:])
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
				Flags:     []cli.Flag{study, subject, &cli.StringFlag{Name: "reason", Required: true}},
				Action: func(c *cli.Context) error {
					m := &types.MsgWithdrawSubject{Study: c.String("study"), Subject: c.String("subject"), Reason: c.String("reason")}
					return send(c, types.Msg{WithdrawSubject: m}, fmt.Sprintf("Withdrew subject %s from study %s", m.Subject, m.Study))
				},
			},
		},
	}
}

// formKeyFlags are the flags addressing one form instance.
func formKeyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "study", Required: true},
		&cli.StringFlag{Name: "subject", Required: true},
		&cli.StringFlag{Name: "event", Required: true, Usage: "event OID (SCR, D1, W4 ...)"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "event repeat (1 unless the event repeats)"},
		&cli.StringFlag{Name: "form", Required: true, Usage: "form OID (DM, VS, AE ...)"},
	}
}

func formKeyOf(c *cli.Context) types.FormKey {
	return types.FormKey{Study: c.String("study"), Subject: c.String("subject"), Event: c.String("event"), EventRepeat: c.Int("repeat"), Form: c.String("form")}
}

// parseValues reads ITEM=VALUE (or ITEM[row]=VALUE for repeating groups)
// arguments and an optional --file (JSON or YAML: a list of {item, repeat,
// value} or a map ITEM: VALUE).
func parseValues(c *cli.Context) ([]protocol.ItemValue, error) {
	var out []protocol.ItemValue
	if f := c.String("file"); f != "" {
		data, err := readInputFile(f, "values file")
		if err != nil {
			return nil, err
		}
		vals, err := decodeValuesFile(data, filepath.Ext(f))
		if err != nil {
			return nil, inputErrorf("%s: %v", f, err)
		}
		out = append(out, vals...)
	}
	for _, a := range c.Args().Slice() {
		eq := strings.IndexByte(a, '=')
		if eq <= 0 {
			return nil, usageErrorf("argument %q is not ITEM=VALUE (write VS.SYSBP=128, or AE.TERM[2]=Headache for row 2 of a repeating group)", a)
		}
		item, val := a[:eq], a[eq+1:]
		rep := 0
		if i := strings.IndexByte(item, '['); i > 0 && strings.HasSuffix(item, "]") {
			n, err := strconv.Atoi(item[i+1 : len(item)-1])
			if err != nil || n < 1 {
				return nil, usageErrorf("argument %q: the row in brackets must be a number from 1", a)
			}
			item, rep = item[:i], n
		}
		out = append(out, protocol.ItemValue{Item: item, Repeat: rep, Value: val})
	}
	if len(out) == 0 {
		return nil, usageErrorf("no values given: pass ITEM=VALUE arguments or --file values.yaml")
	}
	return out, nil
}

func decodeValuesFile(data []byte, ext string) ([]protocol.ItemValue, error) {
	var list []protocol.ItemValue
	var m map[string]string
	if strings.EqualFold(ext, ".json") {
		if err := json.Unmarshal(data, &list); err == nil {
			return list, nil
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("expected a JSON list of {\"item\",\"repeat\",\"value\"} or an object ITEM: VALUE: %v", err)
		}
	} else {
		var raw []map[string]any
		if err := yaml.Unmarshal(data, &raw); err == nil && raw != nil {
			for _, r := range raw {
				v := protocol.ItemValue{Item: fmt.Sprint(r["item"]), Value: fmt.Sprint(r["value"])}
				if rep, ok := r["repeat"].(int); ok {
					v.Repeat = rep
				}
				list = append(list, v)
			}
			return list, nil
		}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("expected a YAML list of {item, repeat, value} or a map ITEM: VALUE: %v", err)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		list = append(list, protocol.ItemValue{Item: k, Value: m[k]})
	}
	return list, nil
}

func formCommand() *cli.Command {
	fileFlag := &cli.StringFlag{Name: "file", Usage: "values from a JSON or YAML file"}
	return &cli.Command{
		Name:     "form",
		Usage:    "enter and correct case report forms",
		Category: categoryWorkflow,
		Subcommands: []*cli.Command{
			{
				Name:      "submit",
				Usage:     "enter a form for the first time (site)",
				ArgsUsage: "ITEM=VALUE...",
				UsageText: "veritrial form submit --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS VS.DATE=2026-01-12 VS.POS=1 VS.SYSBP=148 VS.DIABP=92 VS.HR=72",
				Description: `Every validator runs the protocol's edit checks: hard problems reject the
form with every problem listed; soft problems are accepted and recorded as
warnings that become data queries.`,
				Flags: append(formKeyFlags(), fileFlag),
				Action: func(c *cli.Context) error {
					vals, err := parseValues(c)
					if err != nil {
						return err
					}
					m := &types.MsgSubmitForm{FormKey: formKeyOf(c), Values: vals}
					return send(c, types.Msg{SubmitForm: m}, fmt.Sprintf("Entered form %s for subject %s at %s", m.Form, m.Subject, m.Event))
				},
			},
			{
				Name:      "correct",
				Usage:     "change items of an entered form, with a reason (site)",
				ArgsUsage: "ITEM=VALUE...",
				UsageText: `veritrial form correct --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS --reason "transcription error" VS.SYSBP=138`,
				Description: `The previous values stay on the ledger; the form gets a new version. An
empty value (ITEM=) clears an item.`,
				Flags: append(formKeyFlags(), fileFlag, &cli.StringFlag{Name: "reason", Required: true, Usage: "reason for change"},
					&cli.IntSliceFlag{Name: "resolves", Usage: "number of an open data query of this form the correction answers (repeatable)"}),
				Action: func(c *cli.Context) error {
					vals, err := parseValues(c)
					if err != nil {
						return err
					}
					m := &types.MsgCorrectForm{FormKey: formKeyOf(c), Changes: vals, Reason: c.String("reason"), Resolves: c.IntSlice("resolves")}
					return send(c, types.Msg{CorrectForm: m}, fmt.Sprintf("Corrected form %s for subject %s at %s", m.Form, m.Subject, m.Event))
				},
			},
			formTemplateCommand(), formImportCommand(),
		},
	}
}

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

func rolesArg(c *cli.Context) []types.Role {
	var out []types.Role
	for _, r := range c.StringSlice("role") {
		for _, p := range strings.Split(r, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, types.Role(p))
			}
		}
	}
	return out
}

func accountCommand() *cli.Command {
	acct := &cli.StringFlag{Name: "account", Required: true, Usage: "account ID"}
	keyFlags := []cli.Flag{&cli.StringFlag{Name: "pubkey", Usage: "base64 ed25519 public key"}, &cli.StringFlag{Name: "key", Usage: "take the public key of this local keyring key"}}
	roleFlag := &cli.StringSliceFlag{Name: "role", Required: true, Usage: "role (repeatable or comma-separated): admin, data_manager, medical_monitor, monitor, investigator, coordinator, auditor"}
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
				Flags:     append([]cli.Flag{acct}, keyFlags...),
				Action: func(c *cli.Context) error {
					pub, err := pubKeyArg(c)
					if err != nil {
						return err
					}
					m := &types.MsgRotateKey{Account: c.String("account"), NewPubKey: pub}
					return send(c, types.Msg{RotateKey: m}, fmt.Sprintf("Rotated the key of %s", m.Account))
				},
			},
			{
				Name:      "revoke",
				Usage:     "revoke an account; its history stays attributed",
				UsageText: `veritrial account revoke --from site1-admin --account site1-nurse --reason "left the site"`,
				Flags:     []cli.Flag{acct, &cli.StringFlag{Name: "reason", Required: true}},
				Action: func(c *cli.Context) error {
					m := &types.MsgRevokeAccount{Account: c.String("account"), Reason: c.String("reason")}
					return send(c, types.Msg{RevokeAccount: m}, fmt.Sprintf("Revoked account %s", m.Account))
				},
			},
		},
	}
}
