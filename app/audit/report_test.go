package audit

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// crafted builds entries in memory: one study, two sites, three users.
type crafted struct {
	L *Ledger
	h int64
}

func (c *crafted) add(t time.Time, signer, site string, code uint32, m types.Msg) {
	c.h++
	kind, msg, _ := m.Unpack()
	e := Entry{Height: c.h, Time: t.Format(time.RFC3339Nano), time: t, TxHash: "TX", Signer: signer, Kind: string(kind),
		Code: code, CodeName: types.Code(code).String(), Rejected: code != 0, Msg: &m}
	describe(&e, msg)
	e.Site = site
	e.ProtocolVersion = 1
	c.L.Entries = append(c.L.Entries, e)
}

func fk(subj, form string) types.FormKey {
	return types.FormKey{Study: "S", Subject: subj, Event: "SCR", EventRepeat: 1, Form: form}
}

func vals(kv ...string) []protocol.ItemValue {
	var out []protocol.ItemValue
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, protocol.ItemValue{Item: kv[i], Value: kv[i+1]})
	}
	return out
}

// TestComputeSignals checks every signal on a crafted history.
func TestComputeSignals(t *testing.T) {
	mon := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday, 10:00 UTC
	c := &crafted{L: &Ledger{Accounts: map[string]types.Account{}, LastTime: mon.AddDate(0, 0, 40)}}
	// site A, user a1: a timely entry of 4 values and one a month late
	// (20 values in all); two corrections of 1 and 2 values, the second
	// after SDV and after a casebook signature.
	c.add(mon, "a1", "A", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("A-1", "VS"), Values: vals("VS.DATE", "2026-03-01", "VS.HR", "60", "VS.SYSBP", "120", "VS.DIABP", "80")}})
	many := vals("LB.DATE", "2026-01-30")
	for i := 0; i < 15; i++ {
		many = append(many, protocol.ItemValue{Item: "LB.X", Repeat: i + 1, Value: "1"})
	}
	c.add(mon.Add(time.Hour), "a1", "A", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("A-1", "LB"), Values: many}})
	c.add(mon.Add(2*time.Hour), "a1", "A", 0, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk("A-1", "VS"), Changes: vals("VS.HR", "61"), Reason: "typo"}})
	c.add(mon.Add(3*time.Hour), "m1", "", 0, types.Msg{Verify: &types.MsgVerify{Study: "S", Subject: "A-1", Event: "SCR", EventRepeat: 1, Form: "VS"}})
	c.add(mon.Add(4*time.Hour), "i1", "A", 0, types.Msg{Sign: &types.MsgSign{Study: "S", Subject: "A-1", Meaning: "approval", ContentHash: "00"}})
	c.add(mon.Add(5*time.Hour), "a1", "A", 0, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk("A-1", "VS"), Changes: vals("VS.SYSBP", "121", "VS.DIABP", "81"), Reason: "source"}})
	// A correction of the LB form after the signature: signed too (casebook).
	c.add(mon.Add(6*time.Hour), "a1", "A", 0, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk("A-1", "LB"), Changes: vals("LB.DATE", "2026-01-31"), Reason: "date"}})
	// site B, user b1: an entry on Saturday night and one at 19:00 on a
	// weekday (outside), a rejected write (frozen) and a rejected
	// signature (not counted as data but as a rejected attempt).
	sat := time.Date(2026, 3, 7, 23, 30, 0, 0, time.UTC)
	c.add(sat, "b1", "B", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("B-1", "VS"), Values: vals("VS.DATE", "2026-03-07", "VS.HR", "70")}})
	c.add(mon.Add(9*time.Hour), "b1", "B", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("B-1", "DM"), Values: vals("DM.AGE", "50")}})
	c.add(mon.Add(9*time.Hour+time.Minute), "b1", "B", 509, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: fk("B-1", "VS"), Changes: vals("VS.HR", "71"), Reason: "x"}})
	c.add(mon.Add(9*time.Hour+2*time.Minute), "b1", "B", 204, types.Msg{Sign: &types.MsgSign{Study: "S", Subject: "B-1", Meaning: "approval", ContentHash: "00"}})
	// Another study's entries are ignored.
	c.add(mon, "b1", "B", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: types.FormKey{Study: "OTHER", Subject: "X", Event: "SCR", EventRepeat: 1, Form: "VS"}, Values: vals("VS.HR", "1")}})
	// Queries: one closed after 20 days (long), one closed after 2 days,
	// one still open after 40 days (long).
	q := func(n int, site string, status types.QueryStatus, opened, closed time.Time) types.Query {
		th := []types.QueryMessage{{Action: "open", Stamp: types.Stamp{Time: opened.Format(time.RFC3339Nano)}}}
		if !closed.IsZero() {
			th = append(th, types.QueryMessage{Action: "close", Stamp: types.Stamp{Time: closed.Format(time.RFC3339Nano)}})
		}
		return types.Query{Study: "S", Number: n, Site: site, Subject: "A-1", Event: "SCR", EventRepeat: 1, Form: "VS", Status: status, RaisedBy: "m1", Thread: th}
	}
	c.L.Queries = []types.Query{
		q(1, "A", types.QueryClosed, mon, mon.AddDate(0, 0, 20)),
		q(2, "A", types.QueryClosed, mon, mon.AddDate(0, 0, 2)),
		q(3, "B", types.QueryOpen, mon, time.Time{}),
	}
	// Protocol: v1 registered, v2 in force moves a secondary outcome to
	// primary.
	p1 := protocol.Protocol{Study: protocol.Study{ID: "S", Version: "1",
		PrimaryOutcomes:   []protocol.Outcome{{Measure: "SBP change", TimeFrame: "12 weeks"}},
		SecondaryOutcomes: []protocol.Outcome{{Measure: "DBP change", TimeFrame: "12 weeks"}}}}
	p2 := p1
	p2.Study.Version = "2"
	p2.Study.PrimaryOutcomes = []protocol.Outcome{{Measure: "DBP change", TimeFrame: "12 weeks"}}
	p2.Study.SecondaryOutcomes = []protocol.Outcome{{Measure: "SBP change", TimeFrame: "12 weeks"}}
	c.L.Versions = []types.ProtocolVersion{{Study: "S", Number: 1, Protocol: p1}, {Study: "S", Number: 2, Protocol: p2, Amendment: 1}}
	c.L.Amendments = []types.Amendment{{Study: "S", Number: 1, Label: "2", Status: types.AmendmentApproved, Changes: []string{"changed outcome primary: x"}, Version: 2}}

	rep := Compute(c.L, "S", DefaultRules)
	got := map[string]Signals{}
	for _, s := range append(rep.Sites, rep.Users...) {
		got[s.Key] = s
	}
	a := got["A"]
	if a.Entries != 2 || a.Values != 20 || a.LateEntries != 1 || a.MaxDelayDays != 31.5 {
		t.Errorf("site A entries: %+v", a)
	}
	if a.Corrections != 3 || a.CorrectedValues != 4 || a.CorrectionsPer100 != 20 {
		t.Errorf("site A corrections: %+v", a)
	}
	if a.AfterSDV != 1 || a.AfterSignature != 2 {
		t.Errorf("site A after SDV/signature: %+v", a)
	}
	if a.OutsideHours != 0 || a.Rejected != 0 || a.LongOpenQueries != 1 {
		t.Errorf("site A hours/rejections/queries: %+v", a)
	}
	b := got["B"]
	if b.Entries != 2 || b.Values != 3 || b.LateEntries != 0 || b.OutsideHours != 2 || b.Rejected != 2 || b.LongOpenQueries != 1 ||
		b.RejectedByCode["509 frozen"] != 1 || b.RejectedByCode["204 unauthorized"] != 1 {
		t.Errorf("site B: %+v", b)
	}
	if u := got["b1"]; u.Rejected != 2 || u.OutsideHours != 2 {
		t.Errorf("user b1: %+v", u)
	}
	if u := got["a1"]; u.Corrections != 3 || u.CorrectionsPer100 != 20 {
		t.Errorf("user a1: %+v", u)
	}
	count := map[string]int{}
	for _, f := range rep.Findings {
		count[f.Signal]++
	}
	want := map[string]int{"late entry": 1, "correction after SDV": 1, "correction after signature": 2, "outside working hours": 2, "rejected attempt": 2, "query open for long": 2}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("findings %q: %d, want %d (%v)", k, count[k], v, count)
		}
	}
	if oc := rep.Outcomes; oc == nil || !oc.Switched || oc.RegisteredVersion != 1 || oc.InForceVersion != 2 || len(oc.Changes) == 0 {
		t.Errorf("outcomes: %+v", rep.Outcomes)
	}
	if len(rep.Amendments) != 1 || !rep.Amendments[0].Outcomes {
		t.Errorf("amendments: %+v", rep.Amendments)
	}

	// The workbook has every sheet.
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, ReportSheets(rep)); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 10 || got[0] != "Sites" || got[2] != "Findings" || got[5] != "Overdue visits" || got[6] != "Deviations" || got[7] != "Serious adverse events" || got[8] != "Unblindings" {
		t.Errorf("sheets: %v", got)
	}
	rows, _ := f.GetRows("Findings")
	if len(rows) != 1+len(rep.Findings) {
		t.Errorf("findings sheet has %d rows for %d findings", len(rows), len(rep.Findings))
	}
}

// TestComputeSchedule: the visits overdue on the date of the last block
// read, under the protocol in force, and the study's deviations.
func TestComputeSchedule(t *testing.T) {
	p := protocol.Example()
	L := &Ledger{Accounts: map[string]types.Account{}, LastTime: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC),
		Versions: []types.ProtocolVersion{{Study: p.Study.ID, Number: 1, Protocol: *p}}}
	sub := func(id, site string, status types.SubjectStatus) types.Subject {
		return types.Subject{Study: p.Study.ID, ID: id, Site: site, Status: status, Enrolled: types.Stamp{Time: "2026-02-10T09:00:00Z"}}
	}
	vs := func(subject, event, date string) types.FormRecord {
		return types.FormRecord{FormKey: types.FormKey{Study: p.Study.ID, Subject: subject, Event: event, EventRepeat: 1, Form: "VS"}, Values: vals("VS.DATE", date)}
	}
	L.Subjects = []types.Subject{sub("S1-001", "site1", types.SubjectEnrolled), sub("S1-002", "site1", types.SubjectWithdrawn), sub("S2-001", "site2", types.SubjectEnrolled)}
	// Baseline 2026-03-02 for all three: week 4 closed on 2026-04-02 and
	// week 8 on 2026-04-30. S1-001 came at week 4; S1-002 left.
	L.Forms = []types.FormRecord{vs("S1-001", "SCR", "2026-02-16"), vs("S1-001", "D1", "2026-03-02"), vs("S1-001", "W4", "2026-03-30"),
		vs("S1-002", "D1", "2026-03-02"), vs("S2-001", "D1", "2026-03-02")}
	L.Deviations = []types.Deviation{{FormKey: types.FormKey{Study: p.Study.ID, Subject: "S2-001", Event: "SCR", EventRepeat: 1, Form: "VS"}, Status: types.DeviationOpen},
		{FormKey: types.FormKey{Study: "OTHER", Subject: "X", Event: "SCR", EventRepeat: 1, Form: "VS"}}}
	rep := Compute(L, p.Study.ID, DefaultRules)
	var got []string
	for _, o := range rep.Overdue {
		got = append(got, fmt.Sprintf("%s %s %s %d", o.Site, o.Subject, o.Event, o.DaysOverdue))
	}
	want := "site1 S1-001 W8 1|site2 S2-001 SCR 61|site2 S2-001 W4 29|site2 S2-001 W8 1"
	if strings.Join(got, "|") != want {
		t.Errorf("overdue %v\nwant %s", got, want)
	}
	if len(rep.Deviations) != 1 || rep.Deviations[0].Subject != "S2-001" {
		t.Errorf("deviations %+v", rep.Deviations)
	}
}

// TestInWorkingHours pins the documented rule.
func TestInWorkingHours(t *testing.T) {
	for _, tc := range []struct {
		t    string
		want bool
	}{
		{"2026-03-02T07:00:00Z", true},  // Monday 07:00
		{"2026-03-02T06:59:59Z", false}, // before
		{"2026-03-02T18:59:59Z", true},
		{"2026-03-02T19:00:00Z", false}, // the end is excluded
		{"2026-03-06T12:00:00Z", true},  // Friday
		{"2026-03-07T12:00:00Z", false}, // Saturday
		{"2026-03-08T12:00:00Z", false}, // Sunday
		{"2026-03-02T12:00:00+05:00", true},
	} {
		tm, _ := time.Parse(time.RFC3339, tc.t)
		if got := InWorkingHours(tm, DefaultRules); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.t, got, tc.want)
		}
	}
}

// TestTrailFilter checks the subject, site, user and time filters.
func TestTrailFilter(t *testing.T) {
	mon := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := &crafted{L: &Ledger{}}
	c.add(mon, "a1", "A", 0, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("A-1", "VS"), Values: vals("VS.HR", "1")}})
	c.add(mon.Add(48*time.Hour), "b1", "B", 510, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: fk("B-1", "VS"), Values: vals("VS.HR", "1")}})
	for _, tc := range []struct {
		f    TrailFilter
		want int
	}{
		{TrailFilter{Study: "S"}, 2},
		{TrailFilter{Study: "T"}, 0},
		{TrailFilter{Study: "S", Subject: "B-1"}, 1},
		{TrailFilter{Study: "S", Site: "A"}, 1},
		{TrailFilter{Study: "S", User: "b1"}, 1},
		{TrailFilter{Study: "S", From: mon.Add(time.Hour)}, 1},
		{TrailFilter{Study: "S", To: mon.Add(time.Hour)}, 1},
	} {
		if got := len(c.L.Trail(tc.f)); got != tc.want {
			t.Errorf("%+v: %d entries, want %d", tc.f, got, tc.want)
		}
	}
}

// TestDescribeEveryKind: every message kind gets a description, and a tx
// that does not decode is listed as such with its result.
func TestDescribeEveryKind(t *testing.T) {
	k := fk("A-1", "VS")
	msgs := []types.Msg{
		{RegisterStudy: &types.MsgRegisterStudy{Protocol: protocol.Protocol{Study: protocol.Study{ID: "S", Version: "1"}}}},
		{ProposeAmendment: &types.MsgProposeAmendment{Study: "S", Rationale: "r"}},
		{ApproveAmendment: &types.MsgVoteAmendment{Study: "S", Amendment: 1}},
		{RejectAmendment: &types.MsgVoteAmendment{Study: "S", Amendment: 1, Comment: "no"}},
		{ActivateSite: &types.MsgActivateSite{Study: "S", Site: "A"}},
		{EnrollSubject: &types.MsgEnrollSubject{Study: "S", Subject: "A-1", Site: "A"}},
		{WithdrawSubject: &types.MsgWithdrawSubject{Study: "S", Subject: "A-1", Reason: "r"}},
		{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: vals("VS.HR", "1")}},
		{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: vals("VS.HR", "2"), Reason: "r", Resolves: []int{1}}},
		{AddAccount: &types.MsgAddAccount{Account: "x", Roles: []types.Role{types.RoleMonitor}}},
		{SetRoles: &types.MsgSetRoles{Account: "x", Roles: []types.Role{types.RoleMonitor}}},
		{RotateKey: &types.MsgRotateKey{Account: "x"}},
		{RevokeAccount: &types.MsgRevokeAccount{Account: "x", Reason: "left"}},
		{QueryOpen: &types.MsgOpenQuery{FormKey: k, Item: "VS.HR", Text: "t"}},
		{QueryAnswer: &types.MsgQueryAction{Study: "S", Number: 1, Text: "a"}},
		{QueryClose: &types.MsgQueryAction{Study: "S", Number: 1}},
		{QueryReopen: &types.MsgQueryAction{Study: "S", Number: 1, Text: "again"}},
		{QueryCancel: &types.MsgQueryAction{Study: "S", Number: 1}},
		{Verify: &types.MsgVerify{Study: "S", Subject: "A-1", Event: "SCR", EventRepeat: 1, Form: "VS", Item: "VS.HR"}},
		{Sign: &types.MsgSign{Study: "S", Subject: "A-1", Meaning: "approval", ContentHash: "00"}},
		{Freeze: &types.MsgScope{Scope: types.Scope{Study: "S"}}},
		{Unfreeze: &types.MsgScope{Scope: types.Scope{Study: "S", Site: "A"}, Reason: "r"}},
		{Lock: &types.MsgScope{Scope: types.Scope{Study: "S", Subject: "A-1"}}},
		{Unlock: &types.MsgScope{Scope: types.Scope{Study: "S"}, Reason: "r"}},
		{ChangeInvestigator: &types.MsgChangeInvestigator{Study: "S", Site: "A", PrincipalInvestigator: "p", Reason: "r"}},
		{DelegateStudy: &types.MsgStudyDelegation{Study: "S", Org: "c", Tasks: []types.Task{types.TaskMonitoring}}},
		{UndelegateStudy: &types.MsgStudyDelegation{Study: "S", Org: "c", Reason: "r"}},
		{DelegateSite: &types.MsgSiteDelegation{Study: "S", Site: "A", Account: "x", Tasks: []types.Task{types.TaskEntry}}},
		{UndelegateSite: &types.MsgSiteDelegation{Study: "S", Site: "A", Account: "x", Reason: "r"}},
		{ApproveKeyRotation: &types.MsgApproveKeyRotation{Account: "x"}},
		{SetLabRanges: &types.MsgSetLabRanges{Study: "S", Reason: "r"}},
		{AssessLabValue: &types.MsgAssessLabValue{FormKey: types.FormKey{Study: "S", Subject: "A-1", Event: "E", EventRepeat: 1, Form: "F"}, Item: "I", FormVersion: 1}},
		{RegisterAllocations: &types.MsgRegisterAllocations{Study: "S", Stratum: "all", First: 1, Commitments: []string{"00"}}},
		{Randomize: &types.MsgRandomize{Study: "S", Subject: "A-1"}},
		{Unblind: &types.MsgUnblind{Study: "S", Subject: "A-1", Reason: "r"}},
		{PublishAllocations: &types.MsgPublishAllocations{Study: "S", Entries: []types.AllocationReveal{{Stratum: "all", Seq: 1}}}},
	}
	for _, m := range msgs {
		kind, msg, err := m.Unpack()
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{Kind: string(kind)}
		describe(&e, msg)
		if e.What == "" {
			t.Errorf("%s: no description", kind)
		}
	}
	e := Entry{Kind: string(types.KindQueryOpen)}
	describe(&e, &types.MsgOpenQuery{FormKey: k, Text: "overdue", Missing: true})
	if e.What != "raised a query on missing form VS" {
		t.Errorf("query on a missing form: %q", e.What)
	}
	e = decodeEntry([]byte("not a tx"), &abci.ExecTxResult{Code: 102, Log: "malformed"}, 7, 0, time.Now())
	if e.Kind != "undecodable" || !e.Rejected || e.Code != 102 || e.Msg != nil {
		t.Errorf("undecodable tx: %+v", e)
	}
}

// TestComputeNamesWhatHasNoSite: a study-wide transaction (here a refused
// database lock approval) counts under NoSite, an undecodable one under
// NoSigner.
func TestComputeNamesWhatHasNoSite(t *testing.T) {
	mon := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := &crafted{L: &Ledger{Accounts: map[string]types.Account{}, LastTime: mon}}
	c.add(mon, "r1", "", 511, types.Msg{Lock: &types.MsgScope{Scope: types.Scope{Study: "S"}}})
	c.L.Entries = append(c.L.Entries, Entry{Height: 9, Kind: "undecodable", Study: "S", Code: 101, Rejected: true})
	rep := Compute(c.L, "S", DefaultRules)
	var keys []string
	for _, s := range rep.Sites {
		keys = append(keys, s.Key)
		if s.Key != NoSite || s.Rejected != 2 {
			t.Errorf("site %+v", s)
		}
	}
	for _, s := range rep.Users {
		keys = append(keys, s.Key)
	}
	if want := []string{NoSite, NoSigner, "r1"}; strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("keys %v, want %v", keys, want)
	}
}

// TestComputeUnblindings: the report lists every unblinding of the study
// with who, when, why and its publication, and nothing of a subject
// randomised but still blinded or of another study.
func TestComputeUnblindings(t *testing.T) {
	by := types.Stamp{Height: 40, Time: "2026-03-02T10:00:00Z", Signer: "site1-investigator", Role: types.RoleInvestigator}
	pub := types.Stamp{Height: 42, Time: "2026-03-02T10:05:00Z", Signer: "sponsor-stat"}
	L := &Ledger{Accounts: map[string]types.Account{}, LastTime: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), Allocations: []types.Allocation{
		{Study: "S", Subject: "A-1", Site: "A", Unblinding: &types.Unblinding{Stamp: by, Reason: "anaphylaxis"}, Published: &pub},
		{Study: "S", Subject: "A-2", Site: "A"},
		{Study: "S", Subject: "A-3", Site: "A", Unblinding: &types.Unblinding{Stamp: by, Reason: "overdose"}},
		{Study: "T", Subject: "B-1", Site: "B", Unblinding: &types.Unblinding{Stamp: by, Reason: "x"}},
	}}
	rep := Compute(L, "S", DefaultRules)
	want := []Unblinding{{Subject: "A-1", Site: "A", By: by, Reason: "anaphylaxis", Published: &pub}, {Subject: "A-3", Site: "A", By: by, Reason: "overdose"}}
	if !reflect.DeepEqual(rep.Unblindings, want) {
		t.Errorf("unblindings %+v, want %+v", rep.Unblindings, want)
	}
}
