package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/light/provider"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/lightroot"
)

// TrustLatest verifies, from the genesis validator set, the header of the
// latest height the primary and every witness have (o.To if lower), and
// returns it: the trust root a node that joins by state sync gives
// CometBFT. Block 1 is checked against the genesis
// (lightroot.TrustFromGenesis); from there the light client skips ahead,
// bisecting wherever the validator set changed too much to skip, each
// header cross-checked with the witnesses. Nothing is stored. o.Genesis
// and o.Primary are required; o.TrustDir, o.TrustedHeight and o.Progress
// are not used.
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
	witnesses := make([]provider.Provider, len(cs.witnesses))
	for i, w := range cs.witnesses {
		witnesses[i] = w
	}
	v, err := lightroot.Open(ctx, lightroot.Options{Genesis: o.Genesis, Primary: cs.primary, Witnesses: witnesses,
		TrustingPeriod: o.TrustingPeriod, Now: o.Now, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	defer v.Close()
	lb, err := v.LightBlock(ctx, max(target, lightroot.FirstHeight(o.Genesis)))
	if err != nil {
		return nil, fmt.Errorf("verifying header %d from the genesis: %w", target, err)
	}
	return lb, nil
}
