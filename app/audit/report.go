package audit

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Rules are the thresholds of the integrity signals.
type Rules struct {
	// LateDays: a first entry more than this many days after the form's
	// visit date (block time minus the date item) is late.
	LateDays float64 `json:"late_days"`
	// WorkStart and WorkEnd bound working hours in UTC (block time):
	// an entry at or after WorkStart:00 and before WorkEnd:00, Monday to
	// Friday, is inside; anything else (weekends included) is outside.
	WorkStart int `json:"work_start_utc"`
	WorkEnd   int `json:"work_end_utc"`
	// QueryDays: a data query open (not closed or cancelled) for longer
	// than this, until its resolution or the report's time, is long open.
	QueryDays float64 `json:"query_days"`
}

// DefaultRules are documented in docs/AUDIT.md.
var DefaultRules = Rules{LateDays: 14, WorkStart: 7, WorkEnd: 19, QueryDays: 14}

// Signals are the counts of one site or one user.
type Signals struct {
	Key               string         `json:"key"`
	Entries           int            `json:"entries"`        // forms entered (accepted first entries)
	Values            int            `json:"values"`         // values in them
	LateEntries       int            `json:"late_entries"`   // first entries after the visit by more than LateDays
	MaxDelayDays      float64        `json:"max_delay_days"` // longest delay between visit date and entry
	Corrections       int            `json:"corrections"`    // accepted corrections
	CorrectedValues   int            `json:"corrected_values"`
	CorrectionsPer100 float64        `json:"corrections_per_100_values"`
	AfterSignature    int            `json:"corrections_after_signature"`
	AfterSDV          int            `json:"corrections_after_sdv"`
	OutsideHours      int            `json:"entries_outside_hours"` // entries and corrections
	LongOpenQueries   int            `json:"long_open_queries"`
	Rejected          int            `json:"rejected_attempts"`
	RejectedByCode    map[string]int `json:"rejected_by_code,omitempty"`
}

// Finding is one occurrence behind a signal.
type Finding struct {
	Signal  string `json:"signal"`
	Site    string `json:"site,omitempty"`
	User    string `json:"user,omitempty"`
	Subject string `json:"subject,omitempty"`
	Target  string `json:"target,omitempty"`
	Time    string `json:"time,omitempty"`
	Height  int64  `json:"height,omitempty"`
	TxHash  string `json:"tx_hash,omitempty"`
	Detail  string `json:"detail"`
}

// AmendmentSummary is one amendment and what it changed.
type AmendmentSummary struct {
	Number   int      `json:"number"`
	Label    string   `json:"label"`
	Status   string   `json:"status"`
	Proposed string   `json:"proposed"`
	Decided  string   `json:"decided,omitempty"`
	Version  int      `json:"version,omitempty"`
	Changes  []string `json:"changes"`
	Outcomes bool     `json:"changes_outcomes"`
}

// OutcomeCheck compares the outcomes declared at registration with the
// protocol in force.
type OutcomeCheck struct {
	RegisteredVersion int      `json:"registered_version"`
	InForceVersion    int      `json:"in_force_version"`
	Registered        []string `json:"registered"`
	InForce           []string `json:"in_force"`
	Changes           []string `json:"changes"`
	Switched          bool     `json:"switched"`
}

// The keys under which the report counts transactions without a site
// (the study's registration, amendments, accounts, the database lock) or
// without a signer (undecodable transactions).
const (
	NoSite   = "(no site)"
	NoSigner = "(no signer)"
)

// Report is the integrity report of a study.
type Report struct {
	Study      string             `json:"study"`
	Height     int64              `json:"height"`
	AsOf       string             `json:"as_of"` // time of the last block read
	Rules      Rules              `json:"rules"`
	Sites      []Signals          `json:"sites"`
	Users      []Signals          `json:"users"`
	Findings   []Finding          `json:"findings"`
	Amendments []AmendmentSummary `json:"amendments"`
	Outcomes   *OutcomeCheck      `json:"outcomes,omitempty"`
	// Overdue are the scheduled visits with nothing entered whose window
	// closed before the date of AsOf; Deviations the protocol deviations
	// the ledger recorded (visits dated outside their windows).
	Overdue    []OverdueVisit    `json:"overdue_visits"`
	Deviations []types.Deviation `json:"deviations"`
	// Safety is the study's serious adverse events judged at AsOf.
	Safety *Safety `json:"safety"`
	// Unblindings are the study's emergency unblindings, in subject order.
	Unblindings []Unblinding `json:"unblindings"`
	// RecordsProven: the records behind the report (queries, protocol
	// versions, amendments) were proven against a verified app hash.
	RecordsProven bool `json:"records_proven"`
	// UnverifiedBlocks counts blocks with txs no verified header covers.
	UnverifiedBlocks int `json:"unverified_blocks"`
}

// Unblinding is one emergency unblinding: the subject, who unblinded it,
// when and why, and the publication of its arm (nil while sealed).
type Unblinding struct {
	Subject   string       `json:"subject"`
	Site      string       `json:"site"`
	By        types.Stamp  `json:"by"`
	Reason    string       `json:"reason"`
	Published *types.Stamp `json:"published,omitempty"`
}

// OverdueVisit is a scheduled visit with nothing entered whose window has
// closed.
type OverdueVisit struct {
	Site        string `json:"site"`
	Subject     string `json:"subject"`
	Event       string `json:"event"`
	Name        string `json:"name"`
	Target      string `json:"target"`
	Latest      string `json:"latest"` // the window's last day
	DaysOverdue int    `json:"days_overdue"`
}

// formState tracks what covers a form between corrections.
type formState struct {
	signed, verified bool
}

// Compute builds the report of study from the ledger's entries and
// records. It only reads memory.
func Compute(L *Ledger, study string, r Rules) *Report {
	rep := &Report{Study: study, Height: L.Height, AsOf: L.LastTime.Format(time.RFC3339), Rules: r,
		Findings: []Finding{}, Amendments: []AmendmentSummary{}}
	sites, users := map[string]*Signals{}, map[string]*Signals{}
	get := func(m map[string]*Signals, k, none string) *Signals {
		if k == "" {
			k = none
		}
		s, ok := m[k]
		if !ok {
			s = &Signals{Key: k, RejectedByCode: map[string]int{}}
			m[k] = s
		}
		return s
	}
	both := func(e *Entry, fn func(s *Signals)) {
		fn(get(sites, e.Site, NoSite))
		fn(get(users, e.Signer, NoSigner))
	}
	find := func(sig string, e *Entry, detail string) {
		rep.Findings = append(rep.Findings, Finding{Signal: sig, Site: e.Site, User: e.Signer, Subject: e.Subject,
			Target: e.Target(), Time: e.Time, Height: e.Height, TxHash: e.TxHash, Detail: detail})
	}
	comp := compiler(L)
	forms := map[string]*formState{}
	fkey := func(study, subj, ev string, rep int, form string) string {
		return fmt.Sprintf("%s/%s/%s/%d/%s", study, subj, ev, rep, form)
	}
	for i := range L.Entries {
		e := &L.Entries[i]
		if e.Study != study {
			continue
		}
		if e.Rejected {
			both(e, func(s *Signals) { s.Rejected++; s.RejectedByCode[fmt.Sprintf("%d %s", e.Code, e.CodeName)]++ })
			find("rejected attempt", e, fmt.Sprintf("%s refused with code %d (%s): %s", e.Kind, e.Code, e.CodeName, e.Log))
			continue
		}
		if e.Msg == nil {
			continue
		}
		m := e.Msg
		switch {
		case m.SubmitForm != nil:
			sf := m.SubmitForm
			both(e, func(s *Signals) { s.Entries++; s.Values += len(sf.Values) })
			if d, ok := visitDate(comp(e.ProtocolVersion), sf.Values); ok {
				delay := e.time.Sub(d).Hours() / 24
				both(e, func(s *Signals) { s.MaxDelayDays = math.Max(s.MaxDelayDays, round1(delay)) })
				if delay > r.LateDays {
					both(e, func(s *Signals) { s.LateEntries++ })
					find("late entry", e, fmt.Sprintf("entered %.1f days after the visit date %s", delay, d.Format("2006-01-02")))
				}
			}
			forms[fkey(sf.Study, sf.Subject, sf.Event, sf.EventRepeat, sf.Form)] = &formState{}
			outside(e, r, both, find)
		case m.CorrectForm != nil:
			cf := m.CorrectForm
			both(e, func(s *Signals) { s.Corrections++; s.CorrectedValues += len(cf.Changes) })
			k := fkey(cf.Study, cf.Subject, cf.Event, cf.EventRepeat, cf.Form)
			if st := forms[k]; st != nil {
				if st.signed {
					both(e, func(s *Signals) { s.AfterSignature++ })
					find("correction after signature", e, "corrected signed content (the signature was invalidated): "+e.What)
				}
				if st.verified {
					both(e, func(s *Signals) { s.AfterSDV++ })
					find("correction after SDV", e, "corrected source-verified data: "+e.What)
				}
				st.signed, st.verified = false, false
			}
			outside(e, r, both, find)
		case m.Sign != nil:
			sg := m.Sign
			for k, st := range forms {
				if coveredBy(k, sg.Study, sg.Subject, sg.Event, sg.EventRepeat, sg.Form) {
					st.signed = true
				}
			}
		case m.Verify != nil:
			v := m.Verify
			for k, st := range forms {
				if coveredBy(k, v.Study, v.Subject, v.Event, v.EventRepeat, v.Form) {
					st.verified = true
				}
			}
		}
	}
	// Queries open for long.
	siteOfSubj := map[string]string{}
	for _, e := range L.Entries {
		if e.Subject != "" && e.Site != "" {
			siteOfSubj[e.Subject] = e.Site
		}
	}
	for _, q := range L.Queries {
		if q.Study != study || len(q.Thread) == 0 {
			continue
		}
		opened, err := time.Parse(time.RFC3339Nano, q.Thread[0].Stamp.Time)
		if err != nil {
			continue
		}
		end, state := L.LastTime, "still "+string(q.Status)
		if q.Status.Resolved() {
			last := q.Thread[len(q.Thread)-1]
			if t, err := time.Parse(time.RFC3339Nano, last.Stamp.Time); err == nil {
				end, state = t, string(q.Status)
			}
		}
		days := end.Sub(opened).Hours() / 24
		if days > r.QueryDays {
			site := q.Site
			if site == "" {
				site = siteOfSubj[q.Subject]
			}
			get(sites, site, NoSite).LongOpenQueries++
			rep.Findings = append(rep.Findings, Finding{Signal: "query open for long", Site: site, User: q.RaisedBy, Subject: q.Subject,
				Target: q.Target(), Time: q.Thread[0].Stamp.Time, Height: q.Thread[0].Stamp.Height,
				Detail: fmt.Sprintf("query %d open %.1f days (%s)", q.Number, days, state)})
		}
	}
	for _, m := range []map[string]*Signals{sites, users} {
		for _, s := range m {
			if s.Values > 0 {
				s.CorrectionsPer100 = round1(100 * float64(s.CorrectedValues) / float64(s.Values))
			}
			if len(s.RejectedByCode) == 0 {
				s.RejectedByCode = nil
			}
		}
	}
	rep.Sites, rep.Users = sorted(sites), sorted(users)
	for _, a := range L.Amendments {
		if a.Study != study {
			continue
		}
		s := AmendmentSummary{Number: a.Number, Label: a.Label, Status: string(a.Status), Proposed: a.Proposed.Time, Version: a.Version, Changes: append([]string{}, a.Changes...)}
		if a.Decided != nil {
			s.Decided = a.Decided.Time
		}
		for _, c := range a.Changes {
			if strings.Contains(c, "outcome") {
				s.Outcomes = true
			}
		}
		rep.Amendments = append(rep.Amendments, s)
	}
	rep.Outcomes = outcomeCheck(L, study)
	rep.Overdue = overdue(L, study, comp)
	rep.Deviations = []types.Deviation{}
	for _, d := range L.Deviations {
		if d.Study == study {
			rep.Deviations = append(rep.Deviations, d)
		}
	}
	if s, err := SafetyOf(study, L.SAEs, L.LastTime); err == nil {
		rep.Safety = s
	} else {
		rep.Findings = append(rep.Findings, Finding{Signal: "unreadable SAE record", Detail: err.Error()})
	}
	rep.Unblindings = []Unblinding{}
	for _, a := range L.Allocations {
		if a.Study == study && a.Unblinding != nil {
			rep.Unblindings = append(rep.Unblindings, Unblinding{Subject: a.Subject, Site: a.Site, By: a.Unblinding.Stamp, Reason: a.Unblinding.Reason, Published: a.Published})
		}
	}
	rep.RecordsProven, rep.UnverifiedBlocks = L.RecordsProven, L.Unverified
	return rep
}

// overdue lists the visits overdue on the date of the last block read,
// under the protocol version in force.
func overdue(L *Ledger, study string, comp func(v int) *protocol.Compiled) []OverdueVisit {
	out := []OverdueVisit{}
	inForce := 0
	for _, v := range L.Versions {
		if v.Study == study {
			inForce = max(inForce, v.Number)
		}
	}
	c := comp(inForce)
	if c == nil || L.LastTime.IsZero() {
		return out
	}
	asOf := L.LastTime.UTC().Format("2006-01-02")
	today, _ := protocol.DateDays(asOf)
	for _, s := range client.SchedulesOf(c, L.Subjects, L.Forms, "", asOf) {
		for _, v := range s.Visits {
			if v.Status != protocol.VisitOverdue {
				continue
			}
			latest, _ := protocol.DateDays(v.Latest)
			out = append(out, OverdueVisit{Site: s.Site, Subject: s.Subject, Event: v.Event, Name: v.Name, Target: v.Target, Latest: v.Latest, DaysOverdue: int(today - latest)})
		}
	}
	return out
}

// outside counts an entry or correction outside working hours.
func outside(e *Entry, r Rules, both func(*Entry, func(*Signals)), find func(string, *Entry, string)) {
	if InWorkingHours(e.time, r) {
		return
	}
	both(e, func(s *Signals) { s.OutsideHours++ })
	find("outside working hours", e, fmt.Sprintf("%s at %s UTC", e.Kind, e.time.Format("Mon 15:04")))
}

// InWorkingHours applies the working-hours rule to a block time.
func InWorkingHours(t time.Time, r Rules) bool {
	t = t.UTC()
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return t.Hour() >= r.WorkStart && t.Hour() < r.WorkEnd
}

// visitDate is the value of the form's first date item (protocol order),
// else of an item whose OID ends in ".DATE".
func visitDate(c *protocol.Compiled, vals []protocol.ItemValue) (time.Time, bool) {
	var cand []protocol.ItemValue
	for _, v := range vals {
		if c != nil {
			if it, _, ok := c.Item(v.Item); ok && it.Type == protocol.TypeDate {
				cand = append(cand, v)
				continue
			}
		}
		if strings.HasSuffix(v.Item, ".DATE") {
			cand = append(cand, v)
		}
	}
	for _, v := range cand {
		if d, err := time.Parse("2006-01-02", v.Value); err == nil {
			return d, true
		}
	}
	return time.Time{}, false
}

// compiler returns a cached compiler of the ledger's protocol versions.
func compiler(L *Ledger) func(v int) *protocol.Compiled {
	cache := map[int]*protocol.Compiled{}
	return func(v int) *protocol.Compiled {
		if c, ok := cache[v]; ok {
			return c
		}
		var c *protocol.Compiled
		for i := range L.Versions {
			if L.Versions[i].Number == v {
				if cc, err := protocol.Compile(&L.Versions[i].Protocol); err == nil {
					c = cc
				}
			}
		}
		cache[v] = c
		return c
	}
}

// coveredBy reports whether form key k (study/subject/event/repeat/form)
// is within a signature's or SDV's target.
func coveredBy(k, study, subject, event string, repeat int, form string) bool {
	p := strings.Split(k, "/")
	if len(p) != 5 || p[0] != study || p[1] != subject {
		return false
	}
	if event == "" {
		return true
	}
	if p[2] != event || p[3] != fmt.Sprint(repeat) {
		return false
	}
	return form == "" || p[4] == form
}

func sorted(m map[string]*Signals) []Signals {
	out := make([]Signals, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// outcomeCheck compares the registered outcomes (version 1) with the
// version in force (the highest effective one).
func outcomeCheck(L *Ledger, study string) *OutcomeCheck {
	var reg, cur *types.ProtocolVersion
	for i := range L.Versions {
		v := &L.Versions[i]
		if v.Study != study {
			continue
		}
		if reg == nil || v.Number < reg.Number {
			reg = v
		}
		if cur == nil || v.Number > cur.Number {
			cur = v
		}
	}
	if reg == nil {
		return nil
	}
	oc := &OutcomeCheck{RegisteredVersion: reg.Number, InForceVersion: cur.Number,
		Registered: outcomeList(&reg.Protocol), InForce: outcomeList(&cur.Protocol), Changes: []string{}}
	d := protocol.Diff(&reg.Protocol, &cur.Protocol)
	for _, c := range d.Changes {
		if c.What == "outcome" {
			oc.Changes = append(oc.Changes, c.String())
		}
	}
	oc.Switched = d.OutcomeSwitching
	return oc
}

func outcomeList(p *protocol.Protocol) []string {
	var out []string
	for _, o := range p.Study.PrimaryOutcomes {
		out = append(out, "primary: "+o.Measure+" ("+o.TimeFrame+")")
	}
	for _, o := range p.Study.SecondaryOutcomes {
		out = append(out, "secondary: "+o.Measure+" ("+o.TimeFrame+")")
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
