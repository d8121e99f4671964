package allocation

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

var arms = []string{"ARM.PBO", "ARM.LOW", "ARM.HIGH"}

func gen(t *testing.T, strata []string, size, block int, seed string) *List {
	t.Helper()
	l, err := Generate("VT-HTN-201", strata, arms, size, block, sha256.Sum256([]byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Each block holds every arm equally often; the same seed gives the same
// list, a stratum's entries do not depend on the others, another seed
// gives another list.
func TestGenerate(t *testing.T) {
	l := gen(t, []string{"site1+LO", "site1+HI"}, 60, 6, "seed")
	if l.Len() != 120 || len(l.Strata) != 2 {
		t.Fatalf("%d entries in %v", l.Len(), l.Strata)
	}
	for _, s := range l.Strata {
		es := l.Entries(s)
		for b := 0; b < len(es); b += 6 {
			n := map[string]int{}
			for i, e := range es[b : b+6] {
				n[e.Arm]++
				if e.Seq != b+i+1 || e.Stratum != s {
					t.Fatalf("entry %v at %d", e, b+i)
				}
			}
			for _, a := range arms {
				if n[a] != 2 {
					t.Fatalf("%s block %d: %v", s, b/6, n)
				}
			}
		}
	}
	if again := gen(t, []string{"site1+LO", "site1+HI"}, 60, 6, "seed"); !same(l, again) {
		t.Error("the same seed gave another list")
	}
	more := gen(t, []string{"site2+LO", "site1+HI"}, 60, 6, "seed")
	if !sameEntries(l.Entries("site1+HI"), more.Entries("site1+HI")) {
		t.Error("a stratum's entries changed with the other strata")
	}
	if other := gen(t, []string{"site1+LO", "site1+HI"}, 60, 6, "other"); sameEntries(l.Entries("site1+LO"), other.Entries("site1+LO")) {
		t.Error("another seed gave the same list")
	}
	for _, bad := range []struct {
		strata      []string
		size, block int
		arms        []string
		want        string
	}{
		{[]string{"a"}, 60, 4, arms, "not a multiple"},
		{[]string{"a"}, 10, 6, arms, "whole number of blocks"},
		{[]string{"a"}, 60, 6, arms[:1], "two arms"},
		{[]string{"a", "a"}, 6, 6, arms, "twice"},
		{[]string{"a/b"}, 6, 6, arms, "not well formed"},
	} {
		if _, err := Generate("S", bad.strata, bad.arms, bad.size, bad.block, [32]byte{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad, err, bad.want)
		}
	}
}

func same(a, b *List) bool {
	if strings.Join(a.Strata, ",") != strings.Join(b.Strata, ",") {
		return false
	}
	for _, s := range a.Strata {
		if !sameEntries(a.Entries(s), b.Entries(s)) {
			return false
		}
	}
	return true
}

func sameEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Arm != b[i].Arm || a[i].Salt != b[i].Salt || a[i].Seq != b[i].Seq {
			return false
		}
	}
	return true
}

// A written list reads back with its lines; every entry opens its own
// commitment and no other.
func TestWriteRead(t *testing.T) {
	l := gen(t, []string{"site1+LO", "site2+LO"}, 6, 3, "seed")
	var b bytes.Buffer
	if err := Write(&b, l); err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(b.Bytes()), "alloc.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !same(l, got) || got.Study != "VT-HTN-201" {
		t.Fatal("the list read back differs")
	}
	e, _ := got.Entry("site2+LO", 2)
	if e.Line != 9 {
		t.Errorf("entry %v on line %d, want 9", e, e.Line)
	}
	if err := types.VerifyReveal(got.Study, e.Reveal(), e.Commitment()); err != nil {
		t.Error(err)
	}
	other, _ := got.Entry("site2+LO", 3)
	if err := types.VerifyReveal(got.Study, e.Reveal(), other.Commitment()); err == nil {
		t.Error("an entry opens another's commitment")
	}
}

// A malformed list file is refused naming its line.
func TestReadErrors(t *testing.T) {
	salt := strings.Repeat("ab", 32)
	head := "study,stratum,seq,arm,salt\n"
	row := func(study, stratum, seq, arm, salt string) string {
		return study + "," + stratum + "," + seq + "," + arm + "," + salt + "\n"
	}
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "no entries"},
		{"header only", head, "no entries"},
		{"bad header", "study,stratum,seq,arm,pepper\n", "f.csv:1: the header"},
		{"short row", head + "S,a,1,ARM.A\n", "f.csv:2:"},
		{"gap", head + row("S", "a", "1", "A", salt) + row("S", "a", "3", "A", salt), "f.csv:3: stratum a: sequence number \"3\" where 2 comes next"},
		{"not a number", head + row("S", "a", "x", "A", salt), "f.csv:2:"},
		{"two studies", head + row("S", "a", "1", "A", salt) + row("T", "a", "2", "A", salt), "f.csv:3: study \"T\""},
		{"short salt", head + row("S", "a", "1", "A", "abcd"), "f.csv:2: the salt"},
		{"bad stratum", head + row("S", "a b", "1", "A", salt), "f.csv:2: stratum"},
		{"bad arm", head + row("S", "a", "1", "", salt), "f.csv:2: arm"},
		{"bad quote", head + "S,\"a,1,A," + salt + "\n", "f.csv:2:"},
	} {
		_, err := Read(strings.NewReader(c.in), "f.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	big := head + row("S", strings.Repeat("a", MaxFileBytes), "1", "A", salt)
	if _, err := Read(strings.NewReader(big), "f.csv"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the limit: %v", err)
	}
}

// Figures for docs/RANDOMIZATION.md: the commitments of 10,000 entries
// and their verification at the database lock.
func BenchmarkVerifyList(b *testing.B) {
	l, err := Generate("VT-HTN-201", []string{"all"}, arms, 9999, 3, [32]byte{1})
	if err != nil {
		b.Fatal(err)
	}
	es := l.Entries("all")
	commits := make([]string, len(es))
	for i, e := range es {
		commits[i] = e.Commitment()
	}
	b.ResetTimer()
	for range b.N {
		for i, e := range es {
			if err := types.VerifyReveal(l.Study, e.Reveal(), commits[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
