package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
)

// Access log heads. A node account commits its node's access log head:
// the log's entry count and the hash of its last entry, numbered per node
// from 1. The ledger keeps every commitment; a new one follows the last
// and covers more entries, so a node that lost or cut entries of its log
// cannot commit a shorter head. Whether the log still matches the heads
// is for anyone to check (veritrial access-log verify): the ledger never
// sees the entries.

func (x *exec) commitAccessHead(m *types.MsgCommitAccessHead) *types.Error {
	if !slices.Contains(x.c.org.NodeIDsInUse(), m.Node) {
		return types.Errf(types.CodeNotOrgNode, "node %s is not a node of %s (a validator's node in service or a declared node); a node account commits the heads of its own organisation's nodes", m.Node, x.c.org.ID)
	}
	last, err := lastAccessHead(x.tree, m.Node)
	if err != nil {
		return internal(err)
	}
	if last == nil {
		last = &types.AccessHead{}
	}
	switch next := last.Seq + 1; {
	case m.Seq < next:
		return types.Errf(types.CodeAccessHeadSeq, "commitment %d of node %s's access log head is already on the ledger; the last is %d, so the next is %d", m.Seq, m.Node, last.Seq, next)
	case m.Seq > next:
		return types.Errf(types.CodeAccessHeadSeq, "commitment %d of node %s's access log head skips ahead: the last is %d, so the next is %d", m.Seq, m.Node, last.Seq, next)
	}
	if m.Entries <= last.Entries {
		return types.Errf(types.CodeAccessHeadBehind, "the last head of node %s's access log (commitment %d, height %d) covers %d entries; a new head covers more, not %d (a log with fewer entries was truncated or replaced)", m.Node, last.Seq, last.Stamp.Height, last.Entries, m.Entries)
	}
	x.st.setJSON(types.KeyAccessHead(m.Node, m.Seq), types.AccessHead{Node: m.Node, Seq: m.Seq, Head: m.Head, Entries: m.Entries, Stamp: x.stamp()})
	x.emit("org", x.c.org.ID, "node", m.Node, "seq", strconv.FormatInt(m.Seq, 10), "entries", strconv.FormatInt(m.Entries, 10))
	return nil
}

// lastAccessHead returns the last commitment of node's access log head in
// tree, nil when there is none.
func lastAccessHead(tree iterator, node string) (*types.AccessHead, error) {
	p := []byte(types.PrefixAccessHeadOf(node))
	it, err := tree.Iterator(p, types.PrefixEnd(p), false)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Valid() {
		return nil, it.Error()
	}
	var h types.AccessHead
	if err := json.Unmarshal(it.Value(), &h); err != nil {
		return nil, fmt.Errorf("corrupt record at %q: %w", it.Key(), err)
	}
	return &h, nil
}

// LastAccessHead returns the last committed head of node's access log,
// nil when there is none. It is for the node's own head committer, in
// process: it reads the committed state directly, with no read request
// and no access log entry.
func (a *App) LastAccessHead(node string) (*types.AccessHead, error) {
	a.cmu.Lock()
	t := a.checked
	a.cmu.Unlock()
	if t == nil {
		return nil, nil
	}
	return lastAccessHead(t, node)
}
