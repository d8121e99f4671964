package app_test

import (
	"fmt"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// BenchmarkPublishWholeList: after the database lock, the publication of
// a 10,008-entry allocation list (two strata of 5,004) in transactions of
// types.MaxRevealsPerTx entries, one block: every validator's check of
// the whole list against its commitments.
//
//	go test ./app -run '^$' -bench PublishWholeList -benchtime 3x
func BenchmarkPublishWholeList(b *testing.B) {
	for range b.N {
		b.StopTimer()
		c := apptest.New(b)
		c.SetupStudy()
		l := exampleList(b, 5004, "site1")
		var reveals []types.AllocationReveal
		for _, s := range l.Strata {
			for first := 1; first <= 5004; first += types.MaxCommitmentsPerTx {
				last := min(first+types.MaxCommitmentsPerTx-1, 5004)
				c.MustDo("sponsor-stat", apptest.RegisterAllocationsMsg(s, first, commitments(l, s, first, last)...))
			}
			for _, e := range l.Entries(s) {
				reveals = append(reveals, e.Reveal())
			}
		}
		lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: apptest.StudyID}, "")
		c.MustDo("regulator-auditor", lock)
		c.MustDo("sponsor-dm", lock)
		var txs [][]byte
		for from := 0; from < len(reveals); from += types.MaxRevealsPerTx {
			txs = append(txs, c.Tx("sponsor-stat", apptest.PublishMsg(reveals[from:min(from+types.MaxRevealsPerTx, len(reveals))]...)))
		}
		b.StartTimer()
		for i, r := range c.Block(txs...) {
			if r.Code != 0 {
				b.Fatalf("publication %d: %d %s", i, r.Code, r.Log)
			}
		}
	}
}

// BenchmarkRandomize: a block of 100 randomisations, each reading the
// subject's eligibility and screening forms and assigning an entry.
//
//	go test ./app -run '^$' -bench Randomize -benchtime 3x
func BenchmarkRandomize(b *testing.B) {
	const subjects = 100
	for range b.N {
		b.StopTimer()
		c := apptest.New(b)
		c.SetupStudy()
		l := exampleList(b, 120, "site1")
		registerList(c, l)
		for i := range subjects {
			screen(c, fmt.Sprintf("S1-%03d", i+1), "site1", true, 130+i%60)
		}
		var txs [][]byte
		for i := range subjects {
			txs = append(txs, c.Tx("site1-coordinator", apptest.RandomizeMsg(fmt.Sprintf("S1-%03d", i+1))))
		}
		b.StartTimer()
		for i, r := range c.Block(txs...) {
			if r.Code != 0 {
				b.Fatalf("randomisation %d: %d %s", i, r.Code, r.Log)
			}
		}
	}
}
