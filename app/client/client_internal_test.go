package client

import (
	"strings"
	"testing"
)

// TestNotInBlock: a tx still not in a block after the wait is looked up at
// the node's RPC address, with its hash; no command that does not exist
// is suggested.
func TestNotInBlock(t *testing.T) {
	for addr, url := range map[string]string{
		"tcp://127.0.0.1:26657":    "http://127.0.0.1:26657/tx?hash=0xAB12",
		"https://node.example:443": "https://node.example:443/tx?hash=0xAB12",
	} {
		c, err := New(addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := c.notInBlock("AB12").Error()
		if !strings.Contains(msg, "look it up later at "+url) || strings.Contains(msg, "veritrial show tx") {
			t.Errorf("%s: %q", addr, msg)
		}
	}
}
