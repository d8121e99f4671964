package webui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(h *Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	page := "<!doctype html><title>pages</title>" + strings.Repeat(" ", 1000)
	h := &Handler{files: fstest.MapFS{"index.html": {Data: []byte(page)}, "app.js": {Data: []byte("x")}}, cache: map[string]*asset{}}

	w := serve(h, http.MethodGet, "/")
	if w.Code != http.StatusOK || w.Body.String() != page || w.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(w.Header().Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("GET /: %d %q %v", w.Code, w.Body, w.Header())
	}
	etag := w.Header().Get("ETag")
	if w := serve(h, http.MethodGet, "/index.html", "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("GET with the ETag: %d, %d bytes", w.Code, w.Body.Len())
	}
	w = serve(h, http.MethodGet, "/", "Accept-Encoding", "gzip, br")
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil || w.Header().Get("Content-Encoding") != "gzip" || w.Body.Len() >= len(page) {
		t.Fatalf("GET / with gzip: %v, %v, %d bytes", err, w.Header(), w.Body.Len())
	}
	if got, _ := io.ReadAll(zr); string(got) != page {
		t.Errorf("gzip body decodes to %q", got)
	}
	if w := serve(h, http.MethodGet, "/app.js"); w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("app.js served as %q", w.Header().Get("Content-Type"))
	}
	if w := serve(h, http.MethodGet, "/"+Module); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "make wasm") {
		t.Errorf("missing module: %d %q", w.Code, w.Body)
	}
	for _, p := range []string{"/nothing.js", "/../webui.go", "/a/app.js", "/webui.go"} {
		if w := serve(h, http.MethodGet, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	if w := serve(h, http.MethodPost, "/"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d", w.Code)
	}
}

// The embedded pages are there; the module is when make wasm built it.
func TestEmbedded(t *testing.T) {
	h := New()
	for _, name := range []string{"/", "/app.js", "/style.css"} {
		if w := serve(h, http.MethodGet, name); w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", name, w.Code)
		}
	}
}
