package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/veritrial/veritrial/app/client"
)

// TestStartIndexesBlocksTheIndexMissed: a node whose tx index lost blocks
// it had committed (CometBFT stops feeding its indexer before consensus on
// shutdown, and a killed node loses its last ones) indexes them from the
// stored blocks when it starts, so every committed tx is found by its hash.
func TestStartIndexesBlocksTheIndexMissed(t *testing.T) {
	t.Parallel()
	_, home, env, n := devNode(t)
	var res struct {
		Hash   string `json:"tx_hash"`
		Height int64  `json:"height"`
	}
	decode(t, mustVT(t, env, "account", "set-roles", "--from", "site1-admin", "--account", "site1-coordinator",
		"--role", "coordinator,investigator", "-o", "json"), &res)
	if res.Hash == "" || res.Height == 0 {
		t.Fatalf("set-roles result: %+v", res)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
	// The index as a node that missed every block would have it.
	if err := os.RemoveAll(filepath.Join(home, "data", "tx_index.db")); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, env, home)
	st := waitHeight(t, env, home, res.Height+1, n)

	rpc, err := client.DialRPC(st.Node)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := hex.DecodeString(res.Hash)
	tx, err := rpc.Tx(context.Background(), hash, false)
	if err != nil {
		t.Fatalf("committed tx %s not found by hash after the restart: %v\nnode log:\n%s", res.Hash, err, n.stderr)
	}
	if tx.Height != res.Height || tx.TxResult.Code != 0 {
		t.Fatalf("tx found at height %d code %d, want height %d code 0", tx.Height, tx.TxResult.Code, res.Height)
	}
	// The block index answers too (block_search by height).
	blocks, err := rpc.BlockSearch(context.Background(), "block.height = 1", nil, nil, "asc")
	if err != nil || blocks.TotalCount != 1 {
		out, _ := json.Marshal(blocks)
		t.Fatalf("block search after the restart: %v %s", err, out)
	}
	if code := n.stop(t); code != 0 {
		t.Fatalf("node stopped with exit code %d", code)
	}
}
