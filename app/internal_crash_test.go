package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/types"
)

// The crash tests live inside the package (apptest imports app, so they
// cannot use it): they stop the App at points no ABCI call sequence
// reaches, such as between SaveVersion and the committed-height write.

const crashChain = "crash-test"

var crashT0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func crashKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("crash/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// crashValidator is the crash chain's one validator, run by its one
// organisation, a sponsor: its governance needs no other organisation.
var crashValidator = abci.Ed25519ValidatorUpdate(crashKey("validator").Public().(ed25519.PublicKey), 1)

func crashGenesis() []byte {
	g := types.Genesis{
		Orgs: []types.Org{{ID: "sponsor", Name: "S", Kind: types.OrgSponsor,
			Validators: []types.Validator{{PubKey: crashValidator.PubKey.GetEd25519(), Power: 1, NodeID: strings.Repeat("0", 40)}}}},
		Params:     types.DefaultParams(),
		Governance: types.GovParams{QuorumNum: 2, QuorumDen: 3, ProposalTTL: 100},
		Accounts: []types.GenesisAccount{{ID: "admin", Org: "sponsor", Name: "Admin", Roles: []types.Role{types.RoleAdmin},
			PubKey: crashKey("admin").Public().(ed25519.PublicKey)}},
	}
	bz, _ := json.Marshal(g)
	return bz
}

func openApp(t *testing.T, dir string) *App {
	t.Helper()
	a, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func initChain(t *testing.T, a *App) []byte {
	t.Helper()
	res, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: crashChain, Time: crashT0, AppStateBytes: crashGenesis(), Validators: []abci.ValidatorUpdate{crashValidator}})
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	return res.AppHash
}

// block returns the txs of block h: the admin adds two accounts.
func block(t *testing.T, h int64) [][]byte {
	t.Helper()
	var txs [][]byte
	for i := 0; i < 2; i++ {
		id := fmt.Sprintf("user-%d-%d", h, i)
		body := types.Body{V: types.TxVersion, ChainID: crashChain, Signer: "admin", Nonce: fmt.Sprintf("%016x%016x", h, i), Expires: h + 10,
			Msg: types.Msg{AddAccount: &types.MsgAddAccount{Account: id, Name: id, Roles: []types.Role{types.RoleDataManager},
				PubKey: crashKey(id).Public().(ed25519.PublicKey)}}}
		tx, err := types.Sign(body, crashKey("admin"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := tx.Encode()
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	return txs
}

func finalize(t *testing.T, a *App, h int64) []byte {
	t.Helper()
	res, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h, Time: crashT0.Add(time.Duration(h) * time.Second), Txs: block(t, h)})
	if err != nil {
		t.Fatalf("FinalizeBlock %d: %v", h, err)
	}
	for i, r := range res.TxResults {
		if r.Code != 0 {
			t.Fatalf("block %d tx %d: %s", h, i, r.Log)
		}
	}
	return res.AppHash
}

func commit(t *testing.T, a *App) {
	t.Helper()
	if _, err := a.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func info(t *testing.T, a *App) (int64, []byte) {
	t.Helper()
	res, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return res.LastBlockHeight, res.LastBlockAppHash
}

// reference runs blocks 1..n on a fresh app and returns each app hash.
func reference(t *testing.T, n int64) map[int64][]byte {
	t.Helper()
	a := openApp(t, t.TempDir())
	hashes := map[int64][]byte{0: initChain(t, a)}
	for h := int64(1); h <= n; h++ {
		hashes[h] = finalize(t, a, h)
		commit(t, a)
	}
	return hashes
}

// runTo opens a fresh app in dir and commits blocks 1..n.
func runTo(t *testing.T, dir string, n int64) *App {
	t.Helper()
	a := openApp(t, dir)
	initChain(t, a)
	for h := int64(1); h <= n; h++ {
		finalize(t, a, h)
		commit(t, a)
	}
	return a
}

// continueFrom replays blocks from..to on a reopened app and checks each
// hash against the reference, then queries the last block's state.
func continueFrom(t *testing.T, a *App, from, to int64, ref map[int64][]byte) {
	t.Helper()
	for h := from; h <= to; h++ {
		if got := finalize(t, a, h); !bytes.Equal(got, ref[h]) {
			t.Fatalf("replayed block %d: app hash %X, want %X", h, got, ref[h])
		}
		commit(t, a)
		if gh, gHash := info(t, a); gh != h || !bytes.Equal(gHash, ref[h]) {
			t.Fatalf("after block %d: Info %d %X", h, gh, gHash)
		}
	}
	res, _ := a.TrustedQuery(context.Background(), &abci.RequestQuery{Path: types.QueryKey, Data: types.KeyAccount(fmt.Sprintf("user-%d-1", to))})
	if res.Code != 0 || res.Value == nil {
		t.Fatalf("account of block %d not readable: %s", to, res.Log)
	}
}

func TestCrashBetweenFinalizeAndCommit(t *testing.T) {
	ref := reference(t, 5)
	for _, h := range []int64{1, 3} {
		t.Run(fmt.Sprint("block ", h), func(t *testing.T) {
			dir := t.TempDir()
			a := runTo(t, dir, h-1)
			if got := finalize(t, a, h); !bytes.Equal(got, ref[h]) {
				t.Fatalf("block %d hash %X, want %X", h, got, ref[h])
			}
			// Before Commit, Info still reports the last committed block.
			if gh, gHash := info(t, a); gh != h-1 || !bytes.Equal(gHash, hashOr(ref, h-1)) {
				t.Fatalf("Info before Commit: %d %X", gh, gHash)
			}
			a.Close()
			a = openApp(t, dir)
			if gh, gHash := info(t, a); gh != h-1 || !bytes.Equal(gHash, hashOr(ref, h-1)) {
				t.Fatalf("Info after crash: %d %X, want %d", gh, gHash, h-1)
			}
			if h == 1 {
				initChain(t, a) // CometBFT calls InitChain again before block 1
			}
			continueFrom(t, a, h, 5, ref)
		})
	}
}

// hashOr is ref[h] with height 0 meaning "no committed block" (empty).
func hashOr(ref map[int64][]byte, h int64) []byte {
	if h == 0 {
		return nil
	}
	return ref[h]
}

func TestCrashAfterSaveVersionBeforeHeight(t *testing.T) {
	ref := reference(t, 5)
	for _, h := range []int64{1, 3} {
		t.Run(fmt.Sprint("block ", h), func(t *testing.T) {
			dir := t.TempDir()
			a := runTo(t, dir, h-1)
			finalize(t, a, h)
			// Commit's first half: the tree version is written, the
			// committed height is not.
			hash, v, err := a.store.tree.SaveVersion()
			if err != nil || v != h || !bytes.Equal(hash, ref[h]) {
				t.Fatalf("SaveVersion: %v version %d", err, v)
			}
			a.Close()
			a = openApp(t, dir)
			if gh, gHash := info(t, a); gh != h-1 || !bytes.Equal(gHash, hashOr(ref, h-1)) {
				t.Fatalf("Info after crash: %d %X, want %d %X", gh, gHash, h-1, hashOr(ref, h-1))
			}
			if latest := a.store.tree.Version(); latest != h-1 {
				t.Fatalf("tree at version %d after reopen, want %d", latest, h-1)
			}
			if h == 1 {
				initChain(t, a)
			} else if a.store.tree.VersionExists(h) {
				t.Fatalf("half-done version %d survived the reopen", h)
			}
			continueFrom(t, a, h, 5, ref)
			// And it survives another restart.
			a.Close()
			a = openApp(t, dir)
			if gh, gHash := info(t, a); gh != 5 || !bytes.Equal(gHash, ref[5]) {
				t.Fatalf("Info after final restart: %d %X", gh, gHash)
			}
		})
	}
}

func TestCrashAfterInitChain(t *testing.T) {
	ref := reference(t, 2)
	dir := t.TempDir()
	a := openApp(t, dir)
	if got := initChain(t, a); !bytes.Equal(got, ref[0]) {
		t.Fatalf("genesis hash %X, want %X", got, ref[0])
	}
	a.Close()
	a = openApp(t, dir)
	if h, hash := info(t, a); h != 0 || len(hash) != 0 {
		t.Fatalf("Info after crash before block 1: %d %X", h, hash)
	}
	if got := initChain(t, a); !bytes.Equal(got, ref[0]) {
		t.Fatalf("second InitChain hash %X, want %X", got, ref[0])
	}
	continueFrom(t, a, 1, 2, ref)
	// InitChain on a chain that has blocks is refused.
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: crashChain, Time: crashT0, AppStateBytes: crashGenesis(), Validators: []abci.ValidatorUpdate{crashValidator}}); err == nil {
		t.Fatal("InitChain accepted on a store at height 2")
	}
}

func TestFinalizeBlockHeightChecks(t *testing.T) {
	a := runTo(t, t.TempDir(), 2)
	if _, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 4, Time: crashT0}); err == nil {
		t.Error("FinalizeBlock skipping a height accepted")
	}
	if _, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 2, Time: crashT0}); err == nil {
		t.Error("FinalizeBlock of a committed height accepted")
	}
	if _, err := a.Commit(context.Background(), &abci.RequestCommit{}); err == nil {
		t.Error("Commit without FinalizeBlock accepted")
	}
}

func TestTxCacheKeyRotationInSameBlock(t *testing.T) {
	// A tx whose signature CheckTx verified is trusted in FinalizeBlock only
	// for the same key: after a rotation in the same block it fails.
	dir := t.TempDir()
	a := runTo(t, dir, 1)
	admin := crashKey("admin")
	sign := func(nonce string, msg types.Msg, key ed25519.PrivateKey) []byte {
		tx, _ := types.Sign(types.Body{V: types.TxVersion, ChainID: crashChain, Signer: "admin", Nonce: nonce, Expires: 10, Msg: msg}, key)
		raw, _ := tx.Encode()
		return raw
	}
	newKey := crashKey("admin-2")
	rotate := sign("aaaaaaaaaaaaaaaa", types.Msg{RotateKey: &types.MsgRotateKey{Account: "admin", NewPubKey: newKey.Public().(ed25519.PublicKey)}}, admin)
	add := sign("bbbbbbbbbbbbbbbb", types.Msg{AddAccount: &types.MsgAddAccount{Account: "x", Name: "X", Roles: []types.Role{types.RoleDataManager}, PubKey: crashKey("x").Public().(ed25519.PublicKey)}}, admin)
	for _, raw := range [][]byte{rotate, add} {
		if r, _ := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New}); r.Code != 0 {
			t.Fatalf("CheckTx: %s", r.Log)
		}
	}
	res, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 2, Time: crashT0, Txs: [][]byte{rotate, add}})
	if err != nil {
		t.Fatal(err)
	}
	if res.TxResults[0].Code != 0 || types.Code(res.TxResults[1].Code) != types.CodeBadSignature {
		t.Fatalf("codes %d %d: the cached signature outlived the key rotation", res.TxResults[0].Code, res.TxResults[1].Code)
	}
}

// TestLegacyCommittedHeightKey: a store whose committed height sits under
// the key used before it moved after the tree's keys opens at that height
// and continues.
func TestLegacyCommittedHeightKey(t *testing.T) {
	ref := reference(t, 4)
	dir := t.TempDir()
	a := runTo(t, dir, 3)
	bz, err := a.store.ldb.Get(metaCommitted)
	if err != nil || len(bz) != 8 {
		t.Fatalf("committed height record %x, %v", bz, err)
	}
	if err := a.store.ldb.Delete(metaCommitted); err != nil {
		t.Fatal(err)
	}
	if err := a.store.ldb.SetSync(legacyCommitted, bz); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = openApp(t, dir)
	if h, hash := info(t, a); h != 3 || !bytes.Equal(hash, ref[3]) {
		t.Fatalf("reopened at %d %X, want 3 %X", h, hash, ref[3])
	}
	continueFrom(t, a, 4, 4, ref)
}
