package audit

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/safetext"
)

// Sheet is one worksheet of a workbook: a header row and rows of cells.
type Sheet struct {
	Name   string
	Header []string
	Rows   [][]any
}

// WriteXLSX writes sheets as a workbook to w, streaming each sheet, with
// a bold frozen header row. Text is written as safetext.Cell shows it: a
// character a workbook cannot carry or a reader would not see (a control
// or bidirectional character) is written visibly, a text longer than a
// cell is cut with a note; the JSON output keeps every value exact.
func WriteXLSX(w io.Writer, sheets []Sheet) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return err
		}
		if err := f.SetPanes(s.Name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(s.Name)
		if err != nil {
			return err
		}
		hdr := make([]any, len(s.Header))
		for j, h := range s.Header {
			hdr[j] = excelize.Cell{StyleID: bold, Value: h}
		}
		if err := sw.SetRow("A1", hdr); err != nil {
			return err
		}
		for r, row := range s.Rows {
			cells := make([]any, len(row))
			for j, v := range row {
				if text, ok := v.(string); ok {
					v = safetext.Cell(text)
				}
				cells[j] = v
			}
			if err := sw.SetRow(fmt.Sprintf("A%d", r+2), cells); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}

// TrailSheet is the audit trail as a worksheet.
func TrailSheet(es []Entry) Sheet {
	s := Sheet{Name: "Audit trail", Header: []string{"Time (UTC)", "Height", "Tx", "Outcome", "Code", "Message", "User", "Name", "Organisation", "Role", "Action", "Site", "Subject", "Event", "Repeat", "Form", "What", "Reason", "Protocol version", "Verified header"}}
	for _, e := range es {
		s.Rows = append(s.Rows, []any{e.Time, e.Height, e.TxHash, outcome(e), e.Code, e.Log, e.Signer, e.Name, e.Org, e.Role, e.Kind, e.Site, e.Subject, e.Event, e.EventRepeat, e.Form, e.What, e.Reason, e.ProtocolVersion, e.Verified})
	}
	return s
}

func outcome(e Entry) string {
	if e.Rejected {
		return "REJECTED"
	}
	return "accepted"
}

// ReportSheets is the integrity report as worksheets.
func ReportSheets(r *Report) []Sheet {
	sig := func(name string, ss []Signals) Sheet {
		s := Sheet{Name: name, Header: []string{"Key", "Forms entered", "Values", "Late entries", "Max delay (days)", "Corrections", "Corrected values", "Corrections per 100 values", "After signature", "After SDV", "Outside hours", "Queries open long", "Rejected attempts", "Rejected by code"}}
		for _, x := range ss {
			s.Rows = append(s.Rows, []any{x.Key, x.Entries, x.Values, x.LateEntries, x.MaxDelayDays, x.Corrections, x.CorrectedValues, x.CorrectionsPer100, x.AfterSignature, x.AfterSDV, x.OutsideHours, x.LongOpenQueries, x.Rejected, codes(x.RejectedByCode)})
		}
		return s
	}
	f := Sheet{Name: "Findings", Header: []string{"Signal", "Site", "User", "Subject", "Target", "Time (UTC)", "Height", "Tx", "Detail"}}
	for _, x := range r.Findings {
		f.Rows = append(f.Rows, []any{x.Signal, x.Site, x.User, x.Subject, x.Target, x.Time, x.Height, x.TxHash, x.Detail})
	}
	a := Sheet{Name: "Amendments", Header: []string{"Number", "Label", "Status", "Proposed", "Decided", "Protocol version", "Changes outcomes", "Change"}}
	for _, x := range r.Amendments {
		for i, c := range x.Changes {
			if i == 0 {
				a.Rows = append(a.Rows, []any{x.Number, x.Label, x.Status, x.Proposed, x.Decided, x.Version, x.Outcomes, c})
			} else {
				a.Rows = append(a.Rows, []any{"", "", "", "", "", "", "", c})
			}
		}
		if len(x.Changes) == 0 {
			a.Rows = append(a.Rows, []any{x.Number, x.Label, x.Status, x.Proposed, x.Decided, x.Version, x.Outcomes, ""})
		}
	}
	o := Sheet{Name: "Outcomes", Header: []string{"Kind", "Text"}}
	if oc := r.Outcomes; oc != nil {
		o.Rows = append(o.Rows, []any{"switched", fmt.Sprint(oc.Switched)})
		for _, x := range oc.Registered {
			o.Rows = append(o.Rows, []any{fmt.Sprintf("registered (v%d)", oc.RegisteredVersion), x})
		}
		for _, x := range oc.InForce {
			o.Rows = append(o.Rows, []any{fmt.Sprintf("in force (v%d)", oc.InForceVersion), x})
		}
		for _, x := range oc.Changes {
			o.Rows = append(o.Rows, []any{"change", x})
		}
	}
	rules := Sheet{Name: "Rules", Header: []string{"Rule", "Value"}, Rows: [][]any{
		{"study", r.Study}, {"height", r.Height}, {"as of (UTC)", r.AsOf},
		{"late entry: days after the visit date", r.Rules.LateDays},
		{"working hours (UTC, Monday-Friday): from", r.Rules.WorkStart},
		{"working hours (UTC, Monday-Friday): until", r.Rules.WorkEnd},
		{"query open for long: days", r.Rules.QueryDays},
	}}
	ov := Sheet{Name: "Overdue visits", Header: []string{"Site", "Subject", "Event", "Visit", "Target", "Window closed", "Days overdue"}}
	for _, x := range r.Overdue {
		ov.Rows = append(ov.Rows, []any{x.Site, x.Subject, x.Event, x.Name, x.Target, x.Latest, x.DaysOverdue})
	}
	dv := Sheet{Name: "Deviations", Header: []string{"Site", "Subject", "Event", "Visit date", "Target", "Window from", "Window to", "Days off", "Status", "Protocol version"}}
	for _, x := range r.Deviations {
		dv.Rows = append(dv.Rows, []any{x.Site, x.Subject, x.Event, x.VisitDate, x.Target, x.Earliest, x.Latest, x.DaysOff, string(x.Status), x.ProtocolVersion})
	}
	ub := Sheet{Name: "Unblindings", Header: []string{"Subject", "Site", "Unblinded (UTC)", "Height", "By", "Role", "Reason", "Arm published (UTC)", "Published at height"}}
	for _, x := range r.Unblindings {
		var pubTime string
		var pubHeight int64
		if x.Published != nil {
			pubTime, pubHeight = x.Published.Time, x.Published.Height
		}
		ub.Rows = append(ub.Rows, []any{x.Subject, x.Site, x.By.Time, x.By.Height, x.By.Signer, string(x.By.Role), x.Reason, pubTime, pubHeight})
	}
	return []Sheet{sig("Sites", r.Sites), sig("Users", r.Users), f, a, o, ov, dv, safetySheet(r.Safety), ub, rules}
}

func codes(m map[string]int) string {
	s := ""
	for k, v := range sortedKeys(m) {
		if k > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%s: %d", v, m[v])
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}

// safetySheet lists the serious adverse events of a report.
func safetySheet(s *Safety) Sheet {
	out := Sheet{Name: "Serious adverse events", Header: []string{"Site", "Subject", "Event", "Event repeat", "Form", "Row", "Clock start (UTC)", "Height",
		"Acknowledged (UTC)", "Acknowledged by", "Minutes to acknowledgement", "Open minutes", "Overdue", "Late", "Follow-up reports"}}
	if s == nil {
		return out
	}
	for _, x := range s.SAEs {
		var at, by any = "", ""
		if a := x.Acknowledged; a != nil {
			at, by = a.Time, a.Signer
		}
		out.Rows = append(out.Rows, []any{x.Site, x.Subject, x.Event, x.EventRepeat, x.Form, x.Row, x.Opened.Time, x.Opened.Height,
			at, by, x.MinutesToAck, x.OpenMinutes, x.Overdue, x.Late, len(x.FollowUps)})
	}
	return out
}
