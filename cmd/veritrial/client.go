package main

import (
	"context"
	"errors"
	"io/fs"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/types"
)

// flagReader is the reader of a query command: at --height, and with
// --prove every read checked against headers verified from the genesis.
func flagReader(c *cli.Context, cl *client.Client) (*client.Reader, error) {
	prove := c.Bool("prove")
	if prove {
		if err := verifiedHeaders(c, cl); err != nil {
			return nil, err
		}
	}
	return cl.Reader(c.Int64("height"), prove), nil
}

// verifiedHeaders makes cl check proofs and an export's provenance against
// headers CometBFT's light client verified from the home's genesis
// validators, never against a header the node read from hands over; the
// verified headers are kept in the home's trust store
// (lightroot.DefaultTrustDir), so each run verifies only the headers since
// the last; the trust store is let go when the run ends.
func verifiedHeaders(c *cli.Context, cl *client.Client) error {
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	g, err := cmttypes.GenesisDocFromFile(conf.GenesisFile())
	if errors.Is(err, fs.ErrNotExist) {
		return usageErrorf("proofs are checked against headers verified from the consortium's genesis, and %s holds none: copy the consortium's genesis.json there (compare its SHA-256 with the manifest's)", conf.GenesisFile())
	}
	if err != nil {
		return inputErrorf("cannot use the genesis %s: %v", conf.GenesisFile(), err)
	}
	p, err := cl.LightProvider(c.Context)
	if err != nil {
		return nodeError(client.NodeError(cl.Addr(), err))
	}
	v, err := lightroot.Open(c.Context, lightroot.Options{Genesis: g, TrustDir: lightroot.DefaultTrustDir(home, g.ChainID), Primary: p})
	if err != nil {
		if isLockError(err) {
			return failf("the trust store %s is in use by another veritrial command: try again when it ends", lightroot.DefaultTrustDir(home, g.ChainID))
		}
		return failf("the node's headers do not verify from the genesis in %s: %s", conf.GenesisFile(), lightroot.Explain(err))
	}
	cl.VerifyWith(v)
	stateOf(c.App).atEnd(func() { v.Close() })
	return nil
}

// ledgerClient connects to the node chosen by --node, checking that it
// answers (with its chain ID); its reads are signed by the --from key, as
// the node answers no other (readAs).
func ledgerClient(c *cli.Context) (*client.Client, error) {
	cl, err := nodeClient(c)
	if err != nil {
		return nil, err
	}
	if globalValue(c, flagFrom, envFrom) == "" {
		return nil, errNoReader
	}
	ctx, cancel := rpcContext(c)
	defer cancel()
	if _, err := cl.ChainID(ctx); err != nil {
		return nil, nodeError(err)
	}
	readAs(c, cl)
	return cl, nil
}

// nodeClient returns a client of the node chosen by --node, which signs
// no reads yet; it does not contact the node.
func nodeClient(c *cli.Context) (*client.Client, error) {
	addr, err := nodeAddr(c)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(addr)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return cl, nil
}

// errNoReader says that a read needs --from.
var errNoReader = usageErrorf("no key chosen to read with: the node answers only reads signed by the reader's key, so pass --from NAME (veritrial keys list shows the names)")

// readAs has cl sign its reads with the --from key, unlocked (signer) at
// the first read.
func readAs(c *cli.Context, cl *client.Client) {
	cl.ReadAs(globalValue(c, flagFrom, envFrom), func() (types.Signer, error) { return signer(c) })
}

// readDialer returns a dialer of node addresses whose clients sign their
// reads with the --from key (readAs).
func readDialer(c *cli.Context) (func(addr string) (*client.Client, error), error) {
	if globalValue(c, flagFrom, envFrom) == "" {
		return nil, errNoReader
	}
	return func(addr string) (*client.Client, error) {
		cl, err := client.New(addr)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		readAs(c, cl)
		return cl, nil
	}, nil
}

// nodeError maps a client error to the CLI's exit codes; a key that
// could not be unlocked to sign a read keeps its own.
func nodeError(err error) error {
	var ce *cliError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, client.ErrNoNode):
		return unavailableErrorf("%v", err)
	}
	return failf("%v", err)
}

// rpcTimeout bounds one round trip of a query command.
const rpcTimeout = 15 * time.Second

// rpcContext returns a context bounded by rpcTimeout.
func rpcContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, rpcTimeout)
}

// signerOrg looks up the organisation of the --from account on the ledger.
func signerOrg(c *cli.Context) (string, error) {
	account, err := fromKey(c)
	if err != nil {
		return "", err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return "", err
	}
	a, err := cl.Reader(0, false).Account(context.Background(), account)
	if err != nil {
		return "", nodeError(err)
	}
	return a.Org, nil
}
