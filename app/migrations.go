package app

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Migration moves the ledger from state-machine version From to From+1,
// in the block at the height of the upgrade named Upgrade, before the
// block's txs. Like a tx it must be deterministic: no wall clock, no map
// order, nothing from the node. It reads through st (which sees the
// state the block begins with) and tree (to iterate), and writes through
// st only; the registry (runUpgrade) then stores the new version.
type Migration struct {
	Upgrade string
	From    uint64
	Migrate func(st *txStore, tree iterator, height int64) error
}

// migrations is the registry: for each version below StateVersion(),
// the migration to the next one (TestUpgradeRegistry checks the chain). A
// new version of the state machine is a new migration here; the rules of
// older versions stay in the code, chosen by the ledger's stored
// version, so that old heights replay as they ran.
var migrations = []Migration{
	{Upgrade: "v2", From: 1, Migrate: migrateVersionHistory},
	{Upgrade: "v3", From: 2, Migrate: migrateWithdrawalKinds},
}

// migrationFor returns the registry's migration of upgrade name from
// version from, or nil when this binary does not carry it.
func migrationFor(name string, from uint64) *Migration {
	for i := range migrations {
		if m := &migrations[i]; m.Upgrade == name && m.From == from {
			return m
		}
	}
	return nil
}

// migrateVersionHistory (1 to 2) writes the version history a version-1
// ledger lacks: version 1 from the first block, version 2 from the
// upgrade height. From version 2 on, which version executed a height is
// one read of types.KeyVersionHistory, which every later migration
// extends (see runUpgrade), rather than a read of the version key at
// that height.
func migrateVersionHistory(st *txStore, _ iterator, height int64) error {
	st.setJSON([]byte(types.KeyVersionHistory), []types.VersionSpan{{Version: 1, From: 1}, {Version: 2, From: height}})
	return nil
}

// migrateWithdrawalKinds (2 to 3) gives every subject withdrawn before
// version 3 the withdrawal kind that matches the rule it was withdrawn
// under: nothing new could be entered for it, which version 3 calls a
// withdrawal of consent to further data collection.
func migrateWithdrawalKinds(st *txStore, tree iterator, _ int64) error {
	var bad error
	err := iteratePrefix(tree, []byte(types.PrefixSubject), func(k, v []byte) bool {
		var sub types.Subject
		if bad = json.Unmarshal(v, &sub); bad != nil {
			bad = fmt.Errorf("corrupt subject at %q: %w", k, bad)
			return false
		}
		if sub.Status == types.SubjectWithdrawn && sub.WithdrawalKind == "" {
			sub.WithdrawalKind = types.WithdrawConsent
			st.setJSON(bytes.Clone(k), &sub)
		}
		return true
	})
	if err != nil {
		return err
	}
	return bad
}
