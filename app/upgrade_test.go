package app_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

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
	if v := infoVersion(t, c); v != app.StateVersion() {
		t.Fatalf("Info before the first block: app version %d, want %d", v, app.StateVersion())
	}
	c.Block()
	c.Block()
	want := strconv.FormatUint(app.StateVersion(), 10)
	for h := int64(1); h <= 2; h++ {
		if got := string(rawGet(t, c, []byte(types.KeyStateVersion), h)); got != want {
			t.Errorf("state version at height %d = %q, want %q", h, got, want)
		}
	}
	if v := infoVersion(t, c); v != app.StateVersion() {
		t.Errorf("Info: app version %d, want %d", v, app.StateVersion())
	}
	c.Reopen()
	if v := infoVersion(t, c); v != app.StateVersion() {
		t.Errorf("Info after a restart: app version %d, want %d", v, app.StateVersion())
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

// decideUpgrade proposes upgrade name at height h and votes it through;
// the txs of each block are appended to blocks.
func decideUpgrade(t testing.TB, c *apptest.Chain, blocks *[][][]byte, name string, h int64, bins ...types.UpgradeBinary) {
	t.Helper()
	block := func(signer string, msg types.Msg) {
		raw := c.Tx(signer, msg)
		if r := c.Block(raw); r[0].Code != 0 {
			t.Fatalf("%s: %s", signer, r[0].Log)
		}
		*blocks = append(*blocks, [][]byte{raw})
	}
	block("sponsor-admin", proposeMsg(upgradeChange(name, h, bins...), ""))
	n := lastProposal(t, c)
	for _, org := range []string{"sponsor", "site1", "site2", "regulator"} {
		block(org+"-admin", voteMsg(n, true))
	}
}

// binarySum stands for the SHA-256 of a binary.
func binarySum(s string) func() (string, error) { return func() (string, error) { return s, nil } }

// TestUpgradeHaltAndMigrate follows upgrade v2 on a ledger begun at
// state-machine version 1: the binary of version 1 stops at the height
// without committing it, and starts again only to stop again; the binary
// of version 2 refuses to start early or when its checksum differs, runs
// the migration once in the block of the height, which the ledger and
// the headers from then on attribute to version 2; the binary of version
// 1 refuses the upgraded ledger; a node that replays the same blocks from
// genesis matches every app hash across the upgrade.
func TestUpgradeHaltAndMigrate(t *testing.T) {
	c := apptest.NewAtVersion(t, 1)
	if v := infoVersion(t, c); v != 1 {
		t.Fatalf("Info of a version-1 chain: %d", v)
	}
	var blocks [][][]byte
	next := func() {
		c.Block()
		blocks = append(blocks, nil)
	}
	h := c.Height + 1 + types.MinUpgradeMargin + 10
	sum := strings.Repeat("5e", 32)
	decideUpgrade(t, c, &blocks, "v2", h, types.UpgradeBinary{Platform: app.Platform, SHA256: sum})
	for c.Height < h-2 {
		next()
	}
	if err := c.App.CheckRelease(binarySum(sum)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("run the previous release until it stops at height %d", h-1)) {
		t.Fatalf("the new binary two blocks early: %v", err)
	}
	restore := app.WithoutMigrations(t) // the binary of version 1
	next()

	// The old binary starts, and fails the height as often as it tries,
	// committing nothing.
	for _, optimistic := range []bool{false, true} {
		c.Reopen()
		if err := c.App.CheckRelease(binarySum("old")); err != nil {
			t.Fatalf("the old binary before the height: %v", err)
		}
		req := &abci.RequestFinalizeBlock{Hash: []byte("block h"), Height: h, Time: apptest.Genesis.Add(time.Duration(h) * time.Second)}
		// Checked before ProcessProposal: the optimistic execution it
		// starts may reach the upgrade at any moment after.
		if u := c.App.UpgradeNeeded(); u != nil {
			t.Fatalf("upgrade needed before the height: %v", u)
		}
		if optimistic {
			if _, err := c.App.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Hash: req.Hash, Height: h, Time: req.Time}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.App.FinalizeBlock(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("UPGRADE v2 NEEDED at height %d", h)) || !strings.Contains(err.Error(), sum) {
			t.Fatalf("the old binary at the upgrade height (optimistic %v): %v", optimistic, err)
		}
		if u := c.App.UpgradeNeeded(); u == nil || u.Upgrade.Name != "v2" || u.Upgrade.Height != h || u.Error() != err.Error() {
			t.Fatalf("the upgrade the old binary stopped at: %v", u)
		}
	}
	c.Reopen()
	if c.Height != h-1 {
		t.Fatalf("after the halt: height %d", c.Height)
	}

	// The new binary: only the decided checksum starts.
	restore()
	if err := c.App.CheckRelease(binarySum(strings.Repeat("00", 32))); err == nil || !strings.Contains(err.Error(), "is not the release the consortium agreed on") {
		t.Errorf("the new binary with another checksum: %v", err)
	}
	if err := c.App.CheckRelease(binarySum(sum)); err != nil {
		t.Fatalf("the new binary at height %d: %v", c.Height, err)
	}
	fin := c.Finalize()
	if p := fin.ConsensusParamUpdates; p == nil || p.Version == nil || p.Version.App != 2 || p.Block != nil {
		t.Errorf("consensus parameter updates %v, want the app version 2 alone", p)
	}
	c.Commit(fin)
	blocks = append(blocks, nil) // the block of the upgrade height: no txs
	fin = c.Finalize()
	if fin.ConsensusParamUpdates != nil {
		t.Errorf("the block after the upgrade updates the consensus parameters: %v", fin.ConsensusParamUpdates)
	}
	c.Commit(fin)
	blocks = append(blocks, nil)
	for hh, want := range map[int64]string{h - 1: "", h: "2", h + 1: "2"} {
		if got := string(rawGet(t, c, []byte(types.KeyStateVersion), hh)); got != want {
			t.Errorf("state version at %d = %q, want %q", hh, got, want)
		}
	}
	var spans []types.VersionSpan
	get(t, c, []byte(types.KeyVersionHistory), &spans)
	if want := []types.VersionSpan{{Version: 1, From: 1}, {Version: 2, From: h}}; !slices.Equal(spans, want) {
		t.Errorf("version history %v, want %v", spans, want)
	}
	var u types.Upgrade
	get(t, c, types.KeyUpgrade(h), &u)
	if u.Applied != h {
		t.Errorf("upgrade record %+v", u)
	}
	if v := infoVersion(t, c); v != 2 {
		t.Errorf("Info after the upgrade: app version %d", v)
	}
	restore = app.WithoutMigrations(t)
	if err := c.App.CheckRelease(binarySum(sum)); err == nil || !strings.Contains(err.Error(), "beyond this binary's version 1") {
		t.Errorf("a binary of version 1 on the upgraded ledger: %v", err)
	}
	restore()
	runSteps(t, c, []step{
		{name: "the name again", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v2", c.Height+100), ""), want: types.CodeUpgradeNameUsed},
		{name: "the next upgrade", signer: "sponsor-admin", msg: proposeMsg(upgradeChange("v3", c.Height+100), ""), want: types.CodeOK},
	})

	// A node that replays the blocks from genesis with the binary of
	// version 2 computes every app hash the ledger has.
	r := apptest.NewAtVersion(t, 1)
	for i, txs := range blocks {
		r.Block(txs...)
		if hh := int64(i + 1); !bytes.Equal(r.AppHash, c.Hashes[hh]) {
			t.Fatalf("replay: app hash at height %d differs", hh)
		}
	}
	if r.Height != h+1 {
		t.Errorf("replayed to height %d", r.Height)
	}
}

// TestUpgradeGenesisVersion: InitChain starts the ledger at the version
// the genesis names and pins it in CometBFT's state: version 1 writes
// neither the version nor its history; a version beyond the binary's is
// refused.
func TestUpgradeGenesisVersion(t *testing.T) {
	c := apptest.NewAtVersion(t, 1)
	c.Block()
	for _, k := range []string{types.KeyStateVersion, types.KeyVersionHistory} {
		absent(t, c, []byte(k))
	}
	if v := infoVersion(t, c); v != 1 {
		t.Errorf("Info: app version %d, want 1", v)
	}
	g := apptest.DefaultGenesis()
	for _, v := range []uint64{0, app.StateVersion(), app.StateVersion() + 1} {
		a, err := app.New(app.Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		req := &abci.RequestInitChain{Time: apptest.Genesis, ChainId: apptest.ChainID, InitialHeight: 1, AppStateBytes: apptest.GenesisBytes(), Validators: apptest.GenesisValidators(&g)}
		if v != 0 {
			req.ConsensusParams = &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: v}}
		}
		res, err := a.InitChain(context.Background(), req)
		switch {
		case v > app.StateVersion():
			if err == nil || !strings.Contains(err.Error(), "beyond this binary's version") {
				t.Errorf("genesis at version %d: %v", v, err)
			}
		case err != nil:
			t.Errorf("genesis at version %d: %v", v, err)
		case res.ConsensusParams.GetVersion().GetApp() != app.StateVersion():
			t.Errorf("genesis at version %d: InitChain pins %v", v, res.ConsensusParams)
		}
		_ = a.Close()
	}
}
