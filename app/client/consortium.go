package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Consortium reads: organisations, governance rules and proposals, at
// height (0 = latest), each record's proof checked with prove.

// Orgs lists every organisation, removed ones included, in ID order, and
// the height read.
func (c *Client) Orgs(ctx context.Context, height int64, prove bool) ([]types.Org, int64, error) {
	return listJSON[types.Org](ctx, c, types.PrefixOrg, height, prove)
}

// Governance reads the governance record: the rules in force and the
// number of the last proposal.
func (c *Client) Governance(ctx context.Context, height int64, prove bool) (*types.Governance, *Proven, error) {
	return getRequired[types.Governance](ctx, c, types.KeyGovernance, height, prove, func() error {
		return fmt.Errorf("the ledger has no governance record")
	})
}

// Proposals lists every consortium proposal in number order, and the
// height read.
func (c *Client) Proposals(ctx context.Context, height int64, prove bool) ([]types.Proposal, int64, error) {
	return listJSON[types.Proposal](ctx, c, types.PrefixProposal, height, prove)
}

// Proposal reads consortium proposal n.
func (c *Client) Proposal(ctx context.Context, n int, height int64, prove bool) (*types.Proposal, *Proven, error) {
	return getRequired[types.Proposal](ctx, c, types.KeyProposal(n), height, prove, func() error {
		return fmt.Errorf("there is no consortium proposal %d", n)
	})
}
