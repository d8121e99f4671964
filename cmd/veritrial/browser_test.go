package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/app/webui"
	"github.com/veritrial/veritrial/protocol"
)

// The web pages' tests drive a headless Chromium (Debian's chromium,
// which make test installs) against a real node. Without the browser, or
// without the WebAssembly module in the binary (make wasm), they skip and
// say so, or fail under CI=1.

// needBrowser returns the browser's path, after checking that the test
// binary embeds the WebAssembly module.
func needBrowser(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI=1: the browser tests must run)", what)
		}
		t.Skipf("SKIPPED, NOT PASSED: %s", what)
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		missing("no chromium on PATH: apt-get install chromium (make test installs it)")
	}
	if _, err := os.Stat(filepath.Join("..", "..", "app", "webui", "assets", webui.Module)); err != nil {
		missing("the web pages' WebAssembly module is not built: run make wasm first (make test does)")
	}
	return path
}

// browser starts a headless Chromium at a tablet's width and returns its
// context.
func browser(t *testing.T, path string) context.Context {
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

// page runs actions in the browser within a minute.
func page(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v; the page says:\n%s", what, err, mainText(ctx))
	}
}

// mainText is the page's text, for failure messages.
func mainText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
	return s
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v; the page says:\n%s", what, err, mainText(ctx))
	}
	return v
}

// textOf returns the text of the element sel.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// waitText waits until the element sel's text contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
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
	t.Fatalf("%s never said %q; it says %q; the page:\n%s", sel, want, s, mainText(ctx))
	return ""
}

// signIn unlocks account's key file from the home's keyring in the page.
func signIn(t *testing.T, ctx context.Context, url, home, account string) {
	t.Helper()
	page(t, ctx, "signing in as "+account,
		chromedp.Navigate(url+"/#/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#keyfile"), []string{filepath.Join(node.KeyringDir(home), account+".key")}),
		typeInto("#passphrase", node.DevPassphrase),
		press("#signin-submit"),
		chromedp.WaitVisible(chromedp.CSS("#who")))
	if got := textOf(t, ctx, "#who-name"); !strings.Contains(got, "("+account+",") {
		t.Fatalf("signed in as %q, want %s", got, account)
	}
}

// screenshot saves the page as docs/web/NAME.png when VERITRIAL_SCREENSHOTS
// is set (docs/WEB.md).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("VERITRIAL_SCREENSHOTS") == "" {
		return
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "web", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// assetSizes fetches every asset raw and gzip-compressed.
func assetSizes(t *testing.T, url string) (raw, gz int) {
	t.Helper()
	for _, name := range []string{"", "app.js", "style.css", "wasm_exec.js", webui.Module} {
		for _, enc := range []string{"identity", "gzip"} {
			req, _ := http.NewRequest(http.MethodGet, url+"/"+name, nil)
			req.Header.Set("Accept-Encoding", enc)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /%s: %s", name, res.Status)
			}
			if enc == "gzip" {
				if res.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("GET /%s with gzip: not compressed", name)
				}
				gz += int(n)
			} else {
				raw += int(n)
			}
		}
	}
	return raw, gz
}

// TestBrowserDataCapture is a site's day in the web pages, each step
// checked against the ledger through the CLI: the coordinator signs in,
// enrols a subject, enters vital signs with an out-of-range value (the
// message shows while typing and nothing is sent), then a value that only
// warns (accepted; the ledger opens a query, which the inbox shows),
// corrects the form with a reason and answers the query; the investigator
// signs the form; a person of another site cannot see the subject.
func TestBrowserDataCapture(t *testing.T) {
	chrome := needBrowser(t)
	work, home, env, _ := devNode(t)
	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	withMissingCodes(t, proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	activateSite1(t, env, "VT-HTN-201")
	api, ok, err := node.LoadAPI(home)
	if err != nil || !ok {
		t.Fatalf("the home has no read API: %v", err)
	}
	url := api.URL()

	raw, gz := assetSizes(t, url)
	t.Logf("assets served: %.2f MB raw, %.2f MB gzip-compressed", float64(raw)/1e6, float64(gz)/1e6)
	if gz >= 5e6 {
		t.Errorf("the pages cost %.2f MB compressed to load; the goal is under 5 MB (does the module link a package it does not use?)", float64(gz)/1e6)
	}

	ctx := browser(t, chrome)
	page(t, ctx, "tablet width", chromedp.EmulateViewport(768, 1000))
	sent := recordRequests(t, ctx)

	// A wrong passphrase is refused in the page; neither it nor the key
	// file is sent.
	page(t, ctx, "wrong passphrase",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#keyfile"), []string{filepath.Join(node.KeyringDir(home), "site1-coordinator.key")}),
		chromedp.SendKeys(chromedp.CSS("#passphrase"), "not the passphrase"))
	screenshot(t, ctx, "signin")
	page(t, ctx, "wrong passphrase", press("#signin-submit"))
	waitText(t, ctx, "#signin-status", `wrong passphrase for key "site1-coordinator"`)

	signIn(t, ctx, url, home, "site1-coordinator")
	waitText(t, ctx, "#view", "VT-HTN-201")
	keyFile := readFile(t, filepath.Join(node.KeyringDir(home), "site1-coordinator.key"))
	var sealed struct {
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.Unmarshal([]byte(keyFile), &sealed); err != nil || sealed.Ciphertext == "" {
		t.Fatalf("key file: %v", err)
	}
	bodies := sent()
	if !slices.ContainsFunc(bodies, func(b string) bool { return strings.Contains(b, `"reader":"site1-coordinator"`) }) {
		t.Fatalf("no signed read of site1-coordinator among the requests the page sent: %q", bodies)
	}
	for _, b := range bodies {
		// (The dev passphrase is also the dev chain's ID, which reads name.)
		if strings.Contains(b, "passphrase") || strings.Contains(b, sealed.Ciphertext) {
			t.Fatalf("the page sent the passphrase or the key file to the node: %s", b)
		}
	}
	if s := textOf(t, ctx, "#view"); !strings.Contains(s, "0 subject(s) you may see") {
		t.Errorf("dashboard before enrolment:\n%s", s)
	}

	// Enrolment: the consent document's SHA-256 is computed in the page.
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v2 (test document)\n")
	sum := sha256.Sum256([]byte("consent form v2 (test document)\n"))
	page(t, ctx, "enrolment",
		chromedp.Navigate(url+"/#/enrol"),
		chromedp.WaitVisible(chromedp.CSS("#enrol-form")),
		chromedp.SendKeys(chromedp.CSS("#enrol-subject"), "S1-001"),
		chromedp.SendKeys(chromedp.CSS("#consent-version"), "2.0"),
		chromedp.SetUploadFiles(chromedp.CSS("#consent-file"), []string{icf}))
	waitText(t, ctx, "#consent-sha", hex.EncodeToString(sum[:]))
	screenshot(t, ctx, "enrol")
	page(t, ctx, "enrol", press("#enrol-form button[type=submit]"))
	waitText(t, ctx, "#enrol-form .status", "Committed at height")
	var subj struct {
		Subject types.Subject `json:"subject"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json"), &subj)
	if subj.Subject.Site != "site1" || subj.Subject.ConsentVersion != "2.0" || subj.Subject.ConsentSHA256 != hex.EncodeToString(sum[:]) || subj.Subject.Enrolled.Signer != "site1-coordinator" {
		t.Fatalf("the ledger's subject: %+v", subj.Subject)
	}
	page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"))
	waitText(t, ctx, "#view", "S1-001")
	if s := textOf(t, ctx, ".schedule"); !strings.Contains(s, "Vital signs") || !strings.Contains(s, "missing") || strings.Contains(s, "entered") {
		t.Errorf("the schedule of S1-001:\n%s", s)
	}

	coordinatorEntersVitalSigns(t, ctx, env, url)
	historyProofs(t, ctx, env, url)
	repeatsAndBranches(t, ctx, env, url)
	monitorVerifies(t, ctx, env, home, url)
	investigatorSigns(t, ctx, env, home, url)
	unscheduledVisits(t, ctx, env, url)
	investigatorSignsCasebook(t, ctx, env, home, url)
	page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"))
	waitText(t, ctx, ".schedule", "signed")
	if s := textOf(t, ctx, `a[href="#/form/VT-HTN-201/S1-001/SCR/1/VS"]`); !strings.Contains(s, "entered") || !strings.Contains(s, "verified") || !strings.Contains(s, "signed") || !strings.Contains(s, "queried") {
		t.Errorf("the dashboard's vital signs of S1-001 at screening: %q", s)
	}
	screenshot(t, ctx, "dashboard")
	scheduleOnTheDashboard(t, ctx, env, url)
	derivedAndMissing(t, ctx, env, url)
	otherSiteCannotSee(t, ctx, env, home, url)
}

// scheduleOnTheDashboard: once the baseline (the calendar's anchor) is
// dated 60 days ago, the dashboard shows each scheduled visit's target
// date and window, the baseline as entered, week 4 (its window closed 29
// days ago, nothing entered) as overdue and the follow-up as upcoming.
func scheduleOnTheDashboard(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
	page(t, ctx, "dashboard before the baseline", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#when-S1-001-W4")))
	if s := textOf(t, ctx, "#when-S1-001-W4"); !strings.Contains(s, "target set once the anchor visit is dated") || !strings.Contains(s, "pending") {
		t.Errorf("week 4 before the baseline is dated: %q", s)
	}
	mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "D1", "--form", "VS",
		"VS.DATE="+day(-60), "VS.POS=1", "VS.SYSBP=128", "VS.DIABP=82", "VS.HR=70")
	page(t, ctx, "dashboard with the baseline dated", chromedp.Navigate(url+"/#/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")),
		chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#when-S1-001-W4")))
	waitText(t, ctx, "#when-S1-001-W4", "overdue")
	for id, want := range map[string]string{
		"#when-S1-001-D1": fmt.Sprintf("target %s (%s to %s), visited %s entered", day(-60), day(-60), day(-60), day(-60)),
		"#when-S1-001-W4": fmt.Sprintf("target %s (%s to %s) overdue", day(-32), day(-35), day(-29)),
		"#when-S1-001-FU": fmt.Sprintf("target %s (%s to %s) upcoming", day(38), day(35), day(45)),
	} {
		if s := textOf(t, ctx, id); s != want {
			t.Errorf("%s: %q, want %q", id, s, want)
		}
	}
	screenshot(t, ctx, "schedule")
}

// withMissingCodes declares the missing-data codes UNK and ASKU in the
// protocol file and lets tobacco use (DM.SMOKE) take them.
func withMissingCodes(t *testing.T, proto string) {
	t.Helper()
	y := readFile(t, proto)
	const smoke = "            codelist: CL.SMOKE\n"
	if strings.Count(y, smoke) != 1 {
		t.Fatalf("the example protocol does not have DM.SMOKE as expected:\n%s", y)
	}
	y = strings.Replace(y, smoke, smoke+"            missing: [UNK, ASKU]\n", 1)
	writeFile(t, proto, y+"\nmissing_codes:\n  - {code: UNK, decode: Unknown}\n  - {code: ASKU, decode: Asked but unknown}\n")
}

// derivedAndMissing: on the demographics form the body mass index shows
// as height and weight are typed, computed in the page as the ledger
// computes it; tobacco use is given as the missing-data code "asked but
// unknown" with a reason. The ledger stores both, and the form shows them
// back.
func derivedAndMissing(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	page(t, ctx, "demographics", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/DM"), chromedp.WaitVisible(chromedp.CSS("#i-DM_HEIGHT-0")))
	if s := textOf(t, ctx, "#i-DM_BMI-0"); s != "—" {
		t.Errorf("the body mass index before height and weight: %q", s)
	}
	page(t, ctx, "demographics",
		typeInto("#i-DM_CONSDT-0", "2026-01-05"),
		typeInto("#i-DM_AGE-0", "54"),
		chromedp.Focus(chromedp.CSS(`#i-DM_SEX-0 input[value="1"]`)), chromedp.KeyEvent(" "),
		typeInto("#i-DM_HEIGHT-0", "175.0"),
		typeInto("#i-DM_WEIGHT-0", "70.0"))
	waitText(t, ctx, "#i-DM_BMI-0", "22.9")
	page(t, ctx, "a heavier weight", typeInto("#i-DM_WEIGHT-0", "80.0"))
	waitText(t, ctx, "#i-DM_BMI-0", "26.1")
	if visible(t, ctx, "#i-DM_SMOKE-0-reason") {
		t.Error("the reason box shows before a missing-data code is chosen")
	}
	get(t, ctx, "tobacco use asked but unknown",
		chromedp.Evaluate[bool](`(s => (s.value = "ASKU", s.dispatchEvent(new Event("change", {bubbles: true})), true))(document.querySelector("#i-DM_SMOKE-0-missing"))`))
	waitShown(t, ctx, "#i-DM_SMOKE-0-reason", true)
	page(t, ctx, "the reason", typeInto("#i-DM_SMOKE-0-reason", "the subject would not say"))
	if s := textOf(t, ctx, "#i-DM_SMOKE-0-msg"); s != "" {
		t.Errorf("the required tobacco use, given a code, says %q", s)
	}
	screenshot(t, ctx, "derived-missing")
	page(t, ctx, "submit", press("#crf-submit"))
	waitText(t, ctx, "#tx-status", "Committed at height")
	var doc struct {
		Form types.FormRecord `json:"form"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "form", "-o", "json", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "DM"), &doc)
	if !slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "DM.BMI", Value: "26.1"}) ||
		!slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "DM.SMOKE", Missing: "ASKU", Reason: "the subject would not say"}) {
		t.Fatalf("the ledger's demographics: %+v", doc.Form.Values)
	}
	// The form as the ledger holds it: the computed value and the code.
	waitText(t, ctx, "#i-DM_BMI-0", "26.1")
	if v := get(t, ctx, "the code shown", chromedp.Evaluate[string](`document.querySelector("#i-DM_SMOKE-0-missing").value + "|" + document.querySelector("#i-DM_SMOKE-0-reason").value`)); v != "ASKU|the subject would not say" {
		t.Errorf("the entered form shows tobacco use as %q", v)
	}
}

// recordRequests keeps every request the page sends from now on; the
// function returns each as its URL and body.
func recordRequests(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || e.Request == nil {
			return
		}
		var b strings.Builder
		for _, pe := range e.Request.PostDataEntries {
			b.Write(pe.Bytes)
		}
		mu.Lock()
		seen = append(seen, e.Request.URL+" "+b.String())
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// vsKey names the screening vital signs of S1-001 for the CLI.
var vsKey = []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}

// typeInto replaces the value of input sel with value, keystroke by
// keystroke, as a person types.
func typeInto(sel, value string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[bool](fmt.Sprintf("(e => (e.focus(), e.select(), true))(document.querySelector(%q))", sel))(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.SendKeys(chromedp.CSS(sel), value)(ctx, tg)
	}
}

// press presses Enter on the button sel, as a person using the keyboard
// only does.
func press(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Focus(chromedp.CSS(sel))(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.KeyEvent("\r")(ctx, tg)
	}
}

// coordinatorEntersVitalSigns: an out-of-range value is refused in the
// page, a warning is accepted and opens a query, a correction needs its
// reason, the query is answered.
func coordinatorEntersVitalSigns(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	page(t, ctx, "vital signs form",
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#crf")),
		typeInto("#i-VS_DATE-0", "2026-01-12"),
		chromedp.Focus(chromedp.CSS(`#i-VS_POS-0 input[value="1"]`)),
		chromedp.KeyEvent(" "),
		typeInto("#i-VS_SYSBP-0", "300"),
		typeInto("#i-VS_DIABP-0", "92"),
		typeInto("#i-VS_HR-0", "72"))
	waitText(t, ctx, "#i-VS_SYSBP-0-msg", "Error: Systolic blood pressure 300 mmHg is above the maximum 250 (VS.SYSBP)")
	tm := timings(t, ctx)
	t.Logf("page start to module ready %.0f ms; form page (signed reads, render) %.0f ms; %d edit checks, median %.2f ms, slowest %.2f ms",
		tm.Ready, tm.FormRendered-tm.Route, len(tm.Checks), median(tm.Checks), slices.Max(tm.Checks))
	page(t, ctx, "submit with a hard problem", press("#crf-submit"))
	waitText(t, ctx, "#tx-status", "Not sent: 1 value(s) fail the protocol's edit checks")
	screenshot(t, ctx, "form-hard")
	failVT(t, env, exitFailure, "has not been entered", append([]string{"--from", "sponsor-dm", "show", "form"}, vsKey...)...)

	// A heart rate below the expected 40 warns; the form goes in and the
	// ledger opens a query on it.
	page(t, ctx, "values that only warn", typeInto("#i-VS_SYSBP-0", "148"), typeInto("#i-VS_HR-0", "38"))
	waitText(t, ctx, "#i-VS_HR-0-msg", "Warning: Heart rate 38 bpm is below the expected 40 (VS.HR)")
	if s := textOf(t, ctx, "#i-VS_SYSBP-0-msg"); s != "" {
		t.Errorf("the corrected systolic pressure still says %q", s)
	}
	page(t, ctx, "submit", press("#crf-submit"))
	waitText(t, ctx, "#tx-status", "Committed at height")
	var doc struct {
		Form types.FormRecord `json:"form"`
	}
	decode(t, mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "-o", "json"}, vsKey...)...), &doc)
	if doc.Form.Version != 1 || doc.Form.Stamp.Signer != "site1-coordinator" || len(doc.Form.Warnings) != 1 || doc.Form.Warnings[0].Item != "VS.HR" {
		t.Fatalf("the ledger's form: %+v", doc.Form)
	}
	if tx := textOf(t, ctx, "#tx-status .hash"); tx != doc.Form.Stamp.TxHash {
		t.Errorf("the page says tx %s, the ledger %s", tx, doc.Form.Stamp.TxHash)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "VS.HR") {
		t.Fatalf("the ledger's queries:\n%s", r.stdout)
	}
	page(t, ctx, "inbox", chromedp.Navigate(url+"/#/inbox"))
	waitText(t, ctx, "#inbox", "Heart rate 38 bpm is below the expected 40")
	screenshot(t, ctx, "inbox")

	// A correction shows old and new values and needs a reason.
	page(t, ctx, "correction",
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#reason")),
		typeInto("#i-VS_TEMP-0", "36.6"))
	waitText(t, ctx, "#changes", "VS.TEMP: (empty) → 36.6")
	page(t, ctx, "correction without a reason", press("#crf-submit"))
	waitText(t, ctx, "#tx-status", "A correction needs a reason.")
	page(t, ctx, "correction with a reason", chromedp.SendKeys(chromedp.CSS("#reason"), "temperature was on the source, not transcribed"))
	screenshot(t, ctx, "correction")
	page(t, ctx, "correct", press("#crf-submit"))
	waitText(t, ctx, "#tx-status", "Committed at height")
	decode(t, mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "-o", "json"}, vsKey...)...), &doc)
	if doc.Form.Version != 2 || doc.Form.Reason != "temperature was on the source, not transcribed" || !slices.Equal(doc.Form.Changed, []string{"VS.TEMP"}) {
		t.Fatalf("the ledger's corrected form: %+v", doc.Form)
	}
	waitText(t, ctx, "#history", "temperature was on the source, not transcribed")

	// The query is answered from the form.
	page(t, ctx, "answer", chromedp.SendKeys(chromedp.CSS("#q-1-text"), "Confirmed on the source: the subject is an athlete"),
		press("#q-1 button"))
	waitText(t, ctx, "#q-1", "answered")
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201", "--status", "all", "--thread"); !strings.Contains(r.stdout, "answer by site1-coordinator: Confirmed on the source: the subject is an athlete") {
		t.Fatalf("the ledger's queries after the answer:\n%s", r.stdout)
	}
	tm = timings(t, ctx)
	t.Logf("submit to committed: %.0f ms median of %d", median(tm.Commits), len(tm.Commits))
}

// pageTimings are the page's own measures (window.vtTimings), in ms.
type pageTimings struct {
	Ready, Route, FormRendered float64
	Checks, Commits            []float64
}

func timings(t *testing.T, ctx context.Context) pageTimings {
	t.Helper()
	return get(t, ctx, "timings", chromedp.Evaluate[pageTimings]("({Ready: vtTimings.ready, Route: vtTimings.route, FormRendered: vtTimings.formRendered, Checks: vtTimings.checks, Commits: vtTimings.commits})"))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// signOut ends the session in the page.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	page(t, ctx, "sign out", press("#signout"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
}

// monitorVerifies: the CRO's monitor closes the answered query and marks
// the form verified against source.
func monitorVerifies(t *testing.T, ctx context.Context, env []string, home, url string) {
	t.Helper()
	signOut(t, ctx)
	signIn(t, ctx, url, home, "cro-monitor")
	page(t, ctx, "the monitor's form", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#verify-form")))
	page(t, ctx, "close the query", press("#q-1 button"))
	waitText(t, ctx, "#q-1", "closed")
	page(t, ctx, "raise a query", chromedp.SetValue(chromedp.CSS("#raise-item"), "VS.SYSBP"),
		chromedp.SendKeys(chromedp.CSS("#raise-text"), "The source shows 146; please check"), press("#raise-form button[type=submit]"))
	waitText(t, ctx, "#q-2", "Query #2 · VS.SYSBP · open")
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "query", "--study", "VT-HTN-201", "--number", "2"); !strings.Contains(r.stdout, "The source shows 146; please check") || !strings.Contains(r.stdout, "cro-monitor") {
		t.Fatalf("the ledger's query 2:\n%s", r.stdout)
	}
	page(t, ctx, "verify an item", chromedp.SetValue(chromedp.CSS("#verify-item"), "VS.HR"), press("#verify-item-submit"))
	waitText(t, ctx, "#sdv-h + p", "Status: partial")
	r := mustVT(t, env, "--from", "sponsor-dm", "show", "sdv", "--study", "VT-HTN-201", "--subject", "S1-001")
	if !strings.Contains(r.stdout, "partial") || !strings.Contains(r.stdout, "VS.HR") {
		t.Fatalf("the ledger's SDV after one item:\n%s", r.stdout)
	}
	page(t, ctx, "verify", press("#verify-form"))
	waitText(t, ctx, "#sdv-h + p", "Status: verified")
	screenshot(t, ctx, "form")
	var sdv struct {
		Forms []struct {
			SDV types.SDVRecord `json:"sdv"`
		} `json:"forms"`
	}
	r = mustVT(t, env, "--from", "sponsor-dm", "show", "sdv", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json")
	decode(t, r, &sdv)
	if len(sdv.Forms) != 1 || sdv.Forms[0].SDV.Status != types.SDVVerified || sdv.Forms[0].SDV.History[0].Stamp.Signer != "cro-monitor" {
		t.Fatalf("the ledger's SDV:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201", "--status", "all", "--thread"); !strings.Contains(r.stdout, "close by cro-monitor") {
		t.Fatalf("the ledger's queries after the close:\n%s", r.stdout)
	}
}

// investigatorSigns: the signature screen shows the values and the
// statement and signs only once the key is unlocked again.
func investigatorSigns(t *testing.T, ctx context.Context, env []string, home, url string) {
	t.Helper()
	signOut(t, ctx)
	signIn(t, ctx, url, home, "site1-investigator")
	page(t, ctx, "the signature screen", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-link")),
		chromedp.Navigate(url+"/#/sign/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-form")))
	if s := textOf(t, ctx, "#signed-values"); !strings.Contains(s, "Systolic blood pressureVS.SYSBP\t148 mmHg") || !strings.Contains(s, "PositionVS.POS\tSitting(1)") || !strings.Contains(s, "VS.TEMP\t36.6 °C") {
		t.Errorf("the values signed:\n%s", s)
	}
	hash := textOf(t, ctx, "#content-hash")
	want := fmt.Sprintf(`I, Dr. Demo Investigator (investigator), electronically sign form VS of subject S1-001 at event SCR (repeat 1) of study VT-HTN-201 with the meaning "authorship". This signature is the legally binding equivalent of my handwritten signature; it covers exactly the content with SHA-256 %s.`, hash)
	if s := textOf(t, ctx, "#statement"); s != want {
		t.Errorf("statement %q, want %q", s, want)
	}
	page(t, ctx, "sign without the key", press("#sign-submit"))
	waitText(t, ctx, "#sign-form .status", "Unlock your key again to sign")
	sigs, out := signAs(t, ctx, env, home, "sign")
	if len(sigs) != 1 || sigs[0].Account != "site1-investigator" || sigs[0].Meaning != "authorship" ||
		sigs[0].ContentHash != hash || sigs[0].Statement != want || sigs[0].Status != types.SignatureValid {
		t.Fatalf("the ledger's signatures:\n%s", out)
	}
}

// signAs unlocks site1-investigator's key on the signature screen (the
// screenshot shot then), signs, and returns the ledger's signatures of
// S1-001 as the CLI reads them, decoded and as printed.
func signAs(t *testing.T, ctx context.Context, env []string, home, shot string) ([]types.Signature, string) {
	t.Helper()
	page(t, ctx, "unlock to sign",
		chromedp.SetUploadFiles(chromedp.CSS("#sign-keyfile"), []string{filepath.Join(node.KeyringDir(home), "site1-investigator.key")}),
		chromedp.SendKeys(chromedp.CSS("#sign-passphrase"), node.DevPassphrase))
	screenshot(t, ctx, shot)
	page(t, ctx, "sign", press("#sign-submit"))
	waitText(t, ctx, "#sign-form .status", "Committed at height")
	var sigs struct {
		Signatures []types.Signature `json:"signatures"`
	}
	r := mustVT(t, env, "--from", "sponsor-dm", "show", "signatures", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json")
	decode(t, r, &sigs)
	return sigs.Signatures, r.stdout
}

// otherSiteCannotSee: a second site joins the consortium and the study;
// its investigator sees the study but not site1's subject, in the pages
// as on the ledger.
func otherSiteCannotSee(t *testing.T, ctx context.Context, env []string, home, url string) {
	t.Helper()
	var admin keyJSON
	decode(t, mustVT(t, env, "keys", "add", "site2-admin", "-o", "json"), &admin)
	mustVT(t, env, "consortium", "propose", "add-org", "--from", "sponsor-admin", "--org", "site2", "--kind", "site", "--name", "Demo Site 2", "--admin-pubkey", admin.PubKey)
	mustVT(t, env, "consortium", "vote", "--from", "regulator-admin", "--proposal", "1", "--yes")
	mustVT(t, env, "keys", "add", "site2-investigator")
	mustVT(t, env, "account", "add", "--from", "site2-admin", "--account", "site2-investigator", "--name", "Dr. Second Site", "--role", "investigator", "--key", "site2-investigator")
	mustVT(t, env, "site", "activate", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--site", "site2", "--pi", "site2-investigator")
	failVT(t, env, exitFailure, "you may not read it", "--from", "site2-investigator", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001")

	signOut(t, ctx)
	signIn(t, ctx, url, home, "site2-investigator")
	waitText(t, ctx, "#view", "VT-HTN-201")
	if s := textOf(t, ctx, "#view"); !strings.Contains(s, "0 subject(s) you may see") || strings.Contains(s, "S1-001") {
		t.Errorf("the other site's dashboard:\n%s", s)
	}
	page(t, ctx, "the other site opens the form", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"))
	waitText(t, ctx, "#view", "there is no subject S1-001 in VT-HTN-201 that you may read")
	page(t, ctx, "the other site's inbox", chromedp.Navigate(url+"/#/inbox"))
	waitText(t, ctx, "#view", "No open query.")
}

// visible reports whether the element sel is shown.
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return get(t, ctx, "visibility of "+sel, chromedp.Evaluate[bool](fmt.Sprintf("(e => !!e && !e.closest('[hidden]'))(document.querySelector(%q))", sel)))
}

// waitShown waits until the element sel is shown (want) or hidden.
func waitShown(t *testing.T, ctx context.Context, sel string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !time.Now().After(deadline) {
		if visible(t, ctx, sel) == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s shown is not %v; the page:\n%s", sel, want, mainText(ctx))
}

// historyProofs: the form's history checks each version's proof in the
// browser against the app hash in the node's header of the next block; the
// CLI, whose light client verifies that header, finds the same app hash.
func historyProofs(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	page(t, ctx, "history proofs", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#check-proofs")))
	if s := textOf(t, ctx, "#proof-v2"); s != "not checked" {
		t.Errorf("version 2's proof before the check: %q", s)
	}
	page(t, ctx, "check the proofs", press("#check-proofs"))
	waitText(t, ctx, "#proof-status", "All 2 version(s) verified")
	for _, v := range []string{"#proof-v1", "#proof-v2"} {
		if s := textOf(t, ctx, v); s != "verified" {
			t.Errorf("%s: %q", v, s)
		}
	}
	screenshot(t, ctx, "proofs")
	status := textOf(t, ctx, "#proof-status")
	if !strings.Contains(status, "That header is this node's own: the browser does not run the light client") {
		t.Errorf("the page does not say what the header is: %q", status)
	}
	m := regexp.MustCompile(`read at height (\d+)`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("the page does not say the height read: %q", status)
	}
	hash := textOf(t, ctx, "#proof-status .hash")
	r := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "--prove", "--height", m[1]}, vsKey...)...)
	if want := fmt.Sprintf("verified against app hash %s of height %s", strings.ToUpper(hash), m[1]); len(hash) != 64 || !strings.Contains(r.stdout, want) {
		t.Errorf("the page checked against app hash %q; the CLI's light client:\n%s", hash, r.stdout)
	}
}

// investigatorSignsCasebook: from a form's signature screen the
// investigator signs its whole visit or the subject's whole casebook; the
// screen lists every form the level covers and the ledger's signature
// covers the same versions.
func investigatorSignsCasebook(t *testing.T, ctx context.Context, env []string, home, url string) {
	t.Helper()
	page(t, ctx, "the signature screen", chromedp.Navigate(url+"/#/sign/VT-HTN-201/S1-001/UNS/2/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-form")),
		chromedp.Focus(chromedp.CSS(`#sign-level input[value="event"]`)), chromedp.KeyEvent(" "))
	waitText(t, ctx, "#view h1", "Sign visit UNS #2 of S1-001")
	if s := textOf(t, ctx, "#signed-values"); !strings.Contains(s, "UNS #2 · VS v1") || strings.Contains(s, "UNS #1") || strings.Contains(s, "SCR") {
		t.Errorf("the values of the visit signed:\n%s", s)
	}
	page(t, ctx, "the casebook", chromedp.Focus(chromedp.CSS(`#sign-level input[value="casebook"]`)), chromedp.KeyEvent(" "))
	waitText(t, ctx, "#view h1", "Sign the whole casebook of S1-001")
	for _, want := range []string{"SCR #1 · VS v2", "UNS #1 · VS v1", "UNS #2 · VS v1"} {
		if s := textOf(t, ctx, "#signed-values"); !strings.Contains(s, want) {
			t.Errorf("the casebook signed lacks %q:\n%s", want, s)
		}
	}
	hash := textOf(t, ctx, "#content-hash")
	if s := textOf(t, ctx, "#statement"); !strings.Contains(s, "casebook") || !strings.Contains(s, hash) {
		t.Errorf("the statement of the casebook's signature: %q", s)
	}
	sigs, out := signAs(t, ctx, env, home, "sign-casebook")
	i := slices.IndexFunc(sigs, func(sg types.Signature) bool { return sg.Level == types.SignCasebook })
	if i < 0 || sigs[i].ContentHash != hash || sigs[i].Status != types.SignatureValid || len(sigs[i].Forms) != 3 {
		t.Fatalf("the ledger's signatures:\n%s", out)
	}
	page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
	for _, link := range []string{"SCR/1/VS", "UNS/1/VS", "UNS/2/VS"} {
		if s := textOf(t, ctx, `a[href="#/form/VT-HTN-201/S1-001/`+link+`"]`); !strings.Contains(s, "signed") {
			t.Errorf("the dashboard's %s after the casebook's signature: %q", link, s)
		}
	}
}

// unscheduledVisits: the unscheduled visit repeats; once its first
// occurrence has a form, the dashboard offers the next, whose forms are
// entered as any other and land on the ledger under their repeat.
func unscheduledVisits(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	for r := 1; r <= 2; r++ {
		link := fmt.Sprintf(`a[href="#/form/VT-HTN-201/S1-001/UNS/%d/VS"]`, r)
		page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
		if s := textOf(t, ctx, link); !strings.Contains(s, "missing") {
			t.Fatalf("the dashboard's vital signs at unscheduled visit #%d: %q", r, s)
		}
		if next := fmt.Sprintf(`a[href="#/form/VT-HTN-201/S1-001/UNS/%d/VS"]`, r+1); visible(t, ctx, next) {
			t.Fatalf("the dashboard offers unscheduled visit #%d before #%d has a form", r+1, r)
		}
		page(t, ctx, fmt.Sprintf("unscheduled visit #%d", r), press(link), chromedp.WaitVisible(chromedp.CSS("#crf")))
		waitText(t, ctx, "#view", fmt.Sprintf("Unscheduled visit #%d", r))
		page(t, ctx, "vital signs",
			typeInto("#i-VS_DATE-0", fmt.Sprintf("2026-02-%02d", 14+r)),
			chromedp.Focus(chromedp.CSS(`#i-VS_POS-0 input[value="1"]`)),
			chromedp.KeyEvent(" "),
			typeInto("#i-VS_SYSBP-0", "138"),
			typeInto("#i-VS_DIABP-0", "88"),
			typeInto("#i-VS_HR-0", fmt.Sprintf("%d", 70+r)),
			press("#crf-submit"))
		waitText(t, ctx, "#tx-status", "Committed at height")
		var doc struct {
			Form types.FormRecord `json:"form"`
		}
		decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "form", "-o", "json", "--study", "VT-HTN-201", "--subject", "S1-001",
			"--event", "UNS", "--repeat", fmt.Sprint(r), "--form", "VS"), &doc)
		if doc.Form.EventRepeat != r || doc.Form.Version != 1 || !slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "VS.HR", Value: fmt.Sprint(70 + r)}) {
			t.Fatalf("the ledger's vital signs at unscheduled visit #%d: %+v", r, doc.Form)
		}
	}
	page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
	get(t, ctx, "the schedule's last columns", chromedp.Evaluate[bool]("(document.querySelector('.schedule').scrollLeft = 1e6, true)"))
	screenshot(t, ctx, "repeats")
	get(t, ctx, "the schedule's first columns", chromedp.Evaluate[bool]("(document.querySelector('.schedule').scrollLeft = 0, true)"))
	for i, want := range []string{"entered", "entered", "missing"} {
		r := i + 1
		if s := textOf(t, ctx, fmt.Sprintf(`a[href="#/form/VT-HTN-201/S1-001/UNS/%d/VS"]`, r)); !strings.Contains(s, want) {
			t.Errorf("the dashboard's vital signs at unscheduled visit #%d: %q, want %s", r, s, want)
		}
	}
}

// repeatsAndBranches: the adverse events form has one card per event,
// added and removed, and items that show as the answers call for them;
// a cross-item check of a row shows while typing. Nothing is submitted.
func repeatsAndBranches(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	page(t, ctx, "adverse events", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/W4/1/AE"),
		chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-1")))
	if visible(t, ctx, "#i-AE_ENDDT-1") || visible(t, ctx, "#i-AE_SERCRIT-1") || visible(t, ctx, "#i-AE_TERM-2") {
		t.Fatal("the end date and seriousness criteria show before their answers, or a second row before it is added")
	}
	page(t, ctx, "not ongoing, serious",
		typeInto("#i-AE_TERM-1", "Headache"),
		typeInto("#i-AE_STDT-1", "2026-02-10"),
		chromedp.Focus(chromedp.CSS(`#i-AE_ONGO-1 input[value="0"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_SER-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	waitShown(t, ctx, "#i-AE_ENDDT-1", true)
	waitShown(t, ctx, "#i-AE_SERCRIT-1", true)
	page(t, ctx, "end before start", typeInto("#i-AE_ENDDT-1", "2026-02-01"))
	waitText(t, ctx, "#i-AE_ENDDT-1-msg", "Error: Row 1: Adverse event end date is before its start date. (AE.CHK.DATES)")
	page(t, ctx, "ongoing after all", chromedp.Focus(chromedp.CSS(`#i-AE_ONGO-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	waitShown(t, ctx, "#i-AE_ENDDT-1", false)
	page(t, ctx, "a second adverse event", press("#add-AE_LOG"), chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-2")), typeInto("#i-AE_TERM-2", "Dizziness"))
	if visible(t, ctx, "#i-AE_ENDDT-2") {
		t.Error("the second row's end date shows before its answer")
	}
	screenshot(t, ctx, "repeating")
	// The half-filled form is a draft in the browser: back on the form,
	// it is restored.
	page(t, ctx, "away and back", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")),
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/W4/1/AE"), chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-2")))
	waitText(t, ctx, "#draft-status", "Restored your draft from this browser")
	if v := get(t, ctx, "restored draft", chromedp.Evaluate[string]("document.querySelector('#i-AE_TERM-1').value + '|' + document.querySelector('#i-AE_TERM-2').value")); v != "Headache|Dizziness" {
		t.Errorf("the restored draft holds %q", v)
	}
	page(t, ctx, "remove the first", press("#row-AE_LOG-1 button"))
	waitShown(t, ctx, "#i-AE_TERM-2", false)
	if v := get(t, ctx, "row 1 after the removal", chromedp.Evaluate[string]("document.querySelector('#i-AE_TERM-1').value")); v != "Dizziness" {
		t.Errorf("after removing row 1, row 1 holds %q, want the second event", v)
	}
	failVT(t, env, exitFailure, "has not been entered", "--from", "sponsor-dm", "show", "form", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "W4", "--form", "AE")
}
