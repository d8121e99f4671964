package session

import (
	"bytes"
	"strings"
	"testing"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// TestHeaderAppHash: the app hash is taken from a light block's header
// only when the header is of the chain and the block asked for.
func TestHeaderAppHash(t *testing.T) {
	root := bytes.Repeat([]byte{0xab}, 32)
	block := func(chain string, height int64) []byte {
		lb := cmtproto.LightBlock{SignedHeader: &cmtproto.SignedHeader{
			Header: &cmtproto.Header{ChainID: chain, Height: height, AppHash: root, DataHash: []byte{1, 2}},
			Commit: &cmtproto.Commit{Height: height}}}
		b, err := lb.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got, err := headerAppHash(block("vt-dev", 7), "vt-dev", 7)
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("app hash %x, %v", got, err)
	}
	for _, c := range []struct {
		name  string
		block []byte
		want  string
	}{
		{"another chain", block("other", 7), `of chain "other"`},
		{"another height", block("vt-dev", 8), "header of block 8 for block 7"},
		{"not protobuf", []byte{0x0a, 0x7f, 0x01}, "not valid protobuf"},
		{"no header", nil, "no field 1"},
	} {
		if _, err := headerAppHash(c.block, "vt-dev", 7); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
