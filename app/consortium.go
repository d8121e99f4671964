package app

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// consortium is the ledger's organisations and governance record as one
// governance tx reads them. A change is applied to a copy in memory and
// checked against the rules (checkRules) before anything is written.
type consortium struct {
	orgs []types.Org // in ID order, removed ones included
	gov  types.Governance
	// accounts are the accounts the change creates: an added
	// organisation's first administrator and its node account.
	accounts []types.Account
	// upgrade is the upgrade the change decides.
	upgrade *types.UpgradePlan
}

// loadConsortium reads every organisation and the governance record.
func (x *exec) loadConsortium() (*consortium, *types.Error) {
	orgs, e := loadPrefix[types.Org](x, []byte(types.PrefixOrg))
	if e != nil {
		return nil, e
	}
	c := &consortium{orgs: orgs}
	ok, e := x.load(types.KeyGovernance, &c.gov)
	if e != nil {
		return nil, e
	}
	if !ok {
		return nil, types.Errf(types.CodeInternal, "the governance record is missing")
	}
	return c, nil
}

// clone copies c deeply enough to change it.
func (c *consortium) clone() *consortium {
	out := &consortium{orgs: make([]types.Org, len(c.orgs)), gov: c.gov, accounts: slices.Clone(c.accounts), upgrade: c.upgrade}
	for i, o := range c.orgs {
		o.Validators = slices.Clone(o.Validators)
		o.NodeIDs = slices.Clone(o.NodeIDs)
		out.orgs[i] = o
	}
	return out
}

// org returns organisation id, or nil.
func (c *consortium) org(id string) *types.Org {
	for i := range c.orgs {
		if c.orgs[i].ID == id {
			return &c.orgs[i]
		}
	}
	return nil
}

// member returns organisation id or fails with unknown_organisation.
func (c *consortium) member(id string) (*types.Org, *types.Error) {
	o := c.org(id)
	if o == nil {
		return nil, types.Errf(types.CodeUnknownOrg, "organisation %q is not a member of this consortium", id)
	}
	return o, nil
}

// voters lists the voting organisations' IDs.
func (c *consortium) voters() []string {
	var out []string
	for i := range c.orgs {
		if c.orgs[i].Voting() {
			out = append(out, c.orgs[i].ID)
		}
	}
	return out
}

// validatorSet maps the key of every validator in consensus to its power.
func validatorSet(orgs []types.Org) map[string]int64 {
	set := map[string]int64{}
	for i := range orgs {
		if !orgs[i].Active() {
			continue
		}
		for _, v := range orgs[i].Validators {
			if v.Retired == 0 {
				set[string(v.PubKey)] = v.Power
			}
		}
	}
	return set
}

// powers maps every organisation that holds power to its power.
func (c *consortium) powers() map[string]int64 {
	out := map[string]int64{}
	for i := range c.orgs {
		if p := c.orgs[i].Power(); p > 0 {
			out[c.orgs[i].ID] = p
		}
	}
	return out
}

// largest returns the organisation holding the most power (the first in
// ID order on a tie), its power and the total.
func (c *consortium) largest() (org string, most, total int64) {
	for i := range c.orgs {
		p := c.orgs[i].Power()
		total += p
		if p > most {
			org, most = c.orgs[i].ID, p
		}
	}
	return org, most, total
}

// apply applies a change to a copy of c, checks the result against the
// rules and returns it; c is unchanged. The tx's height marks the keys it
// retires, its stamp the accounts it creates.
func (x *exec) apply(c *consortium, ch *types.Change) (*consortium, *types.Error) {
	_, body, e := ch.Unpack()
	if e != nil {
		return nil, e
	}
	after := c.clone()
	switch b := body.(type) {
	case *types.AddOrg:
		e = x.addOrg(after, b)
	case *types.OrgRef:
		e = setOrgStatus(after, ch, b.Org)
	case *types.ValidatorChange:
		e = x.changeValidator(after, b)
	case *types.NodesChange:
		e = changeNodes(after, b)
	case *types.GovParams:
		if *b == after.gov.Params {
			return nil, types.Errf(types.CodeNoChange, "these are the governance rules in force already")
		}
		after.gov.Params = *b
	case *types.UpgradePlan:
		e = x.planUpgrade(b)
		after.upgrade = b
	default:
		return nil, types.Errf(types.CodeInvalidMsg, "unknown consortium change")
	}
	if e != nil {
		return nil, e
	}
	if e := x.checkRules(c, after); e != nil {
		return nil, e
	}
	return after, nil
}

func (x *exec) addOrg(c *consortium, m *types.AddOrg) *types.Error {
	if c.org(m.Org) != nil {
		return types.Errf(types.CodeOrgExists, "organisation %s already exists (or existed); organisation IDs are never reused", m.Org)
	}
	if len(c.orgs) >= types.MaxOrgs {
		return types.Errf(types.CodeConsortiumLimit, "the consortium has %d organisations, the most it can have", len(c.orgs))
	}
	accounts := []types.NewAccount{{ID: m.Admin, Name: m.AdminName, PubKey: m.AdminPubKey}}
	roles := []types.Role{types.RoleAdmin}
	if m.NodeAccount != nil {
		accounts, roles = append(accounts, *m.NodeAccount), append(roles, types.RoleNode)
	}
	for i, a := range accounts {
		if ok, err := x.st.has(types.KeyAccount(a.ID)); err != nil {
			return internal(err)
		} else if ok {
			return types.Errf(types.CodeAccountExists, "account %q already exists; choose another ID for the %s account", a.ID, roles[i])
		}
		if e := x.keyFree(a.PubKey); e != nil {
			return e
		}
	}
	o := types.Org{ID: m.Org, Name: m.Name, Kind: m.Kind, Status: types.OrgActive, NodeIDs: slices.Clone(m.NodeIDs)}
	if m.Validator != nil {
		o.Validators = []types.Validator{*m.Validator}
	}
	c.orgs = append(c.orgs, o)
	types.SortOrgs(c.orgs)
	for i, a := range accounts {
		c.accounts = append(c.accounts, types.Account{ID: a.ID, Org: m.Org, Name: a.Name, Roles: []types.Role{roles[i]},
			PubKey: a.PubKey, Status: types.AccountActive, Created: x.stamp()})
	}
	return nil
}

// setOrgStatus suspends, reinstates or removes an organisation.
func setOrgStatus(c *consortium, ch *types.Change, id string) *types.Error {
	o, e := c.member(id)
	if e != nil {
		return e
	}
	var from []types.OrgStatus
	var to types.OrgStatus
	switch {
	case ch.SuspendOrg != nil:
		from, to = []types.OrgStatus{types.OrgActive}, types.OrgSuspended
	case ch.ReinstateOrg != nil:
		from, to = []types.OrgStatus{types.OrgSuspended}, types.OrgActive
	default:
		from, to = []types.OrgStatus{types.OrgActive, types.OrgSuspended}, types.OrgRemoved
	}
	if !slices.Contains(from, o.Status) {
		return types.Errf(types.CodeOrgStatus, "organisation %s is %s; only an organisation that is %s can become %s", o.ID, o.Status, joinStatuses(from), to)
	}
	o.Status = to
	return nil
}

func joinStatuses(ss []types.OrgStatus) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, " or ")
}

// changeable returns organisation id unless it was removed; what names
// what would change.
func (c *consortium) changeable(id, what string) (*types.Org, *types.Error) {
	o, e := c.member(id)
	if e == nil && o.Status == types.OrgRemoved {
		e = types.Errf(types.CodeOrgStatus, "organisation %s was removed; its %s cannot change", o.ID, what)
	}
	return o, e
}

// changeValidator adds, re-weights, removes or rotates a validator (see
// types.ValidatorChange).
func (x *exec) changeValidator(c *consortium, m *types.ValidatorChange) *types.Error {
	o, e := c.changeable(m.Org, "validators")
	if e != nil {
		return e
	}
	cur := o.InService(m.PubKey)
	if cur == nil && slices.ContainsFunc(o.Validators, func(v types.Validator) bool { return bytes.Equal(v.PubKey, m.PubKey) }) {
		return types.Errf(types.CodeValidatorKeyUsed, "validator key %s of %s was retired; a key never comes back: generate a new validator key", types.KeyText(m.PubKey), o.ID)
	}
	switch {
	case m.Replaces != nil && cur != nil:
		return types.Errf(types.CodeValidatorKeyUsed, "validator key %s is in service already; a rotation needs a new key", types.KeyText(m.PubKey))
	case m.Replaces != nil:
		old := o.InService(m.Replaces)
		if old == nil {
			return types.Errf(types.CodeUnknownValidator, "%s is not a validator in service of %s; nothing to rotate", types.KeyText(m.Replaces), o.ID)
		}
		nv := types.Validator{PubKey: m.PubKey, Power: cmp.Or(m.Power, old.Power), NodeID: cmp.Or(m.NodeID, old.NodeID), Host: cmp.Or(m.Host, old.Host)}
		old.Retired = x.height
		o.Validators = append(o.Validators, nv)
	case cur != nil:
		if m.Power == cur.Power && cmp.Or(m.NodeID, cur.NodeID) == cur.NodeID && cmp.Or(m.Host, cur.Host) == cur.Host {
			return types.Errf(types.CodeNoChange, "validator %s of %s already has power %d on node %s", types.KeyText(m.PubKey), o.ID, cur.Power, cur.NodeID)
		}
		if m.Power == 0 {
			cur.Retired = x.height
		} else {
			cur.Power = m.Power
		}
		cur.NodeID, cur.Host = cmp.Or(m.NodeID, cur.NodeID), cmp.Or(m.Host, cur.Host)
	default:
		if m.Power == 0 {
			return types.Errf(types.CodeUnknownValidator, "%s is not a validator in service of %s; to add it give its power", types.KeyText(m.PubKey), o.ID)
		}
		if m.NodeID == "" {
			return types.Errf(types.CodeInvalidMsg, "a new validator needs the node ID of the node that runs it")
		}
		o.Validators = append(o.Validators, types.Validator{PubKey: m.PubKey, Power: m.Power, NodeID: m.NodeID, Host: m.Host})
	}
	if o.InServiceCount() > types.MaxOrgValidators {
		return types.Errf(types.CodeConsortiumLimit, "%s would run %d validators, above the limit of %d", o.ID, o.InServiceCount(), types.MaxOrgValidators)
	}
	return nil
}

func changeNodes(c *consortium, m *types.NodesChange) *types.Error {
	o, e := c.changeable(m.Org, "nodes")
	if e != nil {
		return e
	}
	ids := slices.Clone(m.NodeIDs)
	slices.Sort(ids)
	if slices.Equal(ids, o.NodeIDs) {
		return types.Errf(types.CodeNoChange, "these are the node IDs of %s already", o.ID)
	}
	o.NodeIDs = ids
	return nil
}

// checkRules refuses a consortium that would break the chain or the
// rules, compared with the consortium before the change:
//   - a validator key used before, by any validator or account, or
//     twice; a node ID another organisation declares or declared;
//   - no voting power left, or one organisation holding more than a
//     third of it, unless the change lowers the largest share (so that a
//     consortium of one or two validators can still grow) or moves no
//     power between organisations;
//   - no active regulator left where there was one;
//   - no voting organisation other than a sponsor while the rules need
//     a yes from one.
func (x *exec) checkRules(before, after *consortium) *types.Error {
	if e := x.checkKeys(before, after); e != nil {
		return e
	}
	if e := x.checkNodeIDs(before, after); e != nil {
		return e
	}
	if e := checkPower(before, after); e != nil {
		return e
	}
	if regulators(before) > 0 && regulators(after) == 0 {
		return types.Errf(types.CodeLastRegulator, "this would leave the consortium without an active regulator; add another regulator first")
	}
	if after.gov.Params.NonSponsorVote {
		for i := range after.orgs {
			if o := &after.orgs[i]; o.Voting() && o.Kind != types.OrgSponsor {
				return nil
			}
		}
		return types.Errf(types.CodeNoNonSponsorVoter, "this would leave no voting organisation other than a sponsor, and the rules need a yes from one: no later change could pass")
	}
	return nil
}

// checkKeys refuses a validator key that is new in after but was ever
// used by a validator or an account, or is used twice.
func (x *exec) checkKeys(before, after *consortium) *types.Error {
	owner := map[string]string{}
	for i := range after.orgs {
		for _, v := range after.orgs[i].Validators {
			if other, dup := owner[string(v.PubKey)]; dup {
				return types.Errf(types.CodeValidatorKeyUsed, "validator key %s would be declared twice (by %s and %s); every validator needs a key of its own", types.KeyText(v.PubKey), other, after.orgs[i].ID)
			}
			owner[string(v.PubKey)] = after.orgs[i].ID
		}
	}
	for _, a := range after.accounts {
		if _, dup := owner[string(a.PubKey)]; dup {
			return types.Errf(types.CodeValidatorKeyUsed, "the key of account %s is also a validator key; use a key of its own", a.ID)
		}
	}
	for i := range after.orgs {
		o := &after.orgs[i]
		old := before.org(o.ID)
		for _, v := range o.Validators {
			if old != nil && slices.ContainsFunc(old.Validators, func(w types.Validator) bool { return bytes.Equal(w.PubKey, v.PubKey) }) {
				continue
			}
			for _, k := range [][]byte{types.KeyValidatorKey(v.PubKey), types.KeyPubKey(v.PubKey)} {
				if used, err := x.st.has(k); err != nil {
					return internal(err)
				} else if used {
					return types.Errf(types.CodeValidatorKeyUsed, "validator key %s is or was in use on the ledger; a key never comes back: generate a new validator key", types.KeyText(v.PubKey))
				}
			}
		}
	}
	return nil
}

// checkNodeIDs refuses a node ID declared twice, or new to an
// organisation but declared by another one, now or before.
func (x *exec) checkNodeIDs(before, after *consortium) *types.Error {
	owner := map[string]string{}
	for i := range after.orgs {
		o := &after.orgs[i]
		var had []string
		if old := before.org(o.ID); old != nil {
			had = old.NodeIDsInUse()
		}
		for _, id := range o.NodeIDsInUse() {
			if other, dup := owner[id]; dup {
				return types.Errf(types.CodeNodeIDTaken, "node ID %s would be declared twice (by %s and %s); a node runs at most one validator", id, other, o.ID)
			}
			owner[id] = o.ID
			if slices.Contains(had, id) {
				continue
			}
			bz, err := x.st.get(types.KeyNodeID(id))
			if err != nil {
				return internal(err)
			}
			if bz != nil && string(bz) != o.ID {
				return types.Errf(types.CodeNodeIDTaken, "node ID %s is or was declared by %s", id, bz)
			}
		}
	}
	return nil
}

// checkPower refuses a change of the organisations' powers that leaves
// no power, or leaves one organisation more than a third of it without
// lowering the largest share. A change that moves no power between
// organisations (a key rotation, say) is not judged.
func checkPower(before, after *consortium) *types.Error {
	if maps.Equal(before.powers(), after.powers()) {
		return nil
	}
	borg, bmax, btotal := before.largest()
	aorg, amax, atotal := after.largest()
	if atotal == 0 {
		return types.Errf(types.CodeNoValidatorPower, "this would leave no validator with voting power: the chain would stop")
	}
	// amax/atotal > 1/3, and not amax/atotal < bmax/btotal.
	if 3*amax > atotal && amax*btotal >= bmax*atotal {
		return types.Errf(types.CodePowerConcentration, "after this change %s would hold %d of %d voting power, more than a third, and the largest share would not fall (before: %s held %d of %d); one organisation could then halt the chain",
			aorg, amax, atotal, borg, bmax, btotal)
	}
	return nil
}

func regulators(c *consortium) int {
	n := 0
	for i := range c.orgs {
		if c.orgs[i].Kind == types.OrgRegulator && c.orgs[i].Active() {
			n++
		}
	}
	return n
}

// write stores what the change made of the consortium: the
// organisations that changed (in ID order), the keys and node IDs they
// declare for the first time, the rules, the new accounts and the
// upgrade decided. It notes
// the block's validator set before the change first (see
// App.noteValidators).
func (x *exec) write(before, after *consortium, proposal int) *types.Error {
	if !maps.Equal(validatorSet(before.orgs), validatorSet(after.orgs)) {
		x.a.noteValidators(before.orgs)
	}
	for i := range after.orgs {
		o := &after.orgs[i]
		if old := before.org(o.ID); old != nil && sameJSON(old, o) {
			continue
		}
		x.st.setJSON(types.KeyOrg(o.ID), o)
		for _, v := range o.Validators {
			if e := x.claim(types.KeyValidatorKey(v.PubKey), o.ID); e != nil {
				return e
			}
		}
		for _, id := range o.NodeIDsInUse() {
			if e := x.claim(types.KeyNodeID(id), o.ID); e != nil {
				return e
			}
		}
	}
	if after.gov != before.gov {
		x.st.setJSON(types.KeyGovernance, after.gov)
	}
	if u := after.upgrade; u != nil {
		x.st.setJSON(types.KeyUpgrade(u.Height), types.Upgrade{UpgradePlan: *u, Proposal: proposal})
	}
	for i := range after.accounts {
		a := &after.accounts[i]
		x.st.set(types.KeyPubKey(a.PubKey), []byte(a.ID))
		what := "first administrator"
		if a.HasRole(types.RoleNode) {
			what = "node account"
		}
		x.record(a, types.AccountChange{Action: "add", Reason: fmt.Sprintf("%s of organisation %s, added by consortium proposal %d", what, a.Org, proposal)})
	}
	return nil
}

// claim records that org declared the key or node ID at k, unless it was
// recorded before.
func (x *exec) claim(k []byte, org string) *types.Error {
	if ok, err := x.st.has(k); err != nil {
		return internal(err)
	} else if !ok {
		x.st.set(k, []byte(org))
	}
	return nil
}

func sameJSON(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// noteValidators remembers the validator set as it was when the block
// began, the first time a tx of the block changes it: no tx before in
// the block changed it, so orgs (the state that tx read) still hold it.
// The caller holds mu (FinalizeBlock).
func (a *App) noteValidators(orgs []types.Org) {
	if a.blockVals == nil {
		a.blockVals = validatorSet(orgs)
	}
}

// validatorUpdates returns the block's changes to the validator set for
// CometBFT: every key whose power differs between the start of the block
// and now, with its power now (0 removes it), in key order. That is the
// changes of the proposals applied in the block, in tx order, merged per
// key; a key a block both adds and removes does not appear (CometBFT
// refuses to remove a validator it does not have, and would halt). The
// caller holds mu.
func (a *App) validatorUpdates() ([]abci.ValidatorUpdate, error) {
	if a.blockVals == nil {
		return nil, nil
	}
	orgs, err := decodePrefix[types.Org](a.store.tree, types.PrefixOrg)
	if err != nil {
		return nil, err
	}
	now := validatorSet(orgs)
	var keys []string
	for k, p := range now {
		if a.blockVals[k] != p {
			keys = append(keys, k)
		}
	}
	for k := range a.blockVals {
		if _, ok := now[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]abci.ValidatorUpdate, len(keys))
	for i, k := range keys {
		out[i] = abci.Ed25519ValidatorUpdate([]byte(k), now[k])
	}
	return out, nil
}

// signingOrg refuses a signer whose organisation is suspended or removed.
func signingOrg(acct *types.Account, o *types.Org) *types.Error {
	switch o.Status {
	case types.OrgSuspended:
		return types.Errf(types.CodeOrgSuspended, "organisation %s is suspended by consortium decision; %s cannot sign until it is reinstated", o.ID, acct.ID)
	case types.OrgRemoved:
		return types.Errf(types.CodeOrgRemoved, "organisation %s was removed from the consortium; %s can no longer sign", o.ID, acct.ID)
	}
	return nil
}
