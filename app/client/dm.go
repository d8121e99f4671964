package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Data management reads: queries, SDV, signatures, freeze/lock states.
// Every helper reads at height (0 = latest) and, with prove, verifies each
// record's ics23 proof against the app hash of that height.

func listJSON[T any](ctx context.Context, c *Client, prefix string, height int64, prove bool) ([]T, int64, error) {
	entries, h, err := c.List(ctx, prefix, height, prove)
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(entries))
	for _, e := range entries {
		var v T
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return nil, 0, fmt.Errorf("record %q is not valid: %w", e.Key, err)
		}
		out = append(out, v)
	}
	return out, h, nil
}

// Query reads data query n of a study.
func (c *Client) Query(ctx context.Context, study string, n int, height int64, prove bool) (*types.Query, *Proven, error) {
	return getRequired[types.Query](ctx, c, types.KeyQuery(study, n), height, prove, func() error {
		return fmt.Errorf("study %q has no query %d", study, n)
	})
}

// Queries lists every data query of a study in number order, and the
// height read.
func (c *Client) Queries(ctx context.Context, study string, height int64, prove bool) ([]types.Query, int64, error) {
	return listJSON[types.Query](ctx, c, types.PrefixQuery+study+"/", height, prove)
}

// SDV reads the source data verification record of a form; found is false
// when the form was never verified.
func (c *Client) SDV(ctx context.Context, k types.FormKey, height int64, prove bool) (*types.SDVRecord, *Proven, bool, error) {
	var r types.SDVRecord
	p, ok, err := c.GetJSON(ctx, types.KeySDV(k), height, prove, &r)
	if err != nil || !ok {
		return nil, p, false, err
	}
	return &r, p, true, nil
}

// SDVs lists the SDV records of a subject (or of a whole study when subject
// is empty).
func (c *Client) SDVs(ctx context.Context, study, subject string, height int64, prove bool) ([]types.SDVRecord, int64, error) {
	prefix := types.PrefixSDV + study + "/"
	if subject != "" {
		prefix += subject + "/"
	}
	return listJSON[types.SDVRecord](ctx, c, prefix, height, prove)
}

// Signatures lists the e-signatures of a subject (or of a whole study when
// subject is empty), oldest first per subject.
func (c *Client) Signatures(ctx context.Context, study, subject string, height int64, prove bool) ([]types.Signature, int64, error) {
	prefix := types.PrefixSignature + study + "/"
	if subject != "" {
		prefix += subject + "/"
	}
	return listJSON[types.Signature](ctx, c, prefix, height, prove)
}

// ScopeLocks lists every freeze/lock state ever set in a study.
func (c *Client) ScopeLocks(ctx context.Context, study string, height int64, prove bool) ([]types.ScopeLock, int64, error) {
	return listJSON[types.ScopeLock](ctx, c, types.PrefixLock+study+"/", height, prove)
}

// ScopeLock reads the state of one scope (open when it was never changed).
func (c *Client) ScopeLock(ctx context.Context, sc types.Scope, height int64, prove bool) (*types.ScopeLock, *Proven, error) {
	var l types.ScopeLock
	p, ok, err := c.GetJSON(ctx, types.KeyLock(sc), height, prove, &l)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return &types.ScopeLock{Scope: sc, Level: sc.Level(), State: types.StateOpen, History: []types.LockChange{}}, p, nil
	}
	return &l, p, nil
}

// DatabaseLock reads the pending database lock or unlock approvals of a
// study.
func (c *Client) DatabaseLock(ctx context.Context, study string, height int64, prove bool) (*types.DatabaseLock, *Proven, error) {
	var d types.DatabaseLock
	p, ok, err := c.GetJSON(ctx, types.KeyDBLock(study), height, prove, &d)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return &types.DatabaseLock{Study: study, Approvals: []types.Vote{}}, p, nil
	}
	return &d, p, nil
}

// SignContent returns the content a signature of m's target would cover,
// read from the ledger at height (0 = latest), with the height read; set
// m.ContentHash to its Hash() before sending.
func (c *Client) SignContent(ctx context.Context, m *types.MsgSign, height int64, prove bool) (types.SignedContent, int64, error) {
	recs, h, err := listJSON[types.FormRecord](ctx, c, string(m.FormPrefix()), height, prove)
	if err != nil {
		return types.SignedContent{}, 0, err
	}
	return m.Content(recs), h, nil
}
