package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// rpcTimeout bounds one RPC round trip, in seconds.
const rpcTimeout = 30

// ErrNoNode means nothing answers at the node address.
var ErrNoNode = errors.New("no veritrial node answers")

// DialRPC returns a CometBFT RPC client of the node at addr
// ("tcp://host:port", "http(s)://host:port" or "host:port"). It does not
// contact the node.
func DialRPC(addr string) (*rpchttp.HTTP, error) {
	rpc, err := rpchttp.NewWithTimeout(httpAddr(addr), "/websocket", rpcTimeout)
	if err != nil {
		return nil, fmt.Errorf("node address %q: %w", addr, err)
	}
	return rpc, nil
}

// httpAddr turns tcp://host:port and host:port into http://host:port.
func httpAddr(a string) string {
	if strings.HasPrefix(a, "tcp://") {
		return "http://" + strings.TrimPrefix(a, "tcp://")
	}
	if !strings.Contains(a, "://") {
		return "http://" + a
	}
	return a
}

// NodeError returns err, or ErrNoNode naming addr when err means that
// nothing answers there (Unreachable).
func NodeError(addr string, err error) error {
	if err == nil || errors.Is(err, ErrNoNode) || !Unreachable(err) {
		return err
	}
	return fmt.Errorf("%w at %s: start one with veritrial start (or pass --node)", ErrNoNode, addr)
}

// Unreachable reports whether err means nothing answers (or answers in
// time) at a node's address: refused, reset or timed-out connections,
// unknown hosts, a closed stream.
func Unreachable(err error) bool {
	if errors.Is(err, ErrNoNode) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
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
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") || strings.Contains(s, "dial tcp") ||
		strings.Contains(s, "i/o timeout") || errors.Is(err, io.EOF)
}
