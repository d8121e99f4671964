package main

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/testnet"
)

func testnetCommand() *cli.Command {
	return &cli.Command{
		Name:      "testnet",
		Category:  categoryNode,
		Usage:     "lay out a development consortium on one machine: one validator home per organisation",
		UsageText: `veritrial testnet init --orgs ORG,ORG,... --out DIR [--kinds ORG=KIND,...] [--hosts H,H,...] [--chain-id ID] [--base-port N] [--timeout-propose D] [--timeout-commit D] [--empty-blocks-interval D]`,
		Subcommands: []*cli.Command{{
			Name:  "init",
			Usage: "generate the homes, shared genesis and peer lists of a development consortium (every key on this machine)",
			UsageText: `veritrial testnet init --orgs ORG,ORG,... --out DIR [--kinds ORG=KIND,...] [--hosts H,H,...] [--chain-id ID] [--base-port N] [--timeout-propose D] [--timeout-commit D] [--empty-blocks-interval D]

Example:
   veritrial testnet init --orgs sponsor,site-1,site-2,regulator --out ./consortium
   veritrial testnet init --orgs acme,clinic-a,clinic-b,agency --kinds acme=sponsor,clinic-a=site,clinic-b=site,agency=regulator \
       --hosts 10.0.0.11,10.0.0.12,10.0.0.13,10.0.0.14 --chain-id vt-htn-201 --out ./consortium`,
			Description: `For development and tests: this machine makes every organisation's keys, so
whoever runs it can sign as any validator and any person. A real consortium is
formed with veritrial consortium new, join, assemble and install, each
organisation making its own keys on its own machine (docs/CONSORTIUM.md).

Creates DIR/<org> for every organisation: a node home with its validator key,
node key, config.toml (persistent peers: every other node) and the shared
genesis.json (every organisation, its validator with equal voting power, and
its people's accounts), plus a keyring with that organisation's keys:
   sponsor:   <org>-admin, <org>-dm (data manager)
   site:      <org>-admin, <org>-investigator, <org>-coordinator
   cro:       <org>-admin, <org>-monitor
   regulator: <org>-admin, <org>-auditor
   ethics:    <org>-admin, <org>-reviewer
and its node account <org>-node (role node), which commits the node's access
log head to the ledger, its key in config/node_account.json without a
passphrase. DIR/manifest.json and DIR/README.md list the nodes, their addresses and keys.

An organisation's kind is taken from the start of its name (sponsor, site, cro,
regulator, ethics) unless --kinds gives it. Without --hosts every node runs on
127.0.0.1: node i listens for peers on base-port+10*i, for RPC on the next port
and serves its read API (config/veritrial.toml) on the one after. With --hosts
(one per organisation, in order) each node listens for peers on every interface
at base-port, for RPC on 127.0.0.1 at base-port+1 and serves its read API on
127.0.0.1 at base-port+2 (give it a certificate to serve other machines: see
docs/API.md), to try the homes on several machines. Every key's passphrase is
the dev passphrase "` + node.DevPassphrase + `"; a new passphrase (keys export/import) re-encrypts the same key,
which this machine has seen: these homes are never for real trial data.`,
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "orgs", Usage: "organisation IDs, one validator each, comma-separated"},
				&cli.StringFlag{Name: "out", Usage: "directory to create (must not exist or be empty)"},
				&cli.StringSliceFlag{Name: "kinds", Usage: "ORG=KIND pairs (sponsor, site, cro, regulator, ethics) for names that do not start with a kind"},
				&cli.StringSliceFlag{Name: "hosts", Usage: "one host or IP per organisation, in --orgs order (default: all on 127.0.0.1)"},
				&cli.StringFlag{Name: "chain-id", Value: testnet.DefaultChainID, Usage: "chain ID of the consortium"},
				&cli.IntFlag{Name: "base-port", Value: testnet.DefaultBasePort, Usage: "first p2p port; RPC is the next one, the read API the one after"},
				&cli.DurationFlag{Name: "timeout-propose", Value: node.DefaultTiming.Propose, Usage: "how long a validator waits for a round's proposal block (CometBFT timeout_propose)"},
				&cli.DurationFlag{Name: "timeout-commit", Value: node.DefaultTiming.Commit, Usage: "pause after each block (CometBFT timeout_commit)"},
				&cli.DurationFlag{Name: "empty-blocks-interval", Value: node.DefaultTiming.EmptyBlocksInterval, Usage: "longest wait for a tx before an empty block is made"},
			},
			Action: runTestnetInit,
		}},
	}
}

func runTestnetInit(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	if len(splitList(c.StringSlice("orgs"))) == 0 || c.String("out") == "" {
		return usageErrorf("--orgs and --out are required, e.g. veritrial testnet init --orgs sponsor,site-1,site-2,regulator --out ./consortium")
	}
	kinds, err := testnet.ParseKinds(c.StringSlice("kinds"))
	if err != nil {
		return usageErrorf("--kinds: %v", err)
	}
	o := testnet.Options{
		Orgs:     splitList(c.StringSlice("orgs")),
		Kinds:    kinds,
		Hosts:    splitList(c.StringSlice("hosts")),
		ChainID:  c.String("chain-id"),
		BasePort: c.Int("base-port"),
		Timing:   node.Timing{Propose: c.Duration("timeout-propose"), Commit: c.Duration("timeout-commit"), EmptyBlocksInterval: c.Duration("empty-blocks-interval")},
	}
	if err := o.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	out, err := filepath.Abs(c.String("out"))
	if err != nil {
		return usageErrorf("--out %q: %v", c.String("out"), err)
	}
	if _, err := checkHomeFree(out, false); err != nil {
		return err
	}
	m, err := testnet.Generate(out, o)
	if err != nil {
		return failf("%v", pathError(err))
	}
	return emit(c, m, func(w io.Writer) error {
		printf(w, "%s\n\nCreated consortium %s in %s (genesis SHA-256 %s)\n\n", m.Notice, m.ChainID, out, m.GenesisSHA256)
		t := indented(w, "  ")
		t.row("ORG", "KIND", "P2P", "RPC", "READ API", "KEYS")
		for _, n := range m.Nodes {
			var keys []string
			for _, k := range n.Keys {
				keys = append(keys, k.Name)
			}
			t.row(n.Org, string(n.Kind), n.P2P, n.RPC, n.API, strings.Join(keys, ","))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if m.DevPassphrase != "" {
			printf(w, "\nEvery key's passphrase is %q (never use these homes for real data as they are).\n", m.DevPassphrase)
		}
		printf(w, "Start a node with:  veritrial --home %s start\n", filepath.Join(out, m.Nodes[0].Home))
		return nil
	})
}

// splitList flattens comma-separated flag values, dropping blanks.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
