package export

import (
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// The protocol deviations the ledger records (a scheduled visit dated
// outside its window) as a table (docs/EXPORT.md, docs/SCHEDULE.md).

var (
	tDeviations = [2]string{"Protocol deviations", "protocol_deviations.csv"}

	deviationCols = cols(join([]string{"subject", "Subject", "site", "Site", "event", "Event", "event_repeat", "Event repeat",
		"form", "Form", "item", "Visit-date item", "step", "Step", "action", "Action", "visit_date", "Visit date",
		"anchor", "Anchor date", "target", "Target date", "earliest", "Window opens", "latest", "Window closes",
		"days_off", "Days outside the window", "protocol_version", "Protocol version", "status_after", "Status after this step"},
		stampCols, chainCols)...)
)

// deviationStatusAfter is the status a deviation has after a step of its
// trail: a close closes it, an open, update or reopen leaves it open; an
// action the ledger does not write has none (blank).
func deviationStatusAfter(action string) string {
	switch action {
	case "close":
		return string(types.DeviationClosed)
	case "open", "update", "reopen":
		return string(types.DeviationOpen)
	}
	return ""
}

// deviationsTable writes one row per step of each deviation's trail
// (open, update, close, reopen), deviations in ledger key order, as far
// as the reader reads them (those of the subjects it reads).
func (d *dataset) deviationsTable(b book) error {
	t, err := b.table(tDeviations[0], tDeviations[1], deviationCols, 1)
	if err != nil {
		return err
	}
	var row []cell
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixDeviation+d.opt.Study+"/", func(key string, v *types.Deviation) error {
		for i, h := range v.History {
			row = append(row[:0], txt(v.Subject), txt(v.Site), txt(v.Event), numi(v.EventRepeat), txt(v.Form), txt(v.Item),
				numi(i+1), txt(h.Action), txt(h.VisitDate), txt(h.Anchor), txt(h.Target), txt(h.Earliest), txt(h.Latest),
				numi(h.DaysOff), optNum(h.ProtocolVersion), txt(deviationStatusAfter(h.Action)))
			row = append(row, stampCells(h.Stamp)...)
			if err := t.row(append(row, chainCells(h.Stamp, key)...)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return t.close()
}
