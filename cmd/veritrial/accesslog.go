package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/accesslog"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

func accessLogCommand() *cli.Command {
	return &cli.Command{
		Name:     "access-log",
		Category: categoryNode,
		Usage:    "show and verify the node's access log of reads, and its heads on the ledger",
		Description: `Every read request the node answers or refuses is an entry of its access log,
in the home's data/accesslog/: who asked (account and organisation), what
(path and key or prefix), at which height, how many records were answered,
and the outcome. Each entry carries the hash of the one before it, and the
node's account commits the log's head to the ledger now and then, so that
an edited, reordered, truncated or replaced log is detected
(docs/ACCESSLOG.md).`,
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "list the entries of the home's access log",
				UsageText: `veritrial access-log show [--reader ACCOUNT] [--since TIME] [--limit N]

Example:
   veritrial access-log show --since 2026-03-01T00:00:00Z
   veritrial --home ./consortium/site-1 access-log show --reader site-1-coordinator -o json`,
				Description: `Reads the access log from its first entry, checking the chain as it goes (a
damaged log is an error: run veritrial access-log verify), and lists the
entries that match, oldest first: at most --limit of them, with the count of
the others.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reader", Usage: "only the reads of this `ACCOUNT`"},
					&cli.StringFlag{Name: "since", Usage: "only the reads at or after `TIME` (RFC 3339, e.g. 2026-03-01T09:00:00Z)"},
					&cli.IntFlag{Name: "limit", Value: 1000, Usage: "list at most `N` entries (0: all)"},
				},
				Action: runAccessLogShow,
			},
			{
				Name:  "verify",
				Usage: "check the home's access log: its chain, and the heads its node committed to the ledger",
				UsageText: `veritrial access-log verify

Example:
   veritrial access-log verify
   veritrial --home ./consortium/site-1 access-log verify --node tcp://127.0.0.1:26711 -o json`,
				Description: `Walks the access log from its first entry: every line must be an entry whose
hash matches its content, numbered after the one before and chained to it.
Then it reads from the node at --node (default: the home's RPC address) every
head this home's node committed to the ledger (a read signed by --from, or
else by the home's node account), and checks that the log
reaches each one and that the entry there has the committed hash. Exits 0
when everything checks out; otherwise exits 1 naming the first bad entry: an
edited, reordered, inserted or deleted entry, a torn or cut last line, or a
log shorter than, or different from, a committed head. When no node answers
at the home's own address the heads are not checked (the output says so);
with an explicit --node, no answer exits 5.`,
				Action: runAccessLogVerify,
			},
			{
				Name:  "node-key",
				Usage: "create the home's node account key, which commits the access log's head",
				UsageText: `veritrial access-log node-key --account ID

Example:
   veritrial --home ~/veritrial access-log node-key --account site3-node`,
				Description: `A node commits its access log's head to the ledger as its organisation's node
account: an account with the role node alone, which can send nothing else.
Its key is config/node_account.json, unencrypted and readable by the node's
user only, so that the node signs unattended; veritrial init and testnet init
make it. On a home without one (an organisation that joined later, or a
further node), this command makes the key and prints the public key for an
administrator of the organisation to add the account:
   veritrial account add --from ORG-admin --account ID --name "Node of ORG" --role node --pubkey BASE64
Run again, it prints the existing key and changes nothing.`,
				Flags:  []cli.Flag{&cli.StringFlag{Name: "account", Required: true, Usage: "the node account's `ID` (e.g. ORG-node)"}},
				Action: runAccessLogNodeKey,
			},
		},
	}
}

// accessLogShowDoc is show's result.
type accessLogShowDoc struct {
	Entries []accesslog.Entry `json:"entries"`
	// More counts the matching entries beyond --limit.
	More int `json:"more"`
}

func runAccessLogShow(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	var since time.Time
	if s := c.String("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return usageErrorf("--since %q is not an RFC 3339 time such as 2026-03-01T09:00:00Z", s)
		}
		since = t
	}
	limit := c.Int("limit")
	if limit < 0 {
		return usageErrorf("--limit %d: use 0 (all) or more", limit)
	}
	dir, err := accessLogDir(c)
	if err != nil {
		return err
	}
	reader := c.String("reader")
	doc := accessLogShowDoc{Entries: []accesslog.Entry{}}
	err = accesslog.Scan(dir, func(e accesslog.Entry) error {
		if reader != "" && e.Reader != reader {
			return nil
		}
		if !since.IsZero() {
			if t, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || t.Before(since) {
				return nil
			}
		}
		if limit > 0 && len(doc.Entries) == limit {
			doc.More++
			return nil
		}
		doc.Entries = append(doc.Entries, e)
		return nil
	})
	if err != nil {
		return accessLogError(dir, err)
	}
	return emit(c, doc, func(w io.Writer) error {
		if len(doc.Entries) == 0 {
			printf(w, "No entries match.\n")
			return nil
		}
		t := newTable(w, "SEQ", "TIME", "READER", "ORG", "READ", "HEIGHT", "RECORDS", "OUTCOME")
		for _, e := range doc.Entries {
			outcome := "answered"
			if e.Code != types.CodeOK {
				outcome = fmt.Sprintf("refused (%s)", e.Code)
			}
			t.row(fmt.Sprint(e.Seq), e.Time, e.Reader, e.Org, e.Path+" "+e.Scope, fmt.Sprint(e.Height), fmt.Sprint(e.Records), outcome)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if doc.More > 0 {
			printf(w, "%d more %s match: narrow with --since or --reader, or raise --limit.\n", doc.More, plural(doc.More, "entry", "entries"))
		}
		return nil
	})
}

// accessLogVerifyDoc is verify's result.
type accessLogVerifyDoc struct {
	Dir      string   `json:"dir"`
	OK       bool     `json:"ok"`
	Entries  int64    `json:"entries"`
	Head     string   `json:"head"`
	Segments []string `json:"segments"`
	Torn     []string `json:"torn,omitempty"`
	NodeID   string   `json:"node_id"`
	// Ledger is the node asked for the committed heads; LedgerError says
	// why they were not checked.
	Ledger      string `json:"ledger"`
	LedgerError string `json:"ledger_error,omitempty"`
	// HeadsChecked counts the committed heads the log matched; Committed
	// is the last; Uncommitted counts the entries after it.
	HeadsChecked int               `json:"heads_checked"`
	Committed    *types.AccessHead `json:"committed,omitempty"`
	Uncommitted  int64             `json:"uncommitted"`
	// Damage is the first bad entry.
	Damage *accesslog.Damage `json:"damage,omitempty"`
}

func runAccessLogVerify(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	key, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return inputErrorf("cannot read the node key %s: %v", conf.NodeKeyFile(), pathError(err))
	}
	doc := accessLogVerifyDoc{Dir: node.AccessLogDir(home), NodeID: string(key.ID())}
	heads, err := committedHeads(c, &doc)
	if err != nil {
		return err
	}
	rep, err := accesslog.Verify(doc.Dir, heads)
	doc.Entries, doc.Head, doc.Segments, doc.Torn = rep.Head.Seq, rep.Head.Hash, rep.Segments, rep.Torn
	doc.HeadsChecked, doc.Committed = rep.Heads, rep.Committed
	if rep.Committed != nil {
		doc.Uncommitted = rep.Head.Seq - rep.Committed.Entries
	}
	var damage *accesslog.Damage
	if errors.As(err, &damage) {
		doc.Damage = damage
		if isJSON(c) {
			if err := emitJSON(c, doc); err != nil {
				return err
			}
		}
		return failf("the access log in %s fails at %v", doc.Dir, damage)
	}
	if err != nil {
		return accessLogError(doc.Dir, err)
	}
	doc.OK = true
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "The access log in %s checks out: %d %s in %d %s, head %s.\n", doc.Dir, doc.Entries, plural(int(doc.Entries), "entry", "entries"), len(doc.Segments), plural(len(doc.Segments), "segment", "segments"), doc.Head)
		switch {
		case doc.LedgerError != "":
			printf(w, "The heads on the ledger were not checked: %s\n", doc.LedgerError)
		case doc.Committed == nil:
			printf(w, "Node %s has committed no head to the ledger at %s yet.\n", doc.NodeID, doc.Ledger)
		default:
			printf(w, "It matches the %d %s node %s committed to the ledger at %s; the last, at height %d, covers %d entries (%d since).\n",
				doc.HeadsChecked, plural(doc.HeadsChecked, "head", "heads"), doc.NodeID, doc.Ledger, doc.Committed.Stamp.Height, doc.Committed.Entries, doc.Uncommitted)
		}
		for _, t := range doc.Torn {
			printf(w, "An incomplete last line, left by a crash, was set aside in %s.\n", t)
		}
		return nil
	})
}

// committedHeads reads the heads the home's node committed from the node
// at --node. When nothing answers at the home's own address it says so in
// doc and returns none; an explicit --node must answer.
func committedHeads(c *cli.Context, doc *accessLogVerifyDoc) ([]types.AccessHead, error) {
	cl, err := nodeClient(c)
	if err != nil {
		return nil, err
	}
	if globalValue(c, flagFrom, envFrom) != "" {
		readAs(c, cl)
	} else {
		// The heads are read by every member: the home's node account
		// signs the read when no --from names another key.
		home, err := homeDir(c)
		if err != nil {
			return nil, err
		}
		if na, err := node.LoadNodeAccount(home); err == nil {
			cl.ReadAs(na.ID, func() (types.Signer, error) { return na, nil })
		}
	}
	doc.Ledger = cl.Addr()
	ctx, cancel := rpcContext(c)
	defer cancel()
	heads, err := cl.Reader(0, false).AccessHeads(ctx, doc.NodeID)
	err = client.NodeError(cl.Addr(), err)
	if errors.Is(err, client.ErrNoNode) && globalValue(c, flagNode, envNode) == "" {
		doc.LedgerError = err.Error()
		return nil, nil
	}
	if err != nil {
		return nil, nodeError(err)
	}
	return heads, nil
}

// accessLogDir is the home's access log directory.
func accessLogDir(c *cli.Context) (string, error) {
	home, err := homeDir(c)
	if err != nil {
		return "", err
	}
	return node.AccessLogDir(home), nil
}

// accessLogError says why the log in dir could not be read.
func accessLogError(dir string, err error) error {
	var damage *accesslog.Damage
	if errors.As(err, &damage) {
		return failf("the access log in %s is damaged at %v: run veritrial access-log verify", dir, damage)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, accesslog.ErrNoLog) {
		return usageErrorf("no access log in %s: a node writes it from its first start (pass --home)", dir)
	}
	return failf("cannot read the access log in %s: %v", dir, pathError(err))
}

// nodeKeyDoc is node-key's result.
type nodeKeyDoc struct {
	Account string `json:"account"`
	PubKey  string `json:"pubkey"`
	File    string `json:"file"`
	Created bool   `json:"created"`
}

func runAccessLogNodeKey(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	id := c.String("account")
	if !types.ValidID(id) {
		return usageErrorf("--account %q is not a valid account ID: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'", id)
	}
	home, err := homeDir(c)
	if err != nil {
		return err
	}
	if _, err := loadNodeConfig(home); err != nil {
		return err
	}
	doc := nodeKeyDoc{File: node.NodeAccountFile(home)}
	na, err := loadNodeAccount(home)
	switch {
	case err != nil:
		return err
	case na != nil && na.ID != id:
		return usageErrorf("%s already holds the key of node account %s, not %s: a node has one node account", doc.File, na.ID, id)
	case na == nil:
		if na, err = node.CreateNodeAccount(home, id); err != nil {
			return usageErrorf("cannot create the node account key: %v", pathError(err))
		}
		doc.Created = true
	}
	doc.Account, doc.PubKey = na.ID, base64.StdEncoding.EncodeToString(na.PubKey())
	return emit(c, doc, func(w io.Writer) error {
		if doc.Created {
			printf(w, "Created the key of node account %s in %s.\n", doc.Account, doc.File)
		} else {
			printf(w, "%s already holds the key of node account %s.\n", doc.File, doc.Account)
		}
		printf(w, "Public key: %s\nAn administrator of the node's organisation adds the account with:\n  veritrial account add --from ORG-admin --account %s --name \"Node of ORG\" --role node --pubkey %s\n", doc.PubKey, doc.Account, doc.PubKey)
		return nil
	})
}

// loadNodeAccount reads the home's node account key; nil when the home
// has none.
func loadNodeAccount(home string) (*node.NodeAccount, error) {
	na, err := node.LoadNodeAccount(home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, node.ErrNodeAccountExposed):
		return nil, inputErrorf("%v", err)
	case err != nil:
		return nil, inputErrorf("cannot use the node account key: %v", pathError(err))
	}
	return na, nil
}

// accessLogFlags are start's settings of the access log's head
// commitments.
func accessLogFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Int64Flag{Name: "access-log-commit-every", Value: accesslog.DefaultCommitEvery, Usage: "commit the access log's head to the ledger once `N` entries wait"},
		&cli.DurationFlag{Name: "access-log-commit-interval", Value: accesslog.DefaultCommitInterval, Usage: "and at least this often while any entry waits"},
	}
}

// checkAccessLogFlags refuses settings that make no sense.
func checkAccessLogFlags(c *cli.Context) error {
	if c.Int64("access-log-commit-every") < 1 || c.Duration("access-log-commit-interval") < time.Second {
		return usageErrorf("--access-log-commit-every must be at least 1 and --access-log-commit-interval at least 1s")
	}
	return nil
}

// openAccessLog opens the home's access log, saying in the node's log
// where it is and what a crash left of it.
func openAccessLog(home string, log cmtlog.Logger) (*accesslog.Log, error) {
	dir := node.AccessLogDir(home)
	l, err := accesslog.Open(dir, accesslog.Options{})
	if err != nil {
		return nil, err
	}
	log.Info("access log open", "dir", dir, "entries", l.Head().Seq)
	if t := l.Torn(); t != nil {
		log.Error("the access log's last line was incomplete (a crash during a write): it was set aside, and the log goes on from its last complete entry",
			"segment", t.Segment, "bytes", t.Bytes, "saved_as", t.SavedAs, "last_entry", t.After.Seq)
	}
	return l, nil
}

// startHeadCommits runs, in the background, the committer of the node's
// access log head to the ledger, signed by the node account na (none when
// nil), and returns what stops it cleanly.
func startHeadCommits(c *cli.Context, n *cmtnode.Node, appl *app.App, l *accesslog.Log, na *node.NodeAccount, chainID string, log cmtlog.Logger) (stop func()) {
	if na == nil {
		log.Info("no node account key (config/node_account.json): the access log's head is not committed to the ledger; veritrial access-log node-key makes one")
		return func() {}
	}
	cm := accesslog.NewCommitter(l, nodeLedger{n: n, app: appl}, accesslog.CommitOptions{
		ChainID: chainID, Node: string(n.NodeInfo().ID()), Account: na.ID, Signer: na,
		Every: c.Int64("access-log-commit-every"), Interval: c.Duration("access-log-commit-interval"), Logger: log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cm.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// nodeLedger is the running node as a head committer sees it: its block
// height, its committed state and its mempool.
type nodeLedger struct {
	n   *cmtnode.Node
	app *app.App
}

func (l nodeLedger) Height() int64 { return l.n.BlockStore().Height() }

func (l nodeLedger) LastAccessHead(node string) (*types.AccessHead, error) {
	return l.app.LastAccessHead(node)
}

// Submit hands tx to the mempool, as the RPC's broadcast_tx_sync does,
// and waits for CheckTx's verdict.
func (l nodeLedger) Submit(ctx context.Context, tx []byte) error {
	res := make(chan *abci.ResponseCheckTx, 1)
	if err := l.n.Mempool().CheckTx(tx, func(r *abci.ResponseCheckTx) { res <- r }, mempool.TxInfo{}); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-res:
		if r.Code != 0 {
			return fmt.Errorf("refused by CheckTx: code %d (%s): %s", r.Code, types.Code(r.Code), r.Log)
		}
		return nil
	}
}
