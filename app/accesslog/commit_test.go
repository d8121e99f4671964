package accesslog

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// chainLedger serves a committer from a real App driven by the apptest
// harness: a tx submitted goes through CheckTx and waits in the pool for
// the next block.
type chainLedger struct {
	c       *apptest.Chain
	pool    [][]byte
	submits int
}

func (l *chainLedger) Height() int64 { return l.c.Height }

func (l *chainLedger) LastAccessHead(node string) (*types.AccessHead, error) {
	return l.c.App.LastAccessHead(node)
}

func (l *chainLedger) Submit(_ context.Context, tx []byte) error {
	l.submits++
	if r := l.c.Check(tx); r.Code != 0 {
		return fmt.Errorf("refused: %s", r.Log)
	}
	l.pool = append(l.pool, tx)
	return nil
}

// block commits a block of the pool's txs.
func (l *chainLedger) block() []uint32 {
	var codes []uint32
	for _, r := range l.c.Block(l.pool...) {
		codes = append(codes, r.Code)
	}
	l.pool = nil
	return codes
}

// heads returns the node's committed heads.
func (l *chainLedger) heads(t *testing.T, node string) []types.AccessHead {
	t.Helper()
	var out []types.AccessHead
	for seq := int64(1); ; seq++ {
		var h types.AccessHead
		if !l.c.Get(types.KeyAccessHead(node, seq), &h) {
			return out
		}
		out = append(out, h)
	}
}

// TestCommitter: the committer commits the log's head once Every entries
// wait or Interval has passed, sends again a commitment that expired
// unseen or whose number another commitment took, puts attempts off after
// a failure, and commits nothing for a log shorter than its last head.
func TestCommitter(t *testing.T) {
	ctx := context.Background()
	c := apptest.New(t)
	led := &chainLedger{c: c}
	node := apptest.NodeID("regulator")
	dir, l := newLog(t, Options{}, 5)
	var logged bytes.Buffer
	opts := CommitOptions{ChainID: apptest.ChainID, Node: node, Account: "regulator-node", Signer: c.Person("regulator-node"),
		Every: 3, Interval: time.Hour, Logger: cmtlog.NewTMLogger(&logged)}
	cm := NewCommitter(l, led, opts)
	now := time.Now()

	cm.step(ctx, now)
	cm.step(ctx, now.Add(time.Second))
	if led.submits != 1 || len(led.pool) != 1 {
		t.Fatalf("5 entries waiting, every 3: %d submitted, %d pooled", led.submits, len(led.pool))
	}
	if codes := led.block(); codes[0] != 0 {
		t.Fatalf("commitment refused: %v", codes)
	}
	cm.step(ctx, now.Add(2*time.Second))
	if !strings.Contains(logged.String(), "access log head committed") || led.submits != 1 {
		t.Fatalf("after the block: %d submitted; log:\n%s", led.submits, logged.String())
	}
	heads := led.heads(t, node)
	if len(heads) != 1 || heads[0].Entries != 5 || heads[0].Stamp.Signer != "regulator-node" {
		t.Fatalf("heads %+v", heads)
	}
	if _, err := Verify(dir, heads); err != nil {
		t.Fatal(err)
	}

	// Two entries wait: nothing until the interval has passed.
	l.Record(read(6))
	l.Record(read(7))
	cm.step(ctx, now.Add(3*time.Second))
	if led.submits != 1 {
		t.Fatalf("2 entries waiting, every 3: %d submitted", led.submits)
	}
	cm.step(ctx, now.Add(time.Hour+3*time.Second))
	if led.submits != 2 {
		t.Fatalf("interval passed: %d submitted", led.submits)
	}
	// The commitment never makes it into a block and expires: it is
	// sent again.
	led.pool = nil
	for range commitTTL {
		led.block()
	}
	cm.step(ctx, now.Add(time.Hour+4*time.Second))
	if led.submits != 2 {
		t.Fatalf("sent again before it expired: %d submitted", led.submits)
	}
	led.block()
	cm.step(ctx, now.Add(time.Hour+5*time.Second))
	if led.submits != 3 {
		t.Fatalf("not sent again once expired: %d submitted", led.submits)
	}
	if codes := led.block(); codes[0] != 0 {
		t.Fatalf("commitment refused: %v", codes)
	}
	heads = led.heads(t, node)
	if len(heads) != 2 || heads[1].Seq != 2 || heads[1].Entries != 7 {
		t.Fatalf("heads %+v", heads)
	}

	// A commitment signed before a restart, for fewer entries, takes the
	// number of the one sent now: that one is refused, and the head goes
	// again under the next number.
	for i := 8; i <= 10; i++ {
		l.Record(read(i))
	}
	cm.step(ctx, now.Add(2*time.Hour))
	var nine string
	Scan(dir, func(e Entry) error {
		if e.Seq == 9 {
			nine = e.Hash
		}
		return nil
	})
	earlier, err := types.BuildTx(apptest.ChainID, "regulator-node", c.Height+50, c.Person("regulator-node"),
		types.Msg{CommitAccessHead: &types.MsgCommitAccessHead{Node: node, Seq: 3, Head: nine, Entries: 9}})
	if err != nil {
		t.Fatal(err)
	}
	led.pool = append([][]byte{earlier}, led.pool...)
	if codes := led.block(); len(codes) != 2 || codes[0] != 0 || types.Code(codes[1]) != types.CodeAccessHeadSeq {
		t.Fatalf("the earlier commitment and the committer's: %v", codes)
	}
	committed := strings.Count(logged.String(), "access log head committed")
	cm.step(ctx, now.Add(3*time.Hour))
	if led.submits != 5 || strings.Count(logged.String(), "access log head committed") != committed {
		t.Fatalf("after losing its number: %d submitted; log:\n%s", led.submits, logged.String())
	}
	led.block()
	if heads = led.heads(t, node); len(heads) != 4 || heads[3].Entries != 10 {
		t.Fatalf("heads %+v", heads)
	}

	// A node account the ledger does not know: refused, logged, tried
	// again after a pause.
	for i := 11; i <= 13; i++ {
		l.Record(read(i))
	}
	bad := opts
	bad.Account = "nobody-node"
	cmBad := NewCommitter(l, led, bad)
	cmBad.step(ctx, now)
	cmBad.step(ctx, now.Add(pollInterval/2))
	if led.submits != 6 || !strings.Contains(logged.String(), "cannot send the access log head to the ledger") || !strings.Contains(logged.String(), "unknown_signer") && !strings.Contains(logged.String(), "has no account") {
		t.Fatalf("a refused commitment: %d submitted; log:\n%s", led.submits, logged.String())
	}
	cmBad.step(ctx, now.Add(pollInterval))
	if led.submits != 7 {
		t.Fatalf("not tried again after the pause: %d submitted", led.submits)
	}

	// The log loses its last entries: no head is committed, and the
	// committer says why once.
	l.Close()
	seg := segments(t, dir)[0]
	writeLines(t, seg, lines(t, seg)[:9])
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	logged.Reset()
	cm2 := NewCommitter(l2, led, opts)
	cm2.step(ctx, now.Add(2*time.Hour))
	cm2.step(ctx, now.Add(3*time.Hour))
	if led.submits != 7 || strings.Count(logged.String(), "the access log is shorter than the head") != 1 {
		t.Fatalf("a cut log: %d submitted; log:\n%s", led.submits, logged.String())
	}
}
