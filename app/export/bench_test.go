package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// genHeight is the height of generated studies.
const genHeight = 900000

// genReader answers the export's queries about a large study it generates
// on demand, one subject at a time, so a benchmark measures the export
// and not a dataset held in memory. Every fifth form has a correction (a
// history version).
type genReader struct {
	static   client.QueryFunc // the records of every size of study
	subjects int
	plan     []genForm
	perSubj  int // item values per subject
	cacheID  int
	cache    map[string][]types.ListEntry // by prefix kind: subj, form, hist
}

type genForm struct {
	event, form string
	values      []protocol.ItemValue
}

func sampleValue(it protocol.Item, cl map[string]*protocol.CodeList, row int) string {
	switch it.Type {
	case protocol.TypeInteger:
		if it.Hard != nil && it.Hard.Min != "" {
			return it.Hard.Min
		}
		return "7"
	case protocol.TypeDecimal:
		if it.Hard != nil && it.Hard.Min != "" {
			return it.Hard.Min
		}
		return "12.5"
	case protocol.TypeDate:
		return "2026-01-20"
	case protocol.TypePartialDate:
		return "2026-01"
	case protocol.TypeDateTime:
		return "2026-01-20T09:30"
	case protocol.TypeTime:
		return "09:30"
	case protocol.TypeYesNo:
		return "1"
	case protocol.TypeChoice, protocol.TypeMultiChoice:
		if l := cl[it.CodeList]; l != nil && len(l.Items) > 0 {
			return l.Items[0].Code
		}
	}
	return fmt.Sprintf("free text %d", row)
}

func newGenReader(subjects, valuesPerSubject int) *genReader {
	p := apptest.Example()
	cl := map[string]*protocol.CodeList{}
	for i := range p.CodeLists {
		cl[p.CodeLists[i].OID] = &p.CodeLists[i]
	}
	forms := map[string]*protocol.Form{}
	for i := range p.Forms {
		forms[p.Forms[i].OID] = &p.Forms[i]
	}
	g := &genReader{subjects: subjects, cacheID: -1}
	for _, ev := range p.Events {
		for _, fo := range ev.Forms {
			if g.perSubj >= valuesPerSubject {
				break
			}
			f := forms[fo]
			var vals []protocol.ItemValue
			for _, gr := range f.Groups {
				rows := 1
				if gr.Repeating {
					rows = 2
				}
				for r := 1; r <= rows; r++ {
					for _, it := range gr.Items {
						rep := 0
						if gr.Repeating {
							rep = r
						}
						vals = append(vals, protocol.ItemValue{Item: it.OID, Repeat: rep, Value: sampleValue(it, cl, r)})
					}
				}
			}
			g.plan = append(g.plan, genForm{event: ev.OID, form: fo, values: vals})
			g.perSubj += len(vals)
		}
	}
	orgs, people := apptest.Consortium()
	recs := map[string][]byte{}
	put := func(k []byte, v any) {
		bz, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		recs[string(k)] = bz
	}
	for _, o := range orgs {
		put(types.KeyOrg(o.ID), o)
	}
	for _, pp := range people {
		put(types.KeyAccount(pp.ID), types.Account{ID: pp.ID, Org: pp.Org, Name: pp.Name, Roles: pp.Roles, PubKey: pp.PubKey(), Status: types.AccountActive})
	}
	fp := apptest.Fingerprint(p)
	put(types.KeyStudy(study), types.Study{ID: study, Sponsor: "sponsor", Title: p.Study.Title, Current: 1, Versions: 1, LockHeight: genHeight})
	put(types.KeyProtocol(study, 1), types.ProtocolVersion{Study: study, Number: 1, Label: p.Study.Version, Fingerprint: fp, Protocol: *p, Effective: stamp(1, "sponsor-dm")})
	put(types.KeySite(study, "site1"), types.Site{Study: study, Org: "site1", Activated: stamp(2, "sponsor-dm")})
	g.static = client.MemQuery(genHeight, recs)
	return g
}

// reader reads the generated study.
func (g *genReader) reader() *client.Reader { return client.NewReader(g.query, genHeight, nil) }

func stamp(h int64, who string) types.Stamp {
	return types.Stamp{Height: h, Time: apptest.Genesis.Add(time.Duration(h) * time.Second).Format("2006-01-02T15:04:05Z"),
		TxHash: fmt.Sprintf("%064X", h), Signer: who, Name: "Cory Coordinator", Org: "site1", Role: types.RoleCoordinator}
}

func subjID(i int) string { return fmt.Sprintf("S1-%05d", i+1) }

// subject generates subject i's records.
func (g *genReader) subject(i int) map[string][]types.ListEntry {
	if i == g.cacheID {
		return g.cache
	}
	id := subjID(i)
	out := map[string][]types.ListEntry{}
	mk := func(kind string, k []byte, v any) {
		bz, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[kind] = append(out[kind], types.ListEntry{Key: string(k), Value: bz})
	}
	base := int64(10 + i*len(g.plan)*2)
	mk("subj", types.KeySubject(study, id), types.Subject{Study: study, ID: id, Site: "site1", ConsentVersion: "1.0", ConsentSHA256: apptest.ConsentSHA256,
		Status: types.SubjectEnrolled, Enrolled: stamp(base, "site1-coordinator")})
	for n, f := range g.plan {
		k := types.FormKey{Study: study, Subject: id, Event: f.event, EventRepeat: 1, Form: f.form}
		rec := types.FormRecord{FormKey: k, Version: 1, ProtocolVersion: 1, Values: f.values, Stamp: stamp(base+int64(n)+1, "site1-coordinator")}
		if n%5 == 0 {
			mk("hist", types.KeyFormHistory(k, 1), rec)
			vals := append([]protocol.ItemValue(nil), f.values...)
			vals[0].Value = vals[0].Value + "0"
			if _, err := strconv.Atoi(vals[0].Value); err != nil {
				vals[0].Value = f.values[0].Value
				vals = vals[1:]
			}
			rec = types.FormRecord{FormKey: k, Version: 2, ProtocolVersion: 1, Values: vals, Changed: []string{f.values[0].Item},
				Reason: "transcription error", Stamp: stamp(base+int64(len(g.plan)+n)+1, "site1-coordinator")}
		}
		mk("form", types.KeyForm(k), rec)
	}
	for _, kind := range []string{"form", "hist"} {
		sort.Slice(out[kind], func(a, b int) bool { return out[kind][a].Key < out[kind][b].Key })
	}
	g.cacheID, g.cache = i, out
	return out
}

func (g *genReader) kind(key string) (string, int, bool) {
	for _, k := range []struct{ kind, prefix string }{{"subj", types.PrefixSubject}, {"form", types.PrefixForm}, {"hist", types.PrefixHistory}} {
		p := k.prefix + study + "/"
		if strings.HasPrefix(key, p) {
			rest := strings.TrimPrefix(key, p)
			if rest == "" {
				return k.kind, 0, true
			}
			id, _, _ := strings.Cut(rest, "/")
			n, err := strconv.Atoi(strings.TrimPrefix(id, "S1-"))
			if err != nil || n < 1 {
				return k.kind, 0, true
			}
			return k.kind, n - 1, true
		}
	}
	return "", 0, false
}

// query answers /key and /list about the generated subjects, their forms
// and form history, and everything else from the static records.
func (g *genReader) query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	switch req.Path {
	case types.QueryKey:
		kind, i, ok := g.kind(string(req.Data))
		if !ok {
			return g.static(ctx, req)
		}
		res := &abci.ResponseQuery{Key: req.Data, Height: genHeight}
		if i < g.subjects {
			for _, e := range g.subject(i)[kind] {
				if e.Key == string(req.Data) {
					res.Value = e.Value
				}
			}
		}
		return res, nil
	case types.QueryList:
		var lr types.ListRequest
		if err := json.Unmarshal(req.Data, &lr); err != nil {
			return nil, err
		}
		kind, one, ok := g.kind(lr.Prefix)
		if !ok {
			return g.static(ctx, req)
		}
		// The whole kind, or one subject's records of it (a casebook's).
		start, end := 0, g.subjects
		if lr.Prefix != map[string]string{"subj": types.PrefixSubject, "form": types.PrefixForm, "hist": types.PrefixHistory}[kind]+study+"/" {
			start, end = one, min(one+1, g.subjects)
		}
		if lr.After != "" {
			_, start, _ = g.kind(lr.After)
		}
		resp := types.ListResponse{Entries: []types.ListEntry{}}
	subjects:
		for i := start; i < end; i++ {
			for _, e := range g.subject(i)[kind] {
				if e.Key <= lr.After || !strings.HasPrefix(e.Key, lr.Prefix) {
					continue
				}
				if len(resp.Entries) == lr.Limit {
					resp.More = true
					break subjects
				}
				resp.Entries = append(resp.Entries, e)
			}
		}
		bz, err := json.Marshal(resp)
		return &abci.ResponseQuery{Value: bz, Height: genHeight}, err
	}
	return g.static(ctx, req)
}

func benchExport(b *testing.B, write func(context.Context, *client.Reader, export.Options, io.Writer) (*export.Summary, error), subjects, values int) {
	g := newGenReader(subjects, values/subjects)
	opt := export.Options{Study: study, Version: "bench", TmpDir: b.TempDir(),
		Block: export.Block{ChainID: "bench", Height: genHeight, Time: apptest.Genesis.Add(genHeight * time.Second), Hash: "AB", AppHash: "CD"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := os.CreateTemp(b.TempDir(), "export-*")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := write(context.Background(), g.reader(), opt, f)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := f.Stat()
		f.Close()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(sum.Values), "values")
		b.ReportMetric(float64(sum.Audit), "audit_rows")
		b.ReportMetric(float64(st.Size())/1e6, "MB_out")
		b.ReportMetric(float64(ms.Sys)/1e6, "MB_sys")
		b.Logf("%d subjects, %d forms, %d values, %d audit rows, %d records: %.1f MB in %s (Go heap sys %.0f MB)",
			sum.Subjects, sum.Forms, sum.Values, sum.Audit, sum.Records, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond), float64(ms.Sys)/1e6)
	}
}

// BenchmarkExportXLSX1M exports 10,000 subjects with 1,000,000 item
// values and their audit trail to Excel. Run it alone under
// /usr/bin/time -v for the peak RSS:
//
//	go test -c -o /tmp/export.test ./app/export
//	/usr/bin/time -v /tmp/export.test -test.run '^$' -test.bench 'ExportXLSX1M' -test.benchtime 1x
func BenchmarkExportXLSX1M(b *testing.B) { benchExport(b, export.WriteXLSX, 10000, 1000000) }

// BenchmarkExportODM1M is BenchmarkExportXLSX1M to CDISC ODM.
func BenchmarkExportODM1M(b *testing.B) { benchExport(b, export.WriteODM, 10000, 1000000) }

// BenchmarkExportCSV1M is BenchmarkExportXLSX1M to a CSV zip.
func BenchmarkExportCSV1M(b *testing.B) { benchExport(b, export.WriteCSVZip, 10000, 1000000) }

// BenchmarkExportDatasetJSON1M is BenchmarkExportXLSX1M to a zip of
// Dataset-JSON files.
func BenchmarkExportDatasetJSON1M(b *testing.B) {
	benchExport(b, export.WriteDatasetJSON, 10000, 1000000)
}

// BenchmarkExportXLSXSmall is a quick run of the same shape.
// BenchmarkExportPDFSite500 writes the casebooks of one site of 500
// subjects (50,000 item values, every fifth form corrected) as a zip.
// Run it alone under /usr/bin/time -v for the peak RSS (as
// BenchmarkExportXLSX1M).
func BenchmarkExportPDFSite500(b *testing.B) {
	benchExport(b, func(ctx context.Context, r *client.Reader, opt export.Options, w io.Writer) (*export.Summary, error) {
		opt.Site = "site1"
		return export.WritePDFZip(ctx, r, opt, w)
	}, 500, 50000)
}

func BenchmarkExportXLSXSmall(b *testing.B) { benchExport(b, export.WriteXLSX, 100, 10000) }

// TestGeneratedODMValidates checks that the generated benchmark dataset
// exports to valid ODM, and that the generator pages correctly.
func TestGeneratedODMValidates(t *testing.T) {
	g := newGenReader(30, 100)
	opt := export.Options{Study: study, Version: "test", TmpDir: t.TempDir(),
		Block: export.Block{ChainID: "bench", Height: genHeight, Time: apptest.Genesis.Add(genHeight * time.Second)}}
	var sb strings.Builder
	sum, err := export.WriteODM(context.Background(), g.reader(), opt, &sb)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Subjects != 30 || sum.Forms != int64(30*len(g.plan)) || sum.Values < 3000 {
		t.Fatalf("summary %+v", sum)
	}
	validateODM(t, []byte(sb.String()))
}

// BenchmarkExportXLSX100k is a tenth of BenchmarkExportXLSX1M.
func BenchmarkExportXLSX100k(b *testing.B) { benchExport(b, export.WriteXLSX, 1000, 100000) }

// realStore builds a chain on a real store (IAVL on disk, every tx through
// FinalizeBlock) with subjects enrolled at site1, each with vital signs at
// six visits and laboratory forms at four (98 values), every tenth form
// corrected. It returns the chain and its height.
func realStore(b *testing.B, subjects int) (*apptest.Chain, int64) {
	c := apptest.NewUnmanaged(b, b.TempDir())
	b.Cleanup(func() { _ = c.App.Close() })
	c.SetupStudy()
	var txs [][]byte
	flush := func() {
		if len(txs) > 0 {
			for _, r := range c.Block(txs...) {
				if r.Code != 0 {
					b.Fatalf("tx rejected: %s", r.Log)
				}
			}
			txs = txs[:0]
		}
	}
	for i := 0; i < subjects; i++ {
		txs = append(txs, c.Tx("site1-coordinator", apptest.EnrollMsg(subjID(i), "site1")))
		if len(txs) == 200 {
			flush()
		}
	}
	flush()
	n := 0
	var corrections [][]byte
	for i := 0; i < subjects; i++ {
		for _, ev := range []string{"SCR", "D1", "W4", "W8", "W12", "FU"} {
			k := apptest.FormKey(subjID(i), ev, 1, "VS")
			txs = append(txs, c.Tx("site1-coordinator", apptest.SubmitMsg(k, apptest.VS(120+i%20, 80))))
			if n++; n%10 == 0 {
				corrections = append(corrections, c.Tx("site1-coordinator", apptest.CorrectMsg(k, "transcription error", apptest.V("VS.HR", "71"))))
			}
		}
		for _, ev := range []string{"SCR", "D1", "W8", "W12"} {
			txs = append(txs, c.Tx("site1-coordinator", apptest.SubmitMsg(apptest.FormKey(subjID(i), ev, 1, "LB"), apptest.LB())))
		}
		if len(txs) >= 200 {
			flush()
		}
	}
	flush()
	txs = corrections
	flush()
	return c, c.Height
}

// BenchmarkExportRealStore exports 1,000 subjects (98,000 values) from a
// real store through ABCI queries (App.TrustedQuery: /list pages and /key
// reads, as over a node's RPC without the HTTP hop, the request signatures
// and the read policy).
func BenchmarkExportRealStore(b *testing.B) {
	c, h := realStore(b, 1000)
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			r := client.NewReader(c.App.TrustedQuery, h, nil)
			opt := export.Options{Study: study, Version: "bench", TmpDir: b.TempDir(),
				Block: export.Block{ChainID: apptest.ChainID, Height: h, Time: apptest.Genesis.Add(time.Duration(h) * time.Second)}}
			for i := 0; i < b.N; i++ {
				start := time.Now()
				sum, err := f.write(context.Background(), r, opt, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: %d subjects, %d forms, %d values, %d audit rows, %d records in %s", f.name, sum.Subjects, sum.Forms, sum.Values, sum.Audit, sum.Records, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
