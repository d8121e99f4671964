package types_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// TestAuthorizeConsentAndSafety: every organisation kind and role against
// the re-consent (site investigators and coordinators), the
// acknowledgement of an SAE (sponsor and CRO medical monitors) and the
// withdrawal (site investigators and coordinators).
func TestAuthorizeConsentAndSafety(t *testing.T) {
	orgs := []types.OrgKind{types.OrgSponsor, types.OrgSite, types.OrgCRO, types.OrgRegulator, types.OrgEthics}
	roles := []types.Role{types.RoleAdmin, types.RoleDataManager, types.RoleMedicalMonitor, types.RoleMonitor, types.RoleInvestigator, types.RoleCoordinator, types.RoleAuditor, types.RoleNode}
	k := types.FormKey{Study: "ST", Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}
	msgs := []struct {
		kind  types.Kind
		msg   any
		allow func(types.OrgKind, types.Role) bool
	}{
		{types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1-001"}, func(o types.OrgKind, r types.Role) bool {
			return o == types.OrgSite && (r == types.RoleInvestigator || r == types.RoleCoordinator)
		}},
		{types.KindWithdrawSubject, &types.MsgWithdrawSubject{Study: "ST", Subject: "S1-001"}, func(o types.OrgKind, r types.Role) bool {
			return o == types.OrgSite && (r == types.RoleInvestigator || r == types.RoleCoordinator)
		}},
		{types.KindAcknowledgeSAE, &types.MsgAcknowledgeSAE{FormKey: k, Row: 1}, func(o types.OrgKind, r types.Role) bool {
			return (o == types.OrgSponsor || o == types.OrgCRO) && r == types.RoleMedicalMonitor
		}},
	}
	for _, m := range msgs {
		for _, o := range orgs {
			for _, r := range roles {
				acct := &types.Account{ID: "a", Roles: []types.Role{r}}
				role, e := types.Authorize(m.kind, m.msg, acct, &types.Org{ID: "o", Kind: o})
				want := m.allow(o, r)
				cell := fmt.Sprintf("%s by %s %s", m.kind, o, r)
				switch {
				case want && (e != nil || role != r):
					t.Errorf("%s: refused (%v) or acting as %s", cell, e, role)
				case !want && (e == nil || e.Code != types.CodeUnauthorized):
					t.Errorf("%s: %v, want unauthorized", cell, e)
				}
			}
		}
	}
}

// TestValidateConsentAndSafety: the stateless checks of the new messages
// and of a withdrawal's kind and date.
func TestValidateConsentAndSafety(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	k := types.FormKey{Study: "ST", Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}
	for _, tc := range []struct {
		name string
		kind types.Kind
		msg  any
		want types.Code
	}{
		{"re-consent", types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1-001", ConsentVersion: "3.0", ConsentSHA256: sum, Date: "2026-04-20"}, types.CodeOK},
		{"re-consent without a version", types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1-001", ConsentSHA256: sum}, types.CodeInvalidMsg},
		{"re-consent with a bad hash", types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1-001", ConsentVersion: "3.0", ConsentSHA256: "F00"}, types.CodeInvalidMsg},
		{"re-consent with a bad date", types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1-001", ConsentVersion: "3.0", ConsentSHA256: sum, Date: "20/04/2026"}, types.CodeInvalidMsg},
		{"re-consent of a bad subject ID", types.KindReconsent, &types.MsgReconsent{Study: "ST", Subject: "S1 001", ConsentVersion: "3.0", ConsentSHA256: sum}, types.CodeInvalidMsg},
		{"withdrawal", types.KindWithdrawSubject, &types.MsgWithdrawSubject{Study: "ST", Subject: "S1-001", Reason: "r", Kind: types.WithdrawFollowUp, Date: "2026-04-20"}, types.CodeOK},
		{"withdrawal without a kind", types.KindWithdrawSubject, &types.MsgWithdrawSubject{Study: "ST", Subject: "S1-001", Reason: "r"}, types.CodeOK},
		{"withdrawal of an unknown kind", types.KindWithdrawSubject, &types.MsgWithdrawSubject{Study: "ST", Subject: "S1-001", Reason: "r", Kind: "partial"}, types.CodeWithdrawalKind},
		{"withdrawal with a bad date", types.KindWithdrawSubject, &types.MsgWithdrawSubject{Study: "ST", Subject: "S1-001", Reason: "r", Kind: types.WithdrawConsent, Date: "2026-02-30"}, types.CodeInvalidMsg},
		{"acknowledgement", types.KindAcknowledgeSAE, &types.MsgAcknowledgeSAE{FormKey: k, Row: 1, Comment: "case 1"}, types.CodeOK},
		{"acknowledgement of row 10000", types.KindAcknowledgeSAE, &types.MsgAcknowledgeSAE{FormKey: k, Row: 10000}, types.CodeInvalidMsg},
		{"acknowledgement with a bad key", types.KindAcknowledgeSAE, &types.MsgAcknowledgeSAE{FormKey: types.FormKey{Study: "ST"}, Row: 1}, types.CodeInvalidMsg},
		{"acknowledgement with a long comment", types.KindAcknowledgeSAE, &types.MsgAcknowledgeSAE{FormKey: k, Row: 1, Comment: strings.Repeat("x", types.MaxReasonLen+1)}, types.CodeInvalidMsg},
	} {
		got := types.CodeOK
		if e := types.ValidateBasic(tc.kind, tc.msg); e != nil {
			got = e.Code
		}
		if got != tc.want {
			t.Errorf("%s: code %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestReconsentDue: the version a study requires is due from a subject
// who consented to another, at enrolment or since, and from nobody when
// the study requires none.
func TestReconsentDue(t *testing.T) {
	st := &types.Study{ID: "ST", ReconsentVersion: "2.0", ReconsentFrom: 2}
	sub := &types.Subject{ID: "S1-001", ConsentVersion: "1.0"}
	if v := sub.ReconsentDue(st); v != "2.0" {
		t.Errorf("enrolled under 1.0, study requires 2.0: due %q", v)
	}
	if v := sub.ReconsentDue(&types.Study{ID: "ST"}); v != "" {
		t.Errorf("no version required: due %q", v)
	}
	sub.Reconsents = []types.Consent{{Version: "2.0"}}
	if v := sub.ReconsentDue(st); v != "" {
		t.Errorf("re-consented to 2.0: due %q", v)
	}
	if v := (&types.Subject{ConsentVersion: "2.0"}).ReconsentDue(st); v != "" {
		t.Errorf("enrolled under 2.0: due %q", v)
	}
}

// TestSAEClockAt: the deadline is 24 hours after the clock's start; an
// SAE is open, then overdue past it; an acknowledgement counts from its
// time on, late when after the deadline.
func TestSAEClockAt(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := &types.SAE{Opened: types.Stamp{Time: "2026-04-20T10:00:00.5Z"}}
	c, err := s.ClockAt(at("2026-04-21T10:00:00Z"))
	if err != nil || c.Acknowledged || c.Overdue || c.MinutesToAck != -1 || c.OpenMinutes != 1439 || !c.Deadline.Equal(at("2026-04-21T10:00:00Z").Add(500*time.Millisecond)) {
		t.Errorf("just before the deadline: %+v, %v", c, err)
	}
	if c, _ := s.ClockAt(at("2026-04-21T10:00:01Z")); !c.Overdue || c.Acknowledged {
		t.Errorf("past the deadline: %+v", c)
	}
	s.Acknowledged = &types.Stamp{Time: "2026-04-21T12:00:00Z"}
	if c, _ := s.ClockAt(at("2026-04-21T11:00:00Z")); c.Acknowledged || !c.Overdue {
		t.Errorf("before the acknowledgement, past the deadline: %+v", c)
	}
	if c, _ := s.ClockAt(at("2026-04-22T00:00:00Z")); !c.Acknowledged || !c.Late || c.Overdue || c.MinutesToAck != 1559 || c.OpenMinutes != 0 {
		t.Errorf("acknowledged 26 hours after the start: %+v", c)
	}
	s.Acknowledged.Time = "2026-04-20T11:00:00Z"
	if c, _ := s.ClockAt(at("2026-04-22T00:00:00Z")); !c.Acknowledged || c.Late || c.MinutesToAck != 59 {
		t.Errorf("acknowledged within the hour: %+v", c)
	}
	s.Opened.Time = "yesterday"
	if _, err := s.ClockAt(at("2026-04-22T00:00:00Z")); err == nil || !strings.Contains(err.Error(), `clock start "yesterday"`) {
		t.Errorf("a clock start that is no time: %v", err)
	}
}
