package app_test

import (
	"crypto/sha256"
	"sync"

	"github.com/veritrial/veritrial/app/allocation"
	"github.com/veritrial/veritrial/app/apptest"
)

// propertyList is the allocation list the property test's randomisation
// steps draw from: 24 entries in each stratum of site1.
var propertyList = sync.OnceValue(func() *allocation.List {
	l, err := allocation.Generate(apptest.StudyID, apptest.Example().Randomization.AllStrata([]string{"site1"}), exampleArms, 24, 6, sha256.Sum256([]byte("property")))
	if err != nil {
		panic(err)
	}
	return l
})

// randState is what the randomisation steps sent: the subjects whose
// eligibility form was sent, and the entries sent of each stratum.
type randState struct {
	eligible   []string
	registered map[string]int
}

// randomization is a random randomisation step: six entries of a stratum
// registered (mostly in order), an eligibility form, a screening vital
// signs form, a randomisation (mostly of a subject whose eligibility was
// sent), an unblinding, or a publication (sometimes of another arm).
func (g *txGen) randomization() []byte {
	l, rs := propertyList(), &g.rs
	stratum := g.pick(l.Strata)
	subject := g.subject()
	if len(rs.eligible) > 0 && g.r.Intn(4) > 0 {
		subject = g.pick(rs.eligible)
	}
	switch g.r.Intn(6) {
	case 0:
		if rs.registered == nil {
			rs.registered = map[string]int{}
		}
		first := 1 + 6*g.r.Intn(4)
		if g.r.Intn(4) > 0 && rs.registered[stratum] < 24 {
			first = rs.registered[stratum] + 1
			rs.registered[stratum] += 6
		}
		return g.c.Tx("sponsor-stat", apptest.RegisterAllocationsMsg(stratum, first, commitments(l, stratum, first, first+5)...))
	case 1:
		subject = g.subject()
		rs.eligible = append(rs.eligible, subject)
		return g.c.Tx(g.signer(), apptest.SubmitMsg(apptest.FormKey(subject, "SCR", 1, "IE"), apptest.IE(g.r.Intn(4) > 0)))
	case 2:
		return g.c.Tx(g.signer(), apptest.SubmitMsg(apptest.FormKey(subject, "SCR", 1, "VS"), apptest.VS(140+g.r.Intn(40), 90)))
	case 3:
		return g.c.Tx(g.signer(), apptest.RandomizeMsg(subject))
	case 4:
		return g.c.Tx(g.pick([]string{"site1-investigator", "site1-investigator", "site1-coordinator"}), apptest.UnblindMsg(subject, "emergency"))
	}
	e, _ := l.Entry(stratum, 1+g.r.Intn(6))
	r := e.Reveal()
	if g.r.Intn(4) == 0 {
		r.Arm = g.pick(exampleArms)
	}
	return g.c.Tx("sponsor-stat", apptest.PublishMsg(r))
}
