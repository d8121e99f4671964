package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/veritrial/veritrial/app/types"
)

// Client is a connection to one veritrial node.
type Client struct {
	rpc     *rpchttp.HTTP
	addr    string
	chainID string
	// TTL is how many blocks a signed tx stays valid (default 100).
	TTL int64
	// Timeout bounds the wait for a tx's block (default 60 s).
	Timeout time.Duration
}

// ErrNoNode means nothing answers at the node address.
var ErrNoNode = errors.New("no veritrial node answers")

// New connects to a node at addr ("tcp://127.0.0.1:26657" or
// "http://host:port").
func New(addr string) (*Client, error) {
	u := addr
	if strings.HasPrefix(u, "tcp://") {
		u = "http://" + strings.TrimPrefix(u, "tcp://")
	} else if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	rpc, err := rpchttp.NewWithTimeout(u, "/websocket", 30)
	if err != nil {
		return nil, fmt.Errorf("node address %q: %w", addr, err)
	}
	return &Client{rpc: rpc, addr: addr, TTL: 100, Timeout: 60 * time.Second}, nil
}

// RPC exposes the underlying CometBFT RPC client.
func (c *Client) RPC() *rpchttp.HTTP { return c.rpc }

// Addr is the node address the client was created with.
func (c *Client) Addr() string { return c.addr }

func (c *Client) nodeErr(err error) error {
	s := err.Error()
	if strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") || strings.Contains(s, "dial tcp") {
		return fmt.Errorf("%w at %s: start one with `veritrial start` or pass --node", ErrNoNode, c.addr)
	}
	return err
}

// ChainID returns the node's chain ID.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	if c.chainID != "" {
		return c.chainID, nil
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", c.nodeErr(err)
	}
	c.chainID = st.NodeInfo.Network
	return c.chainID, nil
}

// Height returns the latest committed height the node reports.
func (c *Client) Height(ctx context.Context) (int64, error) {
	info, err := c.rpc.ABCIInfo(ctx)
	if err != nil {
		return 0, c.nodeErr(err)
	}
	return info.Response.LastBlockHeight, nil
}

// Result is the outcome of a transaction.
type Result struct {
	Hash   string     `json:"tx_hash"`
	Height int64      `json:"height"`
	Code   types.Code `json:"code"`
	Name   string     `json:"code_name"`
	Log    string     `json:"log"`
	// Stage is "check" when the mempool refused the tx, "block" otherwise.
	Stage string `json:"stage"`
	// Events are the tx's ABCI events once it is in a block.
	Events []abci.Event `json:"-"`
}

// Attr returns the first value of an event attribute of the tx ("" when
// absent), e.g. "query" for the number of a query opened.
func (r *Result) Attr(key string) string {
	for _, ev := range r.Events {
		for _, a := range ev.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// OK reports success.
func (r *Result) OK() bool { return r.Code == types.CodeOK }

// Build signs msg for account with signer, valid from the node's current
// height for TTL blocks, and returns the encoded tx.
func (c *Client) Build(ctx context.Context, account string, signer types.Signer, msg types.Msg) ([]byte, error) {
	chain, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	h, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	return BuildTx(chain, account, h+c.TTL, signer, msg)
}

// BuildTx signs msg into an encoded tx valid until height expires.
func BuildTx(chainID, account string, expires int64, signer types.Signer, msg types.Msg) ([]byte, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, err
	}
	body := types.Body{V: types.TxVersion, ChainID: chainID, Signer: account, Nonce: hex.EncodeToString(n[:]), Expires: expires, Msg: msg}
	tx, err := types.SignWith(body, signer.Sign)
	if err != nil {
		return nil, err
	}
	return tx.Encode()
}

// Send builds, broadcasts and waits for the block of one message.
func (c *Client) Send(ctx context.Context, account string, signer types.Signer, msg types.Msg) (*Result, error) {
	raw, err := c.Build(ctx, account, signer, msg)
	if err != nil {
		return nil, err
	}
	return c.BroadcastAndWait(ctx, raw)
}

// Broadcast submits an encoded tx to the mempool; a CheckTx refusal comes
// back as a Result with Stage "check".
func (c *Client) Broadcast(ctx context.Context, raw []byte) (*Result, error) {
	res, err := c.rpc.BroadcastTxSync(ctx, raw)
	if err != nil {
		return nil, c.nodeErr(err)
	}
	r := &Result{Hash: types.TxHash(raw), Code: types.Code(res.Code), Log: res.Log}
	r.Name = r.Code.String()
	if res.Code != 0 {
		r.Stage = "check"
	}
	return r, nil
}

// BroadcastAndWait submits raw and waits until it is in a block.
func (c *Client) BroadcastAndWait(ctx context.Context, raw []byte) (*Result, error) {
	r, err := c.Broadcast(ctx, raw)
	if err != nil || r.Code != 0 {
		return r, err
	}
	return c.Wait(ctx, r.Hash)
}

// Wait polls until the tx with hash (upper-case hex) is in a block.
func (c *Client) Wait(ctx context.Context, hash string) (*Result, error) {
	hb, err := hex.DecodeString(hash)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(c.Timeout)
	delay := 50 * time.Millisecond
	for {
		res, err := c.rpc.Tx(ctx, hb, false)
		if err == nil {
			r := &Result{Hash: hash, Height: res.Height, Code: types.Code(res.TxResult.Code), Log: res.TxResult.Log, Stage: "block", Events: res.TxResult.Events}
			r.Name = r.Code.String()
			return r, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, c.nodeErr(err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("transaction %s was accepted by the mempool but is not in a block after %s; check it later with veritrial show tx %s", hash, c.Timeout, hash)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// Proven is a value read with its verification context.
type Proven struct {
	Key     []byte `json:"key"`
	Value   []byte `json:"value"`
	Height  int64  `json:"height"`
	AppHash []byte `json:"app_hash,omitempty"` // verified against, when proven
	Proven  bool   `json:"proven"`
}

// Get reads key at height (0 = latest). With prove, the ics23 proof is
// checked against the app hash of that height, taken from the header of
// the next block (waiting for it if needed).
func (c *Client) Get(ctx context.Context, key []byte, height int64, prove bool) (*Proven, error) {
	res, err := c.rpc.ABCIQueryWithOptions(ctx, types.QueryKey, key, optsFor(height, prove))
	if err != nil {
		return nil, c.nodeErr(err)
	}
	r := res.Response
	if r.Code != 0 {
		return nil, fmt.Errorf("query %q refused: %s", key, r.Log)
	}
	p := &Proven{Key: key, Value: r.Value, Height: r.Height}
	if prove {
		if r.ProofOps == nil || len(r.ProofOps.Ops) != 1 || r.ProofOps.Ops[0].Type != types.ProofOpType {
			return nil, fmt.Errorf("node returned no ics23 proof for %q", key)
		}
		root, err := c.AppHash(ctx, r.Height)
		if err != nil {
			return nil, err
		}
		if err := types.VerifyProof(root, key, r.Value, r.ProofOps.Ops[0].Data); err != nil {
			return nil, err
		}
		p.AppHash, p.Proven = root, true
	}
	return p, nil
}

func optsFor(height int64, prove bool) rpcclient.ABCIQueryOptions {
	return rpcclient.ABCIQueryOptions{Height: height, Prove: prove}
}

// AppHash returns the app hash after block h, as recorded in the header of
// block h+1, waiting up to the client timeout for that block.
func (c *Client) AppHash(ctx context.Context, h int64) ([]byte, error) {
	next := h + 1
	deadline := time.Now().Add(c.Timeout)
	for {
		res, err := c.rpc.Header(ctx, &next)
		if err == nil && res.Header != nil {
			return res.Header.AppHash, nil
		}
		if err != nil && !strings.Contains(err.Error(), "must be less than or equal") && !strings.Contains(err.Error(), "not found") {
			return nil, c.nodeErr(err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("block %d, which carries the app hash of height %d, did not appear within %s", next, h, c.Timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// GetJSON reads and decodes a record; found is false when absent.
func (c *Client) GetJSON(ctx context.Context, key []byte, height int64, prove bool, out any) (*Proven, bool, error) {
	p, err := c.Get(ctx, key, height, prove)
	if err != nil {
		return nil, false, err
	}
	if p.Value == nil {
		return p, false, nil
	}
	if err := json.Unmarshal(p.Value, out); err != nil {
		return p, false, fmt.Errorf("record %q is not valid: %w", key, err)
	}
	return p, true, nil
}

// List returns every entry under prefix at height (0 = latest), following
// pages; with prove each entry's proof is checked against the app hash.
func (c *Client) List(ctx context.Context, prefix string, height int64, prove bool) ([]types.ListEntry, int64, error) {
	var out []types.ListEntry
	after := ""
	var root []byte
	for {
		req, _ := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: types.MaxListLimit, Prove: prove})
		res, err := c.rpc.ABCIQueryWithOptions(ctx, types.QueryList, req, optsFor(height, false))
		if err != nil {
			return nil, 0, c.nodeErr(err)
		}
		r := res.Response
		if r.Code != 0 {
			return nil, 0, fmt.Errorf("list %q refused: %s", prefix, r.Log)
		}
		height = r.Height // pin every page to the same height
		var lr types.ListResponse
		if err := json.Unmarshal(r.Value, &lr); err != nil {
			return nil, 0, fmt.Errorf("list response is not valid: %w", err)
		}
		if prove && root == nil && len(lr.Entries) > 0 {
			if root, err = c.AppHash(ctx, height); err != nil {
				return nil, 0, err
			}
		}
		for _, e := range lr.Entries {
			if prove {
				if err := types.VerifyProof(root, []byte(e.Key), e.Value, e.Proof); err != nil {
					return nil, 0, err
				}
			}
			out = append(out, e)
		}
		if !lr.More || len(lr.Entries) == 0 {
			return out, height, nil
		}
		after = lr.Entries[len(lr.Entries)-1].Key
	}
}
