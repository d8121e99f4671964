package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/entry"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/app/ziplimit"
	"github.com/veritrial/veritrial/protocol"
)

// ledgerView is what both Excel commands read from the ledger at one
// height.
type ledgerView struct {
	cl      *client.Client
	rd      *client.Reader
	version *types.ProtocolVersion
	comp    *protocol.Compiled
}

// readLedger reads the study's protocol version in force at the latest
// height.
func readLedger(ctx context.Context, c *cli.Context, study string) (*ledgerView, error) {
	cl, err := ledgerClient(c)
	if err != nil {
		return nil, err
	}
	rd := cl.Reader(0, false)
	s, err := rd.Study(ctx, study)
	if err != nil {
		return nil, nodeError(err)
	}
	pv, err := rd.ProtocolVersion(ctx, study, s.Current)
	if err != nil {
		return nil, nodeError(err)
	}
	comp, err := protocol.Compile(&pv.Protocol)
	if err != nil {
		return nil, failf("protocol version %d of study %s does not compile: %v", pv.Number, study, err)
	}
	return &ledgerView{cl: cl, rd: rd, version: pv, comp: comp}, nil
}

func formTemplateCommand() *cli.Command {
	return &cli.Command{
		Name:      "template",
		Usage:     "write an Excel data-entry workbook for a site's subjects (site)",
		UsageText: "veritrial form template --from site1-coordinator --study VT-HTN-201 --out entry.xlsx [--event SCR --event D1] [--prefill]",
		Description: `Writes a workbook generated from the protocol version in force: an
Instructions sheet, then one sheet per form the chosen events collect (with
--event, only those events' forms), one row per subject and event where the
form is collected (several rows for repeating groups), three frozen header
rows (item OIDs, labels with units, allowed values) and Excel data
validation (drop-downs for code lists and yes/no, numeric and date
ranges). Where an item allows missing-data codes, a cell takes one instead
of a value (ND, ND=Not done, or either with ": reason"), as row 3 and the
Instructions say. Fill it in Excel or LibreOffice and send it with
veritrial form import.

Subjects are those of --site, else of the --from account's organisation,
else of every site. --prefill writes the values (and missing-data codes)
already on the ledger so a site can correct them in Excel. The workbook
records the block height it was read at (never the clock), so the same
ledger state gives the same file.`,
		Flags: []cli.Flag{
			studyFlag(),
			&cli.StringFlag{Name: "site", Usage: "list the subjects of this site (default: the --from account's organisation, else every site)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "workbook to write (`FILE`.xlsx)", TakesFile: true},
			&cli.StringSliceFlag{Name: "event", Usage: "only rows for this event OID (repeatable)"},
			&cli.BoolFlag{Name: "prefill", Usage: "fill in the values already on the ledger"},
			&cli.IntFlag{Name: "rows", Value: entry.DefaultRepeatRows, Usage: "rows per subject and event for forms with a repeating group"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing file"},
		},
		Action: formTemplate,
	}
}

func formTemplate(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	out := c.String("out")
	if !strings.EqualFold(filepath.Ext(out), ".xlsx") {
		return usageErrorf("--out %q must end in .xlsx", out)
	}
	if err := checkOutFree(out, c.Bool("force")); err != nil {
		return err
	}
	if c.Int("rows") < 1 || c.Int("rows") > protocol.MaxRepeatsLimit {
		return usageErrorf("--rows must be from 1 to %d", protocol.MaxRepeatsLimit)
	}
	site, err := nonEmptyFlag(c, "site")
	if err != nil {
		return err
	}
	if site == "" && globalValue(c, flagFrom, envFrom) != "" {
		if site, err = signerOrg(c); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()
	study := c.String("study")
	lv, err := readLedger(ctx, c, study)
	if err != nil {
		return err
	}
	for _, e := range c.StringSlice("event") {
		if _, ok := lv.comp.Event(e); !ok {
			return usageErrorf("--event %q is not in the schedule of study %s (protocol version %d)", e, study, lv.version.Number)
		}
	}
	all, err := lv.rd.Subjects(ctx, study)
	if err != nil {
		return nodeError(err)
	}
	prefill := c.Bool("prefill")
	var subs []types.Subject
	chosen := map[string]bool{}
	for _, s := range all {
		if site != "" && s.Site != site {
			continue
		}
		if !s.AdmitsNewForm(true) && !prefill {
			continue
		}
		subs = append(subs, s)
		chosen[s.ID] = true
	}
	forms, err := lv.rd.SubjectForms(ctx, study, "")
	if err != nil {
		return nodeError(err)
	}
	var recs []types.FormRecord
	for _, r := range forms {
		if chosen[r.Subject] {
			recs = append(recs, r)
		}
	}
	meta := entry.Meta{Study: study, Site: site, ProtocolVersion: lv.version.Number, ProtocolLabel: lv.version.Label,
		Fingerprint: lv.version.Fingerprint, Height: lv.rd.Height(), Prefilled: prefill}
	var buf bytes.Buffer
	sum, err := entry.WriteTemplate(&buf, lv.comp, entry.TemplateOptions{Meta: meta, Subjects: subs, Records: recs,
		Events: c.StringSlice("event"), RepeatRows: c.Int("rows")})
	if err != nil {
		return failf("cannot build the workbook: %v", err)
	}
	if err := writeFileAtomic(out, buf.Bytes(), 0o644, c.Bool("force")); err != nil {
		return err
	}
	if len(subs) == 0 {
		where := "in study " + study
		if site != "" {
			where = "at site " + site + " " + where
		}
		note(c, "warning: no subject is enrolled %s; the form sheets have headers only", where)
	}
	doc := map[string]any{"file": out, "meta": meta, "subjects": sum.Subjects, "rows": sum.Rows, "sheets": sum.Sheets}
	return emit(c, doc, func(w io.Writer) error {
		who := "every site"
		if site != "" {
			who = "site " + site
		}
		printf(w, "Wrote %s: %d form sheets, %d subjects of %s, %d rows\n", out, len(sum.Sheets), sum.Subjects, who, sum.Rows)
		printf(w, "  study %s, protocol version %d (%s), fingerprint %s, block height %d\n", study, meta.ProtocolVersion, meta.ProtocolLabel, meta.Fingerprint, meta.Height)
		printf(w, "Fill it in, then: veritrial form import %s --from KEY\n", out)
		return nil
	})
}

func formImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "check and send the forms of a filled data-entry workbook (site)",
		ArgsUsage: "WORKBOOK.xlsx",
		UsageText: `veritrial form import entry.xlsx --from site1-coordinator [--reason "source document review"] [--overwrite] [--clear-emptied] [--dry-run]`,
		Description: `Reads every form sheet, checks every row locally with the protocol in force
(subject, event, form, and the protocol's edit checks) and lists all problems
as SHEET!CELL (ITEM): message. When any is hard, nothing is sent.

Then sends: forms not on the ledger yet are submitted; forms already on the
ledger with the same values are skipped, so an interrupted import can simply
be run again; changed forms go in as corrections carrying only the changed
items, each with the reason in its row's REASON column (--reason is the
default; one of them is required). A correction is made from the form
version its rows were pre-filled from (the VERSION column of a workbook made
with form template --prefill): a form that changed on the ledger since, or
whose rows were not pre-filled from it, is refused and the other forms are
sent, so a stale workbook never silently reverts a newer correction;
--overwrite replaces the ledger's values anyway. An emptied cell of a form
on the ledger is a problem unless --clear-emptied says to clear the item; to
record that a value cannot be had, type a missing-data code the item allows
(ND, or ND: reason) in its cell.
Transactions are pipelined; progress goes to stderr. Every form's outcome (tx hash, height,
code, message) is written to --results (default WORKBOOK.results.csv); when
the import stops early, forms never sent are marked unsent and forms sent but
not seen in a block unconfirmed (with their tx hash), both without a code.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reason", Usage: "reason for change of corrections whose REASON cell is empty"},
			&cli.BoolFlag{Name: "overwrite", Usage: "correct forms that changed on the ledger since the workbook was pre-filled (or that it was not pre-filled from)"},
			&cli.BoolFlag{Name: "clear-emptied", Usage: "clear the ledger's value of items whose cells were emptied"},
			&cli.StringFlag{Name: "results", Usage: "results CSV to write (default: next to the workbook, `FILE`.results.csv)", TakesFile: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "check and plan only; send nothing"},
			&cli.StringFlag{Name: "study", Usage: "study ID, for a workbook not made by veritrial form template"},
		},
		Action: formImport,
	}
}

// importRow is one line of the results.
type importRow struct {
	Sheet       string     `json:"sheet"`
	Row         int        `json:"row"`
	Subject     string     `json:"subject"`
	Event       string     `json:"event"`
	EventRepeat int        `json:"event_repeat"`
	Form        string     `json:"form"`
	Action      string     `json:"action"`
	TxHash      string     `json:"tx_hash,omitempty"`
	Height      int64      `json:"height,omitempty"`
	Code        types.Code `json:"code"`
	Message     string     `json:"message,omitempty"`
}

// importSummary is the --output json document of form import.
type importSummary struct {
	Workbook        string          `json:"workbook"`
	Study           string          `json:"study"`
	ProtocolVersion int             `json:"protocol_version"`
	Fingerprint     string          `json:"fingerprint"`
	DryRun          bool            `json:"dry_run"`
	Sent            bool            `json:"sent"`
	DataRows        int             `json:"data_rows"`
	EmptyRows       int             `json:"empty_rows"`
	Forms           int             `json:"forms"`
	Submitted       int             `json:"submitted"`
	Corrected       int             `json:"corrected"`
	Skipped         int             `json:"skipped"`
	Refused         int             `json:"refused"`
	Rejected        int             `json:"rejected"`
	Results         string          `json:"results,omitempty"`
	Problems        []entry.Problem `json:"problems"`
	Rows            []importRow     `json:"rows"`
}

func formImport(c *cli.Context) error {
	if err := exactArgs(c, "WORKBOOK"); err != nil {
		return err
	}
	path := c.Args().First()
	data, err := readInputFile(path, "workbook", ziplimit.Import.Total)
	if err != nil {
		return err
	}
	book, err := entry.Open(bytes.NewReader(data))
	if err != nil {
		return inputErrorf("%s: %v", path, err)
	}
	study, err := nonEmptyFlag(c, "study")
	if err != nil {
		return err
	}
	if study == "" {
		study = book.Meta.Study
	}
	if study == "" {
		return usageErrorf("%s does not say its study (it was not made by veritrial form template): pass --study", path)
	}
	if len(book.Sheets()) == 0 {
		return inputErrorf("%s has no form sheets (cell A1 %s): make the workbook with veritrial form template", path, entry.HeaderSubject)
	}
	results := c.String("results")
	if results == "" {
		results = strings.TrimSuffix(path, filepath.Ext(path)) + ".results.csv"
	}
	reason := strings.TrimSpace(c.String("reason"))
	dry := c.Bool("dry-run")
	account := globalValue(c, flagFrom, envFrom)
	if account == "" && !dry {
		if _, err := fromKey(c); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	lv, err := readLedger(ctx, c, study)
	if err != nil {
		return err
	}
	if book.HasMeta && book.Meta.Study == study && book.Meta.Fingerprint != lv.version.Fingerprint {
		note(c, "warning: %s was made for protocol version %d; checking it against version %d, now in force", path, book.Meta.ProtocolVersion, lv.version.Number)
	}
	subs, err := lv.rd.Subjects(ctx, study)
	if err != nil {
		return nodeError(err)
	}
	forms, err := lv.rd.SubjectForms(ctx, study, "")
	if err != nil {
		return nodeError(err)
	}
	led := entry.Ledger{Subjects: map[string]types.Subject{}, Records: map[types.FormKey]types.FormRecord{}}
	for _, s := range subs {
		led.Subjects[s.ID] = s
	}
	for _, r := range forms {
		led.Records[r.FormKey] = r
	}
	if account != "" {
		a, err := lv.rd.Account(ctx, account)
		if err != nil {
			return nodeError(err)
		}
		led.Site = a.Org
	}

	parsed := book.Parse(lv.comp, study)
	problems := entry.Check(lv.comp, parsed, led)
	steps, planProblems := entry.Plan(lv.comp, parsed, led.Records,
		entry.PlanOptions{Reason: reason, Overwrite: c.Bool("overwrite"), ClearEmptied: c.Bool("clear-emptied")})
	problems = append(problems, planProblems...)
	entry.SortProblems(problems)
	sum := &importSummary{Workbook: path, Study: study, ProtocolVersion: lv.version.Number, Fingerprint: lv.version.Fingerprint,
		DryRun: dry, DataRows: parsed.DataRows, EmptyRows: parsed.EmptyRows, Forms: len(steps), Problems: problems}
	if sum.Problems == nil {
		sum.Problems = []entry.Problem{}
	}
	if entry.HasHard(problems) {
		sum.Rows = []importRow{}
		if isJSON(c) {
			if err := emitJSON(c, sum); err != nil {
				return err
			}
		}
		n := 0
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = "  " + p.String()
			if p.Severity == protocol.Hard {
				n++
			} else {
				lines[i] = "  warning: " + p.String()
			}
		}
		return inputErrorf("%s has %d problem(s); nothing was sent (correct these cells and import again):\n%s", path, n, strings.Join(lines, "\n"))
	}
	for _, p := range problems {
		note(c, "warning: %s", p.String())
	}

	rows := make([]importRow, len(steps))
	for i, st := range steps {
		in := st.Instance
		rows[i] = importRow{Sheet: in.Sheet, Row: in.Row, Subject: in.Key.Subject, Event: in.Key.Event, EventRepeat: in.Key.EventRepeat, Form: in.Key.Form}
		switch st.Action {
		case entry.ActionSkip:
			rows[i].Action = "skipped"
			rows[i].Message = fmt.Sprintf("same values as on the ledger (version %d)", led.Records[in.Key].Version)
		case entry.ActionSubmit:
			rows[i].Action = "submit"
			rows[i].Message = fmt.Sprintf("%d value(s)", len(st.Values))
		case entry.ActionCorrect:
			rows[i].Action = "correct"
			rows[i].Message = "changes " + strings.Join(st.Changed, ", ")
		case entry.ActionRefuse:
			rows[i].Action, rows[i].Code, rows[i].Message = "refused", types.CodeFormChanged, st.Refusal
		}
	}
	if !dry {
		s, err := signer(c)
		if err != nil {
			return err
		}
		sum.Sent = true
		if err := sendSteps(ctx, c, lv.cl, account, s, steps, rows); err != nil {
			markUnsent(rows)
			_ = writeResults(results, rows)
			return err
		}
	} else {
		for i := range rows {
			if rows[i].Action != "skipped" && rows[i].Action != "refused" {
				rows[i].Action = "would " + rows[i].Action
			}
		}
	}
	for _, r := range rows {
		switch r.Action {
		case "submitted":
			sum.Submitted++
		case "corrected":
			sum.Corrected++
		case "skipped":
			sum.Skipped++
		case "rejected":
			sum.Rejected++
		case "refused":
			sum.Refused++
		}
	}
	sum.Rows = rows
	if err := writeResults(results, rows); err != nil {
		return err
	}
	sum.Results = results
	if err := emit(c, sum, func(w io.Writer) error {
		if dry {
			would := map[string]int{}
			for _, r := range rows {
				would[r.Action]++
			}
			printf(w, "Dry run of %s for study %s (protocol version %d): %d to submit, %d to correct, %d skipped, %d refused; nothing was sent\n",
				path, study, lv.version.Number, would["would submit"], would["would correct"], would["skipped"], would["refused"])
		} else {
			printf(w, "Imported %s into study %s (protocol version %d): %d submitted, %d corrected, %d skipped, %d refused, %d rejected\n",
				path, study, lv.version.Number, sum.Submitted, sum.Corrected, sum.Skipped, sum.Refused, sum.Rejected)
		}
		printf(w, "  %d form(s) from %d row(s) with values (%d empty rows skipped); results in %s\n", len(rows), parsed.DataRows, parsed.EmptyRows, results)
		return nil
	}); err != nil {
		return err
	}
	if sum.Rejected > 0 || sum.Refused > 0 {
		var refused []string
		for _, r := range rows {
			if r.Action == "refused" && len(refused) < maxListed {
				refused = append(refused, fmt.Sprintf("\n  refused: %s!A%d: %s", r.Sheet, r.Row, r.Message))
			}
		}
		return rejectedErrorf("%d of %d form(s) were rejected by the ledger and %d refused as changed on the ledger since the workbook was pre-filled; see %s%s",
			sum.Rejected, len(rows), sum.Refused, results, strings.Join(refused, ""))
	}
	return nil
}

// maxListed bounds the refused forms an import's error lists (the results
// file has them all).
const maxListed = 20

// inFlight bounds the transactions broadcast and not yet seen in a block.
const inFlight = 256

// sendSteps sends the submissions and corrections wave by wave. Within a
// wave the transactions are built and broadcast without waiting (each with
// its own nonce), then waited for, at most inFlight at a time; rows gets
// each outcome.
func sendSteps(ctx context.Context, c *cli.Context, cl *client.Client, account string, s types.Signer, steps []entry.Step, rows []importRow) error {
	chain, err := cl.ChainID(ctx)
	if err != nil {
		return nodeError(err)
	}
	bar := newProgress(stderr(c), len(steps))
	var waves []int
	for _, st := range steps {
		if !st.Sends() {
			bar.add(1)
			continue
		}
		if !slices.Contains(waves, st.Wave) {
			waves = append(waves, st.Wave)
		}
	}
	slices.Sort(waves)
	type pending struct {
		i    int
		hash string
	}
	for _, w := range waves {
		h, err := cl.Height(ctx)
		if err != nil {
			return nodeError(err)
		}
		var queue []pending
		wait := func(p pending) error {
			res, err := cl.Wait(ctx, p.hash)
			if err != nil {
				if strings.Contains(err.Error(), "not in a block") {
					rows[p.i].Action, rows[p.i].TxHash, rows[p.i].Message = "rejected", p.hash, err.Error()
					bar.add(1)
					return nil
				}
				return nodeError(err)
			}
			record(&rows[p.i], steps[p.i].Action, res)
			bar.add(1)
			return nil
		}
		for i, st := range steps {
			if st.Wave != w || !st.Sends() {
				continue
			}
			msg := stepMsg(st)
			raw, err := types.BuildTx(chain, account, h+cl.TTL, s, msg)
			if err != nil {
				return failf("cannot sign the transaction for %s row %d: %v", st.Instance.Sheet, st.Instance.Row, err)
			}
			res, err := cl.Broadcast(ctx, raw)
			if err != nil {
				return nodeError(err)
			}
			if !res.OK() {
				record(&rows[i], st.Action, res)
				bar.add(1)
				continue
			}
			rows[i].Action, rows[i].TxHash = actionPending, res.Hash
			queue = append(queue, pending{i, res.Hash})
			if len(queue) >= inFlight {
				if err := wait(queue[0]); err != nil {
					return err
				}
				queue = queue[1:]
			}
		}
		for _, p := range queue {
			if err := wait(p); err != nil {
				return err
			}
		}
	}
	bar.finish()
	return nil
}

// stepMsg is the message of a step.
func stepMsg(st entry.Step) types.Msg {
	if st.Action == entry.ActionCorrect {
		return types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: st.Instance.Key, Changes: st.Values, Reason: st.Reason, BaseVersion: st.BaseVersion}}
	}
	return types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: st.Instance.Key, Values: st.Values}}
}

// record puts a transaction's outcome on its results row.
func record(r *importRow, a entry.Action, res *client.Result) {
	r.TxHash, r.Height, r.Code = res.Hash, res.Height, res.Code
	switch {
	case !res.OK():
		r.Action = "rejected"
		r.Message = fmt.Sprintf("%s: %s", res.Name, res.Log)
	case a == entry.ActionCorrect:
		r.Action = "corrected"
	default:
		r.Action = "submitted"
	}
}

// Actions of results rows without an outcome: broadcast and not yet seen
// in a block, and, after an interrupted import, never sent or never
// confirmed.
const (
	actionPending     = "pending"
	actionUnsent      = "unsent"
	actionUnconfirmed = "unconfirmed"
)

// markUnsent marks the rows an interrupted import left without an outcome:
// planned and never sent (unsent), or broadcast but never seen in a block
// (unconfirmed, with the tx hash to look up).
func markUnsent(rows []importRow) {
	for i := range rows {
		switch rows[i].Action {
		case "submit", "correct":
			rows[i].Action = actionUnsent
			rows[i].Message = "never sent: the import stopped before this form; run it again (forms already on the ledger are skipped)"
		case actionPending:
			rows[i].Action = actionUnconfirmed
			rows[i].Message = "sent, but the import stopped before its block was seen: look the tx hash up, or run the import again (forms already on the ledger are skipped)"
		}
	}
}

// writeResults writes the results CSV (replacing an earlier one). The code
// column is empty for a row without an outcome (unsent, unconfirmed).
func writeResults(path string, rows []importRow) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"sheet", "row", "subject", "event", "event_repeat", "form", "action", "tx_hash", "height", "code", "message"})
	for _, r := range rows {
		h := ""
		if r.Height > 0 {
			h = strconv.FormatInt(r.Height, 10)
		}
		code := strconv.Itoa(int(r.Code))
		if r.Action == actionUnsent || r.Action == actionUnconfirmed {
			code = ""
		}
		_ = w.Write([]string{r.Sheet, strconv.Itoa(r.Row), r.Subject, r.Event, strconv.Itoa(r.EventRepeat), r.Form, r.Action, r.TxHash, h,
			code, r.Message})
	}
	w.Flush()
	return writeFileAtomic(path, b.Bytes(), 0o644, true)
}

// progress is a textual progress bar on stderr: redrawn in place on a
// terminal, a line per tenth otherwise.
type progress struct {
	w           io.Writer
	tty         bool
	total, done int
	tenth       int
	last        time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, tenth: -1}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) line() string {
	const width = 20
	n := 0
	if p.total > 0 {
		n = p.done * width / p.total
	}
	return fmt.Sprintf("[%s%s] %d/%d forms", strings.Repeat("#", n), strings.Repeat("-", width-n), p.done, p.total)
}

func (p *progress) add(n int) {
	if p.total == 0 {
		return
	}
	p.done += n
	if p.tty {
		printf(p.w, "\r%s", p.line())
		return
	}
	t := p.done * 10 / p.total
	if t != p.tenth || time.Since(p.last) > 5*time.Second {
		p.tenth, p.last = t, time.Now()
		printf(p.w, "%s\n", p.line())
	}
}

func (p *progress) finish() {
	if p.tty && p.total > 0 {
		printf(p.w, "\n")
	}
}
