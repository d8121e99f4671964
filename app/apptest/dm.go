package apptest

import (
	"encoding/json"

	"github.com/veritrial/veritrial/app/types"
)

// Data management message builders for the example study.

// OpenQueryMsg raises a query on item (empty: the whole form) of the form
// at k.
func OpenQueryMsg(k types.FormKey, item, text string) types.Msg {
	return types.Msg{QueryOpen: &types.MsgOpenQuery{FormKey: k, Item: item, Text: text}}
}

// QueryMsg builds a query action (query_answer, query_close,
// query_reopen, query_cancel) on query n of the example study.
func QueryMsg(kind types.Kind, n int, text string) types.Msg {
	a := &types.MsgQueryAction{Study: StudyID, Number: n, Text: text}
	if m, ok := types.QueryActionMsg(kind, a); ok {
		return m
	}
	panic("apptest: not a query action: " + string(kind))
}

// VerifyMsg marks item (empty: the form; form empty too: the event) as
// verified against source.
func VerifyMsg(subject, event string, repeat int, form, item string) types.Msg {
	return types.Msg{Verify: &types.MsgVerify{Study: StudyID, Subject: subject, Event: event, EventRepeat: repeat, Form: form, Item: item}}
}

// ScopeMsg builds a freeze, unfreeze, lock or unlock of sc.
func ScopeMsg(kind types.Kind, sc types.Scope, reason string) types.Msg {
	if m, ok := types.ScopeActionMsg(kind, &types.MsgScope{Scope: sc, Reason: reason}); ok {
		return m
	}
	panic("apptest: not a scope action: " + string(kind))
}

// FormsUnder returns the current form records under a store prefix at the
// latest height, in key order.
func (c *Chain) FormsUnder(prefix []byte) []types.FormRecord {
	c.T.Helper()
	bz, _ := json.Marshal(types.ListRequest{Prefix: string(prefix)})
	res := c.Query(types.QueryList, bz, 0, false)
	if res.Code != 0 {
		c.T.Fatalf("list %s: %s", prefix, res.Log)
	}
	var lr types.ListResponse
	if err := json.Unmarshal(res.Value, &lr); err != nil {
		c.T.Fatal(err)
	}
	var out []types.FormRecord
	for _, e := range lr.Entries {
		var r types.FormRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			c.T.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// SignMsg builds a signature of a form (form set), an event (event set) or
// a casebook with the content hash computed, as a client does, from the
// ledger's latest committed state.
func (c *Chain) SignMsg(subject, event string, repeat int, form, meaning string) types.Msg {
	c.T.Helper()
	m := &types.MsgSign{Study: StudyID, Subject: subject, Event: event, EventRepeat: repeat, Form: form, Meaning: meaning}
	m.ContentHash = m.Content(c.FormsUnder(m.FormPrefix())).Hash()
	return types.Msg{Sign: m}
}
