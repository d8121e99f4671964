package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/light"
	lightprovider "github.com/cometbft/cometbft/light/provider"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
)

// signedChain builds n headers signed by a 4-validator set (a sponsor,
// a site, a CRO and a regulator), as the light client receives them.
func signedChain(tb testing.TB, chainID string, n int) (map[int64]*cmttypes.SignedHeader, map[int64]*cmttypes.ValidatorSet) {
	tb.Helper()
	vals, privs := cmttypes.RandValidatorSet(4, 10)
	headers := map[int64]*cmttypes.SignedHeader{}
	valsets := map[int64]*cmttypes.ValidatorSet{}
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	var last cmttypes.BlockID
	for h := int64(1); h <= int64(n); h++ {
		hdr := &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: chainID, Height: h, Time: t0.Add(time.Duration(h) * time.Second),
			LastBlockID: last, ValidatorsHash: vals.Hash(), NextValidatorsHash: vals.Hash(), ConsensusHash: tmhash.Sum([]byte("c")),
			AppHash: tmhash.Sum([]byte(fmt.Sprint(h))), DataHash: tmhash.Sum(nil), LastResultsHash: tmhash.Sum(nil), EvidenceHash: tmhash.Sum(nil),
			LastCommitHash: tmhash.Sum(nil), ProposerAddress: vals.Validators[0].Address}
		id := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("p"))}}
		vs := cmttypes.NewVoteSet(chainID, h, 0, cmtproto.PrecommitType, vals)
		ec, err := cmttypes.MakeExtCommit(id, h, 0, vs, privs, hdr.Time.Add(time.Second), false)
		if err != nil {
			tb.Fatal(err)
		}
		headers[h] = &cmttypes.SignedHeader{Header: hdr, Commit: ec.ToCommit()}
		valsets[h] = vals
		last = id
	}
	return headers, valsets
}

// memProvider serves light blocks from memory, without the 10 ms delay
// of CometBFT's mock provider.
type memProvider struct {
	chainID string
	headers map[int64]*cmttypes.SignedHeader
	vals    map[int64]*cmttypes.ValidatorSet
}

func (p memProvider) ChainID() string { return p.chainID }

func (p memProvider) LightBlock(_ context.Context, h int64) (*cmttypes.LightBlock, error) {
	sh, ok := p.headers[h]
	if !ok {
		return nil, lightprovider.ErrLightBlockNotFound
	}
	return &cmttypes.LightBlock{SignedHeader: sh, ValidatorSet: p.vals[h]}, nil
}

func (p memProvider) ReportEvidence(context.Context, cmttypes.Evidence) error { return nil }

// BenchmarkVerifyHeaders measures sequential light-client verification
// (VerifyAdjacent of each header, +2/3 of 4 ed25519 signatures, the
// light store write) of 500 headers from an in-memory provider: the
// verification cost without the network.
func BenchmarkVerifyHeaders(b *testing.B) {
	const n = 500
	const chainID = "bench"
	headers, vals := signedChain(b, chainID, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := memProvider{chainID, headers, vals}
		st := lightdb.New(dbm.NewMemDB(), "b")
		lc, err := light.NewClient(ctx, chainID, light.TrustOptions{Period: DefaultTrustingPeriod, Height: 1, Hash: headers[1].Hash()},
			p, []lightprovider.Provider{p}, st, light.SequentialVerification(), light.PruningSize(0))
		if err != nil {
			b.Fatal(err)
		}
		for h := int64(2); h <= n; h++ {
			if _, err := lc.VerifyLightBlockAtHeight(ctx, h, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*(n-1))/b.Elapsed().Seconds(), "headers/s")
}
