package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// txKind classifies a generated tx.
type txKind uint8

const (
	kindSubmit txKind = iota
	kindCorrect
	kindInvalid
	kindKV
)

func (k txKind) String() string {
	return [...]string{"submit", "correct", "invalid", "kv"}[k]
}

// genTx is a signed tx ready to broadcast.
type genTx struct {
	raw  []byte
	kind txKind
}

// workload produces the txs of the measured phase; next is safe for
// concurrent use.
type workload interface {
	next() (genTx, error)
}

// person is an unlocked key and the account it signs for.
type person struct {
	account string
	org     string
	signer  types.Signer
}

// site is an active site with its coordinator, its principal
// investigator (who delegates the coordinator's tasks) and its enrolled
// subjects.
type site struct {
	org      string
	coord    person
	pi       person
	subjects []string
}

// crf is the veritrial workload: adverse event forms of two rows of AE.LOG
// (example.AE: one row in 20 serious; 18 items, 19 with a serious row) at
// unscheduled visits, corrections of forms entered during the
// setup, and vital signs forms with a systolic pressure above the hard
// range, which the ledger must reject.
type crf struct {
	chainID     string
	expires     int64
	invalid     float64
	corrections float64
	dm          person
	sites       []*site
	// subjects lists every (site, subject) in round-robin order over sites.
	subjects []subjectRef

	mu      sync.Mutex
	n       int // plans made
	submits int
	invals  int
	corrs   int
}

type subjectRef struct {
	site    *site
	subject string
}

// plan is a message to sign.
type plan struct {
	kind txKind
	by   person
	msg  types.Msg
}

// loadPeople unlocks the data manager (*-dm), the site coordinators
// (*-coordinator) and the sites' investigators (*-investigator) found in
// the homes' keyrings.
func loadPeople(homes []string, passphrase string) (person, []*site, error) {
	var dm person
	byOrg := map[string]*site{}
	seen := map[string]bool{}
	for _, home := range homes {
		kr, err := keyring.Open(node.KeyringDir(home))
		if err != nil {
			return dm, nil, err
		}
		infos, err := kr.List()
		if err != nil {
			return dm, nil, err
		}
		for _, info := range infos {
			org, role, ok := cutRole(info.Name)
			if !ok || seen[info.Name] || (role == "dm" && dm.signer != nil) {
				continue
			}
			s, err := kr.Signer(info.Name, passphrase)
			if err != nil {
				return dm, nil, fmt.Errorf("key %s in %s: %w", info.Name, home, err)
			}
			seen[info.Name] = true
			p := person{account: info.Name, org: org, signer: s}
			if role == "dm" {
				dm = p
				continue
			}
			st := byOrg[org]
			if st == nil {
				st = &site{org: org}
				byOrg[org] = st
			}
			if role == "coordinator" {
				st.coord = p
			} else {
				st.pi = p
			}
		}
	}
	if dm.signer == nil {
		return dm, nil, fmt.Errorf("no data manager key (*-dm) in the keyrings of %s", strings.Join(homes, ", "))
	}
	var sites []*site
	for _, st := range byOrg {
		if st.coord.signer == nil {
			continue
		}
		if st.pi.signer == nil {
			return dm, nil, fmt.Errorf("site %s has a coordinator key but no investigator key (%s-investigator) in the keyrings of %s", st.org, st.org, strings.Join(homes, ", "))
		}
		sites = append(sites, st)
	}
	if len(sites) == 0 {
		return dm, nil, fmt.Errorf("no site coordinator key (*-coordinator) in the keyrings of %s", strings.Join(homes, ", "))
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].org < sites[j].org })
	return dm, sites, nil
}

// cutRole splits a demo key name into its organisation and role: the
// names veritrial init and testnet init create are <org>-<role>.
func cutRole(name string) (org, role string, ok bool) {
	for _, r := range []string{"dm", "coordinator", "investigator"} {
		if o, found := strings.CutSuffix(name, "-"+r); found && o != "" {
			return o, r, true
		}
	}
	return "", "", false
}

// runSubject is the pseudonym of the i-th subject of a run: the example
// protocol's pattern (S, a number, a hyphen, 3 to 5 digits) with the run's
// number where a site's number would be, so that runs on one chain never
// enrol the same ID.
func runSubject(run, i int) string { return fmt.Sprintf("S%d-%05d", run, i+1) }

// newRun picks a run number from 1 to 9999 whose first subject is not on
// the ledger yet.
func newRun(ctx context.Context, cl *client.Client, study string) (int, error) {
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(9999))
		if err != nil {
			return 0, err
		}
		run := int(n.Int64()) + 1
		v, err := cl.Reader(0, false).Get(ctx, types.KeySubject(study, runSubject(run, 0)))
		if err != nil {
			return 0, err
		}
		if v == nil {
			return run, nil
		}
	}
	return 0, fmt.Errorf("no free run number for the subjects' IDs after 20 tries: the chain holds many earlier runs; start a fresh one")
}

// setupCRF registers the example protocol if absent, activates the sites
// with their investigators as principal investigators, who delegate
// enrolment, data entry and query answers to the coordinators, enrolls
// the subjects and enters one adverse event form per subject (the
// forms corrected later), waiting for each step to commit.
func setupCRF(ctx context.Context, c *config, cl *client.Client, logf func(string, ...any)) (*crf, error) {
	dm, sites, err := loadPeople(c.Homes, c.Passphrase)
	if err != nil {
		return nil, err
	}
	// The data manager reads the study's records: the node answers only
	// signed reads.
	cl.ReadAs(dm.account, func() (types.Signer, error) { return dm.signer, nil })
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	// The data manager reads the setup; the node does not say whether a
	// study the reader may not read exists, so a study not visible is
	// registered (and refused if another sponsor's).
	cl.ReadAs(dm.account, func() (types.Signer, error) { return dm.signer, nil })
	p := example.Protocol()
	st, err := cl.Reader(0, false).Get(ctx, types.KeyStudy(p.Study.ID))
	var ref *client.Refusal
	if errors.As(err, &ref) && ref.Code == types.CodeReadNotVisible {
		st, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st == nil {
		logf("registering study %s as %s", p.Study.ID, dm.account)
		if err := sendAll(ctx, cl, c.Concurrency, []plan{{by: dm, msg: example.RegisterMsg(p)}}); err != nil {
			return nil, err
		}
	}
	var acts, delegs []plan
	for _, s := range sites {
		r := cl.Reader(0, false)
		v, err := r.Get(ctx, types.KeySite(p.Study.ID, s.org))
		if err != nil {
			return nil, err
		}
		if v == nil {
			acts = append(acts, plan{by: dm, msg: example.ActivateMsg(p.Study.ID, s.org, s.pi.account)})
		}
		var d types.Delegation
		if _, err := r.GetJSON(ctx, types.KeySiteDelegation(p.Study.ID, s.org, s.coord.account), &d); err != nil {
			return nil, err
		}
		if d.Status != types.DelegationActive || !slices.Equal(d.Tasks, example.CoordinatorTasks) {
			delegs = append(delegs, plan{by: s.pi, msg: example.DelegateSiteMsg(p.Study.ID, s.org, s.coord.account, example.CoordinatorTasks...)})
		}
	}
	logf("activating %d site(s), delegating %d coordinator(s)", len(acts), len(delegs))
	if err := sendAll(ctx, cl, c.Concurrency, acts); err != nil {
		return nil, err
	}
	if err := sendAll(ctx, cl, c.Concurrency, delegs); err != nil {
		return nil, err
	}
	run, err := newRun(ctx, cl, p.Study.ID)
	if err != nil {
		return nil, err
	}
	w := &crf{chainID: chainID, invalid: c.Invalid, corrections: c.Corrections, dm: dm, sites: sites}
	var enroll, forms []plan
	for i := 0; i < c.Subjects; i++ {
		s := sites[i%len(sites)]
		subj := runSubject(run, i)
		s.subjects = append(s.subjects, subj)
		w.subjects = append(w.subjects, subjectRef{site: s, subject: subj})
		enroll = append(enroll, plan{by: s.coord, msg: example.EnrollMsg(subj, s.org)})
		forms = append(forms, plan{by: s.coord, msg: example.SubmitMsg(example.FormKey(subj, "UNS", 1, "AE"), example.AE(2, i))})
	}
	logf("enrolling %d subjects at %d site(s)", len(enroll), len(sites))
	if err := sendAll(ctx, cl, c.Concurrency, enroll); err != nil {
		return nil, err
	}
	logf("entering %d adverse event forms to correct later", len(forms))
	if err := sendAll(ctx, cl, c.Concurrency, forms); err != nil {
		return nil, err
	}
	h, err := cl.Height(ctx)
	if err != nil {
		return nil, err
	}
	w.expires = h + c.TTL
	return w, nil
}

// sendAll sends the plans with bounded concurrency and fails unless every
// one commits with code 0.
func sendAll(ctx context.Context, cl *client.Client, concurrency int, plans []plan) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make([]error, len(plans))
	for range min(concurrency, len(plans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(plans) || ctx.Err() != nil {
					return
				}
				p := plans[i]
				r, err := cl.Send(ctx, p.by.account, p.by.signer, p.msg)
				if err == nil && !r.OK() {
					err = fmt.Errorf("%s by %s refused (%s, code %d): %s", kindOf(p.msg), p.by.account, r.Name, r.Code, r.Log)
				}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func kindOf(m types.Msg) string {
	k, _, e := m.Unpack()
	if e != nil {
		return "tx"
	}
	return string(k)
}

// nextPlan decides the i-th tx of the measured phase: invalid
// submissions and corrections are spread evenly at their shares, the rest
// are new adverse event forms, round-robin over subjects (and so over
// sites).
func (w *crf) nextPlan() plan {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	n := float64(w.n)
	switch {
	case int(n*w.invalid+1e-9) > w.invals:
		w.invals++
		ref := w.subjects[w.invals%len(w.subjects)]
		rep := w.invals/len(w.subjects) + 1
		vals := example.VS(400, 80) // systolic 400 mmHg: above the hard range of 60-250
		return plan{kind: kindInvalid, by: ref.site.coord, msg: example.SubmitMsg(example.FormKey(ref.subject, "UNS", rep, "VS"), vals)}
	case int(n*w.corrections+1e-9) > w.corrs:
		w.corrs++
		ref := w.subjects[w.corrs%len(w.subjects)]
		k := example.FormKey(ref.subject, "UNS", 1, "AE")
		reason := "transcription error: the source document names the event differently (correction " + strconv.Itoa(w.corrs) + ")"
		return plan{kind: kindCorrect, by: ref.site.coord, msg: example.CorrectMsg(k, reason,
			protocol.ItemValue{Item: "AE.TERM", Repeat: 1, Value: fmt.Sprintf("Tension headache %d-1", w.corrs)},
			protocol.ItemValue{Item: "AE.TERM", Repeat: 2, Value: fmt.Sprintf("Tension headache %d-2", w.corrs)})}
	}
	w.submits++
	ref := w.subjects[w.submits%len(w.subjects)]
	rep := w.submits/len(w.subjects) + 2 // repeat 1 holds the setup's form
	return plan{kind: kindSubmit, by: ref.site.coord, msg: example.SubmitMsg(example.FormKey(ref.subject, "UNS", rep, "AE"), example.AE(2, w.submits))}
}

func (w *crf) sign(p plan) (genTx, error) {
	raw, err := types.BuildTx(w.chainID, p.by.account, w.expires, p.by.signer, p.msg)
	return genTx{raw: raw, kind: p.kind}, err
}

// next implements workload.
func (w *crf) next() (genTx, error) { return w.sign(w.nextPlan()) }

// prebuilt serves n txs signed in advance (on every CPU), then falls back
// to signing on demand, so that signing competes with the nodes as little
// as possible during the measured phase.
type prebuilt struct {
	txs   []genTx
	i     atomic.Int64
	more  workload
	onFly atomic.Int64
}

func prebuild(w workload, n int) (*prebuilt, error) {
	pb := &prebuilt{txs: make([]genTx, n), more: w}
	var wg sync.WaitGroup
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				tx, err := w.next()
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				pb.txs[i] = tx
			}
		}()
	}
	wg.Wait()
	return pb, firstErr
}

// next implements workload.
func (pb *prebuilt) next() (genTx, error) {
	i := int(pb.i.Add(1)) - 1
	if i < len(pb.txs) {
		tx := pb.txs[i]
		pb.txs[i] = genTx{}
		return tx, nil
	}
	pb.onFly.Add(1)
	return pb.more.next()
}

// sampleTxBytes is the size of a signed adverse event submission (two
// rows, neither serious: the common case), the size kvstore txs are given
// by default.
func sampleTxBytes() (int, error) {
	k := example.FormKey(runSubject(9999, 99998), "UNS", 2, "AE")
	raw, err := types.BuildTx("veritrial-dev", "site1-coordinator", 1000, newFixedKey(), example.SubmitMsg(k, example.AE(2, 1)))
	return len(raw), err
}

// fixedKey signs with a key of its own, to size a tx: a signature's size
// does not depend on the key.
type fixedKey ed25519.PrivateKey

func newFixedKey() fixedKey { return fixedKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))) }

// PubKey implements client.Signer.
func (k fixedKey) PubKey() ed25519.PublicKey {
	return ed25519.PrivateKey(k).Public().(ed25519.PublicKey)
}

// Sign implements client.Signer.
func (k fixedKey) Sign(msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(k), msg) }
