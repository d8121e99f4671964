package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// ODM OID prefixes: every OID inside a MetaDataVersion must be unique
// across element kinds, and a protocol may name an event and a form alike.
const (
	oidEvent    = "SE."
	oidForm     = "F."
	oidGroup    = "IG."
	oidItem     = "I."
	oidCodeList = "CL."
	oidMDV      = "MDV."
	oidUnit     = "MU."
	oidSigDef   = "SD."
	oidYesNo    = "CL.VT.YESNO"
	// oidMissing is the code list of the study's missing-data codes, the
	// FlagValue of an ItemData that holds a code.
	oidMissing = "CL.VT.MISSING"
	// SystemUser is the ODM User of ledger actions without a signer.
	SystemUser = "system"
)

// WriteODM exports the study as a CDISC ODM 1.3.2 Transactional, Archival
// file written to w: one MetaDataVersion per protocol version, AdminData
// with every account (User), organisation (Location) and signature
// meaning (SignatureDef), and ClinicalData with every subject enrolment
// and withdrawal, every change of every item of every form version (each
// ItemData with its AuditRecord: user, organisation, block time, reason,
// SourceID "height/tx hash"), every e-signature, and each data query
// thread and SDV trail as an Annotation of its form, and the delegation
// log as ClinicalData Annotations. CreationDateTime is
// the block time. Provenance (chain, height, hashes, validators, digest)
// is in a comment before the root element, the record list (ledger key
// and value hash of every exported record) in a comment after it.
func WriteODM(ctx context.Context, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	d, err := load(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	// The record list goes after the root element but the digest before
	// it: spool the list while computing the digest.
	list, err := os.CreateTemp(opt.TmpDir, "veritrial-export-records-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(list.Name())
	defer list.Close()
	lw := bufio.NewWriterSize(list, 64<<10)
	dg := newDigester()
	d.startPhase("records", 0)
	if err := WalkRecords(ctx, r, opt.Study, func(e types.ListEntry) error {
		d.listed(e.Key)
		d.tick(1)
		vh, err := dg.add(e.Key, e.Value)
		if err != nil {
			return err
		}
		_, err = lw.WriteString(commentEscape(e.Key) + "\t" + vh + "\n")
		return err
	}); err != nil {
		return nil, err
	}
	if err := lw.Flush(); err != nil {
		return nil, err
	}
	d.endPhase()
	d.sum.Records, d.sum.Digest = dg.n, dg.sum()

	x := &xw{w: bufio.NewWriterSize(w, 256<<10)}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw("<!--\n")
	for _, p := range d.provenance() {
		x.comment(p[0] + ": " + p[1])
		x.raw("\n")
	}
	x.comment("ODM OIDs: study events SE.<oid>, forms F.<oid>, item groups IG.<oid>, items I.<oid>, code lists CL.<oid>, protocol versions MDV.<n>, signature meanings SD.<meaning>; users are account IDs, locations organisation IDs.")
	x.raw("\n-->\n")

	stamp := opt.Block.Time.UTC().Format("2006-01-02T15:04:05Z")
	desc := fmt.Sprintf("veritrial export of study %s at height %d (%s); dataset digest %s", d.study.ID, opt.Block.Height, d.sum.Basis, d.sum.Digest)
	x.open("ODM", "xmlns", "http://www.cdisc.org/ns/odm/v1.3", "xmlns:ds", "http://www.w3.org/2000/09/xmldsig#",
		"Description", desc, "FileType", "Transactional", "Granularity", "All", "Archival", "Yes",
		"FileOID", FileOID(opt.Block.ChainID, d.study.ID, opt.Block.Height), "CreationDateTime", stamp, "AsOfDateTime", stamp,
		"ODMVersion", "1.3.2", "Originator", opt.Block.ChainID, "SourceSystem", "veritrial", "SourceSystemVersion", nonEmpty(opt.Version, "dev"))
	x.nl()
	d.odmStudy(x)
	d.odmAdmin(x)
	x.open("ClinicalData", "StudyOID", d.study.ID, "MetaDataVersionOID", oidMDV+itoa(d.current.Number))
	x.nl()
	d.startPhase("data", d.dataRecords)
	if err := d.odmSubjects(x); err != nil {
		return nil, err
	}
	if err := d.odmForms(x); err != nil {
		return nil, err
	}
	if err := d.odmSignatures(x); err != nil {
		return nil, err
	}
	if err := d.odmQueries(x); err != nil {
		return nil, err
	}
	if err := d.odmSDV(x); err != nil {
		return nil, err
	}
	if err := d.odmDelegations(x); err != nil {
		return nil, err
	}
	d.endPhase()
	x.close("ClinicalData")
	x.close("ODM")
	x.raw("\n<!--\nveritrial records: ledger key TAB SHA-256 of the value, one per exported record, in key order\n")
	if x.err == nil {
		if _, err := list.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		_, x.err = io.Copy(x.w, list)
	}
	x.raw("-->\n")
	if x.err != nil {
		return nil, x.err
	}
	if err := x.w.Flush(); err != nil {
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// FileOID is the ODM FileOID of an export: it names the chain, study and
// height, so the same export always has the same OID.
func FileOID(chainID, study string, height int64) string {
	return "VT." + chainID + "." + study + ".H" + strconv.FormatInt(height, 10)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// xw writes XML by hand: attribute order is fixed, text is escaped.
type xw struct {
	w   *bufio.Writer
	err error
}

func (x *xw) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xw) nl() { x.raw("\n") }

func (x *xw) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		x.raw(" ")
		x.raw(kv[i])
		x.raw(`="`)
		x.esc(kv[i+1], true)
		x.raw(`"`)
	}
}

func (x *xw) open(name string, kv ...string) {
	x.raw("<" + name)
	x.attrs(kv)
	x.raw(">")
}

func (x *xw) empty(name string, kv ...string) {
	x.raw("<" + name)
	x.attrs(kv)
	x.raw("/>")
}

func (x *xw) close(name string) { x.raw("</" + name + ">") }

// elem writes <name>text</name>.
func (x *xw) elem(name, text string) {
	x.raw("<" + name + ">")
	x.esc(text, false)
	x.raw("</" + name + ">")
}

func (x *xw) translated(name, text string) {
	x.raw("<" + name + `><TranslatedText xml:lang="en">`)
	x.esc(text, false)
	x.raw("</TranslatedText></" + name + ">")
}

// esc writes s escaped for text or an attribute, exactly: a carriage
// return (which XML parsers turn into a line feed) and, in an attribute,
// a line feed or tab (normalised to spaces) as character references, and
// what XML 1.0 cannot carry in the text escape (EncodeText).
func (x *xw) esc(s string, attr bool) {
	if x.err != nil {
		return
	}
	if !utf8.ValidString(s) {
		x.err = fmt.Errorf("export: %q is not valid UTF-8, which ODM cannot carry", s)
		return
	}
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var rep string
		switch {
		case r == '<':
			rep = "&lt;"
		case r == '>':
			rep = "&gt;"
		case r == '&':
			rep = "&amp;"
		case r == '"' && attr:
			rep = "&quot;"
		case r == '\r', (r == '\n' || r == '\t') && attr:
			rep = "&#" + strconv.Itoa(int(r)) + ";"
		case !xmlChar(r):
			rep = fmt.Sprintf("_x%04X_", r)
		case r == '_' && literalEscape(s[i:]):
			rep = "_x005F_"
		}
		if rep != "" {
			x.w.WriteString(s[start:i])
			x.w.WriteString(rep)
			start = i + size
		}
		i += size
	}
	_, x.err = x.w.WriteString(s[start:])
}

// commentEscape makes s safe inside an XML comment line, reversibly:
// "%" becomes "%25", each "--" becomes "-%2D", and every byte of a line
// feed, carriage return, tab, a character XML 1.0 cannot carry or
// invalid UTF-8 becomes %HH (commentUnescape).
func commentEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '%':
			b.WriteString("%25")
		case r == '-' && strings.HasPrefix(s[i+1:], "-"):
			b.WriteString("-%2D")
			size = 2
		case r == '\n', r == '\r', r == '\t', !xmlChar(r), r == utf8.RuneError && size == 1:
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// commentUnescape reverses commentEscape: every %HH becomes its byte.
func commentUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// comment writes text for inside a comment (escaped with commentEscape);
// the caller ends each comment line with a newline, so no "-" precedes
// the closing "-->".
func (x *xw) comment(s string) { x.raw(commentEscape(s)) }

// odmDataType maps an item type to an ODM DataType.
func odmDataType(t protocol.DataType) string {
	switch t {
	case protocol.TypeInteger, protocol.TypeYesNo:
		return "integer"
	case protocol.TypeDecimal:
		return "float"
	case protocol.TypeDate:
		return "date"
	case protocol.TypePartialDate:
		return "partialDate"
	case protocol.TypeDateTime:
		return "datetime"
	case protocol.TypeTime:
		return "time"
	}
	return "text"
}

// odmEventType maps an event type to an ODM StudyEventDef Type.
func odmEventType(t protocol.EventType) string {
	switch t {
	case protocol.EventUnscheduled:
		return "Unscheduled"
	case protocol.EventCommon:
		return "Common"
	}
	return "Scheduled"
}

func yesNoAttr(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// units lists the distinct measurement units of every version, in order
// of first use, with their OIDs.
func (d *dataset) units() ([]string, map[string]string) {
	var order []string
	oids := map[string]string{}
	for _, pv := range d.versions {
		for _, f := range pv.Protocol.Forms {
			for _, g := range f.Groups {
				for _, it := range g.Items {
					if it.Unit != "" && oids[it.Unit] == "" {
						order = append(order, it.Unit)
						oids[it.Unit] = oidUnit + itoa(len(order))
					}
				}
			}
		}
	}
	return order, oids
}

func (d *dataset) odmStudy(x *xw) {
	s := &d.study
	x.open("Study", "OID", s.ID)
	x.open("GlobalVariables")
	x.elem("StudyName", s.ID)
	x.elem("StudyDescription", nonEmpty(s.Title, s.ID))
	x.elem("ProtocolName", nonEmpty(d.current.Protocol.Study.ID, s.ID))
	x.close("GlobalVariables")
	units, unitOID := d.units()
	if len(units) > 0 {
		x.open("BasicDefinitions")
		for _, u := range units {
			x.open("MeasurementUnit", "OID", unitOID[u], "Name", u)
			x.translated("Symbol", u)
			x.close("MeasurementUnit")
		}
		x.close("BasicDefinitions")
	}
	x.nl()
	for vi := range d.versions {
		d.odmMDV(x, &d.versions[vi], unitOID)
	}
	x.close("Study")
	x.nl()
}

func (d *dataset) odmMDV(x *xw, pv *types.ProtocolVersion, unitOID map[string]string) {
	p := &pv.Protocol
	lists := map[string]*protocol.CodeList{}
	for i := range p.CodeLists {
		lists[p.CodeLists[i].OID] = &p.CodeLists[i]
	}
	x.open("MetaDataVersion", "OID", oidMDV+itoa(pv.Number), "Name", fmt.Sprintf("Protocol version %d (%s)", pv.Number, nonEmpty(pv.Label, p.Study.Version)),
		"Description", fmt.Sprintf("fingerprint %s; effective at height %d (%s)", pv.Fingerprint, pv.Effective.Height, pv.Effective.Time))
	x.open("Protocol")
	for i, e := range p.Events {
		x.empty("StudyEventRef", "StudyEventOID", oidEvent+e.OID, "OrderNumber", itoa(i+1), "Mandatory", yesNoAttr(e.Type == protocol.EventScheduled || e.Type == ""))
	}
	x.close("Protocol")
	for _, e := range p.Events {
		x.open("StudyEventDef", "OID", oidEvent+e.OID, "Name", nonEmpty(e.Name, e.OID), "Repeating", yesNoAttr(e.Repeatable), "Type", odmEventType(e.Type))
		for i, f := range e.Forms {
			x.empty("FormRef", "FormOID", oidForm+f, "OrderNumber", itoa(i+1), "Mandatory", "No")
		}
		x.close("StudyEventDef")
	}
	for _, f := range p.Forms {
		x.open("FormDef", "OID", oidForm+f.OID, "Name", nonEmpty(f.Name, f.OID), "Repeating", "No")
		for i, g := range f.Groups {
			x.empty("ItemGroupRef", "ItemGroupOID", oidGroup+g.OID, "OrderNumber", itoa(i+1), "Mandatory", "No")
		}
		x.close("FormDef")
	}
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			x.open("ItemGroupDef", "OID", oidGroup+g.OID, "Name", nonEmpty(g.Name, g.OID), "Repeating", yesNoAttr(g.Repeating))
			for i, it := range g.Items {
				x.empty("ItemRef", "ItemOID", oidItem+it.OID, "OrderNumber", itoa(i+1), "Mandatory", yesNoAttr(it.Required))
			}
			x.close("ItemGroupDef")
		}
	}
	needYesNo := false
	x.nl()
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			for _, it := range g.Items {
				dt := odmDataType(it.Type)
				if it.Type == protocol.TypeChoice && lists[it.CodeList] != nil {
					dt = codeListType(lists[it.CodeList].Items) // ODM: an item has its code list's type
				}
				kv := []string{"OID", oidItem + it.OID, "Name", it.OID, "DataType", dt}
				if it.MaxLength > 0 && (it.Type == protocol.TypeText) {
					kv = append(kv, "Length", itoa(it.MaxLength))
				}
				if it.Type == protocol.TypeDecimal && it.Digits > 0 {
					kv = append(kv, "SignificantDigits", itoa(it.Digits))
				}
				x.open("ItemDef", kv...)
				if it.Label != "" || it.Note != "" {
					x.open("Description")
					x.raw(`<TranslatedText xml:lang="en">`)
					x.esc(strings.TrimSpace(it.Label+"\n"+it.Note), false)
					x.raw("</TranslatedText>")
					x.close("Description")
				}
				x.translated("Question", nonEmpty(it.Label, it.OID))
				if it.Unit != "" {
					x.empty("MeasurementUnitRef", "MeasurementUnitOID", unitOID[it.Unit])
				}
				rangeChecks(x, it.Hard, "Hard")
				rangeChecks(x, it.Soft, "Soft")
				switch {
				case it.Type == protocol.TypeYesNo:
					needYesNo = true
					x.empty("CodeListRef", "CodeListOID", oidYesNo)
				case it.Type == protocol.TypeChoice && it.CodeList != "":
					x.empty("CodeListRef", "CodeListOID", oidCodeList+it.CodeList)
				}
				x.close("ItemDef")
				x.nl()
			}
		}
	}
	for _, cl := range p.CodeLists {
		codeList(x, oidCodeList+cl.OID, nonEmpty(cl.Name, cl.OID), cl.Items)
	}
	if needYesNo {
		codeList(x, oidYesNo, "Yes/No", yesNo)
	}
	if len(p.MissingCodes) > 0 {
		codeList(x, oidMissing, "Missing-data codes", p.MissingCodes)
	}
	x.close("MetaDataVersion")
	x.nl()
}

// rangeChecks writes a range as GE/LE RangeChecks.
func rangeChecks(x *xw, r *protocol.Range, kind string) {
	if r == nil {
		return
	}
	for _, b := range []struct{ cmp, v string }{{"GE", r.Min}, {"LE", r.Max}} {
		if b.v == "" {
			continue
		}
		x.open("RangeCheck", "Comparator", b.cmp, "SoftHard", kind)
		x.elem("CheckValue", b.v)
		x.close("RangeCheck")
	}
}

// codeListType is integer when every code is an integer, else text.
func codeListType(items []protocol.CodeItem) string {
	for _, c := range items {
		if !canonicalInt(c.Code) {
			return "text"
		}
	}
	return "integer"
}

// codeList writes a CodeList with its decodes.
func codeList(x *xw, oid, name string, items []protocol.CodeItem) {
	if len(items) == 0 {
		return
	}
	x.open("CodeList", "OID", oid, "Name", name, "DataType", codeListType(items))
	for i, c := range items {
		x.open("CodeListItem", "CodedValue", c.Code, "OrderNumber", itoa(i+1))
		x.translated("Decode", nonEmpty(c.Decode, c.Code))
		x.close("CodeListItem")
	}
	x.close("CodeList")
	x.nl()
}

func (d *dataset) odmAdmin(x *xw) {
	x.open("AdminData", "StudyOID", d.study.ID)
	x.nl()
	accts := append([]types.Account(nil), d.accounts...)
	sort.Slice(accts, func(i, j int) bool { return accts[i].ID < accts[j].ID })
	hasSystem := false
	for _, a := range accts {
		if a.ID == SystemUser {
			hasSystem = true
		}
		ut := "Other"
		if o := d.orgByID[a.Org]; o != nil {
			switch {
			case o.Kind == types.OrgSponsor:
				ut = "Sponsor"
			case o.Kind == types.OrgSite && a.HasRole(types.RoleInvestigator):
				ut = "Investigator"
			}
		}
		x.open("User", "OID", a.ID, "UserType", ut)
		x.elem("LoginName", a.ID)
		x.elem("DisplayName", nonEmpty(a.Name, a.ID))
		x.elem("FullName", nonEmpty(a.Name, a.ID))
		orgName := a.Org
		if o := d.orgByID[a.Org]; o != nil {
			orgName = nonEmpty(o.Name, o.ID)
		}
		x.elem("Organization", orgName)
		if d.orgByID[a.Org] != nil {
			x.empty("LocationRef", "LocationOID", a.Org)
		}
		x.close("User")
		x.nl()
	}
	if !hasSystem {
		x.open("User", "OID", SystemUser, "UserType", "Other")
		x.elem("FullName", "veritrial ledger (actions every validator takes itself)")
		x.close("User")
		x.nl()
	}
	for _, o := range d.orgs {
		lt := "Other"
		switch o.Kind {
		case types.OrgSponsor:
			lt = "Sponsor"
		case types.OrgSite:
			lt = "Site"
		case types.OrgCRO:
			lt = "CRO"
		}
		x.open("Location", "OID", o.ID, "Name", nonEmpty(o.Name, o.ID), "LocationType", lt)
		for _, pv := range d.versions {
			x.empty("MetaDataVersionRef", "StudyOID", d.study.ID, "MetaDataVersionOID", oidMDV+itoa(pv.Number), "EffectiveDate", dayOf(pv.Effective.Time, d))
		}
		x.close("Location")
		x.nl()
	}
	for _, m := range d.study.SignatureMeanings() {
		x.open("SignatureDef", "OID", oidSigDef+m, "Methodology", "Electronic")
		x.elem("Meaning", m)
		x.elem("LegalReason", "21 CFR Part 11 electronic signature (11.50, 11.70): printed name, block time (UTC) and meaning, bound to the SHA-256 of exactly the content signed")
		x.close("SignatureDef")
		x.nl()
	}
	x.close("AdminData")
	x.nl()
}

// dayOf is the date part of an RFC 3339 time, or the block's date.
func dayOf(t string, d *dataset) string {
	if len(t) >= 10 {
		if _, ok := parseDay(t[:10]); ok {
			return t[:10]
		}
	}
	return d.opt.Block.Time.UTC().Format("2006-01-02")
}

// auditRecord writes an AuditRecord for a stamp.
func (d *dataset) auditRecord(x *xw, s types.Stamp, reason string) {
	x.open("AuditRecord")
	x.empty("UserRef", "UserOID", nonEmpty(s.Signer, SystemUser))
	x.empty("LocationRef", "LocationOID", nonEmpty(s.Org, d.study.Sponsor))
	x.elem("DateTimeStamp", nonEmpty(s.Time, d.opt.Block.Time.UTC().Format("2006-01-02T15:04:05Z")))
	if reason != "" {
		x.elem("ReasonForChange", reason)
	}
	x.elem("SourceID", strconv.FormatInt(s.Height, 10)+"/"+s.TxHash)
	x.close("AuditRecord")
}

func (d *dataset) odmSubjects(x *xw) error {
	return client.ScanJSON(d.ctx, d.r, types.PrefixSubject+d.opt.Study+"/", func(key string, s *types.Subject) error {
		d.tick(1)
		d.sum.Subjects++
		x.open("SubjectData", "SubjectKey", s.ID, "TransactionType", "Insert")
		d.auditRecord(x, s.Enrolled, fmt.Sprintf("enrolment at site %s (consent version %s, consent form SHA-256 %s); ledger key %s", s.Site, s.ConsentVersion, s.ConsentSHA256, key))
		x.empty("SiteRef", "LocationOID", s.Site)
		x.close("SubjectData")
		x.nl()
		if w := s.Withdrawn; w != nil {
			x.open("SubjectData", "SubjectKey", s.ID, "TransactionType", "Update")
			d.auditRecord(x, *w, "withdrawal: "+s.WithdrawReason)
			x.empty("SiteRef", "LocationOID", s.Site)
			x.close("SubjectData")
			x.nl()
		}
		return x.err
	})
}

// odmForms writes every version of every form, oldest first per form:
// one SubjectData per version holding exactly the item changes it made.
func (d *dataset) odmForms(x *xw) error {
	var changes []change
	return client.ScanJSON(d.ctx, d.r, types.PrefixForm+d.opt.Study+"/", func(key string, rec *types.FormRecord) error {
		d.tick(1)
		d.sum.Forms++
		d.sum.Values += int64(len(rec.Values))
		lay := d.formByID[rec.Form]
		if lay == nil {
			return fmt.Errorf("record %s is of form %s, which no protocol version of study %s defines", key, rec.Form, d.opt.Study)
		}
		return d.formVersions(rec, key, func(prev, v *types.FormRecord, vkey string) error {
			changes = diff(prev, v, changes)
			if len(changes) == 0 {
				return nil
			}
			ftx := "Update"
			if prev == nil {
				ftx = "Insert"
			}
			x.open("SubjectData", "SubjectKey", v.Subject, "TransactionType", "Context")
			x.open("StudyEventData", "StudyEventOID", oidEvent+v.Event, "StudyEventRepeatKey", itoa(v.EventRepeat), "TransactionType", "Context")
			x.open("FormData", "FormOID", oidForm+v.Form, "TransactionType", ftx)
			reason := reasonText(v)
			note := fmt.Sprintf("form version %d; ledger key %s", v.Version, vkey)
			// Group the changes by item group and row, in layout order.
			type gk struct {
				group  string
				repeat int
			}
			var order []gk
			byGroup := map[gk][]change{}
			for _, c := range changes {
				g := gk{group: lay.groupOf(c.item), repeat: c.repeat}
				if _, ok := byGroup[g]; !ok {
					order = append(order, g)
				}
				byGroup[g] = append(byGroup[g], c)
			}
			for _, g := range order {
				kv := []string{"ItemGroupOID", oidGroup + g.group}
				if g.repeat > 0 {
					kv = append(kv, "ItemGroupRepeatKey", itoa(g.repeat))
				}
				kv = append(kv, "TransactionType", ftx)
				x.open("ItemGroupData", kv...)
				for _, c := range byGroup[g] {
					d.sum.Audit++
					tt := strings.ToUpper(c.action[:1]) + c.action[1:]
					switch {
					case c.action == "remove":
						x.open("ItemData", "ItemOID", oidItem+c.item, "TransactionType", tt)
					case c.missing != "":
						x.open("ItemData", "ItemOID", oidItem+c.item, "TransactionType", tt, "IsNull", "Yes")
					default:
						x.open("ItemData", "ItemOID", oidItem+c.item, "TransactionType", tt, "Value", c.new)
					}
					d.auditRecord(x, v.Stamp, reason+" ["+note+"]")
					if c.missing != "" {
						missingAnnotation(x, c.missing, c.reason)
					}
					x.close("ItemData")
				}
				x.close("ItemGroupData")
			}
			x.close("FormData")
			x.close("StudyEventData")
			x.close("SubjectData")
			x.nl()
			return x.err
		})
	})
}

// missingAnnotation writes the Annotation of an ItemData that holds a
// missing-data code: the code as a Flag whose FlagValue is of the code
// list oidMissing, the reason (if any) as the site's Comment.
func missingAnnotation(x *xw, code, reason string) {
	x.open("Annotation", "SeqNum", "1")
	if reason != "" {
		x.open("Comment", "SponsorOrSite", "Site")
		x.esc(reason, false)
		x.close("Comment")
	}
	x.open("Flag")
	x.open("FlagValue", "CodeListOID", oidMissing)
	x.esc(code, false)
	x.close("FlagValue")
	x.close("Flag")
	x.close("Annotation")
}

// groupOf returns the item group of an item in the layout, or the form's
// first group for an item no version defines.
func (l *formLayout) groupOf(item string) string {
	if i, ok := l.idx[item]; ok {
		return l.items[i].group
	}
	if len(l.groups) > 0 {
		return l.groups[0].oid
	}
	return l.oid
}

// odmSignatures writes every e-signature. Each Signature carries ID
// "SIG.<n>", n counting the signatures in document order from 1: an xs:ID
// unique in the file (subject keys need not be XML names), which ODM
// readers such as odmlib require.
func (d *dataset) odmSignatures(x *xw) error {
	n := 0
	return client.ScanJSON(d.ctx, d.r, types.PrefixSignature+d.opt.Study+"/", func(key string, s *types.Signature) error {
		d.tick(1)
		x.open("SubjectData", "SubjectKey", s.Subject, "TransactionType", "Context")
		closers := []string{"SubjectData"}
		if s.Event != "" {
			x.open("StudyEventData", "StudyEventOID", oidEvent+s.Event, "StudyEventRepeatKey", itoa(max(s.EventRepeat, 1)), "TransactionType", "Context")
			closers = append(closers, "StudyEventData")
			if s.Form != "" {
				x.open("FormData", "FormOID", oidForm+s.Form, "TransactionType", "Context")
				closers = append(closers, "FormData")
			}
		}
		n++
		x.open("Signature", "ID", "SIG."+itoa(n))
		x.empty("UserRef", "UserOID", nonEmpty(s.Account, SystemUser))
		x.empty("LocationRef", "LocationOID", nonEmpty(s.Signed.Org, d.study.Sponsor))
		x.empty("SignatureRef", "SignatureOID", oidSigDef+s.Meaning)
		x.elem("DateTimeStamp", s.SignedAt)
		x.close("Signature")
		var covered []string
		for _, f := range s.Forms {
			covered = append(covered, fmt.Sprintf("%s/%d/%s v%d", f.Event, f.EventRepeat, f.Form, f.Version))
		}
		text := fmt.Sprintf("signature %d (%s) by %s (%s), meaning %s, at %s; content SHA-256 %s covering %s; status %s; source %d/%s; ledger key %s",
			s.Number, s.Level, s.PrintedName, s.Role, s.Meaning, s.SignedAt, s.ContentHash, strings.Join(covered, ", "), s.Status, s.Signed.Height, s.Signed.TxHash, key)
		if inv := s.Invalidated; inv != nil {
			text += fmt.Sprintf("; invalidated at %s (height %d, tx %s) by form %s/%d/%s version %d: %s", inv.Stamp.Time, inv.Stamp.Height, inv.Stamp.TxHash, inv.Event, inv.EventRepeat, inv.Form, inv.FormVersion, inv.Reason)
		}
		x.open("Annotation", "SeqNum", itoa(s.Number))
		x.elem("Comment", text)
		x.close("Annotation")
		for i := len(closers) - 1; i >= 0; i-- {
			x.close(closers[i])
		}
		x.nl()
		return x.err
	})
}

// formAnnotation writes one Annotation on a form instance, wrapped in
// Context elements.
func (d *dataset) formAnnotation(x *xw, subject, event string, repeat int, form string, seq int, sponsorOrSite, text string) {
	x.open("SubjectData", "SubjectKey", subject, "TransactionType", "Context")
	x.open("StudyEventData", "StudyEventOID", oidEvent+event, "StudyEventRepeatKey", itoa(max(repeat, 1)), "TransactionType", "Context")
	x.open("FormData", "FormOID", oidForm+form, "TransactionType", "Context")
	x.open("Annotation", "SeqNum", itoa(seq))
	x.open("Comment", "SponsorOrSite", sponsorOrSite)
	x.esc(text, false)
	x.close("Comment")
	x.close("Annotation")
	x.close("FormData")
	x.close("StudyEventData")
	x.close("SubjectData")
	x.nl()
}

// stampNote attributes a step: who, when, which transaction.
func stampNote(s types.Stamp) string {
	return fmt.Sprintf("%s (%s, %s, %s) at %s [%d/%s]", nonEmpty(s.Name, nonEmpty(s.Signer, SystemUser)), s.Signer, s.Org, s.Role, s.Time, s.Height, s.TxHash)
}

// odmQueries writes each data query, with its whole thread, as an
// Annotation of its form (ODM 1.3.2 has no query element).
func (d *dataset) odmQueries(x *xw) error {
	return client.ScanJSON(d.ctx, d.r, types.PrefixQuery+d.opt.Study+"/", func(key string, q *types.Query) error {
		d.tick(1)
		var b strings.Builder
		fmt.Fprintf(&b, "data query %d on %s, status %s, raised by %s", q.Number, q.Target(), q.Status, q.RaisedBy)
		if q.Check != "" {
			fmt.Fprintf(&b, " (edit check %s)", q.Check)
		}
		for i, m := range q.Thread {
			fmt.Fprintf(&b, "; step %d %s by %s", i+1, m.Action, stampNote(m.Stamp))
			if m.Text != "" {
				fmt.Fprintf(&b, ": %s", m.Text)
			}
			if m.FormVersion > 0 {
				fmt.Fprintf(&b, " (form version %d)", m.FormVersion)
			}
		}
		fmt.Fprintf(&b, "; ledger key %s", key)
		side := "Sponsor"
		if o := d.orgByID[q.RaisedOrg]; o != nil && o.Kind == types.OrgSite {
			side = "Site"
		}
		d.formAnnotation(x, q.Subject, q.Event, q.EventRepeat, q.Form, q.Number, side, b.String())
		return x.err
	})
}

// odmSDV writes each form's source data verification trail as an
// Annotation of the form.
func (d *dataset) odmSDV(x *xw) error {
	return client.ScanJSON(d.ctx, d.r, types.PrefixSDV+d.opt.Study+"/", func(key string, s *types.SDVRecord) error {
		d.tick(1)
		var b strings.Builder
		fmt.Fprintf(&b, "source data verification: status %s at form version %d (values SHA-256 %s)", s.Status, s.FormVersion, s.ValuesHash)
		for i, ev := range s.History {
			fmt.Fprintf(&b, "; step %d %s of %s (form version %d) by %s", i+1, ev.Action, strings.Join(ev.Items, ", "), ev.FormVersion, stampNote(ev.Stamp))
			if ev.Comment != "" {
				fmt.Fprintf(&b, ": %s", ev.Comment)
			}
		}
		fmt.Fprintf(&b, "; ledger key %s", key)
		d.formAnnotation(x, s.Subject, s.Event, s.EventRepeat, s.Form, 1, "Sponsor", b.String())
		return x.err
	})
}
