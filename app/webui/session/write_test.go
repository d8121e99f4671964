package session

import (
	"slices"
	"testing"

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
