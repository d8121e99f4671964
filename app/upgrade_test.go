package app_test

import (
	"context"
	"strconv"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// infoVersion is the app version the App reports in Info.
func infoVersion(t *testing.T, c *apptest.Chain) uint64 {
	t.Helper()
	info, err := c.App.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return info.AppVersion
}

// TestUpgradeStateVersionOnLedger: InitChain stores the binary's
// state-machine version, every height holds it (provably), and Info
// reports it before the first block, after it and after a restart.
func TestUpgradeStateVersionOnLedger(t *testing.T) {
	c := apptest.New(t)
	if v := infoVersion(t, c); v != app.StateVersion {
		t.Fatalf("Info before the first block: app version %d, want %d", v, app.StateVersion)
	}
	c.Block()
	c.Block()
	want := strconv.FormatUint(app.StateVersion, 10)
	for h := int64(1); h <= 2; h++ {
		if got := string(rawGet(t, c, []byte(types.KeyStateVersion), h)); got != want {
			t.Errorf("state version at height %d = %q, want %q", h, got, want)
		}
	}
	if v := infoVersion(t, c); v != app.StateVersion {
		t.Errorf("Info: app version %d, want %d", v, app.StateVersion)
	}
	c.Reopen()
	if v := infoVersion(t, c); v != app.StateVersion {
		t.Errorf("Info after a restart: app version %d, want %d", v, app.StateVersion)
	}
}
