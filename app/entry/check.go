package entry

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Ledger is what the ledger holds that an import is checked and planned
// against.
type Ledger struct {
	// Subjects of the study by ID.
	Subjects map[string]types.Subject
	// Records are the current forms of those subjects.
	Records map[types.FormKey]types.FormRecord
	// Site, when set, is the signer's organisation: subjects of other
	// sites are refused.
	Site string
}

// Check validates every instance locally, as the ledger will: the subject
// is enrolled (at Site, not withdrawn for new forms), the event is in the
// schedule and collects the form, the event repeat fits, and the values
// the ledger will hold once the import is through (see held) pass the
// protocol's edit checks (protocol.Compiled.Validate, with cross-form
// conditions resolved by protocol.Compiled.CrossFormLookup from the forms
// of the workbook as the ledger will hold them, then the ledger's).
// Problems come back located on the sheet, in sheet order; soft problems
// are warnings.
func Check(c *protocol.Compiled, p *Parsed, l Ledger) []Problem {
	vals := make([][]protocol.ItemValue, len(p.Instances))
	book := make(map[types.FormKey][]protocol.ItemValue, len(p.Instances))
	for i, in := range p.Instances {
		vals[i] = held(c, in, l.Records)
		book[in.Key] = vals[i]
	}
	var out []Problem
	for i, in := range p.Instances {
		k := in.Key
		sub, ok := l.Subjects[k.Subject]
		_, onLedger := l.Records[k]
		switch {
		case !ok:
			out = append(out, in.keyProblem(0, CodeSubjectUnknown, fmt.Sprintf("subject %s is not enrolled in study %s", k.Subject, k.Study)))
		case l.Site != "" && sub.Site != l.Site:
			out = append(out, in.keyProblem(0, CodeSubjectOtherSite, fmt.Sprintf("subject %s is enrolled at site %s, not at your site %s", k.Subject, sub.Site, l.Site)))
		case !onLedger && !sub.AdmitsNewForm(safetyForm(c, k.Form)):
			out = append(out, in.keyProblem(0, CodeSubjectWithdrawn, fmt.Sprintf("subject %s was withdrawn%s; form %s cannot be entered (corrections of earlier forms remain possible)", k.Subject, kindText(sub.WithdrawalKind), k.Form)))
		}
		ev, ok := c.Event(k.Event)
		switch {
		case !ok:
			out = append(out, in.keyProblem(1, CodeEventUnknown, fmt.Sprintf("event %q is not in the schedule of the protocol in force", k.Event)))
		case !c.FormInEvent(k.Event, k.Form):
			out = append(out, in.keyProblem(1, CodeFormNotInEvent, fmt.Sprintf("form %s is not collected at event %s", k.Form, k.Event)))
		case !ev.Repeatable && k.EventRepeat != 1:
			out = append(out, in.keyProblem(2, CodeEventRepeat, fmt.Sprintf("event %s does not repeat; use event repeat 1, not %d", k.Event, k.EventRepeat)))
		}
		forms := importedForms(k, book, l.Records)
		for _, pr := range c.Validate(k.Form, vals[i], c.CrossFormLookup(k.Event, k.EventRepeat, forms)) {
			out = append(out, in.problem(pr.Item, pr.Repeat, pr.Severity, pr.Code, pr.Message))
		}
	}
	out = append(out, p.Problems...)
	SortProblems(out)
	return out
}

// SortProblems orders problems by sheet, row and column.
func SortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := cmp.Compare(a.Sheet, b.Sheet); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Row, b.Row); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Column), len(b.Column)); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
}

// held returns the values the ledger holds for an instance once the
// import is through: the sheet's values for a new form; for a form on the
// ledger, its record with the changes Plan sends applied (none when it is
// skipped), so items without a column on the sheet, and values the sheet
// writes differently with the same meaning ("37.20" for "37.2"), stay as
// the ledger holds them. The record's derived values are left out: the
// checks compute them again from the inputs, as the ledger does.
func held(c *protocol.Compiled, in *Instance, recs map[types.FormKey]types.FormRecord) []protocol.ItemValue {
	rec, ok := recs[in.Key]
	if !ok {
		return in.Values
	}
	changes, _ := diff(c, in, rec.Values)
	// Derived values are the ledger's to compute again, never inputs.
	vals := make(map[cellKey]protocol.ItemValue, len(rec.Values)+len(changes))
	for _, v := range slices.Concat(c.Inputs(rec.Values), changes) {
		vals[cellKey{v.Item, v.Repeat}] = v
	}
	out := make([]protocol.ItemValue, 0, len(vals))
	for _, v := range vals {
		out = append(out, v)
	}
	return c.CanonicalValues(in.Key.Form, out)
}

// importedForms supplies the forms of the subject of k to cross-form
// conditions as the ledger will hold them once the import is through:
// the workbook's (book, as held returns them), else the ledger's records.
func importedForms(k types.FormKey, book map[types.FormKey][]protocol.ItemValue, recs map[types.FormKey]types.FormRecord) protocol.FormValues {
	return func(event string, eventRepeat int, form string) ([]protocol.ItemValue, bool) {
		key := types.FormKey{Study: k.Study, Subject: k.Subject, Event: event, EventRepeat: eventRepeat, Form: form}
		if vals, ok := book[key]; ok {
			return vals, true
		}
		if r, ok := recs[key]; ok {
			return r.Values, true
		}
		return nil, false
	}
}

// Action is what an import does with a form instance.
type Action string

// Actions.
const (
	ActionSubmit  Action = "submit"  // not on the ledger yet: MsgSubmitForm
	ActionCorrect Action = "correct" // on the ledger with other values: MsgCorrectForm
	ActionSkip    Action = "skip"    // on the ledger with the same values
	// ActionRefuse: on the ledger with other values, and changed there
	// since the row was pre-filled (or the row was not pre-filled from
	// it): importing would overwrite what the workbook's author never
	// saw. Nothing is sent without PlanOptions.Overwrite.
	ActionRefuse Action = "refuse"
)

// Step is the plan for one instance.
type Step struct {
	Instance *Instance
	Action   Action
	// Values are what to send: every value for a submission, only the
	// changed items for a correction (an empty value clears the item).
	Values []protocol.ItemValue
	// Changed names the changed items ("AE.SEV[2]") of a correction.
	Changed []string
	// Reason is a correction's reason for change: the instance's, else
	// PlanOptions.Reason.
	Reason string
	// BaseVersion is the ledger's version of the form a correction is made
	// from; the ledger refuses the correction when the form has changed
	// since.
	BaseVersion int
	// Refusal says why a refused step is not sent.
	Refusal string
	// Wave orders the sending: forms whose values other forms' conditions
	// read go in earlier waves, so the ledger sees them first.
	Wave int
}

// Sends reports whether the step sends a transaction.
func (st Step) Sends() bool { return st.Action == ActionSubmit || st.Action == ActionCorrect }

// PlanOptions are the import's choices.
type PlanOptions struct {
	// Reason is the reason for change of corrections whose rows give none.
	Reason string
	// Overwrite corrects forms that changed on the ledger since the rows
	// were pre-filled, replacing the ledger's values with the workbook's.
	Overwrite bool
	// ClearEmptied clears the ledger's value of an item whose cell was
	// emptied; without it an emptied cell is a problem.
	ClearEmptied bool
}

// Plan compares each instance with the ledger's record of the same key:
// absent means submit; the same values (numbers compared exactly, so
// "37.20" equals "37.2") mean skip; otherwise a correction with only the
// changed items, comparing only items that have a column on the sheet,
// made from the ledger's version the rows were pre-filled from. A form
// changed on the ledger since, or one the rows were not pre-filled from,
// is refused unless opt.Overwrite. The problems are those of the plan: a
// correction without a reason, an emptied cell without opt.ClearEmptied,
// a VERSION the ledger never had.
func Plan(c *protocol.Compiled, p *Parsed, recs map[types.FormKey]types.FormRecord, opt PlanOptions) ([]Step, []Problem) {
	waves := formWaves(c)
	steps := make([]Step, 0, len(p.Instances))
	var problems []Problem
	for _, in := range p.Instances {
		st := Step{Instance: in, Wave: waves[in.Key.Form]}
		k := in.Key
		rec, ok := recs[k]
		if !ok {
			if in.LedgerVersion != 0 {
				problems = append(problems, in.versionProblem(fmt.Sprintf("VERSION %d, but form %s of subject %s at %s is not on the ledger: the workbook was not pre-filled from this study's ledger; make a new one with form template --prefill",
					in.LedgerVersion, k.Form, k.Subject, k.Event)))
			}
			st.Action, st.Values = ActionSubmit, in.Values
			steps = append(steps, st)
			continue
		}
		st.Values, st.Changed = diff(c, in, rec.Values)
		switch {
		case len(st.Values) == 0:
			st.Action = ActionSkip
		case in.LedgerVersion > rec.Version:
			problems = append(problems, in.versionProblem(fmt.Sprintf("VERSION %d, but form %s of subject %s at %s is at version %d on the ledger: the workbook was not pre-filled from this study's ledger; make a new one with form template --prefill",
				in.LedgerVersion, k.Form, k.Subject, k.Event, rec.Version)))
			st.Action = ActionRefuse
		case in.LedgerVersion != rec.Version && !opt.Overwrite:
			st.Action = ActionRefuse
			since := "the rows were not pre-filled from the ledger"
			if in.LedgerVersion > 0 {
				since = fmt.Sprintf("it changed on the ledger since the workbook was pre-filled (version %d; now version %d, by %s at height %d", in.LedgerVersion, rec.Version, rec.Stamp.Signer, rec.Stamp.Height)
				if rec.Reason != "" {
					since += ": " + clip(rec.Reason, 60)
				}
				since += ")"
			}
			st.Refusal = fmt.Sprintf("form %s of subject %s at %s is on the ledger with other values in %s, and %s: make a new pre-filled workbook (form template --prefill) and enter the change there, or import with --overwrite to replace the ledger's values",
				k.Form, k.Subject, k.Event, strings.Join(st.Changed, ", "), since)
		default:
			st.Action, st.BaseVersion = ActionCorrect, rec.Version
			st.Reason = in.Reason
			if st.Reason == "" {
				st.Reason = opt.Reason
			}
			if st.Reason == "" {
				col := in.reasonCol
				if col == "" {
					col = in.keyCol[0]
				}
				problems = append(problems, Problem{Sheet: in.Sheet, Row: in.Row, Column: col, Severity: protocol.Hard, Code: CodeReasonRequired,
					Message: fmt.Sprintf("form %s of subject %s at %s is already on the ledger with other values (%s); a correction needs a reason: write it in the REASON column or pass --reason", k.Form, k.Subject, k.Event, strings.Join(st.Changed, ", "))})
			}
			if !opt.ClearEmptied {
				for _, v := range st.Values {
					if !v.Empty() {
						continue
					}
					problems = append(problems, emptiedProblem(c, in, rec, v))
				}
			}
		}
		steps = append(steps, st)
	}
	SortProblems(problems)
	return steps, problems
}

// emptiedProblem is the problem of a cell emptied of what the ledger's
// record rec holds for v's item and repeat: it says how to record that
// the value cannot be had (a missing-data code, when the item allows
// one) and how to clear it on purpose.
func emptiedProblem(c *protocol.Compiled, in *Instance, rec types.FormRecord, v protocol.ItemValue) Problem {
	old := ""
	for _, o := range rec.Values {
		if o.Item == v.Item && o.Repeat == v.Repeat {
			old = cmp.Or(o.Value, o.MissingText())
		}
	}
	fix := "type the value again"
	if it, _, ok := c.Item(v.Item); ok && len(it.Missing) > 0 {
		fix += ", enter a missing-data code (" + strings.Join(missingEntries(c, it), ", ") + "; with the reason as in " + it.Missing[0] + ": reason)"
	}
	return in.problem(v.Item, v.Repeat, protocol.Hard, CodeCellEmptied,
		fmt.Sprintf("%s%s is %q on the ledger (version %d) and its cell is empty: %s, or import with --clear-emptied to clear it", rowWords(v.Repeat), v.Item, clip(old, 40), rec.Version, fix))
}

// versionProblem is a problem on the instance's VERSION cell.
func (in *Instance) versionProblem(msg string) Problem {
	col := in.versionCol
	if col == "" {
		col = in.keyCol[0]
	}
	return Problem{Sheet: in.Sheet, Row: in.Row, Column: col, Severity: protocol.Hard, Code: CodeVersionInvalid, Message: msg}
}

// rowWords is "row 2 of " for a repeat, "" otherwise.
func rowWords(repeat int) string {
	if repeat == 0 {
		return ""
	}
	return "row " + strconv.Itoa(repeat) + " of "
}

// diff returns the changes that turn old into the instance's values.
func diff(c *protocol.Compiled, in *Instance, old []protocol.ItemValue) ([]protocol.ItemValue, []string) {
	onSheet := map[string]bool{}
	for _, it := range in.Items {
		onSheet[it] = true
	}
	prev := map[cellKey]protocol.ItemValue{}
	for _, v := range old {
		if onSheet[v.Item] && !v.Empty() {
			prev[cellKey{v.Item, v.Repeat}] = v
		}
	}
	var changes []protocol.ItemValue
	now := map[cellKey]bool{}
	for _, v := range in.Values {
		k := cellKey{v.Item, v.Repeat}
		now[k] = true
		it, _, _ := c.Item(v.Item)
		if o, ok := prev[k]; ok && sameItemValue(it, o, v) {
			continue
		}
		changes = append(changes, v)
	}
	for k := range prev {
		if !now[k] {
			changes = append(changes, protocol.ItemValue{Item: k.item, Repeat: k.repeat})
		}
	}
	order := itemOrder(c, in.Key.Form)
	slices.SortFunc(changes, func(a, b protocol.ItemValue) int {
		oa, ob := order[a.Item], order[b.Item]
		if x := cmp.Compare(oa[0], ob[0]); x != 0 {
			return x
		}
		if x := cmp.Compare(a.Repeat, b.Repeat); x != 0 {
			return x
		}
		return cmp.Compare(oa[1], ob[1])
	})
	names := make([]string, len(changes))
	for i, ch := range changes {
		names[i] = ch.Item
		if ch.Repeat > 0 {
			names[i] += "[" + strconv.Itoa(ch.Repeat) + "]"
		}
	}
	return changes, names
}

// itemOrder gives each item of a form its group index and position.
func itemOrder(c *protocol.Compiled, formOID string) map[string][2]int {
	out := map[string][2]int{}
	f, ok := c.Form(formOID)
	if !ok {
		return out
	}
	pos := 0
	for gi, g := range f.Groups {
		for _, it := range g.Items {
			out[it.OID] = [2]int{gi, pos}
			pos++
		}
	}
	return out
}

// formWaves gives each form the wave it is sent in: 0 for a form whose
// conditions read no other form, else one more than the latest wave of
// the forms its show-if and edit-check conditions read.
func formWaves(c *protocol.Compiled) map[string]int {
	p := c.Protocol()
	deps := map[string]map[string]bool{}
	addRefs := func(form string, cond *protocol.Condition) {
		if cond == nil {
			return
		}
		for _, ref := range cond.Refs() {
			if _, other, ok := c.Item(ref); ok && other != form {
				if deps[form] == nil {
					deps[form] = map[string]bool{}
				}
				deps[form][other] = true
			}
		}
	}
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				addRefs(f.OID, c.ShowIf(it.OID))
			}
		}
		for _, ch := range f.Checks {
			if cond, err := protocol.ParseCondition(ch.Condition); err == nil {
				addRefs(f.OID, cond)
			}
		}
	}
	waves := map[string]int{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) int
	visit = func(f string) int {
		switch state[f] {
		case 1:
			return 0 // a cycle: the ledger resolves it by order within a block
		case 2:
			return waves[f]
		}
		state[f] = 1
		w := 0
		for d := range deps[f] {
			w = max(w, visit(d)+1)
		}
		state[f] = 2
		waves[f] = w
		return w
	}
	for _, f := range p.Forms {
		visit(f.OID)
	}
	return waves
}

// safetyForm reports whether form is a safety or end-of-study form.
func safetyForm(c *protocol.Compiled, form string) bool {
	safety, eos := c.SafetyForm(form)
	return safety || eos
}

// kindText is " (kind)" for a withdrawal of a kind, "" otherwise.
func kindText(k types.WithdrawalKind) string {
	if k == "" {
		return ""
	}
	return " (" + string(k) + ")"
}
