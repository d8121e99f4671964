package readapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// The API's own signed requests: a tx's status, light blocks, the txs of
// a range of blocks, the node's status, evidence. Each is a
// types.ReadRequest naming the endpoint's path, authenticated by the state
// machine (App.Authenticate: chain, expiry, replay, reader, signature),
// answered from the node in process (Config.Chain) with only what the
// read policy lets the reader see (App.Viewer), and recorded, answered or
// refused, in the node's access log (App.RecordAccess).

// reply is a signed request's answer and what the access log records of
// it.
type reply struct {
	status int
	doc    any
	// code is the outcome the access log records: the refusal's, or the
	// reason behind an answer that says less (a tx the reader may not
	// see is answered as not found and logged as not visible).
	code    types.Code
	height  int64
	records int
}

// answered is a 200 reply of doc.
func answered(doc any, height int64, records int) reply {
	return reply{status: http.StatusOK, doc: doc, height: height, records: records}
}

// refused is a refusal with code.
func refused(code types.Code, format string, args ...any) reply {
	return reply{status: httpStatus(code), doc: refusal(code, format, args...), code: code}
}

// signedHandler answers the authenticated request r.
type signedHandler func(ctx context.Context, r *app.Read) reply

// signed serves path: POST of a signed request naming inner, at most
// types.MaxReadBytes, authenticated, then answered by h; the request is
// recorded in the access log whatever its outcome, and an answer the log
// cannot record is not given.
func (s *Server) signed(path, inner string, h signedHandler) {
	s.route(http.MethodPost, path, types.MaxReadBytes, func(ctx context.Context, body []byte) (int, any) {
		now := s.cfg.Now()
		entry := types.AccessEntry{Path: inner}
		rep := s.authenticated(ctx, body, inner, now, &entry, h)
		entry.Code, entry.Height, entry.Records = rep.code, rep.height, rep.records
		if err := s.cfg.Ledger.RecordAccess(now, entry); err != nil && rep.status == http.StatusOK {
			return refuse(types.CodeInternal, "this node could not record the request in its access log, so it does not answer it; tell the node's operator")
		}
		return rep.status, rep.doc
	})
}

// authenticated checks the request and, when the state machine accepts
// it, answers it with h; it fills in who asked and what in entry.
func (s *Server) authenticated(ctx context.Context, body []byte, inner string, now time.Time, entry *types.AccessEntry, h signedHandler) reply {
	req, e := types.DecodeRead(body)
	if e != nil {
		return refused(e.Code, "%s", e.Msg)
	}
	entry.Reader, entry.Scope = req.Body.Reader, scopeOf(inner, req.Body.Data)
	if req.Body.Path != inner {
		return refused(types.CodeReadMalformed, "a request to this endpoint names path %q, not %q (docs/API.md)", req.Body.Path, inner)
	}
	if s.cfg.Chain == nil {
		return refused(types.CodeInternal, "this node does not answer %s through its read API", inner)
	}
	r, e := s.cfg.Ledger.Authenticate(body, now)
	if e != nil {
		return refused(e.Code, "%s", e.Msg)
	}
	return h(ctx, r)
}

// scopeOf is what a request asks for, for the access log: the tx hash,
// the height, or the range of heights; nothing for the node's status and
// evidence.
func scopeOf(inner string, data []byte) string {
	switch inner {
	case types.ReadTxStatus, types.ReadLightBlock, types.ReadTxs:
		return string(data)
	}
	return ""
}

// failure is the node's own failure, logged, without its detail.
func (s *Server) failure(what string, err error) reply {
	s.log.Error("read API", "what", what, "err", err)
	return refused(types.CodeInternal, "the node could not answer (%s); its log says why", what)
}

// status answers the node's status to any member: heights, hashes,
// validators and peers tell nothing of a trial.
func (s *Server) status(ctx context.Context, _ *app.Read) reply {
	st, err := client.StatusOf(ctx, s.cfg.Chain)
	if err != nil {
		return s.failure("status", err)
	}
	st.Halted, st.MaxBlockIntervalMS = s.cfg.Halted(), s.cfg.MaxBlockInterval.Milliseconds()
	return answered(st, st.Height, 0)
}

// txStatus answers a tx's outcome to its signer and to a reader who may
// see it; anyone else is answered as if no block held it.
func (s *Server) txStatus(ctx context.Context, r *app.Read) reply {
	hash, err := hex.DecodeString(string(r.Body.Data))
	if err != nil || len(hash) != 32 {
		return refused(types.CodeReadMalformed, "the data of a tx status request is a tx hash: 64 hex characters")
	}
	raw, res, err := client.TxOf(ctx, s.cfg.Chain, hash)
	notFound := refused(types.CodeReadNotFound, "no block holds tx %X that this reader may see (yet)", hash)
	switch {
	case errors.Is(err, client.ErrTxNotFound):
		return notFound
	case err != nil:
		return s.failure("tx status", err)
	}
	tx, e := types.DecodeTx(raw)
	if e != nil || tx.Body.Signer != r.Body.Reader && !s.cfg.Ledger.Viewer(r).SeesTx(&tx.Body.Msg) {
		notFound.code = types.CodeReadNotVisible
		return notFound
	}
	return answered(client.StatusOfResult(res), res.Height, 1)
}

// lightBlock answers the signed header and validator set of a height
// (data: decimal, 0 the latest) to any member: they reveal no trial data.
// A height the node does not hold is read_not_found with the node's
// latest height.
func (s *Server) lightBlock(ctx context.Context, r *app.Read) reply {
	h, err := strconv.ParseInt(string(r.Body.Data), 10, 64)
	if err != nil || h < 0 {
		return refused(types.CodeReadMalformed, "the data of a light block request is a height in decimal (0: the latest)")
	}
	lb, err := lighthttp.NewWithClient(s.cfg.ChainID, inProcess{s.cfg.Chain}).LightBlock(ctx, h)
	if errors.Is(err, provider.ErrHeightTooHigh) || errors.Is(err, provider.ErrLightBlockNotFound) {
		st, serr := s.cfg.Chain.Status(ctx)
		if serr != nil {
			return s.failure("light block", serr)
		}
		rep := refused(types.CodeReadNotFound, "this node holds no light block at height %d (its latest is %d)", h, st.SyncInfo.LatestBlockHeight)
		rep.doc.(*client.APIError).LatestHeight = st.SyncInfo.LatestBlockHeight
		return rep
	}
	if err != nil {
		return s.failure("light block", err)
	}
	pb, err := lb.ToProto()
	if err != nil {
		return s.failure("light block", err)
	}
	bz, err := pb.Marshal()
	if err != nil {
		return s.failure("light block", err)
	}
	return answered(client.LightBlockAnswer{Height: lb.Height, LightBlock: bz}, lb.Height, 0)
}

// inProcess is the node in process as the light client's provider takes
// an RPC client.
type inProcess struct{ rpcclient.Client }

func (inProcess) Remote() string { return "the node in process" }

// txs answers the txs of a range of blocks (data: a client.TxRange) that
// the reader may see, with their proofs, one page at a time.
func (s *Server) txs(ctx context.Context, r *app.Read) reply {
	var rng client.TxRange
	if err := json.Unmarshal(r.Body.Data, &rng); err != nil {
		return refused(types.CodeReadMalformed, `the data of a txs request is {"from": H, "to": H}`)
	}
	if err := rng.Check(); err != nil {
		return refused(types.CodeReadMalformed, "%v", err)
	}
	v := s.cfg.Ledger.Viewer(r)
	var mu sync.Mutex // the viewer is for one goroutine; TxsOf reads blocks with several
	page, err := client.TxsOf(ctx, s.cfg.Chain, rng, s.cfg.PageLimits, func(raw []byte) bool {
		tx, e := types.DecodeTx(raw)
		if e != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		return v.SeesTx(&tx.Body.Msg)
	})
	if err != nil {
		return s.failure("txs", err)
	}
	n := 0
	for _, b := range page.Blocks {
		n += len(b.Txs)
	}
	return answered(page, page.To, n)
}

// evidence hands evidence of misbehaviour (data: a CometBFT Evidence in
// protobuf) to the node, which checks it and gossips it.
func (s *Server) evidence(ctx context.Context, r *app.Read) reply {
	var pb cmtproto.Evidence
	if err := pb.Unmarshal(r.Body.Data); err != nil {
		return refused(types.CodeReadMalformed, "the data of an evidence request is a CometBFT Evidence in protobuf: %v", err)
	}
	ev, err := cmttypes.EvidenceFromProto(&pb)
	if err != nil {
		return refused(types.CodeReadMalformed, "the evidence is not valid: %v", err)
	}
	res, err := s.cfg.Chain.BroadcastEvidence(ctx, ev)
	if err != nil {
		return refused(types.CodeReadMalformed, "the node did not take the evidence: %v", err)
	}
	return answered(client.EvidenceAnswer{Hash: fmt.Sprintf("%X", res.Hash)}, ev.Height(), 0)
}
