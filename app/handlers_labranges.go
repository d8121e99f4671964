package app

import (
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Reference ranges for lab items: the sponsor's table, the flags of the
// values outside it and the investigator's assessments of them
// (docs/LABRANGES.md).

// setLabRanges registers the next version of a study's reference-range
// table, checked against the protocol version in force.
func (x *exec) setLabRanges(m *types.MsgSetLabRanges) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if s.Sponsor != x.c.org.ID {
		return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; only its sponsor registers its reference ranges", s.ID, s.Sponsor)
	}
	if e := x.guard(s.ID, "", "", nil, false); e != nil {
		return e
	}
	_, c, e := x.protocolVersion(s.ID, s.Current)
	if e != nil {
		return e
	}
	if e := m.LabRanges.CheckAgainst(c); e != nil {
		return e
	}
	s.LabRanges++
	x.st.setJSON(types.KeyLabRanges(s.ID, s.LabRanges), types.LabRangeTable{
		Study: s.ID, Version: s.LabRanges, LabRanges: m.LabRanges,
		ProtocolVersion: s.Current, Reason: m.Reason, Stamp: x.stamp(),
	})
	x.st.setJSON(types.KeyStudy(s.ID), s)
	x.emit("study", s.ID, "lab_ranges", strconv.Itoa(s.LabRanges))
	return nil
}

// labFlags flags the values of form k outside the reference ranges of the
// table in force, judged under c. prev is the form's previous version,
// nil on first entry: a flag whose value it flagged too keeps its Since.
func (x *exec) labFlags(s *types.Study, c *protocol.Compiled, k types.FormKey, values []protocol.ItemValue, version int, prev *types.FormRecord) ([]types.LabFlag, *types.Error) {
	if s.LabRanges == 0 {
		return nil, nil
	}
	t, ok, err := x.a.labTables.get(x.st, types.KeyLabRanges(s.ID, s.LabRanges))
	if err != nil {
		return nil, internal(err)
	} else if !ok {
		return nil, internal(errMissing("reference-range table", s.ID, s.LabRanges))
	}
	ranged := map[string]bool{}
	for _, r := range t.Ranges {
		ranged[r.Item] = true
	}
	if !slices.ContainsFunc(values, func(v protocol.ItemValue) bool { return ranged[v.Item] }) {
		return nil, nil // a form without lab items: no lookup of the subject's other forms
	}
	cross := c.CrossFormLookup(k.Event, k.EventRepeat, x.subjectForms(k))
	lookup := func(oid string) string {
		if oid == "" {
			return ""
		}
		if _, form, ok := c.Item(oid); ok && form == k.Form {
			for _, v := range values {
				if v.Item == oid && v.Value != "" {
					return v.Value
				}
			}
			return ""
		}
		v, _ := cross(oid)
		return v
	}
	var age *protocol.Decimal
	if d, err := protocol.ParseDecimal(lookup(t.AgeItem)); err == nil {
		age = &d
	}
	var flags []types.LabFlag
	for _, v := range values {
		if !ranged[v.Item] {
			continue
		}
		d, err := protocol.ParseDecimal(v.Value)
		if err != nil {
			continue // no value (a missing-data code), or not a number under c
		}
		r := t.RangeFor(v.Item, lookup(t.LabItem), lookup(t.SexItem), age)
		if r == nil {
			continue
		}
		dir := r.Outside(d)
		if dir == "" {
			continue
		}
		f := types.LabFlag{Item: v.Item, Repeat: v.Repeat, Value: v.Value, Low: r.Low, High: r.High, Unit: r.Unit, Direction: dir, Table: t.Version, Since: version}
		if prev != nil {
			for _, p := range prev.LabFlags {
				if p.Item == f.Item && p.Repeat == f.Repeat && p.Value == f.Value {
					f.Since = p.Since
				}
			}
		}
		flags = append(flags, f)
	}
	return flags, nil
}

// assessLabValue records the investigator's assessment of a flagged lab
// value of the current version of a form.
func (x *exec) assessLabValue(m *types.MsgAssessLabValue) *types.Error {
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskSign)
	if e != nil {
		return e
	}
	if e := x.guard(m.Study, sub.Site, sub.ID, &m.FormKey, false); e != nil {
		return e
	}
	var rec types.FormRecord
	if ok, e := x.load(types.KeyForm(m.FormKey), &rec); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeFormNotFound, "form %s of subject %s at %s (repeat %d) has not been entered", m.Form, m.Subject, m.Event, m.EventRepeat)
	}
	if m.FormVersion != rec.Version {
		return types.Errf(types.CodeFormChanged, "form %s of subject %s at %s (repeat %d) is at version %d, not the version %d assessed: look at its values again",
			m.Form, m.Subject, m.Event, m.EventRepeat, rec.Version, m.FormVersion)
	}
	var flag *types.LabFlag
	for i, f := range rec.LabFlags {
		if f.Item == m.Item && f.Repeat == m.ItemRepeat {
			flag = &rec.LabFlags[i]
		}
	}
	if flag == nil {
		return types.Errf(types.CodeNoLabFlag, "version %d of form %s of subject %s has no value of %s outside its reference range to assess",
			rec.Version, m.Form, m.Subject, types.ItemName(m.Item, m.ItemRepeat))
	}
	key := types.KeyLabAssessments(m.FormKey, m.Item, m.ItemRepeat)
	la := types.LabAssessments{FormKey: m.FormKey, Item: m.Item, ItemRepeat: m.ItemRepeat}
	if _, e := x.load(key, &la); e != nil {
		return e
	}
	la.Assessments = append(la.Assessments, types.LabAssessment{
		FormVersion: rec.Version, Value: flag.Value, Significant: m.Significant, Comment: m.Comment, Stamp: x.stamp(),
	})
	x.st.setJSON(key, la)
	x.emit("study", m.Study, "subject", m.Subject, "event", m.Event, "form", m.Form, "item", types.ItemName(m.Item, m.ItemRepeat), "action", "assess")
	return nil
}
