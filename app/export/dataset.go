package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Height bases: what the exported height is for the study, decided by
// the study record at that height alone, so the file does not depend on
// how the height was chosen.
const (
	// BasisLock: the height of the study's database lock.
	BasisLock = "database lock"
	// BasisLocked: a later height while the database stays locked.
	BasisLocked = "database locked (at an earlier height)"
	// BasisNotLocked: the study is not locked at this height.
	BasisNotLocked = "study NOT locked at this height"
)

// HeightBasis says what height h is for a study record read at h.
func HeightBasis(s *types.Study, h int64) string {
	switch {
	case s.LockHeight == h:
		return BasisLock
	case s.LockHeight > 0:
		return BasisLocked
	}
	return BasisNotLocked
}

// Options describe one export.
type Options struct {
	// Study is the study ID.
	Study string
	// Block is the consensus context of the exported height.
	Block Block
	// Version is the exporting software's version, written into the file.
	Version string
	// TmpDir holds temporary files (default: the system's).
	TmpDir string
	// Site and Subject limit the casebooks of a PDF export to the
	// subjects of one site, or to one subject (empty: every subject);
	// other formats export every subject.
	Site, Subject string
	// Progress, when set, is called as records are read: phase names the
	// pass ("records", then "data"), done counts the records read so far
	// and total those the pass reads in all: 0 while the records are
	// listed (known only when the listing ends), then one number for the
	// whole data pass, which it ends at.
	Progress func(phase string, done, total int64)
}

// Block is the consensus context of the exported height: which chain,
// which block, the app hash committing the state after it, and the
// validators that signed it.
type Block struct {
	ChainID string
	Height  int64
	// Time is the block's consensus time (UTC); it dates the files.
	Time time.Time
	// Hash is the block hash (upper-case hex), empty when unknown.
	Hash string
	// AppHash is the app hash of the state after the block (carried by
	// the header of the next block), upper-case hex.
	AppHash string
	// NextHash is the hash of block Height+1 whose header carries
	// AppHash, empty when unknown.
	NextHash string
	// Validators are the validators whose signatures commit the block
	// (the commit for Height, carried as LastCommit by block Height+1).
	Validators []Validator
}

// Validator is one validator of the exported block.
type Validator struct {
	Address string // upper-case hex
	PubKey  string // base64 ed25519 key
	Power   int64
	Signed  bool // its signature is in the block's commit
}

// notLocked reports whether the study is not locked at the height.
func (d *dataset) notLocked() bool { return d.sum.Basis == BasisNotLocked }

// Summary describes a finished export.
type Summary struct {
	Study   string `json:"study"`
	Height  int64  `json:"height"`
	Basis   string `json:"basis"`
	Records int64  `json:"records"`
	// Digest is the dataset digest (see DigestDefinition).
	Digest   string `json:"digest"`
	Subjects int64  `json:"subjects"`
	Forms    int64  `json:"forms"`
	Values   int64  `json:"values"`
	Audit    int64  `json:"audit_rows"`
}

// DigestDefinition documents the dataset digest, as written into every
// export.
const DigestDefinition = "SHA-256 (lower-case hex) of the concatenation, in ascending byte order of the keys, of one line per exported record: the store key, a TAB, the lower-case hex SHA-256 of the record's value bytes, a LF"

// recordSpec is one prefix (or exact key) of the exported record set.
type recordSpec struct {
	key   string
	exact bool
}

// recordSpecs returns the exported record set of a study in ascending key
// order: no prefix is a prefix of another, so listing them one after the
// other yields every key in byte order.
func recordSpecs(study string) []recordSpec {
	s := []recordSpec{
		{key: types.PrefixOrg},
		{key: types.PrefixAccount},
		{key: types.PrefixAcctHist},
		{key: string(types.KeyStudy(study)), exact: true},
		{key: types.PrefixProtocol + study + "/"},
		{key: types.PrefixAmendment + study + "/"},
		{key: types.PrefixSite + study + "/"},
		{key: types.PrefixSubject + study + "/"},
		{key: types.PrefixForm + study + "/"},
		{key: types.PrefixHistory + study + "/"},
		{key: types.PrefixQuery + study + "/"},
		{key: types.PrefixSDV + study + "/"},
		{key: types.PrefixSignature + study + "/"},
		{key: types.PrefixLock + study + "/"},
		{key: string(types.KeyDBLock(study)), exact: true},
		{key: types.PrefixDeleg + study + "/"},
		{key: types.PrefixLabRanges + study + "/"},
		{key: types.PrefixLabAssess + study + "/"},
		{key: types.PrefixSAE + study + "/"},
		{key: types.PrefixDeviation + study + "/"},
		{key: types.PrefixAllocation + study + "/"},
		{key: types.PrefixRandEntry + study + "/"},
		{key: types.PrefixRandStratum + study + "/"},
	}
	sort.Slice(s, func(i, j int) bool { return s[i].key < s[j].key })
	return s
}

// RecordPrefixes lists the prefixes (ending in '/') and exact keys of the
// records an export of study covers, in ascending order; the auditor
// lists the same set to check completeness.
func RecordPrefixes(study string) []string {
	var out []string
	for _, s := range recordSpecs(study) {
		out = append(out, s.key)
	}
	return out
}

// digester computes the dataset digest over records given in key order.
type digester struct {
	h    hash.Hash
	last string
	n    int64
	line []byte
}

// newDigester starts a dataset digest.
func newDigester() *digester { return &digester{h: sha256.New()} }

// add hashes one record and returns its value hash.
func (d *digester) add(key string, value []byte) (string, error) {
	sum := sha256.Sum256(value)
	vh := hex.EncodeToString(sum[:])
	return vh, d.addHash(key, vh)
}

// addHash adds one record given by its value hash.
func (d *digester) addHash(key, vh string) error {
	if d.n > 0 && key <= d.last {
		return fmt.Errorf("records are not in key order: %q after %q", key, d.last)
	}
	d.line = append(append(append(append(d.line[:0], key...), '\t'), vh...), '\n')
	d.h.Write(d.line)
	d.last = key
	d.n++
	return nil
}

func (d *digester) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// DigestRecords computes the dataset digest of records given in any
// order: the auditor's side of the definition.
func DigestRecords(records []types.ListEntry) (string, error) {
	s := append([]types.ListEntry(nil), records...)
	sort.Slice(s, func(i, j int) bool { return s[i].Key < s[j].Key })
	d := newDigester()
	for _, e := range s {
		if _, err := d.add(e.Key, e.Value); err != nil {
			return "", err
		}
	}
	return d.sum(), nil
}

// WalkRecords calls fn for every record an export of study covers
// (RecordPrefixes), in key order, as r reads them.
func WalkRecords(ctx context.Context, r *client.Reader, study string, fn func(types.ListEntry) error) error {
	for _, s := range recordSpecs(study) {
		if !s.exact {
			if err := r.Scan(ctx, s.key, fn); err != nil {
				return err
			}
			continue
		}
		v, err := r.Get(ctx, []byte(s.key))
		if err != nil {
			return err
		}
		if v != nil {
			if err := fn(types.ListEntry{Key: s.key, Value: v}); err != nil {
				return err
			}
		}
	}
	return nil
}

// itemCol is one item column of a form sheet.
type itemCol struct {
	item      protocol.Item
	group     string
	repeating bool
	// codes maps a code to its decode (choice, multichoice, yesno).
	codes     map[string]string
	codeOrder []protocol.CodeItem
	codeList  string
	version   int // protocol version the definition comes from
	// missing: some protocol version lets the item hold a missing-data
	// code, so it gets the companion columns <OID>.missing and
	// <OID>.missing_reason.
	missing bool
}

// hasDecode reports whether the item gets an adjacent decode column.
func (c *itemCol) hasDecode() bool { return c.codes != nil }

// decode returns the decode of a value: the code's text, "; "-joined for
// a multiple choice; unknown codes decode to themselves.
func (c *itemCol) decode(v string) string {
	if v == "" || c.codes == nil {
		return ""
	}
	if c.item.Type != protocol.TypeMultiChoice {
		if d, ok := c.codes[v]; ok {
			return d
		}
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if d, ok := c.codes[p]; ok {
			parts[i] = d
		}
	}
	return strings.Join(parts, "; ")
}

// formLayout is the column layout of one form across protocol versions.
type formLayout struct {
	oid, name string
	items     []*itemCol
	idx       map[string]int
	repeating bool // the form has a repeating group
	groups    []groupDef
}

type groupDef struct {
	oid, name string
	repeating bool
	items     []string
}

var yesNo = []protocol.CodeItem{{Code: "1", Decode: "Yes"}, {Code: "0", Decode: "No"}}

// dataset is what every format needs about the study at the height.
type dataset struct {
	ctx      context.Context
	r        *client.Reader
	opt      Options
	study    types.Study
	versions []types.ProtocolVersion // ascending number
	current  *types.ProtocolVersion
	orgs     []types.Org
	orgByID  map[string]*types.Org
	accounts []types.Account
	sites    []types.Site
	lock     *types.ScopeLock
	forms    []*formLayout
	formByID map[string]*formLayout
	// progress
	total, done int64
	phase       string
	lastReport  time.Time
	// dataRecords counts, while the records are listed, those the data
	// pass reads (the keys under dataPfx): the data phase's total.
	dataRecords int64
	dataPfx     []string
	// casebooks, when set, are the subjects a PDF export renders: the
	// data pass reads their records only.
	casebooks map[string]bool
	sum       Summary
}

// load reads what every format needs about the study at the height.
func load(ctx context.Context, r *client.Reader, opt Options) (*dataset, error) {
	if r == nil {
		return nil, fmt.Errorf("export: no reader")
	}
	if e := types.CheckID("study ID", opt.Study); e != nil {
		return nil, fmt.Errorf("%s", e.Msg)
	}
	if opt.Block.Height < 1 {
		return nil, fmt.Errorf("export: no block height")
	}
	if r.Height() != opt.Block.Height {
		return nil, fmt.Errorf("export: the reader reads height %d, not the exported height %d", r.Height(), opt.Block.Height)
	}
	d := &dataset{ctx: ctx, r: r, opt: opt, orgByID: map[string]*types.Org{}, formByID: map[string]*formLayout{}}
	d.sum = Summary{Study: opt.Study, Height: opt.Block.Height}
	ok, err := r.GetJSON(ctx, types.KeyStudy(opt.Study), &d.study)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("study %s is not registered at height %d", opt.Study, opt.Block.Height)
	}
	d.sum.Basis = HeightBasis(&d.study, opt.Block.Height)
	if err := client.ScanJSON(ctx, r, types.PrefixProtocol+opt.Study+"/", func(_ string, pv *types.ProtocolVersion) error {
		d.versions = append(d.versions, *pv)
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range d.versions {
		if d.versions[i].Number == d.study.Current {
			d.current = &d.versions[i]
		}
	}
	if d.current == nil {
		return nil, fmt.Errorf("study %s has no protocol version %d at height %d", opt.Study, d.study.Current, opt.Block.Height)
	}
	if err := client.ScanJSON(ctx, r, types.PrefixOrg, func(_ string, o *types.Org) error {
		d.orgs = append(d.orgs, *o)
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range d.orgs {
		d.orgByID[d.orgs[i].ID] = &d.orgs[i]
	}
	if err := client.ScanJSON(ctx, r, types.PrefixAccount, func(_ string, a *types.Account) error {
		d.accounts = append(d.accounts, *a)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := client.ScanJSON(ctx, r, types.PrefixSite+opt.Study+"/", func(_ string, s *types.Site) error {
		d.sites = append(d.sites, *s)
		return nil
	}); err != nil {
		return nil, err
	}
	var lk types.ScopeLock
	if ok, err := r.GetJSON(ctx, types.KeyLock(types.Scope{Study: opt.Study}), &lk); err != nil {
		return nil, err
	} else if ok {
		d.lock = &lk
	}
	d.layout()
	return d, nil
}

// layout builds the form layouts: the forms and items of the version in
// force, in its order, then those only older versions define (newest
// first), each item with its newest definition.
func (d *dataset) layout() {
	for vi := len(d.versions) - 1; vi >= 0; vi-- {
		pv := &d.versions[vi]
		p := &pv.Protocol
		lists := map[string]*protocol.CodeList{}
		for i := range p.CodeLists {
			lists[p.CodeLists[i].OID] = &p.CodeLists[i]
		}
		for fi := range p.Forms {
			f := &p.Forms[fi]
			lay := d.formByID[f.OID]
			if lay == nil {
				lay = &formLayout{oid: f.OID, name: f.Name, idx: map[string]int{}}
				d.formByID[f.OID] = lay
				d.forms = append(d.forms, lay)
			}
			for _, g := range f.Groups {
				known := false
				for gi := range lay.groups {
					if lay.groups[gi].oid == g.OID {
						known = true
					}
				}
				if !known {
					lay.groups = append(lay.groups, groupDef{oid: g.OID, name: g.Name, repeating: g.Repeating})
				}
				if g.Repeating {
					lay.repeating = true
				}
				for _, it := range g.Items {
					if i, ok := lay.idx[it.OID]; ok {
						lay.items[i].missing = lay.items[i].missing || len(it.Missing) > 0
						continue
					}
					col := &itemCol{item: it, group: g.OID, repeating: g.Repeating, version: pv.Number, missing: len(it.Missing) > 0}
					switch it.Type {
					case protocol.TypeYesNo:
						col.codeOrder = yesNo
					case protocol.TypeChoice, protocol.TypeMultiChoice:
						if cl := lists[it.CodeList]; cl != nil {
							col.codeOrder = cl.Items
							col.codeList = cl.OID
						}
					}
					if col.codeOrder != nil {
						col.codes = map[string]string{}
						for _, ci := range col.codeOrder {
							col.codes[ci.Code] = ci.Decode
						}
					}
					lay.idx[it.OID] = len(lay.items)
					lay.items = append(lay.items, col)
					for gi := range lay.groups {
						if lay.groups[gi].oid == g.OID {
							lay.groups[gi].items = append(lay.groups[gi].items, it.OID)
						}
					}
				}
			}
		}
	}
}

// dataPrefixes are the key prefixes of the records the data pass reads
// (subjects, forms and their history, queries, signatures, SDV,
// delegations), one progress tick each.
func dataPrefixes(study string) []string {
	var out []string
	for _, p := range []string{types.PrefixSubject, types.PrefixForm, types.PrefixHistory, types.PrefixQuery, types.PrefixSignature, types.PrefixSDV, types.PrefixDeleg, types.PrefixAllocation, types.PrefixRandEntry} {
		out = append(out, p+study+"/")
	}
	return out
}

// listed counts a record listed in the records pass: the data pass's total
// is the number of those it will read.
func (d *dataset) listed(key string) {
	if d.casebooks != nil {
		d.listedCasebook(key)
		return
	}
	if d.dataPfx == nil {
		d.dataPfx = dataPrefixes(d.opt.Study)
	}
	for _, p := range d.dataPfx {
		if strings.HasPrefix(key, p) {
			d.dataRecords++
			return
		}
	}
}

// tick counts n records read and reports progress at most every 200 ms.
func (d *dataset) tick(n int64) {
	d.done += n
	if d.opt.Progress == nil {
		return
	}
	if now := time.Now(); now.Sub(d.lastReport) >= 200*time.Millisecond {
		d.lastReport = now
		d.opt.Progress(d.phase, d.done, d.total)
	}
}

// startPhase begins a progress phase of total records (0: unknown).
func (d *dataset) startPhase(name string, total int64) {
	d.phase, d.done, d.total = name, 0, total
	if d.opt.Progress != nil {
		d.opt.Progress(name, 0, total)
	}
}

// endPhase reports a phase complete.
func (d *dataset) endPhase() {
	if d.opt.Progress != nil {
		d.opt.Progress(d.phase, d.done, d.done)
	}
}

// subjectSite caches the site of the last subject asked for.
type subjectSite struct {
	d    *dataset
	id   string
	site string
}

func (s *subjectSite) of(subject string) (string, error) {
	if subject == s.id {
		return s.site, nil
	}
	var sub types.Subject
	ok, err := s.d.r.GetJSON(s.d.ctx, types.KeySubject(s.d.opt.Study, subject), &sub)
	if err != nil {
		return "", err
	}
	s.id, s.site = subject, ""
	if ok {
		s.site = sub.Site
	}
	return s.site, nil
}

// formVersions calls fn for every version of the form whose current
// record is cur, oldest first, with the ledger key of each version. Only
// two versions are held at a time.
func (d *dataset) formVersions(cur *types.FormRecord, curKey string, fn func(prev, rec *types.FormRecord, key string) error) error {
	var prev *types.FormRecord
	for v := 1; v < cur.Version; v++ {
		key := string(types.KeyFormHistory(cur.FormKey, v))
		rec := new(types.FormRecord)
		ok, err := d.r.GetJSON(d.ctx, []byte(key), rec)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("form %s is at version %d but its version %d (%s) is missing", curKey, cur.Version, v, key)
		}
		d.tick(1)
		if err := fn(prev, rec, key); err != nil {
			return err
		}
		prev = rec
	}
	return fn(prev, cur, curKey)
}

// change is one item change between two versions of a form: old and
// new are the values, oldMissing and newMissing the missing-data codes
// with their reasons (ItemValue.MissingText).
type change struct {
	item                   string
	repeat                 int
	old, new               string
	oldMissing, newMissing string
	missing, reason        string // the new code and reason, as stored
	action                 string // insert, update, remove
}

// diff lists the changes from prev (nil: none) to rec: rec's values in
// canonical order, then the values rec removed in prev's order. A change
// of the code or reason alone is a change.
func diff(prev, rec *types.FormRecord, out []change) []change {
	out = out[:0]
	type k struct {
		item   string
		repeat int
	}
	var old map[k]protocol.ItemValue
	if prev != nil {
		old = make(map[k]protocol.ItemValue, len(prev.Values))
		for _, v := range prev.Values {
			old[k{v.Item, v.Repeat}] = v
		}
	}
	seen := make(map[k]bool, len(rec.Values))
	for _, v := range rec.Values {
		key := k{v.Item, v.Repeat}
		seen[key] = true
		c := change{item: v.Item, repeat: v.Repeat, new: v.Value, newMissing: v.MissingText(), missing: v.Missing, reason: v.Reason, action: "insert"}
		if o, had := old[key]; had {
			if o == v {
				continue
			}
			c.old, c.oldMissing, c.action = o.Value, o.MissingText(), "update"
		}
		out = append(out, c)
	}
	if prev != nil {
		for _, v := range prev.Values {
			if !seen[k{v.Item, v.Repeat}] {
				out = append(out, change{item: v.Item, repeat: v.Repeat, old: v.Value, oldMissing: v.MissingText(), action: "remove"})
			}
		}
	}
	return out
}

// reasonText is the reason of a form version: the correction's reason,
// or "initial entry" for version 1.
func reasonText(rec *types.FormRecord) string {
	if rec.Version == 1 && rec.Reason == "" {
		return "initial entry"
	}
	return rec.Reason
}

func itoa(n int) string { return strconv.Itoa(n) }
