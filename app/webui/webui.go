// Package webui is the web data capture pages a node serves at / on its
// read API's port (docs/WEB.md): plain HTML forms and a little
// JavaScript, with everything that must be as the validators have it (the
// edit checks, building and signing txs and read requests, unlocking the
// person's key file) in Go compiled to WebAssembly (app/webui/wasm,
// app/webui/session). The pages reach the ledger only through the read
// API, as the person, with their own signature: the node never holds a
// person's key.
//
// The assets are embedded in the binary. The WebAssembly module and Go's
// wasm_exec.js are built into assets/ by make wasm (they are not in git);
// a binary built without them serves pages that say how to build them.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed assets
var embedded embed.FS

// Module is the file name of the WebAssembly module among the assets.
const Module = "veritrial.wasm"

// contentSecurityPolicy lets the pages load nothing but their own assets
// and talk to nothing but their own node; WebAssembly needs
// 'wasm-unsafe-eval' to compile.
const contentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// asset is one file as served: raw and gzip-compressed, with its type and
// entity tag.
type asset struct {
	raw, gz []byte
	ctype   string
	etag    string
}

// Handler serves the pages' assets (GET and HEAD; "/" is index.html).
type Handler struct {
	files fs.FS
	mu    sync.Mutex
	cache map[string]*asset
}

// New returns the handler of the embedded assets.
func New() *Handler {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	return &Handler{files: sub, cache: map[string]*asset{}}
}

// types are the content types of the assets by extension.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
	".png":  "image/png",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the pages take GET", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	a, ok := h.asset(name)
	hd := w.Header()
	if !ok {
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if name == Module || name == "wasm_exec.js" {
			w.Write([]byte("This node was built without the web pages' WebAssembly module. Build it with: make wasm (make build does it too), then rebuild and restart the node.\n"))
			return
		}
		w.Write([]byte("not found\n"))
		return
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.raw
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// asset reads and compresses an asset once.
func (h *Handler) asset(name string) (*asset, bool) {
	ctype, ok := types[path.Ext(name)]
	if !ok || strings.Contains(name, "/") {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok := h.cache[name]; ok {
		return a, true
	}
	raw, err := fs.ReadFile(h.files, name)
	if err != nil {
		return nil, false
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	sum := sha256.Sum256(raw)
	a := &asset{raw: raw, gz: gz.Bytes(), ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	h.cache[name] = a
	return a, true
}
