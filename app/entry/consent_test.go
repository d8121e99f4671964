package entry

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestCheckWithdrawalKinds: the import check admits the new forms a
// subject's withdrawal allows, as the ledger does: a subject withdrawn
// from follow-up gets the safety form, not vital signs; one who withdrew
// consent gets neither.
func TestCheckWithdrawalKinds(t *testing.T) {
	c, err := protocol.Compile(protocol.Example())
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[types.WithdrawalKind][2]bool{ // VS refused, AE refused
		types.WithdrawTreatment: {false, false},
		types.WithdrawFollowUp:  {true, false},
		types.WithdrawConsent:   {true, true},
	} {
		sub := types.Subject{Study: study, ID: "S1-001", Site: "site1", Status: types.SubjectWithdrawn, WithdrawalKind: kind}
		p := &Parsed{Instances: []*Instance{
			{Sheet: "VS", Row: 4, Key: key("S1-001", "W4", "VS")},
			{Sheet: "AE", Row: 4, Key: key("S1-001", "W4", "AE")},
		}}
		refused := map[string]bool{}
		for _, pr := range Check(c, p, ledgerOf([]types.Subject{sub})) {
			if pr.Code == CodeSubjectWithdrawn {
				refused[pr.Sheet] = true
			}
		}
		if refused["VS"] != want[0] || refused["AE"] != want[1] {
			t.Errorf("withdrawn (%s): VS refused %v, AE refused %v; want %v", kind, refused["VS"], refused["AE"], want)
		}
	}
}
