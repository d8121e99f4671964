package testnet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// studyID is the example protocol's study.
const studyID = "VT-HTN-201"

// txTTL is how many blocks the loader's txs stay valid: short, so that a
// tx lost with a stopped node's mempool is known lost soon.
const txTTL = 20

// cliOutcome is what a CLI write prints with --output json.
type cliOutcome struct {
	TxHash string `json:"tx_hash"`
	Height int64  `json:"height"`
	Code   int    `json:"code"`
}

// cliTx runs a write command through org's node with one of org's keys
// and records it as committed with the keys it wrote.
func (c *cluster) cliTx(log *ledgerLog, org, what string, keys [][]byte, args ...string) {
	c.t.Helper()
	n := c.node(org)
	out := c.mustVTIn(n.netns, append([]string{"--home", n.home, "--output", "json"}, args...)...)
	var o cliOutcome
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.Code != 0 || o.Height < 1 {
		c.t.Fatalf("%s: outcome %+v (%v)\n%s", what, o, err, out)
	}
	log.add(committedTx{Hash: o.TxHash, Height: o.Height, What: what, Keys: keys})
}

// setupStudy drives the consortium's start through the CLI on different
// organisations' nodes: the sponsor registers the example protocol and
// activates both sites with their investigators as principal
// investigators, who delegate enrolment, data entry and query answers to
// their coordinators; the sponsor proposes an amendment, and the
// regulator approves it.
func (c *cluster) setupStudy(log *ledgerLog) {
	c.t.Helper()
	work := c.t.TempDir()
	v1 := filepath.Join(work, "htn201.yaml")
	c.mustVT("protocol", "example", "--out", v1)
	c.cliTx(log, "sponsor", "register study", [][]byte{types.KeyStudy(studyID), types.KeyProtocol(studyID, 1)},
		"study", "register", "--from", "sponsor-dm", v1)
	for _, site := range []string{"site-1", "site-2"} {
		c.cliTx(log, "sponsor", "activate "+site, [][]byte{types.KeySite(studyID, site)},
			"site", "activate", "--from", "sponsor-dm", "--study", studyID, "--site", site, "--pi", site+"-investigator")
		c.cliTx(log, site, "delegate "+site+"'s coordinator", [][]byte{types.KeySiteDelegation(studyID, site, site+"-coordinator")},
			"site", "delegate", "--from", site+"-investigator", "--study", studyID, "--site", site, "--account", site+"-coordinator", "--tasks", "enroll,entry,answer")
	}
	b, err := os.ReadFile(v1)
	if err != nil {
		c.t.Fatal(err)
	}
	v2 := filepath.Join(work, "htn201_v11.yaml")
	amended := strings.Replace(string(b), `version: "1.0"`, `version: "1.1"`, 1)
	if amended == string(b) {
		c.t.Fatal(`example protocol has no version: "1.0" line`)
	}
	if err := os.WriteFile(v2, []byte(amended), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.cliTx(log, "sponsor", "propose amendment 1", [][]byte{types.KeyAmendment(studyID, 1)},
		"study", "amend", "--from", "sponsor-dm", "--rationale", "administrative version bump", v2)
	c.cliTx(log, "regulator", "approve amendment 1", [][]byte{types.KeyAmendment(studyID, 1), types.KeyProtocol(studyID, 2)},
		"study", "approve-amendment", "--from", "regulator-auditor", "--study", studyID, "--amendment", "1")
}

// startStudy starts every node, sets the study up (setupStudy) and
// returns a loader whose log holds the setup's txs, with both sites'
// coordinators.
func (c *cluster) startStudy() (*loader, *site, *site) {
	c.t.Helper()
	for _, n := range c.nodes {
		c.start(n)
	}
	for _, n := range c.nodes {
		c.waitUp(n, 1, 60*time.Second)
	}
	l := newLoader(c, &ledgerLog{})
	c.setupStudy(l.log)
	return l, l.openSite("site-1", "S1"), l.openSite("site-2", "S2")
}

// loader is background clinical work: each site's coordinator enrolls
// subjects, enters their screening vital signs and corrects one value,
// pipelining a few subjects at a time, through its own node when it is
// live and through another live node otherwise.
type loader struct {
	c       *cluster
	log     *ledgerLog
	chainID string
	stop    chan struct{}
	// wound is when stop was closed (written before, read after).
	wound time.Time
	wg    sync.WaitGroup

	mu       sync.Mutex
	next     map[string]int
	problems []string
	sent     int
	unsure   int
}

// site is one site's coordinator.
type site struct {
	org    string
	prefix string
	signer *keyring.Signer
	// retired is closed to stop the site's work after its round; done is
	// closed when it has stopped.
	retired, done chan struct{}
}

func newLoader(c *cluster, log *ledgerLog) *loader {
	c.t.Helper()
	return &loader{c: c, log: log, chainID: c.m.ChainID, next: map[string]int{}}
}

// openSite unlocks org's coordinator key from org's own keyring.
func (l *loader) openSite(org, prefix string) *site {
	l.c.t.Helper()
	kr, err := keyring.Open(node.KeyringDir(l.c.node(org).home))
	if err != nil {
		l.c.t.Fatal(err)
	}
	s, err := kr.Signer(org+"-coordinator", node.DevPassphrase)
	if err != nil {
		l.c.t.Fatal(err)
	}
	l.c.t.Cleanup(func() { s.Close() })
	return &site{org: org, prefix: prefix, signer: s, retired: make(chan struct{}), done: make(chan struct{})}
}

// start runs the sites' work in the background until finish.
func (l *loader) start(sites ...*site) {
	l.stop = make(chan struct{})
	for _, s := range sites {
		s.done = make(chan struct{}) // a site works again in each phase
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer close(s.done)
			for round := 0; round < 1000; round++ {
				select {
				case <-l.stop:
					return
				case <-s.retired:
					return
				default:
				}
				l.round(s, 3)
			}
		}()
	}
}

// retire stops s's work and waits until its round in progress is done,
// while the other sites go on.
func (l *loader) retire(s *site) {
	close(s.retired)
	<-s.done
}

// wind stops the work after the round in progress, without waiting for
// it: a tx of that round still awaited is given up 10 s later.
func (l *loader) wind() {
	select {
	case <-l.stop:
	default:
		l.wound = time.Now()
		close(l.stop)
	}
}

// finish stops the work, waits for the round in progress and fails the
// test if a tx that must succeed was rejected.
func (l *loader) finish() {
	l.c.t.Helper()
	l.wind()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) > 0 {
		l.c.t.Fatalf("workload: %s", strings.Join(l.problems, "; "))
	}
	l.c.t.Logf("workload: %d txs sent so far, %d with an unknown outcome (node killed or paused under them), %d committed in all",
		l.sent, l.unsure, len(l.log.all()))
}

func (l *loader) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 10 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// pending is a broadcast tx and what it writes.
type pending struct {
	hash    string
	expires int64
	what    string
	keys    [][]byte
	fk      types.FormKey
}

// round enrolls k new subjects at s, submits their screening vital signs
// and corrects their heart rate, each step pipelined over the k subjects.
func (l *loader) round(s *site, k int) {
	var subjects []string
	l.mu.Lock()
	for range k {
		l.next[s.org]++
		subjects = append(subjects, fmt.Sprintf("%s-%03d", s.prefix, l.next[s.org]))
	}
	l.mu.Unlock()

	var msgs []types.Msg
	var ps []pending
	for _, id := range subjects {
		msgs = append(msgs, types.Msg{EnrollSubject: &types.MsgEnrollSubject{Study: studyID, Subject: id, Site: s.org,
			ConsentVersion: "1.0", ConsentSHA256: strings.Repeat("ab", 32)}})
		ps = append(ps, pending{what: "enroll " + id, keys: [][]byte{types.KeySubject(studyID, id)}})
	}
	enrolled := l.sendAll(s, msgs, ps)

	msgs, ps = nil, nil
	for _, id := range enrolled {
		fk := types.FormKey{Study: studyID, Subject: id, Event: "SCR", EventRepeat: 1, Form: "VS"}
		msgs = append(msgs, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk, Values: []protocol.ItemValue{
			{Item: "VS.DATE", Value: "2026-01-12"}, {Item: "VS.POS", Value: "1"}, {Item: "VS.SYSBP", Value: "148"},
			{Item: "VS.DIABP", Value: "92"}, {Item: "VS.HR", Value: "72"}}}})
		ps = append(ps, pending{what: "submit VS of " + id, keys: [][]byte{types.KeyForm(fk)}, fk: fk})
	}
	submitted := l.sendAll(s, msgs, ps)

	msgs, ps = nil, nil
	for _, id := range submitted {
		fk := types.FormKey{Study: studyID, Subject: id, Event: "SCR", EventRepeat: 1, Form: "VS"}
		msgs = append(msgs, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk,
			Changes: []protocol.ItemValue{{Item: "VS.HR", Value: "68"}}, Reason: "transcription error: source shows 68"}})
		ps = append(ps, pending{what: "correct VS of " + id, keys: [][]byte{types.KeyForm(fk), types.KeyFormHistory(fk, 1)}, fk: fk})
	}
	l.sendAll(s, msgs, ps)
}

// sendAll signs and broadcasts msgs (each once: a tx whose broadcast
// failed is never resent), waits for their blocks and returns the
// subjects of the committed ones.
func (l *loader) sendAll(s *site, msgs []types.Msg, ps []pending) []string {
	if len(msgs) == 0 {
		return nil
	}
	h, ok := l.anyHeight()
	if !ok {
		l.unsureAdd(len(msgs))
		time.Sleep(time.Second)
		return nil
	}
	var sent []pending
	for i, m := range msgs {
		raw, err := types.BuildTx(l.chainID, s.org+"-coordinator", h+txTTL, s.signer, m)
		if err != nil {
			l.problem("build %s: %v", ps[i].what, err)
			continue
		}
		n := l.pick(s.org)
		if n == nil {
			l.unsureAdd(1)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := n.cl.Broadcast(ctx, raw)
		cancel()
		l.mu.Lock()
		l.sent++
		l.mu.Unlock()
		if err != nil {
			l.unsureAdd(1)
			continue
		}
		if res.Code != 0 {
			l.problem("%s refused by %s's CheckTx: code %d %s", ps[i].what, n.org, res.Code, res.Log)
			continue
		}
		p := ps[i]
		p.hash, p.expires = res.Hash, h+txTTL
		sent = append(sent, p)
	}
	var ok2 []string
	var top int64
	defer func() { l.catchUp(top) }()
	for _, p := range sent {
		height, code, found := l.await(p.hash, p.expires)
		if !found {
			l.unsureAdd(1)
			continue
		}
		if code != 0 {
			l.problem("%s (tx %s) failed in block %d with code %d", p.what, p.hash, height, code)
			continue
		}
		l.log.add(committedTx{Hash: p.hash, Height: height, What: p.what, Keys: p.keys})
		top = max(top, height)
		ok2 = append(ok2, p.what[strings.LastIndexByte(p.what, ' ')+1:])
	}
	return ok2
}

func (l *loader) unsureAdd(n int) {
	l.mu.Lock()
	l.unsure += n
	l.mu.Unlock()
}

// pick returns org's node if it is usable (live and caught up), else
// another usable node.
func (l *loader) pick(org string) *tnode {
	if n := l.c.node(org); n.usable() {
		return n
	}
	var ok []*tnode
	for _, n := range l.c.nodes {
		if n.usable() {
			ok = append(ok, n)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return ok[int(time.Now().UnixNano()%int64(len(ok)))]
}

// catchUp waits, at most 15 s, until every usable node has committed
// height h, so that the next step's CheckTx sees the previous step
// wherever it is sent.
func (l *loader) catchUp(h int64) {
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range l.c.nodes {
		for n.usable() && time.Now().Before(deadline) {
			if nh, err := n.height(); err == nil && nh >= h {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// anyHeight returns the highest height the live nodes report (a node
// that is catching up reports a low one).
func (l *loader) anyHeight() (int64, bool) {
	h := l.c.maxHeight()
	return h, h > 0
}

// await polls the live nodes for the tx until it is in a block. It gives
// up when the chain has passed the tx's expiry height without it (a tx
// lost with the mempool of a stopped node), 10 s after the work was
// stopped (wind, finish), or at once then when no node runs, or after 2
// minutes.
func (l *loader) await(hash string, expires int64) (int64, uint32, bool) {
	hb, err := hex.DecodeString(hash)
	if err != nil {
		return 0, 0, false
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, n := range l.c.liveNodes() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := n.cl.RPC().Tx(ctx, hb, false)
			cancel()
			if err == nil {
				return res.Height, res.TxResult.Code, true
			}
		}
		if l.c.maxHeight() > expires+1 {
			return 0, 0, false
		}
		select {
		case <-l.stop:
			if time.Since(l.wound) > 10*time.Second || len(l.c.liveNodes()) == 0 {
				return 0, 0, false
			}
		default:
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, 0, false
}
