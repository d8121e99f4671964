package testnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
	"github.com/veritrial/veritrial/testnet/browsertest"
)

// TestBrowserFourValidators enters forms in the web pages against one of
// four validators: the pages are served by site-1's node's read API, its
// coordinator signs in and submits the vital signs of a subject enrolled
// through the CLI at five visits, and each form is read back through the
// CLI from the regulator's node, with the values typed. It logs the
// page's own submit-to-committed times (docs/WEB.md's figures).
func TestBrowserFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four nodes; skipped under -short")
	}
	chrome := browsertest.Need(t)
	c := newCluster(t, "sponsor", "site-1", "site-2", "regulator")
	for _, n := range c.nodes {
		c.start(n)
	}
	for _, n := range c.nodes {
		c.waitUp(n, 1, 60*time.Second)
	}
	c.setupStudy(&ledgerLog{})
	site1, regulator := c.node("site-1"), c.node("regulator")
	icf := filepath.Join(t.TempDir(), "icf.txt")
	if err := os.WriteFile(icf, []byte("consent form v1 (test document)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.mustVT("--home", site1.home, "subject", "enroll", "--from", "site-1-coordinator", "--study", studyID, "--subject", "S1-001",
		"--consent-version", "1.0", "--consent-file", icf)
	api, ok, err := node.LoadAPI(site1.home)
	if err != nil || !ok {
		t.Fatalf("site-1's home has no read API: %v", err)
	}
	url := api.URL()

	ctx := browsertest.Start(t, chrome)
	browsertest.SignIn(t, ctx, url, site1.home, "site-1-coordinator")
	committed := regexp.MustCompile(`Committed at height (\d+)`)
	visits := []struct{ event, date, sys, dia, hr string }{
		{"SCR", "2026-01-05", "142", "91", "74"},
		{"D1", "2026-01-19", "138", "88", "71"},
		{"W4", "2026-02-16", "134", "86", "69"},
		{"W8", "2026-03-16", "131", "84", "70"},
		{"W12", "2026-04-13", "128", "82", "68"},
	}
	for _, v := range visits {
		browsertest.Page(t, ctx, "vital signs at "+v.event,
			chromedp.Navigate(fmt.Sprintf("%s/#/form/%s/S1-001/%s/1/VS", url, studyID, v.event)),
			chromedp.WaitVisible(chromedp.CSS("#crf")),
			browsertest.TypeInto("#i-VS_DATE-0", v.date),
			chromedp.Focus(chromedp.CSS(`#i-VS_POS-0 input[value="1"]`)),
			chromedp.KeyEvent(" "),
			browsertest.TypeInto("#i-VS_SYSBP-0", v.sys),
			browsertest.TypeInto("#i-VS_DIABP-0", v.dia),
			browsertest.TypeInto("#i-VS_HR-0", v.hr),
			browsertest.Press("#crf-submit"))
		m := committed.FindStringSubmatch(browsertest.WaitText(t, ctx, "#tx-status", "Committed at height"))
		height, _ := strconv.ParseInt(m[1], 10, 64)
		c.waitUp(regulator, height, 30*time.Second)
		var doc struct {
			Form types.FormRecord `json:"form"`
		}
		out := c.mustVT("--home", regulator.home, "--from", auditor, "show", "form", "-o", "json",
			"--study", studyID, "--subject", "S1-001", "--event", v.event, "--form", "VS")
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("show form: %v\n%s", err, out)
		}
		want := []protocol.ItemValue{{Item: "VS.DATE", Value: v.date}, {Item: "VS.POS", Value: "1"},
			{Item: "VS.SYSBP", Value: v.sys}, {Item: "VS.DIABP", Value: v.dia}, {Item: "VS.HR", Value: v.hr}}
		for _, iv := range want {
			if !slices.Contains(doc.Form.Values, iv) {
				t.Fatalf("the regulator's node has the vital signs at %s without %+v: %+v", v.event, iv, doc.Form)
			}
		}
		if doc.Form.Version != 1 || doc.Form.Stamp.Signer != "site-1-coordinator" {
			t.Fatalf("the regulator's node has the vital signs at %s as %+v", v.event, doc.Form)
		}
	}
	tm := browsertest.PageTimings(t, ctx)
	if len(tm.Commits) != len(visits) {
		t.Fatalf("the page timed %d commits of the %d forms it submitted", len(tm.Commits), len(visits))
	}
	t.Logf("submit to committed: %.0f ms median of %d (four validators)", browsertest.Median(tm.Commits), len(tm.Commits))
}
