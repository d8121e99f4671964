package protocol

import (
	"fmt"
	"testing"
)

// instance addresses one form instance of a subject.
type instance struct {
	event  string
	repeat int
	form   string
}

func TestCrossFormLookup(t *testing.T) {
	c, err := Compile(mustExample(t))
	if err != nil {
		t.Fatal(err)
	}
	v := func(item string, repeat int, value string) ItemValue {
		return ItemValue{Item: item, Repeat: repeat, Value: value}
	}
	// The example schedule: SCR [DM IE VS LB], D1 [VS LB EX], W4 [VS EX
	// AE CM], W8 [VS LB EX AE CM], ... UNS (repeatable) [VS LB AE CM].
	held := map[instance][]ItemValue{
		{"SCR", 1, "DM"}: {v("DM.SEX", 0, "2"), v("DM.CBP", 0, "1")},
		{"SCR", 1, "VS"}: {v("VS.SYSBP", 0, "150")},
		{"W8", 1, "VS"}:  {v("VS.SYSBP", 0, "138")},
		{"UNS", 1, "VS"}: {v("VS.SYSBP", 0, "141")},
		{"UNS", 2, "VS"}: {v("VS.SYSBP", 0, "142")},
		// Rows of a repeating group in stored order; row 1 has no grade.
		{"W4", 1, "AE"}: {v("AE.TERM", 1, "Headache"), v("AE.TERM", 2, "Dizziness"), v("AE.SEV", 2, "2"), v("AE.TERM", 3, "Nausea"), v("AE.SEV", 3, "1")},
		// A form the schedule does not collect at D1 (an amendment moved
		// it), and an instance with no values.
		{"D1", 1, "DM"}: {v("DM.SEX", 0, "1")},
		{"W8", 1, "EX"}: nil,
	}
	for _, tc := range []struct {
		name   string
		event  string
		repeat int
		item   string
		want   string // "" for no value
		reads  []instance
	}{
		{"same event instance", "W8", 1, "VS.SYSBP", "138", []instance{{"W8", 1, "VS"}}},
		{"other event: first in the schedule that collects the form", "W4", 1, "DM.SEX", "2",
			[]instance{{"W4", 1, "DM"}, {"SCR", 1, "DM"}}},
		{"first in the schedule, not the latest entered", "W12", 1, "VS.SYSBP", "150",
			[]instance{{"W12", 1, "VS"}, {"SCR", 1, "VS"}}},
		{"same event repeat", "UNS", 2, "VS.SYSBP", "142", []instance{{"UNS", 2, "VS"}}},
		{"another event repeat falls back to the schedule, not to repeat 1", "UNS", 3, "VS.SYSBP", "150",
			[]instance{{"UNS", 3, "VS"}, {"SCR", 1, "VS"}}},
		{"same event instance where the schedule does not collect the form", "D1", 1, "DM.SEX", "1", []instance{{"D1", 1, "DM"}}},
		{"repeating group: the first row with a value", "W4", 1, "AE.SEV", "2", []instance{{"W4", 1, "AE"}}},
		{"form absent everywhere", "W4", 1, "CM.TRT", "",
			[]instance{{"W4", 1, "CM"}, {"W4", 1, "CM"}, {"W8", 1, "CM"}, {"W12", 1, "CM"}, {"FU", 1, "CM"}, {"ET", 1, "CM"}, {"UNS", 1, "CM"}}},
		{"instance present without the item", "W8", 1, "EX.DISP", "", []instance{{"W8", 1, "EX"}}},
		{"item of no form", "W4", 1, "XX.NONE", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads []instance
			lookup := c.CrossFormLookup(tc.event, tc.repeat, func(event string, repeat int, form string) ([]ItemValue, bool) {
				reads = append(reads, instance{event, repeat, form})
				vals, ok := held[instance{event, repeat, form}]
				return vals, ok
			})
			for range 2 { // the second call reads nothing again
				got, ok := lookup(tc.item)
				if got != tc.want || ok != (tc.want != "") {
					t.Errorf("lookup(%s) = %q, %v; want %q", tc.item, got, ok, tc.want)
				}
			}
			if fmt.Sprint(reads) != fmt.Sprint(tc.reads) {
				t.Errorf("read %v, want %v", reads, tc.reads)
			}
		})
	}
}
