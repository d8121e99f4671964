package protocol

// FormValues supplies one subject's form instances to CrossFormLookup: the
// values held for form at event and eventRepeat, and whether the subject
// has that instance at all. The ledger supplies its stored records; an
// offline check supplies what the ledger will hold once its forms are in.
// It must be deterministic.
type FormValues func(event string, eventRepeat int, form string) (values []ItemValue, ok bool)

// CrossFormLookup returns the Lookup with which Validate reads items of a
// subject's other forms, for a form instance at event and eventRepeat.
// The rule, which the ledger applies and an offline check must predict:
// an item is read from its form's instance at the same event and event
// repeat when the subject has one (even where the schedule no longer
// collects the form), otherwise from repeat 1 of the first event in
// schedule order that collects the form (never the latest entered). Its
// value is the item's first non-empty value in the order the instance
// holds them: in stored (canonical) order, the lowest row of a repeating
// group that has one. An item of no form, an item without a value and
// an item of a form the subject has at none of those places have no
// value. Each form is read from forms at most once per Lookup.
func (c *Compiled) CrossFormLookup(event string, eventRepeat int, forms FormValues) Lookup {
	read := map[string][]ItemValue{}
	return func(oid string) (string, bool) {
		ci, ok := c.items[oid]
		if !ok {
			return "", false
		}
		form := ci.form.form.OID
		vals, ok := read[form]
		if !ok {
			vals = c.crossFormValues(event, eventRepeat, form, forms)
			read[form] = vals
		}
		for _, v := range vals {
			if v.Item == oid && v.Value != "" {
				return v.Value, true
			}
		}
		return "", false
	}
}

// crossFormValues finds the instance of form that CrossFormLookup reads.
func (c *Compiled) crossFormValues(event string, eventRepeat int, form string, forms FormValues) []ItemValue {
	if vals, ok := forms(event, eventRepeat, form); ok {
		return vals
	}
	for _, ev := range c.p.Events {
		if !c.FormInEvent(ev.OID, form) {
			continue
		}
		if vals, ok := forms(ev.OID, 1, form); ok {
			return vals
		}
	}
	return nil
}
