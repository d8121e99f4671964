package testnet

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cometbft/cometbft/privval"

	"github.com/veritrial/veritrial/app/types"
)

// TestGovernedValidatorChanges runs four real validators and changes
// the validator set by consortium vote, through the CLI: one validator's
// power, then another's key. The rotated node is restarted with its new
// key. Every node must report the new validator set, keep committing, and
// the new key must sign.
func TestGovernedValidatorChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four nodes; skipped under -short")
	}
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	for _, n := range c.nodes {
		c.start(n)
	}
	for _, n := range c.nodes {
		c.waitUp(n, 1, 60*time.Second)
	}
	site1, _ := c.m.Node("site-1")
	site2, _ := c.m.Node("site-2")

	// Power: site-1 from 10 to 7, on the votes of three of four.
	c.govTx("site-1", "consortium", "propose", "validator", "--from", "site-1-admin", "--org", "site-1", "--pubkey", site1.ValidatorPubKey, "--power", "7")
	applied := c.passProposal(1, "sponsor", "regulator", "site-2")
	c.waitValidators(applied, map[string]int64{site1.ValidatorPubKey: 7}, "")

	// Key: site-2 rotates to a key made on its machine; its node restarts
	// with it once the change is decided.
	dir := t.TempDir()
	pv := privval.GenFilePV(filepath.Join(dir, "key.json"), filepath.Join(dir, "state.json"))
	pv.Save()
	newKey := types.KeyText(pv.Key.PubKey.Bytes())
	out := c.govTx("site-2", "consortium", "propose", "validator", "--from", "site-2-admin", "--org", "site-2", "--pubkey", newKey, "--output", "json")
	var p struct {
		Proposal int    `json:"proposal"`
		Change   string `json:"change"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Proposal != 2 {
		t.Fatalf("rotation proposal: %v\n%s", err, out)
	}
	applied = c.passProposal(2, "sponsor", "site-1", "regulator")
	n2 := c.node("site-2")
	c.stop(n2)
	key, err := os.ReadFile(filepath.Join(dir, "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n2.home, "config", "priv_validator_key.json"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	c.start(n2)
	c.waitUp(n2, applied, 90*time.Second)
	h := c.waitValidators(applied, map[string]int64{site1.ValidatorPubKey: 7, newKey: 10}, site2.ValidatorPubKey)

	// The chain keeps committing, and the new key signs.
	c.waitAdvance(c.nodes, h, 8, 60*time.Second)
	addr := pv.Key.PubKey.Address()
	signed := false
	for height := h + 1; height <= h+8 && !signed; height++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cm, err := c.node("sponsor").cl.RPC().Commit(ctx, &height)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range cm.Commit.Signatures {
			signed = signed || s.ValidatorAddress.String() == addr.String() && len(s.Signature) > 0
		}
	}
	if !signed {
		t.Fatalf("the rotated key %s signed none of blocks %d to %d", newKey, h+1, h+8)
	}
	if err := invBlocksAgree(c.nodes, c.maxHeight()-1); err != nil {
		t.Fatal(err)
	}
}

// govTx runs a consortium command with the home of org and returns its
// output.
func (c *cluster) govTx(org string, args ...string) string {
	c.t.Helper()
	return c.mustVT(append([]string{"--home", c.node(org).home}, args...)...)
}

// passProposal votes yes on proposal n as the administrators of orgs and
// returns the height that applied it.
func (c *cluster) passProposal(n int, orgs ...string) int64 {
	c.t.Helper()
	var v struct {
		Status string `json:"status"`
		Height int64  `json:"height"`
	}
	for _, org := range orgs {
		out := c.govTx(org, "consortium", "vote", "--from", org+"-admin", "--proposal", strconv.Itoa(n), "--yes", "--output", "json")
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			c.t.Fatalf("vote: %v\n%s", err, out)
		}
	}
	if v.Status != string(types.ProposalPassed) {
		c.t.Fatalf("proposal %d after the votes of %v: %s", n, orgs, v.Status)
	}
	return v.Height
}

// waitValidators waits until every node reports, at a common height after
// applied+2 (when CometBFT applies a change decided at applied), a
// validator set holding the keys of want with those powers and not gone;
// it returns that height.
func (c *cluster) waitValidators(applied int64, want map[string]int64, gone string) int64 {
	c.t.Helper()
	c.waitAdvance(c.nodes, applied, 3, 60*time.Second)
	h := applied + 2
	for _, n := range c.nodes {
		var st struct {
			Validators []struct {
				PubKey string `json:"pubkey"`
				Power  int64  `json:"power"`
				Org    string `json:"org"`
			} `json:"validators"`
		}
		out := c.mustVT("--home", n.home, "status", "--from", n.org+"-admin", "--output", "json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			c.t.Fatal(err)
		}
		got := map[string]int64{}
		for _, v := range st.Validators {
			got[v.PubKey] = v.Power
			if v.Org == "" {
				c.t.Errorf("node %s: validator %s has no organisation", n.org, v.PubKey)
			}
		}
		for k, p := range want {
			if got[k] != p {
				c.t.Fatalf("node %s: validator %s has power %d, want %d (set %v)", n.org, k, got[k], p, got)
			}
		}
		if _, ok := got[gone]; ok || len(got) != 4 {
			c.t.Fatalf("node %s: validator set %v (%s should be gone)", n.org, got, gone)
		}
	}
	return h
}
