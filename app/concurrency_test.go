package app_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// TestConcurrentCheckTxAndQuery runs CheckTx, rechecks and proven queries
// on other goroutines while blocks execute and commit, as CometBFT does
// with a connection-synchronised local client; the busy node also executes
// every block optimistically (ProcessProposal first), some after a
// proposal that loses its round, and closes with an execution in flight.
// The blocks must end at the
// same app hashes as on a node that saw no concurrent traffic, and every
// concurrent answer must be one the committed state explains. Run it with
// -race (make test does) to check the locking.
func TestConcurrentCheckTxAndQuery(t *testing.T) {
	busy, quiet := apptest.New(t), apptest.New(t)
	busy.Optimistic = true
	busy.SetupStudy()
	quiet.SetupStudy()

	const blocks, perBlock = 12, 25
	var batches [][][]byte
	for b := 0; b < blocks; b++ {
		var txs [][]byte
		for i := 0; i < perBlock; i++ {
			n := b*perBlock + i
			txs = append(txs, busy.Tx("site1-coordinator", apptest.EnrollMsg(subjectID(n), "site1")))
			if b > 0 && i%5 == 0 { // a form of a subject enrolled in the block before
				k := apptest.FormKey(subjectID(n-perBlock), "SCR", 1, "VS")
				txs = append(txs, busy.Tx("site1-coordinator", apptest.SubmitMsg(k, apptest.VS(120+i, 80))))
			}
		}
		batches = append(batches, txs)
	}
	// Refused by CheckTx on its values (the protocol in force is read
	// while blocks compile and cache it); never in a block.
	invalid := busy.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(subjectID(0), "D1", 1, "VS"), apptest.VS(400, 80)))

	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	report := func(s string) {
		select {
		case errs <- s:
		default:
		}
	}
	wg.Add(2)
	go func() { // the mempool connection: new txs and rechecks
		defer wg.Done()
		for round := 0; ; round++ {
			for _, txs := range batches {
				for _, tx := range txs {
					select {
					case <-stop:
						return
					default:
					}
					typ := abci.CheckTxType_New
					if round%2 == 1 {
						typ = abci.CheckTxType_Recheck
					}
					res, err := busy.App.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: typ})
					if err != nil {
						report("CheckTx error: " + err.Error())
						return
					}
					if c := types.Code(res.Code); c != types.CodeOK && c != types.CodeNonceReused {
						report("CheckTx of a valid tx: " + res.Log)
					}
				}
				res, err := busy.App.CheckTx(ctx, &abci.RequestCheckTx{Tx: invalid, Type: abci.CheckTxType_New})
				if err != nil {
					report("CheckTx error: " + err.Error())
					return
				}
				if types.Code(res.Code) != types.CodeEditCheckFailed {
					report("CheckTx of an out-of-range submission: " + res.Log)
				}
			}
		}
	}()
	go func() { // the query connection: proven reads of the latest state
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := busy.App.TrustedQuery(ctx, &abci.RequestQuery{Path: types.QueryKey, Data: types.KeyAccount("site1-coordinator"), Prove: true})
			if err != nil {
				report("Query error: " + err.Error())
				return
			}
			if res.Code != 0 || res.Value == nil || res.ProofOps == nil {
				report("query of an account: " + res.Log)
			}
		}
	}()

	for b, txs := range batches {
		if b%3 == 1 {
			lost := slices.Clone(txs)
			slices.Reverse(lost)
			busy.Propose(lost...)
		}
		rb, rq := busy.Block(txs...), quiet.Block(txs...)
		for i := range rb {
			if rb[i].Code != 0 || rq[i].Code != 0 {
				t.Fatalf("block %d tx %d: codes %d/%d: %s %s", busy.Height, i, rb[i].Code, rq[i].Code, rb[i].Log, rq[i].Log)
			}
		}
		if string(busy.AppHash) != string(quiet.AppHash) {
			t.Fatalf("height %d: app hash %X with concurrent traffic, %X without", busy.Height, busy.AppHash, quiet.AppHash)
		}
	}
	busy.Propose(batches[0]...) // still executing, or not taken, when the app closes
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
