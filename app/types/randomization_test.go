package types_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// The commitment is SHA-256 of the length-prefixed fields as
// docs/RANDOMIZATION.md writes them, and moving a byte from one field to
// the next changes it.
func TestCommitmentEncoding(t *testing.T) {
	salt := make([]byte, types.SaltBytes)
	salt[0] = 7
	var pre []byte
	for _, f := range []string{"veritrial/allocation/v1", "VT-HTN-201", "site1+SBP-LT160", "12", "ARM.PBO", string(salt)} {
		pre = append(pre, byte(len(f)>>24), byte(len(f)>>16), byte(len(f)>>8), byte(len(f)))
		pre = append(pre, f...)
	}
	want := sha256.Sum256(pre)
	if got := types.CommitmentHex("VT-HTN-201", "site1+SBP-LT160", 12, "ARM.PBO", salt); got != hex.EncodeToString(want[:]) {
		t.Errorf("commitment %s, want %x", got, want)
	}
	if types.Commitment("VT-HTN-20", "1site1+SBP-LT160", 12, "ARM.PBO", salt) == types.Commitment("VT-HTN-201", "site1+SBP-LT160", 12, "ARM.PBO", salt) {
		t.Error("two splits of the same bytes share a commitment")
	}
}

// VerifyReveal names the entry whose arm or salt does not open the
// commitment.
func TestVerifyReveal(t *testing.T) {
	salt := strings.Repeat("ab", types.SaltBytes)
	raw, _ := hex.DecodeString(salt)
	c := types.CommitmentHex("S", "all", 3, "ARM.A", raw)
	r := types.AllocationReveal{Stratum: "all", Seq: 3, Arm: "ARM.A", Salt: salt}
	if err := types.VerifyReveal("S", r, c); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []types.AllocationReveal{
		{Stratum: "all", Seq: 3, Arm: "ARM.B", Salt: salt},
		{Stratum: "all", Seq: 4, Arm: "ARM.A", Salt: salt},
		{Stratum: "all", Seq: 3, Arm: "ARM.A", Salt: strings.Repeat("cd", types.SaltBytes)},
		{Stratum: "all", Seq: 3, Arm: "ARM.A", Salt: "abcd"},
	} {
		if err := types.VerifyReveal("S", bad, c); err == nil || !strings.Contains(err.Error(), "entry all #") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// Every cell of the authorization table of the randomisation kinds: each
// role each organisation kind grants, alone, may send exactly these.
func TestRandomizationAuthorization(t *testing.T) {
	allowed := map[types.Kind]map[string]bool{
		types.KindRegisterAllocations: {"sponsor/statistician": true},
		types.KindPublishAllocations:  {"sponsor/statistician": true},
		types.KindRandomize:           {"site/investigator": true, "site/coordinator": true},
		types.KindUnblind:             {"site/investigator": true},
	}
	msgs := map[types.Kind]any{
		types.KindRegisterAllocations: &types.MsgRegisterAllocations{},
		types.KindPublishAllocations:  &types.MsgPublishAllocations{},
		types.KindRandomize:           &types.MsgRandomize{},
		types.KindUnblind:             &types.MsgUnblind{},
	}
	for kind, who := range allowed {
		for _, ok := range []types.OrgKind{types.OrgSponsor, types.OrgSite, types.OrgCRO, types.OrgRegulator, types.OrgEthics} {
			for _, role := range types.RolesFor(ok) {
				cell := string(ok) + "/" + string(role)
				acct := &types.Account{ID: "x", Roles: []types.Role{role}}
				got, e := types.Authorize(kind, msgs[kind], acct, &types.Org{ID: "o", Kind: ok})
				if (e == nil) != who[cell] || (e == nil && got != role) {
					t.Errorf("%s by %s: role %q, error %v; allowed %v", kind, cell, got, e, who[cell])
				}
				if e != nil && e.Code != types.CodeUnauthorized {
					t.Errorf("%s by %s: code %s", kind, cell, e.Code)
				}
			}
		}
	}
}
