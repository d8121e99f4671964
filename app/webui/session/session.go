// Package session is the web pages' side of the ledger, compiled to
// WebAssembly and run in the person's browser (app/webui/wasm): it
// unlocks the person's key file, signs their read requests and txs, and
// runs the protocol's edit checks, with the same code the CLI and the
// validators run. The node it talks to never sees the key. It reaches the
// node's read API through a Fetch the page supplies (the browser's
// fetch), and answers the page in plain JSON-ready values.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Fetch sends one request to the node's read API (path as /v1/read) and
// returns the HTTP status and the body of its answer.
type Fetch func(ctx context.Context, method, path string, body []byte) (status int, answer []byte, err error)

// Paths of the read API the pages use (app/client's, which does not build
// for WebAssembly).
const (
	apiChain    = "/v1/chain"
	apiRead     = "/v1/read"
	apiTx       = "/v1/tx"
	apiTxStatus = "/v1/tx/status"
	apiLight    = "/v1/light_block"
)

// HTTP methods and the status of an answer.
const (
	methodGet  = "GET"
	methodPost = "POST"
	statusOK   = 200
)

// readTTL is how long a signed read request stays good (app/client's
// ReadTTL); txTTL how many blocks a signed tx does (app/client's default).
const (
	readTTL = 60 * time.Second
	txTTL   = 100
)

// Session is one person signed in, or nobody.
type Session struct {
	fetch Fetch
	now   func() time.Time

	mu      sync.Mutex
	chainID string
	signer  *keyring.Signer
	person  Person
	// compiled protocols by study and version number.
	compiled map[string]*protocol.Compiled
	// forms holds each subject's current forms as the form page last read
	// them (by study/subject), for the edit checks that read other forms.
	forms map[string]map[types.FormKey][]protocol.ItemValue
	// versions holds the version of each of those forms, which a
	// correction is made from.
	versions map[types.FormKey]int
	// shown is the protocol version of each study the form page last
	// read, which Check runs.
	shown map[string]*protocol.Compiled
}

// New returns a session with nobody signed in; now is the clock read
// requests expire by (time.Now when nil).
func New(f Fetch, now func() time.Time) *Session {
	if now == nil {
		now = time.Now
	}
	return &Session{fetch: f, now: now, compiled: map[string]*protocol.Compiled{}, forms: map[string]map[types.FormKey][]protocol.ItemValue{},
		versions: map[types.FormKey]int{}, shown: map[string]*protocol.Compiled{}}
}

// Person is who is signed in, as the ledger knows the account.
type Person struct {
	Account string       `json:"account"`
	Name    string       `json:"name"`
	Org     string       `json:"org"`
	Roles   []types.Role `json:"roles"`
	ChainID string       `json:"chain_id"`
}

// ErrSignedOut is the answer to a request that needs a person signed in.
var ErrSignedOut = errors.New("nobody is signed in: sign in with your key file first")

// SignIn unlocks the key file with passphrase and reads the account it
// signs for from the ledger, with a read request that key signs.
func (s *Session) SignIn(ctx context.Context, keyFile []byte, passphrase string) (*Person, error) {
	signer, err := keyring.UnlockFile(keyFile, passphrase)
	if err != nil {
		return nil, err
	}
	var chain struct {
		ChainID string `json:"chain_id"`
	}
	if err := s.call(ctx, methodGet, apiChain, nil, &chain); err != nil {
		signer.Close()
		return nil, err
	}
	s.mu.Lock()
	s.signOut()
	s.signer, s.chainID = signer, chain.ChainID
	s.mu.Unlock()
	var a types.Account
	ok, err := s.get(ctx, types.KeyAccount(signer.Name()), &a)
	if err == nil && !ok {
		err = fmt.Errorf("the ledger has no account %q", signer.Name())
	}
	if err != nil {
		s.SignOut()
		return nil, fmt.Errorf("the key of %s does not sign in here: %w", signer.Name(), err)
	}
	p := Person{Account: a.ID, Name: a.Name, Org: a.Org, Roles: a.Roles, ChainID: chain.ChainID}
	s.mu.Lock()
	s.person = p
	s.mu.Unlock()
	return &p, nil
}

// SignOut forgets the key: its private key is zeroed.
func (s *Session) SignOut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signOut()
}

func (s *Session) signOut() {
	if s.signer != nil {
		s.signer.Close()
	}
	s.signer, s.person = nil, Person{}
}

// Reauthenticate checks that passphrase unlocks keyFile as the key of the
// person signed in: an investigator proves it again at the moment of
// signing.
func (s *Session) Reauthenticate(keyFile []byte, passphrase string) error {
	k, err := keyring.UnlockFile(keyFile, passphrase)
	if err != nil {
		return err
	}
	defer k.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer == nil {
		return ErrSignedOut
	}
	if !k.PubKey().Equal(s.signer.PubKey()) {
		return fmt.Errorf("this key file is %s's, not the key of %s who is signed in", k.Name(), s.person.Account)
	}
	return nil
}

// who returns the signer and chain of the person signed in.
func (s *Session) who() (*keyring.Signer, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer == nil {
		return nil, "", ErrSignedOut
	}
	return s.signer, s.chainID, nil
}

// APIError is a refusal by the node or the ledger.
type APIError struct {
	Status   int        `json:"status"`
	Code     types.Code `json:"code"`
	CodeName string     `json:"code_name"`
	Log      string     `json:"log"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (code %d, %s)", e.Log, e.Code, e.CodeName)
}

// call sends body to path and decodes a 200 answer into out; any other
// status is an *APIError.
func (s *Session) call(ctx context.Context, method, path string, body []byte, out any) error {
	status, answer, err := s.fetch(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("the node did not answer: %w", err)
	}
	if status != statusOK {
		e := &APIError{Status: status}
		if json.Unmarshal(answer, e) != nil || e.Log == "" {
			e.Log = fmt.Sprintf("the node answered HTTP %d", status)
		}
		return e
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("the node's answer to %s is not valid: %w", path, err)
	}
	return nil
}

// signed sends a read request of path and data, signed by the person, at
// the latest height without proofs.
func (s *Session) signed(ctx context.Context, endpoint, path string, data []byte, out any) error {
	return s.signedAt(ctx, endpoint, path, data, 0, false, out)
}

// signedAt sends a signed read request at height (0: the latest), asking
// for proofs when prove.
func (s *Session) signedAt(ctx context.Context, endpoint, path string, data []byte, height int64, prove bool, out any) error {
	signer, chainID, err := s.who()
	if err != nil {
		return err
	}
	raw, err := types.NewRead(chainID, signer.Name(), signer, s.now().Add(readTTL).Unix(), path, data, height, prove)
	if err != nil {
		return err
	}
	return s.call(ctx, methodPost, endpoint, raw, out)
}

// readAnswer is the read API's answer to a read.
type readAnswer struct {
	Height int64  `json:"height"`
	Value  []byte `json:"value"`
}

// get reads the record at key into out; ok is false when the ledger has
// none, or none this person may read.
func (s *Session) get(ctx context.Context, key []byte, out any) (bool, error) {
	var a readAnswer
	err := s.signed(ctx, apiRead, types.QueryKey, key, &a)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == types.CodeReadNotVisible {
		return false, nil
	}
	if err != nil || a.Value == nil {
		return false, err
	}
	if err := json.Unmarshal(a.Value, out); err != nil {
		return false, fmt.Errorf("record %q is not valid: %w", key, err)
	}
	return true, nil
}

// list reads every record under prefix that this person may read, in key
// order, one page at a time.
func list[T any](ctx context.Context, s *Session, prefix string) ([]T, error) {
	var out []T
	after := ""
	for {
		req, err := json.Marshal(types.ListRequest{Prefix: prefix, After: after, Limit: types.MaxListLimit})
		if err != nil {
			return nil, err
		}
		var a readAnswer
		if err := s.signed(ctx, apiRead, types.QueryList, req, &a); err != nil {
			return nil, err
		}
		var lr types.ListResponse
		if err := json.Unmarshal(a.Value, &lr); err != nil {
			return nil, fmt.Errorf("list %q: the answer is not valid: %w", prefix, err)
		}
		for _, e := range lr.Entries {
			var v T
			if err := json.Unmarshal(e.Value, &v); err != nil {
				return nil, fmt.Errorf("record %q is not valid: %w", e.Key, err)
			}
			out = append(out, v)
		}
		if !lr.More || len(lr.Entries) == 0 {
			return out, nil
		}
		after = lr.Entries[len(lr.Entries)-1].Key
	}
}
