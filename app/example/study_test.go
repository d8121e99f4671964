package example

import (
	"slices"
	"testing"

	"github.com/veritrial/veritrial/protocol"
)

// TestAEShareSerious: over consecutive seeds, one AE row in 20 is serious
// under the example protocol (a form has a serious row every tenth seed,
// row 2); every form passes the protocol's checks, a serious row with 10
// items and a row that is not serious with 9 (no seriousness criterion).
// SeriousAE makes every row serious.
func TestAEShareSerious(t *testing.T) {
	c, err := protocol.Compile(Protocol())
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, vals []protocol.ItemValue, wantSerious []int) {
		t.Helper()
		if p := c.Validate("AE", vals, nil); len(p) != 0 {
			t.Errorf("%s: problems %+v", name, p)
		}
		serious := c.SeriousRows("AE", vals)
		if !slices.Equal(serious, wantSerious) {
			t.Errorf("%s: serious rows %v, want %v", name, serious, wantSerious)
		}
		if want := 18 + len(wantSerious); len(vals) != want {
			t.Errorf("%s: %d items, want %d", name, len(vals), want)
		}
	}
	rows := 0
	for seed := range 200 {
		var want []int
		if seed%10 == 9 {
			want = []int{2}
		}
		check("AE(2, seed)", AE(2, seed), want)
		rows += len(want)
	}
	if rows != 20 {
		t.Errorf("%d serious rows of 400, want 20", rows)
	}
	check("SeriousAE(2, 1)", SeriousAE(2, 1), []int{1, 2})
}
