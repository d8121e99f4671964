package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Study reads a study record.
func (c *Client) Study(ctx context.Context, id string, height int64, prove bool) (*types.Study, *Proven, error) {
	return getRequired[types.Study](ctx, c, types.KeyStudy(id), height, prove, func() error {
		return fmt.Errorf("study %q is not registered", id)
	})
}

// ProtocolVersion reads version n of a study's protocol.
func (c *Client) ProtocolVersion(ctx context.Context, study string, n int, height int64, prove bool) (*types.ProtocolVersion, *Proven, error) {
	return getRequired[types.ProtocolVersion](ctx, c, types.KeyProtocol(study, n), height, prove, func() error {
		return fmt.Errorf("study %q has no protocol version %d", study, n)
	})
}

// Amendment reads amendment n of a study.
func (c *Client) Amendment(ctx context.Context, study string, n int, height int64, prove bool) (*types.Amendment, *Proven, error) {
	return getRequired[types.Amendment](ctx, c, types.KeyAmendment(study, n), height, prove, func() error {
		return fmt.Errorf("study %q has no amendment %d", study, n)
	})
}

// Subject reads a subject.
func (c *Client) Subject(ctx context.Context, study, id string, height int64, prove bool) (*types.Subject, *Proven, error) {
	return getRequired[types.Subject](ctx, c, types.KeySubject(study, id), height, prove, func() error {
		return fmt.Errorf("subject %q is not enrolled in study %q", id, study)
	})
}

// Account reads an account.
func (c *Client) Account(ctx context.Context, id string, height int64, prove bool) (*types.Account, *Proven, error) {
	return getRequired[types.Account](ctx, c, types.KeyAccount(id), height, prove, func() error {
		return fmt.Errorf("account %q does not exist", id)
	})
}

// Form reads the current version of a form.
func (c *Client) Form(ctx context.Context, k types.FormKey, height int64, prove bool) (*types.FormRecord, *Proven, error) {
	return getRequired[types.FormRecord](ctx, c, types.KeyForm(k), height, prove, func() error {
		return fmt.Errorf("form %s of subject %s at %s (repeat %d) has not been entered", k.Form, k.Subject, k.Event, k.EventRepeat)
	})
}

// FormHistory returns every version of a form, oldest first: the
// superseded versions and the current one, all read at the same height.
func (c *Client) FormHistory(ctx context.Context, k types.FormKey, height int64, prove bool) ([]types.FormRecord, error) {
	cur, p, err := c.Form(ctx, k, height, prove)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(string(types.KeyFormHistory(k, 0)), "000000")
	entries, _, err := c.List(ctx, prefix, p.Height, prove)
	if err != nil {
		return nil, err
	}
	out := make([]types.FormRecord, 0, len(entries)+1)
	for _, e := range entries {
		var r types.FormRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("history record %q is not valid: %w", e.Key, err)
		}
		out = append(out, r)
	}
	return append(out, *cur), nil
}

// AccountHistory returns every change of an account, oldest first.
func (c *Client) AccountHistory(ctx context.Context, id string, height int64, prove bool) ([]types.AccountChange, error) {
	out, _, err := listJSON[types.AccountChange](ctx, c, types.PrefixAcctHist+id+"/", height, prove)
	return out, err
}

// Subjects lists a study's subjects.
func (c *Client) Subjects(ctx context.Context, study string, height int64, prove bool) ([]types.Subject, error) {
	out, _, err := listJSON[types.Subject](ctx, c, types.PrefixSubject+study+"/", height, prove)
	return out, err
}

// SubjectForms lists the current forms of a subject (or of a whole study
// when subject is empty).
func (c *Client) SubjectForms(ctx context.Context, study, subject string, height int64, prove bool) ([]types.FormRecord, error) {
	prefix := types.PrefixForm + study + "/"
	if subject != "" {
		prefix += subject + "/"
	}
	out, _, err := listJSON[types.FormRecord](ctx, c, prefix, height, prove)
	return out, err
}

// getRequired reads and decodes the record at key; an absent record is
// the error missing returns.
func getRequired[T any](ctx context.Context, c *Client, key []byte, height int64, prove bool, missing func() error) (*T, *Proven, error) {
	var v T
	p, ok, err := c.GetJSON(ctx, key, height, prove, &v)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, missing()
	}
	return &v, p, nil
}
