package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/lightroot"
)

// stateSyncDiscovery is how long the node collects its peers' snapshots
// before it picks one: CometBFT's shortest.
const stateSyncDiscovery = 5 * time.Second

// trustTimeout bounds the light client's verification before the start.
const trustTimeout = 5 * time.Minute

// parseStateSync reads --state-sync: two or more RPC addresses of the
// consortium's nodes, the first the light client's primary, the others
// its witnesses.
func parseStateSync(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		a, err := normalizeNodeAddr(part)
		if err != nil {
			return nil, usageErrorf("--state-sync address %q is not an RPC address like tcp://10.0.0.11:26657", part)
		}
		out = append(out, a)
	}
	if len(out) < 2 {
		return nil, usageErrorf("--state-sync needs the RPC addresses of two of the consortium's nodes, e.g. --state-sync tcp://10.0.0.11:26657,tcp://10.0.0.12:26657: one serves the headers, the other cross-checks them")
	}
	return out, nil
}

// setupStateSync turns CometBFT's state sync on for a node whose ledger
// state is empty, trusting the header the light client verified from the
// home's genesis validators up to the consortium's latest height. On a
// node with state it changes nothing and says so.
func setupStateSync(conf *cmtcfg.Config, gen *cmttypes.GenesisDoc, appl *app.App, rpcs []string, logger cmtlog.Logger) error {
	info, err := appl.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		return failf("reading the ledger state: %v", err)
	}
	if info.LastBlockHeight > 0 {
		logger.Info("--state-sync ignored: the ledger state is not empty, the node resumes from it", "height", info.LastBlockHeight)
		return nil
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), trustTimeout)
	defer cancel()
	lb, err := audit.TrustLatest(ctx, audit.ChainOptions{Genesis: gen, Primary: rpcs[0], Witnesses: rpcs[1:], Logger: logger.With("module", "light")})
	if err != nil {
		if errors.Is(err, lightroot.ErrWrongGenesis) {
			return failf("state sync: %v; check that this home's genesis is the consortium's", err)
		}
		if client.Unreachable(err) {
			return unavailableErrorf("state sync: %v (are the nodes at %s running?)", err, strings.Join(rpcs, ", "))
		}
		return failf("state sync: the consortium's headers do not verify from this home's genesis: %v", err)
	}
	conf.StateSync.Enable = true
	conf.StateSync.RPCServers = rpcs
	conf.StateSync.TrustHeight = lb.Height
	conf.StateSync.TrustHash = fmt.Sprintf("%X", lb.Hash())
	conf.StateSync.TrustPeriod = lightroot.DefaultTrustingPeriod
	conf.StateSync.DiscoveryTime = stateSyncDiscovery
	logger.Info("state sync: trusting the header verified from the genesis validators", "height", lb.Height,
		"hash", conf.StateSync.TrustHash, "app_hash", fmt.Sprintf("%X", []byte(lb.AppHash)), "rpc", strings.Join(rpcs, ","),
		"seconds", fmt.Sprintf("%.1f", time.Since(began).Seconds()))
	return nil
}

// logCaughtUp logs, once the node has switched from syncing to consensus,
// how long catching up took since began, how (stateSync or blocks), and
// the ledger's height then. It returns when that happened or the node
// stopped.
func logCaughtUp(n *node.Node, appl *app.App, began time.Time, stateSync bool, logger cmtlog.Logger) {
	how := "block sync and replay"
	if stateSync {
		how = "state sync from a snapshot, then block sync"
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.Quit():
			return
		case <-t.C:
		}
		if !n.ConsensusReactor().WaitSync() {
			info, err := appl.Info(context.Background(), &abci.RequestInfo{})
			if err != nil {
				return
			}
			logger.Info("caught up with the consortium", "by", how, "height", info.LastBlockHeight,
				"seconds", fmt.Sprintf("%.1f", time.Since(began).Seconds()))
			return
		}
	}
}
