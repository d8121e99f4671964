package audit

import (
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

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/lightroot"
)

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
	// TrustingPeriod (default lightroot.DefaultTrustingPeriod).
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
		o.TrustingPeriod = lightroot.DefaultTrustingPeriod
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
			return nil, 0, fmt.Errorf("%w: the %s at %s serves chain %q, not %q", lightroot.ErrWrongGenesis, what, addr, st.ChainID, chainID)
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
	ChainID       string `json:"chain_id"`
	TrustRoot     string `json:"trust_root"`
	TrustedHeight int64  `json:"trusted_height"`
	TrustedHash   string `json:"trusted_hash"`
	// VerifiedTo is the end of the headers verified one by one from the
	// root; the trust dir may hold later ones, verified by skipping
	// (lightroot).
	VerifiedTo       int64                `json:"verified_to,omitempty"`
	ValidatorHistory []ValidatorSetChange `json:"validator_history"`
}

const summaryFile = "summary.json"

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
		lb, err := lightroot.TrustHeader(ctx, primary, o.TrustedHeight, o.TrustedHash)
		if errors.Is(err, lightroot.ErrWrongTrustedHash) {
			rep.Failure = &Failure{Height: o.TrustedHeight, Reason: err.Error()}
			return finish(rep, start), nil
		}
		if err != nil {
			return nil, err
		}
		root = lb
	} else {
		rep.TrustRoot = "genesis"
		lb, err := lightroot.TrustFromGenesis(ctx, o.Genesis, primary)
		if err != nil {
			if errors.Is(err, lightroot.ErrWrongGenesis) {
				rep.Failure = &Failure{Height: lightroot.FirstHeight(o.Genesis), Reason: err.Error()}
				return finish(rep, start), nil
			}
			return nil, err
		}
		root = lb
	}
	rep.TrustedHeight, rep.TrustedHash = root.Height, fmt.Sprintf("%X", root.Hash())

	providers := make([]provider.Provider, len(witnesses))
	for i, w := range witnesses {
		providers[i] = w
	}
	sum := loadSummary(o.TrustDir)
	if sum != nil && sum.TrustedHash != rep.TrustedHash {
		return nil, fmt.Errorf("the trust dir %s holds headers verified from another trust root; use another --trust-dir", o.TrustDir)
	}
	v, err := lightroot.Open(ctx, lightroot.Options{ChainID: chainID, Root: root, TrustDir: o.TrustDir, Primary: primary, Witnesses: providers,
		Sequential: true, TrustingPeriod: o.TrustingPeriod, Now: o.Now, Logger: o.Logger})
	switch {
	case errors.Is(err, lightroot.ErrOtherRoot):
		return nil, fmt.Errorf("the trust dir %s holds headers verified from another trust root; use another --trust-dir", o.TrustDir)
	case errors.Is(err, lightroot.ErrRootRefused):
		rep.Failure = &Failure{Height: root.Height, Reason: err.Error()}
		return finish(rep, start), nil
	case err != nil:
		return nil, err
	}
	defer v.Close()
	lc := v.Light()
	if sum == nil {
		sum = &summary{ChainID: chainID, TrustRoot: rep.TrustRoot, TrustedHeight: root.Height, TrustedHash: rep.TrustedHash,
			ValidatorHistory: []ValidatorSetChange{valsetChange(root.Height, root.ValidatorSet)}}
	} else {
		rep.Resumed = true
	}
	// The headers verified one by one so far: up to VerifiedTo, and any
	// that follow it in the store (a trust dir of an earlier version kept
	// only those).
	cur := max(sum.VerifiedTo, root.Height)
	for {
		if _, err := lc.TrustedLightBlock(cur + 1); err != nil {
			break
		}
		cur++
	}
	sum.VerifiedTo = cur
	if err := saveSummary(o.TrustDir, sum); err != nil {
		return nil, err
	}
	first, _ := lc.FirstTrustedHeight()
	rep.From = first
	prev, err := lc.TrustedLightBlock(cur)
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
		lb, err := verifyNext(ctx, lc, prev, h, o)
		if err != nil {
			rep.Failure = &Failure{Height: h, Reason: lightroot.Explain(err)}
			break
		}
		rep.VerifiedNow++
		sum.VerifiedTo, prev = h, lb
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
	rep.To = sum.VerifiedTo
	if lb, err := lc.TrustedLightBlock(rep.To); err == nil {
		rep.LatestHash = fmt.Sprintf("%X", lb.Hash())
		rep.LatestAppHash = fmt.Sprintf("%X", []byte(lb.AppHash))
	}
	rep.ValidatorHistory = sum.ValidatorHistory
	return finish(rep, start), nil
}

// verifyNext verifies header h against prev, the header before it: with
// the light client in sequential mode, or, for a header the trust dir
// already holds (one a skipping verification stored), by checking it
// against prev as sequential verification would.
func verifyNext(ctx context.Context, lc *light.Client, prev *cmttypes.LightBlock, h int64, o ChainOptions) (*cmttypes.LightBlock, error) {
	lb, err := lc.TrustedLightBlock(h)
	if err != nil {
		return lc.VerifyLightBlockAtHeight(ctx, h, o.Now())
	}
	if err := light.VerifyAdjacent(prev.SignedHeader, lb.SignedHeader, lb.ValidatorSet, o.TrustingPeriod, o.Now(), 10*time.Second); err != nil {
		return nil, light.ErrVerificationFailed{From: prev.Height, To: h, Reason: err}
	}
	return lb, nil
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
