package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestSAEsNotRead: a person whose roles do not read SAE records sends no
// read for them (the ledger would leave every record out, which would
// read as none) and is told why; the dashboard's subject then shows no
// list.
func TestSAEsNotRead(t *testing.T) {
	calls := 0
	s := New(func(context.Context, string, string, []byte) (int, []byte, error) {
		calls++
		return 500, nil, nil
	}, nil)
	s.person.Roles = []types.Role{types.RoleMonitor}
	saes, readable, note, err := s.saesOf(context.Background(), "VT-HTN-201")
	if err != nil || readable || saes != nil || calls != 0 {
		t.Fatalf("a monitor's SAEs: %v %v %v, %d read(s)", saes, readable, err, calls)
	}
	if want := "only the roles investigator, coordinator, medical_monitor, data_manager, auditor read them, not yours (monitor)"; !strings.Contains(note, want) {
		t.Errorf("note %q, want it to say %q", note, want)
	}
	// A coordinator's roles read them: the session goes to sign a read
	// (and, with no key unlocked here, says so).
	s.person.Roles = []types.Role{types.RoleCoordinator}
	if _, _, _, err := s.saesOf(context.Background(), "VT-HTN-201"); !errors.Is(err, ErrSignedOut) {
		t.Errorf("a coordinator's SAEs: %v, want the read of them signed", err)
	}
}

// TestSAEView: an SAE's deadline is 24 hours after its clock start, and
// its status at the browser's clock is open, overdue, acknowledged, or
// late; an acknowledgement after that clock is not shown.
func TestSAEView(t *testing.T) {
	p := protocol.Example()
	opened := types.Stamp{Time: "2026-04-20T10:00:00Z", Height: 40}
	rec := types.SAE{FormKey: types.FormKey{Study: "VT-HTN-201", Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}, Row: 2, Opened: opened}
	view := func(e types.SAE, asOf string) SAEView {
		at, _ := time.Parse(time.RFC3339, asOf)
		c, err := e.ClockAt(at)
		if err != nil {
			t.Fatal(err)
		}
		return saeView(p, sae{e, c})
	}
	v := view(rec, "2026-04-20T12:00:00Z")
	if v.Status != "open" || v.Deadline != "2026-04-21T10:00:00Z" || v.FormName != "Adverse events" || v.Row != 2 || v.Acknowledged != nil {
		t.Errorf("open: %+v", v)
	}
	if v := view(rec, "2026-04-21T10:01:00Z"); v.Status != "overdue" {
		t.Errorf("past the deadline: %+v", v)
	}
	rec.Acknowledged, rec.AckComment = &types.Stamp{Time: "2026-04-20T18:00:00Z", Signer: "sponsor-mm"}, "case 1"
	if v := view(rec, "2026-04-20T17:00:00Z"); v.Status != "open" || v.Acknowledged != nil || v.AckComment != "" {
		t.Errorf("before the acknowledgement: %+v", v)
	}
	if v := view(rec, "2026-04-22T00:00:00Z"); v.Status != "acknowledged" || v.Acknowledged.Signer != "sponsor-mm" || v.AckComment != "case 1" {
		t.Errorf("acknowledged: %+v", v)
	}
	rec.Acknowledged.Time = "2026-04-21T11:00:00Z"
	if v := view(rec, "2026-04-22T00:00:00Z"); v.Status != "late" {
		t.Errorf("acknowledged after the deadline: %+v", v)
	}
}

// TestWithdrawalOf: the withdrawal in force is the last; one made before
// kinds keeps the subject's reason and stamp; an enrolled subject has
// none.
func TestWithdrawalOf(t *testing.T) {
	if w := withdrawalOf(&types.Subject{Status: types.SubjectEnrolled}); w != nil {
		t.Errorf("enrolled: %+v", w)
	}
	sub := &types.Subject{Status: types.SubjectWithdrawn, WithdrawalKind: types.WithdrawFollowUp, Withdrawals: []types.Withdrawal{
		{Kind: types.WithdrawTreatment, Date: "2026-03-01"}, {Kind: types.WithdrawFollowUp, Date: "2026-04-01"}}}
	if w := withdrawalOf(sub); w == nil || w.Kind != types.WithdrawFollowUp || w.Date != "2026-04-01" {
		t.Errorf("treatment then follow-up: %+v", w)
	}
	old := &types.Subject{Status: types.SubjectWithdrawn, WithdrawalKind: types.WithdrawConsent, Withdrawn: &types.Stamp{Height: 9}, WithdrawReason: "moved away"}
	if w := withdrawalOf(old); w == nil || w.Kind != types.WithdrawConsent || w.Reason != "moved away" || w.Stamp.Height != 9 {
		t.Errorf("before kinds: %+v", w)
	}
}
