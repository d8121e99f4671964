package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Randomisation: a subject's allocation, the strata of a study's
// allocation list and their entries.

// Allocation reads a randomised subject's allocation.
func (r *Reader) Allocation(ctx context.Context, study, subject string) (*types.Allocation, error) {
	return getRequired[types.Allocation](ctx, r, types.KeyAllocation(study, subject), func() error {
		return fmt.Errorf("subject %s of study %s is not randomised", subject, study)
	})
}

// Allocations lists the study's allocations, by subject.
func (r *Reader) Allocations(ctx context.Context, study string) ([]types.Allocation, error) {
	return ListJSON[types.Allocation](ctx, r, types.PrefixAllocation+study+"/")
}

// RandStrata lists the strata of the study's allocation list.
func (r *Reader) RandStrata(ctx context.Context, study string) ([]types.RandStratum, error) {
	return ListJSON[types.RandStratum](ctx, r, types.PrefixRandStratum+study+"/")
}

// RandEntries lists the registered entries of a stratum, in sequence
// order.
func (r *Reader) RandEntries(ctx context.Context, study, stratum string) ([]types.RandEntry, error) {
	return ListJSON[types.RandEntry](ctx, r, string(types.PrefixRandEntriesOf(study, stratum)))
}
