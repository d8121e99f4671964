package protocol

import "slices"

// ReadersOf lists the other forms whose show-if conditions, edit checks or
// derivations read an item of form, in protocol order: the forms whose
// verdicts may change when form does.
func (c *Compiled) ReadersOf(form string) []string { return c.readers[form] }

// readers computes ReadersOf for every form of a compiled protocol.
func readers(c *Compiled) map[string][]string {
	out := map[string][]string{}
	for _, f := range c.p.Forms {
		cf := c.forms[f.OID]
		var refs []string
		for _, ci := range cf.items {
			if ci.show != nil {
				refs = append(refs, ci.show.Refs()...)
			}
			if ci.derive != nil {
				refs = append(refs, ci.derive.Refs()...)
			}
		}
		for _, ch := range cf.checks {
			refs = append(refs, ch.cond.Refs()...)
		}
		for _, ref := range refs {
			ci, ok := c.items[ref]
			if !ok || ci.form == cf {
				continue
			}
			read := ci.form.form.OID
			if !slices.Contains(out[read], f.OID) {
				out[read] = append(out[read], f.OID)
			}
		}
	}
	return out
}
