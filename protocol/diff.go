package protocol

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ChangeKind says whether an element was added, removed or changed.
type ChangeKind string

// Kinds of amendment changes.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one difference between two protocol versions. What is one of
// study, outcome, arm, event, form, group, item, codelist, code, check; OID
// names the element ("CL.SEX:2" for a code, "primary: <measure>" for an
// outcome); Field is the changed field for Changed, empty otherwise.
type Change struct {
	Kind  ChangeKind `json:"kind"`
	What  string     `json:"what"`
	OID   string     `json:"oid"`
	Field string     `json:"field,omitempty"`
	Old   string     `json:"old,omitempty"`
	New   string     `json:"new,omitempty"`
	// Impact explains why the change matters for data already collected or
	// for consent; empty when it does not.
	Impact string `json:"impact,omitempty"`
}

// String formats the change on one line.
func (c Change) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %-8s %s", c.Kind, c.What, c.OID)
	switch {
	case c.Field != "":
		fmt.Fprintf(&b, " %s: %s -> %s", c.Field, show(c.Old), show(c.New))
	case c.New != "":
		fmt.Fprintf(&b, " %s", show(c.New))
	case c.Old != "":
		fmt.Fprintf(&b, " %s", show(c.Old))
	}
	if c.Impact != "" {
		b.WriteString("  [" + c.Impact + "]")
	}
	return b.String()
}

func show(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}

// Amendment is the structured difference between two protocol versions
// with its compatibility verdict.
type Amendment struct {
	FromVersion string   `json:"from_version"`
	ToVersion   string   `json:"to_version"`
	Changes     []Change `json:"changes"`
	// Compatible is true when data collected under the old version stays
	// valid under the new one: no item needs re-entry and no event, form or
	// group that holds data was removed.
	Compatible bool `json:"compatible"`
	// NeedsReconsent is true when the change touches what participants
	// consented to: outcomes, arms, the eligibility form, or the protocol
	// document itself (its SHA-256).
	NeedsReconsent bool `json:"needs_reconsent"`
	// OutcomeSwitching is true when a primary or secondary outcome was
	// added, removed or changed.
	OutcomeSwitching bool `json:"outcome_switching"`
	// Reentry lists, sorted, the items whose existing data may no longer
	// validate and must be reviewed or re-entered.
	Reentry []string `json:"reentry"`
	// Removed lists events, forms and groups removed with any data they hold.
	Removed []string `json:"removed,omitempty"`
}

// Impact notes attached to changes.
const (
	impactReentry   = "re-entry: existing data may no longer validate"
	impactReconsent = "re-consent"
	impactOutcome   = "OUTCOME SWITCHING: re-consent, registry update"
	impactQueries   = "new soft-range queries possible"
	impactOrphaned  = "incompatible: data collected for it is orphaned"
	impactSubjectID = "subjects enrolled from now on must match; enrolled subjects keep their IDs"
	impactSchedule  = "schedule: visit dates entered or corrected from now on are checked against it; recorded deviations stand until then"
)

// differ accumulates changes and the verdict.
type differ struct {
	a       *Amendment
	reentry map[string]bool
}

func (d *differ) add(c Change) { d.a.Changes = append(d.a.Changes, c) }

func (d *differ) field(what, oid, field, old, nw, impact string) {
	if old != nw {
		d.add(Change{Kind: Changed, What: what, OID: oid, Field: field, Old: old, New: nw, Impact: impact})
	}
}

func (d *differ) reenter(oid string) { d.reentry[oid] = true }

// Diff compares two protocol versions and returns the amendment report:
// every change in a deterministic order (study, outcomes, arms, events,
// forms, groups, items, code lists, checks; each in protocol order) and the
// verdict (see docs/PROTOCOL.md for the rules). Inputs are not modified.
func Diff(old, new *Protocol) *Amendment {
	o, n := Clone(old), Clone(new)
	if o == nil {
		o = &Protocol{}
	}
	if n == nil {
		n = &Protocol{}
	}
	Normalize(o)
	Normalize(n)
	d := &differ{a: &Amendment{FromVersion: o.Study.Version, ToVersion: n.Study.Version, Changes: []Change{}},
		reentry: map[string]bool{}}
	d.study(o, n)
	d.events(o, n)
	d.forms(o, n)
	d.codeLists(o, n)
	d.randomization(o, n)
	a := d.a
	a.Reentry = []string{}
	for k := range d.reentry {
		a.Reentry = append(a.Reentry, k)
	}
	sort.Strings(a.Reentry)
	a.Compatible = len(a.Reentry) == 0 && len(a.Removed) == 0
	for _, c := range a.Changes {
		if strings.Contains(c.Impact, impactReconsent) || c.Impact == impactOutcome {
			a.NeedsReconsent = true
		}
		if c.What == "outcome" {
			a.OutcomeSwitching = true
		}
	}
	return a
}

func (d *differ) study(o, n *Protocol) {
	os, ns := o.Study, n.Study
	d.field("study", "", "id", os.ID, ns.ID, "")
	d.field("study", "", "version", os.Version, ns.Version, "")
	d.field("study", "", "title", os.Title, ns.Title, "")
	d.field("study", "", "phase", os.Phase, ns.Phase, "")
	d.field("study", "", "sponsor", os.Sponsor, ns.Sponsor, "")
	d.field("study", "", "protocol_doc_sha256", os.ProtocolDocSHA256, ns.ProtocolDocSHA256, impactReconsent+": the protocol document changed")
	d.field("study", "", "sap_sha256", os.SAPSHA256, ns.SAPSHA256, "")
	d.field("study", "", "subject_id_pattern", subjectIDPattern(os), subjectIDPattern(ns), impactSubjectID)
	d.field("study", "", "anchor_event", os.AnchorEvent, ns.AnchorEvent, impactSchedule)
	d.field("study", "", "consent_version", os.ConsentVersion, ns.ConsentVersion, impactReconsent+": the consent document changed")
	d.field("study", "", "reconsent", os.Reconsent, ns.Reconsent, "")
	d.outcomes("primary", os.PrimaryOutcomes, ns.PrimaryOutcomes)
	d.outcomes("secondary", os.SecondaryOutcomes, ns.SecondaryOutcomes)
	oa := map[string]Arm{}
	for _, a := range os.Arms {
		oa[a.OID] = a
	}
	na := map[string]bool{}
	for _, a := range ns.Arms {
		na[a.OID] = true
		prev, ok := oa[a.OID]
		if !ok {
			d.add(Change{Kind: Added, What: "arm", OID: a.OID, New: a.Name, Impact: impactReconsent})
			continue
		}
		d.field("arm", a.OID, "name", prev.Name, a.Name, impactReconsent)
		d.field("arm", a.OID, "description", prev.Description, a.Description, impactReconsent)
	}
	for _, a := range os.Arms {
		if !na[a.OID] {
			d.add(Change{Kind: Removed, What: "arm", OID: a.OID, Old: a.Name, Impact: impactReconsent})
		}
	}
}

// outcomes matches outcomes by measure; a changed measure is a removal and
// an addition, both flagged as outcome switching.
func (d *differ) outcomes(kind string, os, ns []Outcome) {
	om := map[string]Outcome{}
	for _, x := range os {
		om[x.Measure] = x
	}
	nm := map[string]bool{}
	for _, x := range ns {
		nm[x.Measure] = true
		id := kind + ": " + x.Measure
		prev, ok := om[x.Measure]
		if !ok {
			d.add(Change{Kind: Added, What: "outcome", OID: id, New: x.TimeFrame, Impact: impactOutcome})
			continue
		}
		d.field("outcome", id, "time_frame", prev.TimeFrame, x.TimeFrame, impactOutcome)
		d.field("outcome", id, "description", prev.Description, x.Description, impactOutcome)
	}
	for _, x := range os {
		if !nm[x.Measure] {
			d.add(Change{Kind: Removed, What: "outcome", OID: kind + ": " + x.Measure, Old: x.TimeFrame, Impact: impactOutcome})
		}
	}
	if len(os) == len(ns) {
		same := true
		for i := range os {
			if os[i].Measure != ns[i].Measure {
				same = false
			}
		}
		if !same && len(nm) == len(om) {
			allKnown := true
			for _, x := range ns {
				if _, ok := om[x.Measure]; !ok {
					allKnown = false
				}
			}
			if allKnown {
				d.add(Change{Kind: Changed, What: "outcome", OID: kind, Field: "order", Old: measures(os), New: measures(ns), Impact: impactOutcome})
			}
		}
	}
}

func measures(os []Outcome) string {
	var s []string
	for _, o := range os {
		s = append(s, o.Measure)
	}
	return strings.Join(s, "; ")
}

func (d *differ) events(o, n *Protocol) {
	om := map[string]Event{}
	for _, e := range o.Events {
		om[e.OID] = e
	}
	nm := map[string]bool{}
	for _, e := range n.Events {
		nm[e.OID] = true
		prev, ok := om[e.OID]
		if !ok {
			d.add(Change{Kind: Added, What: "event", OID: e.OID, New: e.Name})
			continue
		}
		d.field("event", e.OID, "name", prev.Name, e.Name, "")
		d.field("event", e.OID, "type", string(prev.Type), string(e.Type), "")
		d.field("event", e.OID, "day", strconv.Itoa(prev.Day), strconv.Itoa(e.Day), impactSchedule)
		d.field("event", e.OID, "window_before", strconv.Itoa(prev.WindowBefore), strconv.Itoa(e.WindowBefore), impactSchedule)
		d.field("event", e.OID, "window_after", strconv.Itoa(prev.WindowAfter), strconv.Itoa(e.WindowAfter), impactSchedule)
		d.field("event", e.OID, "window_hard", strconv.FormatBool(prev.WindowHard), strconv.FormatBool(e.WindowHard), impactSchedule)
		d.field("event", e.OID, "visit_date", prev.VisitDate, e.VisitDate, impactSchedule)
		if prev.Repeatable && !e.Repeatable {
			d.field("event", e.OID, "repeatable", "true", "false", impactOrphaned+" (repeats beyond the first)")
			d.a.Removed = append(d.a.Removed, "event "+e.OID+" repeats")
		} else {
			d.field("event", e.OID, "repeatable", strconv.FormatBool(prev.Repeatable), strconv.FormatBool(e.Repeatable), "")
		}
		nf := map[string]bool{}
		for _, f := range e.Forms {
			nf[f] = true
		}
		var gone []string
		for _, f := range prev.Forms {
			if !nf[f] {
				gone = append(gone, f)
			}
		}
		impact := ""
		if len(gone) > 0 {
			impact = impactOrphaned + " (forms " + strings.Join(gone, ", ") + " no longer collected here)"
			d.a.Removed = append(d.a.Removed, "event "+e.OID+" forms "+strings.Join(gone, ", "))
		}
		d.field("event", e.OID, "forms", strings.Join(prev.Forms, ", "), strings.Join(e.Forms, ", "), impact)
	}
	for _, e := range o.Events {
		if !nm[e.OID] {
			d.add(Change{Kind: Removed, What: "event", OID: e.OID, Old: e.Name, Impact: impactOrphaned})
			d.a.Removed = append(d.a.Removed, "event "+e.OID)
		}
	}
}

// isEligibility says whether a form is the eligibility form: its OID or name
// mentions eligibility (OID IE, ELIG..., or a name with "eligib" or
// "inclusion").
func isEligibility(f Form) bool {
	oid := strings.ToUpper(f.OID)
	name := strings.ToLower(f.Name)
	return oid == "IE" || strings.Contains(oid, "ELIG") || strings.Contains(name, "eligib") || strings.Contains(name, "inclusion")
}

type itemAt struct {
	item  Item
	form  Form
	group ItemGroup
}

func indexItems(p *Protocol) (map[string]itemAt, []string) {
	m := map[string]itemAt{}
	var order []string
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				if _, dup := m[it.OID]; !dup {
					order = append(order, it.OID)
				}
				m[it.OID] = itemAt{item: it, form: f, group: g}
			}
		}
	}
	return m, order
}

func (d *differ) forms(o, n *Protocol) {
	of := map[string]Form{}
	for _, f := range o.Forms {
		of[f.OID] = f
	}
	nf := map[string]bool{}
	for _, f := range n.Forms {
		nf[f.OID] = true
		prev, ok := of[f.OID]
		if !ok {
			d.add(Change{Kind: Added, What: "form", OID: f.OID, New: f.Name, Impact: eligImpact(f, "")})
			continue
		}
		d.field("form", f.OID, "name", prev.Name, f.Name, "")
		d.field("form", f.OID, "safety", strconv.FormatBool(prev.Safety), strconv.FormatBool(f.Safety), "")
		d.field("form", f.OID, "end_of_study", strconv.FormatBool(prev.EndOfStudy), strconv.FormatBool(f.EndOfStudy), "")
		d.field("form", f.OID, "serious_item", prev.SeriousItem, f.SeriousItem, "")
	}
	for _, f := range o.Forms {
		if !nf[f.OID] {
			d.add(Change{Kind: Removed, What: "form", OID: f.OID, Old: f.Name, Impact: eligImpact(f, impactOrphaned)})
			d.a.Removed = append(d.a.Removed, "form "+f.OID)
		}
	}
	d.groups(o, n)
	d.items(o, n)
	d.checks(o, n)
}

func eligImpact(f Form, base string) string {
	if !isEligibility(f) {
		return base
	}
	if base == "" {
		return impactReconsent + ": eligibility criteria changed"
	}
	return base + "; " + impactReconsent + ": eligibility criteria changed"
}

func (d *differ) groups(o, n *Protocol) {
	type fg struct {
		form  Form
		group ItemGroup
	}
	og := map[string]fg{}
	for _, f := range o.Forms {
		for _, g := range f.Groups {
			og[f.OID+"/"+g.OID] = fg{f, g}
		}
	}
	ng := map[string]bool{}
	for _, f := range n.Forms {
		for _, g := range f.Groups {
			k := f.OID + "/" + g.OID
			ng[k] = true
			prev, ok := og[k]
			if !ok {
				d.add(Change{Kind: Added, What: "group", OID: g.OID, New: g.Name, Impact: eligImpact(f, "")})
				continue
			}
			d.field("group", g.OID, "name", prev.group.Name, g.Name, "")
			if prev.group.Repeating != g.Repeating {
				for _, it := range g.Items {
					d.reenter(it.OID)
				}
				d.field("group", g.OID, "repeating", strconv.FormatBool(prev.group.Repeating), strconv.FormatBool(g.Repeating),
					eligImpact(f, impactReentry))
			}
			pm, nm := prev.group.MaxRepeats, g.MaxRepeats
			if pm != nm {
				impact := ""
				if nm != 0 && (pm == 0 || nm < pm) {
					impact = impactReentry + " (fewer rows allowed)"
					for _, it := range g.Items {
						d.reenter(it.OID)
					}
				}
				d.field("group", g.OID, "max_repeats", strconv.Itoa(pm), strconv.Itoa(nm), impact)
			}
		}
	}
	for _, f := range o.Forms {
		for _, g := range f.Groups {
			if !ng[f.OID+"/"+g.OID] {
				d.add(Change{Kind: Removed, What: "group", OID: g.OID, Old: g.Name, Impact: eligImpact(f, impactOrphaned)})
				d.a.Removed = append(d.a.Removed, "group "+g.OID)
			}
		}
	}
}

func (d *differ) items(o, n *Protocol) {
	oi, _ := indexItems(o)
	ni, norder := indexItems(n)
	for _, oid := range norder {
		cur := ni[oid]
		it := cur.item
		prevAt, ok := oi[oid]
		if !ok {
			imp := ""
			if it.Required && it.ShowIf == "" {
				imp = "forms already entered lack this required item"
			}
			d.add(Change{Kind: Added, What: "item", OID: oid, New: it.Label, Impact: eligImpact(cur.form, imp)})
			continue
		}
		prev := prevAt.item
		elig := isEligibility(cur.form) || isEligibility(prevAt.form)
		f := func(field, old, nw string, breaking bool, note string) {
			if old == nw {
				return
			}
			imp := note
			if breaking {
				d.reenter(oid)
				imp = impactReentry
				if note != "" {
					imp += " (" + note + ")"
				}
			}
			if elig {
				if imp != "" {
					imp += "; "
				}
				imp += impactReconsent + ": eligibility criteria changed"
			}
			d.add(Change{Kind: Changed, What: "item", OID: oid, Field: field, Old: old, New: nw, Impact: imp})
		}
		if prevAt.form.OID != cur.form.OID || prevAt.group.OID != cur.group.OID {
			f("group", prevAt.form.OID+"/"+prevAt.group.OID, cur.form.OID+"/"+cur.group.OID, true, "moved")
		}
		f("label", prev.Label, it.Label, false, "")
		f("type", string(prev.Type), string(it.Type), true, "type changed")
		f("digits", strconv.Itoa(prev.Digits), strconv.Itoa(it.Digits), it.Digits < prev.Digits, "fewer decimal places")
		f("unit", prev.Unit, it.Unit, prev.Unit != "", "unit changed: values recorded in the old unit")
		f("codelist", prev.CodeList, it.CodeList, true, "code list replaced")
		pmin, pmax := rangeOf(prev.Hard)
		nmin, nmax := rangeOf(it.Hard)
		f("hard.min", pmin, nmin, raisesMin(pmin, nmin), "range narrowed")
		f("hard.max", pmax, nmax, lowersMax(pmax, nmax), "range narrowed")
		pmin, pmax = rangeOf(prev.Soft)
		nmin, nmax = rangeOf(it.Soft)
		f("soft.min", pmin, nmin, false, softNote(raisesMin(pmin, nmin)))
		f("soft.max", pmax, nmax, false, softNote(lowersMax(pmax, nmax)))
		f("required", strconv.FormatBool(prev.Required), strconv.FormatBool(it.Required), it.Required, "became required")
		f("max_length", strconv.Itoa(prev.MaxLength), strconv.Itoa(it.MaxLength),
			it.MaxLength != 0 && (prev.MaxLength == 0 || it.MaxLength < prev.MaxLength), "shorter maximum length")
		f("pattern", prev.Pattern, it.Pattern, it.Pattern != "", "pattern changed: values entered before may not match it")
		f("pattern_message", prev.PatternMessage, it.PatternMessage, false, "")
		f("show_if", prev.ShowIf, it.ShowIf, it.ShowIf != "", "branching changed: hidden items must be empty")
		f("section", prev.Section, it.Section, false, "")
		f("note", prev.Note, it.Note, false, "")
		f("annotation", prev.Annotation, it.Annotation, false, "")
		f("derive", prev.Derive, it.Derive, false, "derived values change when their form is next submitted or corrected")
		f("missing", strings.Join(prev.Missing, ","), strings.Join(it.Missing, ","),
			slices.ContainsFunc(prev.Missing, func(code string) bool { return !slices.Contains(it.Missing, code) }), "a missing-data code is no longer allowed")
	}
	for _, f := range o.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				if _, ok := ni[it.OID]; !ok {
					d.reenter(it.OID)
					d.add(Change{Kind: Removed, What: "item", OID: it.OID, Old: it.Label, Impact: eligImpact(f, impactReentry+" (item removed: its data is orphaned)")})
				}
			}
		}
	}
}

func softNote(narrowed bool) string {
	if narrowed {
		return impactQueries
	}
	return ""
}

func rangeOf(r *Range) (string, string) {
	if r == nil {
		return "", ""
	}
	return r.Min, r.Max
}

// raisesMin says whether a lower bound got stricter; bounds that are not
// comparable count as stricter.
func raisesMin(old, nw string) bool {
	if nw == "" || old == nw {
		return false
	}
	if old == "" {
		return true
	}
	c, ok := compareBound(old, nw)
	return !ok || c < 0
}

// lowersMax says whether an upper bound got stricter.
func lowersMax(old, nw string) bool {
	if nw == "" || old == nw {
		return false
	}
	if old == "" {
		return true
	}
	c, ok := compareBound(old, nw)
	return !ok || c > 0
}

// compareBound compares two range bounds as exact decimals or, failing
// that, as ISO dates (which order as strings).
func compareBound(a, b string) (int, bool) {
	if da, err := ParseDecimal(a); err == nil {
		if db, err := ParseDecimal(b); err == nil {
			return da.Cmp(db), true
		}
		return 0, false
	}
	if len(a) == len(b) && len(a) >= 4 && a[0] >= '0' && a[0] <= '9' && b[0] >= '0' && b[0] <= '9' {
		return strings.Compare(a, b), true
	}
	return 0, false
}

func (d *differ) codeLists(o, n *Protocol) {
	oc := map[string]CodeList{}
	for _, c := range o.CodeLists {
		oc[c.OID] = c
	}
	users := map[string][]string{}
	for _, f := range n.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				if it.CodeList != "" {
					users[it.CodeList] = append(users[it.CodeList], it.OID)
				}
			}
		}
	}
	nc := map[string]bool{}
	for _, c := range n.CodeLists {
		nc[c.OID] = true
		prev, ok := oc[c.OID]
		if !ok {
			d.add(Change{Kind: Added, What: "codelist", OID: c.OID, New: c.Name})
			continue
		}
		d.field("codelist", c.OID, "name", prev.Name, c.Name, "")
		pm := map[string]string{}
		for _, ci := range prev.Items {
			pm[ci.Code] = ci.Decode
		}
		nm := map[string]bool{}
		for _, ci := range c.Items {
			nm[ci.Code] = true
			id := c.OID + ":" + ci.Code
			pd, ok := pm[ci.Code]
			if !ok {
				d.add(Change{Kind: Added, What: "code", OID: id, New: ci.Decode})
				continue
			}
			if pd != ci.Decode {
				d.add(Change{Kind: Changed, What: "code", OID: id, Field: "decode", Old: pd, New: ci.Decode,
					Impact: "meaning of recorded code changed: review " + strings.Join(users[c.OID], ", ")})
			}
		}
		for _, ci := range prev.Items {
			if !nm[ci.Code] {
				for _, u := range users[c.OID] {
					d.reenter(u)
				}
				d.add(Change{Kind: Removed, What: "code", OID: c.OID + ":" + ci.Code, Old: ci.Decode,
					Impact: impactReentry + " (" + strings.Join(users[c.OID], ", ") + ")"})
			}
		}
	}
	for _, c := range o.CodeLists {
		if !nc[c.OID] {
			d.add(Change{Kind: Removed, What: "codelist", OID: c.OID, Old: c.Name})
		}
	}
}

func (d *differ) checks(o, n *Protocol) {
	type fc struct {
		form  Form
		check EditCheck
	}
	oc := map[string]fc{}
	for _, f := range o.Forms {
		for _, c := range f.Checks {
			oc[f.OID+"/"+c.OID] = fc{f, c}
		}
	}
	nc := map[string]bool{}
	for _, f := range n.Forms {
		for _, c := range f.Checks {
			k := f.OID + "/" + c.OID
			nc[k] = true
			prev, ok := oc[k]
			hard := c.Severity == Hard
			if !ok {
				imp := ""
				if hard {
					imp = impactReentry + " (new hard check)"
					for _, it := range c.Items {
						d.reenter(it)
					}
				}
				d.add(Change{Kind: Added, What: "check", OID: c.OID, New: c.Condition, Impact: eligImpact(f, imp)})
				continue
			}
			tight := hard && (prev.check.Condition != c.Condition || prev.check.Severity != Hard)
			imp := ""
			if tight {
				imp = impactReentry + " (hard check changed)"
				for _, it := range c.Items {
					d.reenter(it)
				}
			}
			d.field("check", c.OID, "condition", prev.check.Condition, c.Condition, eligImpact(f, imp))
			d.field("check", c.OID, "severity", string(prev.check.Severity), string(c.Severity), imp)
			d.field("check", c.OID, "message", prev.check.Message, c.Message, "")
			d.field("check", c.OID, "items", strings.Join(prev.check.Items, ", "), strings.Join(c.Items, ", "), "")
		}
	}
	for _, f := range o.Forms {
		for _, c := range f.Checks {
			if !nc[f.OID+"/"+c.OID] {
				d.add(Change{Kind: Removed, What: "check", OID: c.OID, Old: c.Condition, Impact: eligImpact(f, "")})
			}
		}
	}
}

// String prints the amendment report: the verdict first, then one line
// per change.
func (a *Amendment) String() string {
	if a == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Amendment %s -> %s: %d change(s)\n", show(a.FromVersion), show(a.ToVersion), len(a.Changes))
	if a.OutcomeSwitching {
		b.WriteString("!! OUTCOME SWITCHING: primary or secondary outcomes changed; justify, re-register and re-consent\n")
	}
	if a.Compatible {
		b.WriteString("Compatible: yes, data already collected stays valid\n")
	} else {
		b.WriteString("Compatible: NO\n")
	}
	if a.NeedsReconsent {
		b.WriteString("Re-consent: REQUIRED\n")
	} else {
		b.WriteString("Re-consent: not required\n")
	}
	if len(a.Reentry) > 0 {
		b.WriteString("Re-entry / review: " + strings.Join(a.Reentry, ", ") + "\n")
	}
	if len(a.Removed) > 0 {
		b.WriteString("Removed with their data: " + strings.Join(a.Removed, "; ") + "\n")
	}
	for _, c := range a.Changes {
		b.WriteString("  " + c.String() + "\n")
	}
	return b.String()
}
