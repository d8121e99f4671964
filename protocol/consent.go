package protocol

import "strconv"

// compileConsent checks what the protocol says of consent and safety: the
// re-consent rule is one of its two values, and a form's seriousness item
// is a yes/no item of that form.
func (k *compiler) compileConsent() {
	p := k.c.p
	switch p.Study.Reconsent {
	case "", ReconsentRefuse, ReconsentFlag:
	default:
		k.add("study.reconsent", "", "unknown re-consent rule "+strconv.Quote(p.Study.Reconsent), "use refuse (forms wait for re-consent) or flag (forms are accepted and flagged)")
	}
	for fi := range p.Forms {
		f := &p.Forms[fi]
		if f.SeriousItem == "" {
			continue
		}
		path := idx("forms", fi) + ".serious_item"
		ci, ok := k.c.items[f.SeriousItem]
		switch {
		case !ok || ci.form.form != f:
			k.add(path, f.OID, "the seriousness item "+strconv.Quote(f.SeriousItem)+" is not an item of form "+f.OID, "name a yes/no item of the form, e.g. AE.SER")
		case ci.item.Type != TypeYesNo:
			k.add(path, f.OID, "the seriousness item "+f.SeriousItem+" is of type "+string(ci.item.Type)+", not yesno", "name a yes/no item of the form")
		}
	}
}

// SafetyForm reports whether form is one the protocol marks as a safety
// form or as the end-of-study form.
func (c *Compiled) SafetyForm(form string) (safety, endOfStudy bool) {
	cf, ok := c.forms[form]
	if !ok {
		return false, false
	}
	return cf.form.Safety, cf.form.EndOfStudy
}

// SeriousRows returns, for a form with a seriousness item, the rows
// (repeats, 0 outside a repeating group) whose seriousness item is yes in
// values, in the order of values; nil for any other form.
func (c *Compiled) SeriousRows(form string, values []ItemValue) []int {
	cf, ok := c.forms[form]
	if !ok || cf.form.SeriousItem == "" {
		return nil
	}
	var rows []int
	for _, v := range values {
		if v.Item == cf.form.SeriousItem && v.Value == "1" {
			rows = append(rows, v.Repeat)
		}
	}
	return rows
}

// SeriousRow returns the values of row row of the group that holds form's
// seriousness item (the adverse event's own row), in the order of values;
// nil for a form without one.
func (c *Compiled) SeriousRow(form string, values []ItemValue, row int) []ItemValue {
	cf, ok := c.forms[form]
	if !ok || cf.form.SeriousItem == "" {
		return nil
	}
	si := c.items[cf.form.SeriousItem]
	var out []ItemValue
	for _, v := range values {
		if ci, ok := c.items[v.Item]; ok && ci.form == cf && ci.group == si.group && v.Repeat == row {
			out = append(out, v)
		}
	}
	return out
}
