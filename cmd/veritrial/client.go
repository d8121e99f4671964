package main

import (
	"context"
	"errors"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// ledgerClient connects to the node chosen by --node. With a --from key
// it signs every read as that account (the node answers no other): the
// key is unlocked at the first read (see signer).
func ledgerClient(c *cli.Context) (*client.Client, error) {
	addr, err := nodeAddr(c)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(addr)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if name := globalValue(c, flagFrom, envFrom); name != "" {
		cl.ReadAs(name, func() (types.Signer, error) {
			s, err := signer(c)
			if err != nil {
				return nil, err
			}
			return s, nil
		})
	}
	return cl, nil
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

// rpcTimeout bounds one RPC round trip of a query command.
const rpcTimeout = 15 * time.Second

// rpcClient returns a CometBFT RPC client for the node chosen by --node,
// and its address for messages.
func rpcClient(c *cli.Context) (*rpchttp.HTTP, string, error) {
	addr, err := nodeAddr(c)
	if err != nil {
		return nil, "", err
	}
	cl, err := client.DialRPC(addr)
	if err != nil {
		return nil, addr, usageErrorf("--node %q is not a usable RPC address: %v", addr, err)
	}
	return cl, addr, nil
}

// rpcContext returns a context bounded by rpcTimeout.
func rpcContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, rpcTimeout)
}

// rpcError turns an RPC failure into a sentence: nobody listening (or
// answering in time) at addr is exit 5 with the hint to start a node;
// anything else is a failure of the node.
func rpcError(addr string, err error) error {
	if err == nil {
		return nil
	}
	if err := client.NodeError(addr, err); errors.Is(err, client.ErrNoNode) {
		return unavailableErrorf("%v", err)
	}
	return failf("the node at %s answered with an error: %v", addr, err)
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
