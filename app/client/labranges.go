package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Reference ranges for lab items: the study's tables and the assessments
// of flagged lab values.

// LabRangeTable reads version n of a study's reference-range table.
func (r *Reader) LabRangeTable(ctx context.Context, study string, n int) (*types.LabRangeTable, error) {
	return getRequired[types.LabRangeTable](ctx, r, types.KeyLabRanges(study, n), func() error {
		return fmt.Errorf("study %q has no reference-range table version %d", study, n)
	})
}

// LabAssessments lists the assessments of the flagged lab values of form
// k, by item and row.
func (r *Reader) LabAssessments(ctx context.Context, k types.FormKey) ([]types.LabAssessments, error) {
	return ListJSON[types.LabAssessments](ctx, r, string(types.PrefixLabAssessOf(k)))
}

// SubjectLabAssessments lists the assessments of the flagged lab values of
// a subject's forms.
func (r *Reader) SubjectLabAssessments(ctx context.Context, study, subject string) ([]types.LabAssessments, error) {
	return ListJSON[types.LabAssessments](ctx, r, subjectPrefix(types.PrefixLabAssess, study, subject))
}
