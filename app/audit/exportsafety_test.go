package audit

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// TestCheckExportSafety: the export carries the consent history, the
// withdrawals and the serious adverse event records, in the record list
// and in their tables, and verify-export finds an altered clock or
// consent version.
func TestCheckExportSafety(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-001", "site1"))
	c.MustDo("site1-coordinator", apptest.EnrollMsg("S1-002", "site1"))
	ae := apptest.FormKey("S1-001", "W4", 1, "AE")
	c.MustDo("site1-coordinator", apptest.SubmitMsg(ae, apptest.SeriousAE(2, 1)))
	c.MustDo("site1-coordinator", apptest.CorrectMsg(ae, "outcome known", protocol.ItemValue{Item: "AE.OUT", Repeat: 1, Value: "2"}, protocol.ItemValue{Item: "AE.OUT", Repeat: 2, Value: "2"}))
	c.MustDo("sponsor-mm", types.Msg{AcknowledgeSAE: &types.MsgAcknowledgeSAE{FormKey: ae, Row: 1, Comment: "case VT-0001"}})
	for _, k := range []types.WithdrawalKind{types.WithdrawTreatment, types.WithdrawConsent} {
		c.MustDo("site1-coordinator", types.Msg{WithdrawSubject: &types.MsgWithdrawSubject{Study: apptest.StudyID, Subject: "S1-002", Reason: "subject's decision", Kind: k, Date: "2026-01-05"}})
	}
	dir := t.TempDir()
	ctx := context.Background()
	q := c.App.TrustedQuery
	sae1 := string(types.KeySAE(ae, 1))
	for _, f := range []string{"xlsx", "zip"} {
		file, block := exportAt(t, c, f, dir)
		rep, err := CheckExport(ctx, file, q, block, "")
		if err != nil || !rep.OK() || !rep.Identical {
			t.Fatalf("genuine %s export: %v %+v", f, err, rep)
		}
	}
	file, block := exportAt(t, c, "xlsx", dir)
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("Serious adverse events")
	var actions []string
	for _, r := range rows[2:] {
		actions = append(actions, r[0]+" row "+r[5]+" "+r[7]+" v"+r[8])
	}
	if got := strings.Join(actions, "; "); got != "S1-001 row 1 opened v1; S1-001 row 1 follow-up v2; S1-001 row 1 acknowledged v; S1-001 row 2 opened v1; S1-001 row 2 follow-up v2" {
		t.Errorf("SAE rows: %s", got)
	}
	rows, _ = f.GetRows("Consent")
	actions = nil
	for _, r := range rows[2:] {
		actions = append(actions, r[0]+" "+r[3]+" "+r[4]+r[6])
	}
	if got := strings.Join(actions, "; "); got != "S1-001 enrolment consent 1.0; S1-002 enrolment consent 1.0; S1-002 withdrawal treatment; S1-002 withdrawal consent" {
		t.Errorf("consent rows: %s", got)
	}
	sheet, row, col := findCell(t, f, "time_utc", sae1)
	must(t, f.SetCellValue(sheet, col+strconv.Itoa(row), "2026-01-05T09:00:00Z"))
	must(t, f.SetCellValue("Consent", "E4", "2.0")) // S1-002's enrolment consent
	bad := filepath.Join(dir, "tampered.xlsx")
	must(t, f.SaveAs(bad))
	f.Close()
	rep, err := CheckExport(ctx, bad, q, block, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range []string{"Serious adverse events", "Consent"} {
		found := false
		for _, d := range rep.Differences {
			found = found || (d.Sheet == sh && strings.Contains(d.Kind, "changed value"))
		}
		if !found {
			t.Errorf("no changed value on %s in %+v", sh, rep.Differences)
		}
	}
}
