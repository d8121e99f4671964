package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/audit"
)

func init() { registerCommand(auditCommand) }

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:     "audit",
		Usage:    "verify the chain, the audit trail, integrity signals and replays, trusting nothing but the genesis",
		Category: categoryQuery,
		Description: `Regulator tools. verify-chain checks every header from the genesis validators
(or a trusted header) with CometBFT's light client and keeps the verified
headers in a trust dir; trail, report and replay rebuild and check the
history. See docs/AUDIT.md for the trust model.`,
		Subcommands: []*cli.Command{
			{
				Name:  "verify-chain",
				Usage: "verify every header from genesis to the latest with the light client",
				UsageText: `veritrial audit verify-chain --genesis genesis.json --node tcp://host:26657 [--witness URL ...] [--trust-dir DIR]
   veritrial audit verify-chain --trusted-height 1000 --trusted-hash 0AF3... --chain-id C --node URL`,
				Description: `The trust root is the genesis validator set: block 1's commit must carry
+2/3 of the genesis validators' signatures for the chain ID (or the header at
--trusted-height must have --trusted-hash). From there each header is verified
against the validator set its predecessor committed to, cross-checked with
every --witness, and stored under --trust-dir (default <home>/audit/<chain-id>),
so a later run continues from the last verified header. Exit 1 names the first
height that fails and why.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "genesis", Usage: "the consortium's genesis `FILE` (trust root: its validators)", TakesFile: true},
					&cli.StringSliceFlag{Name: "witness", Usage: "RPC `URL` of another node to cross-check every header with (repeatable)"},
					&cli.StringFlag{Name: "trust-dir", Usage: "where verified headers are kept", DefaultText: "<home>/audit/<chain-id>"},
					&cli.Int64Flag{Name: "trusted-height", Usage: "trust root instead of the genesis: a header `HEIGHT` obtained out of band"},
					&cli.StringFlag{Name: "trusted-hash", Usage: "the header `HASH` (hex) at --trusted-height"},
					&cli.StringFlag{Name: "chain-id", Usage: "chain ID (with --trusted-height and no --genesis)"},
					&cli.Int64Flag{Name: "to", Usage: "stop at `HEIGHT` (default: the latest)"},
					&cli.DurationFlag{Name: "trusting-period", Value: audit.DefaultTrustingPeriod, Usage: "how old a trusted header may be (permissioned consortium: long)"},
				},
				Action: auditVerifyChain,
			},
		},
	}
}

// auditGenesisFlag reads --genesis when given.
func auditGenesisFlag(c *cli.Context) (*cmttypes.GenesisDoc, error) {
	path := c.String("genesis")
	if path == "" {
		return nil, nil
	}
	if err := checkReadable(path, "genesis"); err != nil {
		return nil, err
	}
	g, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		return nil, inputErrorf("%s is not a usable genesis file: %v", path, err)
	}
	return g, nil
}

func auditVerifyChain(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	g, err := auditGenesisFlag(c)
	if err != nil {
		return err
	}
	o := audit.ChainOptions{Genesis: g, ChainID: c.String("chain-id"), TrustedHeight: c.Int64("trusted-height"), To: c.Int64("to"), TrustingPeriod: c.Duration("trusting-period")}
	if c.IsSet("trusted-hash") || o.TrustedHeight != 0 {
		if o.TrustedHeight <= 0 || !c.IsSet("trusted-hash") {
			return usageErrorf("--trusted-height and --trusted-hash go together")
		}
		if o.TrustedHash, err = audit.ParseHash(c.String("trusted-hash")); err != nil {
			return usageErrorf("--trusted-hash: %v", err)
		}
	} else if g == nil {
		return usageErrorf("no trust root: pass --genesis FILE (or --trusted-height and --trusted-hash)")
	}
	if g == nil && o.ChainID == "" {
		return usageErrorf("--chain-id is needed with --trusted-height when no --genesis is given")
	}
	if g != nil {
		o.ChainID = g.ChainID
	}
	if o.Primary, err = nodeAddr(c); err != nil {
		return err
	}
	for _, w := range c.StringSlice("witness") {
		a, err := normalizeNodeAddr(w)
		if err != nil {
			return err
		}
		o.Witnesses = append(o.Witnesses, a)
	}
	if o.TrustDir = c.String("trust-dir"); o.TrustDir == "" {
		home, err := homeDir(c)
		if err != nil {
			return err
		}
		o.TrustDir = audit.DefaultTrustDir(home, o.ChainID)
	}
	if !isJSON(c) {
		step := int64(0)
		o.Progress = func(h, target int64) {
			if h-step >= 1000 || h == target {
				step = h
				fmt.Fprintf(stderr(c), "\rverified %d / %d", h, target)
				if h == target {
					fmt.Fprintln(stderr(c))
				}
			}
		}
	}
	rep, err := audit.VerifyChain(c.Context, o)
	if err != nil {
		if errors.Is(err, audit.ErrWrongGenesis) {
			return failf("%v", err)
		}
		if isUnreachable(err) {
			return unavailableErrorf("no veritrial node answers at %s: %v", o.Primary, err)
		}
		return failf("%v", err)
	}
	if err := emit(c, rep, func(w io.Writer) error { return auditWriteChain(w, rep) }); err != nil {
		return err
	}
	if !rep.OK() {
		return failf("verification failed at height %d: %s", rep.Failure.Height, rep.Failure.Reason)
	}
	return nil
}

func auditWriteChain(w io.Writer, r *audit.ChainReport) error {
	fmt.Fprintf(w, "Chain %s, trust root: %s (height %d, header %s)\n", r.ChainID, r.TrustRoot, r.TrustedHeight, r.TrustedHash)
	if r.To > 0 {
		fmt.Fprintf(w, "Verified headers %d to %d (node at %d); %d verified now in %.1f s (%.0f headers/s)", r.From, r.To, r.Latest, r.VerifiedNow, r.Seconds, r.HeadersPerSecond)
		if r.Resumed {
			fmt.Fprint(w, ", continuing a previous run")
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Latest verified header %s, app hash %s\n", r.LatestHash, r.LatestAppHash)
	}
	if r.CrossChecked {
		fmt.Fprintf(w, "Cross-checked with witnesses: %s\n", strings.Join(r.Witnesses, ", "))
	} else {
		fmt.Fprintln(w, "No witness given: headers were not cross-checked with another node")
	}
	fmt.Fprintln(w, "Validator set history:")
	t := newTable(w)
	fmt.Fprintln(t, "  FROM HEIGHT\tSET HASH\tADDRESS\tPOWER")
	for _, ch := range r.ValidatorHistory {
		for i, v := range ch.Validators {
			h, hash := fmt.Sprint(ch.Height), ch.Hash
			if i > 0 {
				h, hash = "", ""
			}
			fmt.Fprintf(t, "  %s\t%s\t%s\t%d\n", h, hash, v.Address, v.Power)
		}
	}
	t.Flush()
	fmt.Fprintf(w, "Trust dir: %s\n", r.TrustDir)
	if r.Failure != nil {
		fmt.Fprintf(w, "FAILED at height %d: %s\n", r.Failure.Height, r.Failure.Reason)
	} else {
		fmt.Fprintln(w, "OK: every header verified")
	}
	return nil
}
