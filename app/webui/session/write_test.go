package session

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/example"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func TestChangesOf(t *testing.T) {
	current := []protocol.ItemValue{{Item: "VS.HR", Value: "38"}, {Item: "VS.TEMP", Value: "36.6"}, {Item: "AE.TERM", Repeat: 2, Value: "Headache"}}
	values := []protocol.ItemValue{{Item: "VS.HR", Value: "41"}, {Item: "VS.RESP", Value: "14"}, {Item: "AE.TERM", Repeat: 2, Value: "Headache"}, {Item: "VS.WEIGHT", Value: ""}}
	want := []protocol.ItemValue{{Item: "VS.HR", Value: "41"}, {Item: "VS.RESP", Value: "14"}, {Item: "VS.TEMP"}}
	if got := changesOf(current, values); !slices.Equal(got, want) {
		t.Errorf("changes: %+v, want %+v", got, want)
	}
	if got := changesOf(current, current); len(got) != 0 {
		t.Errorf("no change gives %+v", got)
	}
}

// TestChangesOfMissing: a missing-data code given, changed, given a
// reason or taken away is a change like a value.
func TestChangesOfMissing(t *testing.T) {
	current := []protocol.ItemValue{{Item: "LB.PLT", Value: "250"}, {Item: "LB.HGB", Missing: "ND"}, {Item: "LB.WBC", Missing: "ND", Reason: "lost"}, {Item: "LB.K", Missing: "ND"}}
	for _, tc := range []struct {
		what   string
		values []protocol.ItemValue
		want   []protocol.ItemValue
	}{
		{"unchanged", current, []protocol.ItemValue{}},
		{"a code for a value", []protocol.ItemValue{{Item: "LB.PLT", Missing: "ND"}, current[1], current[2], current[3]}, []protocol.ItemValue{{Item: "LB.PLT", Missing: "ND"}}},
		{"a reason added", []protocol.ItemValue{current[0], {Item: "LB.HGB", Missing: "ND", Reason: "haemolysed"}, current[2], current[3]}, []protocol.ItemValue{{Item: "LB.HGB", Missing: "ND", Reason: "haemolysed"}}},
		{"a value for a code", []protocol.ItemValue{current[0], current[1], {Item: "LB.WBC", Value: "6.1"}, current[3]}, []protocol.ItemValue{{Item: "LB.WBC", Value: "6.1"}}},
		{"a code taken away", current[:3], []protocol.ItemValue{{Item: "LB.K"}}},
		{"a new code", append(slices.Clone(current), protocol.ItemValue{Item: "LB.ALT", Missing: "ND"}), []protocol.ItemValue{{Item: "LB.ALT", Missing: "ND"}}},
	} {
		if got := changesOf(current, tc.values); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.what, got, tc.want)
		}
	}
	if got := nonEmpty([]protocol.ItemValue{{Item: "LB.PLT"}, {Item: "LB.HGB", Missing: "ND"}}); !slices.Equal(got, []protocol.ItemValue{{Item: "LB.HGB", Missing: "ND"}}) {
		t.Errorf("nonEmpty keeps %+v", got)
	}
}

// TestCheckDerives: the edit checks the page runs as a person types
// return the derived values as the ledger computes them, and a value
// typed for a derived item is set aside, not refused.
func TestCheckDerives(t *testing.T) {
	c, err := protocol.Compile(protocol.Example())
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, time.Now)
	k := types.FormKey{Study: "VT-HTN-201", Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "DM"}
	if _, err := s.Check(k, nil); err == nil {
		t.Error("checked before the form was read")
	}
	s.shown[k.Study] = c
	dm := []protocol.ItemValue{{Item: "DM.HEIGHT", Value: "175.0"}, {Item: "DM.WEIGHT", Value: "70.0"}, {Item: "DM.BMI", Value: "99.0"}}
	v, err := s.Check(k, dm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Derived, []protocol.ItemValue{{Item: "DM.BMI", Value: "22.9"}}) {
		t.Errorf("derived %+v", v.Derived)
	}
	for _, p := range v.Problems {
		if p.Item == "DM.BMI" {
			t.Errorf("a problem of the derived item: %+v", p)
		}
	}
	if v, _ := s.Check(k, dm[:1]); len(v.Derived) != 0 {
		t.Errorf("derived without a weight: %+v", v.Derived)
	}
}

func TestLockState(t *testing.T) {
	sub := types.Subject{Study: "S", ID: "S1-001", Site: "site1"}
	k := types.FormKey{Study: "S", Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"}
	lock := func(state types.LockState, sc types.Scope) types.ScopeLock {
		sc.Study = "S"
		return types.ScopeLock{Scope: sc, State: state}
	}
	for _, c := range []struct {
		what  string
		locks []types.ScopeLock
		want  types.LockState
	}{
		{"none", nil, types.StateOpen},
		{"another site frozen", []types.ScopeLock{lock(types.StateFrozen, types.Scope{Site: "site2"})}, types.StateOpen},
		{"another form locked", []types.ScopeLock{lock(types.StateLocked, types.Scope{Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "DM"})}, types.StateOpen},
		{"another subject locked", []types.ScopeLock{lock(types.StateLocked, types.Scope{Subject: "S1-002"})}, types.StateOpen},
		{"the form frozen", []types.ScopeLock{lock(types.StateFrozen, types.Scope{Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"})}, types.StateFrozen},
		{"the site frozen, the subject locked", []types.ScopeLock{lock(types.StateFrozen, types.Scope{Site: "site1"}), lock(types.StateLocked, types.Scope{Subject: "S1-001"})}, types.StateLocked},
		{"the study locked, the form unfrozen", []types.ScopeLock{lock(types.StateLocked, types.Scope{}), lock(types.StateOpen, types.Scope{Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"})}, types.StateLocked},
	} {
		if got := lockState(c.locks, sub, k); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
}

// TestRepeats: the dashboard shows one occurrence of an event that does not
// repeat, and of a repeatable one each repeat up to the last entered for
// that subject and the next.
func TestRepeats(t *testing.T) {
	uns := protocol.Event{OID: "UNS", Repeatable: true}
	entered := map[types.FormKey]int{
		{Study: "S", Subject: "S1-001", Event: "UNS", EventRepeat: 1, Form: "VS"}: 1,
		{Study: "S", Subject: "S1-001", Event: "UNS", EventRepeat: 3, Form: "AE"}: 2,
		{Study: "S", Subject: "S1-002", Event: "UNS", EventRepeat: 5, Form: "VS"}: 1,
		{Study: "T", Subject: "S1-001", Event: "UNS", EventRepeat: 7, Form: "VS"}: 1,
		{Study: "S", Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"}: 1,
	}
	for _, c := range []struct {
		ev      protocol.Event
		subject string
		want    int
	}{
		{uns, "S1-001", 4},
		{uns, "S1-003", 1},
		{protocol.Event{OID: "SCR"}, "S1-001", 1},
	} {
		if got := repeats(c.ev, entered, "S", c.subject); got != c.want {
			t.Errorf("%s of %s: %d occurrences, want %d", c.ev.OID, c.subject, got, c.want)
		}
	}
}

// TestSignScreenLevel: a signature level other than form, event or
// casebook is refused before anything is read.
func TestSignScreenLevel(t *testing.T) {
	s := New(nil, time.Now)
	k := types.FormKey{Study: "S", Subject: "S1-001", Event: "SCR", EventRepeat: 1, Form: "VS"}
	if _, err := s.SignScreen(context.Background(), k, "visit"); err == nil || !strings.Contains(err.Error(), `no signature level "visit"`) {
		t.Errorf("level visit: %v", err)
	}
}

// TestSignedValueMissing: the signature screen shows a missing-data code
// with its decode and reason, not an empty value.
func TestSignedValueMissing(t *testing.T) {
	c, err := protocol.Compile(example.WithMissingCodes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iv   protocol.ItemValue
		want string
	}{
		{protocol.ItemValue{Item: "LB.PLT", Missing: "ND", Reason: "haemolysed"}, "missing: ND (Not done): haemolysed"},
		{protocol.ItemValue{Item: "LB.PLT", Missing: "ND"}, "missing: ND (Not done)"},
		{protocol.ItemValue{Item: "LB.PLT", Value: "250"}, "250 10^9/L"},
	} {
		if got := signedValue(c, "SCR #1 · LB v1", tc.iv).Shown; got != tc.want {
			t.Errorf("%+v shows %q, want %q", tc.iv, got, tc.want)
		}
	}
}
