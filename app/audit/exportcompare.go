package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/veritrial/veritrial/app/export"
)

// Difference is one way an exported file departs from the ledger.
type Difference struct {
	// Kind: changed value, missing row, extra row, missing record, extra
	// record, changed record, provenance; prefixed by "altered audit
	// trail: " on the audit trail and "forged or altered signature: " on
	// the signatures.
	Kind string `json:"kind"`
	// Sheet (workbook), file (CSV) or "ODM".
	Sheet string `json:"sheet"`
	// Page is the 1-based page of a casebook (PDF export).
	Page int `json:"page,omitempty"`
	// Row is the 1-based row (line) in the file, or the line of text on
	// a casebook's page; for a missing row, the row where the ledger's
	// export has it.
	Row    int    `json:"row,omitempty"`
	Column string `json:"column,omitempty"` // letter and name ("E (VS.HR)")
	Path   string `json:"path,omitempty"`   // XML path (ODM)
	Key    string `json:"key,omitempty"`    // ledger key of the row
	File   string `json:"file,omitempty"`   // what the file says
	Ledger string `json:"ledger,omitempty"` // what the ledger says
}

// Where names the place of a difference on a casebook's page: "page 3,
// line 12" (empty when the difference is not on a page).
func (d Difference) Where() string {
	switch {
	case d.Page == 0:
		return ""
	case d.Row > 0:
		return fmt.Sprintf("page %d, line %d", d.Page, d.Row)
	}
	return fmt.Sprintf("page %d", d.Page)
}

// MaxDifferences bounds the differences listed.
const MaxDifferences = 1000

func (r *ExportReport) add(d Difference) {
	if len(r.Differences) >= MaxDifferences {
		r.Omitted++
		return
	}
	r.Differences = append(r.Differences, d)
}

// compareExport compares a file with the ledger's export of the proven
// records (want), both read back by app/export: the file's record list
// with the records, then every table (ODM: element) with the ledger's.
func compareExport(rep *ExportReport, got, want *export.File, records map[string][]byte) error {
	checkRecordList(rep, got, records)
	wt, err := want.Tables()
	if err != nil {
		return fmt.Errorf("reading the ledger's export: %w", err)
	}
	if !hasRole(wt, export.RoleProvenance) {
		// The provenance is not a table (the ODM comment): field by field.
		compareFields(rep, got, want)
	}
	if err := compareProperties(rep, got, want); err != nil {
		return err
	}
	gt, err := got.Tables()
	var te *export.TableError
	if errors.As(err, &te) {
		rep.add(Difference{Kind: te.Problem, Sheet: te.Table, File: te.Err.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	compareTables(rep, gt, wt)
	return nil
}

func hasRole(ts []export.Table, r export.Role) bool {
	for _, t := range ts {
		if t.Role == r {
			return true
		}
	}
	return false
}

// checkRecordList compares the file's record list with the ledger's
// records: a record listed twice or not on the ledger (extra record), a
// listed value hash that differs (changed record), a record not listed
// (missing record). A list that is not in key order or has an entry
// without a hash, or that does not hash to the digest the file states, is
// a difference too.
func checkRecordList(rep *ExportReport, f *export.File, records map[string][]byte) {
	var refs []export.RecordRef
	collect := func(r export.RecordRef) error {
		refs = append(refs, r)
		return nil
	}
	list, lastRow := f.RecordList()
	m, err := f.Manifest(collect)
	if err != nil {
		rep.add(Difference{Kind: "record list", Sheet: list, File: err.Error(), Ledger: "a list of every record in ascending key order"})
		refs = nil
		_ = f.Records(collect)
	} else if m.ListDigest != m.Digest {
		rep.add(Difference{Kind: "provenance", Sheet: list, Key: "record list digest", File: m.ListDigest + " (the list)", Ledger: m.Digest + " (the digest the file states)"})
	}
	seen := map[string]bool{}
	for _, r := range refs {
		lastRow = r.Row
		v, ok := records[r.Key]
		switch {
		case seen[r.Key]:
			rep.add(Difference{Kind: "extra record", Sheet: r.Table, Row: r.Row, Column: export.RecordKeyColumn, Key: r.Key, File: r.Key, Ledger: "listed twice"})
		case !ok:
			rep.add(Difference{Kind: "extra record", Sheet: r.Table, Row: r.Row, Column: export.RecordKeyColumn, Key: r.Key, File: r.Key, Ledger: "no such record at this height"})
		case sha(v) != r.ValueSHA256:
			rep.add(Difference{Kind: "changed record", Sheet: r.Table, Row: r.Row, Column: export.RecordHashColumn, Key: r.Key, File: r.ValueSHA256, Ledger: sha(v)})
		}
		seen[r.Key] = true
	}
	var missing []string
	for k := range records {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		rep.add(Difference{Kind: "missing record", Sheet: list, Row: lastRow + 1, Key: k, Ledger: sha(records[k]), File: "not listed"})
	}
}

// compareFields compares the provenance fields of a file whose
// provenance is not a table, label by label.
func compareFields(rep *ExportReport, got, want *export.File) {
	fields := func(f *export.File) map[string]string {
		m := map[string]string{}
		for _, fl := range f.Fields {
			if _, dup := m[fl[0]]; !dup {
				m[fl[0]] = fl[1]
			}
		}
		return m
	}
	gp, wp := fields(got), fields(want)
	labels := make([]string, 0, len(wp))
	for k := range wp {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		if gp[k] != wp[k] {
			rep.add(Difference{Kind: "provenance", Sheet: want.ProvenanceTable(), Path: "comment/" + k, File: gp[k], Ledger: wp[k]})
		}
	}
}

// compareProperties compares a workbook's document properties with the
// ledger's export's: a changed, missing or extra (unexpected) property.
func compareProperties(rep *ExportReport, got, want *export.File) error {
	wp, err := want.Properties()
	if err != nil {
		return fmt.Errorf("reading the ledger's export: %w", err)
	}
	gp, err := got.Properties()
	if err != nil {
		rep.add(Difference{Kind: "unreadable properties", Sheet: export.PropertiesTable, File: err.Error()})
		return nil
	}
	names := make([]string, 0, len(wp)+len(gp))
	for k := range wp {
		names = append(names, k)
	}
	for k := range gp {
		if _, ok := wp[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		g, gok := gp[k]
		w, wok := wp[k]
		switch {
		case !gok:
			rep.add(Difference{Kind: "missing property", Sheet: export.PropertiesTable, Key: k, File: "absent", Ledger: w})
		case !wok:
			rep.add(Difference{Kind: "extra property", Sheet: export.PropertiesTable, Key: k, File: g, Ledger: "absent"})
		case g != w:
			rep.add(Difference{Kind: "changed property", Sheet: export.PropertiesTable, Key: k, File: g, Ledger: w})
		}
	}
	return nil
}

// compareTables compares the file's tables with the ledger's export,
// table by table (tables from byte-identical files need no comparison).
func compareTables(rep *ExportReport, got, want []export.Table) {
	gm := map[string]*export.Table{}
	for i := range got {
		gm[got[i].Name] = &got[i]
	}
	wm := map[string]bool{}
	for i := range want {
		w := &want[i]
		wm[w.Name] = true
		g, ok := gm[w.Name]
		switch {
		case !ok:
			rep.add(Difference{Kind: "missing sheet", Sheet: w.Name, Ledger: fmt.Sprintf("%d rows", len(w.Rows))})
		case g.Unchanged(w):
		case w.Casebook:
			compareCasebook(rep, g, w)
		case w.Elements != nil:
			compareElements(rep, g, w)
		default:
			compareTable(rep, g, w)
		}
	}
	for _, g := range got {
		if !wm[g.Name] {
			rep.add(Difference{Kind: "extra sheet", Sheet: g.Name, File: fmt.Sprintf("%d rows", len(g.Rows))})
		}
	}
}

// compareCasebook compares a casebook with the ledger's, page by page:
// the page count, then on each page the first line of text that differs
// (a page whose text is the ledger's but whose drawing is not is named
// too), else the first byte that differs (counting from 1) outside the
// pages' content.
func compareCasebook(rep *ExportReport, got, want *export.Table) {
	wp, err := want.Pages()
	if err != nil {
		rep.add(Difference{Kind: "unreadable casebook", Sheet: want.Name, Ledger: err.Error()})
		return
	}
	gp, err := got.Pages()
	if err != nil {
		rep.add(Difference{Kind: "unreadable casebook", Sheet: got.Name, File: err.Error(), Ledger: "a casebook written by veritrial export"})
		return
	}
	before := len(rep.Differences) + rep.Omitted
	if len(gp) != len(wp) {
		rep.add(Difference{Kind: "changed casebook", Sheet: got.Name, Key: "pages", File: fmt.Sprintf("%d pages", len(gp)), Ledger: fmt.Sprintf("%d pages", len(wp))})
	}
	for i := 0; i < min(len(gp), len(wp)); i++ {
		g, w := gp[i], wp[i]
		if string(g.Content) == string(w.Content) {
			continue
		}
		line := func(ls []string, n int) string {
			if n < len(ls) {
				return ls[n]
			}
			return "(no line)"
		}
		n := 0
		for n < max(len(g.Lines), len(w.Lines)) && line(g.Lines, n) == line(w.Lines, n) {
			n++
		}
		if n == max(len(g.Lines), len(w.Lines)) {
			rep.add(Difference{Kind: "changed casebook page", Sheet: got.Name, Page: i + 1, File: "its drawing differs from the ledger's casebook", Ledger: "the same text, drawn as the ledger's casebook draws it"})
			continue
		}
		rep.add(Difference{Kind: "changed casebook page", Sheet: got.Name, Page: i + 1, Row: n + 1, File: line(g.Lines, n), Ledger: line(w.Lines, n)})
	}
	if len(rep.Differences)+rep.Omitted == before {
		a, b := got.Raw(), want.Raw()
		n := 0
		for n < min(len(a), len(b)) && a[n] == b[n] {
			n++
		}
		rep.add(Difference{Kind: "changed casebook", Sheet: got.Name, Key: fmt.Sprintf("byte %d", n+1), File: "differs from the ledger's casebook outside its pages' content", Ledger: fmt.Sprintf("%d bytes", len(b))})
	}
}

// kindPrefix names what a difference in a table or element of role r
// alters.
func kindPrefix(r export.Role) string {
	switch r {
	case export.RoleAuditTrail:
		return "altered audit trail: "
	case export.RoleSignatures:
		return "forged or altered signature: "
	case export.RoleProvenance:
		return "provenance: "
	}
	return ""
}

// compareTable aligns rows by their ledger key (the table's key column)
// when the table has one, else by content, and reports changed cells,
// missing rows and extra rows; header rows are compared by position.
func compareTable(rep *ExportReport, got, want *export.Table) {
	sheet, headerRows, prefix, keyCol := want.Name, want.HeaderRows, kindPrefix(want.Role), want.KeyColumn()
	cell := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	keyOf := func(r []string) string {
		if keyCol < 0 {
			return ""
		}
		return cell(r, keyCol)
	}
	// Header rows: positional.
	for i := 0; i < headerRows && (i < len(got.Rows) || i < len(want.Rows)); i++ {
		var g, w []string
		if i < len(got.Rows) {
			g = got.Rows[i]
		}
		if i < len(want.Rows) {
			w = want.Rows[i]
		}
		for c := 0; c < max(len(g), len(w)); c++ {
			if cell(g, c) != cell(w, c) {
				rep.add(Difference{Kind: prefix + "changed header", Sheet: sheet, Row: i + 1, Column: want.ColumnName(c), File: cell(g, c), Ledger: cell(w, c)})
			}
		}
	}
	type rowRef struct {
		n   int // 1-based row
		row []string
	}
	group := func(rows [][]string) (map[string][]rowRef, []string) {
		m := map[string][]rowRef{}
		var order []string
		for i := headerRows; i < len(rows); i++ {
			k := keyOf(rows[i])
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], rowRef{i + 1, rows[i]})
		}
		return m, order
	}
	gg, gorder := group(got.Rows)
	wg, worder := group(want.Rows)
	join := func(r []string) string { return strings.Join(r, "\x1f") }
	for _, k := range worder {
		ws, gs := wg[k], gg[k]
		// Identical rows match first.
		used := make([]bool, len(gs))
		var wl []rowRef
		for _, w := range ws {
			found := false
			for j, g := range gs {
				if !used[j] && join(g.row) == join(w.row) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				wl = append(wl, w)
			}
		}
		var gl []rowRef
		for j, g := range gs {
			if !used[j] {
				gl = append(gl, g)
			}
		}
		// Leftovers pair up as changed rows; the rest are missing or extra.
		for len(wl) > 0 && len(gl) > 0 {
			w, g := wl[0], gl[0]
			wl, gl = wl[1:], gl[1:]
			for c := 0; c < max(len(g.row), len(w.row)); c++ {
				if cell(g.row, c) != cell(w.row, c) {
					rep.add(Difference{Kind: prefix + "changed value", Sheet: sheet, Row: g.n, Column: want.ColumnName(c), Key: k, File: cell(g.row, c), Ledger: cell(w.row, c)})
				}
			}
		}
		for _, w := range wl {
			rep.add(Difference{Kind: prefix + "missing row", Sheet: sheet, Row: w.n, Key: k, Ledger: summarize(w.row), File: "absent"})
		}
		for _, g := range gl {
			rep.add(Difference{Kind: prefix + "extra row", Sheet: sheet, Row: g.n, Key: k, File: summarize(g.row), Ledger: "absent"})
		}
	}
	for _, k := range gorder {
		if _, ok := wg[k]; ok {
			continue
		}
		for _, g := range gg[k] {
			rep.add(Difference{Kind: prefix + "extra row", Sheet: sheet, Row: g.n, Key: k, File: summarize(g.row), Ledger: "no such record"})
		}
	}
}

// compareElements compares a document's elements with the ledger's,
// grouped by path: identical elements match first, the remaining ones
// pair up as changed values, the rest are missing or extra.
func compareElements(rep *ExportReport, got, want *export.Table) {
	group := func(es []export.Element) (map[string][]export.Element, []string) {
		m := map[string][]export.Element{}
		var order []string
		for _, e := range es {
			if _, ok := m[e.Path]; !ok {
				order = append(order, e.Path)
			}
			m[e.Path] = append(m[e.Path], e)
		}
		return m, order
	}
	gg, gorder := group(got.Elements)
	wg, worder := group(want.Elements)
	sheet := want.Name
	for _, p := range worder {
		ws, gs := wg[p], gg[p]
		used := make([]bool, len(gs))
		var wl []export.Element
		for _, x := range ws {
			found := false
			for j, y := range gs {
				if !used[j] && y.Content == x.Content {
					used[j], found = true, true
					break
				}
			}
			if !found {
				wl = append(wl, x)
			}
		}
		var gl []export.Element
		for j, y := range gs {
			if !used[j] {
				gl = append(gl, y)
			}
		}
		for len(wl) > 0 && len(gl) > 0 {
			rep.add(Difference{Kind: kindPrefix(wl[0].Role) + "changed value", Sheet: sheet, Row: gl[0].Line, Path: p, File: gl[0].Content, Ledger: wl[0].Content})
			wl, gl = wl[1:], gl[1:]
		}
		for _, x := range wl {
			rep.add(Difference{Kind: kindPrefix(x.Role) + "missing element", Sheet: sheet, Path: p, File: "absent", Ledger: x.Content})
		}
		for _, y := range gl {
			rep.add(Difference{Kind: kindPrefix(y.Role) + "extra element", Sheet: sheet, Row: y.Line, Path: p, File: y.Content, Ledger: "absent"})
		}
	}
	for _, p := range gorder {
		if _, ok := wg[p]; ok {
			continue
		}
		for _, y := range gg[p] {
			rep.add(Difference{Kind: kindPrefix(y.Role) + "extra element", Sheet: sheet, Row: y.Line, Path: p, File: y.Content, Ledger: "absent"})
		}
	}
}

func summarize(r []string) string {
	s := strings.Join(r, " | ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func sha(v []byte) string {
	sum := sha256.Sum256(v)
	return fmt.Sprintf("%x", sum)
}
