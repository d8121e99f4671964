package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Randomization says when a subject may be randomised and which stratum
// the subject falls in. A subject is eligible when the eligibility form is
// entered at the eligibility event (its required items complete and its
// hard checks passed, as the ledger refuses any other entry) and its
// eligibility item is yes. The stratum is one level of each factor, in
// factor order, joined by StratumSep: the subject's site for a site
// factor, the band a baseline value falls in for an item factor.
// docs/RANDOMIZATION.md describes the rules.
type Randomization struct {
	// Event and Form name where the eligibility form is entered, Item the
	// yes/no item that must be yes ("1").
	Event string `json:"event" yaml:"event"`
	Form  string `json:"form" yaml:"form"`
	Item  string `json:"item" yaml:"item"`
	// Strata are the stratification factors, in order; none means one
	// stratum for the whole study (StratumAll).
	Strata []Factor `json:"strata,omitempty" yaml:"strata,omitempty"`
}

// Factor is one stratification factor: the subject's site when Site is
// true, otherwise the band of Item (integer or decimal, outside repeating
// groups) as entered at Event.
type Factor struct {
	Name  string `json:"name" yaml:"name"`
	Site  bool   `json:"site,omitempty" yaml:"site,omitempty"`
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
	Item  string `json:"item,omitempty" yaml:"item,omitempty"`
	Bands []Band `json:"bands,omitempty" yaml:"bands,omitempty"`
}

// Band is one level of an item factor: the values from Min (inclusive)
// to Max (exclusive); an empty bound is open. Bands of a factor are in
// ascending order, each starting where the previous one ends.
type Band struct {
	Code string `json:"code" yaml:"code"`
	Min  string `json:"min,omitempty" yaml:"min,omitempty"`
	Max  string `json:"max,omitempty" yaml:"max,omitempty"`
}

// StratumSep joins the levels of a stratum ("site1+SBP160"); it is not a
// character of any identifier or band code, so a stratum reads back one
// way.
const StratumSep = "+"

// StratumAll is the one stratum of a study randomised without factors.
const StratumAll = "all"

func normRandomization(r *Randomization) {
	if r == nil {
		return
	}
	r.Event = strings.TrimSpace(r.Event)
	r.Form = strings.TrimSpace(r.Form)
	r.Item = strings.TrimSpace(r.Item)
	if len(r.Strata) == 0 {
		r.Strata = nil
	}
	for i := range r.Strata {
		f := &r.Strata[i]
		f.Name = strings.TrimSpace(f.Name)
		f.Event = strings.TrimSpace(f.Event)
		f.Item = strings.TrimSpace(f.Item)
		if len(f.Bands) == 0 {
			f.Bands = nil
		}
		for j := range f.Bands {
			b := &f.Bands[j]
			b.Code = strings.TrimSpace(b.Code)
			b.Min = strings.TrimSpace(b.Min)
			b.Max = strings.TrimSpace(b.Max)
		}
	}
}

func cloneRandomization(r *Randomization) *Randomization {
	if r == nil {
		return nil
	}
	c := *r
	c.Strata = slices.Clone(r.Strata)
	for i := range c.Strata {
		c.Strata[i].Bands = slices.Clone(c.Strata[i].Bands)
	}
	return &c
}

// validCode reports whether s is a usable band code or arm OID in a
// stratum or an allocation list: 1 to 32 characters from A-Z a-z 0-9 . _ -.
func validCode(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// compileRandomization checks the randomisation section: arms to allocate,
// an eligibility yes/no item on the form the eligibility event collects,
// and factors that give each subject one level.
func (k *compiler) compileRandomization() {
	p := k.c.p
	r := p.Randomization
	if r == nil {
		return
	}
	const path = "randomization"
	if len(p.Study.Arms) < 2 {
		k.add("study.arms", "", "randomisation needs at least two arms", "list the study's arms under study.arms")
	}
	arms := map[string]bool{}
	for i, a := range p.Study.Arms {
		switch {
		case !validCode(a.OID):
			k.add(idx("study.arms", i)+".oid", a.OID, "arm OID "+strconv.Quote(a.OID)+" cannot name an allocation", "use 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-', e.g. ARM.PBO")
		case arms[a.OID]:
			k.add(idx("study.arms", i)+".oid", a.OID, "arm "+a.OID+" is listed twice", "give each arm its own OID")
		}
		arms[a.OID] = true
	}
	if r.Form == "" {
		k.add(path+".form", "", "the randomisation section names no eligibility form", "name the form that records eligibility, e.g. IE")
	}
	k.randItem(path, r.Event, r.Form, r.Item, "eligibility", func(it *Item) string {
		if it.Type != TypeYesNo {
			return "is of type " + string(it.Type) + ", not yesno"
		}
		return ""
	})
	names := map[string]bool{}
	sites := 0
	for i, f := range r.Strata {
		fp := idx(path+".strata", i)
		if !validCode(f.Name) || names[f.Name] {
			k.add(fp+".name", f.Name, "stratification factor name "+strconv.Quote(f.Name)+" is empty, invalid or repeated", "name each factor once, e.g. site or SBP")
		}
		names[f.Name] = true
		if f.Site {
			sites++
			if f.Event != "" || f.Item != "" || f.Bands != nil {
				k.add(fp, f.Name, "a site factor takes its levels from the subject's site", "drop event, item and bands, or set site to false")
			}
			continue
		}
		var form string
		if _, frm, ok := k.c.Item(f.Item); ok {
			form = frm
		}
		k.randItem(fp, f.Event, form, f.Item, "stratification", func(it *Item) string {
			if it.Type != TypeInteger && it.Type != TypeDecimal {
				return "is of type " + string(it.Type) + ", not integer or decimal"
			}
			return ""
		})
		k.checkBands(fp, f)
	}
	if sites > 1 {
		k.add(path+".strata", "", "more than one site factor", "keep one site factor")
	}
}

// randItem checks that item is an item of form outside repeating groups and
// that event collects form; bad says what is wrong with the item's type.
func (k *compiler) randItem(path, event, form, item, what string, bad func(*Item) string) {
	ci, ok := k.c.items[item]
	switch {
	case !ok:
		k.add(path+".item", item, what+" item "+strconv.Quote(item)+" is not in the protocol", "name an item of the form entered at the event")
	case form != "" && ci.form.form.OID != form:
		k.add(path+".item", item, what+" item "+item+" is on form "+ci.form.form.OID+", not "+form, "name an item of form "+form)
	case ci.form.groups[ci.group].repeating:
		k.add(path+".item", item, what+" item "+item+" is in a repeating group, which holds several values", "name an item outside repeating groups")
	case bad(ci.item) != "":
		k.add(path+".item", item, what+" item "+item+" "+bad(ci.item), "name an item of the right type")
	case !k.c.FormInEvent(event, ci.form.form.OID):
		k.add(path+".event", event, "event "+strconv.Quote(event)+" does not collect form "+ci.form.form.OID, "name the event at which the form is entered, e.g. SCR")
	}
}

// checkBands checks that a factor's bands cover its values once, in
// ascending order.
func (k *compiler) checkBands(path string, f Factor) {
	if len(f.Bands) < 2 {
		k.add(path+".bands", f.Name, "an item factor needs at least two bands", "list the bands, e.g. below 160 and from 160")
		return
	}
	codes := map[string]bool{}
	for i, b := range f.Bands {
		bp := idx(path+".bands", i)
		if !validCode(b.Code) || codes[b.Code] {
			k.add(bp+".code", b.Code, "band code "+strconv.Quote(b.Code)+" is empty, invalid or repeated", "give each band its own code of 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-'")
		}
		codes[b.Code] = true
		first, last := i == 0, i == len(f.Bands)-1
		if (b.Min == "") != first || (b.Max == "") != last {
			k.add(bp, b.Code, "only the first band is open below and only the last open above", "leave min empty on the first band and max empty on the last, and bound every other side")
			continue
		}
		for _, bound := range []string{b.Min, b.Max} {
			if _, ok := parseDecimal(bound); bound != "" && !ok {
				k.add(bp, b.Code, "band bound "+strconv.Quote(bound)+" is not a number", "write the bound as a decimal, e.g. 160")
			}
		}
		if !first && b.Min != f.Bands[i-1].Max {
			k.add(bp+".min", b.Code, "band "+b.Code+" does not start where the band before it ends ("+f.Bands[i-1].Max+")", "set min to the previous band's max, so every value falls in one band")
		}
		if lo, ok1 := parseDecimal(b.Min); ok1 && b.Max != "" {
			if hi, ok2 := parseDecimal(b.Max); ok2 && lo.Cmp(hi) >= 0 {
				k.add(bp, b.Code, "band "+b.Code+" is empty: min "+b.Min+" is not below max "+b.Max, "give the band a min below its max")
			}
		}
	}
}

// Randomization returns the protocol's randomisation section; nil when
// the study is not randomised on the ledger.
func (c *Compiled) Randomization() *Randomization { return c.p.Randomization }

// ValueAt returns, for Stratum, the value a subject has for item as
// entered at event; ok is false when there is none.
type ValueAt func(event, item string) (value string, ok bool)

// Stratum returns the stratum of a subject of site whose values value
// gives: one level per factor, joined by StratumSep. missing names the
// factor whose item has no value yet (empty on success).
func (r *Randomization) Stratum(site string, value ValueAt) (stratum, missing string) {
	if len(r.Strata) == 0 {
		return StratumAll, ""
	}
	levels := make([]string, len(r.Strata))
	for i, f := range r.Strata {
		if f.Site {
			levels[i] = site
			continue
		}
		v, ok := value(f.Event, f.Item)
		d, okd := parseDecimal(v)
		if !ok || !okd {
			return "", f.Name + " (" + f.Item + " at " + f.Event + ")"
		}
		levels[i] = f.band(d)
	}
	return strings.Join(levels, StratumSep), ""
}

// band returns the code of the band d falls in.
func (f Factor) band(d Decimal) string {
	for _, b := range f.Bands[:len(f.Bands)-1] {
		if hi, _ := parseDecimal(b.Max); d.Cmp(hi) < 0 {
			return b.Code
		}
	}
	return f.Bands[len(f.Bands)-1].Code
}

// AllStrata lists every stratum of the study when its sites are sites, in
// factor and level order.
func (r *Randomization) AllStrata(sites []string) []string {
	out := []string{""}
	for _, f := range r.Strata {
		levels := sites
		if !f.Site {
			levels = nil
			for _, b := range f.Bands {
				levels = append(levels, b.Code)
			}
		}
		var next []string
		for _, prefix := range out {
			for _, l := range levels {
				if prefix != "" {
					l = prefix + StratumSep + l
				}
				next = append(next, l)
			}
		}
		out = next
	}
	if len(r.Strata) == 0 {
		return []string{StratumAll}
	}
	return out
}

// ValidStratum reports whether stratum is one the factors can give, with
// site standing for any valid site level.
func (r *Randomization) ValidStratum(stratum string, site func(string) bool) bool {
	if len(r.Strata) == 0 {
		return stratum == StratumAll
	}
	levels := strings.Split(stratum, StratumSep)
	if len(levels) != len(r.Strata) {
		return false
	}
	for i, f := range r.Strata {
		if f.Site {
			if !site(levels[i]) {
				return false
			}
			continue
		}
		if !slices.ContainsFunc(f.Bands, func(b Band) bool { return b.Code == levels[i] }) {
			return false
		}
	}
	return true
}

// diffRandomization reports a change of the randomisation section as one
// change: its eligibility rule and strata decide which list entry each
// later subject takes.
func (d *differ) randomization(o, n *Protocol) {
	os, ns := RandomizationJSON(o.Randomization), RandomizationJSON(n.Randomization)
	switch {
	case os == ns:
	case o.Randomization == nil:
		d.add(Change{Kind: Added, What: "randomization", OID: "randomization", New: ns, Impact: impactRandomization})
	case n.Randomization == nil:
		d.add(Change{Kind: Removed, What: "randomization", OID: "randomization", Old: os, Impact: impactRandomization})
	default:
		d.add(Change{Kind: Changed, What: "randomization", OID: "randomization", Field: "rule", Old: os, New: ns, Impact: impactRandomization})
	}
}

const impactRandomization = "randomisation: subjects randomised from now on are checked and stratified by it; a stratum it adds needs its allocation list registered"

// RandomizationJSON is r's JSON on one line, "" for none: how a
// spreadsheet cell and a change report carry the section.
func RandomizationJSON(r *Randomization) string {
	if r == nil {
		return ""
	}
	bz, _ := json.Marshal(r) // plain strings, bools and slices: cannot fail
	return string(bz)
}

// ParseRandomizationJSON reads what RandomizationJSON writes; "" is none.
// Unknown keys are refused.
func ParseRandomizationJSON(s string) (*Randomization, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var r Randomization
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("randomisation section: %w", err)
	}
	if dec.More() {
		return nil, errors.New("randomisation section: text after the JSON object")
	}
	return &r, nil
}
