package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/ceremony"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/testnet"
)

func consortiumCommand() *cli.Command {
	orgFlag := &cli.StringFlag{Name: "org", Required: true, Usage: "organisation ID"}
	reason := func(required bool) *cli.StringFlag {
		return &cli.StringFlag{Name: "reason", Required: required, Usage: "why the consortium should make the change"}
	}
	return &cli.Command{
		Name:     "consortium",
		Usage:    "form a consortium (new, join, assemble, install); its members and their governance: propose, vote, list",
		Category: categoryConsortium,
		Description: `Forming: the coordinator writes a draft (new); each organisation, on its own
machine, makes its home and keys and signs a member file of public material
(join); the coordinator checks the member files and assembles genesis.json
(assemble); each organisation checks its own entry, installs the genesis and
its peers, and compares the genesis SHA-256 with the others (install). No
machine ever holds another organisation's keys.

The organisations, their validators and nodes are ledger records, changed only
by proposals: an administrator of an active organisation proposes, an
administrator of each voting organisation (one that runs a validator) votes
once, and the vote that reaches the quorum (by default more than two thirds of
the voting organisations, at least one of them not a sponsor) applies the
change in its block. A validator change takes effect in consensus two blocks
later. See docs/CONSORTIUM.md.`,
		Subcommands: []*cli.Command{
			ceremonyNewCommand(), ceremonyJoinCommand(), ceremonyAssembleCommand(), ceremonyInstallCommand(),
			{
				Name:      "members",
				Usage:     "organisations, kinds, statuses, validators and powers, node IDs",
				UsageText: "veritrial consortium members --from KEY [--height H] [--prove]",
				Flags:     readFlags(),
				Action:    showMembers,
			},
			{
				Name:      "proposals",
				Usage:     "consortium change proposals and their votes",
				UsageText: "veritrial consortium proposals --from KEY [--status open|passed|rejected|expired] [--height H] [--prove]",
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
						UsageText: `veritrial consortium propose add-org --from sponsor-admin --member site-3.member.json [--node-ids ID,...]
   veritrial consortium propose add-org --from sponsor-admin --org site-3 --kind site --admin-pubkey B64 \
    [--name "..."] [--admin-account site-3-admin] [--admin-name "..."] \
    [--validator-pubkey B64 --power 10 --node-id ID --host H] [--node-ids ID,...]`,
						Description: `--member takes everything from the member file of an organisation that joined
later (veritrial consortium join --later): its ID, kind and name, its first
administrator, and its validator's key, power, node ID and address. The file's
three signatures are checked first (the administrator's, and the validator's and
node's proofs that whoever made it holds those keys), and that it joined this
chain; a file that fails is refused before anything is sent. The flags that
describe the organisation cannot be given with it.

Without a member file, the administrator's key is made on their machine
(veritrial keys add, keys show prints it). A validator needs its consensus
public key (the pub_key value of the node's config/priv_validator_key.json), its
power and its node ID (veritrial status on that node prints it). Start the new
node and let it catch up before the proposal passes: a validator that is not
running counts against the two thirds of the power consensus needs.`,
						Flags: []cli.Flag{
							&cli.StringFlag{Name: "member", Usage: "the organisation's member `FILE` from consortium join --later", TakesFile: true},
							&cli.StringFlag{Name: "org", Usage: "organisation ID"},
							&cli.StringFlag{Name: "kind", Usage: "sponsor, site, cro, regulator or ethics"},
							&cli.StringFlag{Name: "name", Usage: "the organisation's printed name"},
							&cli.StringFlag{Name: "admin-pubkey", Usage: "base64 public key of its first administrator"},
							&cli.StringFlag{Name: "admin-account", Usage: "account ID of its first administrator (default ORG-admin)"},
							&cli.StringFlag{Name: "admin-name", Usage: "printed name of its first administrator", DefaultText: "Administrator of ORG"},
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
					proposeUpgradeCommand(),
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

// memberFlags describe the organisation add-org adds; a member file
// gives them all.
var memberFlags = []string{"org", "kind", "name", "admin-pubkey", "admin-account", "admin-name", "validator-pubkey", "power", "node-id", "host"}

func proposeAddOrg(c *cli.Context) error {
	if c.IsSet("member") {
		return proposeMember(c)
	}
	if !c.IsSet("org") || !c.IsSet("kind") || !c.IsSet("admin-pubkey") {
		return usageErrorf("give the member file of the organisation (--member FILE, from consortium join --later), or its --org, --kind and --admin-pubkey")
	}
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

// proposeMember proposes the organisation a member file declares (see
// ceremony.Member.AddOrg), once the file verifies and names the node's
// chain: a file that fails is refused before anything is sent.
func proposeMember(c *cli.Context) error {
	var given []string
	for _, f := range memberFlags {
		if c.IsSet(f) {
			given = append(given, "--"+f)
		}
	}
	if len(given) > 0 {
		return usageErrorf("--member gives the organisation, its administrator and its validator: leave out %s", strings.Join(given, ", "))
	}
	path := c.String("member")
	bz, err := readInputFile(path, "member file", maxSmallFile)
	if err != nil {
		return err
	}
	m, err := ceremony.ParseMember(bz)
	if err != nil {
		return inputErrorf("%s: %v", path, err)
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	chainID, err := cl.ChainID(c.Context)
	if err != nil {
		return nodeError(err)
	}
	if m.Body.ChainID != chainID {
		return inputErrorf("%s: %s joined chain %s, but the node serves chain %s", path, m.Body.Org, m.Body.ChainID, chainID)
	}
	ch := m.AddOrg()
	ch.NodeIDs = c.StringSlice("node-ids")
	return propose(c, types.Change{AddOrg: ch})
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
		if p.QuorumNum, p.QuorumDen, err = parseQuorum(q); err != nil {
			return err
		}
	}
	if c.IsSet("non-sponsor-vote") {
		p.NonSponsorVote = c.Bool("non-sponsor-vote")
	}
	if c.IsSet("proposal-ttl") {
		p.ProposalTTL = c.Int64("proposal-ttl")
	}
	return propose(c, types.Change{Params: &p})
}

// parseQuorum parses a --quorum fraction N/D.
func parseQuorum(q string) (num, den int, err error) {
	n, d, ok := strings.Cut(q, "/")
	num, err1 := strconv.Atoi(n)
	den, err2 := strconv.Atoi(d)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, usageErrorf("--quorum %q is not a fraction N/D such as 2/3", q)
	}
	return num, den, nil
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
	rd, err := flagReader(c, cl)
	if err != nil {
		return err
	}
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
	rd, err := flagReader(c, cl)
	if err != nil {
		return err
	}
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

func ceremonyNewCommand() *cli.Command {
	gov, params := types.DefaultGovParams(), types.DefaultParams()
	return &cli.Command{
		Name:  "new",
		Usage: "write the draft of a new consortium (the coordinator, any member)",
		UsageText: `veritrial consortium new --chain-id ID --out draft.json [--members ORG[=KIND],...] [--genesis-time T] [--power N]
    [--quorum N/D] [--non-sponsor-vote=false] [--proposal-ttl BLOCKS] [--max-tx-ttl BLOCKS] [--key-rotation-ttl BLOCKS] [--force]

Example:
   veritrial consortium new --chain-id vt-htn-201 --members sponsor,site-1,site-2,regulator --out draft.json`,
		Description: `The draft fixes the chain ID, the genesis time (default now), every validator's
power, the ledger's parameters and governance rules (the ledger's defaults
unless given) and, with --members, exactly which organisations join (a kind is
taken from the start of a name unless given as ORG=KIND); without --members
whoever the coordinator assembles joins. Send the file unchanged to every
member: each signs its SHA-256 when it joins.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "chain-id", Required: true, Usage: "chain ID of the consortium"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "the draft file to write", TakesFile: true},
			&cli.StringSliceFlag{Name: "members", Usage: "the organisations expected, ORG or ORG=KIND, comma-separated", DefaultText: "open: whoever is assembled"},
			&cli.StringFlag{Name: "genesis-time", Usage: "genesis time, RFC 3339", DefaultText: "now"},
			&cli.Int64Flag{Name: "power", Value: ceremony.DefaultValidatorPower, Usage: "every validator's voting power"},
			&cli.StringFlag{Name: "quorum", Value: fmt.Sprintf("%d/%d", gov.QuorumNum, gov.QuorumDen), Usage: "a change needs more than this fraction of the voting organisations"},
			&cli.BoolFlag{Name: "non-sponsor-vote", Value: gov.NonSponsorVote, Usage: "a change needs a yes from a voting organisation that is not a sponsor"},
			&cli.Int64Flag{Name: "proposal-ttl", Value: gov.ProposalTTL, Usage: "blocks a proposal can be voted on"},
			&cli.Int64Flag{Name: "max-tx-ttl", Value: params.MaxTxTTL, Usage: "how many blocks ahead a tx's expiry may be"},
			&cli.Int64Flag{Name: "key-rotation-ttl", Value: params.KeyRotationTTL, Usage: "blocks a request to rotate another person's key can be approved"},
			&cli.BoolFlag{Name: "force", Usage: "replace --out if it exists"},
		},
		Action: runConsortiumNew,
	}
}

// newDraftResult is what consortium new prints.
type newDraftResult struct {
	File   string          `json:"file"`
	SHA256 string          `json:"sha256"`
	Draft  *ceremony.Draft `json:"draft"`
}

func runConsortiumNew(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	t := time.Now().UTC().Truncate(time.Second)
	if s := c.String("genesis-time"); s != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return usageErrorf("--genesis-time %q is not an RFC 3339 time such as 2026-03-02T09:00:00Z", s)
		}
	}
	d := ceremony.NewDraft(c.String("chain-id"), t)
	d.ValidatorPower = c.Int64("power")
	d.Params.MaxTxTTL = c.Int64("max-tx-ttl")
	d.Params.KeyRotationTTL = c.Int64("key-rotation-ttl")
	d.Governance.NonSponsorVote = c.Bool("non-sponsor-vote")
	d.Governance.ProposalTTL = c.Int64("proposal-ttl")
	var err error
	if d.Governance.QuorumNum, d.Governance.QuorumDen, err = parseQuorum(c.String("quorum")); err != nil {
		return err
	}
	for _, s := range splitList(c.StringSlice("members")) {
		org, kind, given := strings.Cut(s, "=")
		k := types.OrgKind(strings.ToLower(kind))
		if !given {
			var ok bool
			if k, ok = testnet.InferKind(org); !ok {
				return usageErrorf("cannot tell the kind of %s from its name: give it as %s=KIND (sponsor, site, cro, regulator or ethics)", org, org)
			}
		}
		d.Members = append(d.Members, ceremony.DraftMember{Org: org, Kind: k})
	}
	if err := d.Validate(); err != nil {
		return usageErrorf("the draft would not be usable: %v", err)
	}
	bz, err := ceremony.Encode(d)
	if err != nil {
		return failf("%v", err)
	}
	out := c.String("out")
	if err := writeFileAtomic(out, bz, 0o644, c.Bool("force")); err != nil {
		return err
	}
	res := newDraftResult{File: out, SHA256: ceremony.SHA256(bz), Draft: d}
	return emit(c, res, func(w io.Writer) error {
		members := "open: whoever is assembled"
		if len(d.Members) > 0 {
			var orgs []string
			for _, m := range d.Members {
				orgs = append(orgs, m.Org+" ("+string(m.Kind)+")")
			}
			members = strings.Join(orgs, ", ")
		}
		printf(w, "Wrote the draft of consortium %s to %s\n", d.ChainID, out)
		t := indented(w, "  ")
		t.row("SHA-256", res.SHA256)
		t.row("genesis time", d.GenesisTime.Format(time.RFC3339))
		t.row("members", members)
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "Send it unchanged to every member; each runs on its own machine:\n  veritrial consortium join %s --home ~/veritrial --org ORG --host HOST --out ORG.member.json\n", filepath.Base(out))
		return nil
	})
}

func ceremonyJoinCommand() *cli.Command {
	return &cli.Command{
		Name:      "join",
		Usage:     "make this organisation's home and keys and its signed member file (each organisation, on its own machine)",
		ArgsUsage: "DRAFT",
		UsageText: `veritrial consortium join DRAFT --home DIR --org ORG [--kind KIND] --host HOST [--p2p-port 26656] [--rpc-port 26657] [--http-port 26680]
    [--name "..."] [--admin-name "..."] [--out ORG.member.json]

Example:
   veritrial consortium join draft.json --home ~/veritrial --org site-1 --kind site --host 10.0.0.12 --out site-1.member.json`,
		Description: `Creates the home --home (which must not exist or be empty) on this machine: the
node's CometBFT configuration (peers on every interface at --p2p-port,
announced as HOST:PORT; RPC on 127.0.0.1 at --rpc-port), its read API's
(config/veritrial.toml: on 127.0.0.1 at --http-port; give it a certificate to
serve people on other machines, see docs/API.md), a new validator key, node
key and node account key (config/node_account.json: the account ORG-node
commits the node's access log head, docs/ACCESSLOG.md), and the keyring with
the organisation's first administrator's key, ORG-admin, under a passphrase you choose (--passphrase-file,
VERITRIAL_PASSPHRASE, or typed twice without echo; the dev passphrase is
refused). No key leaves the home.

The member file (--out) holds only public material: the organisation, its
validator's and node's public keys, node ID and address, its administrator's
and node account's public keys, and the SHA-256 of the draft, signed by the
administrator's, validator's, node's and node account's keys. Send it to the
coordinator.

An organisation joining a running consortium later gives --later, with the
consortium's draft (any member's home keeps it in config/consortium-draft.json)
and --kind; a member's administrator proposes it with consortium propose
add-org --member and its member file, which brings its administrator, its
validator and its node account, and it installs the consortium's genesis with
install --later.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "org", Required: true, Usage: "this organisation's ID"},
			&cli.StringFlag{Name: "kind", Usage: "sponsor, site, cro, regulator or ethics", DefaultText: "the draft's"},
			&cli.StringFlag{Name: "host", Required: true, Usage: "host name or IP address where the other members reach this node"},
			&cli.IntFlag{Name: "p2p-port", Value: ceremony.DefaultP2PPort, Usage: "peer-to-peer port"},
			&cli.IntFlag{Name: "rpc-port", Value: ceremony.DefaultRPCPort, Usage: "RPC port on 127.0.0.1"},
			&cli.IntFlag{Name: "http-port", Value: node.DefaultAPIPort, Usage: "read API port on 127.0.0.1"},
			&cli.StringFlag{Name: "name", Usage: "the organisation's printed name"},
			&cli.StringFlag{Name: "admin-name", Usage: "printed name of its first administrator", DefaultText: "Administrator of ORG"},
			&cli.StringFlag{Name: "out", Usage: "the member file to write", DefaultText: "ORG.member.json", TakesFile: true},
			&cli.BoolFlag{Name: "later", Usage: "join a running consortium by governance: DRAFT is its draft, which need not list ORG"},
		},
		Action: runConsortiumJoin,
	}
}

// joinResult is what consortium join prints.
type joinResult struct {
	Home        string           `json:"home"`
	MemberFile  string           `json:"member_file"`
	DraftSHA256 string           `json:"draft_sha256"`
	Member      *ceremony.Member `json:"member"`
}

func runConsortiumJoin(c *cli.Context) error {
	if err := exactArgs(c, "draft"); err != nil {
		return err
	}
	draft, err := readInputFile(c.Args().First(), "draft", maxSmallFile)
	if err != nil {
		return err
	}
	d, err := ceremony.ParseDraft(draft)
	if err != nil {
		return inputErrorf("%s: %v", c.Args().First(), err)
	}
	home, err := homeDir(c)
	if err != nil {
		return err
	}
	o := ceremony.JoinOptions{Org: c.String("org"), Kind: types.OrgKind(c.String("kind")), Name: c.String("name"), AdminName: c.String("admin-name"),
		Host: c.String("host"), P2PPort: c.Int("p2p-port"), RPCPort: c.Int("rpc-port"), APIPort: c.Int("http-port"), Later: c.Bool("later")}
	if err := o.Check(d); err != nil {
		return usageErrorf("%v", err)
	}
	out := cmp.Or(c.String("out"), o.Org+".member.json")
	if err := checkOutFree(out, false); err != nil {
		return err
	}
	if _, err := checkHomeFree(home, false); err != nil {
		return err
	}
	if o.Passphrase, err = newPassphrase(c, "Passphrase for the new key "+ceremony.AdminKey(o.Org)+": "); err != nil {
		return err
	}
	if err := ceremony.CheckPassphrase(o.Passphrase); err != nil {
		return keyErrorf("%v", err)
	}
	var m *ceremony.Member
	err = createHome(home, false, func(dir string) (err error) {
		if m, err = ceremony.Join(dir, draft, o); err != nil {
			return failf("%v", pathError(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	bz, err := ceremony.Encode(m)
	if err != nil {
		return failf("%v", err)
	}
	if err := writeFileAtomic(out, bz, 0o644, false); err != nil {
		return failf("%v; the member file is also in %s", err, filepath.Join(home, "config", ceremony.MemberFile))
	}
	res := joinResult{Home: home, MemberFile: out, DraftSHA256: m.Body.DraftSHA256, Member: m}
	return emit(c, res, func(w io.Writer) error {
		b := m.Body
		printf(w, "%s (%s) joined the draft of consortium %s (draft SHA-256 %s)\n\n", b.Org, b.Kind, b.ChainID, b.DraftSHA256)
		t := indented(w, "  ")
		t.row("home", home+" (its keys never leave it)")
		t.row("member file", out+" (public: send it to the coordinator)")
		t.row("node ID", b.Node.ID)
		t.row("p2p address", b.Node.P2P)
		t.row("validator key", fmt.Sprintf("%s (power %d)", types.KeyText(b.Validator.PubKey), b.Validator.Power))
		t.row("administrator", b.Admin.Account+" "+types.KeyText(b.Admin.PubKey))
		t.row("node account", b.NodeAccount.Account+" "+types.KeyText(b.NodeAccount.PubKey))
		if err := t.flush(); err != nil {
			return err
		}
		if o.Later {
			printf(w, "\nInstall the consortium's genesis.json with  veritrial consortium install genesis.json --later --home %s\nand send %s to a member's administrator, who proposes it (with its node account):  veritrial consortium propose add-org --member %s\nOnce the vote has passed, start the node:  veritrial --home %s start --state-sync RPC1,RPC2   (two members' RPC addresses)\n",
				home, out, filepath.Base(out), home)
			return nil
		}
		printf(w, "\nWhen the coordinator sends genesis.json:  veritrial consortium install genesis.json --home %s\n", home)
		return nil
	})
}

func ceremonyAssembleCommand() *cli.Command {
	return &cli.Command{
		Name:      "assemble",
		Usage:     "check the member files and write genesis.json and its manifest (the coordinator)",
		ArgsUsage: "DRAFT MEMBER-FILE...",
		UsageText: `veritrial consortium assemble DRAFT MEMBER-FILE... --out genesis.json [--manifest FILE] [--force]

Example:
   veritrial consortium assemble draft.json *.member.json --out genesis.json`,
		Description: `Checks every member file: its four signatures, the draft it joined, its
power, its organisation expected by the draft and joining once, no key or
address shared with another member, every expected member present, and the
governance rules satisfiable. Then writes genesis.json (each organisation with
its validator, its first administrator and its node account; the same files
always give the same bytes, in any order) and a manifest (default
manifest.json beside --out): the member files and the genesis SHA-256.
Nothing secret is read or written.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "the genesis file to write", TakesFile: true},
			&cli.StringFlag{Name: "manifest", Usage: "the manifest to write", DefaultText: "manifest.json beside --out", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "replace --out and the manifest if they exist"},
		},
		Action: runConsortiumAssemble,
	}
}

// assembleResult is what consortium assemble prints.
type assembleResult struct {
	Genesis      string `json:"genesis"`
	ManifestFile string `json:"manifest_file"`
	*ceremony.Manifest
}

func runConsortiumAssemble(c *cli.Context) error {
	if c.NArg() < 2 {
		return usageErrorf("give the draft and at least one member file: usage: %s DRAFT MEMBER-FILE...", c.Command.HelpName)
	}
	out := c.String("out")
	man := cmp.Or(c.String("manifest"), filepath.Join(filepath.Dir(out), "manifest.json"))
	for _, p := range []string{out, man} {
		if err := checkOutFree(p, c.Bool("force")); err != nil {
			return err
		}
	}
	args := c.Args().Slice()
	draft, err := readInputFile(args[0], "draft", maxSmallFile)
	if err != nil {
		return err
	}
	var files []ceremony.File
	for _, p := range args[1:] {
		bz, err := readInputFile(p, "member file", maxSmallFile)
		if err != nil {
			return err
		}
		files = append(files, ceremony.File{Name: p, Data: bz})
	}
	genesis, m, err := ceremony.Assemble(draft, files)
	if err != nil {
		return inputErrorf("%v", err)
	}
	mb, err := ceremony.Encode(m)
	if err != nil {
		return failf("%v", err)
	}
	if err := writeFileAtomic(out, genesis, 0o644, c.Bool("force")); err != nil {
		return err
	}
	if err := writeFileAtomic(man, mb, 0o644, c.Bool("force")); err != nil {
		return err
	}
	res := assembleResult{Genesis: out, ManifestFile: man, Manifest: m}
	return emit(c, res, func(w io.Writer) error {
		printf(w, "Assembled consortium %s: %d members\n", m.ChainID, len(m.Members))
		t := indented(w, "  ")
		t.row("genesis", out)
		t.row("manifest", man)
		t.row("genesis SHA-256", m.GenesisSHA256)
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\n")
		t = indented(w, "  ", "ORG", "KIND", "P2P", "NODE ID", "ADMINISTRATOR")
		for _, mm := range m.Members {
			b := mm.Body
			t.row(b.Org, string(b.Kind), b.Node.P2P, b.Node.ID, b.Admin.Account)
		}
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\nSend %s to every member: each runs veritrial consortium install %s --home ~/veritrial\nand reads out the genesis SHA-256 it prints to the others.\n", filepath.Base(out), filepath.Base(out))
		return nil
	})
}

func ceremonyInstallCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "check this organisation's entry in genesis.json and install it with the peers (each organisation)",
		ArgsUsage: "GENESIS",
		UsageText: `veritrial consortium install GENESIS --home DIR [--later] [--force]

Example:
   veritrial consortium install genesis.json --home ~/veritrial`,
		Description: `On the home made by consortium join: checks that the genesis is the one the
draft and its app_state give (chain ID, genesis time, consensus parameters,
validators, governance rules, expected members) and that it holds this
organisation exactly as its member file declared it, with this home's keys and
no other account or node. Then writes it to config/genesis.json, makes the
other members' validator nodes the persistent peers in config.toml, and prints
the genesis SHA-256: read it out to the other members; the same hash is the
same consortium. --force replaces another genesis installed before, as long as
the node has not run on it. On the home of an organisation that joined later
(join --later), --later checks that the genesis does not include it; every
member's validator node becomes a peer.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "replace another genesis the node has not run on"},
			&cli.BoolFlag{Name: "later", Usage: "the home joined a running consortium (join --later)"},
		},
		Action: runConsortiumInstall,
	}
}

// installResult is what consortium install prints.
type installResult struct {
	Home string `json:"home"`
	*ceremony.Installed
}

func runConsortiumInstall(c *cli.Context) error {
	if err := exactArgs(c, "genesis"); err != nil {
		return err
	}
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	genesis, err := readInputFile(c.Args().First(), "genesis", maxGenesisFile)
	if err != nil {
		return err
	}
	in, err := ceremony.Install(conf, genesis, ceremony.InstallOptions{Replace: c.Bool("force"), Later: c.Bool("later")})
	if err != nil {
		return inputErrorf("%v", pathError(err))
	}
	return emit(c, installResult{Home: home, Installed: in}, func(w io.Writer) error {
		what := "Installed"
		if in.Again {
			what = "Already installed:"
		}
		printf(w, "%s the genesis of consortium %s in %s (%s)\n\n  genesis SHA-256  %s\n\nRead it out to every other member before starting: the same hash is the same consortium.\n\n",
			what, in.ChainID, home, in.Org, in.GenesisSHA256)
		t := indented(w, "  ", "ORG", "KIND", "POWER", "NODE ID", "HOST", "NAME")
		for _, o := range in.Orgs {
			for _, v := range o.Validators {
				t.row(o.ID, string(o.Kind), strconv.FormatInt(v.Power, 10), v.NodeID, v.Host, o.Name)
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		if c.Bool("later") {
			// The members' nodes accept only the node IDs on the ledger.
			printf(w, "\nPersistent peers: %d. Once the members have voted this organisation in, start the node with:  veritrial --home %s start --state-sync RPC1,RPC2   (two members' RPC addresses)\n", len(in.Peers), home)
			return nil
		}
		printf(w, "\nPersistent peers: %d. Start the node with:  veritrial --home %s start\n", len(in.Peers), home)
		return nil
	})
}
