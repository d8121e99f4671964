package testnet

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// committedTx is a transaction a client saw committed (code 0 in a block),
// with the ledger records it wrote.
type committedTx struct {
	Hash   string
	Height int64
	What   string
	// Keys are store keys the tx wrote; each must be readable, with a
	// valid proof, at Height and at the latest height.
	Keys [][]byte
}

// ledgerLog is every committed tx seen so far, safe for concurrent use.
type ledgerLog struct {
	mu  sync.Mutex
	txs []committedTx
}

func (l *ledgerLog) add(tx committedTx) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.txs = append(l.txs, tx)
}

func (l *ledgerLog) all() []committedTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]committedTx(nil), l.txs...)
}

// violation is a broken invariant: which one, where and when.
type violation struct {
	Invariant string
	Node      string
	Height    int64
	Detail    string
}

func (v violation) Error() string {
	return fmt.Sprintf("invariant %q broken on node %s at height %d: %s", v.Invariant, v.Node, v.Height, v.Detail)
}

// invCommonHeight waits until every node in ns has committed at least the
// highest height any of them reported at the call (all live nodes reach a
// common height) and returns that height.
func invCommonHeight(ns []*tnode, within time.Duration) (int64, error) {
	var target int64
	for _, n := range ns {
		h, err := n.height()
		if err != nil {
			return 0, violation{"common height", n.org, 0, "does not answer: " + err.Error()}
		}
		target = max(target, h)
	}
	deadline := time.Now().Add(within)
	for _, n := range ns {
		for {
			h, err := n.height()
			if err == nil && h >= target {
				break
			}
			if time.Now().After(deadline) {
				return 0, violation{"common height", n.org, h, fmt.Sprintf("did not reach height %d within %s (err %v)", target, within, err)}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return target, nil
}

// blockMeta is what invBlocksAgree compares at one height, and the
// header's time.
type blockMeta struct {
	hash, appHash []byte
	time          time.Time
}

// blockMetas returns the block hash, header app hash and time of heights
// from..upTo on n, 20 per request.
func blockMetas(n *tnode, from, upTo int64) (map[int64]blockMeta, error) {
	out := make(map[int64]blockMeta, upTo-from+1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for lo := from; lo <= upTo; lo += 20 {
		hi := min(lo+19, upTo)
		res, err := n.cl.RPC().BlockchainInfo(ctx, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("blockchain %d-%d: %w", lo, hi, err)
		}
		for _, bm := range res.BlockMetas {
			out[bm.Header.Height] = blockMeta{hash: bm.BlockID.Hash, appHash: bm.Header.AppHash, time: bm.Header.Time}
		}
	}
	for h := from; h <= upTo; h++ {
		if _, ok := out[h]; !ok {
			return nil, fmt.Errorf("block %d missing from the block store", h)
		}
	}
	return out, nil
}

// invBlocksAgree checks that at every height from..upTo all nodes in ns
// have the same block hash and the same app hash in the header.
func invBlocksAgree(ns []*tnode, from, upTo int64) error {
	tops := make([]int64, len(ns))
	for i := range tops {
		tops[i] = upTo
	}
	return invBlocksAgreeUpTo(ns, from, tops)
}

// invBlocksAgreeUpTo checks that at every height from from on, all nodes
// in ns that have a block there (node i up to tops[i]) have the same
// block hash and the same app hash in the header: no two different
// blocks at one height anywhere.
func invBlocksAgreeUpTo(ns []*tnode, from int64, tops []int64) error {
	metas := make([]map[int64]blockMeta, len(ns))
	var top int64
	for i, n := range ns {
		m, err := blockMetas(n, from, tops[i])
		if err != nil {
			return violation{"equal block and app hashes", n.org, tops[i], err.Error()}
		}
		metas[i] = m
		top = max(top, tops[i])
	}
	for h := from; h <= top; h++ {
		ref := -1
		for i := range ns {
			if tops[i] < h {
				continue
			}
			if ref < 0 {
				ref = i
				continue
			}
			got, want := metas[i][h], metas[ref][h]
			if !bytes.Equal(got.hash, want.hash) {
				return violation{"equal block hashes", ns[i].org, h, fmt.Sprintf("block hash %X, node %s has %X", got.hash, ns[ref].org, want.hash)}
			}
			if !bytes.Equal(got.appHash, want.appHash) {
				return violation{"equal app hashes", ns[i].org, h, fmt.Sprintf("header app hash %X, node %s has %X", got.appHash, ns[ref].org, want.appHash)}
			}
		}
	}
	return nil
}

// invInfoAppHash checks that the app hash ABCI Info reports for the last
// committed height h equals the app hash in the header of block h+1.
func invInfoAppHash(n *tnode) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	info, err := n.cl.RPC().ABCIInfo(ctx)
	if err != nil {
		return violation{"info app hash = next header app hash", n.org, 0, err.Error()}
	}
	h := info.Response.LastBlockHeight
	want, err := n.cl.AppHash(ctx, h)
	if err != nil {
		return violation{"info app hash = next header app hash", n.org, h, err.Error()}
	}
	if !bytes.Equal(info.Response.LastBlockAppHash, want) {
		return violation{"info app hash = next header app hash", n.org, h,
			fmt.Sprintf("Info reports app hash %X, header of block %d has %X", info.Response.LastBlockAppHash, h+1, want)}
	}
	return nil
}

// invTxsCommitted checks every committed tx on every node in ns: found by
// hash at the height the client saw, with code 0; each of its records
// readable with a valid ics23 proof at that height and at height latest
// (nothing committed is lost), with the same value on every node.
func invTxsCommitted(ns []*tnode, txs []committedTx, latest int64) error {
	errs := make([]error, len(ns))
	values := make([]map[string][]byte, len(ns))
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			values[i], errs[i] = checkTxsOn(n, txs, latest)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, tx := range txs {
		for _, k := range tx.Keys {
			id := fmt.Sprintf("%d/%s", tx.Height, k)
			for i := 1; i < len(ns); i++ {
				if !bytes.Equal(values[i][id], values[0][id]) {
					return violation{"same records on every node", ns[i].org, tx.Height,
						fmt.Sprintf("record %s written by tx %s (%s) differs from node %s", k, tx.Hash, tx.What, ns[0].org)}
				}
			}
		}
	}
	return nil
}

func checkTxsOn(n *tnode, txs []committedTx, latest int64) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vals := map[string][]byte{}
	roots := map[int64][]byte{}
	for _, tx := range txs {
		hb, err := hex.DecodeString(tx.Hash)
		if err != nil {
			return nil, err
		}
		res, err := n.cl.RPC().Tx(ctx, hb, false)
		if err != nil {
			return nil, violation{"committed tx found by hash", n.org, tx.Height, fmt.Sprintf("tx %s (%s): %v", tx.Hash, tx.What, err)}
		}
		if res.Height != tx.Height || res.TxResult.Code != 0 {
			return nil, violation{"committed tx found by hash", n.org, tx.Height,
				fmt.Sprintf("tx %s (%s) is at height %d with code %d", tx.Hash, tx.What, res.Height, res.TxResult.Code)}
		}
		for _, k := range tx.Keys {
			for _, at := range []int64{tx.Height, latest} {
				v, h, err := provenGet(ctx, n, roots, k, at)
				if err != nil {
					return nil, violation{"records readable with a valid proof", n.org, at, fmt.Sprintf("record %s of tx %s (%s): %v", k, tx.Hash, tx.What, err)}
				}
				if v == nil {
					return nil, violation{"nothing committed is lost", n.org, h, fmt.Sprintf("record %s of tx %s (%s) is absent", k, tx.Hash, tx.What)}
				}
				if at == tx.Height {
					vals[fmt.Sprintf("%d/%s", at, k)] = v
				}
			}
		}
	}
	return vals, nil
}

// invRecordsAgree checks that every record the txs wrote reads the same
// at height h on n as on ref, with a valid proof on each. n needs no
// history before h: a node restored from a snapshot passes.
func invRecordsAgree(ref, n *tnode, txs []committedTx, h int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rootsN, rootsR := map[int64][]byte{}, map[int64][]byte{}
	for _, tx := range txs {
		for _, k := range tx.Keys {
			got, _, err := provenGet(ctx, n, rootsN, k, h)
			if err != nil {
				return violation{"records readable with a valid proof", n.org, h, fmt.Sprintf("record %s of tx %s (%s): %v", k, tx.Hash, tx.What, err)}
			}
			want, _, err := provenGet(ctx, ref, rootsR, k, h)
			if err != nil {
				return violation{"records readable with a valid proof", ref.org, h, fmt.Sprintf("record %s of tx %s (%s): %v", k, tx.Hash, tx.What, err)}
			}
			if got == nil || !bytes.Equal(got, want) {
				return violation{"same records on every node", n.org, h, fmt.Sprintf("record %s of tx %s (%s) is %q, on node %s %q", k, tx.Hash, tx.What, got, ref.org, want)}
			}
		}
	}
	return nil
}

// provenGet reads key at height (0: latest) and checks its proof against
// the app hash in the header of the next block, caching those per height.
func provenGet(ctx context.Context, n *tnode, roots map[int64][]byte, key []byte, height int64) ([]byte, int64, error) {
	r, err := n.cl.Query(ctx, &abci.RequestQuery{Path: types.QueryKey, Data: key, Height: height, Prove: true})
	if err != nil {
		return nil, height, err
	}
	if r.Code != 0 {
		return nil, r.Height, fmt.Errorf("query refused: %s", r.Log)
	}
	if r.ProofOps == nil || len(r.ProofOps.Ops) != 1 {
		return nil, r.Height, fmt.Errorf("no proof returned")
	}
	root, ok := roots[r.Height]
	if !ok {
		if root, err = n.cl.AppHash(ctx, r.Height); err != nil {
			return nil, r.Height, err
		}
		roots[r.Height] = root
	}
	if err := types.VerifyProof(root, key, r.Value, r.ProofOps.Ops[0].Data); err != nil {
		return nil, r.Height, err
	}
	return r.Value, r.Height, nil
}

// checkAll runs every invariant over the live nodes and returns the
// common height reached. The first violation fails the test with its
// node, height and name.
func (c *cluster) checkAll(label string, log *ledgerLog) int64 {
	c.t.Helper()
	start := time.Now()
	ns := c.liveNodes()
	h, err := invCommonHeight(ns, 90*time.Second)
	if err == nil {
		err = invBlocksAgree(ns, 1, h)
	}
	if err == nil {
		errs := make([]error, len(ns))
		var wg sync.WaitGroup
		for i, n := range ns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = invInfoAppHash(n)
			}()
		}
		wg.Wait()
		for _, e := range errs {
			if err == nil {
				err = e
			}
		}
	}
	txs := log.all()
	if err == nil {
		// Records are also read at the common height h, which every tx
		// seen so far is at or below.
		err = invTxsCommitted(ns, txs, h)
	}
	if err != nil {
		c.t.Fatalf("after %s: %v", label, err)
	}
	var names []string
	for _, n := range ns {
		names = append(names, n.org)
	}
	c.t.Logf("after %s: invariants hold on %s at common height %d (%d committed txs checked, %s)",
		label, strings.Join(names, ","), h, len(txs), time.Since(start).Round(time.Millisecond))
	return h
}
