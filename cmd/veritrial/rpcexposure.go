package main

import (
	"fmt"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/veritrial/veritrial/app/node"
)

// rpcExposure is what a person reaching the RPC from another machine gets:
// CometBFT's RPC serves blocks, transactions and the mempool as they are,
// and the trial's data is in the transactions.
const rpcExposure = "every block, transaction and mempool entry in clear (all the trial's data), the genesis and the peers' addresses, and it can submit transactions"

// checkRPCExposure refuses a config whose RPC servers listen beyond this
// machine unless expose is set; with expose it logs a warning naming
// them and what they serve.
func checkRPCExposure(conf *cmtcfg.Config, expose bool, logger cmtlog.Logger) error {
	exposed := node.ExposedRPC(conf)
	if len(exposed) == 0 {
		return nil
	}
	var names []string
	for _, l := range exposed {
		names = append(names, fmt.Sprintf("%s = %q", l.Key, l.Addr))
	}
	if !expose {
		return usageErrorf("%s in %s listens beyond this machine: whoever reaches it reads %s. Set it to a 127.0.0.1 address (people read through their own organisation's node), or start with --expose-rpc if the port is firewalled to trusted machines",
			strings.Join(names, ", "), node.ConfigFile(conf.RootDir), rpcExposure)
	}
	logger.Error("WARNING: --expose-rpc: the RPC listens beyond this machine; whoever reaches it reads "+rpcExposure+"; allow only trusted machines through the firewall",
		"listen", strings.Join(names, ", "))
	return nil
}
