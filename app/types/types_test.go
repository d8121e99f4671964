package types_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func body(msg types.Msg) types.Body {
	return types.Body{V: types.TxVersion, ChainID: "c", Signer: "alice", Nonce: "00112233445566778899aabbccddeeff", Expires: 10, Msg: msg}
}

var enroll = types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: "ST", Subject: "S1", Site: "site1", ConsentVersion: "1", ConsentSHA256: strings.Repeat("a", 64)}}

func encode(tb testing.TB, b types.Body) []byte {
	tb.Helper()
	tx, err := types.Sign(b, key("alice"))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := tx.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func TestDecodeRoundTrip(t *testing.T) {
	raw := encode(t, body(enroll))
	tx, e := types.DecodeTx(raw)
	if e != nil {
		t.Fatal(e.Msg)
	}
	again, _ := tx.Encode()
	if !bytes.Equal(again, raw) {
		t.Fatal("re-encoding differs")
	}
	if !tx.VerifySignature(key("alice").Public().(ed25519.PublicKey)) {
		t.Fatal("signature does not verify")
	}
	if tx.VerifySignature(key("bob").Public().(ed25519.PublicKey)) {
		t.Fatal("signature verifies with another key")
	}
	if tx.VerifySignature([]byte{1, 2}) {
		t.Fatal("short key accepted")
	}
	// The signature covers every body field, including chain and expiry.
	for name, mod := range map[string]func(*types.Body){
		"chain":   func(b *types.Body) { b.ChainID = "d" },
		"expires": func(b *types.Body) { b.Expires++ },
		"nonce":   func(b *types.Body) { b.Nonce = "ffffffffffffffff" },
		"signer":  func(b *types.Body) { b.Signer = "bob" },
		"msg":     func(b *types.Body) { b.Msg.EnrollSubject = &types.MsgEnrollSubject{Study: "ST", Subject: "S2"} },
	} {
		cp := *tx
		mod(&cp.Body)
		if cp.VerifySignature(key("alice").Public().(ed25519.PublicKey)) {
			t.Errorf("signature still verifies after changing %s", name)
		}
	}
	// VerifyReceived checks the bytes as received, with the same verdicts.
	if !tx.VerifyReceived(key("alice").Public().(ed25519.PublicKey)) {
		t.Fatal("signature over the received body does not verify")
	}
	if tx.VerifyReceived(key("bob").Public().(ed25519.PublicKey)) || tx.VerifyReceived([]byte{1, 2}) {
		t.Fatal("received body verifies with another or a short key")
	}
	built := types.Tx{Body: tx.Body, Signature: tx.Signature}
	if built.VerifyReceived(key("alice").Public().(ed25519.PublicKey)) {
		t.Fatal("a Tx that DecodeTx did not produce verified as received")
	}
	// A signed field changed on the wire still decodes (it is canonical)
	// but no longer verifies.
	forged := bytes.Replace(raw, []byte(`"subject":"S1"`), []byte(`"subject":"S9"`), 1)
	if bytes.Equal(forged, raw) {
		t.Fatalf("test tx lacks the subject field: %s", raw)
	}
	if ftx, e := types.DecodeTx(forged); e != nil {
		t.Fatalf("forged tx: %s", e.Msg)
	} else if ftx.VerifyReceived(key("alice").Public().(ed25519.PublicKey)) {
		t.Fatal("a changed body verifies as received")
	}
	// Sign bytes are domain-separated.
	sb, _ := tx.Body.SignBytes()
	if !bytes.HasPrefix(sb, []byte("veritrial/tx/v1\n")) {
		t.Errorf("sign bytes %q lack the domain prefix", sb[:20])
	}
	if types.TxHash(raw) != strings.ToUpper(types.TxHash(raw)) || len(types.TxHash(raw)) != 64 {
		t.Errorf("tx hash %s", types.TxHash(raw))
	}
}

func TestDecodeRejects(t *testing.T) {
	raw := encode(t, body(enroll))
	two := enroll
	two.ActivateSite = &types.MsgActivateSite{Study: "ST", Site: "site1"}
	v2 := body(enroll)
	v2.V = 2
	cases := []struct {
		name string
		raw  []byte
		want types.Code
	}{
		{"too large", make([]byte, types.MaxTxBytes+1), types.CodeTxTooLarge},
		{"not JSON", []byte("x"), types.CodeTxMalformed},
		{"unknown field", bytes.Replace(raw, []byte(`{"body":`), []byte(`{"z":0,"body":`), 1), types.CodeTxMalformed},
		{"trailing", append(append([]byte(nil), raw...), '{', '}'), types.CodeTxMalformed},
		{"whitespace", bytes.Replace(raw, []byte(`,"sig"`), []byte(`, "sig"`), 1), types.CodeTxNotCanonical},
		{"no messages", encode(t, body(types.Msg{})), types.CodeTxMalformed},
		{"two messages", encode(t, body(two)), types.CodeTxMalformed},
		{"version", encode(t, v2), types.CodeUnsupportedVer},
		{"case of a field name", bytes.Replace(raw, []byte(`"chain_id"`), []byte(`"Chain_ID"`), 1), types.CodeTxNotCanonical},
		{"duplicate field", bytes.Replace(raw, []byte(`"v":1,`), []byte(`"v":1,"v":1,`), 1), types.CodeTxNotCanonical},
	}
	for _, tc := range cases {
		_, e := types.DecodeTx(tc.raw)
		if e == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if e.Code != tc.want || e.Msg == "" {
			t.Errorf("%s: code %d (%s) %q, want %d", tc.name, e.Code, e.Code, e.Msg, tc.want)
		}
	}
	// Exactly at the limit is not rejected for size.
	if _, e := types.DecodeTx(make([]byte, types.MaxTxBytes)); e == nil || e.Code == types.CodeTxTooLarge {
		t.Errorf("a tx of exactly MaxTxBytes: %v", e)
	}
}

func TestCodesStable(t *testing.T) {
	// Numbers are a public contract: pin a few and require unique names.
	pinned := map[types.Code]uint32{
		types.CodeOK: 0, types.CodeTxTooLarge: 101, types.CodeBadSignature: 105, types.CodeNonceReused: 108,
		types.CodeUnknownSigner: 201, types.CodeUnauthorized: 204, types.CodeLastAdmin: 210,
		types.CodeStudyExists: 301, types.CodeAmendVersion: 312, types.CodeSubjectExists: 401,
		types.CodeEditCheckFailed: 410, types.CodeFormNotFound: 413, types.CodeSubjectIDPattern: 414, types.CodeFormChanged: 420, types.CodeVisitOutOfWindow: 421, types.CodeInternal: 900,
		types.CodeUnknownProposal: 601, types.CodeOrgSuspended: 606, types.CodePowerConcentration: 610,
		types.CodeLastRegulator: 612, types.CodeValidatorKeyUsed: 614, types.CodeConsortiumLimit: 617,
		types.CodeKindNotYet: 111, types.CodeUpgradeHeight: 618, types.CodeUpgradePending: 619, types.CodeUpgradeNameUsed: 620,
		types.CodeNotDelegated: 212, types.CodeNotPI: 213, types.CodeNoRotation: 214, types.CodeRotationExpired: 215, types.CodeOwnRotation: 216,
		types.CodeNoIndependent: 313, types.CodeSponsorApprover: 314, types.CodeNotACRO: 315, types.CodeNoDelegation: 316,
		types.CodeReadMalformed: 701, types.CodeReadNotVisible: 707, types.CodeReadUnsigned: 708, types.CodeReadBusy: 709,
	}
	for c, n := range pinned {
		if uint32(c) != n {
			t.Errorf("code %s is %d, was %d", c, c, n)
		}
	}
	names := map[string]types.Code{}
	for c := types.Code(0); c < 1000; c++ {
		n := c.String()
		if n == "unknown_code" {
			continue
		}
		if other, dup := names[n]; dup {
			t.Errorf("codes %d and %d share the name %s", other, c, n)
		}
		names[n] = c
	}
	if len(names) < 71 {
		t.Errorf("only %d named codes", len(names))
	}
	if types.Code(999).String() != "unknown_code" {
		t.Error("unnamed code has a name")
	}
}

func TestKeys(t *testing.T) {
	k := types.FormKey{Study: "ST", Subject: "S1", Event: "UNS", EventRepeat: 12, Form: "VS"}
	for _, tc := range []struct{ got, want string }{
		{string(types.KeyForm(k)), "form/ST/S1/UNS/0012/VS"},
		{string(types.KeyFormHistory(k, 3)), "hist/ST/S1/UNS/0012/VS/000003"},
		{string(types.KeyProtocol("ST", 2)), "proto/ST/000002"},
		{string(types.KeyAmendment("ST", 1)), "amend/ST/000001"},
		{string(types.KeyAccountChange("a", 7)), "accth/a/000007"},
		{string(types.KeySubject("ST", "S1")), "subj/ST/S1"},
		{string(types.KeySite("ST", "site1")), "site/ST/site1"},
		{string(types.KeyNonce(42, "a", "n")), "nonce/000000000042/a/n"},
		{string(types.KeyStudyDelegation("ST", "cro")), "deleg/ST/org/cro"},
		{string(types.KeySiteDelegation("ST", "site1", "a")), "deleg/ST/site/site1/a"},
		{string(types.KeyKeyRotation("a")), "keyrot/a"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	// Zero padding keeps numeric order in key order.
	var hs []string
	for _, v := range []int{10, 2, 100, 1} {
		hs = append(hs, string(types.KeyFormHistory(k, v)))
	}
	sort.Strings(hs)
	if !strings.HasSuffix(hs[0], "000001") || !strings.HasSuffix(hs[3], "000100") {
		t.Errorf("history keys sort as %v", hs)
	}
	if string(types.PrefixEnd([]byte("form/"))) != "form0" {
		t.Errorf("PrefixEnd(form/) = %q", types.PrefixEnd([]byte("form/")))
	}
	if string(types.PrefixEnd([]byte{'a', 0xff})) != "b" || types.PrefixEnd([]byte{0xff}) != nil {
		t.Error("PrefixEnd with 0xff")
	}
}

func TestIDsAndNonces(t *testing.T) {
	for s, want := range map[string]bool{
		"S001": true, "VT-HTN-201": true, "a.b_c-d": true, strings.Repeat("a", 64): true,
		"": false, "-a": false, ".a": false, "a/b": false, "a b": false, "é": false, strings.Repeat("a", 65): false,
	} {
		if types.ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
	for n, want := range map[string]bool{
		"0123456789abcdef": true, strings.Repeat("f", 64): true,
		"0123456789abcde": false, strings.Repeat("f", 65): false, "0123456789ABCDEF": false, "0123456789abcdeg": false,
	} {
		if types.ValidNonce(n) != want {
			t.Errorf("ValidNonce(%q) = %v", n, !want)
		}
	}
}

func TestValidateBasic(t *testing.T) {
	hash := strings.Repeat("a", 64)
	pk := make([]byte, 32)
	fk := types.FormKey{Study: "ST", Subject: "S1", Event: "SCR", EventRepeat: 1, Form: "VS"}
	vals := []protocol.ItemValue{{Item: "VS.SYSBP", Value: "120"}}
	cases := []struct {
		name string
		msg  types.Msg
		want types.Code
	}{
		{"register ok", types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: protocol.Protocol{Study: protocol.Study{ID: "ST"}}, Fingerprint: hash}}, types.CodeOK},
		{"register upper-case fingerprint", types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: protocol.Protocol{Study: protocol.Study{ID: "ST"}}, Fingerprint: strings.Repeat("A", 64)}}, types.CodeInvalidMsg},
		{"register bad approver", types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: protocol.Protocol{Study: protocol.Study{ID: "ST"}}, Fingerprint: hash, Approvers: []string{"a b"}}}, types.CodeInvalidMsg},
		{"vote comment too long", types.Msg{ApproveAmendment: &types.MsgVoteAmendment{Study: "ST", Amendment: 1, Comment: strings.Repeat("x", types.MaxReasonLen+1)}}, types.CodeInvalidMsg},
		{"reject needs comment", types.Msg{RejectAmendment: &types.MsgVoteAmendment{Study: "ST", Amendment: 1}}, types.CodeInvalidMsg},
		{"approve needs none", types.Msg{ApproveAmendment: &types.MsgVoteAmendment{Study: "ST", Amendment: 1}}, types.CodeOK},
		{"enroll ok", enroll, types.CodeOK},
		{"enroll upper-case hash", types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: "ST", Subject: "S1", Site: "s", ConsentVersion: "1", ConsentSHA256: strings.Repeat("A", 64)}}, types.CodeInvalidMsg},
		{"submit ok", types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk, Values: vals}}, types.CodeOK},
		{"submit too many values", types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk, Values: make([]protocol.ItemValue, types.MaxValues+1)}}, types.CodeInvalidMsg},
		{"submit repeat 10000", types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "ST", Subject: "S1", Event: "SCR", EventRepeat: 10000, Form: "VS"}, Values: vals}}, types.CodeEventRepeat},
		{"submit bad form", types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "ST", Subject: "S1", Event: "SCR", EventRepeat: 1, Form: "V/S"}, Values: vals}}, types.CodeInvalidMsg},
		{"correct reason too long", types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk, Changes: vals, Reason: strings.Repeat("x", types.MaxReasonLen+1)}}, types.CodeInvalidMsg},
		{"add ok", types.Msg{AddAccount: &types.MsgAddAccount{Account: "a", Name: "A", Roles: []types.Role{types.RoleAdmin}, PubKey: pk}}, types.CodeOK},
		{"add name at the limit", types.Msg{AddAccount: &types.MsgAddAccount{Account: "a", Name: strings.Repeat("x", types.MaxNameLen), Roles: []types.Role{types.RoleAdmin}, PubKey: pk}}, types.CodeOK},
		{"add name too long", types.Msg{AddAccount: &types.MsgAddAccount{Account: "a", Name: strings.Repeat("x", types.MaxNameLen+1), Roles: []types.Role{types.RoleAdmin}, PubKey: pk}}, types.CodeInvalidMsg},
		{"set roles empty", types.Msg{SetRoles: &types.MsgSetRoles{Account: "a"}}, types.CodeInvalidRole},
		{"rotate short key", types.Msg{RotateKey: &types.MsgRotateKey{Account: "a", NewPubKey: pk[:31]}}, types.CodeInvalidMsg},
		{"revoke bad id", types.Msg{RevokeAccount: &types.MsgRevokeAccount{Account: "", Reason: "x"}}, types.CodeInvalidMsg},
		{"activate ok", types.Msg{ActivateSite: &types.MsgActivateSite{Study: "ST", Site: "s1", PrincipalInvestigator: "pi"}}, types.CodeOK},
		{"activate without principal investigator", types.Msg{ActivateSite: &types.MsgActivateSite{Study: "ST", Site: "s1"}}, types.CodeInvalidMsg},
		{"delegate study ok", types.Msg{DelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro", Tasks: []types.Task{types.TaskDataManagement, types.TaskMonitoring}}}, types.CodeOK},
		{"delegate study without tasks", types.Msg{DelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro"}}, types.CodeInvalidMsg},
		{"delegate study a site task", types.Msg{DelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro", Tasks: []types.Task{types.TaskSign}}}, types.CodeInvalidMsg},
		{"delegate study too many tasks", types.Msg{DelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro", Tasks: []types.Task{types.TaskMonitoring, types.TaskMonitoring, types.TaskMonitoring}}}, types.CodeInvalidMsg},
		{"undelegate study ok", types.Msg{UndelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro", Reason: "ended"}}, types.CodeOK},
		{"undelegate study without reason", types.Msg{UndelegateStudy: &types.MsgStudyDelegation{Study: "ST", Org: "cro"}}, types.CodeInvalidMsg},
		{"delegate site ok", types.Msg{DelegateSite: &types.MsgSiteDelegation{Study: "ST", Site: "s1", Account: "a", Tasks: []types.Task{types.TaskEntry}}}, types.CodeOK},
		{"delegate site a study task", types.Msg{DelegateSite: &types.MsgSiteDelegation{Study: "ST", Site: "s1", Account: "a", Tasks: []types.Task{types.TaskMonitoring}}}, types.CodeInvalidMsg},
		{"delegate site bad account", types.Msg{DelegateSite: &types.MsgSiteDelegation{Study: "ST", Site: "s1", Account: "a b", Tasks: []types.Task{types.TaskEntry}}}, types.CodeInvalidMsg},
		{"undelegate site naming tasks", types.Msg{UndelegateSite: &types.MsgSiteDelegation{Study: "ST", Site: "s1", Account: "a", Tasks: []types.Task{types.TaskEntry}, Reason: "x"}}, types.CodeInvalidMsg},
		{"change investigator without reason", types.Msg{ChangeInvestigator: &types.MsgChangeInvestigator{Study: "ST", Site: "s1", PrincipalInvestigator: "pi"}}, types.CodeInvalidMsg},
		{"change investigator ok", types.Msg{ChangeInvestigator: &types.MsgChangeInvestigator{Study: "ST", Site: "s1", PrincipalInvestigator: "pi", Reason: "moved"}}, types.CodeOK},
		{"approve rotation ok", types.Msg{ApproveKeyRotation: &types.MsgApproveKeyRotation{Account: "a", NewPubKey: pk}}, types.CodeOK},
		{"approve rotation short key", types.Msg{ApproveKeyRotation: &types.MsgApproveKeyRotation{Account: "a", NewPubKey: pk[:31]}}, types.CodeInvalidMsg},
	}
	for _, tc := range cases {
		kind, msg, e := tc.msg.Unpack()
		if e != nil {
			t.Fatalf("%s: %s", tc.name, e.Msg)
		}
		got := types.CodeOK
		if e := types.ValidateBasic(kind, msg); e != nil {
			got = e.Code
		}
		if got != tc.want {
			t.Errorf("%s: code %d (%s), want %d (%s)", tc.name, got, got, tc.want, tc.want)
		}
	}
}

func TestGenesisValidate(t *testing.T) {
	base := func() types.Genesis {
		return types.Genesis{
			Orgs: []types.Org{{ID: "sp", Kind: types.OrgSponsor}, {ID: "s1", Kind: types.OrgSite,
				Validators: []types.Validator{{PubKey: key("v1").Public().(ed25519.PublicKey), Power: 10, NodeID: strings.Repeat("1", 40), Host: "10.0.0.1:26656"}},
				NodeIDs:    []string{strings.Repeat("2", 40)}}},
			Accounts: []types.GenesisAccount{
				{ID: "a", Org: "sp", Name: "A", Roles: []types.Role{types.RoleAdmin}, PubKey: key("a").Public().(ed25519.PublicKey)},
				{ID: "b", Org: "s1", Name: "B", Roles: []types.Role{types.RoleAdmin, types.RoleInvestigator}, PubKey: key("b").Public().(ed25519.PublicKey)},
			},
			Params:     types.DefaultParams(),
			Governance: types.DefaultGovParams(),
		}
	}
	g := base()
	g.Orgs[0].Name = strings.Repeat("x", types.MaxNameLen)
	g.Accounts[0].Name = strings.Repeat("x", types.MaxNameLen)
	bz, _ := json.Marshal(g)
	if _, err := types.ParseGenesis(bz); err != nil {
		t.Fatalf("valid genesis: %v", err)
	}
	noParams := base()
	noParams.Params = types.Params{}
	bz, _ = json.Marshal(noParams)
	if pg, err := types.ParseGenesis(bz); err != nil || pg.Params != types.DefaultParams() {
		t.Errorf("missing params do not default: %v", err)
	}
	noGov := base()
	noGov.Governance = types.GovParams{}
	bz, _ = json.Marshal(noGov)
	if pg, err := types.ParseGenesis(bz); err != nil || pg.Governance != types.DefaultGovParams() {
		t.Errorf("missing governance does not default: %v", err)
	}
	ethics := base()
	ethics.Orgs = append(ethics.Orgs, types.Org{ID: "irb", Kind: types.OrgEthics})
	ethics.Accounts = append(ethics.Accounts, types.GenesisAccount{ID: "e", Org: "irb", Name: "E", Roles: []types.Role{types.RoleAdmin, types.RoleAuditor}, PubKey: key("e").Public().(ed25519.PublicKey)})
	sponsorsOnly := base()
	sponsorsOnly.Orgs[0].Validators, sponsorsOnly.Orgs[1].Validators = sponsorsOnly.Orgs[1].Validators, nil
	sponsorsOnly.Governance.NonSponsorVote = false
	for name, g := range map[string]types.Genesis{"an ethics committee": ethics, "only a sponsor votes, without the non-sponsor rule": sponsorsOnly} {
		if err := g.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, mod := range map[string]func(*types.Genesis){
		"bad org kind":              func(g *types.Genesis) { g.Orgs[0].Kind = "bank" },
		"duplicate org":             func(g *types.Genesis) { g.Orgs = append(g.Orgs, g.Orgs[0]) },
		"unknown org":               func(g *types.Genesis) { g.Accounts[0].Org = "zz" },
		"duplicate account":         func(g *types.Genesis) { g.Accounts[1].ID = "a" },
		"reused key":                func(g *types.Genesis) { g.Accounts[1].PubKey = g.Accounts[0].PubKey },
		"short key":                 func(g *types.Genesis) { g.Accounts[0].PubKey = []byte{1} },
		"no name":                   func(g *types.Genesis) { g.Accounts[0].Name = "" },
		"long account name":         func(g *types.Genesis) { g.Accounts[0].Name = strings.Repeat("x", types.MaxNameLen+1) },
		"long org name":             func(g *types.Genesis) { g.Orgs[0].Name = strings.Repeat("x", types.MaxNameLen+1) },
		"role not allowed":          func(g *types.Genesis) { g.Accounts[1].Roles = []types.Role{types.RoleAdmin, types.RoleAuditor} },
		"org without admin":         func(g *types.Genesis) { g.Accounts[1].Roles = []types.Role{types.RoleInvestigator} },
		"node role with another":    func(g *types.Genesis) { g.Accounts[1].Roles = []types.Role{types.RoleAdmin, types.RoleNode} },
		"negative ttl":              func(g *types.Genesis) { g.Params.MaxTxTTL = -1 },
		"negative key rotation ttl": func(g *types.Genesis) { g.Params.KeyRotationTTL = -1 },
		"bad org identifier":        func(g *types.Genesis) { g.Orgs[0].ID = "s p" },
		"no validator":              func(g *types.Genesis) { g.Orgs[1].Validators = nil },
		"only a sponsor votes": func(g *types.Genesis) {
			g.Orgs[0].Validators, g.Orgs[1].Validators = g.Orgs[1].Validators, nil
		},
		"validator key of an account":  func(g *types.Genesis) { g.Orgs[1].Validators[0].PubKey = g.Accounts[0].PubKey },
		"validator key twice":          func(g *types.Genesis) { g.Orgs[0].Validators = g.Orgs[1].Validators },
		"short validator key":          func(g *types.Genesis) { g.Orgs[1].Validators[0].PubKey = []byte{1} },
		"validator power 0":            func(g *types.Genesis) { g.Orgs[1].Validators[0].Power = 0 },
		"validator power above limit":  func(g *types.Genesis) { g.Orgs[1].Validators[0].Power = types.MaxValidatorPower + 1 },
		"retired validator":            func(g *types.Genesis) { g.Orgs[1].Validators[0].Retired = 1 },
		"upper-case node ID":           func(g *types.Genesis) { g.Orgs[1].Validators[0].NodeID = strings.Repeat("A", 40) },
		"short node ID":                func(g *types.Genesis) { g.Orgs[1].NodeIDs = []string{"abcd"} },
		"node ID of two orgs":          func(g *types.Genesis) { g.Orgs[0].NodeIDs = g.Orgs[1].NodeIDs },
		"node ID of a validator twice": func(g *types.Genesis) { g.Orgs[1].NodeIDs = []string{g.Orgs[1].Validators[0].NodeID} },
		"bad host":                     func(g *types.Genesis) { g.Orgs[1].Validators[0].Host = "a host" },
		"suspended org":                func(g *types.Genesis) { g.Orgs[1].Status = types.OrgSuspended },
		"quorum of a third":            func(g *types.Genesis) { g.Governance.QuorumNum, g.Governance.QuorumDen = 1, 3 },
		"quorum of all plus":           func(g *types.Genesis) { g.Governance.QuorumNum, g.Governance.QuorumDen = 3, 3 },
		"proposal lifetime 0":          func(g *types.Genesis) { g.Governance.ProposalTTL = 0 },
	} {
		g := base()
		mod(&g)
		if err := g.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	roles, e := types.NormalizeRoles(types.OrgSite, []types.Role{types.RoleInvestigator, types.RoleAdmin, types.RoleInvestigator})
	if e != nil || len(roles) != 2 || roles[0] != types.RoleAdmin {
		t.Errorf("NormalizeRoles: %v %v", roles, e)
	}
	for _, k := range []types.OrgKind{types.OrgSponsor, types.OrgSite, types.OrgCRO, types.OrgRegulator, types.OrgEthics} {
		if roles, e := types.NormalizeRoles(k, []types.Role{types.RoleNode, types.RoleNode}); e != nil || len(roles) != 1 {
			t.Errorf("a %s cannot have a node account: %v %v", k, roles, e)
		}
	}
}
