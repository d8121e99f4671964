package protocol

// Protocol is one version of a trial protocol: study metadata, the schedule
// of events, the case report forms and the code lists they use. Its
// canonical JSON encoding (Canonical) is what every validator hashes; the
// order of events, forms, groups and items is the protocol's own order and
// is significant.
type Protocol struct {
	Study     Study      `json:"study" yaml:"study"`
	Events    []Event    `json:"events" yaml:"events"`
	Forms     []Form     `json:"forms" yaml:"forms"`
	CodeLists []CodeList `json:"codelists" yaml:"codelists"`
	// MissingCodes are the missing-data codes the study uses (ND not
	// done, NA not applicable, UNK unknown, ASKU asked but unknown ...)
	// with their decodes; Item.Missing says which an item allows.
	MissingCodes []CodeItem `json:"missing_codes,omitempty" yaml:"missing_codes,omitempty"`
	// Randomization says who may be randomised and in which stratum
	// (randomization.go); nil when the study is not randomised on the
	// ledger.
	Randomization *Randomization `json:"randomization,omitempty" yaml:"randomization,omitempty"`
}

// Study holds the registration metadata of a trial.
type Study struct {
	// ID is the study's stable identifier (OID style, e.g. "VT-HTN-201").
	ID string `json:"id" yaml:"id"`
	// Version labels this protocol version ("1.0", "2.0" ...).
	Version           string    `json:"version" yaml:"version"`
	Title             string    `json:"title" yaml:"title"`
	Phase             string    `json:"phase" yaml:"phase"`
	Sponsor           string    `json:"sponsor" yaml:"sponsor"`
	ProtocolDocSHA256 string    `json:"protocol_doc_sha256" yaml:"protocol_doc_sha256"`
	SAPSHA256         string    `json:"sap_sha256" yaml:"sap_sha256"`
	PrimaryOutcomes   []Outcome `json:"primary_outcomes" yaml:"primary_outcomes"`
	SecondaryOutcomes []Outcome `json:"secondary_outcomes" yaml:"secondary_outcomes"`
	Arms              []Arm     `json:"arms" yaml:"arms"`
	// SubjectIDPattern is the regular expression (Go syntax) every
	// subject ID enrolled under this protocol must match as a whole, so
	// that subjects are known by pseudonyms only; empty means
	// DefaultSubjectIDPattern.
	SubjectIDPattern string `json:"subject_id_pattern,omitempty" yaml:"subject_id_pattern,omitempty"`
	// AnchorEvent names the scheduled event whose visit date is the
	// anchor of every subject's calendar (that event's Day falls on it);
	// empty means the date of enrolment is study day 1 (docs/SCHEDULE.md).
	AnchorEvent string `json:"anchor_event,omitempty" yaml:"anchor_event,omitempty"`
	// ConsentVersion is the version of the informed consent document
	// subjects sign under this protocol version ("3.0"); the consent
	// versions of a study's protocol versions are the ones a re-consent
	// may name. An amendment that needs re-consent names a new one
	// (docs/SAFETY.md).
	ConsentVersion string `json:"consent_version,omitempty" yaml:"consent_version,omitempty"`
	// Reconsent says what happens, from the effective height of an
	// amendment that needs re-consent, to a form submitted for a subject
	// not yet re-consented to its consent version: ReconsentRefuse (the
	// default when empty) or ReconsentFlag (accepted and flagged). Safety
	// forms are always accepted.
	Reconsent string `json:"reconsent,omitempty" yaml:"reconsent,omitempty"`
}

// What a form submitted for a subject awaiting re-consent meets
// (Study.Reconsent).
const (
	ReconsentRefuse = "refuse"
	ReconsentFlag   = "flag"
)

// Outcome is a declared primary or secondary outcome measure.
type Outcome struct {
	Measure     string `json:"measure" yaml:"measure"`
	TimeFrame   string `json:"time_frame" yaml:"time_frame"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Arm is a treatment arm of the study.
type Arm struct {
	OID         string `json:"oid" yaml:"oid"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// EventType classifies an event of the schedule.
type EventType string

const (
	EventScheduled   EventType = "scheduled"
	EventUnscheduled EventType = "unscheduled"
	EventCommon      EventType = "common" // e.g. adverse events, early termination
)

// Event is one visit of the schedule of events.
type Event struct {
	OID  string    `json:"oid" yaml:"oid"`
	Name string    `json:"name" yaml:"name"`
	Type EventType `json:"type" yaml:"type"`
	// Day is the nominal study day of a scheduled event (day 1 =
	// baseline, the day before it day -1: there is no day 0);
	// WindowBefore and WindowAfter are the allowed deviation in days.
	Day          int      `json:"day" yaml:"day"`
	WindowBefore int      `json:"window_before" yaml:"window_before"`
	WindowAfter  int      `json:"window_after" yaml:"window_after"`
	Repeatable   bool     `json:"repeatable" yaml:"repeatable"`
	Forms        []string `json:"forms" yaml:"forms"` // form OIDs collected at this event
	// VisitDate is the date item (of a form collected at the event) whose
	// value is the date of the visit; empty when the event's date is not
	// recorded, and then its window is never checked.
	VisitDate string `json:"visit_date,omitempty" yaml:"visit_date,omitempty"`
	// WindowHard makes the window binding: a visit date outside it is
	// refused instead of recorded as a protocol deviation.
	WindowHard bool `json:"window_hard,omitempty" yaml:"window_hard,omitempty"`
}

// Form is a case report form.
type Form struct {
	OID    string      `json:"oid" yaml:"oid"`
	Name   string      `json:"name" yaml:"name"`
	Groups []ItemGroup `json:"groups" yaml:"groups"`
	// Checks are cross-item edit checks evaluated on submission.
	Checks []EditCheck `json:"checks,omitempty" yaml:"checks,omitempty"`
	// Safety marks a safety form (adverse events): it is accepted for a
	// subject awaiting re-consent and for one withdrawn from follow-up.
	Safety bool `json:"safety,omitempty" yaml:"safety,omitempty"`
	// EndOfStudy marks the end-of-study form, accepted like a safety form
	// for a subject withdrawn from follow-up.
	EndOfStudy bool `json:"end_of_study,omitempty" yaml:"end_of_study,omitempty"`
	// SeriousItem names the yes/no item of the form that says an adverse
	// event is serious; a yes opens a serious adverse event record (one
	// per row when the item is in a repeating group).
	SeriousItem string `json:"serious_item,omitempty" yaml:"serious_item,omitempty"`
}

// ItemGroup groups items; a repeating group holds one row per repeat
// (one row per adverse event, per medication ...).
type ItemGroup struct {
	OID        string `json:"oid" yaml:"oid"`
	Name       string `json:"name" yaml:"name"`
	Repeating  bool   `json:"repeating" yaml:"repeating"`
	MaxRepeats int    `json:"max_repeats,omitempty" yaml:"max_repeats,omitempty"` // 0 = no limit beyond MaxRepeatsLimit
	Items      []Item `json:"items" yaml:"items"`
}

// DataType is the type of an item's value. Values are always carried as
// text and typed by the item's definition, as in CDISC ODM.
type DataType string

const (
	TypeText        DataType = "text"
	TypeInteger     DataType = "integer"
	TypeDecimal     DataType = "decimal"      // precision in Item.Digits
	TypeDate        DataType = "date"         // YYYY-MM-DD
	TypePartialDate DataType = "partial_date" // YYYY, YYYY-MM or YYYY-MM-DD
	TypeDateTime    DataType = "datetime"     // YYYY-MM-DDTHH:MM[:SS]
	TypeTime        DataType = "time"         // HH:MM[:SS]
	TypeYesNo       DataType = "yesno"        // "1" = yes, "0" = no
	TypeChoice      DataType = "choice"       // one code from Item.CodeList
	TypeMultiChoice DataType = "multichoice"  // codes from Item.CodeList, comma-separated, code-list order
)

// Range bounds a value, inclusive; Min and Max are exact decimals for
// numbers, ISO dates for dates, empty when unbounded.
type Range struct {
	Min string `json:"min,omitempty" yaml:"min,omitempty"`
	Max string `json:"max,omitempty" yaml:"max,omitempty"`
}

// Item is one question of a form.
type Item struct {
	// OID is the item's stable identifier, unique in the protocol
	// ("VS.SYSBP"); conditions refer to items as [OID].
	OID      string   `json:"oid" yaml:"oid"`
	Label    string   `json:"label" yaml:"label"`
	Type     DataType `json:"type" yaml:"type"`
	Digits   int      `json:"digits,omitempty" yaml:"digits,omitempty"` // decimal places allowed (TypeDecimal)
	Unit     string   `json:"unit,omitempty" yaml:"unit,omitempty"`
	CodeList string   `json:"codelist,omitempty" yaml:"codelist,omitempty"` // code list OID (choice, multichoice)
	// Hard rejects a value outside it; Soft accepts it with a warning that
	// becomes a data query.
	Hard      *Range `json:"hard,omitempty" yaml:"hard,omitempty"`
	Soft      *Range `json:"soft,omitempty" yaml:"soft,omitempty"`
	Required  bool   `json:"required,omitempty" yaml:"required,omitempty"`
	MaxLength int    `json:"max_length,omitempty" yaml:"max_length,omitempty"`
	// Pattern is a regular expression (RE2 syntax, as Go's regexp) the
	// whole value must match, after its type is checked: the form of an
	// e-mail address, a postal code, exactly two decimal places.
	// PatternMessage says in words what is expected ("an e-mail address
	// such as name@example.org"); without it the message quotes the
	// pattern.
	Pattern        string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	PatternMessage string `json:"pattern_message,omitempty" yaml:"pattern_message,omitempty"`
	// ShowIf is the branching condition: the item is shown (and may hold a
	// value) only when it is true. Empty means always shown.
	ShowIf  string `json:"show_if,omitempty" yaml:"show_if,omitempty"`
	Section string `json:"section,omitempty" yaml:"section,omitempty"` // section header shown above the item
	Note    string `json:"note,omitempty" yaml:"note,omitempty"`       // field note for the person entering data
	// Annotation carries what a loader could keep but the model does not
	// interpret (REDCap field annotation, identifier flag ...).
	Annotation string `json:"annotation,omitempty" yaml:"annotation,omitempty"`
	// Derive makes the item derived: the ledger computes its value from
	// other items with this expression (see ParseDerivation) and nobody
	// types it.
	Derive string `json:"derive,omitempty" yaml:"derive,omitempty"`
	// Missing lists the codes of Protocol.MissingCodes this item accepts
	// in place of a value.
	Missing []string `json:"missing,omitempty" yaml:"missing,omitempty"`
}

// CodeList is a list of coded values with their decodes.
type CodeList struct {
	OID   string     `json:"oid" yaml:"oid"`
	Name  string     `json:"name" yaml:"name"`
	Items []CodeItem `json:"items" yaml:"items"`
}

// CodeItem is one coded value of a code list.
type CodeItem struct {
	Code   string `json:"code" yaml:"code"`
	Decode string `json:"decode" yaml:"decode"`
}

// EditCheck is a cross-item check on a form: Condition must be true when
// every item it names has a value, otherwise a problem of the given
// severity is reported with Message on the first item of Items.
type EditCheck struct {
	OID       string   `json:"oid" yaml:"oid"`
	Condition string   `json:"condition" yaml:"condition"`
	Severity  Severity `json:"severity" yaml:"severity"`
	Message   string   `json:"message" yaml:"message"`
	Items     []string `json:"items" yaml:"items"`
}

// Severity of a validation problem.
type Severity string

const (
	// Hard problems reject a submission.
	Hard Severity = "hard"
	// Soft problems are accepted with a warning that becomes a data query.
	Soft Severity = "soft"
)

// ItemValue is one value of a form submission. Repeat is the 1-based row
// of the item's group when the group repeats, 0 otherwise. An empty Value
// means "no value". Missing, when set, is a missing-data code given in
// place of a value (Value is then empty), with an optional Reason.
type ItemValue struct {
	Item    string `json:"item"`
	Repeat  int    `json:"repeat,omitempty"`
	Value   string `json:"value"`
	Missing string `json:"missing,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Empty reports whether v holds neither a value nor a missing-data code.
func (v ItemValue) Empty() bool { return v.Value == "" && v.Missing == "" }

// MissingText is v's missing-data code and reason as one text, "ND:
// reason" (the code alone without a reason, "" without a code), as audit
// trails and entry workbooks show them.
func (v ItemValue) MissingText() string {
	if v.Missing == "" || v.Reason == "" {
		return v.Missing
	}
	return v.Missing + ": " + v.Reason
}

// Problem is one finding of Validate.
type Problem struct {
	Item     string   `json:"item,omitempty"`
	Repeat   int      `json:"repeat,omitempty"`
	Severity Severity `json:"severity"`
	// Code is a stable reason code ("range.above_max", "type.not_integer",
	// "item.unknown" ...); Message says what was wrong in words a site
	// coordinator can act on.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Lookup returns the value a subject already has for an item of another
// form (for conditions that refer across forms); ok is false when there is
// none. It must be deterministic.
type Lookup func(itemOID string) (value string, ok bool)
