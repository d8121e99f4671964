package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

func consortiumCommand() *cli.Command {
	orgFlag := &cli.StringFlag{Name: "org", Required: true, Usage: "organisation ID"}
	reason := func(required bool) *cli.StringFlag {
		return &cli.StringFlag{Name: "reason", Required: required, Usage: "why the consortium should make the change"}
	}
	return &cli.Command{
		Name:     "consortium",
		Usage:    "the consortium's members and their governance: propose, vote, list",
		Category: categoryConsortium,
		Description: `The organisations, their validators and nodes are ledger records, changed only
by proposals: an administrator of an active organisation proposes, an
administrator of each voting organisation (one that runs a validator) votes
once, and the vote that reaches the quorum (by default more than two thirds of
the voting organisations, at least one of them not a sponsor) applies the
change in its block. A validator change takes effect in consensus two blocks
later. See docs/CONSORTIUM.md.`,
		Subcommands: []*cli.Command{
			{
				Name:      "members",
				Usage:     "organisations, kinds, statuses, validators and powers, node IDs",
				UsageText: "veritrial consortium members [--height H] [--prove]",
				Flags:     readFlags(),
				Action:    showMembers,
			},
			{
				Name:      "proposals",
				Usage:     "consortium change proposals and their votes",
				UsageText: "veritrial consortium proposals [--status open|passed|rejected|expired] [--height H] [--prove]",
				Flags:     append([]cli.Flag{&cli.StringFlag{Name: "status", Usage: "only proposals with this status: open, passed, rejected or expired"}}, readFlags()...),
				Action:    showProposals,
			},
			{
				Name:  "propose",
				Usage: "propose a consortium change (an administrator of an active organisation)",
				Subcommands: []*cli.Command{
					{
						Name:  "add-org",
						Usage: "add an organisation with its first administrator, and its validator if given",
						UsageText: `veritrial consortium propose add-org --from sponsor-admin --org site-3 --kind site --admin-pubkey B64 \
    [--name "..."] [--admin-account site-3-admin] [--admin-name "..."] \
    [--validator-pubkey B64 --power 10 --node-id ID --host H] [--node-ids ID,...]`,
						Description: `The administrator's key is made on their machine (veritrial keys add, keys show
prints it). A validator needs its consensus public key (the pub_key value of
the node's config/priv_validator_key.json), its power and its node ID
(veritrial status on that node prints it). Start the new node and let it catch
up before the proposal passes: a validator that is not running counts against
the two thirds of the power consensus needs.`,
						Flags: []cli.Flag{orgFlag,
							&cli.StringFlag{Name: "kind", Required: true, Usage: "sponsor, site, cro, regulator or ethics"},
							&cli.StringFlag{Name: "name", Usage: "the organisation's printed name"},
							&cli.StringFlag{Name: "admin-pubkey", Required: true, Usage: "base64 public key of its first administrator"},
							&cli.StringFlag{Name: "admin-account", Usage: "account ID of its first administrator (default ORG-admin)"},
							&cli.StringFlag{Name: "admin-name", Usage: "printed name of its first administrator (default: Administrator of ORG)"},
							&cli.StringFlag{Name: "validator-pubkey", Usage: "base64 ed25519 consensus public key of its validator"},
							&cli.Int64Flag{Name: "power", Value: 10, Usage: "voting power of its validator"},
							&cli.StringFlag{Name: "node-id", Usage: "node ID of its validator's node"},
							&cli.StringFlag{Name: "host", Usage: "host (or host:port) where the others reach its validator's node"},
							&cli.StringSliceFlag{Name: "node-ids", Usage: "node IDs of its other (non-validating) nodes"},
							reason(false),
						},
						Action: proposeAddOrg,
					},
					orgStatusCommand("suspend-org", "suspend an organisation: its accounts cannot sign, its validators leave the set", true,
						func(r *types.OrgRef) types.Change { return types.Change{SuspendOrg: r} }),
					orgStatusCommand("reinstate-org", "reinstate a suspended organisation", false,
						func(r *types.OrgRef) types.Change { return types.Change{ReinstateOrg: r} }),
					orgStatusCommand("remove-org", "remove an organisation for good; its history stays", true,
						func(r *types.OrgRef) types.Change { return types.Change{RemoveOrg: r} }),
					{
						Name:  "validator",
						Usage: "add, re-weight, remove (--power 0) or rotate an organisation's validator",
						UsageText: `veritrial consortium propose validator --from site-1-admin --org site-1 --pubkey B64 [--power N] \
    [--node-id ID] [--host H] [--replaces OLD_B64 | --add]`,
						Description: `--pubkey names a validator in service: its power becomes --power (0 removes it;
without --power it keeps its power), its node ID and host change when given. --pubkey names a new key: with
--replaces OLD the new key takes the place of OLD (rotation; power, node and
host carry over unless given); with --add it is a further validator (give
--power and --node-id). Without either, a new key rotates the organisation's
only validator, or adds one to an organisation that runs none. A retired key
never validates again. The node must sign with the new key from the height the
change takes effect (two blocks after the block that applied it).`,
						Flags: []cli.Flag{orgFlag,
							&cli.StringFlag{Name: "pubkey", Required: true, Usage: "base64 ed25519 consensus public key"},
							&cli.Int64Flag{Name: "power", Usage: "voting power (0 removes a validator in service)"},
							&cli.StringFlag{Name: "node-id", Usage: "node ID of the validator's node"},
							&cli.StringFlag{Name: "host", Usage: "host (or host:port) where the others reach that node"},
							&cli.StringFlag{Name: "replaces", Usage: "base64 key of the validator the new key replaces"},
							&cli.BoolFlag{Name: "add", Usage: "add the key as a further validator of the organisation"},
							reason(false),
						},
						Action: proposeValidator,
					},
					{
						Name:      "nodes",
						Usage:     "set the node IDs of an organisation's non-validating nodes",
						UsageText: "veritrial consortium propose nodes --from site-1-admin --org site-1 --node-id ID [--node-id ID ...] | --none",
						Flags: []cli.Flag{orgFlag,
							&cli.StringSliceFlag{Name: "node-id", Usage: "node ID (repeatable)"},
							&cli.BoolFlag{Name: "none", Usage: "the organisation runs no non-validating node"},
							reason(false),
						},
						Action: proposeNodes,
					},
					{
						Name:      "params",
						Usage:     "change the governance rules; rules not given stay as they are",
						UsageText: "veritrial consortium propose params --from regulator-admin [--quorum 3/4] [--non-sponsor-vote=false] [--proposal-ttl BLOCKS]",
						Flags: []cli.Flag{
							&cli.StringFlag{Name: "quorum", Usage: "a change needs more than this fraction of the voting organisations (N/D, at least 1/2)"},
							&cli.BoolFlag{Name: "non-sponsor-vote", Usage: "a change needs a yes from a voting organisation that is not a sponsor"},
							&cli.Int64Flag{Name: "proposal-ttl", Usage: "blocks a proposal can be voted on"},
							reason(false),
						},
						Action: proposeParams,
					},
				},
			},
			{
				Name:      "vote",
				Usage:     "vote on a proposal for your organisation (an administrator of a voting organisation)",
				UsageText: `veritrial consortium vote --from regulator-admin --proposal 1 --yes [--comment "..."]`,
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "proposal", Required: true, Usage: "proposal number (veritrial consortium proposals lists them)"},
					&cli.BoolFlag{Name: "yes", Usage: "vote for the change"},
					&cli.BoolFlag{Name: "no", Usage: "vote against the change"},
					&cli.StringFlag{Name: "comment", Usage: "a comment kept with the vote"},
				},
				Action: voteProposal,
			},
		},
	}
}

func orgStatusCommand(name, usage string, needsReason bool, change func(*types.OrgRef) types.Change) *cli.Command {
	example := "veritrial consortium propose " + name + " --from sponsor-admin --org site-2"
	if needsReason {
		example += ` --reason "..."`
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: example,
		Flags: []cli.Flag{&cli.StringFlag{Name: "org", Required: true, Usage: "organisation ID"},
			&cli.StringFlag{Name: "reason", Required: needsReason, Usage: "why the consortium should make the change"}},
		Action: func(c *cli.Context) error {
			return propose(c, change(&types.OrgRef{Org: c.String("org")}))
		},
	}
}

// parseKey decodes a base64 public key flag; an empty flag is nil.
func parseKey(c *cli.Context, flag string) ([]byte, error) {
	s := strings.TrimSpace(c.String(flag))
	if s == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) != 32 {
		return nil, usageErrorf("--%s %q is not a base64 ed25519 public key (32 bytes, 44 characters)", flag, s)
	}
	return k, nil
}

func proposeAddOrg(c *cli.Context) error {
	org := c.String("org")
	m := &types.AddOrg{Org: org, Name: c.String("name"), Kind: types.OrgKind(c.String("kind")),
		Admin: cmp.Or(c.String("admin-account"), org+"-admin"), AdminName: cmp.Or(c.String("admin-name"), "Administrator of "+org),
		NodeIDs: c.StringSlice("node-ids")}
	var err error
	if m.AdminPubKey, err = parseKey(c, "admin-pubkey"); err != nil {
		return err
	}
	vk, err := parseKey(c, "validator-pubkey")
	if err != nil {
		return err
	}
	if vk != nil {
		m.Validator = &types.Validator{PubKey: vk, Power: c.Int64("power"), NodeID: c.String("node-id"), Host: c.String("host")}
	} else if c.IsSet("node-id") || c.IsSet("host") || c.IsSet("power") {
		return usageErrorf("--power, --node-id and --host describe a validator: give --validator-pubkey too")
	}
	return propose(c, types.Change{AddOrg: m})
}

func proposeValidator(c *cli.Context) error {
	pub, err := parseKey(c, "pubkey")
	if err != nil {
		return err
	}
	replaces, err := parseKey(c, "replaces")
	if err != nil {
		return err
	}
	if replaces != nil && c.Bool("add") {
		return usageErrorf("--replaces and --add exclude each other: a new key either replaces a validator or joins them")
	}
	m := &types.ValidatorChange{Org: c.String("org"), PubKey: pub, Power: c.Int64("power"), NodeID: c.String("node-id"), Host: c.String("host"), Replaces: replaces}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	orgs, err := cl.Reader(0, false).Orgs(c.Context)
	if err != nil {
		return nodeError(err)
	}
	var o *types.Org
	for i := range orgs {
		if orgs[i].ID == m.Org {
			o = &orgs[i]
		}
	}
	if o == nil {
		return propose(c, types.Change{Validator: m}) // the ledger names the unknown organisation
	}
	cur, choose := o.InService(pub), replaces == nil && !c.Bool("add")
	switch {
	case cur != nil && !c.IsSet("power"):
		m.Power = cur.Power // only its node or host changes
	case cur == nil && choose && o.InServiceCount() == 1:
		// A new key and no choice made: it replaces the only validator.
		for _, v := range o.Validators {
			if v.Retired == 0 {
				m.Replaces = v.PubKey
			}
		}
		note(c, "%s runs one validator, %s: the new key replaces it", o.ID, types.KeyText(m.Replaces))
	case cur == nil && choose && o.InServiceCount() > 1:
		return usageErrorf("%s runs %d validators: say which one the new key replaces (--replaces) or --add it", o.ID, o.InServiceCount())
	}
	return propose(c, types.Change{Validator: m})
}

func proposeNodes(c *cli.Context) error {
	ids := c.StringSlice("node-id")
	if len(ids) == 0 && !c.Bool("none") {
		return usageErrorf("give the node IDs (--node-id, repeatable) or --none")
	}
	if len(ids) > 0 && c.Bool("none") {
		return usageErrorf("--node-id and --none exclude each other")
	}
	return propose(c, types.Change{Nodes: &types.NodesChange{Org: c.String("org"), NodeIDs: ids}})
}

func proposeParams(c *cli.Context) error {
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	gov, err := cl.Reader(0, false).Governance(c.Context)
	if err != nil {
		return nodeError(err)
	}
	p := gov.Params
	if q := c.String("quorum"); q != "" {
		num, den, ok := strings.Cut(q, "/")
		n, err1 := strconv.Atoi(num)
		d, err2 := strconv.Atoi(den)
		if !ok || err1 != nil || err2 != nil {
			return usageErrorf("--quorum %q is not a fraction N/D such as 2/3", q)
		}
		p.QuorumNum, p.QuorumDen = n, d
	}
	if c.IsSet("non-sponsor-vote") {
		p.NonSponsorVote = c.Bool("non-sponsor-vote")
	}
	if c.IsSet("proposal-ttl") {
		p.ProposalTTL = c.Int64("proposal-ttl")
	}
	return propose(c, types.Change{Params: &p})
}

// proposeOutcome is what propose prints.
type proposeOutcome struct {
	txOutcome
	Proposal int    `json:"proposal"`
	Change   string `json:"change"`
	Expires  int64  `json:"expires"`
}

// propose sends the change and prints the proposal's number.
func propose(c *cli.Context, ch types.Change) error {
	return sendWrite(c, write{
		msg: types.Msg{ProposeChange: &types.MsgProposeChange{Change: ch, Reason: c.String("reason")}},
		done: func(_ context.Context, _ *client.Client, res *client.Result) string {
			return fmt.Sprintf("Proposed consortium change %s: %s\n  open for votes until height %s", res.Attr("proposal"), ch.String(), res.Attr("expires"))
		},
		doc: func(out txOutcome, res *client.Result) any {
			n, _ := strconv.Atoi(res.Attr("proposal"))
			exp, _ := strconv.ParseInt(res.Attr("expires"), 10, 64)
			return proposeOutcome{txOutcome: out, Proposal: n, Change: ch.String(), Expires: exp}
		},
	})
}

// voteOutcome is what vote prints.
type voteOutcome struct {
	txOutcome
	Proposal int                  `json:"proposal"`
	Vote     string               `json:"vote"`
	Status   types.ProposalStatus `json:"status"`
	Yes      int                  `json:"yes"`
	No       int                  `json:"no"`
	Voting   int                  `json:"voting"`
}

func voteProposal(c *cli.Context) error {
	if c.Bool("yes") == c.Bool("no") {
		return usageErrorf("give exactly one of --yes and --no")
	}
	n := c.Int("proposal")
	outcome := func(out txOutcome, res *client.Result) voteOutcome {
		atoi := func(k string) int { v, _ := strconv.Atoi(res.Attr(k)); return v }
		return voteOutcome{txOutcome: out, Proposal: n, Vote: res.Attr("vote"), Status: types.ProposalStatus(res.Attr("status")),
			Yes: atoi("yes"), No: atoi("no"), Voting: atoi("voting")}
	}
	return sendWrite(c, write{
		msg: types.Msg{VoteChange: &types.MsgVoteChange{Proposal: n, Approve: c.Bool("yes"), Comment: c.String("comment")}},
		done: func(_ context.Context, _ *client.Client, res *client.Result) string {
			v := outcome(txOutcome{}, res)
			what := fmt.Sprintf("still open (%d yes, %d no of %d voting organisations)", v.Yes, v.No, v.Voting)
			switch v.Status {
			case types.ProposalPassed:
				what = fmt.Sprintf("passed and applied in block %d", res.Height)
			case types.ProposalRejected:
				what = "rejected: the quorum can no longer be reached"
			}
			return fmt.Sprintf("Voted %s on proposal %d: %s", v.Vote, n, what)
		},
		doc: func(out txOutcome, res *client.Result) any { return outcome(out, res) },
	})
}

func yesNo(approve bool) string {
	if approve {
		return "yes"
	}
	return "no"
}

// membersDoc is what members prints.
type membersDoc struct {
	Height     int64           `json:"height"`
	Proven     bool            `json:"proven"`
	Governance types.GovParams `json:"governance"`
	Proposals  int             `json:"proposals"`
	TotalPower int64           `json:"total_power"`
	Orgs       []types.Org     `json:"orgs"`
}

func showMembers(c *cli.Context) error {
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	rd := cl.Reader(c.Int64("height"), c.Bool("prove"))
	orgs, err := rd.Orgs(c.Context)
	if err != nil {
		return nodeError(err)
	}
	gov, err := rd.Governance(c.Context)
	if err != nil {
		return nodeError(err)
	}
	h := rd.Height()
	doc := membersDoc{Height: h, Proven: rd.Proving(), Governance: gov.Params, Proposals: gov.Proposals, Orgs: orgs}
	for i := range orgs {
		doc.TotalPower += orgs[i].Power()
	}
	return emit(c, doc, func(w io.Writer) error {
		g := gov.Params
		nonSponsor := ""
		if g.NonSponsorVote {
			nonSponsor = ", at least one not a sponsor"
		}
		printf(w, "Consortium at height %d: a change needs more than %d/%d of the voting organisations%s; proposals are open %d blocks; %d proposal(s) so far\n\n",
			h, g.QuorumNum, g.QuorumDen, nonSponsor, g.ProposalTTL, gov.Proposals)
		t := newTable(w, "ORG", "KIND", "STATUS", "POWER", "SHARE", "NAME")
		for _, o := range orgs {
			share := "-"
			if doc.TotalPower > 0 && o.Power() > 0 {
				share = fmt.Sprintf("%.1f%%", 100*float64(o.Power())/float64(doc.TotalPower))
			}
			t.row(o.ID, string(o.Kind), string(o.Status), strconv.FormatInt(o.Power(), 10), share, o.Name)
		}
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\n")
		t = newTable(w, "ORG", "NODE ID", "ROLE", "VALIDATOR KEY", "POWER", "HOST")
		for _, o := range orgs {
			for _, v := range o.Validators {
				role := "validator"
				if v.Retired != 0 {
					role = fmt.Sprintf("retired at %d", v.Retired)
				}
				t.row(o.ID, v.NodeID, role, types.KeyText(v.PubKey), strconv.FormatInt(v.Power, 10), cmp.Or(v.Host, "-"))
			}
			for _, id := range o.NodeIDs {
				t.row(o.ID, id, "full node", "-", "-", "-")
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		proofLine(w, rd)
		return nil
	})
}

// proposalDoc is a proposal with its status at the height read.
type proposalDoc struct {
	types.Proposal
	Status  types.ProposalStatus `json:"status"`
	Summary string               `json:"summary"`
}

func showProposals(c *cli.Context) error {
	want := types.ProposalStatus(c.String("status"))
	switch want {
	case "", types.ProposalOpen, types.ProposalPassed, types.ProposalRejected, types.ProposalExpired:
	default:
		return usageErrorf("--status %q is not open, passed, rejected or expired", want)
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	rd := cl.Reader(c.Int64("height"), c.Bool("prove"))
	ps, err := rd.Proposals(c.Context)
	if err != nil {
		return nodeError(err)
	}
	h := rd.Height()
	docs := []proposalDoc{}
	for _, p := range ps {
		d := proposalDoc{Proposal: p, Status: p.StatusAt(h), Summary: p.Change.String()}
		if want == "" || d.Status == want {
			docs = append(docs, d)
		}
	}
	doc := map[string]any{"height": h, "proven": c.Bool("prove"), "proposals": docs}
	return emit(c, doc, func(w io.Writer) error {
		if len(docs) == 0 {
			printf(w, "No %s proposals at height %d\n", cmp.Or(string(want), "consortium"), h)
			return nil
		}
		t := newTable(w, "#", "STATUS", "VOTES", "EXPIRES", "PROPOSED BY", "CHANGE")
		for _, d := range docs {
			var vs []string
			for _, v := range d.Votes {
				vs = append(vs, v.Org+":"+yesNo(v.Approve))
			}
			status := string(d.Status)
			if d.Applied != 0 {
				status += fmt.Sprintf(" (applied at %d)", d.Applied)
			}
			t.row(strconv.Itoa(d.Number), status, cmp.Or(strings.Join(vs, " "), "-"), strconv.FormatInt(d.Expires, 10), d.Proposed.Signer+" ("+d.Proposed.Org+")", d.Summary)
		}
		return t.flush()
	})
}
