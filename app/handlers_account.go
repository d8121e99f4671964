package app

import (
	"encoding/json"

	"github.com/veritrial/veritrial/app/types"
)

// target loads an account of the signer's own organisation.
func (x *exec) target(id string) (*types.Account, *types.Error) {
	var acct types.Account
	ok, e := x.load(types.KeyAccount(id), &acct)
	if e != nil {
		return nil, e
	}
	if !ok {
		return nil, types.Errf(types.CodeUnknownAccount, "account %q does not exist", id)
	}
	if acct.Org != x.c.org.ID {
		return nil, types.Errf(types.CodeWrongOrg, "account %q belongs to %s; only %s's own administrators can change it", id, acct.Org, acct.Org)
	}
	return &acct, nil
}

// record writes the account and the next entry of its history.
func (x *exec) record(acct *types.Account, action, reason string) {
	acct.Seq++
	x.st.setJSON(types.KeyAccount(acct.ID), acct)
	x.st.setJSON(types.KeyAccountChange(acct.ID, acct.Seq), types.AccountChange{
		Seq: acct.Seq, Action: action, Account: *acct, Reason: reason, Stamp: x.stamp(),
	})
	x.emit("account", acct.ID, "org", acct.Org)
}

// keyFree fails when pub was ever used by any account or validator.
func (x *exec) keyFree(pub []byte) *types.Error {
	for _, k := range [][]byte{types.KeyPubKey(pub), types.KeyValidatorKey(pub)} {
		used, err := x.st.has(k)
		if err != nil {
			return internal(err)
		}
		if used {
			return types.Errf(types.CodeKeyReused, "this public key is or was in use on the ledger; generate a new key (veritrial keys add)")
		}
	}
	return nil
}

func (x *exec) addAccount(m *types.MsgAddAccount) *types.Error {
	if ok, err := x.st.has(types.KeyAccount(m.Account)); err != nil {
		return internal(err)
	} else if ok {
		return types.Errf(types.CodeAccountExists, "account %q already exists; account IDs are never reused", m.Account)
	}
	if e := x.keyFree(m.PubKey); e != nil {
		return e
	}
	roles, e := types.NormalizeRoles(x.c.org.Kind, m.Roles)
	if e != nil {
		return e
	}
	acct := &types.Account{ID: m.Account, Org: x.c.org.ID, Name: m.Name, Roles: roles, PubKey: m.PubKey, Status: types.AccountActive, Created: x.stamp()}
	x.st.set(types.KeyPubKey(m.PubKey), []byte(m.Account))
	x.record(acct, "add", "")
	return nil
}

func (x *exec) setRoles(m *types.MsgSetRoles) *types.Error {
	acct, e := x.target(m.Account)
	if e != nil {
		return e
	}
	if acct.Status != types.AccountActive {
		return types.Errf(types.CodeSignerRevoked, "account %q is revoked; its roles cannot change", acct.ID)
	}
	roles, e := types.NormalizeRoles(x.c.org.Kind, m.Roles)
	if e != nil {
		return e
	}
	keepsAdmin := false
	for _, r := range roles {
		if r == types.RoleAdmin {
			keepsAdmin = true
		}
	}
	if acct.HasRole(types.RoleAdmin) && !keepsAdmin {
		if e := x.notLastAdmin(acct); e != nil {
			return e
		}
	}
	acct.Roles = roles
	x.record(acct, "set_roles", "")
	return nil
}

func (x *exec) rotateKey(m *types.MsgRotateKey) *types.Error {
	acct, e := x.target(m.Account)
	if e != nil {
		return e
	}
	if acct.Status != types.AccountActive {
		return types.Errf(types.CodeSignerRevoked, "account %q is revoked; its key cannot be rotated", acct.ID)
	}
	if e := x.keyFree(m.NewPubKey); e != nil {
		return e
	}
	acct.PubKey = m.NewPubKey
	x.st.set(types.KeyPubKey(m.NewPubKey), []byte(acct.ID))
	x.record(acct, "rotate_key", "")
	return nil
}

func (x *exec) revokeAccount(m *types.MsgRevokeAccount) *types.Error {
	acct, e := x.target(m.Account)
	if e != nil {
		return e
	}
	if acct.Status != types.AccountActive {
		return types.Errf(types.CodeSignerRevoked, "account %q is already revoked", acct.ID)
	}
	if acct.HasRole(types.RoleAdmin) {
		if e := x.notLastAdmin(acct); e != nil {
			return e
		}
	}
	acct.Status = types.AccountRevoked
	x.record(acct, "revoke", m.Reason)
	return nil
}

// notLastAdmin fails when acct is its organisation's only active admin.
func (x *exec) notLastAdmin(acct *types.Account) *types.Error {
	others := 0
	err := iteratePrefix(x.tree, []byte(types.PrefixAccount), func(_, v []byte) bool {
		var o types.Account
		if json.Unmarshal(v, &o) == nil && o.Org == acct.Org && o.ID != acct.ID && o.Status == types.AccountActive && o.HasRole(types.RoleAdmin) {
			others++
		}
		return true
	})
	if err != nil {
		return internal(err)
	}
	if others == 0 {
		return types.Errf(types.CodeLastAdmin, "%s is the last active administrator of %s; add another administrator first", acct.ID, acct.Org)
	}
	return nil
}
