package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

const noProofs = "records held in memory carry no proofs"

// MemQuery answers /key and /list at height from records held in memory,
// as App.TrustedQuery answers them from the tree, without proofs: records read
// (and proven) once, read again. records must not change afterwards.
func MemQuery(height int64, records map[string][]byte) QueryFunc {
	keys := make([]string, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	refuse := func(format string, args ...any) *abci.ResponseQuery {
		return &abci.ResponseQuery{Code: uint32(types.CodeInvalidMsg), Codespace: types.Codespace, Log: fmt.Sprintf(format, args...), Height: height}
	}
	return func(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
		if req.Height != 0 && req.Height != height {
			return refuse("height %d is not held in memory (only %d)", req.Height, height), nil
		}
		if req.Prove {
			return refuse(noProofs), nil
		}
		switch req.Path {
		case types.QueryKey:
			return &abci.ResponseQuery{Key: req.Data, Value: records[string(req.Data)], Height: height}, nil
		case types.QueryList:
			var lr types.ListRequest
			if err := json.Unmarshal(req.Data, &lr); err != nil {
				return refuse("list request is not valid JSON: %v", err), nil
			}
			if lr.Prove {
				return refuse(noProofs), nil
			}
			if lr.Prefix == "" {
				return refuse("list needs a prefix"), nil
			}
			if lr.Limit <= 0 || lr.Limit > types.MaxListLimit {
				lr.Limit = types.MaxListLimit
			}
			start := lr.Prefix
			if lr.After >= lr.Prefix {
				start = lr.After + "\x00"
			}
			resp := types.ListResponse{Entries: []types.ListEntry{}}
			for i := sort.SearchStrings(keys, start); i < len(keys) && strings.HasPrefix(keys[i], lr.Prefix); i++ {
				if len(resp.Entries) == lr.Limit {
					resp.More = true
					break
				}
				resp.Entries = append(resp.Entries, types.ListEntry{Key: keys[i], Value: records[keys[i]]})
			}
			bz, err := json.Marshal(resp)
			if err != nil {
				return nil, err
			}
			return &abci.ResponseQuery{Key: []byte(lr.Prefix), Value: bz, Height: height}, nil
		}
		return refuse("unknown query path %q", req.Path), nil
	}
}
