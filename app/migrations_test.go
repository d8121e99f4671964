package app

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
)

// migrated runs the registry's migration of upgrade name as a node does:
// on a store holding before (committed as height 1) and the upgrade
// decided for height 2, in the block of height 2. It returns every record
// after that block.
func migrated(t *testing.T, name string, before map[string]string) map[string]string {
	t.Helper()
	a, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	st := newTxStore(a.store.tree)
	for k, v := range before {
		st.set([]byte(k), []byte(v))
	}
	st.setJSON(types.KeyUpgrade(2), types.Upgrade{UpgradePlan: types.UpgradePlan{Name: name, Height: 2}, Proposal: 1})
	if err := st.flush(a.store.tree); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.commit(1); err != nil {
		t.Fatal(err)
	}
	if err := a.refreshChecked(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.finalize(2, time.Unix(2, 0), nil, nil); err != nil {
		t.Fatalf("block of the upgrade: %v", err)
	}
	if _, err := a.store.commit(2); err != nil {
		t.Fatal(err)
	}
	after := map[string]string{}
	if err := iteratePrefix(a.store.tree, nil, func(k, v []byte) bool {
		after[string(k)] = string(v)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return after
}

// TestUpgradeRegistry: the registry leads from version 1 to
// StateVersion() one version at a time, one named migration per step.
func TestUpgradeRegistry(t *testing.T) {
	names := map[string]bool{}
	for v := uint64(1); v < StateVersion(); v++ {
		n := 0
		for _, m := range migrations {
			if m.From == v {
				n++
				if m.Upgrade == "" || names[m.Upgrade] || m.Migrate == nil {
					t.Errorf("migration from %d: unnamed, named twice or empty: %+v", v, m)
				}
				names[m.Upgrade] = true
			}
		}
		if n != 1 {
			t.Errorf("%d migrations from version %d", n, v)
		}
	}
	if len(migrations) != int(StateVersion())-1 {
		t.Errorf("%d migrations for version %d", len(migrations), StateVersion())
	}
}

// TestUpgradeMigrationV2: on a version-1 ledger (no version key, no
// history) upgrade v2 writes version 2 and the version history, marks
// the upgrade applied and leaves every other record as it was.
func TestUpgradeMigrationV2(t *testing.T) {
	before := map[string]string{
		string(types.KeyOrg("site-1")): `{"id":"site-1","kind":"site","status":"active"}`,
		string(types.KeyGovernance):    `{"params":{"quorum_num":2,"quorum_den":3,"non_sponsor_vote":true,"proposal_ttl":100000},"proposals":1}`,
	}
	after := migrated(t, "v2", before)
	want := maps.Clone(before)
	want[types.KeyStateVersion] = "2"
	want[types.KeyVersionHistory] = `[{"version":1,"from":1},{"version":2,"from":2}]`
	u, _ := json.Marshal(types.Upgrade{UpgradePlan: types.UpgradePlan{Name: "v2", Height: 2}, Proposal: 1, Applied: 2})
	want[string(types.KeyUpgrade(2))] = string(u)
	if !maps.Equal(after, want) {
		t.Errorf("after the migration:\n%v\nwant\n%v", after, want)
	}
}

// TestUpgradeMigrationV3: on a version-2 ledger upgrade v3 gives a
// withdrawn subject the withdrawal kind consent, leaves an enrolled one
// and every other record as they were, and extends the version history.
func TestUpgradeMigrationV3(t *testing.T) {
	withdrawn := types.Subject{Study: "ST", ID: "S1-002", Site: "site-1", Status: types.SubjectWithdrawn,
		Withdrawn: &types.Stamp{Height: 1}, WithdrawReason: "moved away"}
	enrolled := types.Subject{Study: "ST", ID: "S1-001", Site: "site-1", Status: types.SubjectEnrolled}
	js := func(v any) string { bz, _ := json.Marshal(v); return string(bz) }
	before := map[string]string{
		types.KeyStateVersion:                    "2",
		types.KeyVersionHistory:                  `[{"version":2,"from":1}]`,
		string(types.KeySubject("ST", "S1-001")): js(enrolled),
		string(types.KeySubject("ST", "S1-002")): js(withdrawn),
		string(types.KeyOrg("site-1")):           `{"id":"site-1","kind":"site","status":"active"}`,
	}
	after := migrated(t, "v3", before)
	want := maps.Clone(before)
	want[types.KeyStateVersion] = "3"
	want[types.KeyVersionHistory] = `[{"version":2,"from":1},{"version":3,"from":2}]`
	withdrawn.WithdrawalKind = types.WithdrawConsent
	want[string(types.KeySubject("ST", "S1-002"))] = js(withdrawn)
	want[string(types.KeyUpgrade(2))] = js(types.Upgrade{UpgradePlan: types.UpgradePlan{Name: "v3", Height: 2}, Proposal: 1, Applied: 2})
	if !maps.Equal(after, want) {
		t.Errorf("after the migration:\n%v\nwant\n%v", after, want)
	}
}
