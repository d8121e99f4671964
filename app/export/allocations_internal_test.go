package export

import (
	"encoding/hex"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// An entry is sealed until published, then verified against its
// commitment, or flagged when its arm or salt does not open it.
func TestAllocationCheck(t *testing.T) {
	salt := make([]byte, types.SaltBytes)
	e := types.RandEntry{Stratum: "all", Seq: 3, Commitment: types.CommitmentHex("S", "all", 3, "ARM.A", salt)}
	if got := allocationCheck("S", &e); got != checkSealed {
		t.Errorf("unpublished: %s", got)
	}
	e.Published, e.Arm, e.Salt = &types.Stamp{Height: 9}, "ARM.A", hex.EncodeToString(salt)
	if got := allocationCheck("S", &e); got != checkVerified {
		t.Errorf("published: %s", got)
	}
	e.Arm = "ARM.B"
	if got := allocationCheck("S", &e); got != checkMismatch {
		t.Errorf("another arm: %s", got)
	}
}
