package types_test

import (
	"fmt"
	"strings"
	"testing"

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
