package app_test

import (
	"encoding/json"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// TestScenarioFirstEntryToDatabaseLock takes a small study (two subjects,
// SDV of every form) from the first entry to the database lock, through
// queries, SDV, corrections, signatures, a freeze and the k-of-n lock,
// and checks the locked dataset is what is provable at the lock height.
func TestScenarioFirstEntryToDatabaseLock(t *testing.T) {
	a := scenarioToLock(t)
	// Replicas fed the same transactions agree on every app hash.
	b := scenarioToLock(t)
	if len(a.Hashes) != len(b.Hashes) {
		t.Fatalf("%d heights vs %d", len(a.Hashes), len(b.Hashes))
	}
	for h, x := range a.Hashes {
		if string(b.Hashes[h]) != string(x) {
			t.Fatalf("app hash differs at height %d", h)
		}
	}
}

func scenarioToLock(t *testing.T) *apptest.Chain {
	c := apptest.New(t)
	reg := apptest.RegisterMsg(apptest.Example())
	reg.RegisterStudy.SDVPolicy = types.SDVAll
	c.SetupStudyWith(reg)
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))

	// First entries; S1-002's systolic pressure draws a soft warning and
	// the ledger opens query 1.
	s1vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	s1lb := apptest.FormKey("S1-001", "SCR", 1, "LB")
	s2vs := apptest.FormKey("S1-002", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(s1vs, apptest.VS(128, 84)))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(s1lb, apptest.LB()))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(s2vs, apptest.VS(195, 90)))
	if q := getQuery(t, c, 1); q.RaisedBy != types.SystemRaiser || q.Subject != "S1-002" {
		t.Fatalf("system query %+v", q)
	}

	// Monitoring visit: SDV of S1-001, a query on S1-001's heart rate.
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "", ""))
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(s1vs, "VS.HR", "Source shows 78 bpm"))
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-002", "SCR", 1, "VS", ""))

	// The site answers: S1-001 by correction (de-verifies HR), S1-002 with a
	// comment (the value is right).
	fix := apptest.CorrectMsg(s1vs, "transcription error, source shows 78", apptest.V("VS.HR", "78"))
	fix.CorrectForm.Resolves = []int{2}
	c.MustDo("site1-coordinator", fix)
	c.MustDo("site1-investigator", apptest.QueryMsg(types.KindQueryAnswer, 1, "Confirmed against source: 195 mmHg, subject referred"))
	if r := getSDV(t, c, s1vs); r.Status != types.SDVPartial {
		t.Fatalf("S1-001 VS after correction: %+v", r)
	}
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "VS", "VS.HR"))
	c.MustDo("cro-monitor", apptest.QueryMsg(types.KindQueryClose, 2, "corrected"))
	c.MustDo("sponsor-dm", apptest.QueryMsg(types.KindQueryClose, 1, "confirmed"))

	// Freeze the study for review and signature; the site can no longer edit.
	whole := types.Scope{Study: study}
	c.MustDo("sponsor-dm", apptest.ScopeMsg(types.KindFreeze, whole, "last patient last visit"))
	if code, _ := c.Do("site1-coordinator", apptest.CorrectMsg(s2vs, "x", apptest.V("VS.HR", "70"))); code != types.CodeFrozen {
		t.Fatalf("edit in a frozen study: %s", code)
	}
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("site1-investigator", c.SignMsg("S1-002", "", 0, "", "approval"))

	// Database lock: the sponsor's data manager, then the regulator.
	lock := apptest.ScopeMsg(types.KindLock, whole, "database lock for the final analysis")
	c.MustDo("sponsor-dm", lock)
	var s types.Study
	get(t, c, types.KeyStudy(study), &s)
	if s.LockHeight != 0 {
		t.Fatal("locked with one approval")
	}
	c.MustDo("regulator-auditor", lock)
	lockHeight := c.Height
	s = types.Study{}
	get(t, c, types.KeyStudy(study), &s)
	if s.LockHeight != lockHeight {
		t.Fatalf("lock height %d, want %d", s.LockHeight, lockHeight)
	}
	if code, log := c.Do("site1-investigator", apptest.CorrectMsg(s2vs, "x", apptest.V("VS.HR", "70"))); code != types.CodeLocked {
		t.Fatalf("edit after lock: %s %s", code, log)
	}

	// The locked dataset: every form, query, SDV record and signature at
	// the lock height, each with a proof.
	forms := list(t, c, types.PrefixForm+study+"/", lockHeight, 0)
	if len(forms) != 3 {
		t.Fatalf("%d forms in the locked dataset", len(forms))
	}
	for _, e := range forms {
		rawGet(t, c, []byte(e.Key), lockHeight)
	}
	for _, e := range list(t, c, types.PrefixQuery+study+"/", lockHeight, 0) {
		var q types.Query
		if err := json.Unmarshal(e.Value, &q); err != nil || !q.Status.Resolved() {
			t.Errorf("query in the locked dataset %+v %v", q, err)
		}
	}
	for _, e := range list(t, c, types.PrefixSignature+study+"/", lockHeight, 0) {
		var sg types.Signature
		if err := json.Unmarshal(e.Value, &sg); err != nil || sg.Status != types.SignatureValid {
			t.Errorf("signature %+v %v", sg, err)
		}
	}
	for _, e := range list(t, c, types.PrefixSDV+study+"/", lockHeight, 0) {
		var r types.SDVRecord
		if err := json.Unmarshal(e.Value, &r); err != nil || r.Status != types.SDVVerified {
			t.Errorf("SDV %+v %v", r, err)
		}
	}
	// A restarted node holds the same locked state.
	c.Reopen()
	s = types.Study{}
	get(t, c, types.KeyStudy(study), &s)
	if s.LockHeight != lockHeight {
		t.Errorf("after restart: lock height %d", s.LockHeight)
	}
	return c
}
