package apptest

import (
	"fmt"

	"github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/types"
)

// The example study's data and message builders are package example's,
// which tools share; tests reach them here too.

// StudyID is the ID of the example protocol's study.
const StudyID = example.StudyID

var (
	// ConsentSHA256 is the consent form hash test enrolments declare.
	ConsentSHA256 = example.ConsentSHA256
	// Example returns a fresh copy of the example protocol or panics.
	Example = example.Protocol
	// WithMissingCodes returns the example protocol with missing-data
	// codes (LB.PLT accepts ND).
	WithMissingCodes = example.WithMissingCodes
	Fingerprint      = example.Fingerprint
	RegisterMsg      = example.RegisterMsg
	AmendMsg         = example.AmendMsg
	ApproveMsg       = example.ApproveMsg
	RejectMsg        = example.RejectMsg
	ActivateMsg      = example.ActivateMsg
	// Delegations.
	ChangeInvestigatorMsg = example.ChangeInvestigatorMsg
	DelegateStudyMsg      = example.DelegateStudyMsg
	UndelegateStudyMsg    = example.UndelegateStudyMsg
	DelegateSiteMsg       = example.DelegateSiteMsg
	UndelegateSiteMsg     = example.UndelegateSiteMsg
	CoordinatorTasks      = example.CoordinatorTasks
	CROTasks              = example.CROTasks
	EnrollMsg             = example.EnrollMsg
	WithdrawMsg           = example.WithdrawMsg
	FormKey               = example.FormKey
	SubmitMsg             = example.SubmitMsg
	CorrectMsg            = example.CorrectMsg
	V                     = example.V
	VS                    = example.VS
	VSOn                  = example.VSOn
	LB                    = example.LB
	AE                    = example.AE
	SeriousAE             = example.SeriousAE
	// Data management.
	OpenQueryMsg = example.OpenQueryMsg
	QueryMsg     = example.QueryMsg
	VerifyMsg    = example.VerifyMsg
	ScopeMsg     = example.ScopeMsg
	// Reference ranges for lab items.
	LabRanges       = example.LabRanges
	SetLabRangesMsg = example.SetLabRangesMsg
	AssessLabMsg    = example.AssessLabMsg
	// Randomisation.
	IE                     = example.IE
	DM                     = example.DM
	RegisterAllocationsMsg = example.RegisterAllocationsMsg
	RandomizeMsg           = example.RandomizeMsg
	UnblindMsg             = example.UnblindMsg
	PublishMsg             = example.PublishMsg
)

// SetupStudy registers the example study (as sponsor-dm), delegates its
// monitoring and data management to the CRO and activates site1
// (ActivateSite). It fails the test on any rejection.
func (c *Chain) SetupStudy() {
	c.T.Helper()
	c.SetupStudyWith(RegisterMsg(Example()))
}

// SetupStudyWith is SetupStudy with the registration message reg.
func (c *Chain) SetupStudyWith(reg types.Msg) {
	c.T.Helper()
	c.MustDo("sponsor-dm", reg)
	c.MustDo("sponsor-dm", DelegateStudyMsg(StudyID, "cro", CROTasks...))
	c.ActivateSite("site1")
}

// ActivateSite activates site for the example study (as sponsor-dm) with
// its investigator, <site>-investigator, as principal investigator, who
// delegates enrolment, data entry and query answers to the site's
// coordinator, <site>-coordinator. It fails the test on any rejection.
func (c *Chain) ActivateSite(site string) {
	c.T.Helper()
	c.MustDo("sponsor-dm", ActivateMsg(StudyID, site, site+"-investigator"))
	c.MustDo(site+"-investigator", DelegateSiteMsg(StudyID, site, site+"-coordinator", CoordinatorTasks...))
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
