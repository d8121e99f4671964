package types

// Access log heads. Every node keeps an append-only, hash-chained log of
// the reads it answers and refuses (app/accesslog). Now and then the
// node's organisation commits the log's head to the ledger: how many
// entries the log holds and the hash of the last one. Every entry's hash
// covers the one before it, so a head binds the whole log up to it: a log
// later edited, reordered, truncated or replaced disagrees with a head
// anyone can read. The commitments are signed by the organisation's node
// account (role node), a key the node reads without a prompt, which may
// send nothing else. docs/ACCESSLOG.md describes the log and the rules.

// AccessHead is one commitment of a node's access log head: the log's
// first Entries entries, the last of which hashes to Head. Seq numbers
// the node's commitments from 1; every one is kept.
type AccessHead struct {
	Node    string `json:"node"`
	Seq     int64  `json:"seq"`
	Head    string `json:"head"`
	Entries int64  `json:"entries"`
	Stamp   Stamp  `json:"stamp"`
}

// MsgCommitAccessHead commits the head of the access log of Node, a node
// of the signer's organisation (a validator's node in service or one of
// its declared nodes): its Seq-th commitment (the last one's plus one),
// covering more entries than the last one did; Head is the SHA-256 of the
// log's entry number Entries, in lower-case hex.
type MsgCommitAccessHead struct {
	Node    string `json:"node"`
	Seq     int64  `json:"seq"`
	Head    string `json:"head"`
	Entries int64  `json:"entries"`
}

// validateAccessHead runs the stateless checks of a head commitment; ok is
// false for any other message.
func validateAccessHead(msg any) (ok bool, e *Error) {
	m, ok := msg.(*MsgCommitAccessHead)
	if !ok {
		return false, nil
	}
	switch {
	case !ValidNodeID(m.Node):
		return true, Errf(CodeInvalidMsg, "node ID %q is not 40 lower-case hex characters (veritrial status prints a node's ID)", m.Node)
	case m.Seq < 1:
		return true, Errf(CodeInvalidMsg, "commitment sequence number must be 1 or more")
	case m.Entries < 1:
		return true, Errf(CodeInvalidMsg, "a head covers at least one entry of the access log")
	case !isHexSHA256(m.Head):
		return true, Errf(CodeInvalidMsg, "head hash must be the SHA-256 of the log's last entry in lower-case hex (64 characters)")
	}
	return true, nil
}
