package app

import (
	"fmt"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
)

// StateVersion is the version of the state machine this binary runs: the
// rules by which it executes blocks and the layout of the records it
// keeps, the version its migration registry reaches (see migrations.go).
// It is the app version the binary reports to CometBFT in a new chain's
// consensus parameters and in Info, and the value InitChain writes at
// types.KeyStateVersion. A ledger moves to the next version only by a
// consortium upgrade, whose migration runs in the block of the upgrade
// height (runUpgrade).
func StateVersion() uint64 {
	v := uint64(1)
	for _, m := range migrations {
		v = max(v, m.From+1)
	}
	return v
}

// readStateVersion reads the state-machine version stored in r. A ledger
// begun before the version was stored has none: it is at version 1.
func readStateVersion(r reader) (uint64, error) {
	bz, err := r.Get([]byte(types.KeyStateVersion))
	if err != nil || bz == nil {
		return 1, err
	}
	v, err := strconv.ParseUint(string(bz), 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("corrupt state-machine version %q at %q", bz, types.KeyStateVersion)
	}
	return v, nil
}

// setStateVersion stores v as the ledger's state-machine version.
func setStateVersion(st *txStore, v uint64) {
	st.set([]byte(types.KeyStateVersion), []byte(strconv.FormatUint(v, 10)))
}

// kindSince names the state-machine version that introduced each
// transaction kind newer than version 1: a ledger at an older version
// refuses it (CheckTx and FinalizeBlock alike), so a block of an old
// height replays as it ran. A rule that changes what an existing kind
// does is likewise chosen by exec.version, never by the binary.
var kindSince = map[types.Kind]uint64{
	types.KindReconsent:      3,
	types.KindAcknowledgeSAE: 3,
	// Randomisation with a sealed allocation list.
	types.KindRegisterAllocations: 3,
	types.KindRandomize:           3,
	types.KindUnblind:             3,
	types.KindPublishAllocations:  3,
}
