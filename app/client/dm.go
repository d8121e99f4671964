package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Data management reads: queries, SDV, signatures, freeze/lock states.

// Query reads data query n of a study.
func (r *Reader) Query(ctx context.Context, study string, n int) (*types.Query, error) {
	return getRequired[types.Query](ctx, r, types.KeyQuery(study, n), func() error {
		return fmt.Errorf("study %q has no query %d", study, n)
	})
}

// Queries lists every data query of a study in number order.
func (r *Reader) Queries(ctx context.Context, study string) ([]types.Query, error) {
	return ListJSON[types.Query](ctx, r, types.PrefixQuery+study+"/")
}

// SDVs lists the SDV records of a subject (or of a whole study when
// subject is empty).
func (r *Reader) SDVs(ctx context.Context, study, subject string) ([]types.SDVRecord, error) {
	return ListJSON[types.SDVRecord](ctx, r, subjectPrefix(types.PrefixSDV, study, subject))
}

// Signatures lists the e-signatures of a subject (or of a whole study when
// subject is empty), oldest first per subject.
func (r *Reader) Signatures(ctx context.Context, study, subject string) ([]types.Signature, error) {
	return ListJSON[types.Signature](ctx, r, subjectPrefix(types.PrefixSignature, study, subject))
}

// ScopeLocks lists every freeze/lock state ever set in a study.
func (r *Reader) ScopeLocks(ctx context.Context, study string) ([]types.ScopeLock, error) {
	return ListJSON[types.ScopeLock](ctx, r, types.PrefixLock+study+"/")
}

// DatabaseLock reads the pending database lock or unlock approvals of a
// study.
func (r *Reader) DatabaseLock(ctx context.Context, study string) (*types.DatabaseLock, error) {
	var d types.DatabaseLock
	ok, err := r.GetJSON(ctx, types.KeyDBLock(study), &d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &types.DatabaseLock{Study: study, Approvals: []types.Vote{}}, nil
	}
	return &d, nil
}

// SignContent returns the content a signature of m's target would cover;
// set m.ContentHash to its Hash() before sending.
func (r *Reader) SignContent(ctx context.Context, m *types.MsgSign) (types.SignedContent, error) {
	recs, err := ListJSON[types.FormRecord](ctx, r, string(m.FormPrefix()))
	if err != nil {
		return types.SignedContent{}, err
	}
	return m.Content(recs), nil
}
