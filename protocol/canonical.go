package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Normalize puts p in canonical shape in place: strings trimmed, enum
// values and hashes lower-cased, Event.Type defaulted to "scheduled",
// empty ranges dropped, nil slices made empty and code lists sorted by OID,
// so that protocols that differ only in spelling of "nothing" compare equal.
func Normalize(p *Protocol) {
	if p == nil {
		return
	}
	s := &p.Study
	s.ID = strings.TrimSpace(s.ID)
	s.Version = strings.TrimSpace(s.Version)
	s.Title = strings.TrimSpace(s.Title)
	s.Phase = strings.TrimSpace(s.Phase)
	s.Sponsor = strings.TrimSpace(s.Sponsor)
	s.ProtocolDocSHA256 = strings.ToLower(strings.TrimSpace(s.ProtocolDocSHA256))
	s.SAPSHA256 = strings.ToLower(strings.TrimSpace(s.SAPSHA256))
	s.SubjectIDPattern = strings.TrimSpace(s.SubjectIDPattern)
	s.AnchorEvent = strings.TrimSpace(s.AnchorEvent)
	s.ConsentVersion = strings.TrimSpace(s.ConsentVersion)
	s.Reconsent = strings.ToLower(strings.TrimSpace(s.Reconsent))
	s.PrimaryOutcomes = normOutcomes(s.PrimaryOutcomes)
	s.SecondaryOutcomes = normOutcomes(s.SecondaryOutcomes)
	if s.Arms == nil {
		s.Arms = []Arm{}
	}
	for i := range s.Arms {
		a := &s.Arms[i]
		a.OID = strings.TrimSpace(a.OID)
		a.Name = strings.TrimSpace(a.Name)
		a.Description = strings.TrimSpace(a.Description)
	}
	if p.Events == nil {
		p.Events = []Event{}
	}
	for i := range p.Events {
		e := &p.Events[i]
		e.OID = strings.TrimSpace(e.OID)
		e.Name = strings.TrimSpace(e.Name)
		e.Type = EventType(strings.ToLower(strings.TrimSpace(string(e.Type))))
		if e.Type == "" {
			e.Type = EventScheduled
		}
		e.Forms = trimAll(e.Forms)
		e.VisitDate = strings.TrimSpace(e.VisitDate)
	}
	if p.Forms == nil {
		p.Forms = []Form{}
	}
	for i := range p.Forms {
		normForm(&p.Forms[i])
	}
	if p.CodeLists == nil {
		p.CodeLists = []CodeList{}
	}
	for i := range p.CodeLists {
		c := &p.CodeLists[i]
		c.OID = strings.TrimSpace(c.OID)
		c.Name = strings.TrimSpace(c.Name)
		if c.Items == nil {
			c.Items = []CodeItem{}
		}
		for j := range c.Items {
			c.Items[j].Code = strings.TrimSpace(c.Items[j].Code)
			c.Items[j].Decode = strings.TrimSpace(c.Items[j].Decode)
		}
	}
	sort.SliceStable(p.CodeLists, func(i, j int) bool { return p.CodeLists[i].OID < p.CodeLists[j].OID })
	if len(p.MissingCodes) == 0 {
		p.MissingCodes = nil
	}
	for i := range p.MissingCodes {
		p.MissingCodes[i].Code = strings.TrimSpace(p.MissingCodes[i].Code)
		p.MissingCodes[i].Decode = strings.TrimSpace(p.MissingCodes[i].Decode)
	}
	normRandomization(p.Randomization)
}

func normOutcomes(os []Outcome) []Outcome {
	if os == nil {
		return []Outcome{}
	}
	for i := range os {
		os[i].Measure = strings.TrimSpace(os[i].Measure)
		os[i].TimeFrame = strings.TrimSpace(os[i].TimeFrame)
		os[i].Description = strings.TrimSpace(os[i].Description)
	}
	return os
}

func normForm(f *Form) {
	f.OID = strings.TrimSpace(f.OID)
	f.Name = strings.TrimSpace(f.Name)
	f.SeriousItem = strings.TrimSpace(f.SeriousItem)
	if f.Groups == nil {
		f.Groups = []ItemGroup{}
	}
	for i := range f.Groups {
		g := &f.Groups[i]
		g.OID = strings.TrimSpace(g.OID)
		g.Name = strings.TrimSpace(g.Name)
		if g.Items == nil {
			g.Items = []Item{}
		}
		for j := range g.Items {
			normItem(&g.Items[j])
		}
	}
	if len(f.Checks) == 0 {
		f.Checks = nil
	}
	for i := range f.Checks {
		c := &f.Checks[i]
		c.OID = strings.TrimSpace(c.OID)
		c.Condition = strings.TrimSpace(c.Condition)
		c.Severity = Severity(strings.ToLower(strings.TrimSpace(string(c.Severity))))
		c.Message = strings.TrimSpace(c.Message)
		c.Items = trimAll(c.Items)
	}
}

func normItem(it *Item) {
	it.OID = strings.TrimSpace(it.OID)
	it.Label = strings.TrimSpace(it.Label)
	it.Type = DataType(strings.ToLower(strings.TrimSpace(string(it.Type))))
	it.Unit = strings.TrimSpace(it.Unit)
	it.CodeList = strings.TrimSpace(it.CodeList)
	it.Hard = normRange(it.Hard)
	it.Soft = normRange(it.Soft)
	it.ShowIf = strings.TrimSpace(it.ShowIf)
	it.Section = strings.TrimSpace(it.Section)
	it.Note = strings.TrimSpace(it.Note)
	it.Annotation = strings.TrimSpace(it.Annotation)
	// A derivation is kept in canonical form, so that its spelling does
	// not change the fingerprint (REDCap and workbook round trips).
	it.Derive = strings.TrimSpace(it.Derive)
	if d, err := ParseDerivation(it.Derive); err == nil && it.Derive != "" {
		it.Derive = d.String()
	}
	if len(it.Missing) == 0 {
		it.Missing = nil
	}
	for i := range it.Missing {
		it.Missing[i] = strings.TrimSpace(it.Missing[i])
	}
}

func normRange(r *Range) *Range {
	if r == nil {
		return nil
	}
	r.Min = strings.TrimSpace(r.Min)
	r.Max = strings.TrimSpace(r.Max)
	if r.Min == "" && r.Max == "" {
		return nil
	}
	return r
}

func trimAll(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	for i := range ss {
		ss[i] = strings.TrimSpace(ss[i])
	}
	return ss
}

// Clone returns a deep copy of p.
func Clone(p *Protocol) *Protocol {
	if p == nil {
		return nil
	}
	c := *p
	c.Study.PrimaryOutcomes = append([]Outcome(nil), p.Study.PrimaryOutcomes...)
	c.Study.SecondaryOutcomes = append([]Outcome(nil), p.Study.SecondaryOutcomes...)
	c.Study.Arms = append([]Arm(nil), p.Study.Arms...)
	c.Events = make([]Event, len(p.Events))
	for i, e := range p.Events {
		e.Forms = append([]string(nil), e.Forms...)
		c.Events[i] = e
	}
	c.Forms = make([]Form, len(p.Forms))
	for i, f := range p.Forms {
		nf := f
		nf.Groups = make([]ItemGroup, len(f.Groups))
		for j, g := range f.Groups {
			ng := g
			ng.Items = make([]Item, len(g.Items))
			for k, it := range g.Items {
				if it.Hard != nil {
					h := *it.Hard
					it.Hard = &h
				}
				if it.Soft != nil {
					s := *it.Soft
					it.Soft = &s
				}
				it.Missing = slices.Clone(it.Missing)
				ng.Items[k] = it
			}
			nf.Groups[j] = ng
		}
		if f.Checks != nil {
			nf.Checks = make([]EditCheck, len(f.Checks))
			for j, ch := range f.Checks {
				ch.Items = append([]string(nil), ch.Items...)
				nf.Checks[j] = ch
			}
		}
		c.Forms[i] = nf
	}
	c.CodeLists = make([]CodeList, len(p.CodeLists))
	for i, cl := range p.CodeLists {
		cl.Items = append([]CodeItem(nil), cl.Items...)
		c.CodeLists[i] = cl
	}
	c.MissingCodes = slices.Clone(p.MissingCodes)
	c.Randomization = cloneRandomization(p.Randomization)
	return &c
}

// Normalized returns a normalized deep copy of p; p is not modified.
func Normalized(p *Protocol) *Protocol {
	c := Clone(p)
	if c == nil {
		c = &Protocol{}
	}
	Normalize(c)
	return c
}

// Canonical returns the canonical JSON encoding of p: the encoding/json
// form of a normalized copy, without HTML escaping or trailing newline.
// p itself is not modified.
func (p *Protocol) Canonical() ([]byte, error) {
	c := Normalized(p)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Fingerprint returns the lower-case hex SHA-256 of p's canonical form:
// two protocols with the same fingerprint define the same trial.
func (p *Protocol) Fingerprint() (string, error) {
	b, err := p.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
