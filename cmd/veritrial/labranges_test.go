package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// TestLabRangesOnARealNode registers reference ranges from YAML and CSV,
// shows them, enters a laboratory form with values outside them, and
// assesses the flags through a running node.
func TestLabRangesOnARealNode(t *testing.T) {
	t.Parallel()
	work, _, env, _ := devNode(t)
	const study = "VT-HTN-201"
	icf := exampleStudy(t, env, work)
	mustVT(t, env, "subject", "enroll", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001", "--consent-version", "1.0", "--consent-file", icf)
	mustVT(t, env, "form", "submit", "--from", "site1-coordinator", "--study", study, "--subject", "S1-001", "--event", "SCR", "--form", "DM",
		"DM.CONSDT=2026-01-05", "DM.AGE=54", "DM.SEX=2", "DM.CBP=0", "DM.HEIGHT=170.0", "DM.WEIGHT=70.0", "DM.SMOKE=1")

	yml := filepath.Join(work, "ranges.yaml")
	writeFile(t, yml, `sex_item: DM.SEX
age_item: DM.AGE
ranges:
  - {item: LB.HGB, sex: "2", low: "12.0", high: "15.5", unit: g/dL}
  - {item: LB.ALT, age_max: 64, high: "40", unit: U/L}
`)
	set := []string{"labranges", "set", "--study", study, "--reason", "central laboratory ranges"}
	failVT(t, env, exitRejected, "only sponsor organisations may register reference ranges for lab items", append(set, "--from", "site1-investigator", yml)...)
	if r := mustVT(t, env, append(set, "--from", "sponsor-dm", yml)...); !strings.Contains(r.stdout, "Registered version 1 of the reference-range table of study VT-HTN-201 (2 ranges)") {
		t.Errorf("labranges set:\n%s", r.stdout)
	}
	csvFile := filepath.Join(work, "ranges.csv")
	writeFile(t, csvFile, "item,sex,age_min,age_max,low,high,unit\nLB.HGB,2,,,12.0,15.5,g/dL\nLB.ALT,,,64,,40,U/L\nLB.ALT,,65,,,35,U/L\n")
	if r := mustVT(t, env, append(set, "--from", "sponsor-dm", "--sex-item", "DM.SEX", "--age-item", "DM.AGE", csvFile)...); !strings.Contains(r.stdout, "Registered version 2") {
		t.Errorf("labranges set from CSV:\n%s", r.stdout)
	}
	bad := filepath.Join(work, "bad.csv")
	writeFile(t, bad, "item,low,high\nLB.K,5.5,3.5\n")
	failVT(t, env, exitInput, "range 1 (LB.K: 5.5 to 3.5): low 5.5 is above high 3.5", append(set, "--from", "sponsor-dm", bad)...)
	writeFile(t, bad, "item,low,high,colour\nLB.K,3.5,5.5,red\n")
	failVT(t, env, exitInput, `row 2: unknown column "colour"`, append(set, "--from", "sponsor-dm", bad)...)
	writeFile(t, bad, "item,low,high\nLB.DATE,1,2\n")
	failVT(t, env, exitRejected, "code 330 (invalid_lab_ranges)", append(set, "--from", "sponsor-dm", bad)...)

	r := mustVT(t, env, "labranges", "show", "--from", "site1-investigator", "--study", study, "--prove")
	for _, want := range []string{"version 2 (in force)", "sex item: DM.SEX; age item: DM.AGE", "LB.ALT", "0-64", "65+", "at most 35 U/L", "Proof: verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("labranges show lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := mustVT(t, env, "labranges", "show", "--from", "sponsor-dm", "--study", study, "--version", "1"); !strings.Contains(r.stdout, "version 1 (replaced; version 2 is in force)") {
		t.Errorf("labranges show --version 1:\n%s", r.stdout)
	}

	key := []string{"--study", study, "--subject", "S1-001", "--event", "SCR", "--form", "LB"}
	mustVT(t, env, append(append([]string{"form", "submit", "--from", "site1-coordinator"}, key...), "LB.DATE=2026-01-20", "LB.HGB=16.0", "LB.ALT=45", "LB.K=4.2")...)
	show := append([]string{"show", "form", "--from", "site1-investigator"}, key...)
	r = mustVT(t, env, show...)
	for _, want := range []string{"Lab values outside their reference range:", "LB.HGB", "12.0 to 15.5 g/dL (table 2)", "HIGH", "needs assessment"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show form lacks %q:\n%s", want, r.stdout)
		}
	}
	assess := append([]string{"form", "assess", "--from", "site1-investigator"}, key...)
	failVT(t, env, exitRejected, "code 530 (no_lab_flag)", append(assess, "--item", "LB.K", "--version", "1", "--significant", "no")...)
	failVT(t, env, exitRejected, "code 420 (form_changed)", append(assess, "--item", "LB.ALT", "--version", "2", "--significant", "no")...)
	failVT(t, env, exitUsage, "--significant is yes or no", append(assess, "--item", "LB.ALT", "--version", "1", "--significant", "maybe")...)
	failVT(t, env, exitRejected, "may not assess the clinical significance", append([]string{"form", "assess", "--from", "site1-coordinator", "--item", "LB.ALT", "--version", "1", "--significant", "no"}, key...)...)
	if r := mustVT(t, env, append(assess, "--item", "LB.ALT", "--version", "1", "--significant", "yes", "--comment", "adverse event 1 reported")...); !strings.Contains(r.stdout, "Assessed LB.ALT of form LB (version 1) of subject S1-001 at SCR: clinically significant") {
		t.Errorf("form assess:\n%s", r.stdout)
	}
	mustVT(t, env, append(assess, "--item", "LB.HGB", "--version", "1", "--significant", "no")...)
	r = mustVT(t, env, show...)
	for _, want := range []string{"clinically significant (form version 1", "adverse event 1 reported", "not clinically significant (form version 1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show form after the assessments lacks %q:\n%s", want, r.stdout)
		}
	}
	// A correction of ALT asks for its assessment again.
	mustVT(t, env, append(append([]string{"form", "correct", "--from", "site1-coordinator", "--reason", "transcription error"}, key...), "LB.ALT=48")...)
	r = mustVT(t, env, show...)
	if !strings.Contains(r.stdout, "needs assessment again (the value changed in version 2)") || !strings.Contains(r.stdout, "not clinically significant (form version 1") {
		t.Errorf("show form after the correction:\n%s", r.stdout)
	}
	r = mustVT(t, env, "show", "subject", "--from", "site1-investigator", "--study", study, "--subject", "S1-001")
	if !strings.Contains(r.stdout, "Lab values to assess on LB at SCR (repeat 1), version 2: LB.ALT\n") {
		t.Errorf("show subject after the correction:\n%s", r.stdout)
	}
	var doc struct {
		Form        types.FormRecord       `json:"form"`
		Assessments []types.LabAssessments `json:"lab_assessments"`
	}
	decode(t, mustVT(t, env, append(show, "--output", "json")...), &doc)
	if len(doc.Form.LabFlags) != 2 || doc.Form.LabFlags[1].Item != "LB.ALT" || doc.Form.LabFlags[1].Since != 2 || len(doc.Assessments) != 2 || doc.Assessments[0].Item != "LB.ALT" || doc.Assessments[0].For(doc.Form.LabFlags[1]) != nil {
		t.Errorf("show form --output json: %+v", doc)
	}
}

func TestDecodeLabRanges(t *testing.T) {
	for _, tc := range []struct {
		name, ext, data string
		want            string // the decoded ranges printed, or the error
	}{
		{"yaml", ".yaml", "sex_item: DM.SEX\nranges:\n  - {item: LB.HGB, sex: \"2\", low: \"12.0\", high: \"15.5\", unit: g/dL}\n", "LB.HGB sex 2: 12.0 to 15.5 g/dL"},
		{"yaml unknown field", ".yml", "ranges:\n  - {item: LB.K, hi: \"5\"}\n", "field hi not found"},
		{"json", ".json", `{"age_item":"DM.AGE","ranges":[{"item":"LB.ALT","age_min":65,"high":"35"}]}`, "LB.ALT age 65+: at most 35"},
		{"json unknown field", ".JSON", `{"ranges":[],"labs":1}`, `unknown field "labs"`},
		{"csv", ".csv", "Item, age_min ,age_max,low,high\nLB.ALT,18,64,,40\nLB.K,,,3.5,5.1\n", "LB.ALT age 18-64: at most 40; LB.K: 3.5 to 5.1"},
		{"csv bad age", ".csv", "item,age_min,high\nLB.ALT,adult,40\n", `row 2: age_min "adult" is not a whole number of years`},
		{"csv ragged", ".csv", "item,high\nLB.ALT\n", "wrong number of fields"},
		{"csv empty", ".csv", "", "the file is empty"},
	} {
		tab, err := decodeLabRanges([]byte(tc.data), tc.ext)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			var parts []string
			for _, r := range tab.Ranges {
				parts = append(parts, r.String())
			}
			got = strings.Join(parts, "; ")
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
