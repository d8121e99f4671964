package protocol

import (
	"slices"
	"testing"
)

func TestReadersOf(t *testing.T) {
	c := mustCompile(t, mustExample(t))
	for form, want := range map[string][]string{
		"DM": {"IE", "LB"}, // eligibility reads sex; the pregnancy test applies to women of childbearing potential
		"VS": nil,
		"LB": nil,
	} {
		if got := c.ReadersOf(form); !slices.Equal(got, want) {
			t.Errorf("ReadersOf(%s) = %v, want %v", form, got, want)
		}
	}
}
