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
// # Derived items
//
// An item with Item.Derive is computed by the ledger, never typed. The
// derivation is an arithmetic expression, parsed by ParseDerivation, in
// the condition language extended with numbers:
//
//		round([DM.WEIGHT] / (([DM.HEIGHT] / 100) * ([DM.HEIGHT] / 100)), 1)
//		datediff([DM.CONSDT], [IE.RANDDT], "d")
//		if([DM.SEX] = "2", [LB.CREAT] * 0.85, [LB.CREAT])
//
//	  - Values: number literals, [OID] references to integer, decimal,
//	    yes/no (1 or 0) and choice items whose codes are all numbers, and
//	    [OID(code)] checkbox references (1 or 0); items of other forms are
//	    read as conditions read them (Compiled.CrossFormLookup).
//	  - Operators + - * / with the usual precedence, unary minus,
//	    parentheses; functions round(x, places) (places a whole number
//	    0-12, default 0), min(a, b, ...), max(a, b, ...), abs(x),
//	    if(condition, a, b) (the condition as in ShowIf) and
//	    datediff(start, end, unit) between two date items or "YYYY-MM-DD"
//	    dates, unit "d" days, "M" completed calendar months or "y"
//	    completed years (REDCap's spelling; "m" is refused), negative when
//	    end is before start. A month is complete on the same day of the
//	    month: 2025-01-31 to 2025-02-28 is 0 months.
//	  - Numbers are exact decimals held in at most MaxDeriveDigits (18)
//	    digits; no floating point anywhere. + and - keep the larger number
//	    of decimal places of their operands, * their sum (beyond 18 places
//	    truncated toward zero), / gives DivisionPlaces (12) places
//	    truncated toward zero, without trailing zeros; round(x, n) rounds
//	    half away from zero to exactly n places (round(24.25, 1) = 24.3,
//	    round(-24.25, 1) = -24.3, round(70, 1) = 70.0). Truncating the
//	    quotient before rounding it never changes the rounded result.
//	  - The value is empty when an input it needs is empty or holds a
//	    missing-data code (if() needs only the branch it takes). A
//	    computation that fails gives an empty value and a soft problem,
//	    which becomes a data query: derived.div_by_zero,
//	    derived.overflow, derived.input_invalid (another form's value is
//	    not a number or date). An input of the same form with a hard
//	    problem leaves the derived item empty (the form is refused anyway).
//	  - Derived values are checked like typed ones (hard and soft ranges);
//	    conditions, edit checks and other derivations see them. A derived
//	    item is recomputed whenever its own form is submitted or
//	    corrected; the ledger (from its state-machine version 4) also
//	    recomputes it when another form it reads is entered or corrected
//	    (Compiled.ReadersOf names the forms to run again).
//	  - A value sent for a derived item is refused (derived.not_input).
//
// Compile refuses, with the path ("forms[0].groups[0].items[9].derive")
// and a fix: a derivation that does not parse, refers to an unknown item
// or to an item a condition there could not see, computes with a text,
// date, multiple-choice or non-numeric choice item, gives datediff
// something other than dates, divides by the literal 0, may give more
// decimal places than the item's digits (or any, for an integer item:
// wrap it in round), is on an item that is not integer or decimal, has
// show_if, required or missing codes, or belongs to a cycle of derived
// items (across forms too).
//
// # Missing-data codes
//
// Protocol.MissingCodes declares the study's missing-data codes (ND not
// done, NA not applicable, UNK unknown, ASKU asked but unknown ...) with
// their decodes, and Item.Missing the codes an item accepts. An
// ItemValue gives either a Value or a Missing code, with an optional
// Reason (at most 4000 characters). A code satisfies Required, counts as
// a value for hidden.has_value, and is no value for conditions, edit
// checks and derivations. A code the item does not allow is refused
// (missing.not_allowed, naming the item and its codes); a code with a
// value, or a reason without a code, is missing.invalid. Compile refuses
// an empty, duplicate or malformed code (letters, digits, _ and -) and
// an item listing an undeclared code or one twice.
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
//	derived.not_input        hard      a value or missing-data code was sent for a derived item
//	derived.div_by_zero      soft      a derivation divided by zero: the derived item stays empty
//	derived.overflow         soft      a derivation needed more than 18 digits: the derived item stays empty
//	derived.input_invalid    soft      a derivation read a value that is not a number (or date): the derived item stays empty
//	missing.not_allowed      hard      the item does not allow that missing-data code
//	missing.invalid          hard      a missing-data code with a value, a reason without a code, or a reason too long
//
// Compiled.Evaluate is Validate that also returns the derived values.
// Compiled.CanonicalValues gives the form of a submission the ledger
// stores (protocol order, no empty values; missing-data codes kept) and
// Compiled.Decode the text a reader sees for a coded value.
package protocol
