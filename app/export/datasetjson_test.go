package export_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/export"
)

// datasetJSONSchema compiles the CDISC Dataset-JSON v1.1 schema vendored
// in testdata/datasetjson (unmodified; see its NOTICE.md).
func datasetJSONSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join("testdata", "datasetjson", "dataset.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// dsjColumn and dsjDataset are what the test reads of a dataset.
type dsjColumn struct {
	ItemOID, Name, Label, DataType, TargetDataType string
	KeySequence                                    int
}

type dsjDataset struct {
	DatasetJSONVersion, FileOID, StudyOID, MetaDataVersionOID, ItemGroupOID, Name, Label string
	DatasetJSONCreationDateTime                                                          string
	Records                                                                              int
	Columns                                                                              []dsjColumn
	Rows                                                                                 [][]any
}

// TestDatasetJSON exports the scenario as Dataset-JSON: every file
// validates against the published v1.1 schema, a form's dataset carries
// its items' metadata from the protocol, integers are JSON numbers,
// decimals exact strings, blanks null, and the exported values and the
// record list are those of the CSV export.
func TestDatasetJSON(t *testing.T) {
	c := apptest.New(t)
	h := scenario(t, c)
	r, opt := source(c, h)
	data, sum := run(t, formats[3], r, opt)
	sch := datasetJSONSchema(t)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	csvData, _ := run(t, formats[1], r, opt)
	cz, err := zip.NewReader(bytes.NewReader(csvData), int64(len(csvData)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(cz.File) {
		t.Errorf("%d datasets for %d CSV tables", len(zr.File), len(cz.File))
	}
	sets := map[string]dsjDataset{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		raw, _ := io.ReadAll(rc)
		rc.Close()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not validate against the Dataset-JSON v1.1 schema: %v", zf.Name, err)
		}
		var ds dsjDataset
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&ds); err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if ds.Records != len(ds.Rows) || ds.DatasetJSONVersion != export.DatasetJSONVersion || ds.StudyOID != study ||
			ds.DatasetJSONCreationDateTime != opt.Block.Time.Format("2006-01-02T15:04:05Z") || !strings.HasPrefix(ds.FileOID, export.FileOID(apptest.ChainID, study, h)) {
			t.Errorf("%s: dataset metadata %+v", zf.Name, ds)
		}
		sets[zf.Name] = ds
	}
	vs := sets["form_VS.json"]
	if vs.ItemGroupOID != "F.VS" || vs.Name != "VS" || vs.MetaDataVersionOID != "MDV.1" {
		t.Errorf("VS dataset %+v", vs)
	}
	col := map[string]int{}
	for i, c := range vs.Columns {
		col[c.Name] = i
	}
	for name, want := range map[string]dsjColumn{
		"subject":   {ItemOID: "F.VS.subject", Name: "subject", Label: "Subject", DataType: "string", KeySequence: 1},
		"VS.HR":     {ItemOID: "I.VS.HR", Name: "VS.HR", Label: "Heart rate (bpm)", DataType: "integer"},
		"VS.WEIGHT": {ItemOID: "I.VS.WEIGHT", Name: "VS.WEIGHT", Label: "Weight (kg)", DataType: "decimal", TargetDataType: "decimal"},
		"height":    {ItemOID: "F.VS.height", Name: "height", Label: "Block height", DataType: "integer"},
	} {
		i, ok := col[name]
		if !ok || vs.Columns[i] != want {
			t.Errorf("VS column %s: %+v, want %+v", name, vs.Columns, want)
		}
	}
	byKey := map[string][]any{}
	for _, row := range vs.Rows {
		byKey[row[col["subject"]].(string)] = row
	}
	s1 := byKey["S1-001"]
	if s1 == nil || s1[col["VS.HR"]] != json.Number("71") || s1[col["VS.WEIGHT"]] != "80.2" {
		t.Errorf("S1-001 VS row %v", s1)
	}
	if s1[col["row"]] != nil {
		t.Errorf("blank row number is %v, want null", s1[col["row"]])
	}
	ae := sets["form_AE.json"]
	if ae.Records != 2 || !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(strings.Trim(strings.Join(anyStrings(ae.Rows[0]), "|"), "|"), "\n", " ")), " "), `Kopfschmerz & "Übelkeit" <3> -- ok`) {
		t.Errorf("AE rows %v", ae.Rows)
	}
	if dev := sets["protocol_deviations.json"]; dev.Records != 4 || dev.Name != "protocol_deviations" || dev.Label != "Protocol deviations" {
		t.Errorf("protocol deviations dataset: %d records, name %q, label %q", dev.Records, dev.Name, dev.Label)
	}
	if got := int64(sets["records.json"].Records); got != sum.Records {
		t.Errorf("records.json has %d rows, want %d", got, sum.Records)
	}

	// Read back, every dataset holds the values of its CSV table.
	got, err := export.Parse(export.FormatDatasetJSON, data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := export.Parse(export.FormatCSV, csvData)
	if err != nil {
		t.Fatal(err)
	}
	if got.Field(export.FieldDigest) != sum.Digest || got.ProvenanceTable() != "provenance.json" {
		t.Errorf("provenance read back: %v", got.Fields)
	}
	gt, err := got.Tables()
	if err != nil {
		t.Fatal(err)
	}
	wt, err := want.Tables()
	if err != nil {
		t.Fatal(err)
	}
	for i := range wt {
		g, w := gt[i], wt[i]
		if g.Name != strings.TrimSuffix(w.Name, ".csv")+".json" || g.Role != w.Role {
			t.Errorf("table %d: %s (%s), CSV %s (%s)", i, g.Name, g.Role, w.Name, w.Role)
			continue
		}
		gd, wd := g.Rows[g.HeaderRows:], w.Rows[w.HeaderRows:]
		if strings.Join(g.Rows[0], "|") != strings.Join(w.Rows[0], "|") || len(gd) != len(wd) {
			t.Errorf("%s: %d rows, CSV %d", g.Name, len(gd), len(wd))
			continue
		}
		for j := range wd {
			if strings.Join(gd[j], "\x1f") != strings.Join(wd[j], "\x1f") {
				t.Errorf("%s row %d: %q, CSV %q", g.Name, j+1, gd[j], wd[j])
			}
		}
	}
}

func anyStrings(r []any) []string {
	out := make([]string, len(r))
	for i, v := range r {
		if s, ok := v.(string); ok {
			out[i] = s
		}
	}
	return out
}
