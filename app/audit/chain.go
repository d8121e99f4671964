package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lightstore "github.com/cometbft/cometbft/light/store"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
)

// DefaultTrustingPeriod is how old a trusted header may be and still
// anchor verification. A veritrial consortium is permissioned: validator
// keys are not bonded stake that unbonds, so the usual "two weeks" bound
// of proof-of-stake chains does not apply; an audit years after the study
// must still verify from genesis. Pass a shorter period to be stricter.
const DefaultTrustingPeriod = 100 * 365 * 24 * time.Hour

// ChainOptions configures VerifyChain.
type ChainOptions struct {
	// Genesis is the consortium's genesis document: the trust root is its
	// validator set. Either Genesis or TrustedHeight/TrustedHash is needed.
	Genesis *cmttypes.GenesisDoc
	// TrustedHeight and TrustedHash pin a header obtained out of band
	// instead of the genesis validators. ChainID is then required unless
	// Genesis is also given.
	TrustedHeight int64
	TrustedHash   []byte
	ChainID       string
	// Primary is the node's address (its read API, or its RPC);
	// Witnesses are other nodes every header is cross-checked against.
	Primary   string
	Witnesses []string
	// Dial connects to a node address (default client.New; a read API
	// needs a client that signs reads).
	Dial func(addr string) (*client.Client, error)
	// TrustDir holds the light client's store and the run summary; a later
	// run continues from the last verified header.
	TrustDir string
	// TrustingPeriod (default DefaultTrustingPeriod).
	TrustingPeriod time.Duration
	// To stops at this height (0: the primary's latest).
	To int64
	// Progress, when set, is called after each verified header.
	Progress func(height, target int64)
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives the light client's log (default: none).
	Logger cmtlog.Logger

	// source replaces the connections to nodes (tests).
	source func(ctx context.Context, o ChainOptions, chainID string) (*chainSource, error)
}

// setDefaults fills in the dialer, the clock, the trusting period and the
// logger.
func (o *ChainOptions) setDefaults() {
	if o.Dial == nil {
		o.Dial = func(addr string) (*client.Client, error) { return client.New(addr) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TrustingPeriod == 0 {
		o.TrustingPeriod = DefaultTrustingPeriod
	}
	if o.Logger == nil {
		o.Logger = cmtlog.NewNopLogger()
	}
}

// Validator is one member of a validator set.
type Validator struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"` // base64
	Power   int64  `json:"power"`
}

// ValidatorSetChange is a height from which a validator set signs.
type ValidatorSetChange struct {
	Height     int64       `json:"height"`
	Hash       string      `json:"hash"`
	Validators []Validator `json:"validators"`
}

// Failure says where verification stopped and why.
type Failure struct {
	Height int64  `json:"height"`
	Reason string `json:"reason"`
}

// ChainReport is the outcome of VerifyChain.
type ChainReport struct {
	ChainID       string `json:"chain_id"`
	TrustRoot     string `json:"trust_root"` // "genesis" or "trusted header"
	TrustedHeight int64  `json:"trusted_height"`
	TrustedHash   string `json:"trusted_hash"`
	// From and To bound the verified range (kept in the trust dir); To is
	// 0 when nothing could be verified.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Resumed is true when a previous run's verified headers were reused;
	// VerifiedNow counts the headers verified by this run.
	Resumed       bool     `json:"resumed"`
	VerifiedNow   int64    `json:"verified_now"`
	Latest        int64    `json:"latest"` // the primary's latest height
	LatestHash    string   `json:"latest_hash,omitempty"`
	LatestAppHash string   `json:"latest_app_hash,omitempty"`
	Primary       string   `json:"primary"`
	Witnesses     []string `json:"witnesses"`
	// CrossChecked is true when every newly verified header was compared
	// with at least one independent witness.
	CrossChecked     bool                 `json:"cross_checked"`
	ValidatorHistory []ValidatorSetChange `json:"validator_history"`
	Failure          *Failure             `json:"failure,omitempty"`
	Seconds          float64              `json:"seconds"`
	HeadersPerSecond float64              `json:"headers_per_second"`
	TrustDir         string               `json:"trust_dir"`
}

// OK reports whether every header up to the target was verified.
func (r *ChainReport) OK() bool { return r.Failure == nil }

// chainSource is where headers come from: the primary and the witnesses
// (light block providers) and their latest heights.
type chainSource struct {
	primary       *prefetcher
	witnesses     []*prefetcher
	latest        int64 // the primary's
	witnessLatest int64 // the lowest of the witnesses' (latest if none)
}

// nodeSource connects to the nodes of o.
func nodeSource(ctx context.Context, o ChainOptions, chainID string) (*chainSource, error) {
	status := func(addr, what string) (provider.Provider, int64, error) {
		c, err := o.Dial(addr)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", what, err)
		}
		st, err := c.Status(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("the %s at %s does not answer: %w", what, addr, err)
		}
		if st.ChainID != chainID {
			return nil, 0, fmt.Errorf("%w: the %s at %s serves chain %q, not %q", ErrWrongGenesis, what, addr, st.ChainID, chainID)
		}
		p, err := c.LightProvider(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("the %s at %s: %w", what, addr, err)
		}
		return p, st.Height, nil
	}
	pp, latest, err := status(o.Primary, "node")
	if err != nil {
		return nil, err
	}
	cs := &chainSource{primary: newPrefetcher(pp), latest: latest, witnessLatest: latest}
	// A witness behind the primary could not confirm the newest headers
	// (the light client would wait for it): stop at the lowest height
	// every witness has.
	for _, w := range o.Witnesses {
		wp, h, err := status(w, "witness")
		if err != nil {
			return nil, err
		}
		cs.witnesses = append(cs.witnesses, newPrefetcher(wp))
		cs.witnessLatest = min(cs.witnessLatest, h)
	}
	return cs, nil
}

// summary is what the trust dir remembers besides the light store.
type summary struct {
	ChainID          string               `json:"chain_id"`
	TrustRoot        string               `json:"trust_root"`
	TrustedHeight    int64                `json:"trusted_height"`
	TrustedHash      string               `json:"trusted_hash"`
	ValidatorHistory []ValidatorSetChange `json:"validator_history"`
}

const summaryFile = "summary.json"

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
	h := g.InitialHeight
	if h == 0 {
		h = 1
	}
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

// DefaultTrustDir is <home>/audit/<chain-id>.
func DefaultTrustDir(home, chainID string) string { return filepath.Join(home, "audit", chainID) }

// OpenTrustStore opens (creating) the light store in dir.
func OpenTrustStore(dir string) (lightstore.Store, func() error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	db, err := dbm.NewGoLevelDB("light", dir)
	if err != nil {
		if strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, nil, fmt.Errorf("the trust dir %s is in use by another audit run", dir)
		}
		return nil, nil, err
	}
	return lightdb.New(db, "vt"), db.Close, nil
}

// VerifyChain verifies every header from the trust root to the target
// height, one adjacent step at a time (sequential verification: each
// header against the validator set its predecessor committed to), storing
// each verified light block in the trust dir and cross-checking each with
// the witnesses.
func VerifyChain(ctx context.Context, o ChainOptions) (*ChainReport, error) {
	start := time.Now()
	o.setDefaults()
	chainID := o.ChainID
	if o.Genesis != nil {
		chainID = o.Genesis.ChainID
	}
	rootFromDir := ""
	if o.Genesis == nil && o.TrustedHeight == 0 && o.TrustDir != "" {
		// No root given: the one the trust dir was started from.
		if s := loadSummary(o.TrustDir); s != nil {
			if h, err := hex.DecodeString(s.TrustedHash); err == nil {
				o.TrustedHeight, o.TrustedHash, rootFromDir = s.TrustedHeight, h, s.TrustRoot+" (kept in the trust dir)"
				if chainID == "" {
					chainID = s.ChainID
				}
			}
		}
	}
	if chainID == "" {
		return nil, fmt.Errorf("the chain ID is unknown: give the genesis or the chain ID")
	}
	if o.Genesis == nil && (o.TrustedHeight <= 0 || len(o.TrustedHash) != 32) {
		return nil, fmt.Errorf("no trust root: give the genesis, or a trusted height and 32-byte header hash")
	}
	src := o.source
	if src == nil {
		src = nodeSource
	}
	cs, err := src(ctx, o, chainID)
	if err != nil {
		return nil, err
	}
	primary, witnesses := cs.primary, cs.witnesses
	crossChecked := len(witnesses) > 0
	if len(witnesses) == 0 {
		// The light client needs a witness; with none named the primary
		// is its own (the report says nothing was cross-checked).
		witnesses = append(witnesses, primary)
	}
	rep := &ChainReport{ChainID: chainID, Primary: o.Primary, Witnesses: append([]string{}, o.Witnesses...), CrossChecked: crossChecked, TrustDir: o.TrustDir}
	rep.Latest = cs.latest
	target := cs.latest
	if cs.witnessLatest < target {
		target = cs.witnessLatest
	}
	if o.To > 0 && o.To < target {
		target = o.To
	}

	// The trust root.
	var root *cmttypes.LightBlock
	if o.TrustedHeight > 0 {
		rep.TrustRoot = "trusted header"
		if rootFromDir != "" {
			rep.TrustRoot = rootFromDir
		}
		lb, err := primary.LightBlock(ctx, o.TrustedHeight)
		if err != nil {
			return nil, fmt.Errorf("fetching the trusted block %d: %w", o.TrustedHeight, err)
		}
		if !bytes.Equal(lb.Hash(), o.TrustedHash) {
			rep.Failure = &Failure{Height: o.TrustedHeight, Reason: fmt.Sprintf("the node's header at height %d has hash %X, not the trusted %X", o.TrustedHeight, lb.Hash(), o.TrustedHash)}
			return finish(rep, start), nil
		}
		root = lb
	} else {
		rep.TrustRoot = "genesis"
		lb, err := TrustFromGenesis(ctx, o.Genesis, primary)
		if err != nil {
			if errors.Is(err, ErrWrongGenesis) {
				h := o.Genesis.InitialHeight
				if h == 0 {
					h = 1
				}
				rep.Failure = &Failure{Height: h, Reason: err.Error()}
				return finish(rep, start), nil
			}
			return nil, err
		}
		root = lb
	}
	rep.TrustedHeight, rep.TrustedHash = root.Height, fmt.Sprintf("%X", root.Hash())

	store, closeStore, err := OpenTrustStore(o.TrustDir)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	sum := loadSummary(o.TrustDir)
	var lc *light.Client
	opts := []light.Option{light.SequentialVerification(), light.PruningSize(0), light.Logger(o.Logger), light.MaxRetryAttempts(3)}
	providers := make([]provider.Provider, len(witnesses))
	for i, w := range witnesses {
		providers[i] = w
	}
	last, err := store.LastLightBlockHeight()
	if err != nil {
		return nil, err
	}
	if last > 0 {
		// Resume: the stored chain must descend from the same root.
		stored, err := store.LightBlock(root.Height)
		if err != nil || !bytes.Equal(stored.Hash(), root.Hash()) || sum == nil || sum.TrustedHash != rep.TrustedHash {
			return nil, fmt.Errorf("the trust dir %s holds headers verified from another trust root; use another --trust-dir", o.TrustDir)
		}
		lc, err = light.NewClientFromTrustedStore(chainID, o.TrustingPeriod, primary, providers, store, opts...)
		if err != nil {
			return nil, fmt.Errorf("opening the light client: %w", err)
		}
		rep.Resumed = true
	} else {
		lc, err = light.NewClient(ctx, chainID, light.TrustOptions{Period: o.TrustingPeriod, Height: root.Height, Hash: root.Hash()}, primary, providers, store, opts...)
		if err != nil {
			rep.Failure = &Failure{Height: root.Height, Reason: "the light client refused the trust root: " + err.Error()}
			return finish(rep, start), nil
		}
		sum = &summary{ChainID: chainID, TrustRoot: rep.TrustRoot, TrustedHeight: root.Height, TrustedHash: rep.TrustedHash,
			ValidatorHistory: []ValidatorSetChange{valsetChange(root.Height, root.ValidatorSet)}}
		if err := saveSummary(o.TrustDir, sum); err != nil {
			return nil, err
		}
	}
	first, _ := lc.FirstTrustedHeight()
	rep.From = first
	cur, err := lc.LastTrustedHeight()
	if err != nil {
		return nil, err
	}
	prevHash := ""
	if n := len(sum.ValidatorHistory); n > 0 {
		prevHash = sum.ValidatorHistory[n-1].Hash
	}
	const batch = 64
	for h := cur + 1; h <= target; h++ {
		if (h-cur-1)%batch == 0 {
			end := min(h+batch-1, target)
			primary.prefetch(ctx, h, end)
			if crossChecked {
				for _, w := range witnesses {
					w.prefetch(ctx, h, end)
				}
			}
		}
		lb, err := lc.VerifyLightBlockAtHeight(ctx, h, o.Now())
		if err != nil {
			rep.Failure = &Failure{Height: h, Reason: explain(err)}
			break
		}
		rep.VerifiedNow++
		if hx := fmt.Sprintf("%X", []byte(lb.ValidatorsHash)); hx != prevHash {
			sum.ValidatorHistory = append(sum.ValidatorHistory, valsetChange(h, lb.ValidatorSet))
			prevHash = hx
		}
		if o.Progress != nil {
			o.Progress(h, target)
		}
		if ctx.Err() != nil {
			rep.Failure = &Failure{Height: h + 1, Reason: "interrupted"}
			break
		}
	}
	if err := saveSummary(o.TrustDir, sum); err != nil {
		return nil, err
	}
	rep.To, _ = lc.LastTrustedHeight()
	if lb, err := lc.TrustedLightBlock(rep.To); err == nil {
		rep.LatestHash = fmt.Sprintf("%X", lb.Hash())
		rep.LatestAppHash = fmt.Sprintf("%X", []byte(lb.AppHash))
	}
	rep.ValidatorHistory = sum.ValidatorHistory
	return finish(rep, start), nil
}

func finish(r *ChainReport, start time.Time) *ChainReport {
	r.Seconds = time.Since(start).Seconds()
	if r.Seconds > 0 {
		r.HeadersPerSecond = float64(r.VerifiedNow) / r.Seconds
	}
	if r.ValidatorHistory == nil {
		r.ValidatorHistory = []ValidatorSetChange{}
	}
	return r
}

// explain turns a light client error into one line.
func explain(err error) string { return strings.Join(strings.Fields(explainErr(err)), " ") }

func explainErr(err error) string {
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

func valsetChange(h int64, vs *cmttypes.ValidatorSet) ValidatorSetChange {
	c := ValidatorSetChange{Height: h, Hash: fmt.Sprintf("%X", vs.Hash()), Validators: []Validator{}}
	for _, v := range vs.Validators {
		c.Validators = append(c.Validators, Validator{Address: v.Address.String(), PubKey: b64(v.PubKey.Bytes()), Power: v.VotingPower})
	}
	return c
}

func loadSummary(dir string) *summary {
	bz, err := os.ReadFile(filepath.Join(dir, summaryFile))
	if err != nil {
		return nil
	}
	var s summary
	if json.Unmarshal(bz, &s) != nil {
		return nil
	}
	return &s
}

func saveSummary(dir string, s *summary) error {
	bz, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, summaryFile+".tmp")
	if err := os.WriteFile(tmp, bz, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, summaryFile))
}

// TrustedHeader returns the verified light block at height h from a trust
// dir filled by VerifyChain, or an error saying to run verify-chain.
func TrustedHeader(dir string, h int64) (*cmttypes.LightBlock, error) {
	st, closeStore, err := OpenTrustStore(dir)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	lb, err := st.LightBlock(h)
	if err != nil {
		last, _ := st.LastLightBlockHeight()
		return nil, fmt.Errorf("header %d is not verified in %s (verified up to %d): run veritrial audit verify-chain first", h, dir, last)
	}
	return lb, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// prefetcher is a provider that fetches a window of light blocks
// concurrently ahead of the light client's sequential requests; it
// returns exactly what the wrapped provider returned.
type prefetcher struct {
	inner provider.Provider
	mu    sync.Mutex
	cache map[int64]*cmttypes.LightBlock
}

func newPrefetcher(p provider.Provider) *prefetcher {
	return &prefetcher{inner: p, cache: map[int64]*cmttypes.LightBlock{}}
}

// ChainID implements provider.Provider.
func (p *prefetcher) ChainID() string { return p.inner.ChainID() }

// String names the node.
func (p *prefetcher) String() string { return fmt.Sprint(p.inner) }

// LightBlock implements provider.Provider.
func (p *prefetcher) LightBlock(ctx context.Context, h int64) (*cmttypes.LightBlock, error) {
	p.mu.Lock()
	lb, ok := p.cache[h]
	p.mu.Unlock()
	if ok {
		return lb, nil
	}
	return p.inner.LightBlock(ctx, h)
}

// ReportEvidence implements provider.Provider.
func (p *prefetcher) ReportEvidence(ctx context.Context, ev cmttypes.Evidence) error {
	return p.inner.ReportEvidence(ctx, ev)
}

// prefetch fetches heights from..to with 4 workers; failures are left for
// the light client's own request to meet and report.
func (p *prefetcher) prefetch(ctx context.Context, from, to int64) {
	p.mu.Lock()
	for h := range p.cache {
		if h < from-1 {
			delete(p.cache, h)
		}
	}
	p.mu.Unlock()
	hs := make(chan int64)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range hs {
				lb, err := p.inner.LightBlock(ctx, h)
				if err == nil {
					p.mu.Lock()
					p.cache[h] = lb
					p.mu.Unlock()
				}
			}
		}()
	}
	for h := from; h <= to; h++ {
		hs <- h
	}
	close(hs)
	wg.Wait()
}

// ParseHash decodes a header hash given in hex.
func ParseHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%q is not a 32-byte header hash in hex", s)
	}
	return b, nil
}
