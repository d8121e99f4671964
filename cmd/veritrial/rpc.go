package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/urfave/cli/v2"
)

// rpcTimeout bounds one RPC round trip of a query command.
const rpcTimeout = 15 * time.Second

// rpcClient returns a CometBFT RPC client for the node chosen by --node,
// and its address for messages.
func rpcClient(c *cli.Context) (*rpchttp.HTTP, string, error) {
	addr, err := nodeAddr(c)
	if err != nil {
		return nil, "", err
	}
	cl, err := rpchttp.New(addr, "/websocket")
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
	if isUnreachable(err) {
		return unavailableErrorf("no veritrial node answers at %s: start one with veritrial start (or pass --node)", addr)
	}
	return failf("the node at %s answered with an error: %v", addr, err)
}

// isUnreachable reports whether err means nothing answers at the address.
func isUnreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ENOENT) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) && (urlErr.Timeout() || strings.Contains(urlErr.Err.Error(), "connection refused")) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") ||
		strings.Contains(s, "i/o timeout") || errors.Is(err, io.EOF)
}
