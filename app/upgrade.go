package app

import (
	"fmt"
	"runtime"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/veritrial/veritrial/app/types"
)

// Upgrades: a consortium proposal decides an upgrade plan (name, height,
// release checksums), kept at types.KeyUpgrade(height). At that height a
// binary that carries the upgrade's migration runs it in the block;
// any other binary stops before executing the block. docs/UPGRADES.md.

// loadUpgrades reads every decided upgrade, in height order.
func loadUpgrades(tree iterator) ([]types.Upgrade, error) {
	return decodePrefix[types.Upgrade](tree, types.PrefixUpgrade)
}

// pendingUpgrade returns the upgrade decided and not yet applied, or nil:
// at most one is pending, the last.
func pendingUpgrade(tree iterator) (*types.Upgrade, error) {
	us, err := loadUpgrades(tree)
	if err != nil || len(us) == 0 || us[len(us)-1].Applied != 0 {
		return nil, err
	}
	return &us[len(us)-1], nil
}

// planUpgrade checks an upgrade plan against the ledger: its height far
// enough ahead of this block, no other upgrade pending, its name new.
// The vote that decides the plan checks it again.
func (x *exec) planUpgrade(p *types.UpgradePlan) *types.Error {
	if min := x.height + types.MinUpgradeMargin; p.Height < min {
		return types.Errf(types.CodeUpgradeHeight, "upgrade height %d is too soon: the ledger is at height %d and an upgrade needs %d blocks' notice, so height %d or later", p.Height, x.height, types.MinUpgradeMargin, min)
	}
	us, err := loadUpgrades(x.tree)
	if err != nil {
		return internal(err)
	}
	for _, u := range us {
		if u.Applied == 0 {
			return types.Errf(types.CodeUpgradePending, "upgrade %s is pending at height %d; one upgrade at a time", u.Name, u.Height)
		}
		if u.Name == p.Name {
			return types.Errf(types.CodeUpgradeNameUsed, "upgrade name %s was used by the upgrade at height %d; names are never reused", u.Name, u.Height)
		}
	}
	return nil
}

// runUpgrade runs, before the txs of the block at height, the upgrade
// decided for that height: the binary's migration from the ledger's
// version, then the new version, the version history and the upgrade's
// Applied height, all in the block's working tree. It returns the
// consensus parameter update that carries the new app version into the
// headers from height+1 on, or nil when no upgrade is due. A binary that
// does not carry the upgrade returns an error: FinalizeBlock fails, and
// CometBFT halts the node before it commits the height. The caller holds
// mu.
func (a *App) runUpgrade(height int64) (*cmtproto.ConsensusParams, error) {
	u, err := pendingUpgrade(a.store.tree)
	switch {
	case err != nil:
		return nil, err
	case u == nil || u.Height > height:
		return nil, nil
	case u.Height < height:
		return nil, fmt.Errorf("upgrade %s was due at height %d and never ran; the ledger is damaged", u.Name, u.Height)
	}
	from, err := readStateVersion(a.store.tree)
	if err != nil {
		return nil, err
	}
	m := migrationFor(u.Name, from)
	if m == nil {
		err := &UpgradeNeededError{Upgrade: *u}
		if a.needed.CompareAndSwap(nil, err) {
			a.log.Error(err.Error())
		}
		return nil, err
	}
	to := from + 1
	st := newTxStore(a.store.tree)
	if err := m.Migrate(&exec{a: a, st: st, tree: a.store.tree, height: height, version: to}); err != nil {
		return nil, fmt.Errorf("migration of upgrade %s from version %d: %w", u.Name, from, err)
	}
	var spans []types.VersionSpan
	if _, err := st.getJSON([]byte(types.KeyVersionHistory), &spans); err != nil {
		return nil, err
	}
	if len(spans) == 0 || spans[len(spans)-1].Version != to {
		st.setJSON([]byte(types.KeyVersionHistory), append(spans, types.VersionSpan{Version: to, From: height}))
	}
	setStateVersion(st, to)
	u.Applied = height
	st.setJSON(types.KeyUpgrade(u.Height), u)
	if err := st.flush(a.store.tree); err != nil {
		return nil, err
	}
	a.blockReads.reset()
	a.vmu.Lock()
	clear(a.versions) // a migration may rewrite protocol versions
	a.vmu.Unlock()
	a.log.Info("upgrade applied: the ledger runs the next state-machine version from this height", "upgrade", u.Name, "height", height, "from", from, "to", to)
	return &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: to}}, nil
}

// UpgradeNeededError is the error of a binary that reached the height of
// a decided upgrade it does not carry: it stops before executing the
// block of that height, and its operator starts the release that carries
// the upgrade.
type UpgradeNeededError struct {
	Upgrade types.Upgrade
}

func (e *UpgradeNeededError) Error() string {
	u := &e.Upgrade
	return fmt.Sprintf("UPGRADE %s NEEDED at height %d: the consortium decided it (proposal %d) and this binary (state machine version %d) does not carry it. This node stops at height %d, before executing the block. Start the release that carries upgrade %s%s on the same home; docs/UPGRADES.md",
		u.Name, u.Height, u.Proposal, StateVersion(), u.Height-1, u.Name, checksumHint(&u.UpgradePlan))
}

// UpgradeNeeded returns the upgrade this binary stopped at, once a block
// of its height failed for want of its migration (the node's consensus
// then stops), or nil.
func (a *App) UpgradeNeeded() *UpgradeNeededError { return a.needed.Load() }

// checksumHint names the release binary for this platform by the
// checksum the plan gives, if any.
func checksumHint(p *types.UpgradePlan) string {
	if sum := p.Checksum(Platform); sum != "" {
		return " (for " + Platform + ", SHA-256 " + sum + ")"
	}
	return ""
}

// Platform is the GOOS/GOARCH this binary was built for.
const Platform = runtime.GOOS + "/" + runtime.GOARCH

// CheckRelease refuses to run this binary on the ledger when it is not
// the release for the ledger's next block: a ledger already upgraded
// beyond this binary's state-machine version; a ledger with an upgrade
// this binary carries pending, before the height just below it (the
// previous release executes the blocks up to there); and, at that
// height, a binary whose SHA-256 (in hex, from
// sum, called only then) is not the one the consortium decided for its
// platform. veritrial start calls it before the node starts.
func (a *App) CheckRelease(sum func() (string, error)) error {
	a.cmu.Lock()
	v, h, t := a.checkedVersion, a.checkedHeight, a.checked
	a.cmu.Unlock()
	switch {
	case t == nil || v == StateVersion():
		return nil
	case v > StateVersion():
		return fmt.Errorf("the ledger is at state-machine version %d since an upgrade, beyond this binary's version %d: start the release of that upgrade (veritrial consortium proposals lists it)", v, StateVersion())
	}
	u, err := pendingUpgrade(t)
	if err != nil || u == nil || migrationFor(u.Name, v) == nil {
		return err // it runs the ledger's version, and stops at any upgrade
	}
	if h != u.Height-1 {
		return fmt.Errorf("this binary carries upgrade %s, due at height %d, but the ledger is at height %d: run the previous release until it stops at height %d, then start this one", u.Name, u.Height, h, u.Height-1)
	}
	want := u.Checksum(Platform)
	if want == "" {
		return nil
	}
	got, err := sum()
	if err != nil {
		return fmt.Errorf("checking this binary against upgrade %s: %w", u.Name, err)
	}
	if got != want {
		return fmt.Errorf("this binary's SHA-256 is %s, but upgrade %s (proposal %d) decided %s for %s: it is not the release the consortium agreed on; rebuild it with make release from the same commit, or obtain the release (docs/UPGRADES.md)", got, u.Name, u.Proposal, want, Platform)
	}
	return nil
}
