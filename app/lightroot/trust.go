package lightroot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lightstore "github.com/cometbft/cometbft/light/store"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmttypes "github.com/cometbft/cometbft/types"
)

// DefaultTrustingPeriod is how old a trusted header may be and still
// anchor verification. A veritrial consortium is permissioned: validator
// keys are not bonded stake that unbonds, so the usual "two weeks" bound
// of proof-of-stake chains does not apply; an audit years after the study
// must still verify from genesis. Pass a shorter period to be stricter.
const DefaultTrustingPeriod = 100 * 365 * 24 * time.Hour

// ErrWrongGenesis means the chain served by the node was not produced by
// the genesis validators.
var ErrWrongGenesis = errors.New("the node's chain does not start from this genesis")

// GenesisValidatorSet returns the validator set of a genesis document.
func GenesisValidatorSet(g *cmttypes.GenesisDoc) (*cmttypes.ValidatorSet, error) {
	if len(g.Validators) == 0 {
		return nil, fmt.Errorf("the genesis has no validators: the trust root must be given as --trusted-height and --trusted-hash")
	}
	vals := make([]*cmttypes.Validator, len(g.Validators))
	for i, v := range g.Validators {
		if v.PubKey == nil {
			return nil, fmt.Errorf("genesis validator %d has no public key", i)
		}
		vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
	}
	vs := cmttypes.NewValidatorSet(vals)
	if err := vs.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("the genesis validator set is not valid: %w", err)
	}
	return vs, nil
}

// TrustFromGenesis verifies the first block's header against the genesis:
// chain ID, initial height, the genesis validator set and +2/3 of its
// voting power signing the commit (types.VerifyCommitLight). The header's
// hash is then as trustworthy as the genesis file itself.
func TrustFromGenesis(ctx context.Context, g *cmttypes.GenesisDoc, p provider.Provider) (*cmttypes.LightBlock, error) {
	vs, err := GenesisValidatorSet(g)
	if err != nil {
		return nil, err
	}
	h := FirstHeight(g)
	lb, err := p.LightBlock(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("fetching block %d from the node: %w", h, err)
	}
	if lb.ChainID != g.ChainID {
		return nil, fmt.Errorf("%w: block %d is on chain %q, the genesis is for %q", ErrWrongGenesis, h, lb.ChainID, g.ChainID)
	}
	if err := lb.ValidateBasic(g.ChainID); err != nil {
		return nil, fmt.Errorf("block %d is malformed: %w", h, err)
	}
	if !bytes.Equal(lb.ValidatorsHash, vs.Hash()) {
		return nil, fmt.Errorf("%w: block %d names validator set %X but the genesis validators hash to %X (a different validator key or power)", ErrWrongGenesis, h, []byte(lb.ValidatorsHash), vs.Hash())
	}
	if err := vs.VerifyCommitLight(g.ChainID, lb.Commit.BlockID, h, lb.Commit); err != nil {
		return nil, fmt.Errorf("%w: block %d is not signed by +2/3 of the genesis validators: %v", ErrWrongGenesis, h, err)
	}
	if lb.Time.Before(g.GenesisTime) {
		return nil, fmt.Errorf("%w: block %d time %s is before the genesis time %s", ErrWrongGenesis, h, lb.Time.UTC().Format(time.RFC3339), g.GenesisTime.UTC().Format(time.RFC3339))
	}
	return lb, nil
}

// FirstHeight is the height of a chain's first block.
func FirstHeight(g *cmttypes.GenesisDoc) int64 { return max(g.InitialHeight, 1) }

// ErrWrongTrustedHash means the header at a trusted height is not the one
// trusted.
var ErrWrongTrustedHash = errors.New("the node's header is not the trusted one")

// TrustHeader returns the light block at height h from p when its header
// has hash, a header trusted out of band.
func TrustHeader(ctx context.Context, p provider.Provider, h int64, hash []byte) (*cmttypes.LightBlock, error) {
	lb, err := p.LightBlock(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("fetching the trusted block %d: %w", h, err)
	}
	if !bytes.Equal(lb.Hash(), hash) {
		return nil, fmt.Errorf("%w: the header at height %d has hash %X, not the trusted %X", ErrWrongTrustedHash, h, lb.Hash(), hash)
	}
	return lb, nil
}

// DefaultTrustDir is a home's trust store of chain chainID:
// <home>/audit/<chain-id>.
func DefaultTrustDir(home, chainID string) string { return filepath.Join(home, "audit", chainID) }

// storeLockWait is how long OpenTrustStore waits for another process (or
// another command of this one) to let go of a trust dir.
const storeLockWait = 10 * time.Second

// OpenTrustStore opens (creating) the light store in dir, waiting a few
// seconds for a run that holds it.
func OpenTrustStore(dir string) (lightstore.Store, func() error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(storeLockWait)
	for {
		db, err := dbm.NewGoLevelDB("light", dir)
		if err == nil {
			return lightdb.New(db, "vt"), db.Close, nil
		}
		if !strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, nil, err
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("the trust dir %s is in use by another run (an audit verify-chain?): try again when it ends", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LastTrusted returns the height of the newest header the trust dir
// holds: 0 when it holds none or does not exist.
func LastTrusted(dir string) (int64, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	st, closeStore, err := OpenTrustStore(dir)
	if err != nil {
		return 0, err
	}
	defer closeStore()
	h, err := st.LastLightBlockHeight()
	return max(h, 0), err
}

// Explain turns a light client error into one line.
func Explain(err error) string { return strings.Join(strings.Fields(explain(err)), " ") }

func explain(err error) string {
	var vf light.ErrVerificationFailed
	if errors.As(err, &vf) {
		return fmt.Sprintf("header %d does not verify against header %d: %v", vf.To, vf.From, vf.Reason)
	}
	if errors.Is(err, light.ErrLightClientAttack) {
		return "a witness holds a conflicting header signed by the validators (light client attack): " + err.Error()
	}
	if errors.Is(err, light.ErrFailedHeaderCrossReferencing) {
		return "no witness confirmed the header: " + err.Error()
	}
	return err.Error()
}
