package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"

	"github.com/veritrial/veritrial/app/types"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:     "status",
		Category: categoryNode,
		Usage:    "show the node's height, app hash, validators and peers",
		UsageText: `veritrial status --from KEY

Example:
   veritrial status --from regulator-auditor
   veritrial status --from sponsor-dm --node https://node.sponsor.example:26680 --output json`,
		Description: `Asks the node at --node (default: the home's read API) for its latest block,
app hash, validator set (with the organisation running each validator, from
the ledger's organisations) and connected peers, in a request signed by the
--from key.`,
		Action: runStatus,
	}
}

// statusDoc is veritrial status's result: the node's status, each
// validator with the organisation that runs it.
type statusDoc struct {
	Node string `json:"node"`
	*client.NodeStatus
}

func runStatus(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := rpcContext(c)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		return nodeError(err)
	}
	orgOf := validatorOrgs(ctx, cl)
	for i, v := range st.Validators {
		st.Validators[i].Org = orgOf[v.PubKey]
	}
	doc := statusDoc{Node: cl.Addr(), NodeStatus: st}
	return emit(c, doc, func(w io.Writer) error {
		t := newTable(w)
		t.row("Node", fmt.Sprintf("%s (%s, id %s)", doc.Node, doc.Moniker, doc.NodeID))
		t.row("Chain ID", doc.ChainID)
		height := fmt.Sprint(doc.Height)
		if doc.CatchingUp {
			height += " (catching up)"
		}
		t.row("Height", height)
		if !doc.LatestBlockTime.IsZero() {
			t.row("Latest block time", doc.LatestBlockTime.Format(time.RFC3339Nano))
		}
		t.row("App hash", doc.AppHash)
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\nValidators (%d):\n", len(doc.Validators))
		t = indented(w, "  ")
		t.row("ADDRESS", "POWER", "ORG")
		for _, v := range doc.Validators {
			org := v.Org
			if org == "" {
				org = "-"
			}
			t.row(v.Address, fmt.Sprint(v.Power), org)
		}
		if err := t.flush(); err != nil {
			return err
		}
		printf(w, "\nPeers (%d):\n", len(doc.Peers))
		if len(doc.Peers) == 0 {
			printf(w, "  none\n")
			return nil
		}
		t = indented(w, "  ")
		t.row("ID", "MONIKER", "ADDRESS", "DIRECTION")
		for _, p := range doc.Peers {
			dir := "inbound"
			if p.Outbound {
				dir = "outbound"
			}
			t.row(p.ID, p.Moniker, p.ListenAddr, dir)
		}
		return t.flush()
	})
}

// validatorOrgs maps base64 validator public keys, retired ones included,
// to the organisation that runs them, from the ledger's organisations.
// Failures leave the map empty: the organisation is a courtesy, not part
// of the status.
func validatorOrgs(ctx context.Context, cl *client.Client) map[string]string {
	out := map[string]string{}
	orgs, err := cl.Reader(0, false).Orgs(ctx)
	if err != nil {
		return out
	}
	for _, o := range orgs {
		for _, v := range o.Validators {
			out[types.KeyText(v.PubKey)] = o.ID
		}
	}
	return out
}
