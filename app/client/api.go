package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/veritrial/veritrial/app/types"
)

// The read API's wire format (docs/API.md): JSON over HTTP(S), bytes in
// base64. GET APIChain and POST APITx take no signature (a tx carries its
// own); every other request's body is an encoded types.ReadRequest signed
// by the reader, whose path names what it asks (types.QueryKey or
// QueryList for APIRead, types.ReadTxStatus for APITxStatus, ...).

// Paths of the read API.
const (
	APIChain      = "/v1/chain"
	APIRead       = "/v1/read"
	APITx         = "/v1/tx"
	APITxStatus   = "/v1/tx/status"
	APILightBlock = "/v1/light_block"
	APITxs        = "/v1/txs"
	APIStatus     = "/v1/status"
	APIEvidence   = "/v1/evidence"
)

// MaxAPIResponseBytes bounds a response the client reads.
const MaxAPIResponseBytes = 256 << 20

// ChainInfo is the answer of APIChain: what a client needs to sign a
// read (the chain ID) or a tx (and the height its expiry counts from).
type ChainInfo struct {
	ChainID string `json:"chain_id"`
	// Height is the latest committed height.
	Height int64 `json:"height"`
}

// ReadAnswer is the answer of APIRead: the node's ABCI query response.
type ReadAnswer struct {
	Code      types.Code `json:"code"`
	CodeName  string     `json:"code_name"`
	Codespace string     `json:"codespace,omitempty"`
	Log       string     `json:"log,omitempty"`
	Height    int64      `json:"height"`
	Key       []byte     `json:"key,omitempty"`
	// Value is null for a key the ledger does not hold.
	Value    []byte    `json:"value"`
	ProofOps []ProofOp `json:"proof_ops,omitempty"`
}

// ProofOp is one proof operation (an ics23 proof: types.ProofOpType).
type ProofOp struct {
	Type string `json:"type"`
	Key  []byte `json:"key"`
	Data []byte `json:"data"`
}

// AnswerOf renders an ABCI query response for the wire.
func AnswerOf(res *abci.ResponseQuery) ReadAnswer {
	code := types.Code(res.Code)
	a := ReadAnswer{Code: code, CodeName: code.String(), Codespace: res.Codespace, Log: res.Log, Height: res.Height, Key: res.Key, Value: res.Value}
	if res.ProofOps != nil {
		for _, op := range res.ProofOps.Ops {
			a.ProofOps = append(a.ProofOps, ProofOp{Type: op.Type, Key: op.Key, Data: op.Data})
		}
	}
	return a
}

// response is the ABCI query response a answers with.
func (a *ReadAnswer) response() *abci.ResponseQuery {
	res := &abci.ResponseQuery{Code: uint32(a.Code), Codespace: a.Codespace, Log: a.Log, Height: a.Height, Key: a.Key, Value: a.Value}
	if len(a.ProofOps) > 0 {
		res.ProofOps = &cmtcrypto.ProofOps{}
		for _, op := range a.ProofOps {
			res.ProofOps.Ops = append(res.ProofOps.Ops, cmtcrypto.ProofOp{Type: op.Type, Key: op.Key, Data: op.Data})
		}
	}
	return res
}

// TxSubmit is the body of APITx: a signed, encoded tx.
type TxSubmit struct {
	Tx []byte `json:"tx"`
}

// TxSubmitted is the answer of APITx: the mempool's verdict (CheckTx).
type TxSubmitted struct {
	Hash      string     `json:"tx_hash"`
	Code      types.Code `json:"code"`
	CodeName  string     `json:"code_name"`
	Codespace string     `json:"codespace,omitempty"`
	Log       string     `json:"log,omitempty"`
}

// TxStatus is the answer of APITxStatus: the outcome of a tx in its block.
type TxStatus struct {
	Hash     string       `json:"tx_hash"`
	Height   int64        `json:"height"`
	Code     types.Code   `json:"code"`
	CodeName string       `json:"code_name"`
	Log      string       `json:"log,omitempty"`
	Events   []abci.Event `json:"events,omitempty"`
}

// StatusOfResult renders a tx's outcome for the wire.
func StatusOfResult(r *Result) TxStatus {
	return TxStatus{Hash: r.Hash, Height: r.Height, Code: r.Code, CodeName: r.Name, Log: r.Log, Events: r.Events}
}

// LightBlockAnswer is the answer of APILightBlock: a CometBFT LightBlock
// (signed header and validator set) in protobuf.
type LightBlockAnswer struct {
	Height     int64  `json:"height"`
	LightBlock []byte `json:"light_block"`
}

// EvidenceAnswer is the answer of APIEvidence.
type EvidenceAnswer struct {
	Hash string `json:"hash"`
}

// APIError is a refusal of the read API: a stable code (types.Code), its
// name and a sentence, with the HTTP status it came with.
type APIError struct {
	Code     types.Code `json:"code"`
	CodeName string     `json:"code_name"`
	Log      string     `json:"log"`
	// LatestHeight is the node's latest height when a height asked for
	// is not there (read_not_found).
	LatestHeight int64 `json:"latest_height,omitempty"`
	Status       int   `json:"-"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("refused: code %d (%s): %s", e.Code, e.CodeName, e.Log)
}

// readStatuses are the statuses of a ReadAnswer: the state machine's
// answer, whatever its code (see httpStatus in app/readapi).
var readStatuses = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusUnprocessableEntity, http.StatusInternalServerError}

// submitStatuses are the statuses of a TxSubmitted: the mempool's verdict,
// a refusal included.
var submitStatuses = []int{http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge}

// apiConn is the HTTP transport of a node's read API.
type apiConn struct {
	base string // scheme://host[:port], no trailing slash
	hc   *http.Client
}

// apiTimeout bounds one round trip to the read API.
const apiTimeout = 60 * time.Second

// isAPIAddr reports whether addr names a read API: an http:// or
// https:// URL.
func isAPIAddr(addr string) bool {
	return strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://")
}

func newAPIConn(addr string, tlsConf *tls.Config) (*apiConn, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("read API address %q is not a URL like https://host:port", addr)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.ResponseHeaderTimeout = apiTimeout
	// Readers sharing a client keep their connections (Go's default keeps
	// two per host).
	tr.MaxIdleConnsPerHost = 64
	return &apiConn{base: u.Scheme + "://" + u.Host, hc: &http.Client{Transport: tr, Timeout: apiTimeout}}, nil
}

// do sends one request (a body when not nil: POST) and decodes a 200
// answer, or one of the other statuses answers says are answers, into
// out; another status gives the *APIError of its body.
func (a *apiConn) do(ctx context.Context, path string, body []byte, out any, answers ...int) error {
	method, rd := http.MethodGet, io.Reader(nil)
	if body != nil {
		method, rd = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxAPIResponseBytes+1))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", a.base+path, err)
	}
	if len(raw) > MaxAPIResponseBytes {
		return fmt.Errorf("the answer of %s is larger than %d bytes", a.base+path, MaxAPIResponseBytes)
	}
	if res.StatusCode == http.StatusOK || slices.Contains(answers, res.StatusCode) {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s answered %s with something that is not the read API's JSON: %w", a.base+path, res.Status, err)
		}
		return nil
	}
	e := &APIError{Status: res.StatusCode}
	if err := json.Unmarshal(raw, e); err != nil || e.CodeName == "" {
		return fmt.Errorf("%s answered %s: %s", a.base+path, res.Status, strings.TrimSpace(string(raw[:min(len(raw), 200)])))
	}
	return e
}

// notFound reports whether err is the API's read_not_found.
func notFound(err error) (*APIError, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Code == types.CodeReadNotFound {
		return e, true
	}
	return nil, false
}

// jsonBody encodes v as a request body.
func jsonBody(v any) ([]byte, error) { return json.Marshal(v) }
