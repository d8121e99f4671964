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
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/app/webui"
	"github.com/veritrial/veritrial/protocol"
	"github.com/veritrial/veritrial/testnet/browsertest"
)

// screenshot saves the page as docs/web/NAME.png when VERITRIAL_SCREENSHOTS
// is set (docs/WEB.md).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("VERITRIAL_SCREENSHOTS") == "" {
		return
	}
	png := browsertest.Get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
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
// signs the form; the dashboard shows the subject's consent and its
// serious adverse event, open then acknowledged; a person of another site
// cannot see the subject.
func TestBrowserDataCapture(t *testing.T) {
	chrome := browsertest.Need(t)
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

	ctx := browsertest.Start(t, chrome)
	browsertest.Page(t, ctx, "tablet width", chromedp.EmulateViewport(768, 1000))
	sent := recordRequests(t, ctx)

	// A wrong passphrase is refused in the page; neither it nor the key
	// file is sent.
	browsertest.Page(t, ctx, "wrong passphrase",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#keyfile"), []string{filepath.Join(node.KeyringDir(home), "site1-coordinator.key")}),
		chromedp.SendKeys(chromedp.CSS("#passphrase"), "not the passphrase"))
	screenshot(t, ctx, "signin")
	browsertest.Page(t, ctx, "wrong passphrase", browsertest.Press("#signin-submit"))
	browsertest.WaitText(t, ctx, "#signin-status", `wrong passphrase for key "site1-coordinator"`)

	browsertest.SignIn(t, ctx, url, home, "site1-coordinator")
	browsertest.WaitText(t, ctx, "#view", "VT-HTN-201")
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
	if s := browsertest.TextOf(t, ctx, "#view"); !strings.Contains(s, "0 subject(s) you may see") {
		t.Errorf("dashboard before enrolment:\n%s", s)
	}

	// Enrolment: the consent document's SHA-256 is computed in the page.
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	sum := sha256.Sum256([]byte("consent form v1 (test document)\n"))
	browsertest.Page(t, ctx, "enrolment",
		chromedp.Navigate(url+"/#/enrol"),
		chromedp.WaitVisible(chromedp.CSS("#enrol-form")),
		chromedp.SendKeys(chromedp.CSS("#enrol-subject"), "S1-001"),
		chromedp.SendKeys(chromedp.CSS("#consent-version"), "1.0"),
		chromedp.SetUploadFiles(chromedp.CSS("#consent-file"), []string{icf}))
	browsertest.WaitText(t, ctx, "#consent-sha", hex.EncodeToString(sum[:]))
	screenshot(t, ctx, "enrol")
	browsertest.Page(t, ctx, "enrol", browsertest.Press("#enrol-form button[type=submit]"))
	browsertest.WaitText(t, ctx, "#enrol-form .status", "Committed at height")
	var subj struct {
		Subject types.Subject `json:"subject"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json"), &subj)
	if subj.Subject.Site != "site1" || subj.Subject.ConsentVersion != "1.0" || subj.Subject.ConsentSHA256 != hex.EncodeToString(sum[:]) || subj.Subject.Enrolled.Signer != "site1-coordinator" {
		t.Fatalf("the ledger's subject: %+v", subj.Subject)
	}
	browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"))
	browsertest.WaitText(t, ctx, "#view", "S1-001")
	if s := browsertest.TextOf(t, ctx, ".schedule"); !strings.Contains(s, "Vital signs") || !strings.Contains(s, "missing") || strings.Contains(s, "entered") {
		t.Errorf("the schedule of S1-001:\n%s", s)
	}

	coordinatorEntersVitalSigns(t, ctx, env, url)
	historyProofs(t, ctx, env, url)
	repeatsAndBranches(t, ctx, env, url)
	monitorVerifies(t, ctx, env, home, url)
	investigatorSigns(t, ctx, env, home, url)
	unscheduledVisits(t, ctx, env, url)
	investigatorSignsCasebook(t, ctx, env, home, url)
	browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"))
	browsertest.WaitText(t, ctx, ".schedule", "signed")
	if s := browsertest.TextOf(t, ctx, `a[href="#/form/VT-HTN-201/S1-001/SCR/1/VS"]`); !strings.Contains(s, "entered") || !strings.Contains(s, "verified") || !strings.Contains(s, "signed") || !strings.Contains(s, "queried") {
		t.Errorf("the dashboard's vital signs of S1-001 at screening: %q", s)
	}
	scheduleOnTheDashboard(t, ctx, env, url)
	derivedAndMissing(t, ctx, env, url)
	consentAndSAEsOnTheDashboard(t, ctx, env, home, url, proto)
	otherSiteCannotSee(t, ctx, env, home, url)
}

// consentAndSAEsOnTheDashboard: the coordinator's dashboard shows the
// consent version S1-001 consented under and no SAE; an adverse event
// entered as serious on the adverse events form opens an SAE record,
// which the dashboard lists with its clock start and reporting deadline,
// open, then acknowledged once the sponsor's medical monitor has
// acknowledged it through the CLI. An amendment (protocol file proto
// amended) that needs re-consent shows it due until it is recorded, and
// a withdrawal shows its kind. The CRO's monitor, whose role does not
// read SAE records (the CLI lists none to it), is told so rather than
// shown none.
func consentAndSAEsOnTheDashboard(t *testing.T, ctx context.Context, env []string, home, url, proto string) {
	t.Helper()
	signOut(t, ctx)
	browsertest.SignIn(t, ctx, url, home, "site1-coordinator")
	browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#consent-S1-001")))
	var subj struct {
		Subject types.Subject `json:"subject"`
	}
	decode(t, mustVT(t, env, "--from", "site1-coordinator", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json"), &subj)
	if s, want := browsertest.TextOf(t, ctx, "#consent-S1-001"), "Consent "+subj.Subject.ConsentVersion; subj.Subject.ConsentVersion != "1.0" || s != want {
		t.Errorf("the dashboard's consent of S1-001: %q, want %q (the ledger's)", s, want)
	}
	safety := func(reader string) audit.Safety {
		var doc struct {
			Safety audit.Safety `json:"safety"`
		}
		decode(t, mustVT(t, env, "--from", reader, "show", "safety", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json"), &doc)
		return doc.Safety
	}
	if n := len(safety("site1-coordinator").SAEs); n != 0 {
		t.Fatalf("the ledger holds %d SAE(s) of S1-001 before any serious adverse event", n)
	}
	if s := browsertest.TextOf(t, ctx, "#saes-S1-001"); s != "No serious adverse event recorded." {
		t.Errorf("the dashboard's SAEs of S1-001 before any: %q", s)
	}

	// The adverse events form, its draft restored from step 7, entered
	// with the event serious.
	browsertest.Page(t, ctx, "adverse events", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/W4/1/AE"), chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-1")))
	browsertest.WaitText(t, ctx, "#draft-status", "Restored your draft from this browser")
	// (The draft was saved after step 7's last edit check, which may or
	// may not have run before the page moved on: it holds one or two rows.)
	if visible(t, ctx, "#row-AE_LOG-2") {
		browsertest.Page(t, ctx, "one event only", browsertest.Press("#row-AE_LOG-2 button"))
		waitShown(t, ctx, "#i-AE_TERM-2", false)
	}
	browsertest.Page(t, ctx, "a serious adverse event",
		browsertest.TypeInto("#i-AE_TERM-1", "Syncope"),
		browsertest.TypeInto("#i-AE_STDT-1", "2026-02-12"),
		chromedp.Focus(chromedp.CSS(`#i-AE_ONGO-1 input[value="1"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_SEV-1 input[value="3"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_SER-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	waitShown(t, ctx, "#i-AE_SERCRIT-1", true)
	browsertest.Page(t, ctx, "its criteria and outcome",
		chromedp.Focus(chromedp.CSS(`#i-AE_SERCRIT-1 input[value="3"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_REL-1 input[value="2"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_ACN-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	browsertest.Get(t, ctx, "outcome recovering",
		chromedp.Evaluate[bool](`(s => (s.value = "2", s.dispatchEvent(new Event("change", {bubbles: true})), true))(document.querySelector("#i-AE_OUT-1"))`))
	browsertest.Page(t, ctx, "submit", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "Committed at height")
	sf := safety("site1-coordinator")
	if len(sf.SAEs) != 1 || sf.SAEs[0].Event != "W4" || sf.SAEs[0].Form != "AE" || sf.SAEs[0].Row != 1 || sf.SAEs[0].Acknowledged != nil || sf.SAEs[0].Overdue {
		t.Fatalf("the ledger's SAEs of S1-001 after a serious adverse event: %+v", sf.SAEs)
	}
	opened, err := time.Parse(time.RFC3339Nano, sf.SAEs[0].Opened.Time)
	if err != nil {
		t.Fatal(err)
	}
	const shown = "2006-01-02 15:04:05 UTC"
	clock := fmt.Sprintf("opened %s; report due %s", opened.UTC().Format(shown), opened.Add(types.SAEReportHours*time.Hour).UTC().Format(shown))
	const sae = "#sae-S1-001-W4-1-AE-1"
	browsertest.Page(t, ctx, "dashboard with the SAE", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(sae)))
	if s := browsertest.TextOf(t, ctx, sae+" a"); s != "SAE: Adverse events, Week 4, row 1" {
		t.Errorf("the dashboard's SAE: %q", s)
	}
	if s := browsertest.TextOf(t, ctx, sae+" .badge"); s != "open, not acknowledged" {
		t.Errorf("the dashboard's new SAE says %q", s)
	}
	if s := browsertest.TextOf(t, ctx, sae+" .when"); s != clock {
		t.Errorf("the dashboard's SAE: %q, want its clock %q", s, clock)
	}
	screenshot(t, ctx, "dashboard")

	// The sponsor's medical monitor acknowledges it through the CLI.
	mustVT(t, env, "keys", "add", "sponsor-mm")
	mustVT(t, env, "account", "add", "--from", "sponsor-admin", "--account", "sponsor-mm", "--name", "Demo Medical Monitor", "--role", "medical_monitor", "--key", "sponsor-mm")
	mustVT(t, env, "safety", "acknowledge", "--from", "sponsor-mm", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "W4", "--form", "AE", "--row", "1", "--comment", "case VT-0001 opened")
	sf = safety("site1-coordinator")
	if len(sf.SAEs) != 1 || sf.SAEs[0].Acknowledged == nil || sf.SAEs[0].Acknowledged.Signer != "sponsor-mm" || sf.SAEs[0].Late {
		t.Fatalf("the ledger's SAE after the acknowledgement: %+v", sf.SAEs)
	}
	acked, err := time.Parse(time.RFC3339Nano, sf.SAEs[0].Acknowledged.Time)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Page(t, ctx, "dashboard with the SAE acknowledged", chromedp.Navigate(url+"/#/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")),
		chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(sae)))
	if s := browsertest.TextOf(t, ctx, sae+" .badge"); s != "acknowledged" {
		t.Errorf("the dashboard's SAE after the acknowledgement says %q", s)
	}
	if s, want := browsertest.TextOf(t, ctx, sae+" .when"), clock+"; acknowledged "+acked.UTC().Format(shown)+" by Demo Medical Monitor (sponsor-mm)"; s != want {
		t.Errorf("the dashboard's SAE after the acknowledgement: %q, want %q", s, want)
	}

	// An amendment that needs re-consent (consent version 2.0): the
	// dashboard says it is due, as the ledger refuses the subject's new
	// forms until it is recorded; then it shows the version in force.
	v2 := readFile(t, proto)
	for _, r := range [][2]string{{`version: "1.0"`, `version: "2.0"`}, {"protocol_doc_sha256: 16aa22f4", "protocol_doc_sha256: 26aa22f4"}, {`consent_version: "1.0"`, `consent_version: "2.0"`}} {
		if !strings.Contains(v2, r[0]) {
			t.Fatalf("the example protocol has no %q", r[0])
		}
		v2 = strings.Replace(v2, r[0], r[1], 1)
	}
	amended := filepath.Join(filepath.Dir(proto), "htn201_v2.yaml")
	writeFile(t, amended, v2)
	mustVT(t, env, "study", "amend", "--from", "sponsor-dm", "--rationale", "new consent document", amended)
	mustVT(t, env, "study", "approve-amendment", "--from", "regulator-auditor", "--study", "VT-HTN-201", "--amendment", "1")
	failVT(t, env, exitRejected, "code 432 (reconsent_required)", "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001",
		"--event", "W8", "--form", "VS", "VS.DATE=2026-03-09", "VS.POS=1", "VS.SYSBP=138", "VS.DIABP=88", "VS.HR=70")
	browsertest.Page(t, ctx, "dashboard after the amendment", chromedp.Navigate(url+"/#/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")),
		chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#consent-S1-001")))
	if s := browsertest.TextOf(t, ctx, "#consent-S1-001"); s != "Consent 1.0 re-consent to 2.0 required (protocol version 2)" {
		t.Errorf("the dashboard's consent of S1-001 after the amendment: %q", s)
	}
	icf2 := filepath.Join(filepath.Dir(proto), "icf_v2.txt")
	writeFile(t, icf2, "consent form v2 (test document)\n")
	mustVT(t, env, "subject", "reconsent", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "2.0", "--consent-file", icf2)
	decode(t, mustVT(t, env, "--from", "site1-coordinator", "show", "subject", "--study", "VT-HTN-201", "--subject", "S1-001", "-o", "json"), &subj)
	if h := subj.Subject.ConsentHistory(); len(h) != 2 || h[1].Version != "2.0" {
		t.Fatalf("the ledger's consents of S1-001: %+v", h)
	}
	today := time.Now().UTC().Format("2006-01-02")
	mustVT(t, env, "subject", "withdraw", "--from", "site1-investigator", "--study", "VT-HTN-201", "--subject", "S1-001", "--kind", "treatment", "--date", today, "--reason", "adverse event")
	browsertest.Page(t, ctx, "dashboard after the re-consent", chromedp.Navigate(url+"/#/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")),
		chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#consent-S1-001")))
	if s, want := browsertest.TextOf(t, ctx, "#consent-S1-001"), "Consent 2.0 (enrolled under 1.0) withdrawn from treatment on "+today; s != want {
		t.Errorf("the dashboard's consent of S1-001 after the re-consent and withdrawal from treatment: %q, want %q", s, want)
	}

	// A monitor's role reads no SAE record: the page says so.
	if n := len(safety("cro-monitor").SAEs); n != 0 {
		t.Fatalf("the CRO's monitor reads %d SAE(s)", n)
	}
	signOut(t, ctx)
	browsertest.SignIn(t, ctx, url, home, "cro-monitor")
	browsertest.Page(t, ctx, "the monitor's dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#saes-S1-001")))
	if s := browsertest.TextOf(t, ctx, "#saes-S1-001"); !strings.Contains(s, "SAE records are not shown: only the roles investigator, coordinator, medical_monitor, data_manager, auditor read them, not yours (admin, monitor)") {
		t.Errorf("the monitor's dashboard on the SAEs of S1-001: %q", s)
	}
	if s := browsertest.TextOf(t, ctx, "#consent-S1-001"); !strings.HasPrefix(s, "Consent 2.0 (enrolled under 1.0)") {
		t.Errorf("the monitor's dashboard on the consent of S1-001: %q", s)
	}
}

// scheduleOnTheDashboard: once the baseline (the calendar's anchor) is
// dated 60 days ago, the dashboard shows each scheduled visit's target
// date and window, the baseline as entered, week 4 (its window closed 29
// days ago, nothing entered) as overdue and the follow-up as upcoming.
func scheduleOnTheDashboard(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
	browsertest.Page(t, ctx, "dashboard before the baseline", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#when-S1-001-W4")))
	if s := browsertest.TextOf(t, ctx, "#when-S1-001-W4"); !strings.Contains(s, "target set once the anchor visit is dated") || !strings.Contains(s, "pending") {
		t.Errorf("week 4 before the baseline is dated: %q", s)
	}
	mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "D1", "--form", "VS",
		"VS.DATE="+day(-60), "VS.POS=1", "VS.SYSBP=128", "VS.DIABP=82", "VS.HR=70")
	browsertest.Page(t, ctx, "dashboard with the baseline dated", chromedp.Navigate(url+"/#/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")),
		chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS("#when-S1-001-W4")))
	browsertest.WaitText(t, ctx, "#when-S1-001-W4", "overdue")
	for id, want := range map[string]string{
		"#when-S1-001-D1": fmt.Sprintf("target %s (%s to %s), visited %s entered", day(-60), day(-60), day(-60), day(-60)),
		"#when-S1-001-W4": fmt.Sprintf("target %s (%s to %s) overdue", day(-32), day(-35), day(-29)),
		"#when-S1-001-FU": fmt.Sprintf("target %s (%s to %s) upcoming", day(38), day(35), day(45)),
	} {
		if s := browsertest.TextOf(t, ctx, id); s != want {
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
	browsertest.Page(t, ctx, "demographics", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/DM"), chromedp.WaitVisible(chromedp.CSS("#i-DM_HEIGHT-0")))
	if s := browsertest.TextOf(t, ctx, "#i-DM_BMI-0"); s != "—" {
		t.Errorf("the body mass index before height and weight: %q", s)
	}
	browsertest.Page(t, ctx, "demographics",
		browsertest.TypeInto("#i-DM_CONSDT-0", "2026-01-05"),
		browsertest.TypeInto("#i-DM_AGE-0", "54"),
		chromedp.Focus(chromedp.CSS(`#i-DM_SEX-0 input[value="1"]`)), chromedp.KeyEvent(" "),
		browsertest.TypeInto("#i-DM_HEIGHT-0", "175.0"),
		browsertest.TypeInto("#i-DM_WEIGHT-0", "70.0"))
	browsertest.WaitText(t, ctx, "#i-DM_BMI-0", "22.9")
	browsertest.Page(t, ctx, "a heavier weight", browsertest.TypeInto("#i-DM_WEIGHT-0", "80.0"))
	browsertest.WaitText(t, ctx, "#i-DM_BMI-0", "26.1")
	if visible(t, ctx, "#i-DM_SMOKE-0-reason") {
		t.Error("the reason box shows before a missing-data code is chosen")
	}
	browsertest.Get(t, ctx, "tobacco use asked but unknown",
		chromedp.Evaluate[bool](`(s => (s.value = "ASKU", s.dispatchEvent(new Event("change", {bubbles: true})), true))(document.querySelector("#i-DM_SMOKE-0-missing"))`))
	waitShown(t, ctx, "#i-DM_SMOKE-0-reason", true)
	browsertest.Page(t, ctx, "the reason", browsertest.TypeInto("#i-DM_SMOKE-0-reason", "the subject would not say"))
	if s := browsertest.TextOf(t, ctx, "#i-DM_SMOKE-0-msg"); s != "" {
		t.Errorf("the required tobacco use, given a code, says %q", s)
	}
	screenshot(t, ctx, "derived-missing")
	browsertest.Page(t, ctx, "submit", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "Committed at height")
	var doc struct {
		Form types.FormRecord `json:"form"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "form", "-o", "json", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "DM"), &doc)
	if !slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "DM.BMI", Value: "26.1"}) ||
		!slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "DM.SMOKE", Missing: "ASKU", Reason: "the subject would not say"}) {
		t.Fatalf("the ledger's demographics: %+v", doc.Form.Values)
	}
	// The form as the ledger holds it: the computed value and the code.
	browsertest.WaitText(t, ctx, "#i-DM_BMI-0", "26.1")
	if v := browsertest.Get(t, ctx, "the code shown", chromedp.Evaluate[string](`document.querySelector("#i-DM_SMOKE-0-missing").value + "|" + document.querySelector("#i-DM_SMOKE-0-reason").value`)); v != "ASKU|the subject would not say" {
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

// coordinatorEntersVitalSigns: an out-of-range value is refused in the
// page, a warning is accepted and opens a query, a correction needs its
// reason, the query is answered.
func coordinatorEntersVitalSigns(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	browsertest.Page(t, ctx, "vital signs form",
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#crf")),
		browsertest.TypeInto("#i-VS_DATE-0", "2026-01-12"),
		chromedp.Focus(chromedp.CSS(`#i-VS_POS-0 input[value="1"]`)),
		chromedp.KeyEvent(" "),
		browsertest.TypeInto("#i-VS_SYSBP-0", "300"),
		browsertest.TypeInto("#i-VS_DIABP-0", "92"),
		browsertest.TypeInto("#i-VS_HR-0", "72"))
	browsertest.WaitText(t, ctx, "#i-VS_SYSBP-0-msg", "Error: Systolic blood pressure 300 mmHg is above the maximum 250 (VS.SYSBP)")
	tm := browsertest.PageTimings(t, ctx)
	t.Logf("page start to module ready %.0f ms; form page (signed reads, render) %.0f ms; %d edit checks, median %.2f ms, slowest %.2f ms",
		tm.Ready, tm.FormRendered-tm.Route, len(tm.Checks), browsertest.Median(tm.Checks), slices.Max(tm.Checks))
	browsertest.Page(t, ctx, "submit with a hard problem", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "Not sent: 1 value(s) fail the protocol's edit checks")
	screenshot(t, ctx, "form-hard")
	failVT(t, env, exitFailure, "has not been entered", append([]string{"--from", "sponsor-dm", "show", "form"}, vsKey...)...)

	// A heart rate below the expected 40 warns; the form goes in and the
	// ledger opens a query on it.
	browsertest.Page(t, ctx, "values that only warn", browsertest.TypeInto("#i-VS_SYSBP-0", "148"), browsertest.TypeInto("#i-VS_HR-0", "38"))
	browsertest.WaitText(t, ctx, "#i-VS_HR-0-msg", "Warning: Heart rate 38 bpm is below the expected 40 (VS.HR)")
	if s := browsertest.TextOf(t, ctx, "#i-VS_SYSBP-0-msg"); s != "" {
		t.Errorf("the corrected systolic pressure still says %q", s)
	}
	browsertest.Page(t, ctx, "submit", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "Committed at height")
	var doc struct {
		Form types.FormRecord `json:"form"`
	}
	decode(t, mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "-o", "json"}, vsKey...)...), &doc)
	if doc.Form.Version != 1 || doc.Form.Stamp.Signer != "site1-coordinator" || len(doc.Form.Warnings) != 1 || doc.Form.Warnings[0].Item != "VS.HR" {
		t.Fatalf("the ledger's form: %+v", doc.Form)
	}
	if tx := browsertest.TextOf(t, ctx, "#tx-status .hash"); tx != doc.Form.Stamp.TxHash {
		t.Errorf("the page says tx %s, the ledger %s", tx, doc.Form.Stamp.TxHash)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201"); !strings.Contains(r.stdout, "VS.HR") {
		t.Fatalf("the ledger's queries:\n%s", r.stdout)
	}
	browsertest.Page(t, ctx, "inbox", chromedp.Navigate(url+"/#/inbox"))
	browsertest.WaitText(t, ctx, "#inbox", "Heart rate 38 bpm is below the expected 40")
	screenshot(t, ctx, "inbox")

	// A correction shows old and new values and needs a reason.
	browsertest.Page(t, ctx, "correction",
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#reason")),
		browsertest.TypeInto("#i-VS_TEMP-0", "36.6"))
	browsertest.WaitText(t, ctx, "#changes", "VS.TEMP: (empty) → 36.6")
	browsertest.Page(t, ctx, "correction without a reason", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "A correction needs a reason.")
	browsertest.Page(t, ctx, "correction with a reason", chromedp.SendKeys(chromedp.CSS("#reason"), "temperature was on the source, not transcribed"))
	screenshot(t, ctx, "correction")
	browsertest.Page(t, ctx, "correct", browsertest.Press("#crf-submit"))
	browsertest.WaitText(t, ctx, "#tx-status", "Committed at height")
	decode(t, mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "-o", "json"}, vsKey...)...), &doc)
	if doc.Form.Version != 2 || doc.Form.Reason != "temperature was on the source, not transcribed" || !slices.Equal(doc.Form.Changed, []string{"VS.TEMP"}) {
		t.Fatalf("the ledger's corrected form: %+v", doc.Form)
	}
	browsertest.WaitText(t, ctx, "#history", "temperature was on the source, not transcribed")

	// The query is answered from the form.
	browsertest.Page(t, ctx, "answer", chromedp.SendKeys(chromedp.CSS("#q-1-text"), "Confirmed on the source: the subject is an athlete"),
		browsertest.Press("#q-1 button"))
	browsertest.WaitText(t, ctx, "#q-1", "answered")
	if r := mustVT(t, env, "--from", "sponsor-dm", "query", "list", "--study", "VT-HTN-201", "--status", "all", "--thread"); !strings.Contains(r.stdout, "answer by site1-coordinator: Confirmed on the source: the subject is an athlete") {
		t.Fatalf("the ledger's queries after the answer:\n%s", r.stdout)
	}
	tm = browsertest.PageTimings(t, ctx)
	t.Logf("submit to committed: %.0f ms median of %d", browsertest.Median(tm.Commits), len(tm.Commits))
}

// signOut ends the session in the page.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	browsertest.Page(t, ctx, "sign out", browsertest.Press("#signout"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
}

// monitorVerifies: the CRO's monitor closes the answered query and marks
// the form verified against source.
func monitorVerifies(t *testing.T, ctx context.Context, env []string, home, url string) {
	t.Helper()
	signOut(t, ctx)
	browsertest.SignIn(t, ctx, url, home, "cro-monitor")
	browsertest.Page(t, ctx, "the monitor's form", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#verify-form")))
	browsertest.Page(t, ctx, "close the query", browsertest.Press("#q-1 button"))
	browsertest.WaitText(t, ctx, "#q-1", "closed")
	browsertest.Page(t, ctx, "raise a query", chromedp.SetValue(chromedp.CSS("#raise-item"), "VS.SYSBP"),
		chromedp.SendKeys(chromedp.CSS("#raise-text"), "The source shows 146; please check"), browsertest.Press("#raise-form button[type=submit]"))
	browsertest.WaitText(t, ctx, "#q-2", "Query #2 · VS.SYSBP · open")
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "query", "--study", "VT-HTN-201", "--number", "2"); !strings.Contains(r.stdout, "The source shows 146; please check") || !strings.Contains(r.stdout, "cro-monitor") {
		t.Fatalf("the ledger's query 2:\n%s", r.stdout)
	}
	browsertest.Page(t, ctx, "verify an item", chromedp.SetValue(chromedp.CSS("#verify-item"), "VS.HR"), browsertest.Press("#verify-item-submit"))
	browsertest.WaitText(t, ctx, "#sdv-h + p", "Status: partial")
	r := mustVT(t, env, "--from", "sponsor-dm", "show", "sdv", "--study", "VT-HTN-201", "--subject", "S1-001")
	if !strings.Contains(r.stdout, "partial") || !strings.Contains(r.stdout, "VS.HR") {
		t.Fatalf("the ledger's SDV after one item:\n%s", r.stdout)
	}
	browsertest.Page(t, ctx, "verify", browsertest.Press("#verify-form"))
	browsertest.WaitText(t, ctx, "#sdv-h + p", "Status: verified")
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
	browsertest.SignIn(t, ctx, url, home, "site1-investigator")
	browsertest.Page(t, ctx, "the signature screen", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-link")),
		chromedp.Navigate(url+"/#/sign/VT-HTN-201/S1-001/SCR/1/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-form")))
	if s := browsertest.TextOf(t, ctx, "#signed-values"); !strings.Contains(s, "Systolic blood pressureVS.SYSBP\t148 mmHg") || !strings.Contains(s, "PositionVS.POS\tSitting(1)") || !strings.Contains(s, "VS.TEMP\t36.6 °C") {
		t.Errorf("the values signed:\n%s", s)
	}
	hash := browsertest.TextOf(t, ctx, "#content-hash")
	want := fmt.Sprintf(`I, Dr. Demo Investigator (investigator), electronically sign form VS of subject S1-001 at event SCR (repeat 1) of study VT-HTN-201 with the meaning "authorship". This signature is the legally binding equivalent of my handwritten signature; it covers exactly the content with SHA-256 %s.`, hash)
	if s := browsertest.TextOf(t, ctx, "#statement"); s != want {
		t.Errorf("statement %q, want %q", s, want)
	}
	browsertest.Page(t, ctx, "sign without the key", browsertest.Press("#sign-submit"))
	browsertest.WaitText(t, ctx, "#sign-form .status", "Unlock your key again to sign")
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
	browsertest.Page(t, ctx, "unlock to sign",
		chromedp.SetUploadFiles(chromedp.CSS("#sign-keyfile"), []string{filepath.Join(node.KeyringDir(home), "site1-investigator.key")}),
		chromedp.SendKeys(chromedp.CSS("#sign-passphrase"), node.DevPassphrase))
	screenshot(t, ctx, shot)
	browsertest.Page(t, ctx, "sign", browsertest.Press("#sign-submit"))
	browsertest.WaitText(t, ctx, "#sign-form .status", "Committed at height")
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
	browsertest.SignIn(t, ctx, url, home, "site2-investigator")
	browsertest.WaitText(t, ctx, "#view", "VT-HTN-201")
	if s := browsertest.TextOf(t, ctx, "#view"); !strings.Contains(s, "0 subject(s) you may see") || strings.Contains(s, "S1-001") {
		t.Errorf("the other site's dashboard:\n%s", s)
	}
	browsertest.Page(t, ctx, "the other site opens the form", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"))
	browsertest.WaitText(t, ctx, "#view", "there is no subject S1-001 in VT-HTN-201 that you may read")
	browsertest.Page(t, ctx, "the other site's inbox", chromedp.Navigate(url+"/#/inbox"))
	browsertest.WaitText(t, ctx, "#view", "No open query.")
}

// visible reports whether the element sel is shown.
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return browsertest.Get(t, ctx, "visibility of "+sel, chromedp.Evaluate[bool](fmt.Sprintf("(e => !!e && !e.closest('[hidden]'))(document.querySelector(%q))", sel)))
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
	t.Fatalf("%s shown is not %v; the page:\n%s", sel, want, browsertest.MainText(ctx))
}

// historyProofs: the form's history checks each version's proof in the
// browser against the app hash in the node's header of the next block; the
// CLI, whose light client verifies that header, finds the same app hash.
func historyProofs(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	browsertest.Page(t, ctx, "history proofs", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/SCR/1/VS"),
		chromedp.WaitVisible(chromedp.CSS("#check-proofs")))
	if s := browsertest.TextOf(t, ctx, "#proof-v2"); s != "not checked" {
		t.Errorf("version 2's proof before the check: %q", s)
	}
	browsertest.Page(t, ctx, "check the proofs", browsertest.Press("#check-proofs"))
	browsertest.WaitText(t, ctx, "#proof-status", "All 2 version(s) verified")
	for _, v := range []string{"#proof-v1", "#proof-v2"} {
		if s := browsertest.TextOf(t, ctx, v); s != "verified" {
			t.Errorf("%s: %q", v, s)
		}
	}
	screenshot(t, ctx, "proofs")
	status := browsertest.TextOf(t, ctx, "#proof-status")
	if !strings.Contains(status, "That header is this node's own: the browser does not run the light client") {
		t.Errorf("the page does not say what the header is: %q", status)
	}
	m := regexp.MustCompile(`read at height (\d+)`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("the page does not say the height read: %q", status)
	}
	hash := browsertest.TextOf(t, ctx, "#proof-status .hash")
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
	browsertest.Page(t, ctx, "the signature screen", chromedp.Navigate(url+"/#/sign/VT-HTN-201/S1-001/UNS/2/VS"), chromedp.WaitVisible(chromedp.CSS("#sign-form")),
		chromedp.Focus(chromedp.CSS(`#sign-level input[value="event"]`)), chromedp.KeyEvent(" "))
	browsertest.WaitText(t, ctx, "#view h1", "Sign visit UNS #2 of S1-001")
	if s := browsertest.TextOf(t, ctx, "#signed-values"); !strings.Contains(s, "UNS #2 · VS v1") || strings.Contains(s, "UNS #1") || strings.Contains(s, "SCR") {
		t.Errorf("the values of the visit signed:\n%s", s)
	}
	browsertest.Page(t, ctx, "the casebook", chromedp.Focus(chromedp.CSS(`#sign-level input[value="casebook"]`)), chromedp.KeyEvent(" "))
	browsertest.WaitText(t, ctx, "#view h1", "Sign the whole casebook of S1-001")
	for _, want := range []string{"SCR #1 · VS v2", "UNS #1 · VS v1", "UNS #2 · VS v1"} {
		if s := browsertest.TextOf(t, ctx, "#signed-values"); !strings.Contains(s, want) {
			t.Errorf("the casebook signed lacks %q:\n%s", want, s)
		}
	}
	hash := browsertest.TextOf(t, ctx, "#content-hash")
	if s := browsertest.TextOf(t, ctx, "#statement"); !strings.Contains(s, "casebook") || !strings.Contains(s, hash) {
		t.Errorf("the statement of the casebook's signature: %q", s)
	}
	sigs, out := signAs(t, ctx, env, home, "sign-casebook")
	i := slices.IndexFunc(sigs, func(sg types.Signature) bool { return sg.Level == types.SignCasebook })
	if i < 0 || sigs[i].ContentHash != hash || sigs[i].Status != types.SignatureValid || len(sigs[i].Forms) != 3 {
		t.Fatalf("the ledger's signatures:\n%s", out)
	}
	browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
	for _, link := range []string{"SCR/1/VS", "UNS/1/VS", "UNS/2/VS"} {
		if s := browsertest.TextOf(t, ctx, `a[href="#/form/VT-HTN-201/S1-001/`+link+`"]`); !strings.Contains(s, "signed") {
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
		browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
		if s := browsertest.TextOf(t, ctx, link); !strings.Contains(s, "missing") {
			t.Fatalf("the dashboard's vital signs at unscheduled visit #%d: %q", r, s)
		}
		if next := fmt.Sprintf(`a[href="#/form/VT-HTN-201/S1-001/UNS/%d/VS"]`, r+1); visible(t, ctx, next) {
			t.Fatalf("the dashboard offers unscheduled visit #%d before #%d has a form", r+1, r)
		}
		browsertest.Page(t, ctx, fmt.Sprintf("unscheduled visit #%d", r), browsertest.Press(link), chromedp.WaitVisible(chromedp.CSS("#crf")))
		browsertest.WaitText(t, ctx, "#view", fmt.Sprintf("Unscheduled visit #%d", r))
		browsertest.Page(t, ctx, "vital signs",
			browsertest.TypeInto("#i-VS_DATE-0", fmt.Sprintf("2026-02-%02d", 14+r)),
			chromedp.Focus(chromedp.CSS(`#i-VS_POS-0 input[value="1"]`)),
			chromedp.KeyEvent(" "),
			browsertest.TypeInto("#i-VS_SYSBP-0", "138"),
			browsertest.TypeInto("#i-VS_DIABP-0", "88"),
			browsertest.TypeInto("#i-VS_HR-0", fmt.Sprintf("%d", 70+r)),
			browsertest.Press("#crf-submit"))
		browsertest.WaitText(t, ctx, "#tx-status", "Committed at height")
		var doc struct {
			Form types.FormRecord `json:"form"`
		}
		decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "form", "-o", "json", "--study", "VT-HTN-201", "--subject", "S1-001",
			"--event", "UNS", "--repeat", fmt.Sprint(r), "--form", "VS"), &doc)
		if doc.Form.EventRepeat != r || doc.Form.Version != 1 || !slices.Contains(doc.Form.Values, protocol.ItemValue{Item: "VS.HR", Value: fmt.Sprint(70 + r)}) {
			t.Fatalf("the ledger's vital signs at unscheduled visit #%d: %+v", r, doc.Form)
		}
	}
	browsertest.Page(t, ctx, "dashboard", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")))
	browsertest.Get(t, ctx, "the schedule's last columns", chromedp.Evaluate[bool]("(document.querySelector('.schedule').scrollLeft = 1e6, true)"))
	screenshot(t, ctx, "repeats")
	browsertest.Get(t, ctx, "the schedule's first columns", chromedp.Evaluate[bool]("(document.querySelector('.schedule').scrollLeft = 0, true)"))
	for i, want := range []string{"entered", "entered", "missing"} {
		r := i + 1
		if s := browsertest.TextOf(t, ctx, fmt.Sprintf(`a[href="#/form/VT-HTN-201/S1-001/UNS/%d/VS"]`, r)); !strings.Contains(s, want) {
			t.Errorf("the dashboard's vital signs at unscheduled visit #%d: %q, want %s", r, s, want)
		}
	}
}

// repeatsAndBranches: the adverse events form has one card per event,
// added and removed, and items that show as the answers call for them;
// a cross-item check of a row shows while typing. Nothing is submitted.
func repeatsAndBranches(t *testing.T, ctx context.Context, env []string, url string) {
	t.Helper()
	browsertest.Page(t, ctx, "adverse events", chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/W4/1/AE"),
		chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-1")))
	if visible(t, ctx, "#i-AE_ENDDT-1") || visible(t, ctx, "#i-AE_SERCRIT-1") || visible(t, ctx, "#i-AE_TERM-2") {
		t.Fatal("the end date and seriousness criteria show before their answers, or a second row before it is added")
	}
	browsertest.Page(t, ctx, "not ongoing, serious",
		browsertest.TypeInto("#i-AE_TERM-1", "Headache"),
		browsertest.TypeInto("#i-AE_STDT-1", "2026-02-10"),
		chromedp.Focus(chromedp.CSS(`#i-AE_ONGO-1 input[value="0"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`#i-AE_SER-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	waitShown(t, ctx, "#i-AE_ENDDT-1", true)
	waitShown(t, ctx, "#i-AE_SERCRIT-1", true)
	browsertest.Page(t, ctx, "end before start", browsertest.TypeInto("#i-AE_ENDDT-1", "2026-02-01"))
	browsertest.WaitText(t, ctx, "#i-AE_ENDDT-1-msg", "Error: Row 1: Adverse event end date is before its start date. (AE.CHK.DATES)")
	browsertest.Page(t, ctx, "ongoing after all", chromedp.Focus(chromedp.CSS(`#i-AE_ONGO-1 input[value="1"]`)), chromedp.KeyEvent(" "))
	waitShown(t, ctx, "#i-AE_ENDDT-1", false)
	browsertest.Page(t, ctx, "a second adverse event", browsertest.Press("#add-AE_LOG"), chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-2")), browsertest.TypeInto("#i-AE_TERM-2", "Dizziness"))
	if visible(t, ctx, "#i-AE_ENDDT-2") {
		t.Error("the second row's end date shows before its answer")
	}
	screenshot(t, ctx, "repeating")
	// The half-filled form is a draft in the browser: back on the form,
	// it is restored.
	browsertest.Page(t, ctx, "away and back", chromedp.Navigate(url+"/#/"), chromedp.WaitVisible(chromedp.CSS(".schedule")),
		chromedp.Navigate(url+"/#/form/VT-HTN-201/S1-001/W4/1/AE"), chromedp.WaitVisible(chromedp.CSS("#i-AE_TERM-2")))
	browsertest.WaitText(t, ctx, "#draft-status", "Restored your draft from this browser")
	if v := browsertest.Get(t, ctx, "restored draft", chromedp.Evaluate[string]("document.querySelector('#i-AE_TERM-1').value + '|' + document.querySelector('#i-AE_TERM-2').value")); v != "Headache|Dizziness" {
		t.Errorf("the restored draft holds %q", v)
	}
	browsertest.Page(t, ctx, "remove the first", browsertest.Press("#row-AE_LOG-1 button"))
	waitShown(t, ctx, "#i-AE_TERM-2", false)
	if v := browsertest.Get(t, ctx, "row 1 after the removal", chromedp.Evaluate[string]("document.querySelector('#i-AE_TERM-1').value")); v != "Dizziness" {
		t.Errorf("after removing row 1, row 1 holds %q, want the second event", v)
	}
	failVT(t, env, exitFailure, "has not been entered", "--from", "sponsor-dm", "show", "form", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "W4", "--form", "AE")
}
