package app

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
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

// TestUpgradeMigrationV3SAEs: upgrade v3 opens the SAE record of every
// row of an AE form entered under version 2 that says serious now, as
// version 3 would have: the clock of a row serious from the first entry
// starts at that entry and the correction that changed it is its
// follow-up; the clock of a row a correction turned serious starts at
// that correction. A row never serious, a row no longer serious and a
// form whose protocol names no seriousness item get none.
func TestUpgradeMigrationV3SAEs(t *testing.T) {
	js := func(v any) string { bz, _ := json.Marshal(v); return string(bz) }
	version := func(p *protocol.Protocol) string {
		fp, err := p.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return js(types.ProtocolVersion{Study: p.Study.ID, Number: 1, Label: p.Study.Version, Fingerprint: fp, Protocol: *p})
	}
	// plain is the example without its seriousness item.
	safety, plain := protocol.Example(), protocol.Example()
	plain.Study.ID = "OTHER"
	for i := range plain.Forms {
		plain.Forms[i].SeriousItem = ""
	}
	row := func(r int, serious, outcome string) []protocol.ItemValue {
		return []protocol.ItemValue{
			{Item: "AE.TERM", Repeat: r, Value: "headache"},
			{Item: "AE.SER", Repeat: r, Value: serious},
			{Item: "AE.OUT", Repeat: r, Value: outcome},
		}
	}
	// Row 1 serious from the first entry, row 2 turned serious by the
	// correction, row 3 never serious, row 4 serious no longer.
	ae := types.FormKey{Study: safety.Study.ID, Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}
	entered := types.FormRecord{FormKey: ae, Version: 1, ProtocolVersion: 1,
		Values: slices.Concat(row(1, "1", "1"), row(2, "0", "1"), row(3, "0", "1"), row(4, "1", "1")),
		Stamp:  types.Stamp{Height: 1, Time: "2026-01-05T10:00:00Z", Signer: "site1-coordinator"}}
	corrected := types.FormRecord{FormKey: ae, Version: 2, ProtocolVersion: 1,
		Values: slices.Concat(row(1, "1", "2"), row(2, "1", "1"), row(3, "0", "1"), row(4, "0", "1")),
		Reason: "outcome known; second event hospitalised; fourth was not serious",
		Stamp:  types.Stamp{Height: 3, Time: "2026-01-09T10:00:00Z", Signer: "site1-coordinator"}}
	other := types.FormKey{Study: plain.Study.ID, Subject: "S1-001", Event: "W4", EventRepeat: 1, Form: "AE"}
	unmarked := types.FormRecord{FormKey: other, Version: 1, ProtocolVersion: 1, Values: row(1, "1", "1"), Stamp: entered.Stamp}
	before := map[string]string{
		types.KeyStateVersion:                               "2",
		types.KeyVersionHistory:                             `[{"version":2,"from":1}]`,
		string(types.KeyProtocol(safety.Study.ID, 1)):       version(safety),
		string(types.KeyProtocol(plain.Study.ID, 1)):        version(plain),
		string(types.KeySubject(safety.Study.ID, "S1-001")): js(types.Subject{Study: safety.Study.ID, ID: "S1-001", Site: "site1", Status: types.SubjectEnrolled}),
		string(types.KeySubject(plain.Study.ID, "S1-001")):  js(types.Subject{Study: plain.Study.ID, ID: "S1-001", Site: "site1", Status: types.SubjectEnrolled}),
		string(types.KeyFormHistory(ae, 1)):                 js(entered),
		string(types.KeyForm(ae)):                           js(corrected),
		string(types.KeyForm(other)):                        js(unmarked),
	}
	after := migrated(t, "v3", before)
	want := maps.Clone(before)
	want[types.KeyStateVersion] = "3"
	want[types.KeyVersionHistory] = `[{"version":2,"from":1},{"version":3,"from":2}]`
	want[string(types.KeyUpgrade(2))] = js(types.Upgrade{UpgradePlan: types.UpgradePlan{Name: "v3", Height: 2}, Proposal: 1, Applied: 2})
	want[string(types.KeySAE(ae, 1))] = js(types.SAE{FormKey: ae, Row: 1, Site: "site1", FormVersion: 1, Opened: entered.Stamp,
		FollowUps: []types.SAEFollowUp{{FormVersion: 2, Serious: true, Stamp: corrected.Stamp}}})
	want[string(types.KeySAE(ae, 2))] = js(types.SAE{FormKey: ae, Row: 2, Site: "site1", FormVersion: 2, Opened: corrected.Stamp})
	if !maps.Equal(after, want) {
		for k, v := range after {
			if want[k] != v {
				t.Errorf("after the migration, %s =\n%s\nwant\n%s", k, v, want[k])
			}
		}
		for k := range want {
			if _, ok := after[k]; !ok {
				t.Errorf("after the migration, no %s", k)
			}
		}
	}
}

// TestUpgradeMigrationV4: on a version-3 ledger upgrade v4 moves every
// nonce still within its expiry into the list of its expiry height,
// filed under the height before the upgrade, entries in byte order, and
// removes the per-tx records; the expired one is pruned as in every
// block; every other record stays as it was.
func TestUpgradeMigrationV4(t *testing.T) {
	nonce := func(expires int64, signer, n string) string { return string(types.KeyNonce(expires, signer, n)) }
	before := map[string]string{
		types.KeyStateVersion:                              "3",
		types.KeyVersionHistory:                            `[{"version":3,"from":1}]`,
		string(types.KeyOrg("site-1")):                     `{"id":"site-1","kind":"site","status":"active"}`,
		nonce(1, "site1-admin", "00000000000000a1"):        "\x01",
		nonce(10, "site1-coordinator", "00000000000000b2"): "\x01",
		nonce(10, "site1-admin", "00000000000000b1"):       "\x01",
		nonce(10, "site1-admin", "00000000000000a9"):       "\x01",
		nonce(12, "sponsor-admin", "00000000000000c1"):     "\x01",
	}
	after := migrated(t, "v4", before)
	want := map[string]string{
		types.KeyStateVersion:             "4",
		types.KeyVersionHistory:           `[{"version":3,"from":1},{"version":4,"from":2}]`,
		string(types.KeyOrg("site-1")):    before[string(types.KeyOrg("site-1"))],
		string(types.KeyNonceList(10, 1)): "site1-admin/00000000000000a9\nsite1-admin/00000000000000b1\nsite1-coordinator/00000000000000b2\n",
		string(types.KeyNonceList(12, 1)): "sponsor-admin/00000000000000c1\n",
	}
	u, _ := json.Marshal(types.Upgrade{UpgradePlan: types.UpgradePlan{Name: "v4", Height: 2}, Proposal: 1, Applied: 2})
	want[string(types.KeyUpgrade(2))] = string(u)
	if !maps.Equal(after, want) {
		t.Errorf("after the migration:\n%q\nwant\n%q", after, want)
	}
}
