// Command kvnode runs CometBFT v0.38 with its built-in kvstore example
// application (persistent, goleveldb) on a node home made by veritrial init
// or veritrial testnet init: the same config.toml, keys and genesis as a
// veritrial node, so that loadgen measures the engine's ceiling under the
// same settings. The veritrial app_state in the genesis is ignored.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"

	vtnode "github.com/veritrial/veritrial/app/node"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kvnode:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kvnode", flag.ContinueOnError)
	home := fs.String("home", "", "node home (config/config.toml, keys, genesis)")
	level := fs.String("log-level", "", "log level, overriding config.toml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *home == "" {
		return errors.New("--home is required")
	}
	conf, err := vtnode.LoadConfig(*home)
	if err != nil {
		return err
	}
	if *level == "" {
		*level = conf.LogLevel
	}
	logger, err := cmtflags.ParseLogLevel(*level, cmtlog.NewTMLogger(cmtlog.NewSyncWriter(os.Stderr)), cmtcfg.DefaultLogLevel)
	if err != nil {
		return err
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	if _, err := os.Stat(conf.PrivValidatorKeyFile()); err != nil {
		return fmt.Errorf("validator key: %w", err)
	}
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	app := kvstore.NewPersistentApplication(filepath.Join(*home, "data", "kvstore"))
	defer app.Close()
	n, err := node.NewNode(conf, pv, nodeKey, proxy.NewLocalClientCreator(app),
		node.DefaultGenesisDocProviderFunc(conf), cmtcfg.DefaultDBProvider,
		node.DefaultMetricsProvider(conf.Instrumentation), logger)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-n.Quit():
	}
	if n.IsRunning() {
		if err := n.Stop(); err != nil {
			return err
		}
	}
	n.Wait()
	return nil
}
