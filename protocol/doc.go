// Package protocol holds the trial protocol model (study, schedule of
// events, case report forms, code lists), its YAML and REDCap loaders and
// the edit-check engine every validator runs (the workbook door is package
// protocol/workbook). It is pure Go with no consensus imports.
//
// # Numbers
//
// Numbers are exact decimals (Decimal): validation never uses floating
// point, so validators on different machines agree to the last digit. A
// number is an optional sign, at least one digit, and optionally a point
// followed by at least one digit: "12", "-12.50", "+3", "0.5", "007".
// Rejected: ".5", "5.", "1e3", "NaN", "Inf", hex, thousands separators and
// spaces anywhere. Integer items take digits with an optional sign only
// ("70.0" is not an integer). Decimal places are counted as written:
// "72.50" has 2, and Item.Digits = 0 means no limit.
//
// # Dates and times
//
// Dates are YYYY-MM-DD in the proleptic Gregorian calendar, years
// 0001-9999, with real leap years (2024-02-29 exists, 2025-02-29 and
// 1900-02-29 do not). Datetimes are YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS
// (a "T", no space, no time zone); times are HH:MM or HH:MM:SS on a 24-hour
// clock. Partial dates are YYYY, YYYY-MM or YYYY-MM-DD. Range bounds are
// written in the item's own format: a datetime item needs datetime bounds.
// "today" and other moving bounds are rejected: every validator must reach
// the same verdict at any time.
//
// # Conditions
//
// Branching (Item.ShowIf) and edit checks (EditCheck.Condition) use a small
// REDCap-compatible language, parsed by ParseCondition:
//
//	[age] >= 18 and [consent] = "1"
//	[sex] = "2" or [pregnant] <> ""
//	not ([meds(3)] = "1")
//
// The rules:
//
//   - An item reference is [OID], OID matching ^[A-Za-z][A-Za-z0-9_.]*$.
//     [meds(3)] is REDCap checkbox syntax: "1" when multiple-choice item
//     meds holds code 3, else "0" (also when meds has no value). REDCap
//     event prefixes ([event][item]) and functions are not supported.
//   - Literals: "text" or 'text' (no escapes; a string cannot hold its own
//     quote character) and numbers in the syntax above, sign included.
//   - Comparisons: = (also ==), <> (also !=), <, <=, >, >=. A comparison
//     always has two sides; a bare [item] is not a condition.
//   - Logic: and, or, not in any letter case, && and || as synonyms of
//     and and or; "not" binds tightest, then "and", then "or"; parentheses
//     group.
//   - A reference to an item without a value compares as "".
//   - When both sides are numbers the comparison is numeric ("42.0" = 42);
//     when both are ISO dates or datetimes it is chronological (a date is
//     midnight); otherwise = and <> compare text exactly, and <, <=, >, >=
//     compare text byte-wise only when neither side is empty, a number or
//     a date. Ordering "" against anything, or a number against a date or
//     text, is false (REDCap behaviour: [age] < 18 is false when age is
//     empty), so [x] <> "" is how to test for a value.
//   - Cost is bounded: at most MaxConditionLength (4096) bytes and
//     MaxConditionDepth (64) nested parentheses or "not"; evaluation has
//     no loops, calls or side effects and is linear in the condition.
//
// Syntax errors are *ConditionError with a 1-based column (in characters)
// and a suggested fix: `column 14: expected a value after "=" (write [age] >= 18)`.
//
// # Compile
//
// Compile checks a protocol's structure and indexes it. It reports every
// problem at once as DefinitionErrors, each with a path such as
// "forms[2].groups[0].items[3].hard" (a field name may follow the element),
// the OID and a fix: missing study ID or version; empty, invalid or
// duplicate OIDs (events, forms, item groups, items across the protocol,
// edit checks, code lists) and duplicate, empty or comma-holding codes; an
// event naming a missing form or one twice, an unknown event type, a
// negative window; max_repeats below 0 or above MaxRepeatsLimit (500); an
// unknown or missing data type; a choice or multichoice item without a
// code list, a missing code list, a code list on another type; negative
// digits or digits on a non-decimal item; negative max_length; a pattern
// that is not an RE2 regular expression, longer than 512 bytes or on a
// choice, multichoice or yes/no item, a pattern message without a
// pattern; a range on
// a type other than integer, decimal, date, datetime or time; an
// unparseable bound, min above max, a soft range outside the hard range; a
// condition syntax error (with its column), a reference to a missing item,
// checkbox syntax on a non-multichoice item or with an unknown code, a
// ShowIf naming its own item, a condition outside a repeating group naming
// an item inside one, a condition in a repeating group naming an item of
// another repeating group; an edit check with no condition, no items,
// unknown items, items of another form, an unknown severity (empty means
// hard) or items of two repeating groups.
//
// # Validate
//
// Compiled.Validate checks one form submission. Each value is text typed
// by its item, as in CDISC ODM; Repeat is 0 outside repeating groups and
// 1..MaxRepeats (at most 500) inside them; rows need not be contiguous. An
// empty value means "no value": it is still checked for a known item and a
// valid repeat, then ignored. The rules:
//
//   - Values are checked first (type, code list, length, ranges); then
//     branching: an item whose ShowIf is false must be empty (that problem
//     replaces its value problems) and a required item must have a value
//     only when shown. When a ShowIf depends on a value of the same form
//     that has a hard problem, neither branching rule is applied until it
//     is corrected.
//   - In a repeating group, conditions see the row's own items and the
//     form's non-repeating items; Required applies to each row present (a
//     row is present when any of its items has a value). Items of other
//     forms come from the Lookup (nil: they have no value);
//     Compiled.CrossFormLookup builds the one the ledger uses, which reads
//     the other form at the same event and event repeat, else at repeat 1
//     of the first event of the schedule that collects it.
//   - Edit checks run once per form, or once per row when they refer to
//     items of a repeating group, and are skipped when an item they refer
//     to is empty or has a hard problem. The problem is reported on the
//     check's first item with the check's message and OID.
//   - A value outside the hard range is a hard problem; inside it but
//     outside the soft range, a soft one. Lengths are counted in
//     characters: MaxLength, or DefaultMaxLength (4000) for every type.
//   - Multiple-choice values are codes separated by single commas, each
//     once, in code-list order ("1,3", not "3,1" or "1, 3"), so the same
//     answer always has the same text and hash.
//
// Compiled.ValidateAlone is Validate without the subject's other forms, for
// a first look before they are known (a node's CheckTx). It also says
// whether its verdict, hard problem or not, is the one Validate gives
// whatever the other forms hold: so when no condition asked for another
// form, or when a value itself has a hard problem (type, code list,
// length, date, hard range, an item not of the form, a bad row, a value
// given twice), which stands, or becomes hidden.has_value, whatever a
// condition says.
//
// Problems come in a deterministic order whatever the order of the values:
// items in protocol order, then by repeat; then values of items not on the
// form, by OID; then failed edit checks in protocol order, by row.
// Messages name the item by label, value, unit and OID, prefixed "Row N: "
// in repeating groups, e.g. "Systolic blood pressure 300 mmHg is above
// the maximum 250 (VS.SYSBP)".
//
// Reason codes (Problem.Code) are stable; Hard problems reject the
// submission, Soft ones are accepted and become data queries:
//
//	Code                     Severity  Meaning
//	form.unknown             hard      the form OID is not in the protocol
//	item.unknown             hard      the item OID is not in the protocol
//	item.not_in_form         hard      the item belongs to another form
//	item.duplicate           hard      the same item and repeat was sent more than once
//	repeat.invalid           hard      repeat is not 0 outside a repeating group, or below 1 inside one
//	repeat.too_many          hard      repeat is above the group's MaxRepeats (or 500)
//	required.missing         hard      a required, shown item has no value
//	hidden.has_value         hard      an item whose ShowIf is false has a value
//	text.too_long            hard      the value has more characters than MaxLength (or 4000)
//	pattern.mismatch         hard      the value does not match the item's Pattern as a whole
//	type.not_integer         hard      an integer item holds something other than [+-]digits
//	type.not_decimal         hard      a decimal item holds something that is not a decimal number
//	decimal.too_many_digits  hard      more decimal places than Item.Digits
//	date.invalid             hard      a date is not written YYYY-MM-DD
//	date.not_exist           hard      a date, datetime or partial date that is well written but does not exist (2025-02-30)
//	partial_date.invalid     hard      a partial date is not YYYY, YYYY-MM or YYYY-MM-DD
//	datetime.invalid         hard      a datetime is not YYYY-MM-DDTHH:MM[:SS] with a valid clock time
//	time.invalid             hard      a time is not HH:MM[:SS] on a 24-hour clock
//	yesno.invalid            hard      a yes/no item holds something other than 1 or 0
//	choice.not_in_codelist   hard      a choice item holds a code not in its code list
//	multichoice.invalid      hard      unknown, repeated, empty or out-of-order codes
//	range.below_min          hard      below the hard range minimum (before the earliest date)
//	range.above_max          hard      above the hard range maximum (after the latest date)
//	range.below_expected     soft      inside the hard range, below the soft range
//	range.above_expected     soft      inside the hard range, above the soft range
//	check.failed             check's   an edit check's condition is false (severity from the check, default hard)
//
// Compiled.CanonicalValues gives the form of a submission the ledger
// stores (protocol order, no empty values) and Compiled.Decode the text a
// reader sees for a coded value.
package protocol
