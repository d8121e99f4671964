// Package browsertest drives the web pages (docs/WEB.md) in a headless
// Chromium (Debian's chromium, which make test installs) for the tests
// that run them against real nodes. Without the browser, or without the
// WebAssembly module in the binary (make wasm), Need skips the test and
// says so, or fails it under CI=1.
package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/webui"
)

// Need returns the browser's path, after checking that the binary embeds
// the WebAssembly module.
func Need(t testing.TB) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI=1: the browser tests must run)", what)
		}
		t.Skipf("SKIPPED, NOT PASSED: %s", what)
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		missing("no chromium on PATH: apt-get install chromium (make test installs it)")
	}
	w := httptest.NewRecorder()
	webui.New().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/"+webui.Module, nil))
	if w.Code != http.StatusOK {
		missing("the web pages' WebAssembly module is not built: run make wasm first (make test does)")
	}
	return path
}

// Start starts a headless Chromium at a tablet's width and returns its
// context.
func Start(t testing.TB, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1024, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// Page runs actions in the browser within a minute.
func Page(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v; the page says:\n%s", what, err, MainText(ctx))
	}
}

// MainText is the page's text, for failure messages.
func MainText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
	return s
}

// Get runs one action that returns a value.
func Get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v; the page says:\n%s", what, err, MainText(ctx))
	}
	return v
}

// TextOf returns the text of the element sel.
func TextOf(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return Get(t, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// WaitText waits until the element sel's text contains want.
func WaitText(t testing.TB, ctx context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		s, err = chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never said %q; it says %q; the page:\n%s", sel, want, s, MainText(ctx))
	return ""
}

// SignIn unlocks account's key file from the home's keyring in the page.
func SignIn(t testing.TB, ctx context.Context, url, home, account string) {
	t.Helper()
	Page(t, ctx, "signing in as "+account,
		chromedp.Navigate(url+"/#/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#keyfile"), []string{filepath.Join(node.KeyringDir(home), account+".key")}),
		TypeInto("#passphrase", node.DevPassphrase),
		Press("#signin-submit"),
		chromedp.WaitVisible(chromedp.CSS("#who")))
	if got := TextOf(t, ctx, "#who-name"); !strings.Contains(got, "("+account+",") {
		t.Fatalf("signed in as %q, want %s", got, account)
	}
}

// TypeInto replaces the value of input sel with value, keystroke by
// keystroke, as a person types.
func TypeInto(sel, value string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[bool](fmt.Sprintf("(e => (e.focus(), e.select(), true))(document.querySelector(%q))", sel))(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.SendKeys(chromedp.CSS(sel), value)(ctx, tg)
	}
}

// Press presses Enter on the button sel, as a person using the keyboard
// only does.
func Press(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Focus(chromedp.CSS(sel))(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.KeyEvent("\r")(ctx, tg)
	}
}

// Timings are the page's own measures (window.vtTimings), in ms: module
// ready, last route and form rendered since the page's start, each edit
// check's time and each tx's from submit to committed.
type Timings struct {
	Ready, Route, FormRendered float64
	Checks, Commits            []float64
}

// PageTimings reads the page's timings.
func PageTimings(t testing.TB, ctx context.Context) Timings {
	t.Helper()
	return Get(t, ctx, "timings", chromedp.Evaluate[Timings]("({Ready: vtTimings.ready, Route: vtTimings.route, FormRendered: vtTimings.formRendered, Checks: vtTimings.checks, Commits: vtTimings.commits})"))
}

// Median is the middle value of xs (the upper one of an even count), 0
// for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
