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
--from key.

Exits 1, after printing the status, when the node has halted (its consensus
failed, so it no longer follows the chain) or when the chain has not
advanced at the node for ten times its longest interval between blocks (at
least a minute): a consortium without two thirds of its voting power, or a
node cut off from its peers.`,
		Action: runStatus,
	}
}

// statusDoc is veritrial status's result: the node's status, each
// validator with the organisation that runs it.
type statusDoc struct {
	Node string `json:"node"`
	*client.NodeStatus
	// StalledFor is how long the chain has gone without a block at this
	// node, when that is far longer than it should (client.NodeStatus.Stalled).
	StalledFor string `json:"stalled_for,omitempty"`
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
	if stalled := st.Stalled(time.Now()); stalled > 0 {
		doc.StalledFor = stalled.Round(time.Second).String()
	}
	err = emit(c, doc, func(w io.Writer) error {
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
		t.row("State machine", fmt.Sprintf("version %d", doc.StateMachineVersion))
		if h := doc.Halted; h != nil {
			t.row("HALTED", fmt.Sprintf("since %s, after height %d: %s", h.Since.Format(time.RFC3339), h.Height, h.Reason))
		} else if doc.StalledFor != "" {
			t.row("STALLED", fmt.Sprintf("no block for %s, though the chain makes one at least every %s", doc.StalledFor, time.Duration(doc.MaxBlockIntervalMS)*time.Millisecond))
		}
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
	switch {
	case err != nil:
		return err
	case doc.Halted != nil && doc.Halted.Upgrade != "":
		return failf("the node has stopped after height %d for upgrade %s, which its release does not carry: its operator starts the release that does (the halt's reason names it); until then, read from a node that runs it", doc.Halted.Height, doc.Halted.Upgrade)
	case doc.Halted != nil:
		return failf("the node has halted: its consensus failed after height %d, so it no longer follows the chain and what it serves may be stale; read from another node, and tell its operator (its log has the cause)", doc.Halted.Height)
	case doc.StalledFor != "":
		return failf("the chain has not advanced at this node for %s: the consortium may have lost the two thirds of voting power it needs, or this node is cut off from its peers (%d connected)", doc.StalledFor, len(doc.Peers))
	}
	return nil
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
