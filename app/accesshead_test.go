package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// headMsg commits a head of node's access log.
func headMsg(node string, seq, entries int64, head string) types.Msg {
	return types.Msg{CommitAccessHead: &types.MsgCommitAccessHead{Node: node, Seq: seq, Head: head, Entries: entries}}
}

// TestAccessHeads: a node account commits its own organisation's nodes'
// heads, one after the other and each covering more entries; everything
// else is refused with its code, and the node account does nothing else.
func TestAccessHeads(t *testing.T) {
	g := apptest.DefaultGenesis()
	other := apptest.NodeID("regulator-observer")
	for i := range g.Orgs {
		if g.Orgs[i].ID == "regulator" {
			g.Orgs[i].NodeIDs = []string{other}
		}
	}
	c := apptest.NewWith(t, g)
	c.SetupStudy()
	node := apptest.NodeID("regulator")
	h := func(s string) string { return strings.Repeat(s, 64) }
	node2 := person("regulator-node2", "regulator", types.RoleNode)
	runSteps(t, c, []step{
		{name: "a person commits", signer: "regulator-admin", msg: headMsg(node, 1, 10, h("a")), want: types.CodeUnauthorized, atCheck: true, logHas: []string{"that needs the role node"}},
		{name: "malformed head hash", signer: "regulator-node", msg: headMsg(node, 1, 10, "abc"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "upper-case head hash", signer: "regulator-node", msg: headMsg(node, 1, 10, h("A")), want: types.CodeInvalidMsg, atCheck: true},
		{name: "malformed node ID", signer: "regulator-node", msg: headMsg("node-1", 1, 10, h("a")), want: types.CodeInvalidMsg, atCheck: true},
		{name: "sequence 0", signer: "regulator-node", msg: headMsg(node, 0, 10, h("a")), want: types.CodeInvalidMsg, atCheck: true},
		{name: "no entries", signer: "regulator-node", msg: headMsg(node, 1, 0, h("a")), want: types.CodeInvalidMsg, atCheck: true},
		{name: "another organisation's node", signer: "regulator-node", msg: headMsg(apptest.NodeID("site1"), 1, 10, h("a")), want: types.CodeNotOrgNode, logHas: []string{"is not a node of regulator"}},
		{name: "a node nobody declared", signer: "site1-node", msg: headMsg(apptest.NodeID("nowhere"), 1, 10, h("a")), want: types.CodeNotOrgNode},
		{name: "the first skips ahead", signer: "regulator-node", msg: headMsg(node, 2, 10, h("a")), want: types.CodeAccessHeadSeq, logHas: []string{"the last is 0, so the next is 1"}},
		{name: "first", signer: "regulator-node", msg: headMsg(node, 1, 10, h("a")), want: types.CodeOK},
		{name: "first again", signer: "regulator-node", msg: headMsg(node, 1, 20, h("b")), want: types.CodeAccessHeadSeq, logHas: []string{"is already on the ledger"}},
		{name: "fewer entries", signer: "regulator-node", msg: headMsg(node, 2, 9, h("b")), want: types.CodeAccessHeadBehind, logHas: []string{"covers 10 entries; a new head covers more, not 9"}},
		{name: "as many entries", signer: "regulator-node", msg: headMsg(node, 2, 10, h("b")), want: types.CodeAccessHeadBehind},
		{name: "skips one", signer: "regulator-node", msg: headMsg(node, 3, 30, h("b")), want: types.CodeAccessHeadSeq},
		{name: "second", signer: "regulator-node", msg: headMsg(node, 2, 25, h("b")), want: types.CodeOK},
		{name: "the organisation's other node", signer: "regulator-node", msg: headMsg(other, 1, 3, h("c")), want: types.CodeOK},
		{name: "the node account adds a person", signer: "regulator-node", msg: addMsg("x1", "X", pub("x1"), types.RoleAuditor), want: types.CodeUnauthorized, atCheck: true, logHas: []string{"regulator-node is a node account: it only commits its node's access log head"}},
		{name: "the node account rotates its own key", signer: "regulator-node", msg: rotateMsg("regulator-node", pub("x2")), want: types.CodeUnauthorized, atCheck: true},
		{name: "the node account becomes an administrator", signer: "regulator-admin", msg: rolesMsg("regulator-node", types.RoleAdmin), want: types.CodeInvalidRole},
		{name: "a person becomes a node account", signer: "regulator-admin", msg: rolesMsg("regulator-auditor", types.RoleNode), want: types.CodeInvalidRole},
		{name: "a node account with another role", signer: "regulator-admin", msg: addMsg(node2.ID, "Second node", node2.PubKey(), types.RoleNode, types.RoleAuditor), want: types.CodeInvalidRole},
		{name: "a second node account", signer: "regulator-admin", msg: addMsg(node2.ID, "Second node", node2.PubKey(), types.RoleNode), want: types.CodeOK},
	})
	c.AddPerson(node2)
	c.MustDo(node2.ID, headMsg(node, 3, 40, h("d")))

	heads := list(t, c, types.PrefixAccessHeadOf(node), 0, 0)
	if len(heads) != 3 {
		t.Fatalf("%d heads of %s, want 3", len(heads), node)
	}
	var first, last types.AccessHead
	json.Unmarshal(heads[0].Value, &first)
	json.Unmarshal(heads[2].Value, &last)
	if heads[0].Key != string(types.KeyAccessHead(node, 1)) || first.Seq != 1 || first.Entries != 10 || first.Head != h("a") || first.Node != node ||
		first.Stamp.Signer != "regulator-node" || first.Stamp.Role != types.RoleNode || first.Stamp.Org != "regulator" || first.Stamp.Height < 1 {
		t.Errorf("first head %s: %+v", heads[0].Key, first)
	}
	if last.Seq != 3 || last.Entries != 40 || last.Stamp.Signer != node2.ID {
		t.Errorf("last head: %+v", last)
	}
	got, err := c.App.LastAccessHead(node)
	if err != nil || got == nil || *got != last {
		t.Errorf("LastAccessHead: %+v %v, want %+v", got, err, last)
	}
	if got, err := c.App.LastAccessHead(apptest.NodeID("site1")); err != nil || got != nil {
		t.Errorf("LastAccessHead of a node without heads: %+v %v", got, err)
	}
}
