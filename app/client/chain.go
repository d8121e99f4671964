package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/types"
)

// What a node knows of its chain besides the ledger's records: its status,
// a tx's outcome, the txs of a range of blocks. Each is read from a
// CometBFT RPC client, which is the node's RPC over HTTP for a client on
// the node's machine, or the node itself in process for the read API
// (app/readapi), so both transports give the same documents.

// NodeStatus is a node's view of the chain.
type NodeStatus struct {
	ChainID         string    `json:"chain_id"`
	NodeID          string    `json:"node_id"`
	Moniker         string    `json:"moniker"`
	Height          int64     `json:"height"`
	LatestBlockTime time.Time `json:"latest_block_time"`
	LatestBlockHash string    `json:"latest_block_hash"`
	AppHash         string    `json:"app_hash"`
	// StateMachineVersion is the version of the state machine that
	// produced the node's last committed height (its ABCI Info's app
	// version).
	StateMachineVersion uint64            `json:"state_machine_version"`
	CatchingUp          bool              `json:"catching_up"`
	Validators          []StatusValidator `json:"validators"`
	Peers               []StatusPeer      `json:"peers"`
	// Halted, when set, says the node stopped following the chain: what
	// it holds stops at Halted.Height and its read API answers nothing
	// but its status.
	Halted *Halt `json:"halted,omitempty"`
	// MaxBlockIntervalMS is the longest a chain this node follows goes
	// without a block while it is live (its empty-blocks interval); 0
	// when the node does not say, or makes blocks only for txs.
	MaxBlockIntervalMS int64 `json:"max_block_interval_ms,omitempty"`
}

// Halt is a node's consensus failure: CometBFT's consensus stopped on
// an error it cannot recover from (for one, +2/3 of the validators
// committed a block this node's state finds invalid), while the node's
// RPC and read API went on running at the last height it committed.
type Halt struct {
	// Height is the last height the node committed.
	Height int64 `json:"height"`
	// Reason is CometBFT's error, or, for an upgrade, what to start.
	Reason string `json:"reason"`
	// Upgrade names the decided upgrade whose height the node reached
	// without carrying it ("" for any other failure): the node stopped
	// before executing that height, as every node of its release does,
	// and waits for its operator to start the new release.
	Upgrade string    `json:"upgrade,omitempty"`
	Since   time.Time `json:"since"`
}

// Stalled says how long the chain has gone without a block, as the
// node's status at now shows it, when that is more than ten times its
// longest interval between blocks (and at least a minute): a consortium
// that lost its quorum, or a node cut off from its peers. Zero otherwise,
// and when the node does not say how often it makes blocks.
func (s *NodeStatus) Stalled(now time.Time) time.Duration {
	if s.MaxBlockIntervalMS <= 0 || s.LatestBlockTime.IsZero() || s.CatchingUp {
		return 0
	}
	age := now.Sub(s.LatestBlockTime)
	if age > max(time.Minute, 10*time.Duration(s.MaxBlockIntervalMS)*time.Millisecond) {
		return age
	}
	return 0
}

// StatusValidator is a member of the latest validator set.
type StatusValidator struct {
	Address string `json:"address"`
	PubKey  string `json:"pubkey"` // base64
	Power   int64  `json:"power"`
	// Org is the organisation that runs it, which a client may add from
	// the ledger's organisations (the node does not say).
	Org string `json:"org,omitempty"`
}

// StatusPeer is a node the node is connected to.
type StatusPeer struct {
	ID         string `json:"id"`
	Moniker    string `json:"moniker"`
	RemoteIP   string `json:"remote_ip"`
	ListenAddr string `json:"listen_addr"`
	Outbound   bool   `json:"outbound"`
}

// StatusSource is what StatusOf reads.
type StatusSource interface {
	rpcclient.StatusClient
	rpcclient.ABCIClient
	rpcclient.NetworkClient
	rpcclient.SignClient
}

// StatusOf reads the status of the node src speaks for: height, hashes,
// state-machine version, the latest validator set and the connected
// peers.
func StatusOf(ctx context.Context, src StatusSource) (*NodeStatus, error) {
	st, err := src.Status(ctx)
	if err != nil {
		return nil, err
	}
	s := &NodeStatus{
		ChainID: st.NodeInfo.Network, NodeID: string(st.NodeInfo.DefaultNodeID), Moniker: st.NodeInfo.Moniker,
		Height: st.SyncInfo.LatestBlockHeight, LatestBlockTime: st.SyncInfo.LatestBlockTime.UTC(),
		LatestBlockHash: st.SyncInfo.LatestBlockHash.String(), AppHash: st.SyncInfo.LatestAppHash.String(),
		CatchingUp: st.SyncInfo.CatchingUp, Validators: []StatusValidator{}, Peers: []StatusPeer{},
	}
	info, err := src.ABCIInfo(ctx)
	if err != nil {
		return nil, err
	}
	s.StateMachineVersion = info.Response.AppVersion
	if s.Height > 0 {
		page, perPage := 1, 100
		for {
			vals, err := src.Validators(ctx, &s.Height, &page, &perPage)
			if err != nil {
				return nil, err
			}
			for _, v := range vals.Validators {
				s.Validators = append(s.Validators, StatusValidator{Address: v.Address.String(), PubKey: base64.StdEncoding.EncodeToString(v.PubKey.Bytes()), Power: v.VotingPower})
			}
			if len(s.Validators) >= vals.Total || len(vals.Validators) == 0 {
				break
			}
			page++
		}
	}
	ni, err := src.NetInfo(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ni.Peers {
		s.Peers = append(s.Peers, StatusPeer{ID: string(p.NodeInfo.DefaultNodeID), Moniker: p.NodeInfo.Moniker, RemoteIP: p.RemoteIP, ListenAddr: p.NodeInfo.ListenAddr, Outbound: p.IsOutbound})
	}
	return s, nil
}

// ErrTxNotFound means no block holds the tx (yet).
var ErrTxNotFound = errors.New("transaction not found in a block")

// TxOf reads the tx with hash from the node's tx index: its bytes and its
// outcome; ErrTxNotFound when no block holds it.
func TxOf(ctx context.Context, src rpcclient.SignClient, hash []byte) ([]byte, *Result, error) {
	res, err := src.Tx(ctx, hash, false)
	if err != nil {
		if isNotFound(err) {
			return nil, nil, ErrTxNotFound
		}
		return nil, nil, err
	}
	r := &Result{Hash: fmt.Sprintf("%X", hash), Height: res.Height, Code: types.Code(res.TxResult.Code), Log: res.TxResult.Log, Stage: "block", Events: res.TxResult.Events}
	r.Name = r.Code.String()
	return res.Tx, r, nil
}

// isNotFound reports whether an RPC error means the tx is not indexed.
func isNotFound(err error) bool { return err != nil && strings.Contains(err.Error(), "not found") }

// TxRange asks for the txs of blocks From to To (To 0: the latest).
type TxRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Check refuses a range that is not one.
func (r TxRange) Check() error {
	if r.From < 0 || r.To < 0 || r.To != 0 && r.To < r.From {
		return fmt.Errorf("heights %d to %d are not a range of heights", r.From, r.To)
	}
	return nil
}

// TxsPage is the txs of a range of blocks, or of its first part: Next,
// when not 0, is the height the next page starts at.
type TxsPage struct {
	From int64 `json:"from"`
	// To is the end of the range asked for (the latest height when the
	// request said 0), the same in every page of the range.
	To int64 `json:"to"`
	// ToTime is the time of block To.
	ToTime time.Time  `json:"to_time"`
	Next   int64      `json:"next,omitempty"`
	Latest int64      `json:"latest"`
	Blocks []BlockTxs `json:"blocks"`
}

// BlockTxs is a block's txs (those the reader may see) with their
// proofs: each tx's inclusion in the block's data hash and its result's in
// the results hash of the next block's header.
type BlockTxs struct {
	Height int64 `json:"height"`
	// Header is the block's header (protobuf); NextHeader the next
	// block's, absent while the next block is not committed.
	Header     []byte      `json:"header"`
	NextHeader []byte      `json:"next_header,omitempty"`
	Txs        []TxInBlock `json:"txs"`
}

// TxInBlock is one tx of a block, its result and its proofs.
type TxInBlock struct {
	Index     int          `json:"index"`
	Hash      string       `json:"hash"`
	Tx        []byte       `json:"tx"`
	Code      uint32       `json:"code"`
	Codespace string       `json:"codespace,omitempty"`
	Log       string       `json:"log,omitempty"`
	Data      []byte       `json:"data,omitempty"`
	GasWanted int64        `json:"gas_wanted,omitempty"`
	GasUsed   int64        `json:"gas_used,omitempty"`
	Events    []abci.Event `json:"events,omitempty"`
	Proof     merkle.Proof `json:"proof"`
	// ResultProof proves code, data and gas (not log and events, which
	// the results hash leaves out) against the next header's results
	// hash; absent with NextHeader.
	ResultProof *merkle.Proof `json:"result_proof,omitempty"`
}

// PageLimits bound the work of one TxsOf call.
type PageLimits struct {
	// Heights is the most block heights one page covers.
	Heights int64
	// Bytes is about the most tx bytes one page carries: a page ends
	// after the block that passes it.
	Bytes int
}

// DefaultPageLimits are the read API's: 5,000 heights or 8 MiB of txs.
var DefaultPageLimits = PageLimits{Heights: 5000, Bytes: 8 << 20}

// TxsSource is what TxsOf reads.
type TxsSource interface {
	rpcclient.StatusClient
	rpcclient.HistoryClient
	rpcclient.SignClient
}

// TxsOf reads the txs of the blocks in r, up to limits (the first page;
// Next says where the next one starts), keeping those visible says the
// reader may see (nil: all): every block with txs, its results and the
// next header, read by a few workers.
func TxsOf(ctx context.Context, src TxsSource, r TxRange, limits PageLimits, visible func(raw []byte) bool) (*TxsPage, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	st, err := src.Status(ctx)
	if err != nil {
		return nil, err
	}
	latest := st.SyncInfo.LatestBlockHeight
	from, to := max(r.From, 1), r.To
	if to == 0 || to > latest {
		to = latest
	}
	page := &TxsPage{From: from, To: to, ToTime: st.SyncInfo.LatestBlockTime.UTC(), Latest: latest, Blocks: []BlockTxs{}}
	if to < latest {
		h, err := src.Header(ctx, &to)
		if err != nil || h.Header == nil {
			return nil, fmt.Errorf("reading the header of block %d: %v", to, err)
		}
		page.ToTime = h.Header.Time.UTC()
	}
	end := to
	if limits.Heights > 0 && from+limits.Heights-1 < end {
		end = from + limits.Heights - 1
	}
	size := 0
	for lo := from; lo <= end; lo += 20 {
		hi := min(lo+19, end)
		info, err := src.BlockchainInfo(ctx, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("reading the headers of blocks %d to %d: %w", lo, hi, err)
		}
		var withTxs []int64
		for j := len(info.BlockMetas) - 1; j >= 0; j-- { // newest first
			if m := info.BlockMetas[j]; m.NumTxs > 0 {
				withTxs = append(withTxs, m.Header.Height)
			}
		}
		blocks, err := readBlocks(ctx, src, withTxs, latest, visible)
		if err != nil {
			return nil, err
		}
		for _, b := range blocks {
			if len(b.Txs) == 0 {
				continue
			}
			page.Blocks = append(page.Blocks, b)
			for _, tx := range b.Txs {
				size += len(tx.Tx)
			}
			if limits.Bytes > 0 && size >= limits.Bytes && b.Height < to {
				page.Next = b.Height + 1
				return page, nil
			}
		}
	}
	if end < to {
		page.Next = end + 1
	}
	return page, nil
}

// readBlocks reads the blocks at heights with 4 workers, in order.
func readBlocks(ctx context.Context, src TxsSource, heights []int64, latest int64, visible func([]byte) bool) ([]BlockTxs, error) {
	out := make([]BlockTxs, len(heights))
	errs := make([]error, len(heights))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(4, len(heights)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = readBlock(ctx, src, heights[i], latest, visible)
			}
		}()
	}
	for i := range heights {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// readBlock reads block h, its results and the next header (when h is
// not the latest) and proves each visible tx and its result.
func readBlock(ctx context.Context, src TxsSource, h, latest int64, visible func([]byte) bool) (BlockTxs, error) {
	b, err := src.Block(ctx, &h)
	if err != nil {
		return BlockTxs{}, fmt.Errorf("reading block %d: %w", h, err)
	}
	res, err := src.BlockResults(ctx, &h)
	if err != nil {
		return BlockTxs{}, fmt.Errorf("reading the results of block %d: %w", h, err)
	}
	blk := b.Block
	if len(res.TxsResults) != len(blk.Txs) {
		return BlockTxs{}, fmt.Errorf("block %d has %d txs but %d results", h, len(blk.Txs), len(res.TxsResults))
	}
	hp := blk.Header.ToProto()
	out := BlockTxs{Height: h, Txs: []TxInBlock{}}
	if out.Header, err = hp.Marshal(); err != nil {
		return BlockTxs{}, err
	}
	var resultProofs []*merkle.Proof
	if h < latest {
		next := h + 1
		nh, err := src.Header(ctx, &next)
		if err != nil || nh.Header == nil {
			return BlockTxs{}, fmt.Errorf("reading the header of block %d: %v", next, err)
		}
		np := nh.Header.ToProto()
		if out.NextHeader, err = np.Marshal(); err != nil {
			return BlockTxs{}, err
		}
		leaves, err := abci.MarshalTxResults(res.TxsResults)
		if err != nil {
			return BlockTxs{}, err
		}
		_, resultProofs = merkle.ProofsFromByteSlices(leaves)
	}
	hashes := make([][]byte, len(blk.Txs))
	for i, tx := range blk.Txs {
		hashes[i] = tx.Hash()
	}
	_, txProofs := merkle.ProofsFromByteSlices(hashes)
	for i, tx := range blk.Txs {
		if visible != nil && !visible(tx) {
			continue
		}
		r := res.TxsResults[i]
		t := TxInBlock{Index: i, Hash: types.TxHash(tx), Tx: tx, Code: r.Code, Codespace: r.Codespace, Log: r.Log,
			Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed, Events: r.Events, Proof: *txProofs[i]}
		if resultProofs != nil {
			t.ResultProof = resultProofs[i]
		}
		out.Txs = append(out.Txs, t)
	}
	return out, nil
}

// Headers decodes the block's header and, when present, the next one's.
func (b *BlockTxs) Headers() (header, next *cmttypes.Header, err error) {
	decode := func(raw []byte, what string) (*cmttypes.Header, error) {
		var hp cmtproto.Header
		if err := hp.Unmarshal(raw); err != nil {
			return nil, fmt.Errorf("the %s of block %d is not a header: %w", what, b.Height, err)
		}
		h, err := cmttypes.HeaderFromProto(&hp)
		if err != nil {
			return nil, fmt.Errorf("the %s of block %d is not valid: %w", what, b.Height, err)
		}
		return &h, nil
	}
	if header, err = decode(b.Header, "header"); err != nil {
		return nil, nil, err
	}
	if header.Height != b.Height {
		return nil, nil, fmt.Errorf("the header of block %d is of height %d", b.Height, header.Height)
	}
	if b.NextHeader != nil {
		if next, err = decode(b.NextHeader, "next header"); err != nil {
			return nil, nil, err
		}
		if next.Height != b.Height+1 || !bytes.Equal(next.LastBlockID.Hash, header.Hash()) {
			return nil, nil, fmt.Errorf("the next header given with block %d does not follow it", b.Height)
		}
	}
	return header, next, nil
}

// Verify checks every tx of the block against header (its data hash) and,
// with next, every result against next's results hash (code, data and
// gas; not log and events, which the hash leaves out).
func (b *BlockTxs) Verify(header, next *cmttypes.Header) error {
	for _, t := range b.Txs {
		if t.Proof.Index != int64(t.Index) {
			return fmt.Errorf("tx %d of block %d carries the proof of tx %d", t.Index, b.Height, t.Proof.Index)
		}
		if err := t.Proof.Verify(header.DataHash, cmttypes.Tx(t.Tx).Hash()); err != nil {
			return fmt.Errorf("tx %d of block %d is not in the block's data hash: %w", t.Index, b.Height, err)
		}
		if next == nil {
			continue
		}
		if t.ResultProof == nil || t.ResultProof.Index != int64(t.Index) {
			return fmt.Errorf("the result of tx %d of block %d has no proof", t.Index, b.Height)
		}
		leaf, err := (&abci.ExecTxResult{Code: t.Code, Data: t.Data, GasWanted: t.GasWanted, GasUsed: t.GasUsed}).Marshal()
		if err != nil {
			return err
		}
		if err := t.ResultProof.Verify(next.LastResultsHash, leaf); err != nil {
			return fmt.Errorf("the result of tx %d of block %d is not in the results hash of block %d: %w", t.Index, b.Height, b.Height+1, err)
		}
	}
	return nil
}
