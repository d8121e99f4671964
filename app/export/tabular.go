package export

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// tableOrder is the order of the tables (workbook sheets): provenance
// first, subjects and their consent history, one per form, then the
// trails, the SAE records, the protocol deviations, the delegation log,
// the dictionary and the record list.
func (d *dataset) tableOrder() []string {
	out := []string{tProvenance[0], tSubjects[0], tConsent[0]}
	for _, f := range d.forms {
		out = append(out, formTableID(f))
	}
	return append(out, tAudit[0], tQueries[0], tSignatures[0], tSDV[0], tSafety[0], tDeviations[0], tAllocations[0], tDelegations[0], tDictionary[0], tRecords[0])
}

// writeTables writes every table of the export into b: the record list
// first (it computes the digest), then the data, then provenance.
func (d *dataset) writeTables(b book) error {
	if err := d.recordsTable(b); err != nil {
		return err
	}
	d.startPhase("data", d.dataRecords)
	consent, err := d.subjectsTable(b)
	if err != nil {
		return err
	}
	if err := writeRows(b, tConsent, consentCols, consent); err != nil {
		return err
	}
	if err := d.formTables(b); err != nil {
		return err
	}
	if err := d.queriesTable(b); err != nil {
		return err
	}
	if err := d.signaturesTable(b); err != nil {
		return err
	}
	if err := d.sdvTable(b); err != nil {
		return err
	}
	if err := d.safetyTable(b); err != nil {
		return err
	}
	if err := d.deviationsTable(b); err != nil {
		return err
	}
	if err := d.allocationsTable(b); err != nil {
		return err
	}
	if err := d.delegationsTable(b); err != nil {
		return err
	}
	d.endPhase()
	t, err := b.table(tDictionary[0], tDictionary[1], dictionaryCols, 0)
	if err != nil {
		return err
	}
	if err := d.dictionaryRows(t.row); err != nil {
		return err
	}
	if err := t.close(); err != nil {
		return err
	}
	return provenanceTable(b, d.provenance())
}

// provenanceTable writes the Provenance table of rows.
func provenanceTable(b book, rows [][2]string) error {
	t, err := b.table(tProvenance[0], tProvenance[1], provenanceCols, 0)
	if err != nil {
		return err
	}
	for _, p := range rows {
		if err := t.row([]cell{txt(p[0]), txt(p[1])}); err != nil {
			return err
		}
	}
	return t.close()
}

// recordsTable lists every exported record (key, value hash) and computes
// the dataset digest.
func (d *dataset) recordsTable(b book) error {
	t, err := b.table(tRecords[0], tRecords[1], recordCols, 0)
	if err != nil {
		return err
	}
	dg := newDigester()
	d.startPhase("records", 0)
	row := make([]cell, 2)
	if err := WalkRecords(d.ctx, d.r, d.opt.Study, func(e types.ListEntry) error {
		vh, err := dg.add(e.Key, e.Value)
		if err != nil {
			return err
		}
		row[0], row[1] = txt(e.Key), txt(vh)
		d.listed(e.Key)
		d.tick(1)
		return t.row(row)
	}); err != nil {
		return err
	}
	d.endPhase()
	d.sum.Records, d.sum.Digest = dg.n, dg.sum()
	return t.close()
}

// subjectsTable writes the Subjects table and returns the rows of the
// Consent table.
func (d *dataset) subjectsTable(b book) ([][]cell, error) {
	t, err := b.table(tSubjects[0], tSubjects[1], subjectCols, 1)
	if err != nil {
		return nil, err
	}
	var consent [][]cell
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixSubject+d.opt.Study+"/", func(key string, s *types.Subject) error {
		d.tick(1)
		d.sum.Subjects++
		row := []cell{txt(s.ID), txt(s.Site), txt(string(s.Status)), txt(s.Enrolled.Time), num(s.Enrolled.Height), txt(s.Enrolled.Name),
			txt(s.ConsentVersion), txt(s.ConsentSHA256)}
		if w := s.Withdrawn; w != nil {
			row = append(row, txt(w.Time), num(w.Height), txt(w.Name), txt(s.WithdrawReason))
		} else {
			row = append(row, blank(), blank(), blank(), blank())
		}
		consent = append(consent, consentRows(s, key)...)
		return t.row(append(row, optNum(s.Signatures), txt(key)))
	}); err != nil {
		return nil, err
	}
	return consent, t.close()
}

// formTables streams the current forms once, writing each to its form's
// table and every version's changes to the audit trail. A book that
// keeps one table open at a time (a workbook: each open sheet holds a
// large buffer) gets the form rows spooled to temporary files and
// replayed one form after the other, so memory does not grow with the
// number of forms.
func (d *dataset) formTables(b book) error {
	_, spool := b.(spooler)
	tabs := map[string]table{}
	for _, lay := range d.forms {
		var t table
		var err error
		if spool {
			t, err = newSpool(d.opt.TmpDir)
		} else {
			t, err = b.table(formTableID(lay), formFile(lay), formColumns(lay), 5)
		}
		if err != nil {
			return err
		}
		tabs[lay.oid] = t
	}
	defer func() {
		for _, t := range tabs {
			if s, ok := t.(*spoolFile); ok {
				s.remove()
			}
		}
	}()
	audit, err := b.table(tAudit[0], tAudit[1], auditCols, 0)
	if err != nil {
		return err
	}
	sites := &subjectSite{d: d}
	var buf, arow []cell
	var changes []change
	err = client.ScanJSON(d.ctx, d.r, types.PrefixForm+d.opt.Study+"/", func(key string, rec *types.FormRecord) error {
		d.tick(1)
		d.sum.Forms++
		d.sum.Values += int64(len(rec.Values))
		lay := d.formByID[rec.Form]
		if lay == nil {
			return fmt.Errorf("record %s is of form %s, which no protocol version of study %s defines", key, rec.Form, d.opt.Study)
		}
		site, err := sites.of(rec.Subject)
		if err != nil {
			return err
		}
		if err := formRows(lay, rec, site, key, buf, tabs[lay.oid].row); err != nil {
			return err
		}
		return d.formVersions(rec, key, func(prev, v *types.FormRecord, vkey string) error {
			changes = diff(prev, v, changes)
			for _, c := range changes {
				d.sum.Audit++
				arow = append(arow[:0], txt(v.Subject), txt(v.Event), numi(v.EventRepeat), txt(v.Form), txt(types.ItemName(c.item, c.repeat)),
					txt(c.action), txt(c.old), txt(c.new), txt(c.oldMissing), txt(c.newMissing), numi(v.Version))
				arow = append(arow, stampCells(v.Stamp)...)
				arow = append(arow, txt(reasonText(v)))
				arow = append(arow, chainCells(v.Stamp, vkey)...)
				if err := audit.row(arow); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := audit.close(); err != nil {
		return err
	}
	for _, lay := range d.forms {
		t := tabs[lay.oid]
		if err := t.close(); err != nil {
			return err
		}
		if s, ok := t.(*spoolFile); ok {
			out, err := b.table(formTableID(lay), formFile(lay), formColumns(lay), 5)
			if err != nil {
				return err
			}
			if err := s.replay(out.row); err != nil {
				return err
			}
			if err := out.close(); err != nil {
				return err
			}
			s.remove()
		}
	}
	return nil
}

func formFile(lay *formLayout) string { return "form_" + lay.oid + ".csv" }

// formTablePrefix marks the table ID of a form, so a form named like a
// fixed table ("Subjects") gets its own sheet.
const formTablePrefix = "form:"

func formTableID(lay *formLayout) string { return formTablePrefix + lay.oid }

// tableTitle is the sheet title of a table ID.
func tableTitle(id string) string { return strings.TrimPrefix(id, formTablePrefix) }

// spooler marks a book whose form tables are spooled (see formTables).
type spooler interface{ spool() }

// spoolFile is a table kept in a temporary file: each row is its cell
// count, then per cell its kind and length-prefixed text.
type spoolFile struct {
	f   *os.File
	w   *bufio.Writer
	tmp []byte
}

// newSpool creates a spool file in dir.
func newSpool(dir string) (*spoolFile, error) {
	f, err := os.CreateTemp(dir, "veritrial-export-spool-*")
	if err != nil {
		return nil, err
	}
	return &spoolFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *spoolFile) row(cells []cell) error {
	s.tmp = binary.AppendUvarint(s.tmp[:0], uint64(len(cells)))
	for _, c := range cells {
		s.tmp = append(s.tmp, byte(c.k))
		s.tmp = binary.AppendUvarint(s.tmp, uint64(len(c.s)))
		s.tmp = append(s.tmp, c.s...)
	}
	_, err := s.w.Write(s.tmp)
	return err
}

func (s *spoolFile) close() error { return s.w.Flush() }

// replay reads the rows back into emit.
func (s *spoolFile) replay(emit func([]cell) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 64<<10)
	var cells []cell
	var text []byte
	for {
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		cells = cells[:0]
		for i := uint64(0); i < n; i++ {
			k, err := r.ReadByte()
			if err != nil {
				return err
			}
			l, err := binary.ReadUvarint(r)
			if err != nil {
				return err
			}
			if uint64(cap(text)) < l {
				text = make([]byte, l)
			}
			text = text[:l]
			if _, err := io.ReadFull(r, text); err != nil {
				return err
			}
			cells = append(cells, cell{k: cellKind(k), s: string(text)})
		}
		if err := emit(cells); err != nil {
			return err
		}
	}
}

func (s *spoolFile) remove() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
}

func (d *dataset) queriesTable(b book) error {
	t, err := b.table(tQueries[0], tQueries[1], queryCols, 1)
	if err != nil {
		return err
	}
	var row []cell
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixQuery+d.opt.Study+"/", func(key string, q *types.Query) error {
		d.tick(1)
		for i, m := range q.Thread {
			row = append(row[:0], numi(q.Number), txt(string(q.Status)), txt(q.Subject), txt(q.Site), txt(q.Event), numi(q.EventRepeat),
				txt(q.Form), txt(itemOrBlank(q.Item, q.ItemRepeat)), txt(q.RaisedBy), txt(q.Check), numi(i+1), txt(m.Action), txt(m.Text), optNum(m.FormVersion))
			row = append(row, stampCells(m.Stamp)...)
			row = append(row, chainCells(m.Stamp, key)...)
			if err := t.row(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return t.close()
}

func itemOrBlank(item string, repeat int) string {
	if item == "" {
		return ""
	}
	return types.ItemName(item, repeat)
}

func (d *dataset) signaturesTable(b book) error {
	t, err := b.table(tSignatures[0], tSignatures[1], signatureCols, 1)
	if err != nil {
		return err
	}
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixSignature+d.opt.Study+"/", func(key string, s *types.Signature) error {
		d.tick(1)
		var covered []string
		for _, f := range s.Forms {
			covered = append(covered, fmt.Sprintf("%s/%d/%s v%d", f.Event, f.EventRepeat, f.Form, f.Version))
		}
		row := []cell{numi(s.Number), txt(s.Subject), txt(s.Level), txt(s.Event), optNum(s.EventRepeat), txt(s.Form),
			txt(s.PrintedName), txt(s.Account), txt(string(s.Role)), txt(s.Signed.Org), txt(s.Meaning), txt(s.SignedAt), txt(string(s.Status))}
		if inv := s.Invalidated; inv != nil {
			row = append(row, txt(inv.Stamp.Time), txt(fmt.Sprintf("%s (%s/%d/%s version %d)", inv.Reason, inv.Event, inv.EventRepeat, inv.Form, inv.FormVersion)),
				txt(strconv.FormatInt(inv.Stamp.Height, 10)+"/"+inv.Stamp.TxHash))
		} else {
			row = append(row, blank(), blank(), blank())
		}
		row = append(row, txt(s.ContentHash), txt(strings.Join(covered, "; ")), txt(s.Statement))
		return t.row(append(row, chainCells(s.Signed, key)...))
	}); err != nil {
		return err
	}
	return t.close()
}

func (d *dataset) sdvTable(b book) error {
	t, err := b.table(tSDV[0], tSDV[1], sdvCols, 1)
	if err != nil {
		return err
	}
	var row []cell
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixSDV+d.opt.Study+"/", func(key string, s *types.SDVRecord) error {
		d.tick(1)
		for i, ev := range s.History {
			row = append(row[:0], txt(s.Subject), txt(s.Event), numi(s.EventRepeat), txt(s.Form), txt(string(s.Status)), numi(i+1),
				txt(ev.Action), txt(strings.Join(ev.Items, ", ")), numi(ev.FormVersion), txt(ev.ValuesHash), txt(ev.Comment))
			row = append(row, stampCells(ev.Stamp)...)
			row = append(row, chainCells(ev.Stamp, key)...)
			if err := t.row(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return t.close()
}

// parseDay parses YYYY-MM-DD into a UTC midnight.
func parseDay(s string) (time.Time, bool) {
	if len(s) != 10 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Year() < 1900 {
		return time.Time{}, false
	}
	return t, true
}

// parseDateTime parses YYYY-MM-DDTHH:MM[:SS] as UTC.
func parseDateTime(s string) (time.Time, bool) {
	layout := "2006-01-02T15:04"
	if len(s) == 19 {
		layout = "2006-01-02T15:04:05"
	}
	t, err := time.Parse(layout, s)
	if err != nil || t.Year() < 1900 {
		return time.Time{}, false
	}
	return t, true
}
