// Package readapi is a node's read API: HTTP+JSON, the one way people
// and tools read the ledger (docs/API.md). veritrial start serves it on a
// port of its own, next to CometBFT's RPC. It is transport: reads are
// signed read requests answered by the state machine (App.Query on path
// types.QueryRead), which enforces who reads what; the API's own requests
// (a tx's status, light blocks, the txs of a range of blocks, the node's
// status) are signed the same way, checked by the state machine
// (App.Authenticate) and answered from the node in process. Other
// handlers (web pages) are mounted next to it with Handle.
//
// The client side is app/client (an http:// or https:// node address).
package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// Config is what a Server serves.
type Config struct {
	ChainID string
	// Ledger is the node's state machine: it answers reads (Query on
	// types.QueryRead), authenticates the API's other requests and says
	// what their reader may see (Authenticate, Viewer), and records them
	// in its access log (RecordAccess).
	Ledger *app.App
	// Chain is the node in process (CometBFT's rpc/client/local): tx
	// submission, tx status, light blocks, txs, status. Nil serves reads
	// only, and answers the rest as unavailable.
	Chain rpcclient.Client
	// Logger (default: none).
	Logger cmtlog.Logger
	// Now is the clock read requests are judged by (default time.Now).
	Now func() time.Time
	// PageLimits bound one page of txs (default client.DefaultPageLimits).
	PageLimits client.PageLimits
	// Halted says whether the node stopped following the chain (nil:
	// never). A halted node answers its chain ID and its status, which
	// says so; every other request is refused with node_halted.
	Halted func() *client.Halt
	// MaxBlockInterval is the longest the chain goes without a block
	// while it is live (the node's empty-blocks interval; 0: unknown),
	// which the status reports so that a client can tell a stalled chain.
	MaxBlockInterval time.Duration
}

// Server is the read API's handler; mount more with Handle.
type Server struct {
	cfg Config
	mux *http.ServeMux
	log cmtlog.Logger
}

// Request timeouts and limits.
const (
	// handlerTimeout bounds the work of one request.
	handlerTimeout = 60 * time.Second
	// maxSubmitBytes bounds a tx submission: a tx at its size limit in
	// base64 in JSON.
	maxSubmitBytes = types.MaxTxBytes/3*4 + 1024
)

// New returns the read API of a node.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = cmtlog.NewNopLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PageLimits == (client.PageLimits{}) {
		cfg.PageLimits = client.DefaultPageLimits
	}
	if cfg.Halted == nil {
		cfg.Halted = func() *client.Halt { return nil }
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger}
	s.route(http.MethodGet, client.APIChain, 0, s.chain)
	s.route(http.MethodPost, client.APIRead, types.MaxReadBytes, s.read)
	s.route(http.MethodPost, client.APITx, maxSubmitBytes, s.submit)
	s.signed(client.APIStatus, types.ReadStatus, s.status)
	s.signed(client.APITxStatus, types.ReadTxStatus, s.txStatus)
	s.signed(client.APILightBlock, types.ReadLightBlock, s.lightBlock)
	s.signed(client.APITxs, types.ReadTxs, s.txs)
	s.signed(client.APIEvidence, types.ReadEvidence, s.evidence)
	s.mux.HandleFunc(apiPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, refusal(types.CodeReadMalformed, "%s is not a path of the read API (docs/API.md)", r.URL.Path))
	})
	return s
}

// apiPrefix is where the read API's paths are.
const apiPrefix = "/v1/"

// Handle mounts another handler on the API's port (pattern as
// http.ServeMux takes it, e.g. "GET /"). The handler sets its own limits.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	// A node halted before its first block cannot authenticate a status
	// request either (no account is committed): it refuses that too.
	if halt := s.cfg.Halted(); halt != nil && strings.HasPrefix(r.URL.Path, apiPrefix) && r.URL.Path != client.APIChain &&
		(r.URL.Path != client.APIStatus || halt.Height == 0) {
		writeJSON(w, http.StatusServiceUnavailable, refusal(types.CodeNodeHalted,
			"this node stopped following the chain after height %d (consensus failure: %s), so what it holds may be stale: read from another node of the consortium; its operator finds the cause in its log",
			halt.Height, halt.Reason))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// handler answers one API request: a status and a JSON document.
type handler func(ctx context.Context, body []byte) (int, any)

// route serves method and path with h, reading a JSON body of at most
// limit bytes (none for GET); any other method of path is refused.
func (s *Server) route(method, path string, limit int64, h handler) {
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if method == http.MethodPost {
			if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, refusal(types.CodeReadMalformed, "%s", "the body must be JSON, sent as Content-Type: application/json"))
				return
			}
			var err error
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				code := types.CodeReadMalformed
				if path == client.APITx {
					code = types.CodeTxTooLarge
				}
				writeJSON(w, http.StatusRequestEntityTooLarge, refusal(code, "the body is larger than the limit of %d bytes", limit))
				return
			}
			if err != nil {
				writeJSON(w, http.StatusBadRequest, refusal(types.CodeReadMalformed, "the body could not be read: %v", err))
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
		defer cancel()
		status, doc := h(ctx, body)
		writeJSON(w, status, doc)
	})
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", method)
		writeJSON(w, http.StatusMethodNotAllowed, refusal(types.CodeReadMalformed, "%s takes %s, not %s", path, method, r.Method))
	})
}

// writeJSON writes doc with status.
func writeJSON(w http.ResponseWriter, status int, doc any) {
	bz, err := json.Marshal(doc)
	if err != nil {
		status, bz = http.StatusInternalServerError, []byte(`{"code":900,"code_name":"internal","log":"the answer could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(bz, '\n'))
}

// refusal is the body of a refused request.
func refusal(code types.Code, format string, args ...any) *client.APIError {
	return &client.APIError{Code: code, CodeName: code.String(), Log: fmt.Sprintf(format, args...)}
}

// refuse answers a refusal with the HTTP status of its code.
func refuse(code types.Code, format string, args ...any) (int, any) {
	r := refused(code, format, args...)
	return r.status, r.doc
}

// httpStatus is the HTTP status of an answer with code: 200 for an answer,
// 4xx for a refusal (400 malformed, 401 not authenticated, 403 not
// visible, 404 not found, 413 too large, 422 refused by the ledger's
// rules), 500 for the node's own failure.
func httpStatus(code types.Code) int {
	switch code {
	case types.CodeOK:
		return http.StatusOK
	case types.CodeReadMalformed, types.CodeReadWrongChain:
		return http.StatusBadRequest
	case types.CodeReadExpired, types.CodeReadReplayed, types.CodeReadUnknown, types.CodeReadBadSig, types.CodeReadUnsigned:
		return http.StatusUnauthorized
	case types.CodeReadNotVisible:
		return http.StatusForbidden
	case types.CodeReadNotFound:
		return http.StatusNotFound
	case types.CodeTxTooLarge:
		return http.StatusRequestEntityTooLarge
	case types.CodeInternal:
		return http.StatusInternalServerError
	case types.CodeNodeHalted:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// failed answers the node's own failure, logged, without its detail.
func (s *Server) failed(what string, err error) (int, any) {
	r := s.failure(what, err)
	return r.status, r.doc
}

// chain answers the chain ID and the latest committed height, which a
// client needs to sign a read or a tx.
func (s *Server) chain(ctx context.Context, _ []byte) (int, any) {
	info, err := s.cfg.Ledger.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return s.failed("chain", err)
	}
	return http.StatusOK, client.ChainInfo{ChainID: s.cfg.ChainID, Height: info.LastBlockHeight}
}

// read hands a signed read request to the state machine and answers what
// it says.
func (s *Server) read(ctx context.Context, body []byte) (int, any) {
	// The outer height and proof flag mirror the signed ones, as a client
	// on the RPC sends them; the state machine judges the signed request.
	var peek struct {
		Body struct {
			Height int64 `json:"height"`
			Prove  bool  `json:"prove"`
		} `json:"body"`
	}
	_ = json.Unmarshal(body, &peek)
	res, err := s.cfg.Ledger.Query(ctx, &abci.RequestQuery{Path: types.QueryRead, Data: body, Height: max(peek.Body.Height, 0), Prove: peek.Body.Prove})
	if err != nil {
		return s.failed("read", err)
	}
	a := client.AnswerOf(res)
	return httpStatus(a.Code), a
}

// submit hands a signed tx to the mempool and answers CheckTx's verdict.
func (s *Server) submit(ctx context.Context, body []byte) (int, any) {
	if s.cfg.Chain == nil {
		return refuse(types.CodeInternal, "this node does not take txs through its read API")
	}
	var in client.TxSubmit
	if err := json.Unmarshal(body, &in); err != nil || len(in.Tx) == 0 {
		return refuse(types.CodeTxMalformed, `the body is not {"tx": "<base64 of a signed tx>"}`)
	}
	res, err := s.cfg.Chain.BroadcastTxSync(ctx, in.Tx)
	if errors.Is(err, mempool.ErrTxInCache) {
		// Sent before (a client whose answer was lost sends it again):
		// the mempool or a block holds it, and its nonce keeps it from
		// being applied twice.
		return http.StatusOK, client.TxSubmitted{Hash: types.TxHash(in.Tx), Code: types.CodeOK, CodeName: types.CodeOK.String(), Log: "this node has taken this tx before: it is waiting in the mempool or in a block"}
	}
	if err != nil {
		// A full mempool, or the same tx sent twice: the tx's sender may
		// know.
		return refuse(types.CodeInternal, "the node's mempool did not take the tx: %v", err)
	}
	code := types.Code(res.Code)
	return httpStatus(code), client.TxSubmitted{Hash: types.TxHash(in.Tx), Code: code, CodeName: code.String(), Codespace: res.Codespace, Log: res.Log}
}
