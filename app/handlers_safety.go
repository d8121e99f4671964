package app

import (
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Serious adverse events (state machine version 3): the records an
// adverse event form opens and the sponsor's acknowledgement.

// trackSAEs, from version 3, links rec, a correction of a form whose
// previous values were old, as a follow-up report to every SAE of a row
// it changed, and opens an SAE record for every row of rec whose
// seriousness item says yes and that has none yet (old is nil for a
// first entry).
func (x *exec) trackSAEs(c *protocol.Compiled, site string, rec *types.FormRecord, old []protocol.ItemValue) *types.Error {
	if x.version < 3 {
		return nil
	}
	serious := c.SeriousRows(rec.Form, rec.Values)
	if old != nil {
		saes, e := loadPrefix[types.SAE](x, types.PrefixSAEOf(rec.FormKey))
		if e != nil {
			return e
		}
		for _, s := range saes {
			if slices.Equal(c.SeriousRow(rec.Form, old, s.Row), c.SeriousRow(rec.Form, rec.Values, s.Row)) {
				continue
			}
			s.FollowUps = append(s.FollowUps, types.SAEFollowUp{FormVersion: rec.Version, Serious: slices.Contains(serious, s.Row), Stamp: x.stamp()})
			x.st.setJSON(types.KeySAE(rec.FormKey, s.Row), s)
		}
	}
	for _, row := range serious {
		key := types.KeySAE(rec.FormKey, row)
		if ok, err := x.st.has(key); err != nil {
			return internal(err)
		} else if ok {
			continue
		}
		x.st.setJSON(key, types.SAE{FormKey: rec.FormKey, Row: row, Site: site, FormVersion: rec.Version, Opened: x.stamp()})
		x.emit("study", rec.Study, "subject", rec.Subject, "sae", rec.Event+"/"+strconv.Itoa(rec.EventRepeat)+"/"+rec.Form+"/"+strconv.Itoa(row))
	}
	return nil
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
