package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Migration moves the ledger from state-machine version From to From+1,
// in the block at the height of the upgrade named Upgrade, before the
// block's txs. Like a tx it must be deterministic: no wall clock, no map
// order, nothing from the node. It reads through st (which sees the
// state the block begins with) and tree (to iterate), and writes through
// st only, both in x, the context of the block at the upgrade's height
// (no tx: x carries no signer); the registry (runUpgrade) then stores the
// new version.
type Migration struct {
	Upgrade string
	From    uint64
	Migrate func(x *exec) error
}

// migrations is the registry: for each version below StateVersion(),
// the migration to the next one (TestUpgradeRegistry checks the chain). A
// new version of the state machine is a new migration here; the rules of
// older versions stay in the code, chosen by the ledger's stored
// version, so that old heights replay as they ran.
var migrations = []Migration{
	{Upgrade: "v2", From: 1, Migrate: migrateVersionHistory},
	{Upgrade: "v3", From: 2, Migrate: migrateV3},
	{Upgrade: "v4", From: 3, Migrate: migrateNonceLists},
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
func migrateVersionHistory(x *exec) error {
	x.st.setJSON([]byte(types.KeyVersionHistory), []types.VersionSpan{{Version: 1, From: 1}, {Version: 2, From: x.height}})
	return nil
}

// migrateV3 (2 to 3) brings forward the two version-3 rules that
// concern records made before it: withdrawal kinds
// (migrateWithdrawalKinds) and SAE records (migrateSAEs).
func migrateV3(x *exec) error {
	if err := migrateWithdrawalKinds(x); err != nil {
		return err
	}
	return migrateSAEs(x)
}

// migrateWithdrawalKinds gives every subject withdrawn before version 3
// the withdrawal kind that matches the rule it was withdrawn under:
// nothing new could be entered for it, which version 3 calls a withdrawal
// of consent to further data collection.
func migrateWithdrawalKinds(x *exec) error {
	var bad error
	err := iteratePrefix(x.tree, []byte(types.PrefixSubject), func(k, v []byte) bool {
		var sub types.Subject
		if bad = json.Unmarshal(v, &sub); bad != nil {
			bad = fmt.Errorf("corrupt subject at %q: %w", k, bad)
			return false
		}
		if sub.Status == types.SubjectWithdrawn && sub.WithdrawalKind == "" {
			sub.WithdrawalKind = types.WithdrawConsent
			x.st.setJSON(bytes.Clone(k), &sub)
		}
		return true
	})
	if err != nil {
		return err
	}
	return bad
}

// migrateSAEs opens the SAE records that version 3 would have opened for
// the forms entered before it: for every form (in key order) whose
// current values say yes in a row's seriousness item, under the protocol
// version the form is judged under, it applies the SAE rule (saeRule) to
// each of the form's versions, oldest first, under the protocol version
// that version was judged under and stamped as that version was, and
// stores the records of the rows serious now. A record's clock thus
// starts at the version in which its row first became serious, and the
// later versions that changed the row are its follow-up reports. A row
// that is not serious now gets no record, nor does any form whose
// protocol versions name no seriousness item.
func migrateSAEs(x *exec) error {
	var forms [][]byte
	if err := iteratePrefix(x.tree, []byte(types.PrefixForm), func(k, _ []byte) bool {
		forms = append(forms, bytes.Clone(k))
		return true
	}); err != nil {
		return err
	}
	for _, k := range forms {
		if err := migrateFormSAEs(x, k); err != nil {
			return err
		}
	}
	return nil
}

// migrateFormSAEs opens the SAE records of the form at key k (see
// migrateSAEs).
func migrateFormSAEs(x *exec, k []byte) error {
	var cur types.FormRecord
	if _, err := x.st.getJSON(k, &cur); err != nil {
		return fmt.Errorf("form at %q: %w", k, err)
	}
	_, c, e := x.protocolVersion(cur.Study, cur.ProtocolVersion)
	if e != nil {
		return e
	}
	serious := c.SeriousRows(cur.Form, cur.Values)
	if len(serious) == 0 {
		return nil
	}
	var sub types.Subject
	if ok, e := x.load(types.KeySubject(cur.Study, cur.Subject), &sub); e != nil {
		return e
	} else if !ok {
		return fmt.Errorf("form at %q: subject %s of study %s is missing", k, cur.Subject, cur.Study)
	}
	var saes []types.SAE
	var old []protocol.ItemValue
	for v := 1; v <= cur.Version; v++ {
		rec := cur
		if v < cur.Version {
			rec = types.FormRecord{}
			if ok, e := x.load(types.KeyFormHistory(cur.FormKey, v), &rec); e != nil {
				return e
			} else if !ok {
				return fmt.Errorf("form at %q: version %d is missing from its history", k, v)
			}
		}
		_, c, e := x.protocolVersion(rec.Study, rec.ProtocolVersion)
		if e != nil {
			return e
		}
		saes, _ = saeRule(c, sub.Site, &rec, old, saes, rec.Stamp)
		old = rec.Values
	}
	for _, s := range saes {
		if slices.Contains(serious, s.Row) {
			x.st.setJSON(types.KeySAE(cur.FormKey, s.Row), s)
		}
	}
	return nil
}

// migrateNonceLists (3 to 4) moves the nonces of the txs still within
// their expiry from one key per tx (types.KeyNonce) into version 4's
// lists (types.KeyNonceList), one per expiry height, filed under the
// height before the upgrade (they were all used at or before it; the
// upgrade's own block files its nonces under its height). The per-tx
// keys are removed: from version 4 a nonce is looked up in the lists
// only. The Bloom filter's entries stay as they are, as nonces keep their
// identity (see nonceListsSince).
func migrateNonceLists(x *exec) error {
	prefix := []byte(types.PrefixNonce)
	byExpiry := map[int64][][]byte{}
	var expiries []int64
	var bad error
	err := iteratePrefix(x.tree, prefix, func(k, _ []byte) bool {
		expires, err := nonceExpiry(k)
		if err != nil {
			bad = err
			return false
		}
		entry, _ := nonceEntry(k) // well formed: its expiry parsed
		if _, ok := byExpiry[expires]; !ok {
			expiries = append(expiries, expires)
		}
		byExpiry[expires] = append(byExpiry[expires], entry)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return err
	}
	for _, expires := range expiries { // in key order, so ascending
		x.st.set(types.KeyNonceList(expires, x.height-1), joinNonceList(byExpiry[expires]))
	}
	return x.a.removeRange(prefix, types.PrefixEnd(prefix))
}
