package app_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

func addMsg(id, name string, key []byte, roles ...types.Role) types.Msg {
	return types.Msg{AddAccount: &types.MsgAddAccount{Account: id, Name: name, Roles: roles, PubKey: key}}
}

func rolesMsg(id string, roles ...types.Role) types.Msg {
	return types.Msg{SetRoles: &types.MsgSetRoles{Account: id, Roles: roles}}
}

func rotateMsg(id string, key []byte) types.Msg {
	return types.Msg{RotateKey: &types.MsgRotateKey{Account: id, NewPubKey: key}}
}

func approveRotationMsg(id string, key []byte) types.Msg {
	return types.Msg{ApproveKeyRotation: &types.MsgApproveKeyRotation{Account: id, NewPubKey: key}}
}

func revokeMsg(id, reason string) types.Msg {
	return types.Msg{RevokeAccount: &types.MsgRevokeAccount{Account: id, Reason: reason}}
}

func person(id, org string, roles ...types.Role) *apptest.Person {
	return &apptest.Person{ID: id, Org: org, Name: id, Roles: roles, Key: apptest.KeyFor(id + "/fresh")}
}

func TestAccounts(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	coord2 := person("site1-coord2", "site1", types.RoleCoordinator)
	oldInvestigator := c.Person("site1-investigator")
	newInvestigator := &apptest.Person{ID: "site1-investigator", Org: "site1", Key: apptest.KeyFor("investigator-key-2")}
	newCoordinator := &apptest.Person{ID: "site1-coordinator", Org: "site1", Key: apptest.KeyFor("coordinator-key-2")}
	oldCoordinator := c.Person("site1-coordinator")

	runSteps(t, c, []step{
		{name: "non-admin adds", signer: "site1-coordinator", msg: addMsg("x1", "X", coord2.PubKey(), types.RoleCoordinator), want: types.CodeUnauthorized, atCheck: true},
		{name: "bad key length", signer: "site1-admin", msg: addMsg("x1", "X", []byte{1, 2, 3}, types.RoleCoordinator), want: types.CodeInvalidMsg, atCheck: true},
		{name: "no roles", signer: "site1-admin", msg: addMsg("x1", "X", coord2.PubKey()), want: types.CodeInvalidRole, atCheck: true},
		{name: "no name", signer: "site1-admin", msg: addMsg("x1", "", coord2.PubKey(), types.RoleCoordinator), want: types.CodeInvalidMsg, atCheck: true},
		{name: "name too long", signer: "site1-admin", msg: addMsg("x1", strings.Repeat("X", types.MaxNameLen+1), coord2.PubKey(), types.RoleCoordinator), want: types.CodeInvalidMsg, atCheck: true, logHas: []string{"printed name is 201 characters, above the limit of 200"}},
		{name: "role not allowed for a site", signer: "site1-admin", msg: addMsg("x1", "X", coord2.PubKey(), types.RoleDataManager), want: types.CodeInvalidRole},
		{name: "auditor not allowed for a sponsor", signer: "sponsor-admin", msg: addMsg("x1", "X", coord2.PubKey(), types.RoleAuditor), want: types.CodeInvalidRole},
		{name: "unknown role", signer: "site1-admin", msg: addMsg("x1", "X", coord2.PubKey(), "boss"), want: types.CodeInvalidRole},
		{name: "duplicate ID", signer: "site1-admin", msg: addMsg("site1-coordinator", "X", coord2.PubKey(), types.RoleCoordinator), want: types.CodeAccountExists},
		{name: "duplicate ID of another org", signer: "site1-admin", msg: addMsg("sponsor-dm", "X", coord2.PubKey(), types.RoleCoordinator), want: types.CodeAccountExists},
		{name: "reused key", signer: "site1-admin", msg: addMsg("x1", "X", c.Person("regulator-auditor").PubKey(), types.RoleCoordinator), want: types.CodeKeyReused},
		{name: "add", signer: "site1-admin", msg: addMsg(coord2.ID, "Chris Coordinator", coord2.PubKey(), types.RoleCoordinator, types.RoleCoordinator), want: types.CodeOK},
	})
	c.AddPerson(coord2)
	var acct types.Account
	get(t, c, types.KeyAccount(coord2.ID), &acct)
	if acct.Org != "site1" || acct.Name != "Chris Coordinator" || len(acct.Roles) != 1 || acct.Status != types.AccountActive || acct.Seq != 1 || !bytes.Equal(acct.PubKey, coord2.PubKey()) {
		t.Errorf("added account %+v", acct)
	}
	var ch types.AccountChange
	get(t, c, types.KeyAccountChange(coord2.ID, 1), &ch)
	if ch.Action != "add" || ch.Stamp.Signer != "site1-admin" || ch.Account.ID != coord2.ID {
		t.Errorf("history entry %+v", ch)
	}
	c.MustDo("site1-investigator", apptest.DelegateSiteMsg(study, "site1", coord2.ID, apptest.CoordinatorTasks...))
	c.MustDo(coord2.ID, apptest.EnrollMsg("S1-050", "site1"))

	runSteps(t, c, []step{
		{name: "other org's account", signer: "site1-admin", msg: rolesMsg("site2-coordinator", types.RoleInvestigator), want: types.CodeWrongOrg},
		{name: "rotate other org's key", signer: "site1-admin", msg: rotateMsg("site2-coordinator", pub("k9")), want: types.CodeWrongOrg},
		{name: "revoke other org's account", signer: "sponsor-admin", msg: revokeMsg("site1-coordinator", "x"), want: types.CodeWrongOrg},
		{name: "unknown account", signer: "site1-admin", msg: rolesMsg("nobody", types.RoleInvestigator), want: types.CodeUnknownAccount},
		{name: "non-admin sets roles", signer: "site1-investigator", msg: rolesMsg("site1-coordinator", types.RoleInvestigator), want: types.CodeUnauthorized, atCheck: true},
		{name: "non-admin rotates another's key", signer: "site1-investigator", msg: rotateMsg("site1-coordinator", newCoordinator.PubKey()), want: types.CodeUnauthorized, atCheck: true},
		{name: "non-admin revokes", signer: "site1-investigator", msg: revokeMsg("site1-coordinator", "x"), want: types.CodeUnauthorized, atCheck: true},
		{name: "set roles: role not allowed", signer: "site1-admin", msg: rolesMsg("site1-coordinator", types.RoleAuditor), want: types.CodeInvalidRole},
		{name: "set roles", signer: "site1-admin", msg: rolesMsg("site1-coordinator", types.RoleCoordinator, types.RoleInvestigator), want: types.CodeOK},
		{name: "rotate to a key in use", signer: "site1-admin", msg: rotateMsg("site1-investigator", c.Person("site2-admin").PubKey()), want: types.CodeKeyReused},
		{name: "request a rotation", signer: "site1-admin", msg: rotateMsg("site1-investigator", newInvestigator.PubKey()), want: types.CodeOK},
		{name: "approved by the person", signer: "site1-investigator", msg: approveRotationMsg("site1-investigator", newInvestigator.PubKey()), want: types.CodeOK},
	})
	get(t, c, types.KeyAccount("site1-coordinator"), &acct)
	if len(acct.Roles) != 2 || acct.Roles[0] != types.RoleCoordinator || acct.Roles[1] != types.RoleInvestigator || acct.Seq != 2 {
		t.Errorf("roles after set_roles %+v (seq %d)", acct.Roles, acct.Seq)
	}

	// The old key can never sign again; the new one can.
	old := c.TxAs("site1-investigator", oldInvestigator, apptest.EnrollMsg("S1-051", "site1"))
	runRaw(t, c, "old key after rotation", old, types.CodeBadSignature, true)
	c.AddPerson(newInvestigator)
	c.MustDo("site1-investigator", apptest.EnrollMsg("S1-051", "site1"))
	runSteps(t, c, []step{
		{name: "a rotated-away key cannot be reused", signer: "site1-admin", msg: addMsg("x2", "X", oldInvestigator.PubKey(), types.RoleInvestigator), want: types.CodeKeyReused},
		{name: "nor rotated back to", signer: "site1-admin", msg: rotateMsg("site1-investigator", oldInvestigator.PubKey()), want: types.CodeKeyReused},
		{name: "self-rotation by a non-admin", signer: "site1-coordinator", msg: rotateMsg("site1-coordinator", newCoordinator.PubKey()), want: types.CodeOK},
	})
	old = c.TxAs("site1-coordinator", oldCoordinator, apptest.EnrollMsg("S1-052", "site1"))
	runRaw(t, c, "old key after self-rotation", old, types.CodeBadSignature, true)
	c.AddPerson(newCoordinator)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-052", "site1"))
	var rch types.AccountChange
	get(t, c, types.KeyAccountChange("site1-coordinator", 3), &rch)
	if rch.Action != "rotate_key" || rch.Stamp.Signer != "site1-coordinator" || !bytes.Equal(rch.Account.PubKey, newCoordinator.PubKey()) {
		t.Errorf("self-rotation history %+v", rch)
	}

	// Revocation.
	c.AddPerson(&apptest.Person{ID: "site1-admin2", Org: "site1", Key: apptest.KeyFor("admin2")})
	runSteps(t, c, []step{
		{name: "revoke without reason", signer: "site1-admin", msg: revokeMsg(coord2.ID, ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "revoke", signer: "site1-admin", msg: revokeMsg(coord2.ID, "left the site"), want: types.CodeOK},
		{name: "revoked signer", signer: coord2.ID, msg: apptest.EnrollMsg("S1-053", "site1"), want: types.CodeSignerRevoked, atCheck: true},
		{name: "revoked signer rotating own key", signer: coord2.ID, msg: rotateMsg(coord2.ID, pub("k10")), want: types.CodeSignerRevoked, atCheck: true},
		{name: "revoke twice", signer: "site1-admin", msg: revokeMsg(coord2.ID, "again"), want: types.CodeSignerRevoked},
		{name: "roles of a revoked account", signer: "site1-admin", msg: rolesMsg(coord2.ID, types.RoleInvestigator), want: types.CodeSignerRevoked},
		{name: "rotate a revoked account", signer: "site1-admin", msg: rotateMsg(coord2.ID, pub("k11")), want: types.CodeSignerRevoked},
		{name: "revoked ID is never reused", signer: "site1-admin", msg: addMsg(coord2.ID, "X", pub("k12"), types.RoleCoordinator), want: types.CodeAccountExists},
		{name: "last admin cannot be revoked", signer: "site1-admin", msg: revokeMsg("site1-admin", "x"), want: types.CodeLastAdmin},
		{name: "last admin cannot lose the admin role", signer: "site1-admin", msg: rolesMsg("site1-admin", types.RoleInvestigator), want: types.CodeLastAdmin},
		{name: "add a second admin", signer: "site1-admin", msg: addMsg("site1-admin2", "Second Admin", pub("admin2"), types.RoleAdmin), want: types.CodeOK},
		{name: "admin may now step down", signer: "site1-admin", msg: rolesMsg("site1-admin", types.RoleInvestigator), want: types.CodeOK},
		{name: "former admin no longer adds", signer: "site1-admin", msg: addMsg("x3", "X", pub("k13"), types.RoleCoordinator), want: types.CodeUnauthorized, atCheck: true},
		{name: "remaining admin is last", signer: "site1-admin2", msg: revokeMsg("site1-admin2", "x"), want: types.CodeLastAdmin},
	})
	c.MustDo("site1-admin2", revokeMsg("site1-admin", "left"))
	runRaw(t, c, "revoked former admin", c.Tx("site1-admin", rolesMsg("site1-coordinator", types.RoleCoordinator)), types.CodeSignerRevoked, true)

	// Every change is in the account's audit trail, attributed.
	get(t, c, types.KeyAccount(coord2.ID), &acct)
	if acct.Status != types.AccountRevoked || acct.Seq != 2 {
		t.Errorf("revoked account %+v", acct)
	}
	get(t, c, types.KeyAccountChange(coord2.ID, 2), &ch)
	if ch.Action != "revoke" || ch.Reason != "left the site" || ch.Account.Status != types.AccountRevoked {
		t.Errorf("revocation history %+v", ch)
	}
	entries := list(t, c, types.PrefixAcctHist+"site1-admin/", 0, 0)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Key[len(types.PrefixAcctHist):])
	}
	if fmt.Sprint(actions) != "[site1-admin/000001 site1-admin/000002 site1-admin/000003]" {
		t.Errorf("site1-admin history keys %v", actions)
	}
	// Subjects the rotated and revoked people enrolled stay attributed to them.
	var sub types.Subject
	get(t, c, types.KeySubject(study, "S1-050"), &sub)
	if sub.Enrolled.Signer != coord2.ID || sub.Enrolled.Name != "Chris Coordinator" {
		t.Errorf("attribution of S1-050: %+v", sub.Enrolled)
	}
}

func TestCROAndSponsorAccounts(t *testing.T) {
	c := apptest.New(t)
	runSteps(t, c, []step{
		{name: "cro data manager", signer: "cro-admin", msg: addMsg("cro-dm", "D", pub("cro-dm"), types.RoleDataManager), want: types.CodeOK},
		{name: "cro investigator refused", signer: "cro-admin", msg: addMsg("cro-inv", "I", pub("cro-inv"), types.RoleInvestigator), want: types.CodeInvalidRole},
		{name: "regulator auditor", signer: "regulator-admin", msg: addMsg("reg-2", "A", pub("reg-2"), types.RoleAuditor), want: types.CodeOK},
		{name: "regulator monitor refused", signer: "regulator-admin", msg: addMsg("reg-3", "A", pub("reg-3"), types.RoleMonitor), want: types.CodeInvalidRole},
		{name: "sponsor medical monitor", signer: "sponsor-admin", msg: addMsg("sp-mm2", "M", pub("sp-mm2"), types.RoleMedicalMonitor), want: types.CodeOK},
	})
	var acct types.Account
	get(t, c, types.KeyAccount("cro-dm"), &acct)
	if acct.Org != "cro" {
		t.Errorf("cro-dm org %s", acct.Org)
	}
}

// pub is the public key of a fresh test key named name.
func pub(name string) []byte {
	return (&apptest.Person{Key: apptest.KeyFor(name)}).PubKey()
}

// TestKeyRotationTwoPeople: an administrator's rotation of another
// person's key is a request that a second person approves (another
// administrator of the organisation, or the person with the current
// key) before it expires; the person's own rotation and a revocation stay
// one step and void a pending request.
func TestKeyRotationTwoPeople(t *testing.T) {
	g := apptest.DefaultGenesis()
	g.Params.KeyRotationTTL = 30
	c := apptest.NewWith(t, g)
	c.SetupStudy()
	admin2 := person("site1-admin2", "site1", types.RoleAdmin)
	c.MustDo("site1-admin", addMsg(admin2.ID, "Second Admin", admin2.PubKey(), types.RoleAdmin))
	c.AddPerson(admin2)
	oldCoordinator := c.Person("site1-coordinator")
	newCoordinator := &apptest.Person{ID: "site1-coordinator", Org: "site1", Key: apptest.KeyFor("coordinator-key-2")}
	request := rotateMsg("site1-coordinator", newCoordinator.PubKey())
	approve := approveRotationMsg("site1-coordinator", newCoordinator.PubKey())
	runSteps(t, c, []step{
		{name: "nothing to approve", signer: admin2.ID, msg: approve, want: types.CodeNoRotation},
		{name: "request", signer: "site1-admin", msg: request, want: types.CodeOK},
		{name: "the old key signs until the approval", signer: "site1-coordinator", msg: apptest.EnrollMsg("S1-001", "site1"), want: types.CodeOK},
		{name: "the requester approves", signer: "site1-admin", msg: approve, want: types.CodeOwnRotation, logHas: []string{"a second person approves it"}},
		{name: "a colleague who is no administrator", signer: "site1-investigator", msg: approve, want: types.CodeUnauthorized, atCheck: true},
		{name: "another site's administrator", signer: "site2-admin", msg: approve, want: types.CodeWrongOrg},
		{name: "another key", signer: admin2.ID, msg: approveRotationMsg("site1-coordinator", pub("other")), want: types.CodeNoRotation},
		{name: "short key", signer: admin2.ID, msg: approveRotationMsg("site1-coordinator", []byte{1}), want: types.CodeInvalidMsg, atCheck: true},
		{name: "another account", signer: admin2.ID, msg: approveRotationMsg("site1-investigator", newCoordinator.PubKey()), want: types.CodeNoRotation},
		{name: "the second administrator approves", signer: admin2.ID, msg: approve, want: types.CodeOK},
		{name: "approved twice", signer: admin2.ID, msg: approve, want: types.CodeNoRotation},
	})
	runRaw(t, c, "the old key after the approval", c.TxAs("site1-coordinator", oldCoordinator, apptest.EnrollMsg("S1-002", "site1")), types.CodeBadSignature, true)
	c.AddPerson(newCoordinator)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	var acct types.Account
	get(t, c, types.KeyAccount("site1-coordinator"), &acct)
	var req, done types.AccountChange
	get(t, c, types.KeyAccountChange("site1-coordinator", acct.Seq-1), &req)
	get(t, c, types.KeyAccountChange("site1-coordinator", acct.Seq), &done)
	if req.Action != "rotate_key_request" || req.Stamp.Signer != "site1-admin" || !bytes.Equal(req.Account.PubKey, oldCoordinator.PubKey()) ||
		done.Action != "rotate_key" || done.Stamp.Signer != admin2.ID || done.Requested == nil || done.Requested.Signer != "site1-admin" ||
		!bytes.Equal(done.Account.PubKey, newCoordinator.PubKey()) {
		t.Errorf("history: request %+v, rotation %+v", req, done)
	}
	var r types.KeyRotation
	get(t, c, types.KeyKeyRotation("site1-coordinator"), &r)
	if r.Status != types.RotationApproved || r.Decided == nil || r.Decided.Signer != admin2.ID || !bytes.Equal(r.OldPubKey, oldCoordinator.PubKey()) {
		t.Errorf("request record %+v", r)
	}

	// The person approves with the current key, as in an organisation with
	// one administrator.
	newInvestigator := &apptest.Person{ID: "site2-investigator", Org: "site2", Key: apptest.KeyFor("investigator-key-2")}
	c.MustDo("site2-admin", rotateMsg(newInvestigator.ID, newInvestigator.PubKey()))
	c.MustDo("site2-investigator", approveRotationMsg(newInvestigator.ID, newInvestigator.PubKey()))
	c.AddPerson(newInvestigator)
	c.MustDo("site2-investigator", rotateMsg(newInvestigator.ID, pub("investigator-key-3")))

	// Expiry, replacement, and what voids a request.
	c.MustDo("site1-admin", rotateMsg("site1-investigator", pub("inv-a")))
	for range 31 {
		c.Block()
	}
	runSteps(t, c, []step{
		{name: "expired", signer: admin2.ID, msg: approveRotationMsg("site1-investigator", pub("inv-a")), want: types.CodeRotationExpired},
		{name: "request again", signer: "site1-admin", msg: rotateMsg("site1-investigator", pub("inv-b")), want: types.CodeOK},
		{name: "a newer request replaces it", signer: admin2.ID, msg: rotateMsg("site1-investigator", pub("inv-c")), want: types.CodeOK},
		{name: "the replaced key", signer: "site1-admin", msg: approveRotationMsg("site1-investigator", pub("inv-b")), want: types.CodeNoRotation},
		{name: "the person's own rotation", signer: "site1-investigator", msg: rotateMsg("site1-investigator", pub("inv-d")), want: types.CodeOK},
		{name: "voided by it", signer: "site1-admin", msg: approveRotationMsg("site1-investigator", pub("inv-c")), want: types.CodeNoRotation},
		{name: "request for the second admin", signer: "site1-admin", msg: rotateMsg(admin2.ID, pub("admin2-b")), want: types.CodeOK},
		{name: "revocation stays one step", signer: "site1-admin", msg: revokeMsg(admin2.ID, "left"), want: types.CodeOK},
	})
	get(t, c, types.KeyKeyRotation("site1-investigator"), &r)
	if r.Status != types.RotationVoid || r.Decided.Signer != "site1-investigator" || !bytes.Equal(r.NewPubKey, pub("inv-c")) {
		t.Errorf("request voided by the person's own rotation: %+v", r)
	}
	get(t, c, types.KeyKeyRotation(admin2.ID), &r)
	if r.Status != types.RotationVoid || r.Decided.Signer != "site1-admin" {
		t.Errorf("request voided by the revocation: %+v", r)
	}
}
