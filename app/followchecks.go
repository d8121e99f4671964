package app

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Checks follow the data.
//
// When a form changes (a submission or a correction), the edit checks,
// show-if conditions and derivations of the subject's other entered forms
// that read it are run again, under the protocol version each of those
// forms is judged under, once with the changed form as it was and once as
// it is now. A problem that appears opens a system query on that form, a
// hard one marked as such: data already on the ledger is never refused
// retroactively. A problem that disappears closes the form's unresolved
// system query for it. The changed form's own system queries whose
// warning a correction cleared close too. Comparing the two runs, rather
// than the stored warnings, attributes to the change exactly what it
// caused: an amendment alone opens no query. From state-machine version
// 4 the derived items of those forms follow too (rederive).

// problemKey identifies a problem for its system query: item, row and
// reason code (the query's Check).
type problemKey struct {
	item   string
	repeat int
	check  string
}

// followChecks runs the checks of the subject's other forms that read the
// form of rec, with the form's previous values prev (nil for a first
// entry) and its values now.
func (x *exec) followChecks(site string, c *protocol.Compiled, rec *types.FormRecord, prev []protocol.ItemValue) *types.Error {
	return x.followChecksAt(site, c, rec, prev, 0)
}

// followChecksAt is followChecks for a form version depth recomputations
// away from the tx's own change (rederive).
func (x *exec) followChecksAt(site string, c *protocol.Compiled, rec *types.FormRecord, prev []protocol.ItemValue, depth int) *types.Error {
	readers := c.ReadersOf(rec.Form)
	if len(readers) == 0 {
		return nil
	}
	// The study as the tx left it so far (its query counter).
	s, e := x.study(rec.Study)
	if e != nil {
		return e
	}
	var keys [][]byte
	prefix := []byte(fmt.Sprintf("%s%s/%s/", types.PrefixForm, rec.Study, rec.Subject))
	if err := iteratePrefix(x.tree, prefix, func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	}); err != nil {
		return internal(err)
	}
	opened := 0
	for _, k := range keys {
		// The key ends in the form's OID: forms that do not read rec's
		// are not loaded.
		if !slices.Contains(readers, string(k[bytes.LastIndexByte(k, '/')+1:])) {
			continue
		}
		var other types.FormRecord
		if ok, e := x.load(k, &other); e != nil {
			return e
		} else if !ok || other.FormKey == rec.FormKey || !slices.Contains(readers, other.Form) {
			continue
		}
		judged, oc, e := x.judgingProtocol(s, other.Form, other.ProtocolVersion)
		if e != nil {
			return e
		}
		inputs := oc.Inputs(other.Values)
		now := x.subjectForms(other.FormKey)
		was := func(event string, eventRepeat int, form string) ([]protocol.ItemValue, bool) {
			if event == rec.Event && eventRepeat == rec.EventRepeat && form == rec.Form {
				return prev, prev != nil
			}
			return now(event, eventRepeat, form)
		}
		before, _ := oc.Evaluate(other.Form, inputs, oc.CrossFormLookup(other.Event, other.EventRepeat, was))
		after, derived := oc.Evaluate(other.Form, inputs, oc.CrossFormLookup(other.Event, other.EventRepeat, now))
		n, e := x.followUp(s, site, rec, &other, problemSet(before), after)
		if e != nil {
			return e
		}
		opened += n
		if x.version >= deriveFollowSince {
			// The recomputation may open queries of its own: the study's
			// counter is stored before it, and read again after.
			if opened > 0 {
				x.st.setJSON(types.KeyStudy(s.ID), s)
				opened = 0
			}
			if changed, e := x.rederive(s, site, oc, judged, rec, &other, inputs, derived, after, depth); e != nil {
				return e
			} else if changed {
				if s, e = x.study(rec.Study); e != nil {
					return e
				}
			}
		}
	}
	if opened > 0 {
		x.st.setJSON(types.KeyStudy(s.ID), s)
	}
	return nil
}

// problemSet indexes problems by their query key.
func problemSet(ps []protocol.Problem) map[problemKey]bool {
	out := make(map[problemKey]bool, len(ps))
	for _, p := range ps {
		out[problemKey{p.Item, p.Repeat, p.Code}] = true
	}
	return out
}

// followUp opens a system query on form for each problem of after not in
// before, unless one is already unresolved, and closes the unresolved
// system queries of the problems of before not in after. It returns the
// number of queries opened.
func (x *exec) followUp(s *types.Study, site string, changed, form *types.FormRecord, before map[problemKey]bool, after []protocol.Problem) (int, *types.Error) {
	open, e := x.systemQueries(form.FormKey)
	if e != nil {
		return 0, e
	}
	cause := changeCause(changed)
	opened := 0
	now := problemSet(after)
	for _, p := range after {
		if k := (problemKey{p.Item, p.Repeat, p.Code}); !before[k] && open[k] == nil {
			open[k] = x.openSystemQuery(s, form.FormKey, site, p, p.Message+" (found again after "+cause+")")
			opened++
		}
	}
	for _, q := range byNumber(open) {
		if k := (problemKey{q.Item, q.ItemRepeat, q.Check}); q.Number != 0 && before[k] && !now[k] {
			x.closeSystemQuery(q, "closed by the ledger: "+cause+" cleared the condition")
		}
	}
	return opened, nil
}

// byNumber lists queries in the order of their numbers.
func byNumber(qs map[problemKey]*types.Query) []*types.Query {
	out := make([]*types.Query, 0, len(qs))
	for _, q := range qs {
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b *types.Query) int { return a.Number - b.Number })
	return out
}

// systemQueries returns the unresolved system queries of a form by
// problem key.
func (x *exec) systemQueries(k types.FormKey) (map[problemKey]*types.Query, *types.Error) {
	var keys [][]byte
	if err := iteratePrefix(x.tree, types.PrefixQueryFormOf(k), func(key, _ []byte) bool {
		keys = append(keys, append([]byte(nil), key...))
		return true
	}); err != nil {
		return nil, internal(err)
	}
	out := map[problemKey]*types.Query{}
	for _, key := range keys {
		i := bytes.LastIndexByte(key, '/')
		n, err := strconv.Atoi(string(key[i+1:]))
		if err != nil {
			return nil, internal(fmt.Errorf("malformed query index key %q", key))
		}
		q, e := x.dataQuery(k.Study, n)
		if e != nil {
			return nil, e
		}
		if q.RaisedBy == types.SystemRaiser && !q.Status.Resolved() {
			out[problemKey{q.Item, q.ItemRepeat, q.Check}] = q
		}
	}
	return out, nil
}

// closeSystemQuery closes a system query whose condition no longer holds.
func (x *exec) closeSystemQuery(q *types.Query, text string) {
	q.Status = types.QueryClosed
	q.Thread = append(q.Thread, types.QueryMessage{Action: "close", Text: text, Stamp: x.stamp()})
	x.st.setJSON(types.KeyQuery(q.Study, q.Number), q)
	x.emit("study", q.Study, "subject", q.Subject, "query", strconv.Itoa(q.Number), "action", "close")
}

// changeCause names the form version whose change a system query's
// opening or closing follows: "the correction of form DM at SCR
// (version 2)".
func changeCause(rec *types.FormRecord) string {
	what := "correction"
	if rec.Version == 1 {
		what = "entry"
	}
	return fmt.Sprintf("the %s of form %s at %s (version %d)", what, rec.Form, rec.Event, rec.Version)
}

// openSystemQuery opens a query the ledger raises on form k for problem
// p, with text, a hard problem's marked as such; the study record s
// counts it (the caller stores s).
func (x *exec) openSystemQuery(s *types.Study, k types.FormKey, site string, p protocol.Problem, text string) *types.Query {
	q := types.Query{Site: site, Item: p.Item, ItemRepeat: p.Repeat, RaisedBy: types.SystemRaiser, Check: p.Code, Hard: p.Severity == protocol.Hard}
	q.Number = x.newDataQuery(s, k, q, text)
	x.emit("study", s.ID, "subject", k.Subject, "query", strconv.Itoa(q.Number), "action", "open")
	return &q
}
