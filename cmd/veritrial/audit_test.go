package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/crypto/ed25519"
	sm "github.com/cometbft/cometbft/state"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/node"
)

// TestAuditOnARealNode runs a small study on a real node (an amendment
// that switches the primary outcome, a late entry, a correction after
// SDV, a signature, a write refused during a freeze), then audits it:
// verify-chain from the genesis (and its resumption), a wrong genesis
// refused, the trail with the rejected attempt (table, JSON, xlsx), the
// report's signals, and replay of the stopped node: matching, then
// diverging on a tampered state store copy and on altered txs.
func TestAuditOnARealNode(t *testing.T) {
	t.Parallel()
	work, home, env, n := devNode(t)
	rpc, ok := node.RPCAddr(home)
	if !ok {
		t.Fatal("the home's config names no RPC address")
	}
	const study = "VT-HTN-201"

	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto)
	v2 := strings.Replace(readFile(t, proto), `version: "1.0"`, `version: "1.1"`, 1)
	v2 = strings.Replace(v2, "measure: Change from baseline in mean seated systolic blood pressure", "measure: Change from baseline in home systolic blood pressure", 1)
	v2 = strings.Replace(v2, `consent_version: "1.0"`, `consent_version: "2.0"`, 1) // outcome switching needs re-consent
	proto2 := filepath.Join(work, "htn201_v11.yaml")
	writeFile(t, proto2, v2)
	mustVT(t, env, "study", "amend", "--from", "sponsor-dm", "--rationale", "home readings", proto2)
	mustVT(t, env, "study", "approve-amendment", "--from", "regulator-auditor", "--study", study, "--amendment", "1")
	activateSite1(t, env, study)
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form (test document)\n")
	mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001", "--consent-version", "2.0", "--consent-file", icf)
	key := []string{"--study", study, "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	// A visit a year before entry: late.
	mustVT(t, env, append([]string{"form", "submit", "--from", "site1-coordinator"}, append(key, "VS.DATE=2025-11-01", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=62")...)...)
	mustVT(t, env, "sdv", "--from", "cro-monitor", "--study", study, "--subject", "S1-001", "--event", "SCR", "--form", "VS")
	mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "transcription error"}, append(key, "VS.HR=64")...)...)
	pf := filepath.Join(work, "pass")
	writeFile(t, pf, node.DevPassphrase+"\n")
	mustVT(t, env, "sign", "--from", "site1-investigator", "--passphrase-file", pf, "--study", study, "--subject", "S1-001", "--meaning", "approval")
	mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "source re-read"}, append(key, "VS.DIABP=90")...)...)
	mustVT(t, env, "freeze", "--from", "sponsor-dm", "--study", study, "--reason", "LPLV")
	failVT(t, env, exitRejected, "code 509 (frozen)", append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "late"}, append(key, "VS.HR=65")...)...)
	// One more block so that the last tx's results are in a header.
	st := waitHeight(t, env, home, 2, n)
	st = waitHeight(t, env, home, st.Height+1, n)

	// verify-chain from the genesis.
	gen := filepath.Join(home, "config", "genesis.json")
	var cr audit.ChainReport
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-chain", "--genesis", gen, "--node", rpc, "--witness", rpc, "--output", "json"), &cr)
	if !cr.OK() || cr.From != 1 || cr.To < st.Height || cr.TrustRoot != "genesis" || !cr.CrossChecked || cr.Resumed {
		t.Fatalf("verify-chain: %+v", cr)
	}
	if len(cr.ValidatorHistory) != 1 || cr.ValidatorHistory[0].Height != 1 || len(cr.ValidatorHistory[0].Validators) != 1 || cr.ValidatorHistory[0].Validators[0].Power != 10 {
		t.Errorf("validator history: %+v", cr.ValidatorHistory)
	}
	if _, err := os.Stat(filepath.Join(home, "audit", "veritrial-dev", "light.db")); err != nil {
		t.Errorf("no light store in the default trust dir: %v", err)
	}
	r := mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-chain", "--genesis", gen, "--node", rpc)
	if !strings.Contains(r.stdout, "continuing a previous run") || !strings.Contains(r.stdout, "OK: every header verified") {
		t.Errorf("second verify-chain:\n%s", r.stdout)
	}
	// The same chain by a trusted header.
	var tr audit.ChainReport
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-chain", "--trusted-height", "1", "--trusted-hash", cr.TrustedHash, "--chain-id", "veritrial-dev", "--node", rpc, "--trust-dir", filepath.Join(work, "trust2"), "--output", "json"), &tr)
	if !tr.OK() || tr.TrustRoot != "trusted header" || tr.To < st.Height {
		t.Errorf("verify-chain from a trusted header: %+v", tr)
	}

	// A genesis naming another validator key is refused at block 1.
	g, err := cmttypes.GenesisDocFromFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	other := ed25519.GenPrivKey().PubKey()
	g.Validators[0] = cmttypes.GenesisValidator{Address: other.Address(), PubKey: other, Power: 10, Name: "impostor"}
	wrong := filepath.Join(work, "wrong-genesis.json")
	if err := g.SaveAs(wrong); err != nil {
		t.Fatal(err)
	}
	r = failVT(t, env, exitFailure, "verification failed at height 1", "--from", "regulator-auditor", "audit", "verify-chain", "--genesis", wrong, "--node", rpc, "--trust-dir", filepath.Join(work, "trust3"))
	if !strings.Contains(r.stderr, "does not start from this genesis") || !strings.Contains(r.stderr, "genesis validators hash to") {
		t.Errorf("wrong genesis: %s", r.stderr)
	}

	// The trail: the refused correction is there with its code.
	r = mustVT(t, env, "--from", "regulator-auditor", "audit", "trail", "--study", study)
	for _, want := range []string{"REJECTED 509 (frozen)", "corrected form VS: VS.HR=64", "ROLE", "  ON  ", "transcription error", "site1-coordinator", "approved amendment 1",
		"activated site site1 with principal investigator site1-investigator", "delegated enroll, entry, answer at site site1 to site1-coordinator", "Every block was checked against a header verified", "each proven against the verified app hash"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trail lacks %q:\n%s", want, r.stdout)
		}
	}
	// Each row says whose data it is about and the role the signer acted
	// under.
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "transcription error") && (!strings.Contains(line, "  coordinator  ") || !strings.Contains(line, "  S1-001 SCR VS  ")) {
			t.Errorf("trail row without role or target: %s", line)
		}
	}
	var trail struct {
		Entries  []audit.Entry `json:"entries"`
		Rejected int           `json:"rejected"`
	}
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "trail", "--study", study, "--subject", "S1-001", "--format", "json"), &trail)
	if trail.Rejected != 1 || len(trail.Entries) != 7 {
		t.Fatalf("trail of S1-001: %d entries, %d rejected: %+v", len(trail.Entries), trail.Rejected, trail.Entries)
	}
	last := trail.Entries[len(trail.Entries)-1]
	if !last.Rejected || last.Code != 509 || last.Site != "site1" || last.ProtocolVersion != 2 || last.Reason != "late" || !strings.HasSuffix(last.Time, "Z") {
		t.Errorf("rejected entry: %+v", last)
	}
	if first := trail.Entries[0]; first.Kind != "enroll_subject" || first.Name != "Demo Study Coordinator" || first.Org != "site1" || first.Role != "coordinator" {
		t.Errorf("first entry: %+v", first)
	}
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "trail", "--study", study, "--user", "cro-monitor", "--format", "json"), &trail)
	// cro-monitor holds the roles admin and monitor; it verified as monitor.
	if len(trail.Entries) != 1 || trail.Entries[0].Kind != "verify" || trail.Entries[0].Role != "monitor" {
		t.Errorf("trail of cro-monitor: %+v", trail.Entries)
	}
	xl := filepath.Join(work, "trail.xlsx")
	if r := mustVT(t, env, "--from", "regulator-auditor", "audit", "trail", "--study", study, "--out", xl); !strings.Contains(r.stdout, "Wrote the audit trail of study "+study+" at height ") || !strings.Contains(r.stdout, "(14 transactions, 1 rejected) to "+xl+" (xlsx)") {
		t.Errorf("audit trail --out says:\n%s", r.stdout)
	}
	f, err := excelize.OpenFile(xl)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Audit trail")
	f.Close()
	if err != nil || len(rows) != 15 || rows[14][3] != "REJECTED" || rows[14][4] != "509" {
		t.Errorf("trail workbook (%v): %d rows, last %v", err, len(rows), rows[len(rows)-1])
	}

	// The report.
	var rep audit.Report
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", study, "--format", "json"), &rep)
	var site *audit.Signals
	for i := range rep.Sites {
		if rep.Sites[i].Key == "site1" {
			site = &rep.Sites[i]
		}
	}
	if site == nil || site.Entries != 1 || site.Values != 5 || site.LateEntries != 1 || site.Corrections != 2 ||
		site.CorrectionsPer100 != 40 || site.AfterSDV != 1 || site.AfterSignature != 1 || site.Rejected != 1 {
		t.Errorf("site1 signals: %+v", site)
	}
	if rep.Outcomes == nil || !rep.Outcomes.Switched || len(rep.Amendments) != 1 || !rep.Amendments[0].Outcomes {
		t.Errorf("outcomes: %+v; amendments %+v", rep.Outcomes, rep.Amendments)
	}
	if r := mustVT(t, env, "--from", "regulator-auditor", "audit", "report", "--study", study, "--out", filepath.Join(work, "report.xlsx")); !strings.Contains(r.stdout, "Wrote the integrity report of study "+study+" at height ") || !strings.Contains(r.stdout, "report.xlsx (xlsx)") {
		t.Errorf("audit report --out says:\n%s", r.stdout)
	}

	// verify-export: the export is exactly the ledger's data; a workbook
	// with one flipped cell, one dropped audit row and one fake subject
	// row is caught at each place.
	xe := filepath.Join(work, "export.xlsx")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", study, "--format", "xlsx", "--out", xe)
	var ve audit.ExportReport
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", xe, "--output", "json"), &ve)
	if !ve.OK() || ve.Records < 20 || ve.Study != study || ve.AppHash == "" {
		t.Fatalf("verify-export of the genuine export: %+v", ve)
	}
	ce := filepath.Join(work, "export-csv.zip")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", study, "--format", "csv", "--out", ce)
	mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", ce)
	je := filepath.Join(work, "export.dataset-json.zip")
	mustVT(t, env, "--from", "sponsor-dm", "export", "--study", study, "--format", "dataset-json", "--out", je)
	var jr audit.ExportReport
	decode(t, mustVT(t, env, "--from", "regulator-auditor", "audit", "verify-export", je, "--output", "json"), &jr)
	if !jr.OK() || !jr.Identical || jr.Format != "dataset-json" || jr.Records != ve.Records {
		t.Errorf("verify-export of the Dataset-JSON export: %+v", jr)
	}
	sheet, row, col := tamperExport(t, xe, filepath.Join(work, "tampered.xlsx"))
	r = vt(t, env, "--from", "regulator-auditor", "audit", "verify-export", filepath.Join(work, "tampered.xlsx"), "--output", "json")
	if r.code != exitFailure {
		t.Fatalf("verify-export of the tampered workbook: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	decode(t, r, &ve)
	found := map[string]bool{}
	for _, d := range ve.Differences {
		switch {
		case d.Kind == "changed value" && d.Sheet == sheet && d.Row == row && strings.HasPrefix(d.Column, col) && d.File == "99":
			found["flipped cell"] = true
		case d.Kind == "altered audit trail: missing row" && d.Sheet == "Audit trail" && d.Row == 3:
			found["dropped audit row"] = true
		case d.Kind == "extra row" && d.Sheet == "Subjects" && d.Key == "subj/"+study+"/S1-999":
			found["fake row"] = true
		}
	}
	if len(found) != 3 || len(ve.Differences) != 3 {
		t.Errorf("tampered workbook: found %v in %+v", found, ve.Differences)
	}

	// Replay needs the node stopped.
	failVT(t, env, exitFailure, "stop the node first", "audit", "replay")
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
	var rr audit.ReplayReport
	decode(t, mustVT(t, env, "audit", "replay", "--output", "json"), &rr)
	if rr.Divergence != nil || rr.Txs != 14 || rr.Rejected != 1 || rr.To < st.Height || rr.StateCompared < st.Height || len(rr.StateDifferences) != 0 {
		t.Fatalf("replay: %+v", rr)
	}

	// A copy whose stored result of the refused tx claims success.
	home2 := filepath.Join(work, "home-copy")
	if out, err := exec.Command("cp", "-a", home, home2).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	tamperHeight := tamperStoredResult(t, filepath.Join(home2, "data"))
	r = failVT(t, env, exitFailure, "replay diverges at height "+strconv.FormatInt(tamperHeight, 10)+": tx result code", "--home", home2, "audit", "replay")
	if !strings.Contains(r.stdout, "DIVERGENCE at tx 0") {
		t.Errorf("tampered replay:\n%s", r.stdout)
	}

	// An application that behaves differently: a tx dropped from a block.
	g, _ = cmttypes.GenesisDocFromFile(gen)
	res, err := audit.Replay(context.Background(), audit.ReplayOptions{DataDir: filepath.Join(home, "data"), Genesis: g,
		AlterTxs: func(h int64, txs [][]byte) [][]byte {
			if h == tamperHeight {
				return nil
			}
			return txs
		}})
	if err != nil || res.Divergence == nil || res.Divergence.Height != tamperHeight {
		t.Fatalf("altered replay: %v %+v", err, res)
	}
}

// tamperStoredResult rewrites the stored FinalizeBlock response of the
// block holding the refused tx (code 509) so that it claims code 0, and
// returns that height.
func tamperStoredResult(t *testing.T, dataDir string) int64 {
	t.Helper()
	db, err := dbm.NewGoLevelDB("state", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ss := sm.NewStore(db, sm.StoreOptions{})
	st, err := ss.Load()
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= st.LastBlockHeight; h++ {
		resp, err := ss.LoadFinalizeBlockResponse(h)
		if err != nil || len(resp.TxResults) == 0 || resp.TxResults[0].Code != 509 {
			continue
		}
		resp.TxResults[0].Code, resp.TxResults[0].Log = 0, ""
		if err := ss.SaveFinalizeBlockResponse(h, resp); err != nil {
			t.Fatal(err)
		}
		return h
	}
	t.Fatal("no stored result with code 509")
	return 0
}

// tamperExport copies an exported workbook to out with the heart rate
// of S1-001's VS form set to 99, the first audit trail row removed and a
// fake subject appended; it returns where the flipped cell is (sheet,
// row, column letter).
func tamperExport(t *testing.T, in, out string) (string, int, string) {
	t.Helper()
	f, err := excelize.OpenFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet, row, col := "", 0, ""
	for _, name := range f.GetSheetList() {
		rows, _ := f.GetRows(name)
		if len(rows) < 3 {
			continue
		}
		hr, key := -1, -1
		for i, h := range rows[0] {
			switch h {
			case "VS.HR":
				hr = i
			case "ledger_key":
				key = i
			}
		}
		if hr < 0 || key < 0 {
			continue
		}
		for i, r := range rows {
			if len(r) > key && r[key] == "form/VT-HTN-201/S1-001/SCR/0001/VS" {
				sheet, row = name, i+1
				col, _ = excelize.ColumnNumberToName(hr + 1)
			}
		}
	}
	if sheet == "" {
		t.Fatal("no VS form row in the export")
	}
	if err := f.SetCellValue(sheet, col+strconv.Itoa(row), "99"); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveRow("Audit trail", 3); err != nil {
		t.Fatal(err)
	}
	subj, _ := f.GetRows("Subjects")
	fake := make([]any, len(subj[2]))
	for i, v := range subj[2] {
		fake[i] = strings.ReplaceAll(v, "S1-001", "S1-999")
	}
	if err := f.SetSheetRow("Subjects", "A"+strconv.Itoa(len(subj)+1), &fake); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(out); err != nil {
		t.Fatal(err)
	}
	return sheet, row, col
}

// TestAuditWriteReport checks the text of the integrity report: the time
// said once with its zone, a finding without a site or target without a
// gap, and a rejected attempt's multi-line message on its finding's line.
func TestAuditWriteReport(t *testing.T) {
	r := &audit.Report{Study: "VT-HTN-201", Height: 38, AsOf: "2026-12-06T22:30:34Z",
		Sites: []audit.Signals{{Key: audit.NoSite, Rejected: 1}, {Key: "site1", Entries: 4, Values: 23}},
		Findings: []audit.Finding{
			{Signal: "rejected attempt", User: "regulator-auditor", Height: 32, Detail: "lock refused with code 511 (lock_blocked): 1 blocker(s); resolve them and approve again:\n- query 1 on S1-001 SCR/1 VS VS.HR is open"},
			{Signal: "late entry", User: "site1-coordinator", Site: "site1", Target: "S1-002 SCR VS", Height: 10, Detail: "entered 21.0 days after the visit date 2026-11-16"},
		}}
	var b strings.Builder
	if err := auditWriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Integrity report of study VT-HTN-201 at height 38 (2026-12-06T22:30:34Z)\n",
		"\n(no site)  0 ",
		"\n  [rejected attempt] regulator-auditor at height 32: lock refused with code 511 (lock_blocked): 1 blocker(s); resolve them and approve again:\\n- query 1 on S1-001 SCR/1 VS VS.HR is open\n",
		"\n  [late entry] site1-coordinator site1 S1-002 SCR VS at height 10: entered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
