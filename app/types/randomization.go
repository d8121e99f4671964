package types

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Randomisation with a sealed allocation list. The sponsor's unblinded
// statistician generates the list off the ledger and registers only its
// commitments (MsgRegisterAllocations): for each stratum and sequence
// number, Commitment(study, stratum, seq, arm, salt). A site randomises
// an eligible subject (MsgRandomize): the ledger computes the subject's
// stratum from the protocol and assigns the stratum's next sequence
// number. An investigator unblinds one subject in an emergency
// (MsgUnblind, with a reason); the list holder then publishes that
// entry's arm and salt (MsgPublishAllocations), which every validator
// checks against the commitment; after the database lock the whole list
// is published the same way. No arm is on the ledger before it is
// published. docs/RANDOMIZATION.md describes the rules.

// Randomisation limits.
const (
	// MaxAllocationSeq is the highest sequence number of a stratum.
	MaxAllocationSeq = 999999
	// MaxCommitmentsPerTx bounds a registration: 4,096 commitments are
	// about 275 KB of JSON, a quarter of MaxTxBytes.
	MaxCommitmentsPerTx = 4096
	// MaxRevealsPerTx bounds a publication: 2,048 entries are about
	// 270 KB of JSON.
	MaxRevealsPerTx = 2048
	// SaltBytes is the length of an entry's salt.
	SaltBytes = 32
)

// commitmentTag is the first field of every commitment's preimage.
const commitmentTag = "veritrial/allocation/v1"

// Commitment returns the commitment to one entry of an allocation list:
// SHA-256 over the fields tag, study, stratum, seq (decimal), arm and salt
// (its 32 raw bytes), each written as its length (4 bytes, big-endian)
// followed by its bytes, where tag is "veritrial/allocation/v1". The
// encoding reads back one way, so no two entries share a preimage.
func Commitment(study, stratum string, seq int, arm string, salt []byte) [32]byte {
	return HashFields([]byte(commitmentTag), []byte(study), []byte(stratum), []byte(strconv.Itoa(seq)), []byte(arm), salt)
}

// HashFields returns SHA-256 over fields, each written as its length (4
// bytes, big-endian) followed by its bytes, so that one list of fields
// has one preimage.
func HashFields(fields ...[]byte) [32]byte {
	h := sha256.New()
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CommitmentHex is Commitment in lower-case hex.
func CommitmentHex(study, stratum string, seq int, arm string, salt []byte) string {
	c := Commitment(study, stratum, seq, arm, salt)
	return hex.EncodeToString(c[:])
}

// MsgRegisterAllocations registers the commitments of entries First,
// First+1 ... of a stratum's allocation list; First is one past the last
// entry registered for the stratum, so a list goes on the ledger in order
// and in as many transactions as its size needs.
type MsgRegisterAllocations struct {
	Study       string   `json:"study"`
	Stratum     string   `json:"stratum"`
	First       int      `json:"first"`
	Commitments []string `json:"commitments"`
}

// MsgRandomize randomises a subject: the ledger assigns the next entry of
// the subject's stratum.
type MsgRandomize struct {
	Study   string `json:"study"`
	Subject string `json:"subject"`
}

// MsgUnblind opens one randomised subject's entry in an emergency; the
// reason is required.
type MsgUnblind struct {
	Study   string `json:"study"`
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
}

// MsgPublishAllocations publishes the arm and salt of list entries: of an
// unblinded subject's entry, or of any entry once the database is locked.
type MsgPublishAllocations struct {
	Study   string             `json:"study"`
	Entries []AllocationReveal `json:"entries"`
}

// AllocationReveal is one list entry opened: its arm and its salt (hex).
type AllocationReveal struct {
	Stratum string `json:"stratum"`
	Seq     int    `json:"seq"`
	Arm     string `json:"arm"`
	Salt    string `json:"salt"`
}

// RandStratum is the state of one stratum's allocation list: Size entries
// registered, the first Assigned of them given to subjects, Published of
// them opened.
type RandStratum struct {
	Study      string `json:"study"`
	Stratum    string `json:"stratum"`
	Size       int    `json:"size"`
	Assigned   int    `json:"assigned"`
	Published  int    `json:"published,omitempty"`
	Registered Stamp  `json:"registered"` // the last registration
}

// RandEntry is one entry of a stratum's allocation list: its commitment,
// the height of the block that registered it (the transaction says who),
// the subject it was given to, and, once published, its arm and salt.
type RandEntry struct {
	Study      string `json:"study"`
	Stratum    string `json:"stratum"`
	Seq        int    `json:"seq"`
	Commitment string `json:"commitment"`
	Registered int64  `json:"registered_height"`
	Subject    string `json:"subject,omitempty"`
	Arm        string `json:"arm,omitempty"`
	Salt       string `json:"salt,omitempty"`
	Published  *Stamp `json:"published,omitempty"`
}

// Allocation is a randomised subject's place in the list: the stratum and
// sequence number the ledger assigned, the entry's commitment, any
// emergency unblinding, and, once published, the arm and salt.
type Allocation struct {
	Study      string      `json:"study"`
	Subject    string      `json:"subject"`
	Site       string      `json:"site"`
	Stratum    string      `json:"stratum"`
	Seq        int         `json:"seq"`
	Commitment string      `json:"commitment"`
	Randomized Stamp       `json:"randomized"`
	Unblinding *Unblinding `json:"unblinding,omitempty"`
	Arm        string      `json:"arm,omitempty"`
	Salt       string      `json:"salt,omitempty"`
	Published  *Stamp      `json:"published,omitempty"`
}

// Unblinding is an emergency unblinding: who asked, when and why.
type Unblinding struct {
	Stamp  Stamp  `json:"stamp"`
	Reason string `json:"reason"`
}

// Verify checks a published allocation against its commitment; nil
// when it is not published yet or matches.
func (a *Allocation) Verify() error {
	if a.Published == nil {
		return nil
	}
	return VerifyReveal(a.Study, AllocationReveal{Stratum: a.Stratum, Seq: a.Seq, Arm: a.Arm, Salt: a.Salt}, a.Commitment)
}

// VerifyReveal checks that r opens commitment (hex) of study.
func VerifyReveal(study string, r AllocationReveal, commitment string) error {
	salt, err := hex.DecodeString(r.Salt)
	if err != nil || len(salt) != SaltBytes {
		return fmt.Errorf("entry %s #%d: the salt is not %d bytes of hex", r.Stratum, r.Seq, SaltBytes)
	}
	if got := CommitmentHex(study, r.Stratum, r.Seq, r.Arm, salt); got != commitment {
		return fmt.Errorf("entry %s #%d: arm %s and its salt give commitment %s, the ledger holds %s", r.Stratum, r.Seq, r.Arm, got, commitment)
	}
	return nil
}

// CheckStratum checks the spelling of a stratum: levels of 1 to 64
// characters from A-Z a-z 0-9 . _ - joined by "+".
func CheckStratum(s string) *Error {
	levels := strings.Split(s, "+")
	for _, l := range levels {
		ok := l != "" && len(l) <= 64 && len(s) <= 200
		for i := 0; ok && i < len(l); i++ {
			c := l[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			return Errf(CodeInvalidMsg, "stratum %q is not well formed: levels of 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-' joined by '+' (site1+SBP-LT160)", clip(s))
		}
	}
	return nil
}

// checkHex32 checks that s is 32 bytes in lower-case hex.
func checkHex32(what, s string) *Error {
	if len(s) != 64 || strings.ToLower(s) != s {
		return Errf(CodeInvalidMsg, "%s %q is not 64 lower-case hex characters", what, clip(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return Errf(CodeInvalidMsg, "%s %q is not 64 lower-case hex characters", what, clip(s))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func validateRandomization(msg any) (ok bool, e *Error) {
	switch m := msg.(type) {
	case *MsgRegisterAllocations:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckStratum(m.Stratum); e != nil {
			return true, e
		}
		n := len(m.Commitments)
		if n == 0 || n > MaxCommitmentsPerTx {
			return true, Errf(CodeInvalidMsg, "a registration carries 1 to %d commitments, this one %d; split the list", MaxCommitmentsPerTx, n)
		}
		if m.First < 1 || m.First > MaxAllocationSeq-n+1 {
			return true, Errf(CodeInvalidMsg, "entries are numbered 1 to %d; first %d with %d commitments is outside", MaxAllocationSeq, m.First, n)
		}
		for i, c := range m.Commitments {
			if e := checkHex32(fmt.Sprintf("commitment of entry %d", m.First+i), c); e != nil {
				return true, e
			}
		}
		return true, nil
	case *MsgRandomize:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		return true, CheckID("subject ID", m.Subject)
	case *MsgUnblind:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if e := CheckID("subject ID", m.Subject); e != nil {
			return true, e
		}
		if strings.TrimSpace(m.Reason) == "" {
			return true, Errf(CodeReasonRequired, "an emergency unblinding needs a reason (--reason \"...\"), which the audit trail keeps")
		}
		return true, checkText("reason", m.Reason, true)
	case *MsgPublishAllocations:
		if e := CheckID("study ID", m.Study); e != nil {
			return true, e
		}
		if n := len(m.Entries); n == 0 || n > MaxRevealsPerTx {
			return true, Errf(CodeInvalidMsg, "a publication carries 1 to %d entries, this one %d; split it", MaxRevealsPerTx, n)
		}
		seen := map[string]bool{}
		for _, r := range m.Entries {
			if e := CheckStratum(r.Stratum); e != nil {
				return true, e
			}
			if r.Seq < 1 || r.Seq > MaxAllocationSeq {
				return true, Errf(CodeInvalidMsg, "entry %s #%d: sequence numbers run from 1 to %d", r.Stratum, r.Seq, MaxAllocationSeq)
			}
			if e := CheckID("arm", r.Arm); e != nil {
				return true, e
			}
			if e := checkHex32(fmt.Sprintf("salt of entry %s #%d", r.Stratum, r.Seq), r.Salt); e != nil {
				return true, e
			}
			k := r.Stratum + "/" + strconv.Itoa(r.Seq)
			if seen[k] {
				return true, Errf(CodeInvalidMsg, "entry %s #%d is published twice in one transaction", r.Stratum, r.Seq)
			}
			seen[k] = true
		}
		return true, nil
	}
	return false, nil
}
