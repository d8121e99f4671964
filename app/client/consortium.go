package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Consortium reads: organisations, governance rules, proposals and the
// access log heads of the organisations' nodes.

// Orgs lists every organisation, removed ones included, in ID order.
func (r *Reader) Orgs(ctx context.Context) ([]types.Org, error) {
	return ListJSON[types.Org](ctx, r, types.PrefixOrg)
}

// Governance reads the governance record: the rules in force and the
// number of the last proposal.
func (r *Reader) Governance(ctx context.Context) (*types.Governance, error) {
	return getRequired[types.Governance](ctx, r, types.KeyGovernance, func() error {
		return fmt.Errorf("the ledger has no governance record")
	})
}

// Proposals lists every consortium proposal in number order.
func (r *Reader) Proposals(ctx context.Context) ([]types.Proposal, error) {
	return ListJSON[types.Proposal](ctx, r, types.PrefixProposal)
}

// Proposal reads consortium proposal n.
func (r *Reader) Proposal(ctx context.Context, n int) (*types.Proposal, error) {
	return getRequired[types.Proposal](ctx, r, types.KeyProposal(n), func() error {
		return fmt.Errorf("there is no consortium proposal %d", n)
	})
}

// AccessHeads lists every head of node's access log committed to the
// ledger, in sequence order.
func (r *Reader) AccessHeads(ctx context.Context, node string) ([]types.AccessHead, error) {
	return ListJSON[types.AccessHead](ctx, r, types.PrefixAccessHeadOf(node))
}
