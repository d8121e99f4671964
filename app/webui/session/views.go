package session

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// StudyView is a study as the dashboard shows it: its schedule and the
// subjects this person may see.
type StudyView struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Version  int              `json:"version"`
	Label    string           `json:"label"`
	Events   []protocol.Event `json:"events"`
	Subjects []SubjectView    `json:"subjects"`
}

// SubjectView is one subject, its consent, its serious adverse events
// and the state of each form of its schedule.
type SubjectView struct {
	ID             string      `json:"id"`
	Site           string      `json:"site"`
	Status         string      `json:"status"`
	ConsentVersion string      `json:"consent_version"`
	Enrolled       types.Stamp `json:"enrolled"`
	// Consents are the consents the subject gave, oldest first: at
	// enrolment, then every re-consent; the last is the version in force.
	Consents []types.Consent `json:"consents"`
	// ReconsentDue is the consent version the protocol in force requires
	// (from protocol version ReconsentFrom) and the subject has not
	// consented to; empty when none is due.
	ReconsentDue  string `json:"reconsent_due,omitempty"`
	ReconsentFrom int    `json:"reconsent_from,omitempty"`
	// Withdrawal is the withdrawal in force, nil while the subject is
	// enrolled; its kind is empty for one made before kinds.
	Withdrawal *types.Withdrawal `json:"withdrawal,omitempty"`
	// SAEs are the subject's serious adverse events, when this person's
	// roles read them (SAEsRead); otherwise nothing was read and SAEsNote
	// says why.
	SAEs     []SAEView   `json:"saes"`
	SAEsRead bool        `json:"saes_read"`
	SAEsNote string      `json:"saes_note,omitempty"`
	Visits   []VisitView `json:"visits"`
}

// SAEView is one serious adverse event of a subject: the form row that
// reports it and its clock, judged at the browser's clock as veritrial
// show safety --as-of judges it.
type SAEView struct {
	Event    string `json:"event"`
	Repeat   int    `json:"repeat"`
	Form     string `json:"form"`
	FormName string `json:"form_name"`
	Row      int    `json:"row"`
	// Opened starts the clock; Deadline (RFC 3339, UTC) is when the
	// acknowledgement is due.
	Opened   types.Stamp `json:"opened"`
	Deadline string      `json:"deadline"`
	// Acknowledged is the sponsor's medical monitor's acknowledgement,
	// nil while there is none.
	Acknowledged *types.Stamp `json:"acknowledged,omitempty"`
	AckComment   string       `json:"ack_comment,omitempty"`
	// Status is open, overdue (unacknowledged past the deadline),
	// acknowledged or late (acknowledged after the deadline).
	Status    string `json:"status"`
	FollowUps int    `json:"follow_ups"`
}

// VisitView is one occurrence of an event of a subject's schedule: repeat
// 1 of every event and, of a repeatable event with forms entered, each
// repeat up to the last entered and the next one.
type VisitView struct {
	Event  string      `json:"event"`
	Name   string      `json:"name"`
	Repeat int         `json:"repeat"`
	Forms  []FormState `json:"forms"`
	// Schedule is, for the first occurrence of a scheduled event, its
	// target date, window, visit date and status today (UTC).
	Schedule *protocol.Visit `json:"schedule,omitempty"`
}

// FormState is what the ledger records of one form of a visit: its
// states, in this order, of entered or missing, queried (open queries),
// verified (SDV), signed (a valid signature covers its current version),
// and frozen or locked.
type FormState struct {
	Form    string   `json:"form"`
	Name    string   `json:"name"`
	Version int      `json:"version,omitempty"`
	States  []string `json:"states"`
}

// Dashboard returns every study this person may see, with its subjects.
func (s *Session) Dashboard(ctx context.Context) ([]StudyView, error) {
	studies, err := list[types.Study](ctx, s, types.PrefixStudy)
	if err != nil {
		return nil, err
	}
	out := []StudyView{}
	for _, st := range studies {
		v, err := s.studyView(ctx, &st)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// studyView reads the subjects of a study and the records that say the
// state of their forms.
func (s *Session) studyView(ctx context.Context, st *types.Study) (*StudyView, error) {
	pv, c, err := s.protocolOf(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	in := st.ID + "/"
	subjects, err := list[types.Subject](ctx, s, types.PrefixSubject+in)
	if err != nil {
		return nil, err
	}
	forms, err := list[types.FormRecord](ctx, s, types.PrefixForm+in)
	if err != nil {
		return nil, err
	}
	queries, err := list[types.Query](ctx, s, types.PrefixQuery+in)
	if err != nil {
		return nil, err
	}
	sdv, err := list[types.SDVRecord](ctx, s, types.PrefixSDV+in)
	if err != nil {
		return nil, err
	}
	sigs, err := list[types.Signature](ctx, s, types.PrefixSignature+in)
	if err != nil {
		return nil, err
	}
	locks, err := list[types.ScopeLock](ctx, s, types.PrefixLock+in)
	if err != nil {
		return nil, err
	}
	saes, readsSAEs, note, err := s.saesOf(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	entered := map[types.FormKey]int{}
	bySubject := map[string][]types.FormRecord{}
	for _, f := range forms {
		entered[f.FormKey] = f.Version
		bySubject[f.Subject] = append(bySubject[f.Subject], f)
	}
	today := time.Now().UTC().Format("2006-01-02")
	queried := map[types.FormKey]bool{}
	for _, q := range queries {
		if q.Status == types.QueryOpen {
			queried[types.FormKey{Study: q.Study, Subject: q.Subject, Event: q.Event, EventRepeat: q.EventRepeat, Form: q.Form}] = true
		}
	}
	verified := map[types.FormKey]bool{}
	for _, r := range sdv {
		verified[r.FormKey] = r.Status == types.SDVVerified
	}
	signed := map[types.FormKey]int{} // the form version a valid signature covers
	for _, sg := range sigs {
		if sg.Status != types.SignatureValid {
			continue
		}
		for _, ref := range sg.Forms {
			signed[types.FormKey{Study: sg.Study, Subject: sg.Subject, Event: ref.Event, EventRepeat: ref.EventRepeat, Form: ref.Form}] = ref.Version
		}
	}
	p := &pv.Protocol
	v := &StudyView{ID: st.ID, Title: st.Title, Version: pv.Number, Label: pv.Label, Events: p.Events, Subjects: []SubjectView{}}
	for _, sub := range subjects {
		sv := SubjectView{ID: sub.ID, Site: sub.Site, Status: string(sub.Status), ConsentVersion: sub.ConsentVersion, Enrolled: sub.Enrolled,
			Consents: sub.ConsentHistory(), SAEs: []SAEView{}, SAEsRead: readsSAEs, SAEsNote: note, Visits: []VisitView{}}
		if sv.ReconsentDue = sub.ReconsentDue(st); sv.ReconsentDue != "" {
			sv.ReconsentFrom = st.ReconsentFrom
		}
		sv.Withdrawal = withdrawalOf(&sub)
		for _, e := range saes {
			if e.Subject == sub.ID {
				sv.SAEs = append(sv.SAEs, saeView(p, e))
			}
		}
		calendar := map[string]*protocol.Visit{}
		sched := types.ScheduleOf(c, &sub, bySubject[sub.ID], today)
		for i := range sched.Visits {
			calendar[sched.Visits[i].Event] = &sched.Visits[i]
		}
		for _, ev := range p.Events {
			for r := 1; r <= repeats(ev, entered, st.ID, sub.ID); r++ {
				vv := VisitView{Event: ev.OID, Name: ev.Name, Repeat: r, Forms: []FormState{}}
				if r == 1 {
					vv.Schedule = calendar[ev.OID]
				}
				for _, f := range ev.Forms {
					k := types.FormKey{Study: st.ID, Subject: sub.ID, Event: ev.OID, EventRepeat: r, Form: f}
					fs := FormState{Form: f, Name: formName(p, f), Version: entered[k], States: []string{"missing"}}
					if fs.Version > 0 {
						fs.States[0] = "entered"
					}
					if queried[k] {
						fs.States = append(fs.States, "queried")
					}
					if verified[k] {
						fs.States = append(fs.States, "verified")
					}
					if fs.Version > 0 && signed[k] == fs.Version {
						fs.States = append(fs.States, "signed")
					}
					if state := lockState(locks, sub, k); state != types.StateOpen {
						fs.States = append(fs.States, string(state))
					}
					vv.Forms = append(vv.Forms, fs)
				}
				sv.Visits = append(sv.Visits, vv)
			}
		}
		v.Subjects = append(v.Subjects, sv)
	}
	return v, nil
}

// saesOf reads the serious adverse events of a study this person reads,
// judged at the browser's clock; readable is false, and nothing is read,
// when the person's roles do not read SAE records (the ledger would
// leave every record out of the list, which would read as none), and
// note then says so.
func (s *Session) saesOf(ctx context.Context, study string) (out []sae, readable bool, note string, err error) {
	s.mu.Lock()
	roles := s.person.Roles
	s.mu.Unlock()
	if !types.ReadsSAEs(roles) {
		return nil, false, fmt.Sprintf("SAE records are not shown: only the roles %s read them, not yours (%s)", joinRoles(types.SafetyReaders), joinRoles(roles)), nil
	}
	records, err := list[types.SAE](ctx, s, types.PrefixSAE+study+"/")
	if err != nil {
		return nil, false, "", err
	}
	asOf := s.now()
	for _, r := range records {
		c, err := r.ClockAt(asOf)
		if err != nil {
			return nil, false, "", err
		}
		out = append(out, sae{r, c})
	}
	return out, true, "", nil
}

// sae is an SAE record and its clock.
type sae struct {
	types.SAE
	clock types.SAEClock
}

// saeView is SAE e as the dashboard shows it.
func saeView(p *protocol.Protocol, e sae) SAEView {
	v := SAEView{Event: e.Event, Repeat: e.EventRepeat, Form: e.Form, FormName: formName(p, e.Form), Row: e.Row, Opened: e.Opened,
		Deadline: e.clock.Deadline.UTC().Format(time.RFC3339), FollowUps: len(e.FollowUps), Status: "open"}
	switch {
	case e.clock.Overdue:
		v.Status = "overdue"
	case e.clock.Late:
		v.Status = "late"
	case e.clock.Acknowledged:
		v.Status = "acknowledged"
	}
	if e.clock.Acknowledged {
		v.Acknowledged, v.AckComment = e.Acknowledged, e.AckComment
	}
	return v
}

// withdrawalOf is the withdrawal in force of sub, nil while enrolled.
func withdrawalOf(sub *types.Subject) *types.Withdrawal {
	if sub.Status != types.SubjectWithdrawn {
		return nil
	}
	if n := len(sub.Withdrawals); n > 0 {
		w := sub.Withdrawals[n-1]
		return &w
	}
	w := types.Withdrawal{Kind: sub.WithdrawalKind, Reason: sub.WithdrawReason}
	if sub.Withdrawn != nil {
		w.Stamp = *sub.Withdrawn
	}
	return &w
}

// joinRoles lists roles for people: "investigator, coordinator".
func joinRoles(roles []types.Role) string {
	if len(roles) == 0 {
		return "none"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// repeats is how many occurrences of event ev the dashboard shows for a
// subject: 1, or for a repeatable event the last repeat with a form
// entered and one more, so that the next repeat can be opened.
func repeats(ev protocol.Event, entered map[types.FormKey]int, study, subject string) int {
	if !ev.Repeatable {
		return 1
	}
	last := 0
	for k := range entered {
		if k.Study == study && k.Subject == subject && k.Event == ev.OID {
			last = max(last, k.EventRepeat)
		}
	}
	return last + 1
}

// lockState is the strongest freeze or lock on form k: of the study, the
// subject's site, the subject or the form itself.
func lockState(locks []types.ScopeLock, sub types.Subject, k types.FormKey) types.LockState {
	state := types.StateOpen
	for _, l := range locks {
		sc := l.Scope
		applies := sc.Site == "" && sc.Subject == "" ||
			sc.Site != "" && sc.Site == sub.Site ||
			sc.Subject == k.Subject && (sc.Form == "" || sc.Event == k.Event && sc.EventRepeat == k.EventRepeat && sc.Form == k.Form)
		if applies && (l.State == types.StateLocked || l.State == types.StateFrozen && state == types.StateOpen) {
			state = l.State
		}
	}
	return state
}

func formName(p *protocol.Protocol, oid string) string {
	for _, f := range p.Forms {
		if f.OID == oid {
			return f.Name
		}
	}
	return oid
}

// protocolOf reads the protocol version in force of a study, and compiles
// it once.
func (s *Session) protocolOf(ctx context.Context, study string) (*types.ProtocolVersion, *protocol.Compiled, error) {
	var st types.Study
	ok, err := s.get(ctx, types.KeyStudy(study), &st)
	if err == nil && !ok {
		err = fmt.Errorf("there is no study %s that you may read", study)
	}
	if err != nil {
		return nil, nil, err
	}
	var pv types.ProtocolVersion
	ok, err = s.get(ctx, types.KeyProtocol(study, st.Current), &pv)
	if err == nil && !ok {
		err = fmt.Errorf("study %s has no protocol version %d", study, st.Current)
	}
	if err != nil {
		return nil, nil, err
	}
	id := study + "@" + strconv.Itoa(pv.Number)
	s.mu.Lock()
	c := s.compiled[id]
	s.mu.Unlock()
	if c == nil {
		if c, err = protocol.Compile(&pv.Protocol); err != nil {
			return nil, nil, fmt.Errorf("protocol version %d of %s: %w", pv.Number, study, err)
		}
		s.mu.Lock()
		s.compiled[id] = c
		s.mu.Unlock()
	}
	return &pv, c, nil
}

// FormView is what the form entry page needs: the form's definition and
// code lists, its current record and history, and its queries.
type FormView struct {
	Key       types.FormKey       `json:"key"`
	Event     protocol.Event      `json:"event"`
	Form      protocol.Form       `json:"form"`
	CodeLists []protocol.CodeList `json:"codelists"`
	// MissingCodes are the study's missing-data codes with their decodes
	// (an item's Missing lists those it allows).
	MissingCodes []protocol.CodeItem `json:"missing_codes"`
	Subject      types.Subject       `json:"subject"`
	// History holds every version, oldest first; the last is current.
	History []types.FormRecord `json:"history"`
	Queries []types.Query      `json:"queries"`
	SDV     *types.SDVRecord   `json:"sdv,omitempty"`
}

// Form reads what the entry page of form k shows, and keeps the subject's
// other forms for the edit checks that read them.
func (s *Session) Form(ctx context.Context, k types.FormKey) (*FormView, error) {
	pv, c, err := s.protocolOf(ctx, k.Study)
	if err != nil {
		return nil, err
	}
	f, ok := c.Form(k.Form)
	ev, evOK := c.Event(k.Event)
	if !ok || !evOK || !c.FormInEvent(k.Event, k.Form) {
		return nil, fmt.Errorf("protocol version %d of %s collects no form %s at event %s", pv.Number, k.Study, k.Form, k.Event)
	}
	v := &FormView{Key: k, Event: *ev, Form: *f, CodeLists: []protocol.CodeList{}, MissingCodes: append([]protocol.CodeItem{}, pv.Protocol.MissingCodes...),
		History: []types.FormRecord{}, Queries: []types.Query{}}
	for _, cl := range pv.Protocol.CodeLists {
		if usesCodeList(f, cl.OID) {
			v.CodeLists = append(v.CodeLists, cl)
		}
	}
	ok, err = s.get(ctx, types.KeySubject(k.Study, k.Subject), &v.Subject)
	if err == nil && !ok {
		err = fmt.Errorf("there is no subject %s in %s that you may read", k.Subject, k.Study)
	}
	if err != nil {
		return nil, err
	}
	var cur types.FormRecord
	if ok, err = s.get(ctx, types.KeyForm(k), &cur); err != nil {
		return nil, err
	} else if ok {
		old, err := list[types.FormRecord](ctx, s, prefixHistory(k))
		if err != nil {
			return nil, err
		}
		v.History = append(old, cur)
	}
	all, err := list[types.FormRecord](ctx, s, types.PrefixForm+subjectOf(k)+"/")
	if err != nil {
		return nil, err
	}
	forms := map[types.FormKey][]protocol.ItemValue{}
	s.mu.Lock()
	for _, f := range all {
		forms[f.FormKey] = f.Values
		s.versions[f.FormKey] = f.Version
	}
	s.forms[subjectOf(k)], s.shown[k.Study] = forms, c
	s.mu.Unlock()
	queries, err := list[types.Query](ctx, s, types.PrefixQuery+k.Study+"/")
	if err != nil {
		return nil, err
	}
	for _, q := range queries {
		if q.Subject == k.Subject && q.Event == k.Event && q.EventRepeat == k.EventRepeat && q.Form == k.Form {
			v.Queries = append(v.Queries, q)
		}
	}
	var sdv types.SDVRecord
	if ok, err := s.get(ctx, types.KeySDV(k), &sdv); err != nil {
		return nil, err
	} else if ok {
		v.SDV = &sdv
	}
	return v, nil
}

// prefixHistory is the key prefix of the superseded versions of form k.
func prefixHistory(k types.FormKey) string {
	full := string(types.KeyFormHistory(k, 0))
	return full[:len(full)-len("000000")]
}

func usesCodeList(f *protocol.Form, oid string) bool {
	for _, g := range f.Groups {
		if slices.ContainsFunc(g.Items, func(it protocol.Item) bool { return it.CodeList == oid }) {
			return true
		}
	}
	return false
}

// Inbox lists the open and answered queries of every study this person
// may see, oldest first.
func (s *Session) Inbox(ctx context.Context) ([]types.Query, error) {
	studies, err := list[types.Study](ctx, s, types.PrefixStudy)
	if err != nil {
		return nil, err
	}
	out := []types.Query{}
	for _, st := range studies {
		qs, err := list[types.Query](ctx, s, types.PrefixQuery+st.ID+"/")
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			if q.Status == types.QueryOpen || q.Status == types.QueryAnswered {
				out = append(out, q)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b types.Query) int { return cmp.Compare(a.Thread[0].Stamp.Height, b.Thread[0].Stamp.Height) })
	return out, nil
}
