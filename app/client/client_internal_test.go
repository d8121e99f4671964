package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotInBlock: a tx still not in a block after the wait is looked up at
// the node's RPC address, with its hash, or through the read API's tx
// status; no command that does not exist is suggested.
func TestNotInBlock(t *testing.T) {
	for addr, where := range map[string]string{
		"tcp://127.0.0.1:26657":    "look it up later at http://127.0.0.1:26657/tx?hash=0xAB12",
		"127.0.0.1:26657":          "look it up later at http://127.0.0.1:26657/tx?hash=0xAB12",
		"https://node.example:443": "look it up later through the read API (POST https://node.example:443/v1/tx/status, signed by the tx's signer)",
	} {
		c, err := New(addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := c.notInBlock("AB12").Error()
		if !strings.Contains(msg, where) || strings.Contains(msg, "veritrial show tx") {
			t.Errorf("%s: %q", addr, msg)
		}
	}
}

// TestStalled: a status says the chain stalled only when its latest block
// is older than ten times the longest interval between blocks, and at
// least a minute; never while catching up or when the interval is
// unknown.
func TestStalled(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		age      time.Duration
		interval int64
		catching bool
		want     time.Duration
	}{
		{"fresh", 3 * time.Second, 5000, false, 0},
		{"under ten intervals", 49 * time.Second, 5000, false, 0},
		{"under a minute", 55 * time.Second, 1000, false, 0},
		{"stalled", 90 * time.Second, 5000, false, 90 * time.Second},
		{"long interval", 90 * time.Second, 30000, false, 0},
		{"catching up", time.Hour, 5000, true, 0},
		{"interval unknown", time.Hour, 0, false, 0},
	} {
		s := &NodeStatus{LatestBlockTime: now.Add(-c.age), MaxBlockIntervalMS: c.interval, CatchingUp: c.catching}
		if got := s.Stalled(now); got != c.want {
			t.Errorf("%s: Stalled = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAnswerLost: a submission is repeated only when its answer may have
// been lost after it reached the node, never when nothing reached it or
// the node answered.
func TestAnswerLost(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{&url.Error{Op: "Post", URL: "http://n", Err: syscall.ECONNRESET}, true},
		{context.DeadlineExceeded, true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{&url.Error{Op: "Post", URL: "http://n", Err: syscall.ECONNREFUSED}, false},
		{&APIError{Code: 900}, false},
		{context.Canceled, false},
		{errors.New("the body is not JSON"), false},
	} {
		if got := answerLost(c.err); got != c.want {
			t.Errorf("answerLost(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
