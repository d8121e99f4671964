package app_test

import (
	"bytes"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// A proposal that loses its round was executed in the background by
// ProcessProposal (from the second block on). It leaves no trace: its txs can be decided later, its
// protocol version does not survive, and the app hashes are those of a
// node that never saw it.
func TestOptimisticLostProposalLeavesNoTrace(t *testing.T) {
	c, plain := apptest.New(t), apptest.New(t)
	c.Optimistic = true
	both := func(txs ...[]byte) []*abci.ExecTxResult {
		res := c.Block(txs...)
		ref := plain.Block(txs...)
		for i := range res {
			if res[i].Code != ref[i].Code || res[i].Log != ref[i].Log {
				t.Fatalf("height %d tx %d: %d %q, without optimistic execution %d %q", c.Height, i, res[i].Code, res[i].Log, ref[i].Code, ref[i].Log)
			}
		}
		if !bytes.Equal(c.AppHash, plain.AppHash) {
			t.Fatalf("height %d: app hash differs from a node without optimistic execution", c.Height)
		}
		return res
	}
	// A lost proposal of the first block, whose state is the genesis
	// InitChain staged, uncommitted.
	c.Propose(c.Tx("site1-coordinator", apptest.EnrollMsg("S1-000", "site1")))
	both(c.Tx("sponsor-dm", apptest.RegisterMsg(apptest.Example())))
	both(c.Tx("sponsor-dm", apptest.ActivateMsg(study, "site1", "site1-investigator")))
	both(c.Tx("site1-investigator", apptest.DelegateSiteMsg(study, "site1", "site1-coordinator", apptest.CoordinatorTasks...)))
	both(c.Tx("site1-coordinator", apptest.EnrollMsg("S1-001", "site1")))

	// The lost proposal amends the protocol to version 2 with systolic BP
	// at most 240, approves it, and judges a form under it (which caches
	// the version); the decided block makes another version 2, at most 260.
	lost := v2(t, study, "2.0")
	decided := v2(t, study, "2.0")
	setHard(t, decided, "VS.SYSBP", "80", "260")
	approve := c.Tx("regulator-auditor", apptest.ApproveMsg(study, 1))
	form := c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(245, 90)))
	c.Propose(c.Tx("sponsor-dm", apptest.AmendMsg(lost, "lost")), approve, form)

	for i, r := range both(c.Tx("sponsor-dm", apptest.AmendMsg(decided, "decided")), approve) {
		if r.Code != 0 {
			t.Fatalf("decided block tx %d: %d %q", i, r.Code, r.Log)
		}
	}
	if r := both(form)[0]; r.Code != 0 {
		t.Fatalf("245 mmHg under the decided version 2 (at most 260): %d %q", r.Code, r.Log)
	}
	low := both(c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "D1", 1, "VS"), apptest.VS(75, 90))))[0]
	if types.Code(low.Code) != types.CodeEditCheckFailed || !strings.Contains(low.Log, "VS.SYSBP") {
		t.Fatalf("75 mmHg under the decided version 2 (at least 80): %d %q", low.Code, low.Log)
	}

	// Two lost proposals in a row, then a block this node never saw
	// proposed (it comes straight to FinalizeBlock).
	w4 := c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "VS"), apptest.VS(150, 90)))
	c.Propose(w4)
	c.Propose(c.Tx("site1-coordinator", apptest.WithdrawMsg("S1-001", "lost")), w4)
	c.Optimistic = false
	if r := both(w4)[0]; r.Code != 0 {
		t.Fatalf("a form two lost proposals carried: %d %q", r.Code, r.Log)
	}
	c.Optimistic = true
	both()
}
