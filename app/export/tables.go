package export

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// FormatVersion is the version of the export layout documented in
// docs/EXPORT.md.
const FormatVersion = "5"

// cellKind is how a cell's text is typed in a spreadsheet. The text is
// always the exact ledger value; CSV writes it as is.
type cellKind uint8

const (
	cText     cellKind = iota
	cInt               // decimal integer
	cDec               // exact decimal number
	cDate              // YYYY-MM-DD
	cDateTime          // YYYY-MM-DDTHH:MM[:SS]
	cEncoded           // text already in the workbook's text escape (a continuation part)
)

type cell struct {
	k cellKind
	s string
}

func txt(s string) cell { return cell{s: s} }
func num(n int64) cell  { return cell{k: cInt, s: strconv.FormatInt(n, 10)} }
func numi(n int) cell   { return num(int64(n)) }
func blank() cell       { return cell{} }

// optNum is n, or a blank cell for 0.
func optNum(n int) cell {
	if n == 0 {
		return blank()
	}
	return numi(n)
}

// canonicalInt reports whether s is an integer written without sign
// padding or leading zeros, short enough for an int64.
func canonicalInt(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	i := 0
	if s[0] == '-' {
		i = 1
	}
	if i == len(s) || (s[i] == '0' && len(s) > i+1) || (s == "-0") {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// valueCell types a ledger value by its item's definition; a value the
// type does not parse stays text.
func valueCell(c *itemCol, v string) cell {
	if v == "" {
		return blank()
	}
	switch c.item.Type {
	case protocol.TypeInteger, protocol.TypeYesNo, protocol.TypeChoice:
		if canonicalInt(v) {
			return cell{k: cInt, s: v}
		}
	case protocol.TypeDecimal:
		if _, err := protocol.ParseDecimal(v); err == nil {
			return cell{k: cDec, s: v}
		}
	case protocol.TypeDate:
		if _, ok := parseDay(v); ok {
			return cell{k: cDate, s: v}
		}
	case protocol.TypeDateTime:
		if _, ok := parseDateTime(v); ok {
			return cell{k: cDateTime, s: v}
		}
	}
	return txt(v)
}

// column is one column of a table: name is the machine name (CSV header,
// first spreadsheet header row), label the people's label (second row).
type column struct {
	name, label string
	width       float64
	digits      int // decimal places shown for a decimal item (0: as stored)
	// dataType is the column's Dataset-JSON dataType ("": string).
	dataType string
	item     bool // an item of the protocol (not its decode)
	length   int  // a text item's maximum length in characters (0: none)
}

// book is a set of tables being written (a workbook or CSV files).
type book interface {
	// table starts the table name (sheet; file is the CSV file name).
	// freeze is how many leading key columns stay visible.
	table(name, file string, cols []column, freeze int) (table, error)
}

// table receives rows; close finishes it.
type table interface {
	row(cells []cell) error
	close() error
}

// colLedgerKey names the column of every data row that holds the ledger
// key of its record; colValueSHA256 the record list's column of value
// hashes.
const (
	colLedgerKey   = "ledger_key"
	colValueSHA256 = "value_sha256"
	// The first two columns of a workbook's continuation sheet.
	colContinuedSheet = "continued_sheet"
	colContinuedCell  = "continued_cell"
)

// Fixed table names (sheet, CSV file).
var (
	tProvenance  = [2]string{"Provenance", "provenance.csv"}
	tSubjects    = [2]string{"Subjects", "subjects.csv"}
	tAudit       = [2]string{"Audit trail", "audit_trail.csv"}
	tQueries     = [2]string{"Queries", "queries.csv"}
	tSignatures  = [2]string{"Signatures", "signatures.csv"}
	tSDV         = [2]string{"SDV", "sdv.csv"}
	tDelegations = [2]string{"Delegation log", "delegation_log.csv"}
	tDictionary  = [2]string{"Dictionary", "dictionary.csv"}
	tRecords     = [2]string{"Records", "records.csv"}
	tContinued   = [2]string{"Continued", ""} // workbook only
)

// cols builds columns from name, label pairs.
func cols(spec ...string) []column {
	out := make([]column, 0, len(spec)/2)
	for i := 0; i+1 < len(spec); i += 2 {
		w := float64(min(max(len(spec[i+1])+2, 10), 40))
		out = append(out, column{name: spec[i], label: spec[i+1], width: w})
	}
	return out
}

// stampCols are the attribution columns of a stamp (stampCells).
var stampCols = []string{"person", "Person (printed name)", "account", "Account", "organisation", "Organisation", "role", "Role", "time_utc", "Time (UTC)"}

// stampCells are the attribution cells of a stamp.
func stampCells(s types.Stamp) []cell {
	return []cell{txt(s.Name), txt(s.Signer), txt(s.Org), txt(string(s.Role)), txt(s.Time)}
}

// chainCells locate a record on the chain: height, tx hash, ledger key.
func chainCells(s types.Stamp, key string) []cell {
	return []cell{num(s.Height), txt(s.TxHash), txt(key)}
}

var chainCols = []string{"height", "Block height", "tx_hash", "Transaction hash", colLedgerKey, "Ledger key"}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	recordCols = cols(colLedgerKey, "Ledger key", colValueSHA256, "SHA-256 of the value bytes")
	// continuedCols: a workbook value longer than a cell holds continues
	// here, one row per further part.
	continuedCols = cols(colContinuedSheet, "Sheet", colContinuedCell, "Cell", "part", "Part", "text", "Text (this part)")
	subjectCols   = cols(join([]string{"subject", "Subject", "site", "Site", "status", "Status", "enrolled_utc", "Enrolled (UTC)",
		"enrolled_height", "Enrolment height", "enrolled_by", "Enrolled by", "consent_version", "Consent version", "consent_sha256", "Consent form SHA-256",
		"withdrawn_utc", "Withdrawn (UTC)", "withdrawn_height", "Withdrawal height", "withdrawn_by", "Withdrawn by", "withdrawal_reason", "Withdrawal reason",
		"signatures", "Signatures", colLedgerKey, "Ledger key"})...)
	auditCols = cols(join([]string{"subject", "Subject", "event", "Event", "event_repeat", "Event repeat", "form", "Form",
		"item", "Item", "change", "Change", "old_value", "Old value", "new_value", "New value",
		"old_missing", "Old missing-data code: reason", "new_missing", "New missing-data code: reason", "form_version", "Form version"},
		stampCols, []string{"reason", "Reason for change"}, chainCols)...)
	queryCols = cols(join([]string{"query", "Query", "status", "Current status", "subject", "Subject", "site", "Site",
		"event", "Event", "event_repeat", "Event repeat", "form", "Form", "item", "Item", "raised_by", "Raised by", "check", "Edit check",
		"step", "Step", "action", "Action", "text", "Text", "form_version", "Form version"}, stampCols, chainCols)...)
	signatureCols = cols(join([]string{"signature", "Signature", "subject", "Subject", "level", "Level", "event", "Event",
		"event_repeat", "Event repeat", "form", "Form", "printed_name", "Printed name", "account", "Account", "role", "Role",
		"organisation", "Organisation", "meaning", "Meaning", "signed_utc", "Signed (UTC)", "validity", "Validity",
		"invalidated_utc", "Invalidated (UTC)", "invalidation_reason", "Invalidation reason", "invalidated_tx", "Invalidating transaction",
		"content_sha256", "SHA-256 of the signed content", "forms_covered", "Form versions covered", "statement", "Attestation"}, chainCols)...)
	sdvCols = cols(join([]string{"subject", "Subject", "event", "Event", "event_repeat", "Event repeat", "form", "Form",
		"status", "Current SDV status", "step", "Step", "action", "Action", "items", "Items", "form_version", "Form version",
		"values_sha256", "SHA-256 of the values", "comment", "Comment"}, stampCols, chainCols)...)
	dictionaryCols = cols("protocol_version", "Protocol version", "version_label", "Version label", "form", "Form", "form_name", "Form name",
		"group", "Item group", "repeating", "Repeating group", "item", "Item", "label", "Label", "type", "Data type", "digits", "Decimal places",
		"unit", "Unit", "required", "Required", "hard_min", "Hard min", "hard_max", "Hard max", "soft_min", "Soft min", "soft_max", "Soft max",
		"codelist", "Code list", "codes", "Codes (code=decode)", "show_if", "Shown if", "max_length", "Max length",
		"missing_codes", "Missing-data codes allowed (code=decode)")
	provenanceCols = cols("field", "Field", "value", "Value")
)

// formColumns are the columns of a form's table.
func formColumns(lay *formLayout) []column {
	out := cols("subject", "Subject", "site", "Site", "event", "Event", "event_repeat", "Event repeat", "row", "Row of repeating group")
	for _, c := range lay.items {
		label := c.item.Label
		if label == "" {
			label = c.item.OID
		}
		if c.item.Unit != "" {
			label += " (" + c.item.Unit + ")"
		}
		out = append(out, column{name: c.item.OID, label: label, width: float64(min(max(len(label)/2+4, 12), 40)), digits: c.item.Digits,
			dataType: dsjItemType(c), item: true, length: c.item.MaxLength})
		if c.hasDecode() {
			out = append(out, column{name: c.item.OID + ".decode", label: label + " (decode)", width: 18})
		}
		if c.missing {
			out = append(out, column{name: c.item.OID + colMissing, label: label + " (missing-data code)", width: 14},
				column{name: c.item.OID + colMissingReason, label: label + " (reason missing)", width: 24})
		}
	}
	out = append(out, cols("form_version", "Form version", "protocol_version", "Protocol version", "changed_utc", "Last changed (UTC)",
		"height", "Block height", "tx_hash", "Transaction hash", colLedgerKey, "Ledger key")...)
	for i := range out {
		switch out[i].name {
		case "event_repeat", "row", "form_version", "protocol_version", "height":
			out[i].dataType = dsjInteger
		}
	}
	return out
}

// The suffixes of an item's companion columns holding its missing-data
// code and the reason given with it.
const (
	colMissing       = ".missing"
	colMissingReason = ".missing_reason"
)

// formRows emits the rows of one current form record: one row for the
// non-repeating items (when the form has any value there or no repeating
// rows) and one per row of its repeating groups.
func formRows(lay *formLayout, rec *types.FormRecord, site, key string, buf []cell, emit func([]cell) error) error {
	type k struct {
		item   string
		repeat int
	}
	vals := make(map[k]protocol.ItemValue, len(rec.Values))
	var repeats []int
	seenRep := map[int]bool{}
	hasMain := false
	for _, v := range rec.Values {
		vals[k{v.Item, v.Repeat}] = v
		if v.Repeat == 0 {
			hasMain = true
		} else if !seenRep[v.Repeat] {
			seenRep[v.Repeat] = true
			repeats = append(repeats, v.Repeat)
		}
	}
	sort.Ints(repeats)
	rows := repeats
	if hasMain || len(repeats) == 0 {
		rows = append([]int{0}, repeats...)
	}
	for _, r := range rows {
		buf = append(buf[:0], txt(rec.Subject), txt(site), txt(rec.Event), numi(rec.EventRepeat), optNum(r))
		for _, c := range lay.items {
			v := vals[k{c.item.OID, r}]
			buf = append(buf, valueCell(c, v.Value))
			if c.hasDecode() {
				buf = append(buf, txt(c.decode(v.Value)))
			}
			if c.missing {
				buf = append(buf, txt(v.Missing), txt(v.Reason))
			}
		}
		buf = append(buf, numi(rec.Version), numi(rec.ProtocolVersion), txt(rec.Stamp.Time), num(rec.Stamp.Height), txt(rec.Stamp.TxHash), txt(key))
		if err := emit(buf); err != nil {
			return err
		}
	}
	return nil
}

// dictionaryRows lists every item of every protocol version.
func (d *dataset) dictionaryRows(emit func([]cell) error) error {
	for vi := range d.versions {
		pv := &d.versions[vi]
		p := &pv.Protocol
		lists := map[string]*protocol.CodeList{}
		for i := range p.CodeLists {
			lists[p.CodeLists[i].OID] = &p.CodeLists[i]
		}
		for _, f := range p.Forms {
			for _, g := range f.Groups {
				for _, it := range g.Items {
					codes := ""
					list := it.CodeList
					switch {
					case it.Type == protocol.TypeYesNo:
						codes = codeText(yesNo)
					case lists[it.CodeList] != nil:
						codes = codeText(lists[it.CodeList].Items)
					}
					var hmin, hmax, smin, smax string
					if it.Hard != nil {
						hmin, hmax = it.Hard.Min, it.Hard.Max
					}
					if it.Soft != nil {
						smin, smax = it.Soft.Min, it.Soft.Max
					}
					row := []cell{numi(pv.Number), txt(pv.Label), txt(f.OID), txt(f.Name), txt(g.OID), txt(yes(g.Repeating)),
						txt(it.OID), txt(it.Label), txt(string(it.Type)), optNum(it.Digits), txt(it.Unit), txt(yes(it.Required)),
						txt(hmin), txt(hmax), txt(smin), txt(smax), txt(list), txt(codes), txt(it.ShowIf), optNum(it.MaxLength),
						txt(missingCodes(p, it.Missing))}
					if err := emit(row); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func codeText(items []protocol.CodeItem) string {
	parts := make([]string, len(items))
	for i, c := range items {
		parts[i] = c.Code + "=" + c.Decode
	}
	return strings.Join(parts, "; ")
}

// missingCodes is the "code=decode; ..." text of the missing-data codes
// an item allows, decoded by the protocol's MissingCodes.
func missingCodes(p *protocol.Protocol, codes []string) string {
	items := make([]protocol.CodeItem, len(codes))
	for i, c := range codes {
		items[i].Code = c
		for _, m := range p.MissingCodes {
			if m.Code == c {
				items[i].Decode = m.Decode
			}
		}
	}
	return codeText(items)
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Provenance fields an auditor reads back (File.Field, ReadManifest).
const (
	FieldStudy     = "Study"
	FieldChainID   = "Chain ID"
	FieldHeight    = "Height"
	FieldBasis     = "Height basis"
	FieldBlockTime = "Block time (UTC)"
	FieldBlockHash = "Block hash"
	FieldAppHash   = "App hash (state after the block, in the header of block height+1)"
	FieldRecords   = "Records"
	FieldDigest    = "Dataset digest (SHA-256)"
	FieldSoftware  = "Software"
)

// provenance lists the Provenance table's rows.
func (d *dataset) provenance() [][2]string {
	b := d.opt.Block
	s := &d.study
	rows := [][2]string{
		{"Export", "veritrial export of study " + s.ID + " (layout version " + FormatVersion + ", docs/EXPORT.md)"},
		{FieldStudy, s.ID},
		{"Title", s.Title},
		{"Sponsor", s.Sponsor},
		{FieldChainID, b.ChainID},
		{FieldHeight, strconv.FormatInt(b.Height, 10)},
		{FieldBasis, d.sum.Basis},
	}
	if d.notLocked() {
		rows = append(rows, [2]string{"WARNING", "study " + s.ID + " is NOT locked at this height: this is the latest committed state, not a locked dataset, and may still change"})
	}
	lockH := "not locked"
	if s.LockHeight > 0 {
		lockH = strconv.FormatInt(s.LockHeight, 10)
	}
	rows = append(rows,
		[2]string{"Database lock height", lockH},
		[2]string{FieldBlockTime, b.Time.UTC().Format("2006-01-02T15:04:05Z")},
		[2]string{FieldBlockHash, b.Hash},
		[2]string{FieldAppHash, b.AppHash},
		[2]string{"Hash of block height+1", b.NextHash},
	)
	for i, v := range b.Validators {
		org := d.validatorOrg(v.PubKey)
		signed := "did not sign"
		if v.Signed {
			signed = "signed"
		}
		rows = append(rows, [2]string{fmt.Sprintf("Validator %d", i+1),
			fmt.Sprintf("address %s; public key %s; power %d; organisation %s; %s the block", v.Address, v.PubKey, v.Power, org, signed)})
	}
	for _, pv := range d.versions {
		rows = append(rows, [2]string{fmt.Sprintf("Protocol version %d", pv.Number),
			fmt.Sprintf("label %s; fingerprint %s; effective at height %d (%s)", pv.Label, pv.Fingerprint, pv.Effective.Height, pv.Effective.Time)})
	}
	if d.lock != nil {
		for i, ch := range d.lock.History {
			var app []string
			for _, a := range ch.Approvals {
				app = append(app, a.Org+" at height "+strconv.FormatInt(a.Stamp.Height, 10))
			}
			rows = append(rows, [2]string{fmt.Sprintf("Study lock step %d", i+1),
				fmt.Sprintf("%s -> %s at height %d (%s) by %s (%s); reason: %s; approvals: %s", ch.Action, ch.State, ch.Stamp.Height, ch.Stamp.Time, ch.Stamp.Name, ch.Stamp.Org, ch.Reason, strings.Join(app, ", "))})
		}
	}
	rows = append(rows,
		[2]string{FieldRecords, strconv.FormatInt(d.sum.Records, 10)},
		[2]string{FieldDigest, d.sum.Digest},
		[2]string{"Digest definition", DigestDefinition},
		[2]string{"Records covered", "every record under " + strings.Join(RecordPrefixes(s.ID), ", ") + " at this height"},
		[2]string{"Ledger keys", "every data row ends with the ledger key of the record it comes from; the Records table lists the key and value SHA-256 of every exported record"},
		[2]string{"How to verify", "run veritrial audit verify-export on this file against the RPC address of any validator: it reads the Records table, fetches every key with its Merkle proof at height " + strconv.FormatInt(b.Height, 10) + ", checks each value hash against the app hash signed by the validators, and recomputes the digest"},
		[2]string{FieldSoftware, "veritrial " + d.opt.Version},
	)
	return rows
}

func (d *dataset) validatorOrg(pub string) string {
	for _, o := range d.orgs {
		for _, v := range o.Validators {
			if types.KeyText(v.PubKey) == pub {
				return o.ID
			}
		}
	}
	return "(unknown)"
}
