package audit

import (
	"fmt"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// SAEStatus is one serious adverse event as a safety view lists it: its
// clock, judged at an as-of time the reader names (the ledger never reads
// a clock).
type SAEStatus struct {
	types.SAE
	// MinutesToAck is the time from the clock's start to the
	// acknowledgement, in whole minutes; -1 while unacknowledged.
	MinutesToAck int64 `json:"minutes_to_ack"`
	// OpenMinutes is the time from the clock's start to the as-of time
	// while unacknowledged, in whole minutes; 0 once acknowledged.
	OpenMinutes int64 `json:"open_minutes"`
	// Overdue: unacknowledged more than SAEReportHours after its start,
	// at the as-of time. Late: acknowledged, but after them.
	Overdue bool `json:"overdue"`
	Late    bool `json:"late"`
}

// Safety is the serious adverse events of a study at an as-of time.
type Safety struct {
	Study string      `json:"study"`
	AsOf  string      `json:"as_of"`
	SAEs  []SAEStatus `json:"saes"`
	// Unacknowledged, Overdue and Late count the SAEs in those states.
	Unacknowledged int `json:"unacknowledged"`
	Overdue        int `json:"overdue"`
	Late           int `json:"late"`
}

// SafetyOf judges the clocks of saes at asOf. An acknowledgement after
// asOf (a record read at a later height than asOf) counts as none.
func SafetyOf(study string, saes []types.SAE, asOf time.Time) (*Safety, error) {
	out := &Safety{Study: study, AsOf: asOf.UTC().Format(time.RFC3339), SAEs: []SAEStatus{}}
	for _, s := range saes {
		c, err := s.ClockAt(asOf)
		if err != nil {
			return nil, err
		}
		st := SAEStatus{SAE: s, MinutesToAck: c.MinutesToAck, OpenMinutes: c.OpenMinutes, Overdue: c.Overdue, Late: c.Late}
		if !c.Acknowledged {
			st.Acknowledged, st.AckComment = nil, ""
			out.Unacknowledged++
		}
		if st.Overdue {
			out.Overdue++
		}
		if st.Late {
			out.Late++
		}
		out.SAEs = append(out.SAEs, st)
	}
	return out, nil
}

// Duration prints minutes as "2d 03h 15m", "3h 05m" or "12m".
func Duration(minutes int64) string {
	d, h, m := minutes/(24*60), minutes/60%24, minutes%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %02dh %02dm", d, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
