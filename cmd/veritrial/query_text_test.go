package main

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

func TestRaiserText(t *testing.T) {
	for _, tc := range []struct {
		q    types.Query
		want string
	}{
		{types.Query{RaisedBy: "cro-monitor", RaisedOrg: "cro"}, "cro-monitor (cro)"},
		{types.Query{RaisedBy: types.SystemRaiser, Check: "range.above_expected"}, "system (range.above_expected)"},
		{types.Query{RaisedBy: types.SystemRaiser, Check: "required.missing", Hard: true}, "system (required.missing, hard: found when a form it reads changed)"},
	} {
		if got := raiserText(&tc.q); got != tc.want {
			t.Errorf("raiserText(%+v) = %q, want %q", tc.q, got, tc.want)
		}
	}
}
