package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Study reads a study record.
func (r *Reader) Study(ctx context.Context, id string) (*types.Study, error) {
	return getRequired[types.Study](ctx, r, types.KeyStudy(id), func() error {
		return fmt.Errorf("study %q is not registered", id)
	})
}

// ProtocolVersion reads version n of a study's protocol.
func (r *Reader) ProtocolVersion(ctx context.Context, study string, n int) (*types.ProtocolVersion, error) {
	return getRequired[types.ProtocolVersion](ctx, r, types.KeyProtocol(study, n), func() error {
		return fmt.Errorf("study %q has no protocol version %d", study, n)
	})
}

// Amendment reads amendment n of a study.
func (r *Reader) Amendment(ctx context.Context, study string, n int) (*types.Amendment, error) {
	return getRequired[types.Amendment](ctx, r, types.KeyAmendment(study, n), func() error {
		return fmt.Errorf("study %q has no amendment %d", study, n)
	})
}

// Subject reads a subject.
func (r *Reader) Subject(ctx context.Context, study, id string) (*types.Subject, error) {
	return getRequired[types.Subject](ctx, r, types.KeySubject(study, id), func() error {
		return fmt.Errorf("subject %q is not enrolled in study %q", id, study)
	})
}

// Account reads an account.
func (r *Reader) Account(ctx context.Context, id string) (*types.Account, error) {
	return getRequired[types.Account](ctx, r, types.KeyAccount(id), func() error {
		return fmt.Errorf("account %q does not exist", id)
	})
}

// Sites lists a study's site activations with their principal
// investigators.
func (r *Reader) Sites(ctx context.Context, study string) ([]types.Site, error) {
	return ListJSON[types.Site](ctx, r, types.PrefixSite+study+"/")
}

// Delegations lists a study's delegations in key order: to CROs, then to
// each site's people.
func (r *Reader) Delegations(ctx context.Context, study string) ([]types.Delegation, error) {
	return ListJSON[types.Delegation](ctx, r, types.PrefixDeleg+study+"/")
}

// KeyRotation reads the last request to rotate an account's key; nil when
// there was none.
func (r *Reader) KeyRotation(ctx context.Context, account string) (*types.KeyRotation, error) {
	var k types.KeyRotation
	ok, err := r.GetJSON(ctx, types.KeyKeyRotation(account), &k)
	if err != nil || !ok {
		return nil, err
	}
	return &k, nil
}

// Form reads the current version of a form.
func (r *Reader) Form(ctx context.Context, k types.FormKey) (*types.FormRecord, error) {
	return getRequired[types.FormRecord](ctx, r, types.KeyForm(k), func() error {
		return fmt.Errorf("form %s of subject %s at %s (repeat %d) has not been entered", k.Form, k.Subject, k.Event, k.EventRepeat)
	})
}

// FormHistory returns every version of a form, oldest first: the
// superseded versions and the current one.
func (r *Reader) FormHistory(ctx context.Context, k types.FormKey) ([]types.FormRecord, error) {
	cur, err := r.Form(ctx, k)
	if err != nil {
		return nil, err
	}
	out, err := ListJSON[types.FormRecord](ctx, r, strings.TrimSuffix(string(types.KeyFormHistory(k, 0)), "000000"))
	if err != nil {
		return nil, err
	}
	return append(out, *cur), nil
}

// AccountHistory returns every change of an account, oldest first.
func (r *Reader) AccountHistory(ctx context.Context, id string) ([]types.AccountChange, error) {
	return ListJSON[types.AccountChange](ctx, r, types.PrefixAcctHist+id+"/")
}

// Subjects lists a study's subjects.
func (r *Reader) Subjects(ctx context.Context, study string) ([]types.Subject, error) {
	return ListJSON[types.Subject](ctx, r, types.PrefixSubject+study+"/")
}

// SubjectForms lists the current forms of a subject (or of a whole study
// when subject is empty).
func (r *Reader) SubjectForms(ctx context.Context, study, subject string) ([]types.FormRecord, error) {
	return ListJSON[types.FormRecord](ctx, r, subjectPrefix(types.PrefixForm, study, subject))
}

// subjectPrefix is the prefix of a study's records of kind prefix, or of
// one subject's when subject is not empty.
func subjectPrefix(prefix, study, subject string) string {
	prefix += study + "/"
	if subject != "" {
		prefix += subject + "/"
	}
	return prefix
}

// getRequired reads and decodes the record at key; an absent record is
// the error missing returns, and so is one the reader may not read (the
// node does not say whether it exists).
func getRequired[T any](ctx context.Context, r *Reader, key []byte, missing func() error) (*T, error) {
	v := new(T)
	ok, err := r.GetJSON(ctx, key, v)
	var ref *Refusal
	if errors.As(err, &ref) && ref.Code == types.CodeReadNotVisible {
		return nil, fmt.Errorf("%v, or you may not read it: %w", missing(), err)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, missing()
	}
	return v, nil
}
