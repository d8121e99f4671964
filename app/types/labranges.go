package types

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/protocol"
)

// Reference ranges for lab items. A study's sponsor registers a table of
// normal ranges per lab, sex and age band (MsgSetLabRanges), and replaces
// it as labs change theirs; every version is kept and the latest is in
// force. A lab value outside its range is flagged in the form record
// (LabFlag), not queried: the investigator assesses it
// (MsgAssessLabValue), abnormal and clinically significant or not.
// docs/LABRANGES.md describes the rules.

// LabRange is the normal range of a lab item for one lab, one sex and one
// age band; an empty Lab or Sex, or an unset age bound, matches any. Low
// and High are exact decimals in the item's unit, inclusive; one of them
// may be empty (no bound on that side).
type LabRange struct {
	Item string `json:"item" yaml:"item"`
	Lab  string `json:"lab,omitempty" yaml:"lab,omitempty"`
	Sex  string `json:"sex,omitempty" yaml:"sex,omitempty"`
	// AgeMin and AgeMax bound the age band in years, inclusive.
	AgeMin *int   `json:"age_min,omitempty" yaml:"age_min,omitempty"`
	AgeMax *int   `json:"age_max,omitempty" yaml:"age_max,omitempty"`
	Low    string `json:"low,omitempty" yaml:"low,omitempty"`
	High   string `json:"high,omitempty" yaml:"high,omitempty"`
	Unit   string `json:"unit,omitempty" yaml:"unit,omitempty"`
}

// LabRanges is a reference-range table: its ranges and the items that
// give, for a lab value, the lab that measured it (an item of the lab
// form, or of another form read like a cross-form condition reads it),
// and the subject's sex and age (items such as DM.SEX and DM.AGE). An
// item left empty gives nothing: then every range must leave its part
// empty too.
type LabRanges struct {
	LabItem string     `json:"lab_item,omitempty" yaml:"lab_item,omitempty"`
	SexItem string     `json:"sex_item,omitempty" yaml:"sex_item,omitempty"`
	AgeItem string     `json:"age_item,omitempty" yaml:"age_item,omitempty"`
	Ranges  []LabRange `json:"ranges" yaml:"ranges"`
}

// MsgSetLabRanges registers the next version of a study's reference-range
// table, which replaces the one in force; Reason says why.
type MsgSetLabRanges struct {
	Study string `json:"study"`
	LabRanges
	Reason string `json:"reason"`
}

// LabRangeTable is one version of a study's reference-range table, stored
// forever; ProtocolVersion is the protocol version it was checked against.
type LabRangeTable struct {
	Study   string `json:"study"`
	Version int    `json:"version"`
	LabRanges
	ProtocolVersion int    `json:"protocol_version"`
	Reason          string `json:"reason"`
	Stamp           Stamp  `json:"stamp"`
}

// Directions of a flagged lab value.
const (
	LabLow  = "low"
	LabHigh = "high"
)

// LabFlag marks a lab value of a form version outside its reference
// range: the value, the range it is outside (Direction low or high) and
// the version of the table that gave it. Since is the form version from
// which the item has held this value: an assessment of an earlier version
// assessed another value.
type LabFlag struct {
	Item      string `json:"item"`
	Repeat    int    `json:"repeat,omitempty"`
	Value     string `json:"value"`
	Low       string `json:"low,omitempty"`
	High      string `json:"high,omitempty"`
	Unit      string `json:"unit,omitempty"`
	Direction string `json:"direction"`
	Table     int    `json:"table"`
	Since     int    `json:"since"`
}

// MsgAssessLabValue is the investigator's assessment of a flagged lab
// value of a form: clinically significant or not, with a comment
// (required when it is). FormVersion is the form version assessed, which
// must be the current one.
type MsgAssessLabValue struct {
	FormKey
	Item        string `json:"item"`
	ItemRepeat  int    `json:"item_repeat,omitempty"`
	FormVersion int    `json:"form_version"`
	Significant bool   `json:"clinically_significant"`
	Comment     string `json:"comment,omitempty"`
}

// LabAssessment is one assessment of a flagged lab value: the form
// version and value assessed.
type LabAssessment struct {
	FormVersion int    `json:"form_version"`
	Value       string `json:"value"`
	Significant bool   `json:"clinically_significant"`
	Comment     string `json:"comment,omitempty"`
	Stamp       Stamp  `json:"stamp"`
}

// Significance says an assessment for people: "clinically significant"
// or "not clinically significant".
func Significance(significant bool) string {
	if significant {
		return "clinically significant"
	}
	return "not clinically significant"
}

// LabAssessments are the assessments of one lab item (one row of a
// repeating group) of a form, oldest first.
type LabAssessments struct {
	FormKey
	Item        string          `json:"item"`
	ItemRepeat  int             `json:"item_repeat,omitempty"`
	Assessments []LabAssessment `json:"assessments"`
}

// For returns the assessment in force for flag f, or nil when f needs
// assessing: the latest one, unless the value changed since it.
func (a *LabAssessments) For(f LabFlag) *LabAssessment {
	if a == nil || len(a.Assessments) == 0 {
		return nil
	}
	last := &a.Assessments[len(a.Assessments)-1]
	if last.FormVersion < f.Since {
		return nil
	}
	return last
}

// AssessmentsOf returns the assessments of flag f of form k among all,
// nil when it was never assessed.
func AssessmentsOf(all []LabAssessments, k FormKey, f LabFlag) *LabAssessments {
	for i := range all {
		if a := &all[i]; a.FormKey == k && a.Item == f.Item && a.ItemRepeat == f.Repeat {
			return a
		}
	}
	return nil
}

// Limits of a reference-range table.
const (
	// MaxLabRanges bounds the ranges of one table.
	MaxLabRanges = 5000
	// MaxAge bounds an age band's bounds, in years.
	MaxAge = 150
)

// validateLabRanges runs the stateless checks of the reference-range
// messages; ok is false for any other message.
func validateLabRanges(msg any) (ok bool, e *Error) {
	switch m := msg.(type) {
	case *MsgSetLabRanges:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := checkText("reason", m.Reason, true); e != nil {
			return true, e
		}
		return true, m.LabRanges.Check()
	case *MsgAssessLabValue:
		if e := m.FormKey.Check(); e != nil {
			return true, e
		}
		if e := CheckID("item", m.Item); e != nil {
			return true, e
		}
		if m.ItemRepeat < 0 || m.ItemRepeat > 9999 {
			return true, Errf(CodeInvalidMsg, "item repeat must be 0 (not repeating) or a row from 1 to 9999")
		}
		if m.FormVersion < 1 {
			return true, Errf(CodeInvalidMsg, "name the form version assessed (1 or more; veritrial show form prints it)")
		}
		if m.Significant && len(m.Comment) == 0 {
			return true, Errf(CodeInvalidMsg, "a clinically significant lab value needs a comment (for example the adverse event reported)")
		}
		return true, checkText("comment", m.Comment, false)
	}
	return false, nil
}

// Check runs the checks of a table that need no protocol: at least one
// range, identifiers, bounds that parse with low <= high, age bands
// within 0 to MaxAge, a lab, sex or age band only where the table names
// the item that gives it, and no two ranges of the same item, lab and sex
// whose age bands overlap.
func (t *LabRanges) Check() *Error {
	if len(t.Ranges) == 0 {
		return Errf(CodeInvalidLabRanges, "the reference-range table has no range")
	}
	if len(t.Ranges) > MaxLabRanges {
		return Errf(CodeInvalidLabRanges, "the reference-range table has %d ranges, above the limit of %d", len(t.Ranges), MaxLabRanges)
	}
	for _, it := range []struct{ what, oid string }{{"lab item", t.LabItem}, {"sex item", t.SexItem}, {"age item", t.AgeItem}} {
		if it.oid != "" && !ValidID(it.oid) {
			return Errf(CodeInvalidLabRanges, "the %s %q is not a valid identifier", it.what, it.oid)
		}
	}
	// The ranges before each one of the same item, lab and sex, which
	// its age band must not overlap.
	same := map[[3]string][]int{}
	for i := range t.Ranges {
		r := &t.Ranges[i]
		k := [3]string{r.Item, r.Lab, r.Sex}
		if e := t.checkRange(i, same[k]); e != nil {
			return e
		}
		same[k] = append(same[k], i)
	}
	return nil
}

// checkRange checks range i, and that it overlaps none of the ranges
// before it (their indexes) of the same item, lab and sex.
func (t *LabRanges) checkRange(i int, before []int) *Error {
	r := &t.Ranges[i]
	bad := func(format string, args ...any) *Error {
		return Errf(CodeInvalidLabRanges, "range %d (%s): %s", i+1, r, fmt.Sprintf(format, args...))
	}
	if !ValidID(r.Item) {
		return bad("item %q is not a valid identifier", r.Item)
	}
	for _, s := range []struct{ what, v string }{{"lab", r.Lab}, {"sex", r.Sex}, {"unit", r.Unit}} {
		if len(s.v) > MaxNameLen {
			return bad("the %s is %d characters, above the limit of %d", s.what, len(s.v), MaxNameLen)
		}
	}
	switch {
	case r.Lab != "" && t.LabItem == "":
		return bad("names lab %q but the table names no lab item", r.Lab)
	case r.Sex != "" && t.SexItem == "":
		return bad("names sex %q but the table names no sex item", r.Sex)
	case (r.AgeMin != nil || r.AgeMax != nil) && t.AgeItem == "":
		return bad("has an age band but the table names no age item")
	case r.AgeMin != nil && (*r.AgeMin < 0 || *r.AgeMin > MaxAge), r.AgeMax != nil && (*r.AgeMax < 0 || *r.AgeMax > MaxAge):
		return bad("age bounds are years from 0 to %d", MaxAge)
	case r.AgeMin != nil && r.AgeMax != nil && *r.AgeMin > *r.AgeMax:
		return bad("the age band starts after it ends")
	case r.Low == "" && r.High == "":
		return bad("give a low or a high bound, or both")
	}
	low, high, err := r.bounds()
	if err != nil {
		return bad("%v", err)
	}
	if r.Low != "" && r.High != "" && low.Cmp(high) > 0 {
		return bad("low %s is above high %s", r.Low, r.High)
	}
	for _, j := range before {
		if o := &t.Ranges[j]; ageOverlap(o, r) {
			return bad("its age band overlaps range %d (%s) of the same item, lab and sex", j+1, o)
		}
	}
	return nil
}

// bounds parses Low and High (an empty one parses as 0).
func (r *LabRange) bounds() (low, high protocol.Decimal, err error) {
	if r.Low != "" {
		if low, err = protocol.ParseDecimal(r.Low); err != nil {
			return low, high, fmt.Errorf("low %q is %v", r.Low, err)
		}
	}
	if r.High != "" {
		if high, err = protocol.ParseDecimal(r.High); err != nil {
			return low, high, fmt.Errorf("high %q is %v", r.High, err)
		}
	}
	return low, high, nil
}

// ageOverlap reports whether the age bands of a and b share a year.
func ageOverlap(a, b *LabRange) bool {
	lo := func(r *LabRange) int {
		if r.AgeMin == nil {
			return 0
		}
		return *r.AgeMin
	}
	hi := func(r *LabRange) int {
		if r.AgeMax == nil {
			return MaxAge
		}
		return *r.AgeMax
	}
	return lo(a) <= hi(b) && lo(b) <= hi(a)
}

// String describes the range for messages: "LB.HGB lab CENTRAL sex 2
// age 18-64: 12.0 to 15.5 g/dL".
func (r *LabRange) String() string {
	s := r.Item
	if r.Lab != "" {
		s += " lab " + r.Lab
	}
	if r.Sex != "" {
		s += " sex " + r.Sex
	}
	if r.AgeMin != nil || r.AgeMax != nil {
		s += " age " + r.AgeBand()
	}
	return s + ": " + r.Bounds()
}

// AgeBand prints the age band in years: "18-64", "65+", "0-17" or "any".
func (r *LabRange) AgeBand() string {
	switch {
	case r.AgeMin == nil && r.AgeMax == nil:
		return "any"
	case r.AgeMax == nil:
		return strconv.Itoa(*r.AgeMin) + "+"
	case r.AgeMin == nil:
		return "0-" + strconv.Itoa(*r.AgeMax)
	}
	return strconv.Itoa(*r.AgeMin) + "-" + strconv.Itoa(*r.AgeMax)
}

// Bounds prints the bounds and unit: "12.0 to 15.5 g/dL", "at most 56 U/L".
func (r *LabRange) Bounds() string {
	s := ""
	switch {
	case r.Low != "" && r.High != "":
		s = r.Low + " to " + r.High
	case r.Low != "":
		s = "at least " + r.Low
	default:
		s = "at most " + r.High
	}
	if r.Unit != "" {
		s += " " + r.Unit
	}
	return s
}

// CheckAgainst checks the table against a compiled protocol: every range's
// item is a numeric (integer or decimal) item, its unit, when given, the
// item's, and the lab, sex and age items exist, the age item numeric and
// every sex a code of the sex item's code list when it has one.
func (t *LabRanges) CheckAgainst(c *protocol.Compiled) *Error {
	numeric := func(it *protocol.Item) bool {
		return it.Type == protocol.TypeInteger || it.Type == protocol.TypeDecimal
	}
	for _, ref := range []struct{ what, oid string }{{"lab item", t.LabItem}, {"sex item", t.SexItem}, {"age item", t.AgeItem}} {
		if ref.oid == "" {
			continue
		}
		it, _, ok := c.Item(ref.oid)
		if !ok {
			return Errf(CodeInvalidLabRanges, "the %s %s is not an item of the protocol in force", ref.what, ref.oid)
		}
		if ref.oid == t.AgeItem && !numeric(it) {
			return Errf(CodeInvalidLabRanges, "the age item %s is a %s item; it must hold a number of years", ref.oid, it.Type)
		}
	}
	var sexCodes *protocol.CodeList
	if t.SexItem != "" {
		it, _, _ := c.Item(t.SexItem)
		if it.CodeList != "" {
			sexCodes, _ = c.CodeList(it.CodeList)
		}
	}
	for i := range t.Ranges {
		r := &t.Ranges[i]
		it, _, ok := c.Item(r.Item)
		switch {
		case !ok:
			return Errf(CodeInvalidLabRanges, "range %d (%s): %s is not an item of the protocol in force", i+1, r, r.Item)
		case !numeric(it):
			return Errf(CodeInvalidLabRanges, "range %d (%s): %s is a %s item; reference ranges apply to integer and decimal items", i+1, r, r.Item, it.Type)
		case r.Unit != "" && it.Unit != "" && r.Unit != it.Unit:
			return Errf(CodeInvalidLabRanges, "range %d (%s): the unit %s is not the item's unit %s; give the range in %s", i+1, r, r.Unit, it.Unit, it.Unit)
		case r.Sex != "" && sexCodes != nil && !slices.ContainsFunc(sexCodes.Items, func(ci protocol.CodeItem) bool { return ci.Code == r.Sex }):
			return Errf(CodeInvalidLabRanges, "range %d (%s): sex %q is not a code of %s's code list %s", i+1, r, r.Sex, t.SexItem, sexCodes.OID)
		}
	}
	return nil
}

// RangeFor returns the range of item that applies to a value measured by
// lab for a subject of sex and age (empty, or age nil, when unknown), or
// nil: of the ranges whose lab, sex and age band match, the one naming the
// lab before one for any lab, then the one naming the sex before one for
// either. Check leaves at most one range of an item, lab and sex matching
// an age.
func (t *LabRanges) RangeFor(item, lab, sex string, age *protocol.Decimal) *LabRange {
	for _, want := range [][2]string{{lab, sex}, {lab, ""}, {"", sex}, {"", ""}} {
		for i := range t.Ranges {
			r := &t.Ranges[i]
			if r.Item == item && r.Lab == want[0] && r.Sex == want[1] && r.hasAge(age) {
				return r
			}
		}
	}
	return nil
}

// hasAge reports whether age falls in the range's age band; an unknown
// age falls only in a range without one.
func (r *LabRange) hasAge(age *protocol.Decimal) bool {
	if r.AgeMin == nil && r.AgeMax == nil {
		return true
	}
	if age == nil {
		return false
	}
	if r.AgeMin != nil && age.Cmp(yearsDecimal(*r.AgeMin)) < 0 {
		return false
	}
	return r.AgeMax == nil || age.Cmp(yearsDecimal(*r.AgeMax)) <= 0
}

func yearsDecimal(n int) protocol.Decimal {
	d, _ := protocol.ParseDecimal(strconv.Itoa(n))
	return d
}

// Outside returns LabLow or LabHigh when v lies outside the range, ""
// when inside. The range must have passed Check.
func (r *LabRange) Outside(v protocol.Decimal) string {
	low, high, _ := r.bounds()
	switch {
	case r.Low != "" && v.Cmp(low) < 0:
		return LabLow
	case r.High != "" && v.Cmp(high) > 0:
		return LabHigh
	}
	return ""
}
