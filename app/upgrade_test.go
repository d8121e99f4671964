package app_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// upgradeChange proposes upgrade name at height h with binaries bins.
func upgradeChange(name string, h int64, bins ...types.UpgradeBinary) types.Change {
	return types.Change{Upgrade: &types.UpgradePlan{Name: name, Height: h, Binaries: bins}}
}

// sha is a well-formed SHA-256 in hex.
var sha = strings.Repeat("0a", 32)

// TestUpgradeProposalRefusals: a malformed plan is refused by CheckTx; a
// height without the notice the upgrade needs, in the past or not,
// another upgrade pending, are refused by the ledger; a plan is on the
// ledger only once its proposal reached the quorum.
func TestUpgradeProposalRefusals(t *testing.T) {
	c := apptest.New(t)
	far := c.Height + 1000
	linux := types.UpgradeBinary{Platform: "linux/amd64", SHA256: sha}
	bin := func(platform, sum string) types.UpgradeBinary {
		return types.UpgradeBinary{Platform: platform, SHA256: sum}
	}
	runSteps(t, c, []step{
		{name: "no name", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("", far), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "name with a slash", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2/x", far), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "height 0", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", 0), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "short checksum", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, bin("linux/amd64", sha[:63])), ""), want: types.CodeInvalidMsg, atCheck: true, logHas: []string{"SHA-256"}},
		{name: "upper-case checksum", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, bin("linux/amd64", strings.ToUpper(sha))), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "checksum not hex", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, bin("linux/amd64", strings.Repeat("zz", 32))), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "platform without architecture", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, bin("linux", sha)), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "platform twice", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, linux, linux), ""), want: types.CodeInvalidMsg, atCheck: true},
		{name: "height in the past", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", 1), ""), want: types.CodeUpgradeHeight},
		{name: "height without notice", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", c.Height+types.MinUpgradeMargin), ""), want: types.CodeUpgradeHeight, logHas: []string{"notice"}},
		{name: "propose", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", far, linux), ""), want: types.CodeOK},
	})
	n := lastProposal(t, c)
	if p := proposalAt(t, c, n); p.Kind != types.ChangeUpgrade || p.Change.String() != fmt.Sprintf("upgrade v2 at height %d, binaries for linux/amd64", far) {
		t.Fatalf("proposal %+v: %s", p, p.Change.String())
	}
	votes(t, c, n, "sponsor", "site1", "regulator")
	absent(t, c, types.KeyUpgrade(far)) // 3 yes of 5: no quorum, no upgrade
	votes(t, c, n, "site2")
	var u types.Upgrade
	get(t, c, types.KeyUpgrade(far), &u)
	if u.Name != "v2" || u.Height != far || u.Proposal != n || u.Applied != 0 || u.Checksum("linux/amd64") != sha || u.Checksum("darwin/arm64") != "" {
		t.Errorf("decided upgrade %+v", u)
	}
	runSteps(t, c, []step{
		{name: "another upgrade pending", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v3", far+100), ""), want: types.CodeUpgradePending, logHas: []string{"v2"}},
	})
}

// TestUpgradeDecidedTooLate: the vote that reaches the quorum checks the
// height again; once the notice is too short the vote is refused and no
// upgrade is decided.
func TestUpgradeDecidedTooLate(t *testing.T) {
	c := apptest.New(t)
	h := c.Height + 1 + types.MinUpgradeMargin + 2 // just enough at the proposal's block
	n := proposeOK(t, c, "sponsor-admin", upgradeChange("v2", h))
	votes(t, c, n, "sponsor", "site1", "regulator")
	if code, log := c.Do("site2-admin", voteMsg(n, true)); code != types.CodeUpgradeHeight || !strings.Contains(log, "reached its quorum but cannot be applied") {
		t.Fatalf("deciding vote: %s %s", code, log)
	}
	absent(t, c, types.KeyUpgrade(h))
	if p := proposalAt(t, c, n); p.Status != types.ProposalOpen {
		t.Errorf("proposal %s after the refused vote", p.Status)
	}
}
