package types

import (
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// The query contract: the ABCI query paths the ledger answers, their
// request and response bodies, and how a client checks a proof.

// Query paths.
const (
	// QueryKey reads one key (request data = the key). With prove set the
	// response carries an ics23 membership or non-membership proof.
	QueryKey = "/key"
	// QueryList lists keys under a prefix (request data = JSON ListRequest).
	QueryList = "/list"
)

// ProofOpType names the ics23 IAVL proof op in responses.
const ProofOpType = "ics23:iavl"

// ListRequest asks for up to Limit entries with Prefix, after key After.
type ListRequest struct {
	Prefix string `json:"prefix"`
	After  string `json:"after,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Prove  bool   `json:"prove,omitempty"`
}

// ListEntry is one entry of a list response; Proof is the marshalled ics23
// CommitmentProof when proofs were asked for.
type ListEntry struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
	Proof []byte `json:"proof,omitempty"`
}

// ListResponse is the response value of QueryList.
type ListResponse struct {
	Entries []ListEntry `json:"entries"`
	More    bool        `json:"more"`
}

// MaxListLimit bounds one list response.
const MaxListLimit = 1000

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
