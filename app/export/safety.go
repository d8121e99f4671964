package export

import (
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// The consent history and withdrawals of each subject, and the serious
// adverse event records, as tables (docs/EXPORT.md, docs/SAFETY.md).

var (
	tConsent = [2]string{"Consent", "consent.csv"}
	tSafety  = [2]string{"Serious adverse events", "serious_adverse_events.csv"}

	consentCols = cols(join([]string{"subject", "Subject", "site", "Site", "step", "Step", "action", "Action",
		"consent_version", "Consent version", "consent_sha256", "Consent form SHA-256", "withdrawal_kind", "Withdrawal kind",
		"date", "Date", "reason", "Reason"}, stampCols, chainCols)...)
	safetyCols = cols(join([]string{"subject", "Subject", "site", "Site", "event", "Event", "event_repeat", "Event repeat",
		"form", "Form", "row", "Row", "step", "Step", "action", "Action", "form_version", "Form version", "serious", "Serious",
		"comment", "Comment"}, stampCols, chainCols)...)
)

// consentRows are the rows of the Consent table for subject s at key:
// the consent given at enrolment, every re-consent, then every withdrawal
// of a kind (a withdrawal made before kinds is the Subjects table's).
func consentRows(s *types.Subject, key string) [][]cell {
	var out [][]cell
	step := 0
	add := func(action, version, sum string, kind types.WithdrawalKind, date, reason string, st types.Stamp) {
		step++
		row := []cell{txt(s.ID), txt(s.Site), numi(step), txt(action), txt(version), txt(sum), txt(string(kind)), txt(date), txt(reason)}
		row = append(row, stampCells(st)...)
		out = append(out, append(row, chainCells(st, key)...))
	}
	for i, c := range s.ConsentHistory() {
		action := "re-consent"
		if i == 0 {
			action = "enrolment consent"
		}
		add(action, c.Version, c.SHA256, "", c.Date, "", c.Stamp)
	}
	for _, w := range s.Withdrawals {
		add("withdrawal", "", "", w.Kind, w.Date, w.Reason, w.Stamp)
	}
	return out
}

// writeRows writes the table id of cols with rows.
func writeRows(b book, id [2]string, cs []column, rows [][]cell) error {
	t, err := b.table(id[0], id[1], cs, 1)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := t.row(r); err != nil {
			return err
		}
	}
	return t.close()
}

// safetyTable writes one row per step of each SAE record: its opening,
// each follow-up report, its acknowledgement.
func (d *dataset) safetyTable(b book) error {
	t, err := b.table(tSafety[0], tSafety[1], safetyCols, 1)
	if err != nil {
		return err
	}
	var row []cell
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixSAE+d.opt.Study+"/", func(key string, s *types.SAE) error {
		step := 0
		add := func(action string, version int, serious bool, comment string, st types.Stamp) error {
			step++
			yes := "no"
			if serious {
				yes = "yes"
			}
			row = append(row[:0], txt(s.Subject), txt(s.Site), txt(s.Event), numi(s.EventRepeat), txt(s.Form), numi(s.Row),
				numi(step), txt(action), optNum(version), txt(yes), txt(comment))
			row = append(row, stampCells(st)...)
			return t.row(append(row, chainCells(st, key)...))
		}
		if err := add("opened", s.FormVersion, true, "", s.Opened); err != nil {
			return err
		}
		for _, f := range s.FollowUps {
			if err := add("follow-up", f.FormVersion, f.Serious, "", f.Stamp); err != nil {
				return err
			}
		}
		if a := s.Acknowledged; a != nil {
			return add("acknowledged", 0, true, s.AckComment, *a)
		}
		return nil
	}); err != nil {
		return err
	}
	return t.close()
}
