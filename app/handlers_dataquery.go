package app

import (
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Data queries (discrepancy management).
//
// States: open -> answered (by the subject's site, with a comment or a
// correction naming the query) -> closed (by the raiser's organisation),
// or reopened (open again); an open query can be cancelled by its raiser.
// The ledger itself opens a query for every soft edit-check warning a
// submission or correction stores (raised by "system", the opening entry
// attributed to the tx that carried the data).

// openDataQuery raises a data query on an entered form or one of its
// items, or on a form the schedule expects that is missing.
func (x *exec) openDataQuery(m *types.MsgOpenQuery) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.sponsorSide(s, "raise queries", types.TaskMonitoring, types.TaskDataManagement); e != nil {
		return e
	}
	sub, e := x.anySubject(m.Study, m.Subject)
	if e != nil {
		return e
	}
	if e := x.guard(s.ID, sub.Site, sub.ID, &m.FormKey, false); e != nil {
		return e
	}
	var rec types.FormRecord
	if ok, e := x.load(types.KeyForm(m.FormKey), &rec); e != nil {
		return e
	} else if m.Missing {
		if e := x.missingForm(s, m.FormKey, ok); e != nil {
			return e
		}
	} else if !ok {
		return types.Errf(types.CodeFormNotFound, "form %s of subject %s at %s (repeat %d) has not been entered; a query is raised on entered data, or on the missing form with --missing", m.Form, m.Subject, m.Event, m.EventRepeat)
	}
	if m.Item != "" {
		_, c, e := x.protocolVersion(s.ID, rec.ProtocolVersion)
		if e != nil {
			return e
		}
		if _, form, ok := c.Item(m.Item); !ok || form != m.Form {
			return types.Errf(types.CodeItemNotInForm, "item %s is not an item of form %s (protocol version %d); name an item of the form or query the whole form", m.Item, m.Form, rec.ProtocolVersion)
		}
	}
	q := types.Query{
		Site: sub.Site, Item: m.Item, ItemRepeat: m.ItemRepeat,
		RaisedBy: x.c.signer.ID, RaisedOrg: x.c.org.ID, Missing: m.Missing,
	}
	n := x.newDataQuery(s, m.FormKey, q, m.Text)
	x.st.setJSON(types.KeyStudy(s.ID), s)
	x.emit("study", s.ID, "subject", sub.ID, "query", strconv.Itoa(n), "action", "open")
	return nil
}

// missingForm checks that a query on a missing form names a form the
// protocol in force collects where the query says, which has not been
// entered (entered says whether it has).
func (x *exec) missingForm(s *types.Study, k types.FormKey, entered bool) *types.Error {
	_, c, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return e
	}
	if e := placement(c, s, s.Current, k); e != nil {
		return e
	}
	if entered {
		return types.Errf(types.CodeFormExists, "form %s of subject %s at %s (repeat %d) has been entered; raise the query on its data, without --missing", k.Form, k.Subject, k.Event, k.EventRepeat)
	}
	return nil
}

// newDataQuery numbers and stores a data query opened with text; the
// caller stores the study (whose counter it advanced).
func (x *exec) newDataQuery(s *types.Study, k types.FormKey, q types.Query, text string) int {
	s.Queries++
	q.Study, q.Number = s.ID, s.Queries
	q.Subject, q.Event, q.EventRepeat, q.Form = k.Subject, k.Event, k.EventRepeat, k.Form
	q.Status = types.QueryOpen
	q.Thread = []types.QueryMessage{{Action: "open", Text: text, Stamp: x.stamp()}}
	x.st.setJSON(types.KeyQuery(s.ID, q.Number), q)
	x.st.set(types.KeyQueryForm(k, q.Number), []byte{1})
	return q.Number
}

// dataQuery loads data query n of a study.
func (x *exec) dataQuery(study string, n int) (*types.Query, *types.Error) {
	var q types.Query
	ok, e := x.load(types.KeyQuery(study, n), &q)
	if e != nil {
		return nil, e
	}
	if !ok {
		if _, e := x.study(study); e != nil {
			return nil, e
		}
		return nil, types.Errf(types.CodeUnknownQuery, "study %s has no query %d (veritrial query list --study %s shows them)", study, n, study)
	}
	return &q, nil
}

// raiserSide checks that the signer may act for the raiser of q: the
// raiser's organisation (cancel: the raiser), or for a system query the
// study's sponsor or a CRO working on it (sponsorSide checked its
// delegation).
func (x *exec) raiserSide(s *types.Study, q *types.Query, personal bool, what string) *types.Error {
	if q.RaisedBy == types.SystemRaiser {
		if x.c.org.ID == s.Sponsor || x.c.org.Kind == types.OrgCRO {
			return nil
		}
		return types.Errf(types.CodeNotQueryRaiser, "query %d was raised by the ledger's edit checks; only the sponsor's or a CRO's data management can %s it", q.Number, what)
	}
	if personal && x.c.signer.ID != q.RaisedBy {
		return types.Errf(types.CodeNotQueryRaiser, "query %d was raised by %s; only the raiser can %s it", q.Number, q.RaisedBy, what)
	}
	if x.c.org.ID != q.RaisedOrg {
		return types.Errf(types.CodeNotQueryRaiser, "query %d was raised by %s of %s; only %s can %s it", q.Number, q.RaisedBy, q.RaisedOrg, q.RaisedOrg, what)
	}
	return nil
}

// dataQueryAction answers, closes, reopens or cancels a data query.
func (x *exec) dataQueryAction(kind types.Kind, m *types.MsgQueryAction) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	q, e := x.dataQuery(m.Study, m.Number)
	if e != nil {
		return e
	}
	fk := q.FormKey()
	if e := x.guard(s.ID, q.Site, q.Subject, &fk, false); e != nil {
		return e
	}
	var action string
	var from []types.QueryStatus
	var to types.QueryStatus
	switch kind {
	case types.KindQueryAnswer:
		action, from, to = "answer", []types.QueryStatus{types.QueryOpen}, types.QueryAnswered
		if x.c.org.ID != q.Site {
			return types.Errf(types.CodeWrongSite, "query %d is on subject %s of site %s; %s (site %s) cannot answer it", q.Number, q.Subject, q.Site, x.c.signer.ID, x.c.org.ID)
		}
		if e := x.siteTask(s.ID, q.Site, types.TaskAnswer); e != nil {
			return e
		}
	case types.KindQueryClose:
		action, from, to = "close", []types.QueryStatus{types.QueryAnswered}, types.QueryClosed
		if e := x.sponsorSide(s, "close queries", types.TaskMonitoring, types.TaskDataManagement); e != nil {
			return e
		}
		if e := x.raiserSide(s, q, false, "close"); e != nil {
			return e
		}
	case types.KindQueryReopen:
		action, from, to = "reopen", []types.QueryStatus{types.QueryAnswered, types.QueryClosed}, types.QueryOpen
		if e := x.sponsorSide(s, "reopen queries", types.TaskMonitoring, types.TaskDataManagement); e != nil {
			return e
		}
		if e := x.raiserSide(s, q, false, "reopen"); e != nil {
			return e
		}
	case types.KindQueryCancel:
		action, from, to = "cancel", []types.QueryStatus{types.QueryOpen}, types.QueryCancelled
		if e := x.sponsorSide(s, "cancel queries", types.TaskMonitoring, types.TaskDataManagement); e != nil {
			return e
		}
		if e := x.raiserSide(s, q, true, "cancel"); e != nil {
			return e
		}
	default:
		return types.Errf(types.CodeTxMalformed, "unknown query action %q", kind)
	}
	if e := dataQueryTransition(q, action, from); e != nil {
		return e
	}
	q.Status = to
	q.Thread = append(q.Thread, types.QueryMessage{Action: action, Text: m.Text, Stamp: x.stamp()})
	x.st.setJSON(types.KeyQuery(s.ID, q.Number), q)
	x.emit("study", s.ID, "subject", q.Subject, "query", strconv.Itoa(q.Number), "action", action)
	return nil
}

// dataQueryTransition checks that q is in one of the states from, in
// which action may be taken.
func dataQueryTransition(q *types.Query, action string, from []types.QueryStatus) *types.Error {
	for _, f := range from {
		if q.Status == f {
			return nil
		}
	}
	names := make([]string, len(from))
	for i, f := range from {
		names[i] = string(f)
	}
	hint := ""
	switch q.Status {
	case types.QueryClosed:
		hint = "; the raiser can reopen it"
	case types.QueryCancelled:
		hint = "; a cancelled query stays cancelled, raise a new one"
	case types.QueryAnswered:
		hint = "; the raiser closes or reopens it"
	case types.QueryOpen:
		hint = "; the site answers it first"
	}
	return types.Errf(types.CodeQueryState, "query %d is %s; only a query that is %s can be %s%s", q.Number, q.Status, strings.Join(names, " or "), types.QueryActionDone(action), hint)
}

// resolveByCorrection marks the queries a correction names as answered by
// it; each must be an open query on the corrected form.
func (x *exec) resolveByCorrection(m *types.MsgCorrectForm, rec *types.FormRecord) *types.Error {
	seen := map[int]bool{}
	for _, n := range m.Resolves {
		if seen[n] {
			continue
		}
		seen[n] = true
		q, e := x.dataQuery(m.Study, n)
		if e != nil {
			return e
		}
		if q.FormKey() != m.FormKey {
			return types.Errf(types.CodeQueryMismatch, "query %d is on %s, not on form %s of subject %s at %s (repeat %d); a correction resolves only queries on the form it corrects", n, q.Target(), m.Form, m.Subject, m.Event, m.EventRepeat)
		}
		if e := dataQueryTransition(q, "answer", []types.QueryStatus{types.QueryOpen}); e != nil {
			return e
		}
		q.Status = types.QueryAnswered
		q.Thread = append(q.Thread, types.QueryMessage{Action: "answer", Text: "corrected: " + m.Reason, FormVersion: rec.Version, Stamp: x.stamp()})
		x.st.setJSON(types.KeyQuery(q.Study, q.Number), q)
		x.emit("study", q.Study, "subject", q.Subject, "query", strconv.Itoa(q.Number), "action", "answer")
	}
	return nil
}

// autoQueries opens one query per soft warning of a stored form version,
// unless an unresolved system query for the same check and item is
// already on the form, and closes the form's unresolved system queries
// whose warning the version no longer has (a correction cleared it).
func (x *exec) autoQueries(rec *types.FormRecord, site string) *types.Error {
	if len(rec.Warnings) == 0 && rec.Version == 1 {
		return nil // a first entry has no system query to close
	}
	open, e := x.systemQueries(rec.FormKey)
	if e != nil {
		return e
	}
	if len(rec.Warnings) == 0 && len(open) == 0 {
		return nil
	}
	s, e := x.study(rec.Study)
	if e != nil {
		return e
	}
	now := problemSet(rec.Warnings)
	for _, q := range byNumber(open) {
		if !now[problemKey{q.Item, q.ItemRepeat, q.Check}] {
			x.closeSystemQuery(q, "closed by the ledger: "+changeCause(rec)+" cleared the condition")
		}
	}
	opened := 0
	for _, w := range rec.Warnings {
		if k := (problemKey{w.Item, w.Repeat, w.Code}); open[k] == nil {
			open[k] = x.openSystemQuery(s, rec.FormKey, site, w, w.Message)
			opened++
		}
	}
	if opened > 0 {
		x.st.setJSON(types.KeyStudy(s.ID), s)
	}
	return nil
}
