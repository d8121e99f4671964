package session

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/veritrial/veritrial/app/types"
)

// HistoryProof is a form's history read with proofs and checked in the
// page: every version's record against the app hash in the header of the
// block after the height it was read at. That header is the node's own
// (its light block as the read API serves it, not verified by a light
// client in the page): the check shows that the records are the ones the
// node's header commits to, not that the validators signed that header;
// the CLI's show history --prove verifies the header too.
type HistoryProof struct {
	// Height is the height the versions were read at; Header the block
	// whose header carries the app hash after it (Height+1).
	Height  int64  `json:"height"`
	Header  int64  `json:"header"`
	AppHash string `json:"app_hash"`
	// Versions holds one entry per version, oldest first.
	Versions []VersionProof `json:"versions"`
}

// VersionProof says whether one version's ics23 proof holds.
type VersionProof struct {
	Version  int    `json:"version"`
	Key      string `json:"key"`
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
}

// provedAnswer is the read API's answer to a read with proofs.
type provedAnswer struct {
	Height   int64  `json:"height"`
	Value    []byte `json:"value"`
	ProofOps []struct {
		Type string `json:"type"`
		Data []byte `json:"data"`
	} `json:"proof_ops"`
}

// headerWait bounds the wait for the block after the height read, which
// carries its app hash.
const headerWait = 15 * time.Second

// ProveHistory reads every version of form k with its proof at the latest
// height and checks each against the app hash in the node's header of the
// next block.
func (s *Session) ProveHistory(ctx context.Context, k types.FormKey) (*HistoryProof, error) {
	key := types.KeyForm(k)
	var a provedAnswer
	if err := s.signedAt(ctx, apiRead, types.QueryKey, key, 0, true, &a); err != nil {
		return nil, err
	}
	if a.Value == nil {
		return nil, fmt.Errorf("form %s of %s at %s has not been entered", k.Form, k.Subject, k.Event)
	}
	if a.Height < 1 {
		return nil, errors.New("the node answered without a committed height")
	}
	cur := types.ListEntry{Key: string(key), Value: a.Value}
	if len(a.ProofOps) == 1 && a.ProofOps[0].Type == types.ProofOpType {
		cur.Proof = a.ProofOps[0].Data
	}
	var entries []types.ListEntry
	after := ""
	for {
		req, err := json.Marshal(types.ListRequest{Prefix: prefixHistory(k), After: after, Limit: types.MaxListLimit, Prove: true})
		if err != nil {
			return nil, err
		}
		var la provedAnswer
		if err := s.signedAt(ctx, apiRead, types.QueryList, req, a.Height, false, &la); err != nil {
			return nil, err
		}
		if la.Height != a.Height {
			return nil, fmt.Errorf("the node answered at height %d, not %d", la.Height, a.Height)
		}
		var lr types.ListResponse
		if err := json.Unmarshal(la.Value, &lr); err != nil {
			return nil, fmt.Errorf("the history's answer is not valid: %w", err)
		}
		entries = append(entries, lr.Entries...)
		if !lr.More || len(lr.Entries) == 0 {
			break
		}
		after = lr.Entries[len(lr.Entries)-1].Key
	}
	entries = append(entries, cur)
	root, err := s.appHashAfter(ctx, a.Height)
	if err != nil {
		return nil, err
	}
	out := &HistoryProof{Height: a.Height, Header: a.Height + 1, AppHash: hex.EncodeToString(root), Versions: []VersionProof{}}
	for _, e := range entries {
		var rec types.FormRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return nil, fmt.Errorf("record %q is not valid: %w", e.Key, err)
		}
		v := VersionProof{Version: rec.Version, Key: e.Key, Verified: true}
		if len(e.Proof) == 0 {
			v.Verified, v.Problem = false, "the node returned no proof"
		} else if err := types.VerifyProof(root, []byte(e.Key), e.Value, e.Proof); err != nil {
			v.Verified, v.Problem = false, err.Error()
		}
		out.Versions = append(out.Versions, v)
	}
	return out, nil
}

// appHashAfter returns the app hash in the node's header of block h+1,
// waiting up to headerWait for that block.
func (s *Session) appHashAfter(ctx context.Context, h int64) ([]byte, error) {
	_, chainID, err := s.who()
	if err != nil {
		return nil, err
	}
	deadline := s.now().Add(headerWait)
	for {
		var lb struct {
			LightBlock []byte `json:"light_block"`
		}
		err := s.signed(ctx, apiLight, types.ReadLightBlock, []byte(strconv.FormatInt(h+1, 10)), &lb)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == types.CodeReadNotFound && s.now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("the header of block %d: %w", h+1, err)
		}
		return headerAppHash(lb.LightBlock, chainID, h+1)
	}
}

// headerAppHash returns the app hash of the header in a protobuf light
// block (tendermint.types.LightBlock: signed_header 1, its header 1, whose
// chain_id is 2, height 3 and app_hash 11), checking its chain and height.
func headerAppHash(lightBlock []byte, chainID string, height int64) ([]byte, error) {
	sh, err := field(lightBlock, 1)
	if err != nil {
		return nil, err
	}
	hdr, err := field(sh, 1)
	if err != nil {
		return nil, err
	}
	var chain string
	var got int64
	var root []byte
	err = walk(hdr, func(num protowire.Number, typ protowire.Type, v []byte) {
		switch {
		case num == 2 && typ == protowire.BytesType:
			chain = string(v)
		case num == 3 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			got = int64(n)
		case num == 11 && typ == protowire.BytesType:
			root = v
		}
	})
	switch {
	case err != nil:
		return nil, err
	case chain != chainID:
		return nil, fmt.Errorf("the header is of chain %q, not %q", chain, chainID)
	case got != height:
		return nil, fmt.Errorf("the node answered the header of block %d for block %d", got, height)
	case len(root) == 0:
		return nil, fmt.Errorf("the header of block %d has no app hash", height)
	}
	return root, nil
}

// field returns the length-delimited field num of protobuf message b.
func field(b []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := walk(b, func(n protowire.Number, typ protowire.Type, v []byte) {
		if n == num && typ == protowire.BytesType {
			out = v
		}
	})
	if err == nil && out == nil {
		err = fmt.Errorf("the light block has no field %d", num)
	}
	return out, err
}

// walk calls fn with each field of protobuf message b: its number, type
// and value (the content of a length-delimited field, the bytes of any
// other).
func walk(b []byte, fn func(protowire.Number, protowire.Type, []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("the light block is not valid protobuf")
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errors.New("the light block is not valid protobuf")
		}
		v := b[:m]
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(v)
		}
		fn(num, typ, v)
		b = b[m:]
	}
	return nil
}
