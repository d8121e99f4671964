package client

import (
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// VerifyProof checks a marshalled ics23 CommitmentProof for key against an
// IAVL root (the app hash): membership of value when value is non-nil,
// absence of key otherwise.
func VerifyProof(root, key, value, proofBytes []byte) error {
	var p ics23.CommitmentProof
	if err := p.Unmarshal(proofBytes); err != nil {
		return fmt.Errorf("proof for %q is not a valid ics23 proof: %w", key, err)
	}
	if value != nil {
		if !ics23.VerifyMembership(ics23.IavlSpec, root, &p, key, value) {
			return fmt.Errorf("proof for %q does not match app hash %X", key, root)
		}
		return nil
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, &p, key) {
		return fmt.Errorf("absence proof for %q does not match app hash %X", key, root)
	}
	return nil
}
