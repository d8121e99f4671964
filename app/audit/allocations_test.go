package audit

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/veritrial/veritrial/app/allocation"
	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
)

// TestCheckExportAllocations: an export carries the allocation list, each
// entry's subject and, once published, its arm checked against the
// commitment; verify-export finds an arm changed in the file.
func TestCheckExportAllocations(t *testing.T) {
	c := apptest.New(t)
	c.SetupStudy()
	const stratum = "site1+SBP-LT160"
	l, err := allocation.Generate(apptest.StudyID, apptest.Example().Randomization.AllStrata([]string{"site1"}), []string{"ARM.PBO", "ARM.LOW", "ARM.HIGH"}, 6, 6, sha256.Sum256([]byte("seed")))
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	for _, e := range l.Entries(stratum) {
		commits = append(commits, e.Commitment())
	}
	c.MustDo("sponsor-stat", apptest.RegisterAllocationsMsg(stratum, 1, commits...))
	for _, s := range []string{"S1-001", "S1-002"} {
		c.MustDo("site1-coordinator", apptest.EnrollMsg(s, "site1"))
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "DM"), apptest.DM()))
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "IE"), apptest.IE(true)))
		c.MustDo("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(s, "SCR", 1, "VS"), apptest.VS(150, 80)))
		c.MustDo("site1-coordinator", apptest.RandomizeMsg(s))
	}
	c.MustDo("site1-investigator", apptest.UnblindMsg("S1-001", "anaphylaxis"))
	first, _ := l.Entry(stratum, 1)
	c.MustDo("sponsor-stat", apptest.PublishMsg(first.Reveal()))

	dir := t.TempDir()
	file, block := exportAt(t, c, "xlsx", dir)
	ctx := context.Background()
	rep, err := CheckExport(ctx, file, c.App.TrustedQuery, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("genuine export: %+v", rep.Differences)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cell := func(name string, seq int) (string, string) {
		sh, row, col := findCell(t, f, name, string(types.KeyRandEntry(apptest.StudyID, stratum, seq)))
		v, _ := f.GetCellValue(sh, col+strconv.Itoa(row))
		return col + strconv.Itoa(row), v
	}
	for _, w := range []struct {
		seq                      int
		subject, arm, check, who string
	}{{1, "S1-001", first.Arm, "verified", "site1-investigator"}, {2, "S1-002", "", "sealed", ""}, {3, "", "", "sealed", ""}} {
		_, subject := cell("subject", w.seq)
		_, arm := cell("arm", w.seq)
		_, check := cell("check", w.seq)
		_, who := cell("unblinded_by", w.seq)
		if subject != w.subject || arm != w.arm || check != w.check || who != w.who {
			t.Errorf("entry %d: subject %q arm %q check %q unblinded by %q, want %+v", w.seq, subject, arm, check, who, w)
		}
	}
	at, _ := cell("arm", 1)
	other := map[bool]string{true: "ARM.LOW", false: "ARM.PBO"}[first.Arm == "ARM.PBO"]
	must(t, f.SetCellValue("Allocations", at, other))
	bad := filepath.Join(dir, "tampered.xlsx")
	must(t, f.SaveAs(bad))
	f.Close()
	rep, err = CheckExport(ctx, bad, c.App.TrustedQuery, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || rep.Differences[0].Sheet != "Allocations" || rep.Differences[0].Kind != "changed value" || rep.Differences[0].File != other {
		t.Errorf("tampered arm: %+v", rep.Differences)
	}
}
