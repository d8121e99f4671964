package readapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/readapi"
	"github.com/veritrial/veritrial/app/types"
)

// TestHaltedNode: a node whose consensus failed says so in its status
// (signed, answered) and refuses every other request but its chain ID
// with node_halted (503), saying after which height and why; halted
// before its first block, it refuses the status too. Before the halt,
// the status carries the longest interval between blocks, so that a
// client can tell a stalled chain.
func TestHaltedNode(t *testing.T) {
	var halt atomic.Pointer[client.Halt]
	tn := startNodeWith(t, nil, func(c *readapi.Config) {
		c.Halted = halt.Load
		c.MaxBlockInterval = time.Second
	})
	ctx := context.Background()
	res := tn.send("sponsor-dm", apptest.RegisterMsg(apptest.Example()))
	cl := tn.client("sponsor-dm")
	st, err := cl.Status(ctx)
	if err != nil || st.Halted != nil || st.MaxBlockIntervalMS != 1000 || st.Stalled(time.Now()) != 0 {
		t.Fatalf("status of a live node: %+v %v", st, err)
	}

	h := &client.Halt{Height: res.Height, Reason: "+2/3 committed an invalid block: wrong Block.Header.AppHash", Since: time.Now().UTC()}
	halt.Store(h)
	st, err = cl.Status(ctx)
	if err != nil || st.Halted == nil || st.Halted.Height != h.Height || st.Halted.Reason != h.Reason {
		t.Fatalf("status of a halted node: %+v %v", st, err)
	}
	refusedHalted := func(what string, err error) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != types.CodeNodeHalted || ae.Status != http.StatusServiceUnavailable ||
			!strings.Contains(ae.Log, "after height") || !strings.Contains(ae.Log, "wrong Block.Header.AppHash") {
			t.Errorf("%s on a halted node: %v", what, err)
		}
	}
	_, err = cl.Reader(0, false).Account(ctx, "sponsor-dm")
	refusedHalted("a read", err)
	_, err = cl.Tx(ctx, res.Hash)
	refusedHalted("a tx status", err)
	raw, err := types.BuildTx(apptest.ChainID, "sponsor-dm", 50, person("sponsor-dm"), apptest.ActivateMsg(apptest.Example().Study.ID, "site1", "site1-investigator"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Broadcast(ctx, raw)
	refusedHalted("a submission", err)
	if id, err := tn.client("sponsor-dm").ChainID(ctx); err != nil || id != apptest.ChainID {
		t.Errorf("the chain ID of a halted node: %q %v", id, err)
	}

	halt.Store(&client.Halt{Height: 0, Reason: "wrong Block.Header.AppHash"})
	_, err = cl.Status(ctx)
	refusedHalted("the status of a node halted before its first block", err)
}

// TestLostSubmissionAnswer: when the answer to a submission is lost after
// the node took the tx (here a proxy forwards the first submission and
// drops the connection instead of answering), the client submits the
// same bytes again, the node says it has them, and the write ends
// committed, once.
func TestLostSubmissionAnswer(t *testing.T) {
	tn := startNode(t, nil)
	target, err := url.Parse(tn.URL)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(target)
	var submissions atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != client.APITx || submissions.Add(1) > 1 {
			fwd.ServeHTTP(w, r)
			return
		}
		// The node gets the tx; its answer never comes back.
		fwd.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
	defer proxy.Close()

	cl, err := client.New(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	cl.ReadAs("sponsor-dm", func() (types.Signer, error) { return person("sponsor-dm"), nil })
	cl.Timeout = 20 * time.Second
	ctx := context.Background()
	res, err := cl.Send(ctx, "sponsor-dm", person("sponsor-dm"), apptest.RegisterMsg(apptest.Example()))
	if err != nil || !res.OK() || res.Height == 0 {
		t.Fatalf("a write whose first answer was lost: %+v %v", res, err)
	}
	if n := submissions.Load(); n != 2 {
		t.Errorf("%d submissions, want the lost one and its repetition", n)
	}
	st, err := cl.Reader(0, false).Study(ctx, apptest.Example().Study.ID)
	if err != nil || st == nil {
		t.Fatalf("the study after the write: %+v %v", st, err)
	}
}
