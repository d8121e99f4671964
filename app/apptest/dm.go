package apptest

import (
	"encoding/json"

	"github.com/veritrial/veritrial/app/types"
)

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
