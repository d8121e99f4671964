package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// TestWorkflowsOnARealNode drives the workflow and show commands through a
// running node: registration, an amendment approved by the regulator,
// enrolment, form entry (a rejection with exit code 6 and the ledger's
// message, a soft warning), a correction, the history with a verified
// proof, a past height, and authorization refusals.
func TestWorkflowsOnARealNode(t *testing.T) {
	t.Parallel()
	work, home, env, n := devNode(t)

	proto := filepath.Join(work, "htn201.yaml")
	mustVT(t, env, "protocol", "example", "--out", proto)
	var reg txOutcome
	decode(t, mustVT(t, env, "study", "register", "--from", "sponsor-dm", proto, "--output", "json"), &reg)
	if reg.Code != 0 || reg.Height < 1 || len(reg.TxHash) != 64 {
		t.Fatalf("register outcome: %+v", reg)
	}
	failVT(t, env, exitRejected, "code 301 (study_exists)", "study", "register", "--from", "sponsor-dm", proto)
	failVT(t, env, exitRejected, "only sponsor organisations may register a study", "study", "register", "--from", "site1-coordinator", proto)

	// Amendment: v2 narrows the protocol; the regulator approves it.
	v2 := strings.Replace(readFile(t, proto), `version: "1.0"`, `version: "1.1"`, 1)
	if v2 == readFile(t, proto) {
		t.Fatal("example protocol has no version: \"1.0\" line to change")
	}
	proto2 := filepath.Join(work, "htn201_v11.yaml")
	writeFile(t, proto2, v2)
	mustVT(t, env, "study", "amend", "--from", "sponsor-dm", "--rationale", "administrative version bump", proto2)
	failVT(t, env, exitRejected, "not an approver", "study", "approve-amendment", "--from", "site1-admin", "--study", "VT-HTN-201", "--amendment", "1")
	mustVT(t, env, "study", "approve-amendment", "--from", "regulator-auditor", "--study", "VT-HTN-201", "--amendment", "1")
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "study", "--study", "VT-HTN-201", "--prove"); !strings.Contains(r.stdout, "version 2 of 2") || !strings.Contains(r.stdout, "Proof: verified") || !strings.Contains(r.stdout, "approved") {
		t.Errorf("show study:\n%s", r.stdout)
	}
	// In JSON the protocol of every version and amendment is whole: it
	// hashes to its fingerprint.
	var st struct {
		Versions   []types.ProtocolVersion `json:"versions"`
		Amendments []types.Amendment       `json:"amendments"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "study", "--study", "VT-HTN-201", "--output", "json"), &st)
	if len(st.Versions) != 2 || len(st.Amendments) != 1 {
		t.Fatalf("show study in JSON: %d versions, %d amendments", len(st.Versions), len(st.Amendments))
	}
	for _, v := range st.Versions {
		if fp, err := v.Protocol.Fingerprint(); err != nil || fp != v.Fingerprint || len(v.Protocol.Forms) == 0 || len(v.Protocol.Events) == 0 || len(v.Protocol.CodeLists) == 0 {
			t.Errorf("protocol version %d in JSON is not whole: fingerprint %s (%v), want %s; %d forms", v.Number, fp, err, v.Fingerprint, len(v.Protocol.Forms))
		}
	}
	if fp, err := st.Amendments[0].Protocol.Fingerprint(); err != nil || fp != st.Amendments[0].Fingerprint {
		t.Errorf("amendment 1 in JSON is not whole: fingerprint %s (%v), want %s", fp, err, st.Amendments[0].Fingerprint)
	}

	// The site's delegation log: the coordinator acts once the principal
	// investigator delegates the tasks.
	failVT(t, env, exitRejected, "code 211 (invalid_role)", "site", "activate", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--site", "site1", "--pi", "site1-coordinator")
	mustVT(t, env, "site", "activate", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--site", "site1", "--pi", "site1-investigator")
	icf := filepath.Join(work, "icf.txt")
	writeFile(t, icf, "consent form v1 (test document)\n")
	enroll := []string{"subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "1.0", "--consent-file", icf}
	failVT(t, env, exitRejected, "ask the principal investigator Dr. Demo Investigator (site1-investigator) to delegate enrolment on VT-HTN-201 to you", enroll...)
	failVT(t, env, exitRejected, "only the principal investigator does", "site", "delegate", "--from", "site1-admin", "--study", "VT-HTN-201", "--site", "site1", "--account", "site1-coordinator", "--tasks", "enroll")
	mustVT(t, env, "site", "delegate", "--from", "site1-investigator", "--study", "VT-HTN-201", "--site", "site1", "--account", "site1-coordinator", "--tasks", "enroll,entry", "--tasks", "answer")
	mustVT(t, env, "study", "delegate", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--org", "cro", "--tasks", "monitoring")
	mustVT(t, env, "study", "undelegate", "--from", "sponsor-dm", "--study", "VT-HTN-201", "--org", "cro", "--reason", "contract ended")
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "delegations", "--study", "VT-HTN-201", "--prove"); !strings.Contains(r.stdout, "Dr. Demo Investigator (site1-investigator)") || !strings.Contains(r.stdout, "enroll, entry, answer") ||
		!strings.Contains(r.stdout, "2 revoke") || !strings.Contains(r.stdout, "contract ended") || !strings.Contains(r.stdout, "Proof: verified") {
		t.Errorf("show delegations:\n%s", r.stdout)
	}
	var dels struct {
		Sites       []types.Site       `json:"sites"`
		Delegations []types.Delegation `json:"delegations"`
	}
	decode(t, mustVT(t, env, "--from", "sponsor-dm", "show", "delegations", "--study", "VT-HTN-201", "--site", "site1", "-o", "json"), &dels)
	if len(dels.Sites) != 1 || dels.Sites[0].PrincipalInvestigator != "site1-investigator" || len(dels.Delegations) != 1 || dels.Delegations[0].Account != "site1-coordinator" ||
		dels.Delegations[0].Status != types.DelegationActive {
		t.Errorf("show delegations --site site1 in JSON: %+v", dels)
	}
	mustVT(t, env, enroll...)
	failVT(t, env, exitRejected, "code 401 (subject_exists)", "subject", "enroll", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--consent-version", "1.0", "--consent-file", icf)

	key := []string{"--study", "VT-HTN-201", "--subject", "S1-001", "--event", "SCR", "--form", "VS"}
	submit := append([]string{"form", "submit", "--from", "site1-coordinator"}, key...)
	r := failVT(t, env, exitRejected, "Systolic blood pressure 300 mmHg is above the maximum 250 (VS.SYSBP)",
		append(submit, "VS.DATE=2026-01-12", "VS.POS=1", "VS.SYSBP=300", "VS.DIABP=92", "VS.HR=72")...)
	if !strings.Contains(r.stderr, "code 410 (edit_check_failed)") || !strings.Contains(r.stderr, "before entering a block") {
		t.Errorf("rejection does not name the code, or did not come from CheckTx: %s", r.stderr)
	}
	var ok txOutcome
	decode(t, mustVT(t, env, append(submit, "VS.DATE=2026-01-12", "VS.POS=1", "VS.SYSBP=148", "VS.DIABP=92", "VS.HR=38", "--output", "json")...), &ok)
	// Where a tx not yet in a block is to be looked up: the node answers
	// there with the tx once it is in.
	rpc, _ := node.RPCAddr(home)
	cl, err := client.New(rpc)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := http.Get(cl.TxURL(ok.TxHash)); err != nil {
		t.Errorf("GET %s: %v", cl.TxURL(ok.TxHash), err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"hash":"`+ok.TxHash+`"`) {
			t.Errorf("GET %s: %s\n%s", cl.TxURL(ok.TxHash), res.Status, body)
		}
	}
	// show tx: the signer looks the tx up by its hash; the CRO, to whom
	// the study is not delegated, is told what an unknown hash gets: no
	// block holds it.
	if r := mustVT(t, env, "show", "tx", "--from", "site1-coordinator", "--hash", strings.ToLower(ok.TxHash)); !strings.Contains(r.stdout, fmt.Sprintf("tx %s: committed at height %d, accepted", ok.TxHash, ok.Height)) {
		t.Errorf("show tx:\n%s", r.stdout)
	}
	failVT(t, env, exitFailure, "no block holds tx", "show", "tx", "--from", "cro-monitor", "--hash", ok.TxHash)
	failVT(t, env, exitFailure, "no block holds tx", "show", "tx", "--from", "site1-coordinator", "--hash", strings.Repeat("AB", 32))
	failVT(t, env, exitUsage, "is not a tx hash", "show", "tx", "--from", "site1-coordinator", "--hash", "XYZ")
	failVT(t, env, exitUsage, "not ITEM=VALUE", append(submit, "VS.SYSBP")...)
	failVT(t, env, exitRejected, "only site organisations", append([]string{"form", "submit", "--from", "regulator-auditor"}, append(key, "VS.HR=60")...)...)

	if r := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "--prove"}, key...)...); !strings.Contains(r.stdout, "Heart rate") || !strings.Contains(r.stdout, "38 bpm") || !strings.Contains(r.stdout, "below the expected 40") {
		t.Errorf("show form:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 411 (no_change)", append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "none"}, append(key, "VS.HR=38")...)...)
	mustVT(t, env, append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "transcription error"}, append(key, "VS.HR=58")...)...)
	h := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "history", "--prove"}, key...)...)
	for _, want := range []string{"2 version(s)", "reason for change: transcription error", `VS.HR (Heart rate): "38" -> "58"`, "Proof: every version verified"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, h.stdout)
		}
	}
	// The form as it was at the height of the first entry.
	if r := mustVT(t, env, append([]string{"--from", "sponsor-dm", "show", "form", "--prove", "--height", strconv.FormatInt(ok.Height, 10)}, key...)...); !strings.Contains(r.stdout, "version 1") || !strings.Contains(r.stdout, "38 bpm") {
		t.Errorf("show form at height %d:\n%s", ok.Height, r.stdout)
	}
	checkTxSearch(t, home)
	mustVT(t, env, "subject", "withdraw", "--from", "site1-investigator", "--study", "VT-HTN-201", "--subject", "S1-001", "--kind", "consent", "--reason", "withdrew consent")
	failVT(t, env, exitRejected, "code 403 (subject_withdrawn)", "form", "submit", "--from", "site1-coordinator", "--study", "VT-HTN-201", "--subject", "S1-001", "--event", "D1", "--form", "VS",
		"VS.DATE=2026-01-26", "VS.POS=1", "VS.SYSBP=142", "VS.DIABP=90", "VS.HR=70")
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "account", "--account", "site1-coordinator"); !strings.Contains(r.stdout, "genesis") {
		t.Errorf("show account:\n%s", r.stdout)
	}
	// Two people rotate another person's key: the site's administrator
	// requests it, the coordinator approves it with the current key.
	mustVT(t, env, "keys", "add", "site1-coordinator-2")
	if r := mustVT(t, env, "account", "rotate", "--from", "site1-admin", "--account", "site1-coordinator", "--key", "site1-coordinator-2"); !strings.Contains(r.stdout, "Requested the rotation") {
		t.Errorf("rotation request:\n%s", r.stdout)
	}
	if r := mustVT(t, env, "--from", "sponsor-dm", "show", "account", "--account", "site1-coordinator"); !strings.Contains(r.stdout, "Key rotation request pending") || !strings.Contains(r.stdout, "rotate_key_request") {
		t.Errorf("show account with a pending rotation:\n%s", r.stdout)
	}
	failVT(t, env, exitRejected, "code 216 (own_rotation_request)", "account", "approve-rotation", "--from", "site1-admin", "--account", "site1-coordinator", "--key", "site1-coordinator-2")
	mustVT(t, env, "account", "approve-rotation", "--from", "site1-coordinator", "--account", "site1-coordinator", "--key", "site1-coordinator-2")
	failVT(t, env, exitRejected, "code 105 (bad_signature)", "account", "rotate", "--from", "site1-coordinator", "--account", "site1-coordinator", "--key", "site1-coordinator-2")
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d; log:\n%s", code, n.stderr)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkTxSearch asks the node's tx index for the txs of subject S1-001
// of TestWorkflowsOnARealNode: the enrolment, the accepted submission and
// the correction are found, alone or combined, by their indexed study, subject, kind and
// signer, while the finer attributes (form, event) are in the results but
// not indexed.
func checkTxSearch(t *testing.T, home string) {
	t.Helper()
	conf, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpchttp.New(conf.RPC.ListenAddress, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		res, err := c.TxSearch(context.Background(), q, false, nil, nil, "asc")
		if err != nil {
			t.Fatalf("tx_search %s: %v", q, err)
		}
		return res.TotalCount
	}
	for q, want := range map[string]int{
		"vt.study='VT-HTN-201' AND vt.subject='S1-001'":              3,
		"vt.subject='S1-001' AND vt.kind='correct_form'":             1,
		"vt.kind='submit_form' AND vt.signer='site1-coordinator'":    1, // the out-of-range one was refused at CheckTx
		"vt.kind='enroll_subject' AND vt.signer='site1-coordinator'": 3, // two are rejected in their blocks (not_delegated, subject_exists)
		"vt.form='VS'":   0,
		"vt.event='SCR'": 0,
	} {
		if got := count(q); got != want {
			t.Errorf("tx_search %s: %d txs, want %d", q, got, want)
		}
	}
}
