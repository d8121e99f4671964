package accesslog

import (
	"context"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/veritrial/veritrial/app/types"
)

// Defaults of CommitOptions.
const (
	// DefaultCommitEvery: a head is committed once 1,000 entries wait.
	DefaultCommitEvery = 1000
	// DefaultCommitInterval: and at least every five minutes while any
	// entry waits.
	DefaultCommitInterval = 5 * time.Minute
)

// commitTTL is how many blocks a head commitment stays valid; one not in
// a block by then is sent again.
const commitTTL = 100

// pollInterval is how often the committer looks at the log and the
// ledger.
const pollInterval = time.Second

// Ledger is what a Committer needs of the node it runs in.
type Ledger interface {
	// Height is the last committed height.
	Height() int64
	// LastAccessHead is the last committed head of node's access log, nil
	// when there is none.
	LastAccessHead(node string) (*types.AccessHead, error)
	// Submit hands a signed tx to the node's mempool; a refusal is an
	// error.
	Submit(ctx context.Context, tx []byte) error
}

// CommitOptions configure a Committer.
type CommitOptions struct {
	ChainID string
	// Node is the ID of the node whose log it is.
	Node string
	// Account and Signer are the node account that signs.
	Account string
	Signer  types.Signer
	// Every and Interval: a head is committed once Every entries wait, and
	// at least every Interval while any does (DefaultCommitEvery and
	// DefaultCommitInterval when 0).
	Every    int64
	Interval time.Duration
	// Logger receives what the committer does and every failure (nil:
	// none).
	Logger cmtlog.Logger
}

// Committer commits a log's head to the ledger now and then, from inside
// the node: it syncs the log, signs a commitment with the node account and
// hands it to the node's mempool, then watches the ledger for it. It never
// waits on consensus; a failure is logged and tried again later, less and
// less often, up to once per Interval.
type Committer struct {
	log *Log
	led Ledger
	o   CommitOptions
	// last is when the last commitment was seen on the ledger (or the
	// committer began).
	last time.Time
	// pending is the commitment sent and not yet seen, valid until height
	// expires.
	pending *types.MsgCommitAccessHead
	expires int64
	// retryAt and backoff space out attempts after a failure.
	retryAt time.Time
	backoff time.Duration
	// behind is set once the log was found shorter than the ledger's head.
	behind bool
}

// NewCommitter returns a committer of l's head to led.
func NewCommitter(l *Log, led Ledger, o CommitOptions) *Committer {
	if o.Every <= 0 {
		o.Every = DefaultCommitEvery
	}
	if o.Interval <= 0 {
		o.Interval = DefaultCommitInterval
	}
	if o.Logger == nil {
		o.Logger = cmtlog.NewNopLogger()
	}
	return &Committer{log: l, led: led, o: o, last: time.Now()}
}

// Run commits heads until ctx is done.
func (c *Committer) Run(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.step(ctx, now)
		}
	}
}

// step looks at the ledger and the log once and sends a commitment when
// one is due.
func (c *Committer) step(ctx context.Context, now time.Time) {
	if now.Before(c.retryAt) {
		return
	}
	last, err := c.led.LastAccessHead(c.o.Node)
	if err != nil {
		c.fail(now, "cannot read the node's last access log head on the ledger", err)
		return
	}
	if last == nil {
		last = &types.AccessHead{}
	}
	if p := c.pending; p != nil {
		switch {
		case last.Seq == p.Seq && last.Head == p.Head && last.Entries == p.Entries:
			c.o.Logger.Info("access log head committed", "seq", last.Seq, "entries", last.Entries, "height", last.Stamp.Height)
			c.pending, c.last, c.backoff = nil, now, 0
		case last.Seq >= p.Seq:
			c.pending = nil // another commitment took its number (one sent before a restart): send the head again
		case c.led.Height() <= c.expires:
			return // not in a block yet
		default:
			c.pending = nil // expired unseen: send it again
		}
	}
	head, err := c.log.Sync()
	if err != nil {
		c.fail(now, "cannot sync the access log", err)
		return
	}
	if head.Seq < last.Entries {
		if !c.behind {
			c.o.Logger.Error("the access log is shorter than the head its node committed to the ledger: it was truncated or replaced, and no head is committed until it is restored (veritrial access-log verify)",
				"entries", head.Seq, "committed_entries", last.Entries, "commitment", last.Seq, "height", last.Stamp.Height)
		}
		c.behind = true
		return
	}
	c.behind = false
	waiting := head.Seq - last.Entries
	if waiting == 0 || waiting < c.o.Every && now.Sub(c.last) < c.o.Interval {
		return
	}
	m := &types.MsgCommitAccessHead{Node: c.o.Node, Seq: last.Seq + 1, Head: head.Hash, Entries: head.Seq}
	expires := c.led.Height() + commitTTL
	raw, err := types.BuildTx(c.o.ChainID, c.o.Account, expires, c.o.Signer, types.Msg{CommitAccessHead: m})
	if err == nil {
		err = c.led.Submit(ctx, raw)
	}
	if err != nil {
		c.fail(now, "cannot send the access log head to the ledger", err)
		return
	}
	c.pending, c.expires = m, expires
}

// fail logs a failure and puts the next attempt off: twice as long as the
// last time, from pollInterval up to Interval.
func (c *Committer) fail(now time.Time, what string, err error) {
	c.backoff = min(max(2*c.backoff, pollInterval), c.o.Interval)
	c.retryAt = now.Add(c.backoff)
	c.o.Logger.Error(what, "err", err, "retry_in", c.backoff)
}
