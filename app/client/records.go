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
	var s types.Study
	p, ok, err := c.GetJSON(ctx, types.KeyStudy(id), height, prove, &s)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("study %q is not registered", id)
	}
	return &s, p, nil
}

// ProtocolVersion reads version n of a study's protocol.
func (c *Client) ProtocolVersion(ctx context.Context, study string, n int, height int64, prove bool) (*types.ProtocolVersion, *Proven, error) {
	var pv types.ProtocolVersion
	p, ok, err := c.GetJSON(ctx, types.KeyProtocol(study, n), height, prove, &pv)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("study %q has no protocol version %d", study, n)
	}
	return &pv, p, nil
}

// Amendment reads amendment n of a study.
func (c *Client) Amendment(ctx context.Context, study string, n int, height int64, prove bool) (*types.Amendment, *Proven, error) {
	var a types.Amendment
	p, ok, err := c.GetJSON(ctx, types.KeyAmendment(study, n), height, prove, &a)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("study %q has no amendment %d", study, n)
	}
	return &a, p, nil
}

// Subject reads a subject.
func (c *Client) Subject(ctx context.Context, study, id string, height int64, prove bool) (*types.Subject, *Proven, error) {
	var s types.Subject
	p, ok, err := c.GetJSON(ctx, types.KeySubject(study, id), height, prove, &s)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("subject %q is not enrolled in study %q", id, study)
	}
	return &s, p, nil
}

// Account reads an account.
func (c *Client) Account(ctx context.Context, id string, height int64, prove bool) (*types.Account, *Proven, error) {
	var a types.Account
	p, ok, err := c.GetJSON(ctx, types.KeyAccount(id), height, prove, &a)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("account %q does not exist", id)
	}
	return &a, p, nil
}

// Form reads the current version of a form.
func (c *Client) Form(ctx context.Context, k types.FormKey, height int64, prove bool) (*types.FormRecord, *Proven, error) {
	var r types.FormRecord
	p, ok, err := c.GetJSON(ctx, types.KeyForm(k), height, prove, &r)
	if err != nil {
		return nil, p, err
	}
	if !ok {
		return nil, p, fmt.Errorf("form %s of subject %s at %s (repeat %d) has not been entered", k.Form, k.Subject, k.Event, k.EventRepeat)
	}
	return &r, p, nil
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
	entries, _, err := c.List(ctx, types.PrefixAcctHist+id+"/", height, prove)
	if err != nil {
		return nil, err
	}
	out := make([]types.AccountChange, 0, len(entries))
	for _, e := range entries {
		var ch types.AccountChange
		if err := json.Unmarshal(e.Value, &ch); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// Subjects lists a study's subjects.
func (c *Client) Subjects(ctx context.Context, study string, height int64, prove bool) ([]types.Subject, error) {
	entries, _, err := c.List(ctx, types.PrefixSubject+study+"/", height, prove)
	if err != nil {
		return nil, err
	}
	out := make([]types.Subject, 0, len(entries))
	for _, e := range entries {
		var s types.Subject
		if err := json.Unmarshal(e.Value, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SubjectForms lists the current forms of a subject (or of a whole study
// when subject is empty).
func (c *Client) SubjectForms(ctx context.Context, study, subject string, height int64, prove bool) ([]types.FormRecord, error) {
	prefix := types.PrefixForm + study + "/"
	if subject != "" {
		prefix += subject + "/"
	}
	entries, _, err := c.List(ctx, prefix, height, prove)
	if err != nil {
		return nil, err
	}
	out := make([]types.FormRecord, 0, len(entries))
	for _, e := range entries {
		var r types.FormRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
