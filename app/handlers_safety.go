package app

import (
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Serious adverse events (state machine version 3): the records an
// adverse event form opens and the sponsor's acknowledgement.

// trackSAEs, from version 3, applies the SAE rule (saeRule) to rec, a
// version of a form whose previous values were old (nil for a first
// entry), stamped by this tx, and stores the records it changes.
func (x *exec) trackSAEs(c *protocol.Compiled, site string, rec *types.FormRecord, old []protocol.ItemValue) *types.Error {
	if x.version < 3 {
		return nil
	}
	var saes []types.SAE
	if old != nil {
		var e *types.Error
		if saes, e = loadPrefix[types.SAE](x, types.PrefixSAEOf(rec.FormKey)); e != nil {
			return e
		}
	}
	n := len(saes)
	saes, changed := saeRule(c, site, rec, old, saes, x.stamp())
	for _, i := range changed {
		x.st.setJSON(types.KeySAE(rec.FormKey, saes[i].Row), saes[i])
		if i >= n {
			x.emit("study", rec.Study, "subject", rec.Subject, "sae", rec.Event+"/"+strconv.Itoa(rec.EventRepeat)+"/"+rec.Form+"/"+strconv.Itoa(saes[i].Row))
		}
	}
	return nil
}

// saeRule is the version-3 rule of SAE records, applied to saes, the
// records of rec's form so far, for rec, a version of the form whose
// previous values were old (nil for a first entry), compiled under c and
// stamped at: it links rec as a follow-up report to every record of a row
// it changed, and opens a record, its clock started at, for every row of
// rec whose seriousness item says yes and that has none yet. It returns
// saes with the new records appended, and the indices of the records it
// changed or opened, in that order.
func saeRule(c *protocol.Compiled, site string, rec *types.FormRecord, old []protocol.ItemValue, saes []types.SAE, at types.Stamp) ([]types.SAE, []int) {
	serious := c.SeriousRows(rec.Form, rec.Values)
	var changed []int
	if old != nil {
		for i := range saes {
			s := &saes[i]
			if slices.Equal(c.SeriousRow(rec.Form, old, s.Row), c.SeriousRow(rec.Form, rec.Values, s.Row)) {
				continue
			}
			s.FollowUps = append(s.FollowUps, types.SAEFollowUp{FormVersion: rec.Version, Serious: slices.Contains(serious, s.Row), Stamp: at})
			changed = append(changed, i)
		}
	}
	for _, row := range serious {
		if slices.ContainsFunc(saes, func(s types.SAE) bool { return s.Row == row }) {
			continue
		}
		changed = append(changed, len(saes))
		saes = append(saes, types.SAE{FormKey: rec.FormKey, Row: row, Site: site, FormVersion: rec.Version, Opened: at})
	}
	return saes, changed
}

func (x *exec) acknowledgeSAE(m *types.MsgAcknowledgeSAE) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	if e := x.sponsorSide(s, "acknowledge a serious adverse event", types.TaskMonitoring, types.TaskDataManagement); e != nil {
		return e
	}
	var sae types.SAE
	if ok, e := x.load(types.KeySAE(m.FormKey, m.Row), &sae); e != nil {
		return e
	} else if !ok {
		return types.Errf(types.CodeUnknownSAE, "form %s of subject %s at %s (repeat %d) reports no serious adverse event in row %d", m.Form, m.Subject, m.Event, m.EventRepeat, m.Row)
	}
	if sae.Acknowledged != nil {
		return types.Errf(types.CodeSAEAcknowledged, "the serious adverse event %s was already acknowledged by %s at height %d", sae.ID(), sae.Acknowledged.Signer, sae.Acknowledged.Height)
	}
	if e := x.guard(s.ID, sae.Site, sae.Subject, &m.FormKey, false); e != nil {
		return e
	}
	st := x.stamp()
	sae.Acknowledged = &st
	sae.AckComment = m.Comment
	x.st.setJSON(types.KeySAE(m.FormKey, m.Row), sae)
	x.emit("study", s.ID, "subject", m.Subject, "sae", m.Event+"/"+strconv.Itoa(m.EventRepeat)+"/"+m.Form+"/"+strconv.Itoa(m.Row))
	return nil
}
