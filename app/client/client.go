package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
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

	// reader signs the reads (see ReadAs).
	rmu    sync.Mutex
	reader string
	unlock func() (types.Signer, error)
	signer types.Signer
}

// New returns a client of the node at addr ("tcp://127.0.0.1:26657",
// "http://host:port" or "host:port").
func New(addr string) (*Client, error) {
	rpc, err := DialRPC(addr)
	if err != nil {
		return nil, err
	}
	return &Client{rpc: rpc, addr: addr, TTL: 100, Timeout: 60 * time.Second}, nil
}

// RPC exposes the underlying CometBFT RPC client.
func (c *Client) RPC() *rpchttp.HTTP { return c.rpc }

// Addr is the node address the client was created with.
func (c *Client) Addr() string { return c.addr }

func (c *Client) nodeErr(err error) error { return NodeError(c.addr, err) }

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
			return nil, c.notInBlock(hash)
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

// notInBlock says that tx hash is not in a block after the wait, and
// where to look for it later.
func (c *Client) notInBlock(hash string) error {
	return fmt.Errorf("transaction %s was accepted by the mempool but is not in a block after %s; it may still be committed: look it up later at %s", hash, c.Timeout, c.TxURL(hash))
}

// TxURL is where the node's RPC answers about the tx with hash
// (upper-case hex) once it is in a block.
func (c *Client) TxURL(hash string) string { return httpAddr(c.addr) + "/tx?hash=0x" + hash }

// ABCIQuery sends an ABCI query through the node's RPC (abci_query) as
// it is, unsigned.
func (c *Client) ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	res, err := c.rpc.ABCIQueryWithOptions(ctx, req.Path, req.Data, rpcclient.ABCIQueryOptions{Height: req.Height, Prove: req.Prove})
	if err != nil {
		return nil, c.nodeErr(err)
	}
	return &res.Response, nil
}

// ReadAs makes the client sign its reads (Query, Reader) as account with
// the key unlock returns, called once, at the first read. A node answers
// only signed reads, and only what the read policy lets account see.
func (c *Client) ReadAs(account string, unlock func() (types.Signer, error)) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.reader, c.unlock, c.signer = account, unlock, nil
}

// readSigner returns the reader's account and unlocked key ("" without
// ReadAs).
func (c *Client) readSigner() (string, types.Signer, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.reader == "" || c.signer != nil {
		return c.reader, c.signer, nil
	}
	s, err := c.unlock()
	if err != nil {
		return "", nil, err
	}
	c.signer = s
	return c.reader, s, nil
}

// Query answers a query through the node's RPC: /key and /list as read
// requests signed by the reader ReadAs named (without one, the node
// refuses them: read_unsigned), other paths as they are. It is the
// QueryFunc of the node.
func (c *Client) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if req.Path != types.QueryKey && req.Path != types.QueryList {
		return c.ABCIQuery(ctx, req)
	}
	reader, s, err := c.readSigner()
	if err != nil {
		return nil, err
	}
	if reader == "" {
		return c.ABCIQuery(ctx, req)
	}
	chain, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	return SignedQuery(c.ABCIQuery, chain, reader, s, nil)(ctx, req)
}

// Reader returns a reader of the node's ledger at height (0: the latest,
// pinned at the first read), reading through Query. With prove every
// read is checked against the app hash in the header of the next block
// as this same node serves it (AppHash): that catches a node whose
// answers do not match its own chain, not a node that serves a forged
// chain; the audit commands check headers with the light client.
func (c *Client) Reader(height int64, prove bool) *Reader {
	var roots RootSource
	if prove {
		roots = c.AppHash
	}
	return NewReader(c.Query, height, roots)
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
