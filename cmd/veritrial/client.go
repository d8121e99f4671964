package main

import (
	"context"
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

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
