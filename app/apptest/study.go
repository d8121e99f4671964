package apptest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// StudyID is the ID of the example protocol's study.
const StudyID = "VT-HTN-201"

// ConsentSHA256 is the consent form hash test enrolments declare.
var ConsentSHA256 = func() string {
	h := sha256.Sum256([]byte("consent form v1.0"))
	return hex.EncodeToString(h[:])
}()

// Example returns a fresh copy of the example protocol or panics.
func Example() *protocol.Protocol {
	p := protocol.Example()
	if p == nil {
		panic("apptest: protocol.Example() does not load")
	}
	return p
}

// Fingerprint returns p's fingerprint or panics.
func Fingerprint(p *protocol.Protocol) string {
	fp, err := p.Fingerprint()
	if err != nil {
		panic(fmt.Sprintf("apptest: fingerprint: %v", err))
	}
	return fp
}

// RegisterMsg registers p with its own fingerprint and the given approvers
// (none: every regulator).
func RegisterMsg(p *protocol.Protocol, approvers ...string) types.Msg {
	return types.Msg{RegisterStudy: &types.MsgRegisterStudy{Protocol: *p, Fingerprint: Fingerprint(p), Approvers: approvers}}
}

// AmendMsg proposes p as the next version of its study.
func AmendMsg(p *protocol.Protocol, rationale string) types.Msg {
	return types.Msg{ProposeAmendment: &types.MsgProposeAmendment{Study: p.Study.ID, Protocol: *p, Fingerprint: Fingerprint(p), Rationale: rationale}}
}

// ApproveMsg approves amendment n of study.
func ApproveMsg(study string, n int) types.Msg {
	return types.Msg{ApproveAmendment: &types.MsgVoteAmendment{Study: study, Amendment: n}}
}

// RejectMsg rejects amendment n of study with a comment.
func RejectMsg(study string, n int, comment string) types.Msg {
	return types.Msg{RejectAmendment: &types.MsgVoteAmendment{Study: study, Amendment: n, Comment: comment}}
}

// ActivateMsg activates site for study.
func ActivateMsg(study, site string) types.Msg {
	return types.Msg{ActivateSite: &types.MsgActivateSite{Study: study, Site: site}}
}

// EnrollMsg enrolls subject at site in the example study.
func EnrollMsg(subject, site string) types.Msg {
	return types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: StudyID, Subject: subject, Site: site, ConsentVersion: "1.0", ConsentSHA256: ConsentSHA256}}
}

// WithdrawMsg withdraws subject from the example study.
func WithdrawMsg(subject, reason string) types.Msg {
	return types.Msg{WithdrawSubject: &types.MsgWithdrawSubject{Study: StudyID, Subject: subject, Reason: reason}}
}

// FormKey addresses a form of subject in the example study.
func FormKey(subject, event string, repeat int, form string) types.FormKey {
	return types.FormKey{Study: StudyID, Subject: subject, Event: event, EventRepeat: repeat, Form: form}
}

// SubmitMsg submits values for the form at k.
func SubmitMsg(k types.FormKey, values []protocol.ItemValue) types.Msg {
	return types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: values}}
}

// CorrectMsg corrects the form at k.
func CorrectMsg(k types.FormKey, reason string, changes ...protocol.ItemValue) types.Msg {
	return types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: changes, Reason: reason}}
}

// V is an item value of a non-repeating group.
func V(item, value string) protocol.ItemValue { return protocol.ItemValue{Item: item, Value: value} }

// VS returns a complete vital signs form (9 items) with the given blood
// pressures; other values are within every range.
func VS(sys, dia int) []protocol.ItemValue {
	return []protocol.ItemValue{
		V("VS.DATE", "2026-01-20"), V("VS.TIME", "09:30"), V("VS.POS", "1"),
		V("VS.SYSBP", strconv.Itoa(sys)), V("VS.DIABP", strconv.Itoa(dia)), V("VS.HR", "72"),
		V("VS.TEMP", "36.6"), V("VS.RESP", "14"), V("VS.WEIGHT", "81.5"),
	}
}

// LB returns a complete laboratory form (11 items) for a male subject.
func LB() []protocol.ItemValue {
	return []protocol.ItemValue{
		V("LB.DATE", "2026-01-20"), V("LB.FAST", "1"), V("LB.HGB", "14.2"), V("LB.WBC", "6.1"),
		V("LB.PLT", "250"), V("LB.SODIUM", "140"), V("LB.K", "4.2"), V("LB.CREAT", "80"),
		V("LB.EGFR", "90"), V("LB.ALT", "25"), V("LB.GLUC", "5.2"),
	}
}

// AE returns rows adverse events of the repeating group AE.LOG, 10 items
// per row (ended, serious), so two rows make a 20-item form. seed varies
// the verbatim terms.
func AE(rows, seed int) []protocol.ItemValue {
	var out []protocol.ItemValue
	for r := 1; r <= rows; r++ {
		row := func(item, value string) protocol.ItemValue {
			return protocol.ItemValue{Item: item, Repeat: r, Value: value}
		}
		out = append(out,
			row("AE.TERM", fmt.Sprintf("Headache episode %d-%d", seed, r)), row("AE.STDT", "2026-02-01"),
			row("AE.ONGO", "0"), row("AE.ENDDT", "2026-02-03"), row("AE.SEV", "2"), row("AE.SER", "1"),
			row("AE.SERCRIT", "3"), row("AE.REL", "3"), row("AE.ACN", "1"), row("AE.OUT", "1"),
		)
	}
	return out
}

// SetupStudy registers the example study (as sponsor-dm) and activates
// site1. It fails the test on any rejection.
func (c *Chain) SetupStudy() {
	c.T.Helper()
	c.MustDo("sponsor-dm", RegisterMsg(Example()))
	c.MustDo("sponsor-dm", ActivateMsg(StudyID, "site1"))
}

// Body returns an envelope body for msg signed by account, with the next
// deterministic nonce, valid for 100 blocks from the next height.
func (c *Chain) Body(account string, msg types.Msg) types.Body {
	c.nonce++
	return types.Body{V: types.TxVersion, ChainID: ChainID, Signer: account, Nonce: c.NonceHex(c.nonce), Expires: c.Height + 100, Msg: msg}
}

// NonceHex formats n as a 32-character nonce.
func (c *Chain) NonceHex(n uint64) string { return fmt.Sprintf("%032x", n) }

// SignBody signs body with s and returns the encoded tx.
func (c *Chain) SignBody(body types.Body, s types.Signer) []byte {
	tx, err := types.SignWith(body, s.Sign)
	if err != nil {
		c.T.Fatal(err)
	}
	raw, err := tx.Encode()
	if err != nil {
		c.T.Fatal(err)
	}
	return raw
}

// AddPerson registers a test person (a key the test created) with the
// chain's signer table, replacing any of the same ID.
func (c *Chain) AddPerson(p *Person) { c.People[p.ID] = p }
