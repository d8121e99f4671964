package app_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/allocation"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// Strata of the example study's sites.
const (
	s1Low  = "site1+SBP-LT160"
	s1High = "site1+SBP-GE160"
	s2Low  = "site2+SBP-LT160"
)

var exampleArms = []string{"ARM.PBO", "ARM.LOW", "ARM.HIGH"}

// exampleList is a list of size entries per stratum of sites.
func exampleList(t testing.TB, size int, sites ...string) *allocation.List {
	t.Helper()
	strata := apptest.Example().Randomization.AllStrata(sites)
	l, err := allocation.Generate(apptest.StudyID, strata, exampleArms, size, 6, sha256.Sum256([]byte("test seed")))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// commitments are the commitments of entries from..to of a stratum.
func commitments(l *allocation.List, stratum string, from, to int) []string {
	var out []string
	for _, e := range l.Entries(stratum)[from-1 : to] {
		out = append(out, e.Commitment())
	}
	return out
}

// registerList registers every stratum of l as sponsor-stat.
func registerList(c *apptest.Chain, l *allocation.List) {
	c.T.Helper()
	for _, s := range l.Strata {
		c.MustDo("sponsor-stat", apptest.RegisterAllocationsMsg(s, 1, commitments(l, s, 1, len(l.Entries(s)))...))
	}
}

// screen enrols subject at site and enters its demographics, eligibility
// (eligible or not) and screening vital signs with systolic pressure sbp.
func screen(c *apptest.Chain, subject, site string, eligible bool, sbp int) {
	c.T.Helper()
	coord := site + "-coordinator"
	c.MustDo(coord, apptest.EnrollMsg(subject, site))
	c.MustDo(coord, apptest.SubmitMsg(apptest.FormKey(subject, "SCR", 1, "DM"), apptest.DM()))
	c.MustDo(coord, apptest.SubmitMsg(apptest.FormKey(subject, "SCR", 1, "IE"), apptest.IE(eligible)))
	c.MustDo(coord, apptest.SubmitMsg(apptest.FormKey(subject, "SCR", 1, "VS"), apptest.VS(sbp, 80)))
}

func allocationOf(t *testing.T, c *apptest.Chain, subject string) types.Allocation {
	t.Helper()
	var a types.Allocation
	get(t, c, types.KeyAllocation(apptest.StudyID, subject), &a)
	return a
}

// The scripted flow: register, randomise, unblind, publish; the ledger
// holds no arm until the publication, and then one that opens the
// commitment.
func TestRandomizeUnblindPublish(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	l := exampleList(t, 6, "site1")
	registerList(c, l)
	screen(c, "S1-001", "site1", true, 150)
	screen(c, "S1-002", "site1", true, 170)
	screen(c, "S1-003", "site1", true, 120)
	for _, s := range []string{"S1-001", "S1-002", "S1-003"} {
		c.MustDo("site1-coordinator", apptest.RandomizeMsg(s))
	}
	for _, w := range []struct {
		subject, stratum string
		seq              int
	}{{"S1-001", s1Low, 1}, {"S1-002", s1High, 1}, {"S1-003", s1Low, 2}} {
		a := allocationOf(t, c, w.subject)
		e, _ := l.Entry(w.stratum, w.seq)
		if a.Stratum != w.stratum || a.Seq != w.seq || a.Commitment != e.Commitment() || a.Arm != "" || a.Salt != "" || a.Published != nil || a.Randomized.Signer != "site1-coordinator" {
			t.Errorf("%s: allocation %+v, want %s #%d sealed", w.subject, a, w.stratum, w.seq)
		}
	}
	var h types.RandStratum
	get(t, c, types.KeyRandStratum(apptest.StudyID, s1Low), &h)
	if h.Size != 6 || h.Assigned != 2 || h.Published != 0 {
		t.Errorf("stratum %+v", h)
	}
	c.MustDo("site1-investigator", apptest.UnblindMsg("S1-003", "anaphylaxis: treating physician needs the arm"))
	e, _ := l.Entry(s1Low, 2)
	c.MustDo("sponsor-stat", apptest.PublishMsg(e.Reveal()))
	a := allocationOf(t, c, "S1-003")
	if a.Arm != e.Arm || a.Published == nil || a.Unblinding == nil || a.Unblinding.Reason != "anaphylaxis: treating physician needs the arm" || a.Unblinding.Stamp.Signer != "site1-investigator" {
		t.Fatalf("published allocation %+v", a)
	}
	if err := a.Verify(); err != nil {
		t.Error(err)
	}
	var ent types.RandEntry
	get(t, c, types.KeyRandEntry(apptest.StudyID, s1Low, 2), &ent)
	if ent.Arm != e.Arm || ent.Subject != "S1-003" || ent.Published == nil {
		t.Errorf("entry %+v", ent)
	}
	if a := allocationOf(t, c, "S1-001"); a.Arm != "" {
		t.Errorf("a subject not unblinded shows arm %s", a.Arm)
	}
}

// Every refusal has its code and changes nothing (runSteps checks the
// state).
func TestRandomizationRefusals(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	l := exampleList(t, 6, "site1", "site2")
	reg := func(stratum string, first, to int) types.Msg {
		return apptest.RegisterAllocationsMsg(stratum, first, commitments(l, stratum, first, to)...)
	}
	runSteps(t, c, []step{
		{name: "data manager registers", signer: "sponsor-dm", msg: reg(s1Low, 1, 3), want: types.CodeUnauthorized, atCheck: true},
		{name: "investigator registers", signer: "site1-investigator", msg: reg(s1Low, 1, 3), want: types.CodeUnauthorized, atCheck: true},
		{name: "no commitment", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg(s1Low, 1), want: types.CodeInvalidMsg, atCheck: true},
		{name: "bad commitment", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg(s1Low, 1, "ABC"), want: types.CodeInvalidMsg, atCheck: true},
		{name: "entry 0", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg(s1Low, 0, commitments(l, s1Low, 1, 1)...), want: types.CodeInvalidMsg, atCheck: true},
		{name: "the first entry", signer: "sponsor-stat", msg: reg(s1Low, 1, 1), want: types.CodeOK},
		{name: "a band the protocol lacks", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg("site1+SBP-XX", 1, commitments(l, s1Low, 1, 1)...), want: types.CodeUnknownStratum},
		{name: "a site not active", signer: "sponsor-stat", msg: reg(s2Low, 1, 3), want: types.CodeUnknownStratum},
		{name: "a gap", signer: "sponsor-stat", msg: reg(s1Low, 3, 4), want: types.CodeAllocationSequence, logHas: []string{"continue at entry 2"}},
		{name: "a duplicate", signer: "sponsor-stat", msg: reg(s1Low, 1, 2), want: types.CodeAllocationSequence},
		{name: "the rest", signer: "sponsor-stat", msg: reg(s1Low, 2, 6), want: types.CodeOK},
	})
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	rnd := apptest.RandomizeMsg("S1-001")
	runSteps(t, c, []step{
		{name: "statistician randomises", signer: "sponsor-stat", msg: rnd, want: types.CodeUnauthorized, atCheck: true},
		{name: "unknown subject", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-999"), want: types.CodeUnknownSubject},
		{name: "eligibility not entered", signer: "site1-coordinator", msg: rnd, want: types.CodeEligibilityMissing, logHas: []string{"IE.ELIG"}},
	})
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "DM"), apptest.DM()))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "IE"), apptest.IE(true)))
	runSteps(t, c, []step{
		{name: "stratification item not entered", signer: "site1-coordinator", msg: rnd, want: types.CodeEligibilityMissing, logHas: []string{"VS.SYSBP"}},
	})
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(170, 80)))
	runSteps(t, c, []step{
		{name: "no list for the stratum", signer: "site1-coordinator", msg: rnd, want: types.CodeNoAllocationList, logHas: []string{s1High}},
	})
	c.MustDo("site1-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), "transcription error", apptest.V("VS.SYSBP", "150")))
	runSteps(t, c, []step{
		{name: "another site's subject", signer: "site2-coordinator", msg: rnd, want: types.CodeWrongSite},
		{name: "randomise", signer: "site1-coordinator", msg: rnd, want: types.CodeOK},
		{name: "again", signer: "site1-coordinator", msg: rnd, want: types.CodeAlreadyRandomized},
	})
	screen(c, "S1-002", "site1", false, 150)
	screen(c, "S1-003", "site1", true, 150)
	c.MustDo("site1-coordinator", apptest.WithdrawMsg("S1-003", "moved away"))
	runSteps(t, c, []step{
		{name: "not eligible", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-002"), want: types.CodeNotEligible},
		{name: "withdrawn", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-003"), want: types.CodeSubjectWithdrawn},
	})
	for i := 4; i <= 9; i++ {
		screen(c, fmt.Sprintf("S1-%03d", i), "site1", true, 140)
	}
	for i := 4; i <= 9; i++ {
		code := types.CodeOK
		if i == 9 {
			code = types.CodeStratumExhausted
		}
		runSteps(t, c, []step{{name: fmt.Sprintf("S1-%03d", i), signer: "site1-coordinator", msg: apptest.RandomizeMsg(fmt.Sprintf("S1-%03d", i)), want: code}})
	}
}

// Unblinding and publication refusals.
func TestUnblindPublishRefusals(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	l := exampleList(t, 6, "site1")
	registerList(c, l)
	screen(c, "S1-001", "site1", true, 150)
	screen(c, "S1-002", "site1", true, 150)
	c.MustDo("site1-coordinator", apptest.RandomizeMsg("S1-001"))
	unb := apptest.UnblindMsg("S1-001", "suspected overdose")
	e1, _ := l.Entry(s1Low, 1)
	e2, _ := l.Entry(s1Low, 2)
	wrongSalt := e1.Reveal()
	wrongSalt.Salt = e2.Reveal().Salt
	wrongArm := e1.Reveal()
	wrongArm.Arm = exampleArms[(indexOf(exampleArms, e1.Arm)+1)%3]
	notArm := e1.Reveal()
	notArm.Arm = "ARM.X"
	missing := e1.Reveal()
	missing.Seq = 7
	runSteps(t, c, []step{
		{name: "publish before the unblinding", signer: "sponsor-stat", msg: apptest.PublishMsg(e1.Reveal()), want: types.CodeStillBlinded},
		{name: "coordinator unblinds", signer: "site1-coordinator", msg: unb, want: types.CodeUnauthorized, atCheck: true},
		{name: "no reason", signer: "site1-investigator", msg: apptest.UnblindMsg("S1-001", " "), want: types.CodeReasonRequired, atCheck: true},
		{name: "not randomised", signer: "site1-investigator", msg: apptest.UnblindMsg("S1-002", "x"), want: types.CodeNotRandomized},
		{name: "unblind", signer: "site1-investigator", msg: unb, want: types.CodeOK},
		{name: "unblind again", signer: "site1-investigator", msg: unb, want: types.CodeAlreadyUnblinded},
		{name: "data manager publishes", signer: "sponsor-dm", msg: apptest.PublishMsg(e1.Reveal()), want: types.CodeUnauthorized, atCheck: true},
		{name: "salt of another entry", signer: "sponsor-stat", msg: apptest.PublishMsg(wrongSalt), want: types.CodeAllocationMismatch},
		{name: "another arm", signer: "sponsor-stat", msg: apptest.PublishMsg(wrongArm), want: types.CodeAllocationMismatch},
		{name: "not an arm", signer: "sponsor-stat", msg: apptest.PublishMsg(notArm), want: types.CodeAllocationMismatch},
		{name: "no such entry", signer: "sponsor-stat", msg: apptest.PublishMsg(missing), want: types.CodeNoAllocationList},
		{name: "twice in one tx", signer: "sponsor-stat", msg: apptest.PublishMsg(e1.Reveal(), e1.Reveal()), want: types.CodeInvalidMsg, atCheck: true},
		{name: "the unblinded entry with a sealed one", signer: "sponsor-stat", msg: apptest.PublishMsg(e1.Reveal(), e2.Reveal()), want: types.CodeStillBlinded},
		{name: "publish", signer: "sponsor-stat", msg: apptest.PublishMsg(e1.Reveal()), want: types.CodeOK},
		{name: "publish again", signer: "sponsor-stat", msg: apptest.PublishMsg(e1.Reveal()), want: types.CodeAlreadyPublished},
	})
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// A study whose protocol has no randomisation section randomises nothing.
func TestRandomizationNeedsTheSection(t *testing.T) {
	c := apptest.New(t)
	p := apptest.Example()
	p.Randomization = nil
	c.SetupStudyWith(apptest.RegisterMsg(p))
	l := exampleList(t, 6, "site1")
	screen(c, "S1-001", "site1", true, 150)
	runSteps(t, c, []step{
		{name: "register", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg(s1Low, 1, commitments(l, s1Low, 1, 6)...), want: types.CodeNoRandomization},
		{name: "randomise", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-001"), want: types.CodeNoRandomization},
	})
}

// A ledger at version 2 refuses the randomisation kinds (kind_not_yet)
// at CheckTx and in the block.
func TestRandomizationKindsNeedVersion3(t *testing.T) {
	c := apptest.NewAtVersion(t, 2)
	c.SetupStudy()
	l := exampleList(t, 6, "site1")
	e, _ := l.Entry(s1Low, 1)
	runSteps(t, c, []step{
		{name: "register", signer: "sponsor-stat", msg: apptest.RegisterAllocationsMsg(s1Low, 1, commitments(l, s1Low, 1, 6)...), want: types.CodeKindNotYet, atCheck: true},
		{name: "randomise", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-001"), want: types.CodeKindNotYet, atCheck: true},
		{name: "unblind", signer: "site1-investigator", msg: apptest.UnblindMsg("S1-001", "x"), want: types.CodeKindNotYet, atCheck: true},
		{name: "publish", signer: "sponsor-stat", msg: apptest.PublishMsg(e.Reveal()), want: types.CodeKindNotYet, atCheck: true},
	})
}

// After the database lock the whole list is published, entries never
// assigned included; before it, nothing sealed can be.
func TestPublishWholeListAtLock(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	l := exampleList(t, 6, "site1")
	registerList(c, l)
	screen(c, "S1-001", "site1", true, 150)
	c.MustDo("site1-coordinator", apptest.RandomizeMsg("S1-001"))
	var all []types.AllocationReveal
	for _, s := range l.Strata {
		for _, e := range l.Entries(s) {
			all = append(all, e.Reveal())
		}
	}
	runSteps(t, c, []step{{name: "before the lock", signer: "sponsor-stat", msg: apptest.PublishMsg(all...), want: types.CodeStillBlinded}})
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: apptest.StudyID}, "")
	c.MustDo("regulator-auditor", lock)
	c.MustDo("sponsor-dm", lock)
	runSteps(t, c, []step{{name: "after the lock", signer: "sponsor-stat", msg: apptest.PublishMsg(all...), want: types.CodeOK}})
	a := allocationOf(t, c, "S1-001")
	if a.Published == nil || a.Verify() != nil || a.Unblinding != nil {
		t.Errorf("allocation after the lock %+v", a)
	}
	for _, s := range l.Strata {
		var h types.RandStratum
		get(t, c, types.KeyRandStratum(apptest.StudyID, s), &h)
		if h.Published != 6 {
			t.Errorf("%s: %d published", s, h.Published)
		}
	}
}

// Property: random enrolments, randomisations and unblindings across
// strata never reuse or skip a sequence number, and every allocation opens
// with its list entry (off the ledger and, once published, on it).
func TestRandomizationProperty(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := apptest.New(t)
			randomizationRun(t, c, seed)
		})
	}
}

// A chain that randomised, unblinded and published over more blocks than
// a tx's nonce lives (100 heights, so that nonces are pruned on the way)
// replays from genesis to the same app hash at every height, across a
// restart halfway; under either nonce layout (state-machine versions 3
// and 4).
func TestRandomizationReplay(t *testing.T) {
	for _, v := range []uint64{3, 4} {
		t.Run(fmt.Sprint("version ", v), func(t *testing.T) {
			a := apptest.NewAtVersion(t, v)
			a.Record = true
			randomizationRun(t, a, 1)
			if len(a.Blocks) < 120 {
				t.Fatalf("only %d blocks: the run does not outlive a nonce", len(a.Blocks))
			}
			b := apptest.NewAtVersion(t, v)
			for i, txs := range a.Blocks {
				if i == len(a.Blocks)/2 {
					b.Reopen()
				}
				b.Block(txs...)
				if !bytes.Equal(b.AppHash, a.Hashes[b.Height]) {
					t.Fatalf("height %d: the replay's app hash %X differs from %X", b.Height, b.AppHash, a.Hashes[b.Height])
				}
			}
			if !bytes.Equal(b.AppHash, a.AppHash) {
				t.Fatal("the replay ends elsewhere")
			}
		})
	}
}

// randomizationRun drives c through the study's setup and 24 random
// screenings, randomisations, unblindings and publications (seed picks
// them) and checks the allocations' sequence against the list.
func randomizationRun(t *testing.T, c *apptest.Chain, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	c.SetupStudy()
	c.ActivateSite("site2")
	l := exampleList(t, 12, "site1", "site2")
	registerList(c, l)
	assigned := map[string][]string{} // stratum -> subjects in order
	var subjects []string
	n := map[string]int{}
	for i := 0; i < 24; i++ {
		site := []string{"site1", "site2"}[r.IntN(2)]
		n[site]++
		id := fmt.Sprintf("S%s-%03d", strings.TrimPrefix(site, "site"), n[site])
		sbp := 140 + r.IntN(40)
		eligible := r.IntN(5) > 0
		screen(c, id, site, eligible, sbp)
		subjects = append(subjects, id)
		// Randomise a random earlier subject not yet tried.
		j := r.IntN(len(subjects))
		s := subjects[j]
		subjects = append(subjects[:j], subjects[j+1:]...)
		code, log := c.Do("site"+s[1:2]+"-coordinator", apptest.RandomizeMsg(s))
		switch code {
		case types.CodeOK:
			a := allocationOf(t, c, s)
			assigned[a.Stratum] = append(assigned[a.Stratum], s)
			if a.Seq != len(assigned[a.Stratum]) {
				t.Fatalf("%s got %s #%d, want #%d", s, a.Stratum, a.Seq, len(assigned[a.Stratum]))
			}
			e, ok := l.Entry(a.Stratum, a.Seq)
			if !ok || e.Commitment() != a.Commitment {
				t.Fatalf("%s: entry %s #%d does not open the commitment", s, a.Stratum, a.Seq)
			}
			if r.IntN(3) == 0 {
				c.MustDo(a.Site+"-investigator", apptest.UnblindMsg(s, "emergency"))
				c.MustDo("sponsor-stat", apptest.PublishMsg(e.Reveal()))
				if got := allocationOf(t, c, s); got.Arm != e.Arm || got.Verify() != nil {
					t.Fatalf("%s: published %+v", s, got)
				}
			}
		case types.CodeNotEligible:
		default:
			t.Fatalf("randomise %s: %s %s", s, code, log)
		}
	}
	for stratum, subs := range assigned {
		var h types.RandStratum
		get(t, c, types.KeyRandStratum(apptest.StudyID, stratum), &h)
		if h.Assigned != len(subs) {
			t.Errorf("%s: %d assigned, %d subjects", stratum, h.Assigned, len(subs))
		}
		for i, s := range subs {
			var e types.RandEntry
			get(t, c, types.KeyRandEntry(apptest.StudyID, stratum, i+1), &e)
			if e.Subject != s {
				t.Errorf("%s #%d holds %q, want %s", stratum, i+1, e.Subject, s)
			}
		}
	}
}

// A freeze refuses a randomisation, as any site entry, but not an
// emergency unblinding; a lock refuses both.
func TestRandomizationUnderFreezeAndLock(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	registerList(c, exampleList(t, 6, "site1"))
	screen(c, "S1-001", "site1", true, 150)
	subj := types.Scope{Study: apptest.StudyID, Subject: "S1-001"}
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, subj, ""))
	runSteps(t, c, []step{{name: "randomise a frozen subject", signer: "site1-coordinator", msg: apptest.RandomizeMsg("S1-001"), want: types.CodeFrozen}})
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindUnfreeze, subj, "randomisation"))
	c.MustDo("site1-coordinator", apptest.RandomizeMsg("S1-001"))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, subj, ""))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindLock, subj, ""))
	runSteps(t, c, []step{{name: "unblind a locked subject", signer: "site1-investigator", msg: apptest.UnblindMsg("S1-001", "emergency"), want: types.CodeLocked}})
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindUnlock, subj, "emergency unblinding"))
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, subj, ""))
	var l types.ScopeLock
	if get(t, c, types.KeyLock(subj), &l); l.State != types.StateFrozen {
		t.Fatalf("after the unlock the subject is %s, want frozen", l.State)
	}
	runSteps(t, c, []step{{name: "unblind a frozen subject", signer: "site1-investigator", msg: apptest.UnblindMsg("S1-001", "emergency"), want: types.CodeOK}})
}
