package app

import (
	"encoding/json"
	"fmt"

	"github.com/veritrial/veritrial/app/types"
)

// Upgrades: a consortium proposal decides an upgrade plan (name, height,
// release checksums), kept at types.KeyUpgrade(height). At that height a
// binary that carries the upgrade's migration runs it in the block;
// any other binary stops before executing the block. docs/UPGRADES.md.

// loadUpgrades reads every decided upgrade, in height order.
func loadUpgrades(tree iterator) ([]types.Upgrade, error) {
	var out []types.Upgrade
	var bad error
	err := iteratePrefix(tree, []byte(types.PrefixUpgrade), func(k, v []byte) bool {
		var u types.Upgrade
		if bad = json.Unmarshal(v, &u); bad != nil {
			bad = fmt.Errorf("corrupt record at %q: %w", k, bad)
			return false
		}
		out = append(out, u)
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
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
