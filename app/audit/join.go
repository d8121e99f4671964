package audit

import (
	"context"
	"errors"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TrustLatest verifies, from the genesis validator set, the header of the
// latest height the primary and every witness have (o.To if lower), and
// returns it: the trust root a node that joins by state sync gives
// CometBFT. Block 1 is checked against the genesis (TrustFromGenesis);
// from there the light client skips ahead, bisecting wherever the
// validator set changed too much to skip, each header cross-checked with
// the witnesses. Nothing is stored. o.Genesis and o.Primary are required;
// o.TrustDir, o.TrustedHeight and o.Progress are not used.
func TrustLatest(ctx context.Context, o ChainOptions) (*cmttypes.LightBlock, error) {
	if o.Genesis == nil {
		return nil, errors.New("no genesis to trust")
	}
	o.setDefaults()
	src := o.source
	if src == nil {
		src = nodeSource
	}
	chainID := o.Genesis.ChainID
	cs, err := src(ctx, o, chainID)
	if err != nil {
		return nil, err
	}
	target := cs.witnessLatest
	if o.To > 0 && o.To < target {
		target = o.To
	}
	root, err := TrustFromGenesis(ctx, o.Genesis, cs.primary)
	if err != nil {
		return nil, err
	}
	if target <= root.Height {
		return root, nil
	}
	witnesses := make([]provider.Provider, len(cs.witnesses))
	for i, w := range cs.witnesses {
		witnesses[i] = w
	}
	if len(witnesses) == 0 {
		witnesses = append(witnesses, cs.primary)
	}
	lc, err := light.NewClient(ctx, chainID, light.TrustOptions{Period: o.TrustingPeriod, Height: root.Height, Hash: root.Hash()},
		cs.primary, witnesses, lightdb.New(dbm.NewMemDB(), ""),
		light.SkippingVerification(light.DefaultTrustLevel), light.Logger(o.Logger), light.MaxRetryAttempts(3))
	if err != nil {
		return nil, fmt.Errorf("the light client refused the genesis block %d: %s", root.Height, explain(err))
	}
	lb, err := lc.VerifyLightBlockAtHeight(ctx, target, o.Now())
	if err != nil {
		return nil, fmt.Errorf("verifying header %d from the genesis: %s", target, explain(err))
	}
	return lb, nil
}
