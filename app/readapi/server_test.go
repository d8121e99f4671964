package readapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/readapi"
	"github.com/veritrial/veritrial/app/types"
)

// inProcess serves the read API of an in-process chain (no CometBFT node:
// reads only) and returns the chain and the API's URL.
func inProcess(t *testing.T) (*apptest.Chain, string) {
	t.Helper()
	c := apptest.New(t)
	c.SetupStudy()
	srv := httptest.NewServer(readapi.New(readapi.Config{ChainID: apptest.ChainID, Ledger: c.App}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// call sends one request and returns the status, the Allow header and the
// decoded JSON body.
func call(t *testing.T, method, url, contentType string, body []byte) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s %s: %s, not JSON: %q", method, url, res.Status, raw)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return res.StatusCode, res.Header.Get("Allow"), doc
}

// TestTransportRefusals: a request the API cannot take gets a JSON
// refusal with a stable code and an HTTP status, and never reaches the
// ledger: a wrong method, a body that is not JSON, a body above the
// endpoint's limit, a path the API does not have.
func TestTransportRefusals(t *testing.T) {
	c, url := inProcess(t)
	code := func(doc map[string]any) types.Code { return types.Code(doc["code"].(float64)) }

	status, _, doc := call(t, http.MethodGet, url+client.APIChain, "", nil)
	if status != http.StatusOK || doc["chain_id"] != apptest.ChainID || doc["height"] != float64(c.Height) {
		t.Errorf("GET chain: %d %v", status, doc)
	}
	for _, c := range []struct {
		method, path, contentType string
		body                      []byte
		status                    int
		code                      types.Code
		allow, say                string
	}{
		{http.MethodGet, client.APIRead, "", nil, http.StatusMethodNotAllowed, types.CodeReadMalformed, "POST", "takes POST, not GET"},
		{http.MethodPut, client.APITx, "application/json", []byte(`{}`), http.StatusMethodNotAllowed, types.CodeReadMalformed, "POST", "takes POST, not PUT"},
		{http.MethodPost, client.APIChain, "application/json", []byte(`{}`), http.StatusMethodNotAllowed, types.CodeReadMalformed, "GET", "takes GET, not POST"},
		{http.MethodPost, client.APIRead, "text/plain", []byte(`{}`), http.StatusUnsupportedMediaType, types.CodeReadMalformed, "", "Content-Type: application/json"},
		{http.MethodPost, client.APIRead, "", []byte(`{}`), http.StatusUnsupportedMediaType, types.CodeReadMalformed, "", "Content-Type: application/json"},
		{http.MethodPost, client.APIRead, "application/json", bytes.Repeat([]byte("x"), types.MaxReadBytes+1), http.StatusRequestEntityTooLarge, types.CodeReadMalformed, "", "larger than the limit of 65536 bytes"},
		{http.MethodPost, client.APITx, "application/json", bytes.Repeat([]byte("x"), types.MaxTxBytes*2), http.StatusRequestEntityTooLarge, types.CodeTxTooLarge, "", "larger than the limit"},
		{http.MethodGet, "/v1/keys", "", nil, http.StatusNotFound, types.CodeReadMalformed, "", "not a path of the read API"},
	} {
		status, allow, doc := call(t, c.method, url+c.path, c.contentType, c.body)
		if status != c.status || code(doc) != c.code || doc["code_name"] != c.code.String() || allow != c.allow || !strings.Contains(doc["log"].(string), c.say) {
			t.Errorf("%s %s (%s, %d bytes): %d allow %q %v, want %d %s allow %q saying %q", c.method, c.path, c.contentType, len(c.body), status, allow, doc, c.status, c.code, c.allow, c.say)
		}
	}
}

// TestSubmitWithoutNode: an API serving reads only (no node in process)
// says that it takes no txs, and a body that is not a tx is refused.
func TestSubmitWithoutNode(t *testing.T) {
	_, url := inProcess(t)
	status, _, doc := call(t, http.MethodPost, url+client.APITx, "application/json", []byte(`{"tx":"AAAA"}`))
	if status != http.StatusInternalServerError || !strings.Contains(doc["log"].(string), "does not take txs") {
		t.Errorf("submit without a node: %d %v", status, doc)
	}
}
