package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"

	gojson "github.com/goccy/go-json"
)

// Reads are signed like writes: a person reads the ledger with the same
// account key they write with, so one identity governs both and no
// password database exists. A read request names the reader, the query
// (path, data, height, proofs), a nonce and an expiry in wall-clock time:
// reads are answered by one node, outside consensus, so the serving node's
// clock judges them. The node refuses a request it has seen before (the
// nonce, until the expiry passes), one that expired or expires too far
// ahead, one whose signature does not verify with the reader's current
// key, and one from an account or organisation that can no longer sign;
// then it answers only what the reader may see (the visibility policy).

// ReadVersion is the format version of read requests this code speaks.
const ReadVersion = 1

// MaxReadBytes bounds an encoded read request.
const MaxReadBytes = 64 << 10

// MaxReadTTL is how far ahead of the serving node's clock a read request
// may expire, in seconds: a request is good for at most five minutes.
const MaxReadTTL = 300

// QueryRead is the ABCI query path of signed read requests (request data =
// an encoded ReadRequest); the request's body names the inner path
// (QueryKey or QueryList), data, height and proofs.
const QueryRead = "/read"

// Paths of the requests the read API (app/readapi) answers itself rather
// than App.Query: signed like reads, so that one identity, one expiry and
// one replay cache govern them, and the access log names what each asked.
// App.Query answers only QueryKey and QueryList inside a QueryRead.
const (
	// ReadTxStatus asks for a tx's outcome (data: its hash in hex), which
	// only its signer may read.
	ReadTxStatus = "/tx"
	// ReadLightBlock asks for the signed header and validator set of a
	// height (data: the height in decimal).
	ReadLightBlock = "/light_block"
	// ReadTxs asks for the txs of a range of blocks (data: a JSON
	// {"from": H, "to": H}), those the reader may see, with proofs.
	ReadTxs = "/txs"
	// ReadStatus asks for the node's status (data: empty).
	ReadStatus = "/status"
	// ReadEvidence hands the node evidence of misbehaviour a light client
	// found (data: a CometBFT Evidence in protobuf).
	ReadEvidence = "/evidence"
)

// readPaths are the inner paths a read request may name.
var readPaths = map[string]bool{QueryKey: true, QueryList: true, ReadTxStatus: true, ReadLightBlock: true, ReadTxs: true, ReadStatus: true, ReadEvidence: true}

// readDomain separates read sign bytes from tx sign bytes and any other
// ed25519 use.
const readDomain = "veritrial/read/v1\n"

// ReadBody is what a reader signs.
type ReadBody struct {
	V       int    `json:"v"`
	ChainID string `json:"chain_id"`
	Reader  string `json:"reader"` // the account ID
	Nonce   string `json:"nonce"`  // 16 to 64 lower-case hex characters, random
	// Expires is the last second (Unix time, UTC) the request may be
	// answered.
	Expires int64  `json:"expires"`
	Path    string `json:"path"` // QueryKey, QueryList or a read API path (ReadTxStatus...)
	Data    []byte `json:"data"` // the key, the ListRequest JSON, or what the API path says
	Height  int64  `json:"height"`
	Prove   bool   `json:"prove"`
}

// ReadRequest is a signed read request. Its encoding is canonical JSON,
// as a Tx's is.
type ReadRequest struct {
	Body      ReadBody `json:"body"`
	Signature []byte   `json:"sig"`
}

// SignBytes returns the exact bytes signed for b.
func (b *ReadBody) SignBytes() ([]byte, error) {
	bz, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return append([]byte(readDomain), bz...), nil
}

// SignRead signs b with sign (a keyring signer's Sign) and returns the
// encoded request.
func SignRead(b ReadBody, sign func([]byte) []byte) ([]byte, error) {
	sb, err := b.SignBytes()
	if err != nil {
		return nil, err
	}
	return json.Marshal(&ReadRequest{Body: b, Signature: sign(sb)})
}

// NewRead returns the encoded read request of path and data at height,
// signed by reader's key, with a fresh random nonce, answerable until
// expires (Unix seconds).
func NewRead(chainID, reader string, signer Signer, expires int64, path string, data []byte, height int64, prove bool) ([]byte, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, err
	}
	return SignRead(ReadBody{
		V: ReadVersion, ChainID: chainID, Reader: reader, Nonce: hex.EncodeToString(n[:]),
		Expires: expires, Path: path, Data: data, Height: height, Prove: prove,
	}, signer.Sign)
}

// VerifySignature checks the request's signature against pub.
func (r *ReadRequest) VerifySignature(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize || len(r.Signature) != ed25519.SignatureSize {
		return false
	}
	sb, err := r.Body.SignBytes()
	if err != nil {
		return false
	}
	return verify(pub, sb, r.Signature)
}

// DecodeRead decodes an encoded read request: the size limit, no unknown
// fields or trailing data, the format version, canonical encoding, a
// well-formed nonce and a known inner path (QueryKey, QueryList or one of
// the read API's). Whether the request may be
// answered (chain, expiry, replay, reader, signature, visibility) is the
// serving node's to judge.
func DecodeRead(raw []byte) (*ReadRequest, *Error) {
	if len(raw) > MaxReadBytes {
		return nil, Errf(CodeReadMalformed, "read request is %d bytes, above the limit of %d bytes", len(raw), MaxReadBytes)
	}
	var r ReadRequest
	if e := decodeReadStrict(raw, &r); e != nil {
		return nil, e
	}
	if r.Body.V != ReadVersion {
		return nil, Errf(CodeReadMalformed, "read request format version %d is not supported (this node speaks version %d); upgrade the client", r.Body.V, ReadVersion)
	}
	again, err := json.Marshal(&r)
	if err != nil || !bytes.Equal(again, raw) {
		return nil, Errf(CodeReadMalformed, "read request bytes are not in canonical form; encode it with the veritrial client")
	}
	if !ValidNonce(r.Body.Nonce) {
		return nil, Errf(CodeReadMalformed, "read request nonce must be 16 to 64 lower-case hex characters")
	}
	if !readPaths[r.Body.Path] {
		return nil, Errf(CodeReadMalformed, "read request path %q is not one a node answers (%s, %s, or one of the read API's)", r.Body.Path, QueryKey, QueryList)
	}
	if r.Body.Height < 0 {
		return nil, Errf(CodeReadMalformed, "read request height %d is negative", r.Body.Height)
	}
	return &r, nil
}

// decodeReadStrict decodes one JSON value into r, refusing unknown fields
// and trailing data; a panic in the decoder is a malformed request.
func decodeReadStrict(raw []byte, r *ReadRequest) (e *Error) {
	defer func() {
		if p := recover(); p != nil {
			e = Errf(CodeReadMalformed, "read request is not valid: %v", p)
		}
	}()
	dec := gojson.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return Errf(CodeReadMalformed, "read request is not valid: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errf(CodeReadMalformed, "read request has trailing data")
	}
	return nil
}
