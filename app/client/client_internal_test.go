package client

import (
	"strings"
	"testing"
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
