package readapi_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/veritrial/veritrial/app"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/readapi"
	"github.com/veritrial/veritrial/app/types"
)

// testNode is a one-validator CometBFT node running the veritrial App in
// process, with the test consortium's people (apptest), serving its read
// API.
type testNode struct {
	t   *testing.T
	App *app.App
	URL string
}

// startNode makes a home, starts its node and serves its read API,
// recording its reads in access (nil: no log); everything stops when the
// test ends.
func startNode(t *testing.T, access app.AccessLog) *testNode {
	t.Helper()
	return startNodeWith(t, access, nil)
}

// startNodeWith is startNode with the read API's configuration changed by
// tweak (nil: as it is).
func startNodeWith(t *testing.T, access app.AccessLog, tweak func(*readapi.Config)) *testNode {
	t.Helper()
	home := t.TempDir()
	conf := node.Config(home, "regulator", "tcp://127.0.0.1:"+freePort(t), "tcp://127.0.0.1:"+freePort(t),
		node.Timing{Propose: time.Second, Commit: 50 * time.Millisecond, EmptyBlocksInterval: time.Second})
	conf.RPC.ListenAddress = "" // the test talks to the node only through the read API
	files, err := node.InitFiles(conf)
	if err != nil {
		t.Fatal(err)
	}
	g := apptest.DefaultGenesis()
	for i := range g.Orgs {
		g.Orgs[i].Validators = nil
		if g.Orgs[i].ID == "regulator" {
			g.Orgs[i].Validators = []types.Validator{{PubKey: files.ValidatorPubKey.Bytes(), Power: 10, NodeID: files.NodeID}}
		}
	}
	doc, err := node.NewGenesisDoc(apptest.ChainID, time.Now(), g)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.SaveAs(conf.GenesisFile()); err != nil {
		t.Fatal(err)
	}
	appl, err := app.New(app.Config{DataDir: node.AppDataDir(home), Access: access})
	if err != nil {
		t.Fatal(err)
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	n, err := cmtnode.NewNode(conf, privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile()), nodeKey,
		proxy.NewConnSyncLocalClientCreator(appl), cmtnode.DefaultGenesisDocProviderFunc(conf), cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation), cmtlog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	cfg := readapi.Config{ChainID: apptest.ChainID, Ledger: appl, Chain: local.New(n)}
	if tweak != nil {
		tweak(&cfg)
	}
	srv := httptest.NewServer(readapi.New(cfg))
	t.Cleanup(func() {
		srv.Close()
		n.Stop()
		n.Wait()
		appl.Close()
	})
	tn := &testNode{t: t, App: appl, URL: srv.URL}
	deadline := time.Now().Add(30 * time.Second)
	for n.BlockStore().Height() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the node made no block in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tn
}

// person is a person of the test consortium, with their key.
func person(id string) *apptest.Person { return &apptest.Person{ID: id, Key: apptest.KeyFor(id)} }

// client returns a client of the node's read API reading as reader.
func (tn *testNode) client(reader string) *client.Client {
	tn.t.Helper()
	cl, err := client.New(tn.URL)
	if err != nil {
		tn.t.Fatal(err)
	}
	p := person(reader)
	cl.ReadAs(reader, func() (types.Signer, error) { return p, nil })
	cl.Timeout = 20 * time.Second
	return cl
}

// TestSubmitThroughAPI: a tx submitted through the read API reaches the
// node's mempool, which answers CheckTx's verdict: a valid tx is taken, a
// tx signed by a key the ledger does not know is refused with its code.
func TestSubmitThroughAPI(t *testing.T) {
	tn := startNode(t, nil)
	ctx := context.Background()
	cl := tn.client("sponsor-dm")
	chain, err := cl.ChainID(ctx)
	if err != nil || chain != apptest.ChainID {
		t.Fatalf("chain %q %v", chain, err)
	}
	dm := person("sponsor-dm")
	raw, err := types.BuildTx(chain, "sponsor-dm", 50, dm, apptest.RegisterMsg(apptest.Example()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Broadcast(ctx, raw)
	if err != nil || !res.OK() || res.Hash != types.TxHash(raw) {
		t.Fatalf("broadcast: %+v %v", res, err)
	}
	forged, _ := types.BuildTx(chain, "sponsor-dm", 50, person("site1-coordinator"), apptest.RegisterMsg(apptest.Example()))
	res, err = cl.Broadcast(ctx, forged)
	if err != nil || res.Code != types.CodeBadSignature || res.Stage != "check" {
		t.Fatalf("a tx signed with another's key: %+v %v", res, err)
	}
}
