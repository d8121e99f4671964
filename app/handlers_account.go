package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

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

// activeTarget loads an active account of the signer's own organisation;
// what says what a revoked one cannot have done.
func (x *exec) activeTarget(id, what string) (*types.Account, *types.Error) {
	acct, e := x.target(id)
	if e != nil {
		return nil, e
	}
	if acct.Status != types.AccountActive {
		return nil, types.Errf(types.CodeSignerRevoked, "account %q is revoked; %s", acct.ID, what)
	}
	return acct, nil
}

// record writes the account and the next entry of its history, ch with
// its number, the account and this tx's stamp.
func (x *exec) record(acct *types.Account, ch types.AccountChange) {
	acct.Seq++
	ch.Seq, ch.Account, ch.Stamp = acct.Seq, *acct, x.stamp()
	x.st.setJSON(types.KeyAccount(acct.ID), acct)
	x.st.setJSON(types.KeyAccountChange(acct.ID, acct.Seq), ch)
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
	x.record(acct, types.AccountChange{Action: "add"})
	return nil
}

func (x *exec) setRoles(m *types.MsgSetRoles) *types.Error {
	acct, e := x.activeTarget(m.Account, "its roles cannot change")
	if e != nil {
		return e
	}
	roles, e := types.NormalizeRoles(x.c.org.Kind, m.Roles)
	if e != nil {
		return e
	}
	if acct.HasRole(types.RoleNode) || slices.Contains(roles, types.RoleNode) {
		return types.Errf(types.CodeInvalidRole, "the node role is neither given to nor taken from an existing account: add a node account with the role node alone (veritrial account add), and revoke one that is no longer needed")
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
	x.record(acct, types.AccountChange{Action: "set_roles"})
	return nil
}

// Key rotation takes two people when it is not one's own (21 CFR
// 11.200(a)(3)): a person rotates their own key at once, but an
// administrator's rotation of another person's key is a request, applied
// when a second person approves it, another administrator of the
// organisation or the person with their current key, within the
// genesis' key_rotation_ttl blocks. A newer request replaces a pending one; the
// person's own rotation or the account's revocation voids it.

func (x *exec) rotateKey(m *types.MsgRotateKey) *types.Error {
	acct, e := x.activeTarget(m.Account, "its key cannot be rotated")
	if e != nil {
		return e
	}
	if e := x.keyFree(m.NewPubKey); e != nil {
		return e
	}
	if acct.ID != x.c.signer.ID {
		r := types.KeyRotation{Account: acct.ID, OldPubKey: acct.PubKey, NewPubKey: m.NewPubKey, Status: types.RotationPending,
			Requested: x.stamp(), Expires: x.height + x.a.params.KeyRotationTTL}
		x.st.setJSON(types.KeyKeyRotation(acct.ID), r)
		x.record(acct, types.AccountChange{Action: "rotate_key_request", Reason: fmt.Sprintf(
			"new key %s requested; it applies when another administrator of %s, or %s with its current key, approves it by height %d",
			types.KeyText(m.NewPubKey), acct.Org, acct.ID, r.Expires)})
		return nil
	}
	if e := x.voidRotation(acct.ID, "the person rotated the key"); e != nil {
		return e
	}
	x.applyRotation(acct, m.NewPubKey, nil)
	return nil
}

// approveKeyRotation applies the pending request to rotate an account's
// key, approved by a second person.
func (x *exec) approveKeyRotation(m *types.MsgApproveKeyRotation) *types.Error {
	acct, e := x.activeTarget(m.Account, "its key cannot be rotated")
	if e != nil {
		return e
	}
	var r types.KeyRotation
	ok, e := x.load(types.KeyKeyRotation(acct.ID), &r)
	if e != nil {
		return e
	}
	switch {
	case !ok || r.Status != types.RotationPending:
		return types.Errf(types.CodeNoRotation, "no request to rotate the key of %s is pending; an administrator requests one (veritrial account rotate)", acct.ID)
	case r.StatusAt(x.height) == types.RotationExpired:
		return types.Errf(types.CodeRotationExpired, "the request of %s to rotate the key of %s expired at height %d; request it again", r.Requested.Signer, acct.ID, r.Expires)
	case !bytes.Equal(r.NewPubKey, m.NewPubKey):
		return types.Errf(types.CodeNoRotation, "the pending request rotates the key of %s to %s, not to the key this approval names", acct.ID, types.KeyText(r.NewPubKey))
	case r.Requested.Signer == x.c.signer.ID:
		return types.Errf(types.CodeOwnRotation, "%s requested this rotation; a second person approves it: another administrator of %s, or %s with its current key", x.c.signer.ID, acct.Org, acct.ID)
	}
	if e := x.keyFree(r.NewPubKey); e != nil {
		return e
	}
	st := x.stamp()
	r.Status, r.Decided = types.RotationApproved, &st
	x.st.setJSON(types.KeyKeyRotation(acct.ID), r)
	x.applyRotation(acct, r.NewPubKey, &r.Requested)
	return nil
}

// applyRotation gives acct the key pub; requested is the stamp of the
// request a second person approved, nil for one's own rotation.
func (x *exec) applyRotation(acct *types.Account, pub []byte, requested *types.Stamp) {
	acct.PubKey = pub
	x.st.set(types.KeyPubKey(pub), []byte(acct.ID))
	x.record(acct, types.AccountChange{Action: "rotate_key", Requested: requested})
}

// voidRotation marks void a pending request to rotate the key of account.
func (x *exec) voidRotation(account, why string) *types.Error {
	var r types.KeyRotation
	ok, e := x.load(types.KeyKeyRotation(account), &r)
	if e != nil || !ok || r.Status != types.RotationPending {
		return e
	}
	st := x.stamp()
	r.Status, r.Decided = types.RotationVoid, &st
	x.st.setJSON(types.KeyKeyRotation(account), r)
	x.emit("account", account, "action", "rotate_key_request_void", "reason", why)
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
	if e := x.voidRotation(acct.ID, "the account was revoked"); e != nil {
		return e
	}
	acct.Status = types.AccountRevoked
	x.record(acct, types.AccountChange{Action: "revoke", Reason: m.Reason})
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
