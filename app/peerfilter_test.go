package app_test

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// admits asks the app's peer filter about path, as CometBFT does with
// filter_peers on, and reports whether it lets the peer in.
func admits(t *testing.T, c *apptest.Chain, path string) bool {
	t.Helper()
	res, err := c.App.Query(context.Background(), &abci.RequestQuery{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 && res.Log == "" {
		t.Errorf("%s refused without a reason", path)
	}
	return res.Code == 0
}

func nodePath(id string) string { return "/p2p/filter/id/" + id }

// TestPeerFilter: CometBFT's peer filter lets in the nodes of active
// organisations as the ledger holds them (the genesis state before the
// first block) and no other; addresses are all let in; a node with no
// ledger state yet (about to state sync) lets every peer in.
func TestPeerFilter(t *testing.T) {
	empty := apptest.Open(t, t.TempDir())
	if !admits(t, empty, nodePath(apptest.NodeID("stranger"))) {
		t.Error("a node with no state refuses a peer it needs to state sync")
	}

	c := apptest.New(t) // InitChain done, no block committed yet
	for _, tc := range []struct {
		name, path string
		want       bool
	}{
		{"a validator's node at genesis", nodePath(apptest.NodeID("site1")), true},
		{"a stranger at genesis", nodePath(apptest.NodeID("stranger")), false},
		{"any address", "/p2p/filter/addr/203.0.113.7:26656", true},
		{"an IPv6 address", "/p2p/filter/addr/[2001:db8::1]:26656", true},
		{"not a node ID", nodePath("site1"), false},
		{"an upper-case node ID", nodePath("ABCDEF0123456789ABCDEF0123456789ABCDEF01"), false},
		{"an unknown filter", "/p2p/filter/pubkey/x", false},
	} {
		if got := admits(t, c, tc.path); got != tc.want {
			t.Errorf("%s: admitted %v, want %v", tc.name, got, tc.want)
		}
	}

	c.SetupStudy()
	full := apptest.NodeID("sponsor-full")
	for _, tc := range []struct {
		name   string
		change types.Change
		voters []string
		node   string
		want   bool
	}{
		{"a full node declared", types.Change{Nodes: &types.NodesChange{Org: "sponsor", NodeIDs: []string{full}}}, []string{"sponsor", "site1", "cro", "regulator"}, full, true},
		{"its organisation suspended", suspend("sponsor"), []string{"site1", "cro", "regulator", "site2"}, full, false},
		{"a suspended organisation's validator", types.Change{}, nil, apptest.NodeID("sponsor"), false},
		{"reinstated", reinstate("sponsor"), []string{"site1", "cro", "regulator"}, full, true},
		{"the full node withdrawn", types.Change{Nodes: &types.NodesChange{Org: "sponsor", NodeIDs: []string{}}}, []string{"sponsor", "site1", "cro", "regulator"}, full, false},
		{"a validator retired", powerChange("site2", apptest.ValidatorKey("site2"), 0), []string{"sponsor", "site1", "cro", "regulator"}, apptest.NodeID("site2"), false},
		{"another validator in service", types.Change{}, nil, apptest.NodeID("cro"), true},
	} {
		if tc.voters != nil {
			votes(t, c, proposeOK(t, c, "site1-admin", tc.change), tc.voters...)
		}
		if got := admits(t, c, nodePath(tc.node)); got != tc.want {
			t.Errorf("%s: node admitted %v, want %v", tc.name, got, tc.want)
		}
	}
}
