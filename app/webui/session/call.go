package session

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// args are the arguments of every call, in JSON; each call reads the ones
// it names.
type args struct {
	KeyFile    string                 `json:"key_file"`
	Passphrase string                 `json:"passphrase"`
	Key        types.FormKey          `json:"key"`
	Values     []protocol.ItemValue   `json:"values"`
	Reason     string                 `json:"reason"`
	Resolves   []int                  `json:"resolves"`
	Enroll     types.MsgEnrollSubject `json:"enroll"`
	Document   []byte                 `json:"document"`
	Msg        types.Msg              `json:"msg"`
	Hash       string                 `json:"hash"`
	Sign       types.MsgSign          `json:"sign"`
	Level      string                 `json:"level"`
}

// Call answers the page's call name with its arguments in JSON: the
// WebAssembly module's one entry point.
func (s *Session) Call(ctx context.Context, name string, in []byte) (any, error) {
	var a args
	if len(in) > 0 {
		if err := json.Unmarshal(in, &a); err != nil {
			return nil, fmt.Errorf("the arguments of %s are not valid: %w", name, err)
		}
	}
	switch name {
	case "signIn":
		return s.SignIn(ctx, []byte(a.KeyFile), a.Passphrase)
	case "signOut":
		s.SignOut()
		return struct{}{}, nil
	case "reauthenticate":
		return struct{}{}, s.Reauthenticate([]byte(a.KeyFile), a.Passphrase)
	case "dashboard":
		return s.Dashboard(ctx)
	case "inbox":
		return s.Inbox(ctx)
	case "form":
		return s.Form(ctx, a.Key)
	case "check":
		return s.Check(a.Key, a.Values)
	case "submit":
		return s.Submit(ctx, a.Key, a.Values)
	case "correct":
		cur := s.otherForms(a.Key)
		current, ok := cur(a.Key.Event, a.Key.EventRepeat, a.Key.Form)
		if !ok {
			return nil, fmt.Errorf("form %s of %s at %s has not been entered: submit it first", a.Key.Form, a.Key.Subject, a.Key.Event)
		}
		return s.Correct(ctx, a.Key, current, a.Values, a.Reason, a.Resolves)
	case "enroll":
		return s.Enroll(ctx, a.Enroll)
	case "consentSHA256":
		return ConsentSHA256(a.Document), nil
	case "send":
		return s.Send(ctx, a.Msg)
	case "signScreen":
		return s.SignScreen(ctx, a.Key, a.Level)
	case "sign":
		return s.Sign(ctx, a.Sign, []byte(a.KeyFile), a.Passphrase)
	case "proveHistory":
		return s.ProveHistory(ctx, a.Key)
	case "txStatus":
		return s.TxStatus(ctx, a.Hash)
	}
	return nil, fmt.Errorf("there is no call %q", name)
}
