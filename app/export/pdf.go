package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// FormatPDF is a set of certified-copy casebooks: one PDF per subject.
const FormatPDF = "pdf"

// Casebook selection fields of a PDF export's provenance: present only
// when the export was limited to one site or one subject.
const (
	FieldCasebookSite    = "Casebooks of site"
	FieldCasebookSubject = "Casebook of subject"
)

// tCasebooks lists the casebooks of a PDF export with their hashes.
var (
	tCasebooks   = [2]string{"Casebooks", "casebooks.csv"}
	casebookCols = cols("file", "File", "subject", "Subject", "site", "Site", "pages", "Pages", "sha256", "SHA-256 of the file")
)

// casebookFile is the file name of a subject's casebook.
func casebookFile(subject string) string { return "casebook_" + subject + ".pdf" }

// WritePDFDir exports the study's casebooks into dir, which must exist
// and be empty: casebook_<subject>.pdf per subject (every subject, or
// those of opt.Site, or opt.Subject), casebooks.csv listing them with
// their SHA-256, and the provenance.csv and records.csv of the CSV
// export.
func WritePDFDir(ctx context.Context, r *client.Reader, opt Options, dir string) (*Summary, error) {
	d, err := load(ctx, r, opt)
	if err != nil {
		return nil, err
	}
	b := &csvBook{dir: dir}
	if err := d.writeCasebooks(b); err != nil {
		b.abort()
		return nil, err
	}
	s := d.sum
	return &s, nil
}

// WritePDFZip exports the files of WritePDFDir in one zip written to w:
// entries in name order, deflated, dated with the block time.
func WritePDFZip(ctx context.Context, r *client.Reader, opt Options, w io.Writer) (*Summary, error) {
	return writeZipped(ctx, r, opt, w, WritePDFDir)
}

// selectedSubjects reads the subjects the casebooks cover, in key order,
// and checks the selection names a site and a subject of the study.
func (d *dataset) selectedSubjects() ([]types.Subject, error) {
	site, subject := d.opt.Site, d.opt.Subject
	for _, id := range [][2]string{{"site", site}, {"subject ID", subject}} {
		if id[1] != "" {
			if e := types.CheckID(id[0], id[1]); e != nil {
				return nil, fmt.Errorf("%s", e.Msg)
			}
		}
	}
	if site != "" {
		known := false
		for _, s := range d.sites {
			known = known || s.Org == site
		}
		if !known {
			return nil, fmt.Errorf("site %s is not a site of study %s at height %d", site, d.opt.Study, d.opt.Block.Height)
		}
	}
	var out []types.Subject
	if subject != "" {
		var s types.Subject
		ok, err := d.r.GetJSON(d.ctx, types.KeySubject(d.opt.Study, subject), &s)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("subject %s is not enrolled in study %s at height %d", subject, d.opt.Study, d.opt.Block.Height)
		}
		if site != "" && s.Site != site {
			return nil, fmt.Errorf("subject %s is of site %s, not %s", subject, s.Site, site)
		}
		return append(out, s), nil
	}
	err := client.ScanJSON(d.ctx, d.r, types.PrefixSubject+d.opt.Study+"/", func(_ string, s *types.Subject) error {
		if site == "" || s.Site == site {
			out = append(out, *s)
		}
		return nil
	})
	return out, err
}

// subjectQueries lists the query numbers of each selected subject.
func (d *dataset) subjectQueries(subjects []types.Subject) (map[string][]int, error) {
	out := make(map[string][]int, len(subjects))
	for _, s := range subjects {
		out[s.ID] = nil
	}
	err := client.ScanJSON(d.ctx, d.r, types.PrefixQuery+d.opt.Study+"/", func(_ string, q *types.Query) error {
		if ns, ok := out[q.Subject]; ok {
			out[q.Subject] = append(ns, q.Number)
		}
		return nil
	})
	return out, err
}

// listedCasebook counts a record listed in the records pass that a
// casebook reads (the subject, its forms and their history, SDV and
// signatures; queries are counted as they are assigned).
func (d *dataset) listedCasebook(key string) {
	for _, p := range []string{types.PrefixSubject, types.PrefixForm, types.PrefixHistory, types.PrefixSDV, types.PrefixSignature} {
		p += d.opt.Study + "/"
		if rest, ok := strings.CutPrefix(key, p); ok {
			id, _, _ := strings.Cut(rest, "/")
			if d.casebooks[id] {
				d.dataRecords++
			}
			return
		}
	}
}

// writeCasebooks writes the record list (which computes the digest every
// page carries), one casebook per selected subject, the list of
// casebooks and the provenance.
func (d *dataset) writeCasebooks(b *csvBook) error {
	subjects, err := d.selectedSubjects()
	if err != nil {
		return err
	}
	queries, err := d.subjectQueries(subjects)
	if err != nil {
		return err
	}
	d.casebooks = map[string]bool{}
	for _, s := range subjects {
		d.casebooks[s.ID] = true
		d.dataRecords += int64(len(queries[s.ID]))
	}
	if err := d.recordsTable(b); err != nil {
		return err
	}
	t, err := b.table(tCasebooks[0], tCasebooks[1], casebookCols, 1)
	if err != nil {
		return err
	}
	d.startPhase("data", d.dataRecords)
	for i := range subjects {
		s := &subjects[i]
		var buf bytes.Buffer
		pages, err := d.casebook(s, queries[s.ID], &buf)
		if err != nil {
			return fmt.Errorf("casebook of subject %s: %w", s.ID, err)
		}
		name := casebookFile(s.ID)
		path := filepath.Join(b.dir, name)
		b.files = append(b.files, path)
		if err := writeNew(path, buf.Bytes()); err != nil {
			return err
		}
		sum := sha256.Sum256(buf.Bytes())
		if err := t.row([]cell{txt(name), txt(s.ID), txt(s.Site), numi(pages), txt(hex.EncodeToString(sum[:]))}); err != nil {
			return err
		}
		d.sum.Subjects++
	}
	d.endPhase()
	if err := t.close(); err != nil {
		return err
	}
	rows := d.provenance()
	if d.opt.Site != "" {
		rows = append(rows, [2]string{FieldCasebookSite, d.opt.Site})
	}
	if d.opt.Subject != "" {
		rows = append(rows, [2]string{FieldCasebookSubject, d.opt.Subject})
	}
	return provenanceTable(b, rows)
}

// writeNew creates path, which must not exist, with data.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Page geometry of a casebook (A4 portrait, millimetres).
const (
	cbMargin  = 15.0
	cbWidth   = 210.0 - 2*cbMargin
	cbBottom  = 297.0 - 22.0 // the footer sits below
	cbLine    = 3.8          // line height of body text
	cbBody    = 8.0          // body font size (points)
	cbFont    = "Helvetica"
	cbNbAlias = "{nb}"
)

// casebookDoc renders one casebook page by page.
type casebookDoc struct {
	d   *dataset
	pdf *fpdf.Fpdf
}

// casebook renders the casebook of subject s to w and returns its page
// count.
func (d *dataset) casebook(s *types.Subject, queries []int, w io.Writer) (int, error) {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCatalogSort(true)
	p.SetCreationDate(d.opt.Block.Time.UTC())
	p.SetModificationDate(d.opt.Block.Time.UTC())
	p.SetProducer("veritrial "+d.opt.Version, true)
	p.SetCreator("veritrial export --format pdf", true)
	p.SetTitle("Casebook of subject "+s.ID+", study "+d.opt.Study+" at height "+strconv.FormatInt(d.opt.Block.Height, 10), true)
	p.SetSubject("dataset digest "+d.sum.Digest, true)
	p.SetMargins(cbMargin, cbMargin, cbMargin)
	p.SetAutoPageBreak(false, 0)
	p.AliasNbPages(cbNbAlias)
	footer := fmt.Sprintf("Study %s  |  Subject %s  |  Height %d  |  Page %%d of %s", d.opt.Study, s.ID, d.opt.Block.Height, cbNbAlias)
	p.SetFooterFunc(func() {
		p.SetDrawColor(160, 160, 160)
		p.Line(cbMargin, 297-17, 210-cbMargin, 297-17)
		p.SetFont(cbFont, "", 7)
		p.SetXY(cbMargin, 297-16)
		p.CellFormat(cbWidth, 3.5, pdfText(fmt.Sprintf(footer, p.PageNo())), "", 2, "L", false, 0, "")
		p.CellFormat(cbWidth, 3.5, "Dataset digest (SHA-256) "+d.sum.Digest, "", 2, "L", false, 0, "")
	})
	c := &casebookDoc{d: d, pdf: p}
	p.AddPage()
	if err := c.render(s, queries); err != nil {
		return 0, err
	}
	pages := p.PageCount()
	if err := p.Output(w); err != nil {
		return 0, err
	}
	return pages, nil
}

// render writes the subject, each form with its values, change history
// and SDV, the subject's queries and its signatures.
func (c *casebookDoc) render(s *types.Subject, queries []int) error {
	d := c.d
	st := &d.study
	c.title("Casebook of subject " + s.ID)
	c.note("Certified copy of the ledger's records of this subject in study " + st.ID + " at height " + strconv.FormatInt(d.opt.Block.Height, 10) +
		" (" + d.sum.Basis + "). Check it with veritrial audit verify-export.")
	// Written as is (pdfText would double its backslashes).
	c.lines(`Characters the PDF core fonts cannot show are written \uXXXX (\U0001F600 beyond U+FFFF) with their code point, bytes that are not UTF-8 \xHH, and a backslash \\.`, "I", cbBody, cbLine)
	kv := [][2]string{
		{"Study", st.ID + ": " + st.Title},
		{"Sponsor", st.Sponsor},
		{"Chain", d.opt.Block.ChainID},
		{"Height", strconv.FormatInt(d.opt.Block.Height, 10) + " (" + d.sum.Basis + "), block time " + d.opt.Block.Time.UTC().Format("2006-01-02T15:04:05Z")},
		{"App hash after the block", d.opt.Block.AppHash},
		{"Dataset digest (SHA-256)", d.sum.Digest},
		{"Subject", s.ID},
		{"Site", s.Site},
		{"Status", string(s.Status)},
		{"Enrolled", stampText(s.Enrolled)},
		{"Consent version", s.ConsentVersion},
		{"Consent form SHA-256", s.ConsentSHA256},
	}
	if w := s.Withdrawn; w != nil {
		kv = append(kv, [2]string{"Withdrawn", stampText(*w)}, [2]string{"Withdrawal reason", s.WithdrawReason})
	}
	kv = append(kv, [2]string{"Ledger key", string(types.KeySubject(st.ID, s.ID))})
	c.pairs(kv)
	d.tick(1)

	if err := client.ScanJSON(d.ctx, d.r, types.PrefixForm+st.ID+"/"+s.ID+"/", func(key string, rec *types.FormRecord) error {
		d.tick(1)
		d.sum.Forms++
		d.sum.Values += int64(len(rec.Values))
		return c.form(rec, key)
	}); err != nil {
		return err
	}

	c.heading("Queries")
	if len(queries) == 0 {
		c.note("No data queries.")
	}
	for _, n := range queries {
		var q types.Query
		key := types.KeyQuery(st.ID, n)
		if _, err := d.r.GetJSON(d.ctx, key, &q); err != nil {
			return err
		}
		d.tick(1)
		c.query(&q, string(key))
	}

	c.heading("Signatures")
	seen := false
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixSignature+st.ID+"/"+s.ID+"/", func(key string, sg *types.Signature) error {
		d.tick(1)
		seen = true
		c.signature(sg, key)
		return nil
	}); err != nil {
		return err
	}
	if !seen {
		c.note("No electronic signatures.")
	}
	return c.pdf.Error()
}

// form writes one form: its current values, every version's changes with
// the reason, and its SDV trail.
func (c *casebookDoc) form(rec *types.FormRecord, key string) error {
	d := c.d
	lay := d.formByID[rec.Form]
	if lay == nil {
		return fmt.Errorf("record %s is of form %s, which no protocol version of study %s defines", key, rec.Form, d.opt.Study)
	}
	c.heading(fmt.Sprintf("Form %s (%s), event %s, repeat %d", rec.Form, lay.name, rec.Event, rec.EventRepeat))
	c.note(fmt.Sprintf("Version %d under protocol version %d, last changed %s. Ledger key %s", rec.Version, rec.ProtocolVersion, stampText(rec.Stamp), key))
	w := []float64{62, 30, 58, 30}
	c.row(w, []string{"Item", "OID", "Value", "Decode"}, "B", true)
	for _, v := range rec.Values {
		label, decode := v.Item, ""
		if i, ok := lay.idx[v.Item]; ok {
			col := lay.items[i]
			label = col.item.Label
			if col.item.Unit != "" {
				label += " (" + col.item.Unit + ")"
			}
			decode = col.decode(v.Value)
		}
		c.row(w, []string{label, types.ItemName(v.Item, v.Repeat), casebookValue(v.Value, v.MissingText()), decode}, "", false)
	}

	c.subheading("Change history")
	hw := []float64{40, 18, 61, 61}
	var changes []change
	if err := d.formVersions(rec, key, func(prev, v *types.FormRecord, vkey string) error {
		c.row([]float64{cbWidth}, []string{fmt.Sprintf("Version %d, %s. Reason for change: %s. Ledger key %s", v.Version, stampText(v.Stamp), reasonText(v), vkey)}, "B", false)
		changes = diff(prev, v, changes)
		if len(changes) > 0 {
			c.row(hw, []string{"Item", "Change", "Old value", "New value"}, "I", false)
		}
		for _, ch := range changes {
			d.sum.Audit++
			c.row(hw, []string{types.ItemName(ch.item, ch.repeat), ch.action, casebookValue(ch.old, ch.oldMissing), casebookValue(ch.new, ch.newMissing)}, "", false)
		}
		return nil
	}); err != nil {
		return err
	}

	var sdv types.SDVRecord
	sdvKey := types.KeySDV(rec.FormKey)
	ok, err := d.r.GetJSON(d.ctx, sdvKey, &sdv)
	if err != nil || !ok {
		return err
	}
	d.tick(1)
	c.subheading("Source data verification: " + string(sdv.Status))
	sw := []float64{10, 20, 70, 80}
	c.row(sw, []string{"Step", "Action", "Items, form version, comment", "By"}, "I", false)
	for i, ev := range sdv.History {
		c.row(sw, []string{strconv.Itoa(i + 1), ev.Action,
			strings.Join(ev.Items, ", ") + "; form version " + strconv.Itoa(ev.FormVersion) + "; values SHA-256 " + ev.ValuesHash + commentText(ev.Comment),
			stampText(ev.Stamp)}, "", false)
	}
	c.note("Ledger key " + string(sdvKey))
	return nil
}

// casebookValue is a value as a casebook prints it: the value, or its
// missing-data code and reason ("missing ND: sample haemolysed").
func casebookValue(value, missing string) string {
	if missing != "" {
		return "missing " + missing
	}
	return value
}

func commentText(s string) string {
	if s == "" {
		return ""
	}
	return "; comment: " + s
}

// query writes one query's thread.
func (c *casebookDoc) query(q *types.Query, key string) {
	where := fmt.Sprintf("event %s, repeat %d, form %s", q.Event, q.EventRepeat, q.Form)
	if q.Item != "" {
		where += ", item " + types.ItemName(q.Item, q.ItemRepeat)
	}
	raised := "raised by " + q.RaisedBy
	if q.Check != "" {
		raised += " (edit check " + q.Check + ")"
	}
	c.row([]float64{cbWidth}, []string{fmt.Sprintf("Query %d (%s) on %s, %s. Ledger key %s", q.Number, q.Status, where, raised, key)}, "B", false)
	w := []float64{10, 20, 70, 80}
	c.row(w, []string{"Step", "Action", "Text", "By"}, "I", false)
	for i, m := range q.Thread {
		text := m.Text
		if m.FormVersion > 0 {
			text += " (form version " + strconv.Itoa(m.FormVersion) + ")"
		}
		c.row(w, []string{strconv.Itoa(i + 1), m.Action, text, stampText(m.Stamp)}, "", false)
	}
}

// signature writes one e-signature.
func (c *casebookDoc) signature(s *types.Signature, key string) {
	var covered []string
	for _, f := range s.Forms {
		covered = append(covered, fmt.Sprintf("%s/%d/%s v%d", f.Event, f.EventRepeat, f.Form, f.Version))
	}
	scope := s.Level
	if s.Event != "" {
		scope += fmt.Sprintf(", event %s, repeat %d", s.Event, s.EventRepeat)
	}
	if s.Form != "" {
		scope += ", form " + s.Form
	}
	c.subheading(fmt.Sprintf("Signature %d", s.Number))
	kv := [][2]string{
		{"Level", scope},
		{"Signed by", fmt.Sprintf("%s (%s, %s, %s)", s.PrintedName, s.Account, s.Role, s.Signed.Org)},
		{"Meaning", s.Meaning},
		{"Signed (UTC)", s.SignedAt},
		{"Attestation", s.Statement},
		{"Validity", string(s.Status)},
	}
	if inv := s.Invalidated; inv != nil {
		kv = append(kv, [2]string{"Invalidated", fmt.Sprintf("%s: %s (%s/%d/%s version %d), block %d, tx %s", inv.Stamp.Time, inv.Reason, inv.Event, inv.EventRepeat, inv.Form, inv.FormVersion, inv.Stamp.Height, inv.Stamp.TxHash)})
	}
	kv = append(kv,
		[2]string{"SHA-256 of the signed content", s.ContentHash},
		[2]string{"Form versions covered", strings.Join(covered, "; ")},
		[2]string{"Transaction", fmt.Sprintf("block %d, tx %s", s.Signed.Height, s.Signed.TxHash)},
		[2]string{"Ledger key", key})
	c.pairs(kv)
}

// stampText says who did something, when, and where on the chain.
func stampText(s types.Stamp) string {
	return fmt.Sprintf("%s by %s (%s, %s, %s), block %d, tx %s", s.Time, s.Name, s.Signer, s.Org, s.Role, s.Height, s.TxHash)
}

// title, heading, subheading and note write a line of text (wrapped).
func (c *casebookDoc) title(s string) {
	c.text(s, "B", 14, 7)
}

func (c *casebookDoc) heading(s string) {
	c.space(4 + 5.5 + 4*cbLine) // kept with what follows
	c.pdf.Ln(4)
	c.text(s, "B", 11, 5.5)
}

func (c *casebookDoc) subheading(s string) {
	c.space(2 + 4.5 + 3*cbLine)
	c.pdf.Ln(2)
	c.text(s, "B", 9, 4.5)
}

func (c *casebookDoc) note(s string) {
	c.text(s, "I", cbBody, cbLine)
}

func (c *casebookDoc) text(s, style string, size, lh float64) {
	c.lines(pdfText(s), style, size, lh)
}

// lines writes text already encoded for the core fonts, wrapped.
func (c *casebookDoc) lines(s, style string, size, lh float64) {
	p := c.pdf
	p.SetFont(cbFont, style, size)
	for _, l := range p.SplitLines([]byte(s), cbWidth) {
		c.space(lh)
		p.CellFormat(cbWidth, lh, string(l), "", 2, "L", false, 0, "")
	}
}

// space starts a new page unless h millimetres are left on this one.
func (c *casebookDoc) space(h float64) {
	if c.pdf.GetY()+h > cbBottom {
		c.pdf.AddPage()
	}
}

// pairs writes label, value rows.
func (c *casebookDoc) pairs(kv [][2]string) {
	for _, p := range kv {
		c.row([]float64{48, cbWidth - 48}, []string{p[0], p[1]}, "", false)
	}
}

// row writes one table row: each cell's text wrapped to its column width,
// line by line so that a row longer than a page continues on the next,
// then a rule. style is the font style ("B" bold, "I" italic); fill
// shades the row.
func (c *casebookDoc) row(widths []float64, cells []string, style string, fill bool) {
	p := c.pdf
	p.SetFont(cbFont, style, cbBody)
	p.SetFillColor(232, 236, 242)
	lines := make([][][]byte, len(cells))
	n := 1
	for i, s := range cells {
		lines[i] = p.SplitLines([]byte(pdfText(s)), widths[i])
		n = max(n, len(lines[i]))
	}
	for l := 0; l < n; l++ {
		c.space(cbLine)
		x := cbMargin
		for i, w := range widths {
			var t string
			if l < len(lines[i]) {
				t = string(lines[i][l])
			}
			p.SetX(x)
			p.CellFormat(w, cbLine, t, "", 0, "L", fill, 0, "")
			x += w
		}
		p.Ln(cbLine)
	}
	p.SetDrawColor(210, 210, 210)
	p.Line(cbMargin, p.GetY(), cbMargin+cbWidth, p.GetY())
}

// pdfText encodes text for the PDF core fonts (Windows-1252): a character
// the encoding has is written as its byte; a line feed stays a line
// break; every other character (controls, and any character outside
// Windows-1252) is written \uXXXX (\UXXXXXXXX beyond U+FFFF), a byte
// that is not UTF-8 \xHH, and a backslash \\, so that no character is
// lost and the printed text reads back unambiguously.
func pdfText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteByte('\n')
		case r < 0x20 || (r >= 0x7F && r < 0xA0):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			if e, ok := charmap.Windows1252.EncodeRune(r); ok {
				b.WriteByte(e)
			} else if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
		}
		i += size
	}
	return b.String()
}
