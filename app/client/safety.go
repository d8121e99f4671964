package client

import (
	"context"

	"github.com/veritrial/veritrial/app/types"
)

// SAEs lists the serious adverse event records of a study (of one
// subject when subject is not empty) that the reader may read, in key
// order: by subject, event, form and row.
func (r *Reader) SAEs(ctx context.Context, study, subject string) ([]types.SAE, error) {
	return ListJSON[types.SAE](ctx, r, subjectPrefix(types.PrefixSAE, study, subject))
}
