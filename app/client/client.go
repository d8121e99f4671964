package client

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/types"
)

// Client is a connection to one veritrial node: through its read API
// (an http:// or https:// address: docs/API.md), or through its CometBFT
// RPC (tcp:// or host:port), which listens on the node's machine only.
type Client struct {
	addr string
	rpc  *rpchttp.HTTP // nil over the read API
	api  *apiConn      // nil over RPC

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

	// verifier, when set, gives the headers proven reads and provenance
	// use (see VerifyWith).
	verifier HeaderVerifier
}

// HeaderVerifier gives headers verified by a light client from a trust
// root (lightroot.Verifier): LightBlock the light block of a height,
// AppHash the app hash after a height (from the next header).
type HeaderVerifier interface {
	LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error)
	AppHash(ctx context.Context, h int64) ([]byte, error)
}

// VerifyWith makes the client's proven reads (Reader with prove) check
// their proofs against the app hashes of headers v verified, and
// VerifiedLightBlock serve v's, instead of the headers the node hands
// over: a node that serves a forged header with forged data is refused.
func (c *Client) VerifyWith(v HeaderVerifier) { c.verifier = v }

// VerifiedLightBlock returns the light block of height h, waiting for it:
// verified by the client's HeaderVerifier when it has one, else as the
// node serves it.
func (c *Client) VerifiedLightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	if c.verifier != nil {
		return c.verifier.LightBlock(ctx, h)
	}
	if _, err := c.AppHash(ctx, h-1); err != nil { // waits for block h
		return nil, err
	}
	return c.LightBlock(ctx, h)
}

// Option configures New.
type Option func(*options)

type options struct{ tls *tls.Config }

// WithTLS sets the TLS configuration of an https:// read API (default:
// the system's roots; SSL_CERT_FILE names others).
func WithTLS(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// ErrNoReader means a read was asked of a client that signs none: reads
// are signed by the reader's key (ReadAs).
var ErrNoReader = errors.New("reads are signed by the reader's key, and none was given")

// New returns a client of the node at addr: its read API at
// "https://host:port" or "http://127.0.0.1:port", or its RPC at
// "tcp://127.0.0.1:26657" or "host:port". It does not contact the node.
func New(addr string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{addr: addr, TTL: 100, Timeout: 60 * time.Second}
	var err error
	if isAPIAddr(addr) {
		c.api, err = newAPIConn(addr, o.tls)
	} else {
		c.rpc, err = DialRPC(addr)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ReadAs makes the client sign its reads (Query, Reader, and through the
// read API its status, txs and light blocks) as account with the key
// unlock returns, called once, at the first read. A node answers only
// signed reads, and only what the read policy lets account see.
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

// RPC exposes the underlying CometBFT RPC client; nil over the read API.
func (c *Client) RPC() *rpchttp.HTTP { return c.rpc }

// Addr is the node address the client was created with.
func (c *Client) Addr() string { return c.addr }

// API reports whether the client talks to the node's read API.
func (c *Client) API() bool { return c.api != nil }

func (c *Client) nodeErr(err error) error { return NodeError(c.addr, err) }

// ChainID returns the node's chain ID.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	if c.chainID != "" {
		return c.chainID, nil
	}
	if c.api != nil {
		var ci ChainInfo
		if err := c.api.do(ctx, APIChain, nil, &ci); err != nil {
			return "", c.nodeErr(err)
		}
		if ci.ChainID == "" {
			return "", fmt.Errorf("the read API at %s names no chain", c.addr)
		}
		c.chainID = ci.ChainID
		return c.chainID, nil
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", c.nodeErr(err)
	}
	c.chainID = st.NodeInfo.Network
	return c.chainID, nil
}

// signed returns the encoded read request of path and data, signed by
// the client's reader.
func (c *Client) signed(ctx context.Context, path string, data []byte) ([]byte, error) {
	reader, s, err := c.readSigner()
	if err != nil {
		return nil, err
	}
	if reader == "" {
		return nil, ErrNoReader
	}
	chain, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	return signRead(chain, reader, s, time.Now(), path, data, 0, false)
}

// ask sends a signed request for path and data to the read API endpoint
// and decodes its answer into out.
func (c *Client) ask(ctx context.Context, endpoint, path string, data []byte, out any) error {
	body, err := c.signed(ctx, path, data)
	if err != nil {
		return err
	}
	if err := c.api.do(ctx, endpoint, body, out); err != nil {
		return c.nodeErr(err)
	}
	return nil
}

// Status returns the node's status: height, hashes, validators, peers.
func (c *Client) Status(ctx context.Context) (*NodeStatus, error) {
	if c.api != nil {
		var s NodeStatus
		if err := c.ask(ctx, APIStatus, types.ReadStatus, nil, &s); err != nil {
			return nil, err
		}
		return &s, nil
	}
	s, err := StatusOf(ctx, c.rpc)
	if err != nil {
		return nil, c.nodeErr(err)
	}
	return s, nil
}

// Height returns the latest committed height the node reports (through
// the read API without a signature: a tx's expiry counts from it, and a
// writer the ledger refuses must hear it from the ledger).
func (c *Client) Height(ctx context.Context) (int64, error) {
	if c.api != nil {
		var ci ChainInfo
		if err := c.api.do(ctx, APIChain, nil, &ci); err != nil {
			return 0, c.nodeErr(err)
		}
		return ci.Height, nil
	}
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
	return types.BuildTx(chain, account, h+c.TTL, signer, msg)
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
// back as a Result with Stage "check". When the node's answer is lost
// (the connection broke or timed out once the tx may have reached it),
// Broadcast submits the same bytes once more: a node that took them the
// first time says so (its mempool holds them, or a block does and their
// nonce is used), and the nonce keeps a tx from being applied twice.
func (c *Client) Broadcast(ctx context.Context, raw []byte) (*Result, error) {
	r, err := c.submit(ctx, raw)
	if err == nil {
		return r, nil
	}
	if !answerLost(err) || ctx.Err() != nil {
		return nil, c.nodeErr(err)
	}
	again, err2 := c.submit(ctx, raw)
	if err2 != nil {
		return nil, &LostError{Hash: types.TxHash(raw), Err: err}
	}
	if again.Code == types.CodeNonceReused {
		// Its nonce is used: the first submission is in a block.
		again.Code, again.Name, again.Log, again.Stage = types.CodeOK, types.CodeOK.String(), "", ""
	}
	return again, nil
}

// submit sends raw to the mempool once; its errors are the transport's,
// unwrapped.
func (c *Client) submit(ctx context.Context, raw []byte) (*Result, error) {
	r := &Result{Hash: types.TxHash(raw)}
	if c.api != nil {
		body, err := jsonBody(TxSubmit{Tx: raw})
		if err != nil {
			return nil, err
		}
		var ts TxSubmitted
		if err := c.api.do(ctx, APITx, body, &ts, submitStatuses...); err != nil {
			return nil, err
		}
		r.Code, r.Log = ts.Code, ts.Log
	} else {
		res, err := c.rpc.BroadcastTxSync(ctx, raw)
		switch {
		case err != nil && strings.Contains(err.Error(), txInCache):
			// Taken before: it is in the mempool or a block.
		case err != nil:
			return nil, err
		default:
			r.Code, r.Log = types.Code(res.Code), res.Log
		}
	}
	r.Name = r.Code.String()
	if r.Code != 0 {
		r.Stage = "check"
	}
	return r, nil
}

// txInCache is the error text of CometBFT's mempool.ErrTxInCache: the
// node's mempool has taken these bytes before.
const txInCache = "tx already exists in cache"

// answerLost reports whether err lost a node's answer to a request the
// node may have received: a timeout or a broken connection, not a refused
// one (nothing reached the node) nor a refusal (the node answered).
func answerLost(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.Canceled) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// LostError is a submission whose answer was lost twice: the tx may or
// may not be in the mempool, and so may still be committed.
type LostError struct {
	Hash string
	Err  error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("the node did not answer the submission of tx %s (%v), nor its repetition; the tx may still be committed", e.Hash, e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// BroadcastAndWait submits raw and waits until it is in a block.
func (c *Client) BroadcastAndWait(ctx context.Context, raw []byte) (*Result, error) {
	r, err := c.Broadcast(ctx, raw)
	if err != nil || r.Code != 0 {
		return r, err
	}
	return c.Wait(ctx, r.Hash)
}

// Tx returns the outcome of the tx with hash (upper-case hex) in its
// block, or ErrTxNotFound. Through the read API only the tx's signer may
// ask: the node answers anyone else as if no block held it.
func (c *Client) Tx(ctx context.Context, hash string) (*Result, error) {
	hb, err := hex.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("tx hash %q is not hex", hash)
	}
	if c.api == nil {
		_, r, err := TxOf(ctx, c.rpc, hb)
		if err != nil && !errors.Is(err, ErrTxNotFound) {
			err = c.nodeErr(err)
		}
		return r, err
	}
	var ts TxStatus
	if err := c.ask(ctx, APITxStatus, types.ReadTxStatus, []byte(strings.ToUpper(hash)), &ts); err != nil {
		if _, ok := notFound(err); ok {
			return nil, ErrTxNotFound
		}
		return nil, err
	}
	return &Result{Hash: ts.Hash, Height: ts.Height, Code: ts.Code, Name: ts.Code.String(), Log: ts.Log, Stage: "block", Events: ts.Events}, nil
}

// Wait polls until the tx with hash (upper-case hex) is in a block, for
// up to the client timeout (or ctx's end); then it looks the tx up once
// more before it gives up with a *NotInBlockError.
func (c *Client) Wait(ctx context.Context, hash string) (*Result, error) {
	deadline := time.Now().Add(c.Timeout)
	delay := 50 * time.Millisecond
	for {
		r, err := c.Tx(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrTxNotFound) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, c.notInBlock(hash)
		}
		select {
		case <-ctx.Done():
			// A last look, with a moment of its own.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			r, err := c.Tx(lctx, hash)
			cancel()
			if err == nil {
				return r, nil
			}
			return nil, c.notInBlock(hash)
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// NotInBlockError is a tx the mempool took that no block held when the
// client stopped waiting: it may still be committed.
type NotInBlockError struct {
	Hash string
	// Where says how to look it up later.
	Where string
}

func (e *NotInBlockError) Error() string {
	return fmt.Sprintf("transaction %s was accepted by the mempool but no block held it when the wait ended; it may still be committed: look it up later %s", e.Hash, e.Where)
}

// notInBlock says that tx hash is not in a block after the wait, and
// where to look for it later.
func (c *Client) notInBlock(hash string) error {
	where := "at " + c.TxURL(hash)
	if c.api != nil {
		where = fmt.Sprintf("through the read API (POST %s%s, signed by the tx's signer)", c.api.base, APITxStatus)
	}
	return &NotInBlockError{Hash: hash, Where: where}
}

// TxURL is where the node's RPC answers about the tx with hash
// (upper-case hex) once it is in a block.
func (c *Client) TxURL(hash string) string { return httpAddr(c.addr) + "/tx?hash=0x" + hash }

// ABCIQuery sends an ABCI query as it is, unsigned: through the read API
// (which takes only signed read requests, types.QueryRead), or the
// node's RPC (abci_query).
func (c *Client) ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if c.api != nil {
		if req.Path != types.QueryRead {
			return nil, ErrNoReader
		}
		var a ReadAnswer
		if err := c.api.do(ctx, APIRead, req.Data, &a, readStatuses...); err != nil {
			return nil, c.nodeErr(err)
		}
		return a.response(), nil
	}
	res, err := c.rpc.ABCIQueryWithOptions(ctx, req.Path, req.Data, rpcclient.ABCIQueryOptions{Height: req.Height, Prove: req.Prove})
	if err != nil {
		return nil, c.nodeErr(err)
	}
	return &res.Response, nil
}

// Query answers a query: /key and /list as read requests signed by the
// reader ReadAs named (without one, the node refuses them:
// read_unsigned), other paths as they are. It is the QueryFunc of the
// node.
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
// read is checked against the app hash in the header of the next block:
// verified by the light client when the client has a HeaderVerifier
// (VerifyWith), which catches a node that serves a forged chain; else as
// this same node serves it (AppHash), which catches only a node whose
// answers do not match its own chain.
func (c *Client) Reader(height int64, prove bool) *Reader {
	var roots RootSource
	switch {
	case prove && c.verifier != nil:
		roots = c.verifier.AppHash
	case prove:
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
		hdr, err := c.header(ctx, next)
		if err == nil {
			return hdr.AppHash, nil
		}
		if !errors.Is(err, provider.ErrHeightTooHigh) {
			return nil, err
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

// header returns the header of block h as the node serves it;
// provider.ErrHeightTooHigh while h is not committed.
func (c *Client) header(ctx context.Context, h int64) (*cmttypes.Header, error) {
	if c.api != nil {
		lb, err := c.LightBlock(ctx, h)
		if err != nil {
			return nil, err
		}
		return lb.Header, nil
	}
	res, err := c.rpc.Header(ctx, &h)
	switch {
	case err == nil && res.Header != nil:
		return res.Header, nil
	case err == nil || strings.Contains(err.Error(), "must be less than or equal") || strings.Contains(err.Error(), "not found"):
		return nil, provider.ErrHeightTooHigh
	}
	return nil, c.nodeErr(err)
}

// LightBlock returns the signed header and validator set of height h as
// the node serves them (checked for form, not verified: the light client
// verifies), provider.ErrHeightTooHigh above the node's latest height and
// provider.ErrLightBlockNotFound below the oldest it keeps.
func (c *Client) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	chain, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	if c.api == nil {
		return lighthttp.NewWithClient(chain, c.rpc).LightBlock(ctx, h)
	}
	var a LightBlockAnswer
	if err := c.ask(ctx, APILightBlock, types.ReadLightBlock, []byte(strconv.FormatInt(h, 10)), &a); err != nil {
		if e, ok := notFound(err); ok {
			if e.LatestHeight < h {
				return nil, provider.ErrHeightTooHigh
			}
			return nil, provider.ErrLightBlockNotFound
		}
		return nil, err
	}
	var pb cmtproto.LightBlock
	if err := pb.Unmarshal(a.LightBlock); err != nil {
		return nil, provider.ErrBadLightBlock{Reason: err}
	}
	lb, err := cmttypes.LightBlockFromProto(&pb)
	if err != nil {
		return nil, provider.ErrBadLightBlock{Reason: err}
	}
	if lb.Height != h && h != 0 {
		return nil, provider.ErrBadLightBlock{Reason: fmt.Errorf("height %d answered for height %d", lb.Height, h)}
	}
	if err := lb.ValidateBasic(chain); err != nil {
		return nil, provider.ErrBadLightBlock{Reason: err}
	}
	return lb, nil
}

// ReportEvidence hands the node evidence of misbehaviour (a light client
// found it).
func (c *Client) ReportEvidence(ctx context.Context, ev cmttypes.Evidence) error {
	if c.api == nil {
		_, err := c.rpc.BroadcastEvidence(ctx, ev)
		return err
	}
	pb, err := cmttypes.EvidenceToProto(ev)
	if err != nil {
		return err
	}
	raw, err := pb.Marshal()
	if err != nil {
		return err
	}
	var a EvidenceAnswer
	return c.ask(ctx, APIEvidence, types.ReadEvidence, raw, &a)
}

// LightProvider returns the client as a light block provider for
// CometBFT's light client.
func (c *Client) LightProvider(ctx context.Context) (provider.Provider, error) {
	chain, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	return lightProvider{c: c, chainID: chain}, nil
}

type lightProvider struct {
	c       *Client
	chainID string
}

func (p lightProvider) ChainID() string { return p.chainID }

func (p lightProvider) String() string { return p.c.addr }

func (p lightProvider) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	return p.c.LightBlock(ctx, h)
}

func (p lightProvider) ReportEvidence(ctx context.Context, ev cmttypes.Evidence) error {
	return p.c.ReportEvidence(ctx, ev)
}

// Txs returns the txs of the blocks in r that the reader may see (through
// the read API; every tx through the RPC), with their proofs, one page at
// a time: TxsPage.Next says where the next page starts.
func (c *Client) Txs(ctx context.Context, r TxRange) (*TxsPage, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	if c.api == nil {
		p, err := TxsOf(ctx, c.rpc, r, DefaultPageLimits, nil)
		if err != nil {
			return nil, c.nodeErr(err)
		}
		return p, nil
	}
	data, err := jsonBody(r)
	if err != nil {
		return nil, err
	}
	var p TxsPage
	if err := c.ask(ctx, APITxs, types.ReadTxs, data, &p); err != nil {
		return nil, err
	}
	if p.From != max(r.From, 1) || r.To != 0 && p.To != r.To || p.Next != 0 && (p.Next <= p.From || p.Next > p.To) {
		return nil, fmt.Errorf("the node answered heights %d to %d (next %d) for %d to %d", p.From, p.To, p.Next, r.From, r.To)
	}
	return &p, nil
}
