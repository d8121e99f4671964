package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

const study = apptest.StudyID

// scenario takes the example study from first entry to database lock:
// two subjects, corrections (one clearing a value), a repeating group, a
// protocol deviation opened, updated, closed and reopened, a query
// thread, SDV and its removal by a correction, signatures (one
// invalidated), a withdrawal, the coordinator's delegation revoked, then
// the k-of-n lock. It returns the lock height.
func scenario(t *testing.T, c *apptest.Chain) int64 {
	t.Helper()
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	vs := apptest.FormKey("S1-001", "SCR", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(vs, apptest.VS(128, 84)))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "LB"), apptest.LB()))
	ae := apptest.AE(2, 7)
	ae[0].Value = `Kopfschmerz & "Übelkeit" <3> -- ok`
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "W4", 1, "AE"), ae))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-002", "SCR", 1, "VS"), apptest.VS(141, 92)))
	// S1-002's baseline (the anchor) dated so that screening, on
	// 2026-01-20, falls outside its window, then corrected three times:
	// its deviation opens, updates, closes and reopens.
	d1 := apptest.FormKey("S1-002", "D1", 1, "VS")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(d1, apptest.VSOn("2026-03-02", 138, 90)))
	for _, date := range []string{"2026-03-06", "2026-02-01", "2026-03-02"} {
		c.MustDo("site1-coordinator", apptest.CorrectMsg(d1, "visit date transcribed wrongly", apptest.V("VS.DATE", date)))
	}
	c.MustDo("cro-monitor", apptest.OpenQueryMsg(vs, "VS.SYSBP", "Please confirm the systolic pressure"))
	c.MustDo("site1-coordinator", apptest.QueryMsg(types.KindQueryAnswer, 1, "Confirmed against source"))
	c.MustDo("cro-monitor", apptest.QueryMsg(types.KindQueryClose, 1, "ok"))
	c.MustDo("cro-monitor", apptest.VerifyMsg("S1-001", "SCR", 1, "VS", ""))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "SCR", 1, "VS", "review"))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "transcription error", apptest.V("VS.HR", "71"), apptest.V("VS.WEIGHT", "")))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(vs, "scale recalibrated", apptest.V("VS.WEIGHT", "80.2")))
	c.MustDo("site1-coordinator", apptest.WithdrawMsg("S1-002", "moved abroad"))
	c.MustDo("site1-investigator", c.SignMsg("S1-001", "", 0, "", "approval"))
	c.MustDo("site1-investigator", c.SignMsg("S1-002", "", 0, "", "approval"))
	c.MustDo("site1-investigator", apptest.UndelegateSiteMsg(study, "site1", "site1-coordinator", "site close-out"))
	lock := apptest.ScopeMsg(types.KindLock, types.Scope{Study: study}, "")
	c.MustDo("regulator-auditor", lock)
	c.MustDo("sponsor-dm", lock)
	var s types.Study
	if !c.Get(types.KeyStudy(study), &s) || s.LockHeight != c.Height {
		t.Fatalf("study not locked: %+v", s)
	}
	return s.LockHeight
}

// source returns a reader and options for chain c at height h.
func source(c *apptest.Chain, h int64) (*client.Reader, export.Options) {
	bh := sha256.Sum256([]byte(fmt.Sprintf("block %d", h)))
	nh := sha256.Sum256([]byte(fmt.Sprintf("block %d", h+1)))
	opt := export.Options{
		Study: study, Version: "test",
		Block: export.Block{
			ChainID: apptest.ChainID, Height: h, Time: apptest.Genesis.Add(time.Duration(h) * time.Second),
			Hash: strings.ToUpper(hex.EncodeToString(bh[:])), NextHash: strings.ToUpper(hex.EncodeToString(nh[:])),
			AppHash:    strings.ToUpper(hex.EncodeToString(c.Hashes[h])),
			Validators: []export.Validator{{Address: "AB12", PubKey: "cHVia2V5", Power: 10, Signed: true}},
		},
	}
	return client.NewReader(c.App.TrustedQuery, h, nil), opt
}

type format struct {
	name  string
	write func(ctx context.Context, r *client.Reader, opt export.Options, w io.Writer) (*export.Summary, error)
}

var formats = []format{
	{"xlsx", export.WriteXLSX},
	{"csv.zip", export.WriteCSVZip},
	{"odm.xml", export.WriteODM},
	{"dataset-json.zip", export.WriteDatasetJSON},
	{"pdf.zip", export.WritePDFZip},
}

func run(t *testing.T, f format, r *client.Reader, opt export.Options) ([]byte, *export.Summary) {
	t.Helper()
	opt.TmpDir = t.TempDir()
	var buf bytes.Buffer
	sum, err := f.write(context.Background(), r, opt, &buf)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return buf.Bytes(), sum
}

// TestReproducible builds the same chain twice (two independent stores,
// as two nodes would hold) and exports every format from each: the bytes
// are identical, and so is a second export from the same store.
func TestReproducible(t *testing.T) {
	c1, c2 := apptest.New(t), apptest.New(t)
	h1, h2 := scenario(t, c1), scenario(t, c2)
	if h1 != h2 || !bytes.Equal(c1.Hashes[h1], c2.Hashes[h2]) {
		t.Fatalf("the two chains differ: heights %d/%d", h1, h2)
	}
	// More blocks after the lock must not change an export at the lock height.
	c2.Do("site1-coordinator", apptest.EnrollMsg("S1-003", "site1"))
	c2.Block()
	for _, f := range formats {
		r1, o1 := source(c1, h1)
		r2, o2 := source(c2, h2)
		a, s1 := run(t, f, r1, o1)
		b, s2 := run(t, f, r2, o2)
		again, _ := run(t, f, r1, o1)
		if !bytes.Equal(a, b) || !bytes.Equal(a, again) {
			t.Errorf("%s: exports differ (%d, %d and %d bytes)", f.name, len(a), len(b), len(again))
		}
		if s1.Digest != s2.Digest || s1.Records == 0 {
			t.Errorf("%s: summaries %+v %+v", f.name, s1, s2)
		}
		if os.Getenv("EXPORT_KEEP") != "" {
			_ = os.WriteFile(filepath.Join(os.Getenv("EXPORT_KEEP"), "export."+f.name), a, 0o644)
		}
	}
}

// allRecords reads every record an export covers, straight from the
// store, for the auditor-side digest.
func allRecords(t *testing.T, c *apptest.Chain, h int64) []types.ListEntry {
	t.Helper()
	r := client.NewReader(c.App.TrustedQuery, h, nil)
	var out []types.ListEntry
	for _, p := range export.RecordPrefixes(study) {
		if !strings.HasSuffix(p, "/") {
			v, err := r.Get(context.Background(), []byte(p))
			if err != nil {
				t.Fatal(err)
			}
			if v != nil {
				out = append(out, types.ListEntry{Key: p, Value: v})
			}
			continue
		}
		after := ""
		for {
			page, more, err := r.List(context.Background(), p, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page...)
			if !more {
				break
			}
			after = page[len(page)-1].Key
		}
	}
	return out
}

func TestXLSXContent(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	data, sum := run(t, formats[0], r, opt)
	recs := allRecords(t, c, h)
	want, err := export.DigestRecords(recs)
	if err != nil || sum.Digest != want || sum.Records != int64(len(recs)) {
		t.Fatalf("digest %s over %d records, want %s over %d (%v)", sum.Digest, sum.Records, want, len(recs), err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if sheets[0] != "Provenance" || sheets[1] != "Subjects" || sheets[2] != "Consent" || sheets[len(sheets)-1] != "Records" {
		t.Errorf("sheets %v", sheets)
	}
	for _, s := range []string{"VS", "LB", "AE", "Audit trail", "Queries", "Signatures", "SDV", "Serious adverse events", "Protocol deviations", "Delegation log", "Dictionary"} {
		if idx, _ := f.GetSheetIndex(s); idx < 0 {
			t.Errorf("no sheet %s in %v", s, sheets)
		}
	}
	if i, j := slices.Index(sheets, "Serious adverse events"), slices.Index(sheets, "Protocol deviations"); j != i+1 {
		t.Errorf("Protocol deviations is not the sheet after Serious adverse events: %v", sheets)
	}
	// Protocol deviations: every step of the trail, days off a number.
	dev, _ := f.GetRows("Protocol deviations")
	checkDeviationRows(t, c, dev[0], dev[2:])
	if typ, _ := f.GetCellType("Protocol deviations", "N3"); dev[0][13] != "days_off" || typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("days_off column %q, cell N3 of type %v, want a number", dev[0][13], typ)
	}
	// Form sheet: typed cells, decodes, ledger key.
	rows, _ := f.GetRows("VS")
	if len(rows) != 5 {
		t.Fatalf("VS rows %d: %v", len(rows), rows)
	}
	head := rows[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("VS has no column %s: %v", name, head)
		return -1
	}
	s001 := rows[2]
	if s001[0] != "S1-001" || s001[col("VS.HR")] != "71" || s001[col("VS.WEIGHT")] != "80.2" || s001[col("VS.POS.decode")] == "" ||
		s001[col("ledger_key")] != "form/"+study+"/S1-001/SCR/0001/VS" || s001[col("form_version")] != "3" {
		t.Errorf("S1-001 VS row %v", s001)
	}
	for _, name := range []string{"VS.HR", "VS.WEIGHT", "VS.DATE"} {
		cell, _ := excelize.CoordinatesToCellName(col(name)+1, 3)
		typ, _ := f.GetCellType("VS", cell)
		if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("%s cell %s has type %v, want a number", name, cell, typ)
		}
		v, _ := f.GetCellValue("VS", cell, excelize.Options{RawCellValue: true})
		if name == "VS.WEIGHT" && v != "80.2" {
			t.Errorf("VS.WEIGHT stored as %q", v)
		}
	}
	panes, err := f.GetPanes("VS")
	if err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("VS panes %+v %v", panes, err)
	}
	// Audit trail: every version of every item, attributed.
	audit, _ := f.GetRows("Audit trail")
	var weight []string
	for _, r := range audit[2:] {
		if r[0] == "S1-001" && r[4] == "VS.WEIGHT" {
			weight = append(weight, r[5]+":"+r[6]+">"+r[7])
		}
	}
	if strings.Join(weight, " ") != "insert:>81.5 remove:81.5> insert:>80.2" {
		t.Errorf("weight trail %v", weight)
	}
	last := audit[len(audit)-1]
	if len(last) < 20 || last[11] != "Demo Study Coordinator" || last[13] != "site1" || last[16] == "" || last[17] == "" || last[18] == "" {
		t.Errorf("audit row %v", last)
	}
	// Delegation log: the principal investigator, the CRO's delegation,
	// the coordinator's delegation and its revocation.
	dl, _ := f.GetRows("Delegation log")
	var steps []string
	for _, r := range dl[2:] {
		steps = append(steps, strings.Join([]string{r[0], r[2], r[3], r[4], r[6], r[7], r[8], r[9], r[10], r[len(r)-1]}, "|"))
	}
	if want := []string{
		"principal investigator|site1|site1-investigator|Dr. Demo Investigator|activate|every site task|current||Demo Data Manager|site/" + study + "/site1",
		"CRO|cro|||delegate|monitoring, data_management|active||Demo Data Manager|deleg/" + study + "/org/cro",
		"site|site1|site1-coordinator|Demo Study Coordinator|delegate|enroll, entry, answer|revoked||Dr. Demo Investigator|deleg/" + study + "/site/site1/site1-coordinator",
		"site|site1|site1-coordinator|Demo Study Coordinator|revoke||revoked|site close-out|Dr. Demo Investigator|deleg/" + study + "/site/site1/site1-coordinator",
	}; !slices.Equal(steps, want) {
		t.Errorf("delegation log\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	// Records: the key and hash of every record.
	rr, _ := f.GetRows("Records")
	if len(rr)-2 != len(recs) || rr[2][0] != recs[0].Key {
		t.Errorf("records sheet has %d rows for %d records", len(rr)-2, len(recs))
	}
	prov, _ := f.GetRows("Provenance")
	var provText strings.Builder
	for _, r := range prov {
		provText.WriteString(strings.Join(r, "=") + "\n")
	}
	for _, w := range []string{"Height=" + fmt.Sprint(h), "Height basis=database lock", sum.Digest, "veritrial audit verify-export", "Validator 1=address AB12"} {
		if !strings.Contains(provText.String(), w) {
			t.Errorf("provenance lacks %q:\n%s", w, provText.String())
		}
	}
	sig, _ := f.GetRows("Signatures")
	if len(sig) != 5 || sig[2][12] != "invalidated" || sig[2][6] != "Dr. Demo Investigator" || sig[2][10] != "review" {
		t.Errorf("signatures %v", sig)
	}
	props, _ := f.GetDocProps()
	if props.Created != "2026-01-05T09:00:"+fmt.Sprintf("%02d", h)+"Z" && !strings.HasPrefix(props.Created, "2026-01-05T09:") {
		t.Errorf("doc props %+v", props)
	}
}

func TestCSV(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h+0)
	data, sum := run(t, formats[1], r, opt)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		if !zf.Modified.Equal(opt.Block.Time) {
			t.Errorf("%s dated %v", zf.Name, zf.Modified)
		}
		rc, _ := zf.Open()
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Contains(raw, []byte("\r\n")) {
			t.Errorf("%s has no CRLF line ends", zf.Name)
		}
		recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			t.Errorf("%s is not valid CSV: %v", zf.Name, err)
		}
		files[zf.Name] = recs
	}
	for _, n := range []string{"audit_trail.csv", "subjects.csv", "dictionary.csv", "form_VS.csv", "form_AE.csv", "queries.csv", "signatures.csv", "sdv.csv", "consent.csv", "serious_adverse_events.csv", "protocol_deviations.csv", "delegation_log.csv", "provenance.csv", "records.csv"} {
		if files[n] == nil {
			t.Errorf("no %s in %v", n, names)
		}
	}
	if dev := files["protocol_deviations.csv"]; len(dev) > 0 {
		checkDeviationRows(t, c, dev[0], dev[1:])
	}
	ae := files["form_AE.csv"]
	if len(ae) != 3 || !strings.Contains(strings.Join(ae[1], "|"), `Kopfschmerz & "Übelkeit" <3> -- ok`) {
		t.Errorf("AE rows %v", ae)
	}
	if got := int64(len(files["records.csv"]) - 1); got != sum.Records {
		t.Errorf("records.csv has %d rows, want %d", got, sum.Records)
	}
	q := files["queries.csv"]
	if len(q) != 4 || q[1][11] != "open" || q[3][11] != "close" {
		t.Errorf("queries %v", q)
	}
	sdv := files["sdv.csv"]
	if len(sdv) != 3 || sdv[1][6] != "verify" || sdv[2][6] != "de-verify" {
		t.Errorf("sdv %v", sdv)
	}
	subj := files["subjects.csv"]
	if len(subj) != 3 || subj[2][2] != "withdrawn" || subj[2][11] != "moved abroad" {
		t.Errorf("subjects %v", subj)
	}

	// A directory export holds the same files.
	dir := t.TempDir()
	if _, err := export.WriteCSVDir(context.Background(), r, opt, dir); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "audit_trail.csv"))
	zf, _ := zr.Open("audit_trail.csv")
	want, _ := io.ReadAll(zf)
	if !bytes.Equal(got, want) {
		t.Error("directory and zip audit trails differ")
	}
}

// checkDeviationRows checks the rows of the protocol deviations table
// (header: its column names) against the scenario: the deviation of
// S1-002's screening opened, updated, closed and reopened by the
// corrections of its baseline's date, each step attributed to the
// transaction the ledger's record names.
func checkDeviationRows(t *testing.T, c *apptest.Chain, header []string, rows [][]string) {
	t.Helper()
	want := []string{
		"S1-002|site1|SCR|1|VS|VS.DATE|1|open|2026-01-20|2026-03-02|2026-02-16|2026-02-02|2026-03-01|-13|1|open",
		"S1-002|site1|SCR|1|VS|VS.DATE|2|update|2026-01-20|2026-03-06|2026-02-20|2026-02-06|2026-03-05|-17|1|open",
		"S1-002|site1|SCR|1|VS|VS.DATE|3|close|2026-01-20|2026-02-01|2026-01-18|2026-01-04|2026-01-31|0|1|closed",
		"S1-002|site1|SCR|1|VS|VS.DATE|4|reopen|2026-01-20|2026-03-02|2026-02-16|2026-02-02|2026-03-01|-13|1|open",
	}
	wantCols := []string{"subject", "site", "event", "event_repeat", "form", "item", "step", "action", "visit_date", "anchor", "target",
		"earliest", "latest", "days_off", "protocol_version", "status_after", "person", "account", "organisation", "role", "time_utc",
		"height", "tx_hash", "ledger_key"}
	if !slices.Equal(header, wantCols) {
		t.Fatalf("protocol deviations columns %v, want %v", header, wantCols)
	}
	if len(rows) != len(want) {
		t.Fatalf("protocol deviations: %d rows, want %d: %v", len(rows), len(want), rows)
	}
	key := types.KeyDeviation(apptest.FormKey("S1-002", "SCR", 1, "VS"))
	var d types.Deviation
	if !c.Get(key, &d) || len(d.History) != len(want) {
		t.Fatalf("deviation on the ledger: %+v", d)
	}
	for i, r := range rows {
		if got := strings.Join(r[:16], "|"); got != want[i] {
			t.Errorf("protocol deviations row %d:\n%s\nwant\n%s", i+1, got, want[i])
		}
		st := d.History[i].Stamp
		if got, w := strings.Join(r[16:], "|"), strings.Join([]string{"Demo Study Coordinator", "site1-coordinator", "site1", string(st.Role), st.Time,
			fmt.Sprint(st.Height), st.TxHash, string(key)}, "|"); got != w || st.TxHash == "" {
			t.Errorf("protocol deviations row %d stamp %s, want %s", i+1, got, w)
		}
	}
}

// xmllint returns the xmllint binary (Debian libxml2-utils).
func xmllint(t *testing.T) string {
	t.Helper()
	return tool(t, "xmllint", "make xmllint installs libxml2-utils", "ODM SCHEMA VALIDATION", "the ODM schema validation")
}

// tool returns the binary name. Without it the test fails in CI
// (environment CI set, as .ci/run does) and is skipped elsewhere: make
// test installs it first (install says how), so the skip only happens
// outside it. check names what is skipped.
func tool(t *testing.T, name, install, check, what string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: %s cannot run in CI (%s)", name, what, install)
		}
		t.Skipf("%s SKIPPED: %s is not installed (%s; with CI set this fails)", check, name, install)
	}
	return p
}

// odmSchema is the CDISC ODM 1.3.2 schema vendored in testdata/odm1.3.2
// (unmodified; see its NOTICE.md).
func odmSchema(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("testdata", "odm1.3.2", "ODM1-3-2.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func validateODM(t *testing.T, data []byte) {
	t.Helper()
	lint, schema := xmllint(t), odmSchema(t)
	path := filepath.Join(t.TempDir(), "export.xml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, "--noout", "--nonet", "--schema", schema, path).CombinedOutput()
	if err != nil {
		t.Fatalf("ODM export does not validate against %s: %v\n%s", schema, err, out)
	}
}

func TestODMValidates(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	// An amendment after unlocking would add a protocol version; the locked
	// export has one. Export at the lock height and, not locked, at an
	// earlier height.
	for _, tc := range []struct {
		h     int64
		basis string
	}{{h, export.BasisLock}, {h - 3, export.BasisNotLocked}} {
		r, opt := source(c, tc.h)
		data, _ := run(t, formats[2], r, opt)
		validateODM(t, data)
		s := string(data)
		for _, w := range []string{`FileType="Transactional"`, `Archival="Yes"`, `ODMVersion="1.3.2"`, `<SourceID>`, `<ReasonForChange>transcription error`,
			`<Signature ID="SIG.1">`, `<SignatureRef SignatureOID="SD.approval"/>`, "data query 1 on S1-001 SCR/1 VS VS.SYSBP, status closed", "step 2 de-verify", `TransactionType="Remove"`, `<SiteRef LocationOID="site1"/>`, "Kopfschmerz &amp; &quot;Übelkeit&quot; &lt;3&gt; -- ok",
			"<Annotations>", "delegation log: principal investigator of site site1; step 1 activate Dr. Demo Investigator (site1-investigator) by Demo Data Manager",
			"delegation log: site site1, Demo Study Coordinator (site1-coordinator); step 1 delegate [enroll, entry, answer]",
			"CreationDateTime=\"" + opt.Block.Time.Format("2006-01-02T15:04:05Z") + "\"", "form/" + study + "/S1-001/SCR/0001/VS\t"} {
			if !strings.Contains(s, w) {
				t.Errorf("height %d: ODM lacks %q", tc.h, w)
			}
		}
		if !strings.Contains(s, "Height basis: "+tc.basis) || (tc.basis == export.BasisNotLocked) != strings.Contains(s, "WARNING: study") {
			t.Error("a not-locked export does not say so")
		}
	}
}

// TestODMAmended exports a study with two protocol versions: two
// MetaDataVersions, still valid.
func TestODMAmended(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), apptest.VS(120, 80)))
	p2 := apptest.Example()
	p2.Study.Version = "2.0"
	p2.Forms[2].Groups[0].Items = append(p2.Forms[2].Groups[0].Items, protocol.Item{OID: "VS.NOTE", Label: "Note", Type: protocol.TypeText})
	amend := apptest.AmendMsg(p2, "add a note")
	amend.ProposeAmendment.Migrate = []string{"VS"} // the note may be added to forms entered before
	c.MustDo("sponsor-dm", amend)
	c.MustDo("regulator-auditor", apptest.ApproveMsg(study, 1))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(apptest.FormKey("S1-001", "SCR", 1, "VS"), "note", apptest.V("VS.NOTE", "after amendment")))
	r, opt := source(c, c.Height)
	data, _ := run(t, formats[2], r, opt)
	if n := strings.Count(string(data), "<MetaDataVersion "); n != 2 {
		t.Fatalf("%d MetaDataVersions", n)
	}
	validateODM(t, data)
	x, _ := run(t, formats[0], r, opt)
	f, err := excelize.OpenReader(bytes.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("VS")
	if !strings.Contains(strings.Join(rows[0], ","), "VS.NOTE") || !strings.Contains(strings.Join(rows[2], ","), "after amendment") {
		t.Errorf("VS sheet %v", rows)
	}
}

func TestRefusals(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	r, opt := source(c, c.Height)
	var buf bytes.Buffer
	opt.Study = "NOPE"
	if _, err := export.WriteXLSX(context.Background(), r, opt, &buf); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unknown study: %v", err)
	}
	opt.Study = "bad/id"
	if _, err := export.WriteODM(context.Background(), r, opt, &buf); err == nil {
		t.Error("invalid study ID accepted")
	}
	opt.Study, opt.Block.Height = study, 0
	if _, err := export.WriteCSVZip(context.Background(), r, opt, &buf); err == nil {
		t.Error("height 0 accepted")
	}
	// A reader of another height is refused.
	opt.Block.Height = c.Height
	if _, err := export.WriteCSVZip(context.Background(), client.NewReader(c.App.TrustedQuery, c.Height-1, nil), opt, &buf); err == nil || !strings.Contains(err.Error(), "not the exported height") {
		t.Errorf("reader of another height: %v", err)
	}
	// A corrupt record is an error, not a panic.
	mem := client.MemQuery(5, map[string][]byte{
		string(types.KeyStudy(study)):       []byte(`{"id":"` + study + `","current":1}`),
		string(types.KeyProtocol(study, 1)): []byte(`{"number":1,`),
	})
	opt.Block.Height = 5
	if _, err := export.WriteXLSX(context.Background(), client.NewReader(mem, 5, nil), opt, &buf); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Errorf("corrupt record: %v", err)
	}
}

// TestDigestRecords checks the dataset digest against its definition, in
// any order of the records.
func TestDigestRecords(t *testing.T) {
	d1, _ := export.DigestRecords([]types.ListEntry{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}})
	d2, _ := export.DigestRecords([]types.ListEntry{{Key: "b", Value: []byte("2")}, {Key: "a", Value: []byte("1")}})
	d3, _ := export.DigestRecords([]types.ListEntry{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("3")}})
	h1 := sha256.Sum256([]byte("1"))
	h2 := sha256.Sum256([]byte("2"))
	line := "a\t" + hex.EncodeToString(h1[:]) + "\nb\t" + hex.EncodeToString(h2[:]) + "\n"
	want := sha256.Sum256([]byte(line))
	if d1 != d2 || d1 == d3 || d1 != hex.EncodeToString(want[:]) {
		t.Errorf("digests %s %s %s", d1, d2, d3)
	}
}

// TestSheetContinuation splits a table longer than a sheet onto
// continuation sheets.
func TestSheetContinuation(t *testing.T) {
	data, sum := continuedWorkbook(t)
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range f.GetSheetList() {
		if strings.HasPrefix(s, "Audit trail") {
			rows, _ := f.GetRows(s)
			n += len(rows) - 2
		}
	}
	if idx, _ := f.GetSheetIndex("Audit trail (2)"); idx < 0 || int64(n) != sum.Audit {
		t.Errorf("audit rows %d over sheets %v, want %d", n, f.GetSheetList(), sum.Audit)
	}
	// Read back: the record list continues on "Records (2)" ..., each
	// entry at its sheet and row; continuation sheets keep their role.
	back, err := export.Parse(export.FormatXLSX, data)
	if err != nil {
		t.Fatal(err)
	}
	var refs []export.RecordRef
	m, err := back.Manifest(func(r export.RecordRef) error {
		refs = append(refs, r)
		return nil
	})
	if err != nil || m.Records != sum.Records || m.ListDigest != sum.Digest || len(refs) <= 40 {
		t.Fatalf("manifest of a continued list: %v %+v", err, m)
	}
	for i, r := range refs {
		want := "Records"
		if part := i / 20; part > 0 {
			want = fmt.Sprintf("Records (%d)", part+1)
		}
		if r.Table != want || r.Row != i%20+3 {
			t.Fatalf("record %d located at %s row %d, want %s row %d", i, r.Table, r.Row, want, i%20+3)
		}
	}
	tables, err := back.Tables()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]export.Role{}
	for _, tb := range tables {
		roles[tb.Name] = tb.Role
	}
	if roles["Audit trail (2)"] != export.RoleAuditTrail || roles["Provenance"] != export.RoleProvenance || roles["Signatures"] != export.RoleSignatures || roles["VS"] != export.RoleData {
		t.Errorf("roles %v", roles)
	}
}

// TestReadManifest reads the provenance and record list back from every
// format: the list has every exported record and recomputes the digest.
func TestReadManifest(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	recs := allRecords(t, c, h)
	dir := t.TempDir()
	r, opt := source(c, h)
	paths := map[string]string{}
	for _, f := range formats {
		data, _ := run(t, f, r, opt)
		p := filepath.Join(dir, "export."+f.name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[f.name] = p
	}
	csvDir := filepath.Join(dir, "csv")
	if err := os.Mkdir(csvDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := export.WriteCSVDir(context.Background(), r, opt, csvDir); err != nil {
		t.Fatal(err)
	}
	paths["csv dir"] = csvDir
	for name, p := range paths {
		var refs []export.RecordRef
		m, err := export.ReadManifest(p, func(ref export.RecordRef) error {
			refs = append(refs, ref)
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m.Digest == "" || m.Digest != m.ListDigest || m.Height != h || m.Study != study || m.ChainID != apptest.ChainID ||
			m.Basis != export.BasisLock || m.AppHash != opt.Block.AppHash || m.Records != int64(len(recs)) {
			t.Errorf("%s: manifest %+v", name, m)
		}
		for i, ref := range refs {
			sum := sha256.Sum256(recs[i].Value)
			if ref.Key != recs[i].Key || ref.ValueSHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: record %d is %+v, want %s", name, i, ref, recs[i].Key)
				break
			}
		}
		// Each entry is located where docs/EXPORT.md lays the list out.
		first, last := refs[0], refs[len(refs)-1]
		want := map[string][2]any{"xlsx": {"Records", 3}, "csv.zip": {"records.csv", 2}, "csv dir": {"records.csv", 2}, "dataset-json.zip": {"records.json", 5}, "pdf.zip": {"records.csv", 2}}[name]
		switch {
		case name == "odm.xml":
			if first.Table != "ODM (records comment)" || first.Row < 10 || last.Row != first.Row+len(refs)-1 {
				t.Errorf("%s: list from %+v to %+v", name, first, last)
			}
		case first.Table != want[0] || first.Row != want[1] || last.Row != want[1].(int)+len(refs)-1:
			t.Errorf("%s: list from %+v to %+v", name, first, last)
		}
	}
	// A changed record list no longer matches the digest.
	odm, _ := os.ReadFile(paths["odm.xml"])
	bad := bytes.Replace(odm, []byte("org/site1\t"), []byte("org/site1x\t"), 1)
	p := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := export.ReadManifest(p, nil); err != nil || m.ListDigest == m.Digest {
		t.Errorf("tampered list: %v %+v", err, m)
	}
}

// TestEmptyStudy exports a study with no subjects yet: every format, a
// valid ODM file, headers only.
func TestEmptyStudy(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	r, opt := source(c, c.Height)
	for _, f := range formats {
		data, sum := run(t, f, r, opt)
		if sum.Subjects != 0 || sum.Forms != 0 || sum.Records == 0 || sum.Basis != export.BasisNotLocked {
			t.Errorf("%s: %+v", f.name, sum)
		}
		if f.name == "odm.xml" {
			validateODM(t, data)
		}
		// Read back as the format it is, with no subject to tell it by.
		p := filepath.Join(t.TempDir(), "export")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(strings.TrimSuffix(f.name, ".zip"), ".xml")
		if g, err := export.Open(p); err != nil || g.Format != want {
			t.Errorf("%s read back: %+v, %v", f.name, g, err)
		}
	}
}

// TestProgress: each pass reports one total and ends at it; the records
// pass's is known only at its end.
func TestProgress(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	for _, f := range formats {
		type report struct{ done, total int64 }
		got := map[string][]report{}
		var phases []string
		opt.Progress = func(phase string, done, total int64) {
			if len(phases) == 0 || phases[len(phases)-1] != phase {
				phases = append(phases, phase)
			}
			got[phase] = append(got[phase], report{done, total})
		}
		_, sum := run(t, f, r, opt)
		if strings.Join(phases, ",") != "records,data" {
			t.Errorf("%s: phases %v", f.name, phases)
		}
		recs := got["records"]
		if last := recs[len(recs)-1]; last.done != sum.Records || last.total != sum.Records {
			t.Errorf("%s: records pass ends at %d/%d, want %d/%d", f.name, last.done, last.total, sum.Records, sum.Records)
		}
		for _, p := range recs[:len(recs)-1] {
			if p.total != 0 {
				t.Errorf("%s: records pass reports a total (%d) before the listing ends", f.name, p.total)
			}
		}
		data := got["data"]
		total := data[0].total
		if total <= 0 || total >= sum.Records {
			t.Errorf("%s: data pass total %d of %d records", f.name, total, sum.Records)
		}
		for _, p := range data {
			if p.total != total || p.done > total {
				t.Errorf("%s: data pass reports %d/%d after a total of %d", f.name, p.done, p.total, total)
			}
		}
		if last := data[len(data)-1]; last.done != total {
			t.Errorf("%s: data pass ends at %d/%d", f.name, last.done, total)
		}
	}
}
