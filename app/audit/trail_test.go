package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestTrailRoleAtTheTime: an entry carries the role its signer acted
// under then, as the ledger decides it from the account's history, not
// the account's roles now.
func TestTrailRoleAtTheTime(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	acct := func(roles ...types.Role) types.Account {
		return types.Account{ID: "u", Org: "A", Name: "U", Roles: roles, Status: types.AccountActive}
	}
	now := acct(types.RoleInvestigator)
	c := &crafted{L: &Ledger{
		Accounts: map[string]types.Account{"u": now},
		Orgs:     map[string]types.Org{"A": {ID: "A", Kind: types.OrgSite}},
		AccountHistories: map[string][]types.AccountChange{"u": {
			{Seq: 1, Action: "genesis", Account: acct(types.RoleCoordinator)},
			// The admin's set_roles is the first tx of block 3.
			{Seq: 2, Action: "set_roles", Account: now, Stamp: types.Stamp{Height: 3, TxHash: "SETROLES"}},
		}},
	}}
	submit := types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("A-1", "VS"), Values: vals("VS.HR", "60")}}
	c.add(t0, "u", "A", 0, submit)                                                                           // height 1
	c.add(t0, "u", "A", 0, types.Msg{Sign: &types.MsgSign{Study: "S", Subject: "A-1", Meaning: "approval"}}) // 2: refused, not an investigator
	c.add(t0, "u", "A", 0, submit)                                                                           // 3, after the set_roles
	c.L.Entries[2].Index = 1
	c.L.Entries = append(c.L.Entries, Entry{Height: 3, Index: 0, TxHash: "SETROLES", Signer: "admin"})
	c.add(t0, "gone", "A", 0, submit) // an account the ledger never had
	c.L.annotate()
	var got []string
	for _, e := range c.L.Entries {
		got = append(got, e.Role)
	}
	if want := "coordinator,,investigator,,"; strings.Join(got, ",") != want {
		t.Errorf("roles %q, want %q", strings.Join(got, ","), want)
	}
	if e := c.L.Entries[0]; e.Name != "U" || e.Org != "A" {
		t.Errorf("name and organisation: %+v", e)
	}
}

// TestFormWhat: the trail lists a value as ITEM=value and a missing-data
// code with its reason, so a code is not read as an empty value.
func TestFormWhat(t *testing.T) {
	got := formWhat([]protocol.ItemValue{{Item: "LB.HGB", Value: "14.2"}, {Item: "LB.PLT", Missing: "ND", Reason: "haemolysed"}, {Item: "AE.TERM", Repeat: 2, Missing: "UNK"}})
	if want := "LB.HGB=14.2, LB.PLT missing ND: haemolysed, AE.TERM[2] missing UNK"; got != want {
		t.Errorf("formWhat = %q, want %q", got, want)
	}
}
