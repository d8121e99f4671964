package client

import (
	"context"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Deviations lists the protocol deviations of a subject (or of a whole
// study when subject is empty), in key order.
func (r *Reader) Deviations(ctx context.Context, study, subject string) ([]types.Deviation, error) {
	return ListJSON[types.Deviation](ctx, r, subjectPrefix(types.PrefixDeviation, study, subject))
}

// Schedules lays out the calendars of a study's subjects under the
// protocol in force, as they stand on asOf (YYYY-MM-DD): of one subject
// when subject is set, else of one site's subjects when site is set, else
// of every subject the reader may see.
func (r *Reader) Schedules(ctx context.Context, study, site, subject, asOf string) ([]types.SubjectSchedule, error) {
	if _, ok := protocol.DateDays(asOf); !ok {
		return nil, fmt.Errorf("date %q is not a date (YYYY-MM-DD)", asOf)
	}
	st, err := r.Study(ctx, study)
	if err != nil {
		return nil, err
	}
	pv, err := r.ProtocolVersion(ctx, study, st.Current)
	if err != nil {
		return nil, err
	}
	c, err := protocol.Compile(&pv.Protocol)
	if err != nil {
		return nil, fmt.Errorf("protocol version %d of study %s: %w", pv.Number, study, err)
	}
	var subjects []types.Subject
	if subject != "" {
		sub, err := r.Subject(ctx, study, subject)
		if err != nil {
			return nil, err
		}
		subjects = []types.Subject{*sub}
	} else if subjects, err = r.Subjects(ctx, study); err != nil {
		return nil, err
	}
	forms, err := r.SubjectForms(ctx, study, subject)
	if err != nil {
		return nil, err
	}
	return SchedulesOf(c, subjects, forms, site, asOf), nil
}

// SchedulesOf lays out the calendars of subjects (of site only, when site
// is set) from their current forms, in one pass over the forms.
func SchedulesOf(c *protocol.Compiled, subjects []types.Subject, forms []types.FormRecord, site, asOf string) []types.SubjectSchedule {
	bySubject := map[string][]types.FormRecord{}
	for _, f := range forms {
		bySubject[f.Subject] = append(bySubject[f.Subject], f)
	}
	out := []types.SubjectSchedule{}
	for i := range subjects {
		sub := &subjects[i]
		if site == "" || sub.Site == site {
			out = append(out, types.ScheduleOf(c, sub, bySubject[sub.ID], asOf))
		}
	}
	return out
}
