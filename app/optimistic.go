package app

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Optimistic execution.
//
// A validator calls ProcessProposal when the whole proposed block has
// arrived, and FinalizeBlock only once two thirds of the voting power have
// precommitted it, two network rounds later. ProcessProposal starts
// executing the proposed block at once, in the background, exactly as
// FinalizeBlock would; FinalizeBlock then takes that execution when the
// decided block is the one executed (the same header hash, so the same
// height, time and txs), and otherwise discards it, rolls the working
// tree back and executes the decided block itself. The first block is
// not executed early: it runs on the genesis state InitChain staged in
// the working tree, uncommitted, which a rollback would discard too.
//
// The results cannot depend on it. The execution is the same function of
// the last committed state and of the block, run by one goroutine under
// the consensus lock (mu), just earlier; FinalizeBlock returns nothing else
// than what it would have computed, and a discarded execution leaves no
// trace: the working tree is rolled back, and the block-scoped state (the
// block's read memo, its nonces, the decoded protocol versions it may
// have cached) is emptied. What it may leave behind are the verified txs
// it took from the tx cache, which FinalizeBlock then verifies again.
//
// The same idea as the Cosmos SDK's optimistic execution (baseapp/oe).

// optimistic is one background execution of a proposed block.
type optimistic struct {
	hash   []byte
	height int64
	// abort asks the execution to stop between two txs.
	abort atomic.Bool
	// done is closed when the execution has returned resp and err.
	done chan struct{}
	resp *abci.ResponseFinalizeBlock
	err  error
}

// errAborted is a discarded execution's error; nobody sees it.
var errAborted = errors.New("optimistic execution aborted")

// startOptimistic executes the proposed block in the background unless
// it is already executing (a later round may propose the same block
// again). Another execution in flight, of a proposal that lost its round,
// is discarded first.
func (a *App) startOptimistic(hash []byte, height int64, t time.Time, txs [][]byte) {
	a.omu.Lock()
	defer a.omu.Unlock()
	if a.closed || len(hash) == 0 {
		return
	}
	if o := a.oe; o != nil {
		if o.height == height && bytes.Equal(o.hash, hash) {
			return
		}
		a.oe = nil
		a.discard(o)
	}
	// The first block executes on the genesis state that InitChain staged
	// in the working tree, uncommitted: a rollback would discard it too.
	a.mu.Lock()
	first := a.store.committed == 0
	a.mu.Unlock()
	if first {
		return
	}
	o := &optimistic{hash: bytes.Clone(hash), height: height, done: make(chan struct{})}
	a.oe = o
	go func() {
		defer close(o.done)
		o.resp, o.err = a.finalize(height, t, txs, &o.abort)
	}()
}

// takeOptimistic returns the execution of the block with this hash and
// height, waiting for it to finish; ok is false when there is none, and
// any other execution is discarded.
func (a *App) takeOptimistic(hash []byte, height int64) (resp *abci.ResponseFinalizeBlock, ok bool) {
	a.omu.Lock()
	defer a.omu.Unlock()
	o := a.oe
	if o == nil {
		return nil, false
	}
	a.oe = nil
	if o.height == height && bytes.Equal(o.hash, hash) {
		<-o.done
		if o.err == nil {
			return o.resp, true
		}
	}
	a.discard(o)
	return nil, false
}

// discard stops an execution, waits for it and undoes what it did to the
// working tree and to the block-scoped state. The caller holds omu.
func (a *App) discard(o *optimistic) {
	o.abort.Store(true)
	<-o.done
	a.log.Debug("optimistic execution discarded", "height", o.height, "block", fmt.Sprintf("%X", o.hash))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.store.rollback()
	a.blockReads.reset()
	clear(a.blockNonces)
	a.pendingHeight = 0
	// Versions read from the discarded block's own writes may be cached;
	// a later block may write other records under the same keys.
	a.vmu.Lock()
	clear(a.versions)
	a.vmu.Unlock()
}

// stopOptimistic discards any execution in flight and starts no other
// (Close).
func (a *App) stopOptimistic() {
	a.omu.Lock()
	defer a.omu.Unlock()
	a.closed = true
	if o := a.oe; o != nil {
		a.oe = nil
		a.discard(o)
	}
}
