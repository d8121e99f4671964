package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/export"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/node"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:     "audit",
		Usage:    "verify the chain, the audit trail, integrity signals and replays, trusting nothing but the genesis",
		Category: categoryQuery,
		Description: `Regulator tools. verify-chain checks every header from the genesis validators
(or a trusted header) with CometBFT's light client and keeps the verified
headers in a trust dir; trail, report and replay rebuild and check the
history. See docs/AUDIT.md for the trust model.`,
		Subcommands: []*cli.Command{
			{
				Name:  "verify-chain",
				Usage: "verify every header from genesis to the latest with the light client",
				UsageText: `veritrial audit verify-chain --from KEY --genesis genesis.json [--node https://host:26680] [--witness URL ...] [--trust-dir DIR]
   veritrial audit verify-chain --from KEY --trusted-height 1000 --trusted-hash 0AF3... --chain-id C --node URL`,
				Description: `The trust root is the genesis validator set: block 1's commit must carry
+2/3 of the genesis validators' signatures for the chain ID (or the header at
--trusted-height must have --trusted-hash). From there each header is verified
against the validator set its predecessor committed to, cross-checked with
every --witness, and stored under --trust-dir (default <home>/audit/<chain-id>),
so a later run continues from the last verified header. Exit 1 names the first
height that fails and why.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "genesis", Usage: "the consortium's genesis `FILE` (trust root: its validators)", TakesFile: true},
					&cli.StringSliceFlag{Name: "witness", Usage: "read API `URL` (or RPC address) of another node to cross-check every header with (repeatable)"},
					&cli.StringFlag{Name: "trust-dir", Usage: "where verified headers are kept", DefaultText: "<home>/audit/<chain-id>"},
					&cli.Int64Flag{Name: "trusted-height", Usage: "trust root instead of the genesis: a header `HEIGHT` obtained out of band"},
					&cli.StringFlag{Name: "trusted-hash", Usage: "the header `HASH` (hex) at --trusted-height"},
					&cli.StringFlag{Name: "chain-id", Usage: "chain ID (with --trusted-height and no --genesis)"},
					&cli.Int64Flag{Name: "to", Usage: "stop at `HEIGHT` (default: the latest)"},
					&cli.DurationFlag{Name: "trusting-period", Value: lightroot.DefaultTrustingPeriod, Usage: "how old a trusted header may be (permissioned consortium: long)"},
				},
				Action: auditVerifyChain,
			},
			{
				Name:      "trail",
				Usage:     "the full history of a study: who did what, when, why, rejected attempts included",
				UsageText: `veritrial audit trail --from KEY --study VT-HTN-201 [--subject S1-001 | --site site1 | --user site1-coordinator] [--since 2026-01-01 --until 2026-02-01] [--format table|json|xlsx --out trail.xlsx]`,
				Description: `Built from every block's transactions and their results, those the --from
reader may see, read through the node's read API with a Merkle proof of each
tx in its block and of its result in the next header, each tx decoded as the
ledger decodes it. Times are block times in
UTC. Rejected attempts (non-zero codes, for instance writes during a lock) are
listed as REJECTED with their code and message. ROLE is the role the signer
acted under then (the one the records' stamps carry), ON the subject, event
and form the transaction is about. When the trust dir holds headers verified
by verify-chain, each block and its results are checked against them (column
"verified"). --since/--until take a date or an RFC 3339 time (the global
--from names a signing key).

On a terminal the long columns wrap at spaces to its width; piped or written
with --out, every cell keeps its full text. --format json keeps every field
exact; in --format xlsx a character a workbook cannot carry or a reader
would not see (controls, bidirectional overrides) is written visibly (\x1b,
\u202e) and a text longer than a cell (32,767 characters) is cut with its
length noted.`,
				Flags:  append(auditReadFlags(), subjectFlag(false, "only the transactions on this subject `ID`"), &cli.StringFlag{Name: "site", Usage: "only the transactions at this site `ID` (its subjects and the site itself)"}, &cli.StringFlag{Name: "user", Usage: "account `ID`"}, &cli.StringFlag{Name: "since", Usage: "from `TIME` (UTC)"}, &cli.StringFlag{Name: "until", Usage: "to `TIME` (UTC; a date means the whole day)"}),
				Action: auditTrail,
			},
			{
				Name:      "report",
				Usage:     "data-integrity signals per site and per user",
				UsageText: `veritrial audit report --from KEY --study VT-HTN-201 [--out report.xlsx]`,
				Description: `Late entries (block time more than --late-days after the form's visit date),
corrections per 100 values, corrections after signature or after SDV, entries
outside working hours (block time in UTC, Monday to Friday, --work-hours),
queries open longer than --query-days, rejected write attempts, amendments and
what they changed, and the outcomes declared at registration against the
protocol in force (outcome switching). See docs/AUDIT.md for the rules.`,
				Flags: append(auditReadFlags(),
					&cli.Float64Flag{Name: "late-days", Value: audit.DefaultRules.LateDays, Usage: "an entry this many days after the visit date is late"},
					&cli.StringFlag{Name: "work-hours", Value: fmt.Sprintf("%02d-%02d", audit.DefaultRules.WorkStart, audit.DefaultRules.WorkEnd), Usage: "working hours in UTC, `HH-HH`, Monday to Friday"},
					&cli.Float64Flag{Name: "query-days", Value: audit.DefaultRules.QueryDays, Usage: "a query open longer than this many days is flagged"}),
				Action: auditReport,
			},
			{
				Name:      "replay",
				Usage:     "re-execute every stored block in a fresh ledger and compare every app hash and tx result",
				UsageText: `veritrial audit replay --home /var/lib/veritrial`,
				Description: `Opens the stopped node's block store and state store read-only (a running node
holds them locked: stop it first, or replay a copy of its home), runs InitChain
from the genesis in a fresh application in a temporary directory, then
FinalizeBlock and Commit for every stored block. Compares the app hash after
InitChain and after each block with the next header's, the results hash with
the next header's, and each tx result's code and log with the stored
FinalizeBlock responses; reports the first divergence (exit 1). Then compares
the replayed state with the node's own ledger state record by record and lists
every record that differs (exit 1): a record altered on the node's disk leaves
its app hashes unchanged. This proves the state is what the transactions say.`,
				Action: auditReplay,
			},
			{
				Name:      "verify-export",
				Usage:     "check an exported file (xlsx, csv zip or directory, ODM) against the ledger, record by record, with proofs",
				UsageText: `veritrial audit verify-export htn201-locked.xlsx --from KEY [--node https://host:26680] [--genesis genesis.json] [--witness URL ...] [--trust-dir DIR]`,
				Description: `Reads the file's provenance (study, height), verifies the headers of that height
and the next with the light client (from the trust dir filled by verify-chain,
or from --genesis), fetches every record the ledger has for the study at that
height with its ics23 proof and checks each against the verified app hash,
compares the file's record list with the ledger's (missing, extra, changed
records) and its dataset digest, then renders the ledger's own export of the
proven records and compares it with the file sheet by sheet, row by row and
cell by cell (or element by element, with its XML path, for ODM). Every
difference is listed with its sheet, row and column: changed value, missing
row, extra row, altered audit trail, forged or altered signature. Exit 1 when
the file differs from the ledger.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "genesis", Usage: "the consortium's genesis `FILE` (trust root when the trust dir has none)", TakesFile: true},
					&cli.StringSliceFlag{Name: "witness", Usage: "read API `URL` (or RPC address) of another node to cross-check headers with (repeatable)"},
					&cli.StringFlag{Name: "trust-dir", Usage: "where verified headers are kept", DefaultText: "<home>/audit/<chain-id>"},
				},
				Action: auditVerifyExport,
			},
		},
	}
}

// auditReadFlags are the flags of the commands that read a study's history.
func auditReadFlags() []cli.Flag {
	return []cli.Flag{
		studyFlag(),
		&cli.StringFlag{Name: "format", Value: "table", Usage: "table, json or xlsx (xlsx needs --out)"},
		&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of stdout", TakesFile: true},
		&cli.BoolFlag{Name: "force", Usage: "replace an existing --out file"},
		&cli.StringFlag{Name: "trust-dir", Usage: "headers verified by verify-chain to check blocks against", DefaultText: "<home>/audit/<chain-id> when it exists"},
	}
}

// auditFormat returns the output format: table, json or xlsx.
func auditFormat(c *cli.Context) (string, error) {
	f := strings.ToLower(c.String("format"))
	if isJSON(c) && !c.IsSet("format") {
		f = "json"
	}
	switch f {
	case "table", "json":
	case "xlsx":
		if c.String("out") == "" {
			return "", usageErrorf("--format xlsx needs --out FILE.xlsx")
		}
	default:
		return "", usageErrorf("--format %q is not known: use table, json or xlsx", f)
	}
	if strings.HasSuffix(strings.ToLower(c.String("out")), ".xlsx") && !c.IsSet("format") {
		f = "xlsx"
	}
	return f, checkOutFree(c.String("out"), c.Bool("force"))
}

// auditLedger reads the chain's history for --study.
func auditLedger(c *cli.Context) (*audit.Ledger, error) {
	o := audit.FetchOptions{Study: c.String("study"), TrustDir: c.String("trust-dir")}
	if o.TrustDir != "" && !auditDirExists(o.TrustDir) {
		return nil, usageErrorf("--trust-dir %s does not exist: run veritrial audit verify-chain --trust-dir %s first", o.TrustDir, o.TrustDir)
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return nil, err
	}
	o.Client = cl
	if o.TrustDir == "" {
		if chain, err := cl.ChainID(c.Context); err == nil {
			if home, err := homeDir(c); err == nil {
				if d := lightroot.DefaultTrustDir(home, chain); auditDirExists(d) {
					o.TrustDir = d
				}
			}
		}
	}
	L, err := audit.FetchLedger(c.Context, o)
	if err != nil {
		return nil, nodeError(client.NodeError(cl.Addr(), err))
	}
	return L, nil
}

func auditDirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}

// auditWrite writes a result to --out (or stdout) in the chosen format;
// with --out it then says what it wrote (what names the result).
func auditWrite(c *cli.Context, format, what string, doc any, sheets []audit.Sheet, text func(w io.Writer) error) error {
	out := c.String("out")
	var buf bytes.Buffer
	switch format {
	case "xlsx":
		if err := audit.WriteXLSX(&buf, sheets); err != nil {
			return failf("cannot build the workbook: %v", err)
		}
	case "json":
		if out == "" {
			return emitJSON(c, doc)
		}
		if err := writeJSON(&buf, doc); err != nil {
			return failf("cannot encode the result: %v", err)
		}
	default:
		if out == "" {
			return emit(c, doc, text)
		}
		if err := text(&buf); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(out, buf.Bytes(), 0o644, c.Bool("force")); err != nil {
		return err
	}
	return emit(c, map[string]any{"out": out, "format": format}, func(w io.Writer) error {
		printf(w, "Wrote %s to %s (%s)\n", what, out, strings.Replace(format, "table", "text", 1))
		return nil
	})
}

// auditTime parses a --since/--until value; a date alone is the start
// of that day, or its end when end is set.
func auditTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, usageErrorf("%q is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T14:00:00Z)", s)
	}
	if end {
		d = d.Add(24*time.Hour - time.Nanosecond)
	}
	return d, nil
}

func auditTrail(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	format, err := auditFormat(c)
	if err != nil {
		return err
	}
	f := audit.TrailFilter{Study: c.String("study"), Subject: c.String("subject"), Site: c.String("site"), User: c.String("user")}
	n := 0
	for _, x := range []string{f.Subject, f.Site, f.User} {
		if x != "" {
			n++
		}
	}
	if n > 1 {
		return usageErrorf("give at most one of --subject, --site and --user")
	}
	if f.From, err = auditTime(c.String("since"), false); err != nil {
		return err
	}
	if f.To, err = auditTime(c.String("until"), true); err != nil {
		return err
	}
	L, err := auditLedger(c)
	if err != nil {
		return err
	}
	es := L.Trail(f)
	rejected := 0
	for _, e := range es {
		if e.Rejected {
			rejected++
		}
	}
	doc := map[string]any{"study": f.Study, "height": L.Height, "entries": es, "rejected": rejected, "unverified_blocks": L.Unverified, "records_proven": L.RecordsProven}
	what := fmt.Sprintf("the audit trail of study %s at height %d (%d transactions, %d rejected)", f.Study, L.Height, len(es), rejected)
	return auditWrite(c, format, what, doc, []audit.Sheet{audit.TrailSheet(es)}, func(w io.Writer) error {
		printf(w, "Audit trail of study %s: %d transaction(s), %d rejected\n", f.Study, len(es), rejected)
		t := newTable(w)
		t.row("TIME (UTC)", "HEIGHT", "USER", "ROLE", "ORG", "ACTION", "ON", "OUTCOME", "PROTOCOL", "WHAT", "WHY")
		for _, e := range es {
			oc := "ok"
			if e.Rejected {
				oc = fmt.Sprintf("REJECTED %d (%s): %s", e.Code, e.CodeName, e.Log)
			}
			pv := ""
			if e.ProtocolVersion > 0 {
				pv = fmt.Sprintf("v%d", e.ProtocolVersion)
			}
			t.row(e.Time, fmt.Sprint(e.Height), e.Signer, e.Role, e.Org, e.Kind, e.Target(), oc, pv, e.What, e.Reason)
		}
		t.flush()
		if L.Unverified > 0 {
			printf(w, "%d block(s) were checked against their headers only: run veritrial audit verify-chain to verify them from the genesis\n", L.Unverified)
		} else {
			printf(w, "Every block was checked against a header verified from the trust root\n")
		}
		auditRecordsLine(w, L)
		return nil
	})
}

func auditReport(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	format, err := auditFormat(c)
	if err != nil {
		return err
	}
	r := audit.DefaultRules
	r.LateDays, r.QueryDays = c.Float64("late-days"), c.Float64("query-days")
	if _, err := fmt.Sscanf(c.String("work-hours"), "%d-%d", &r.WorkStart, &r.WorkEnd); err != nil || r.WorkStart < 0 || r.WorkEnd > 24 || r.WorkStart >= r.WorkEnd {
		return usageErrorf("--work-hours %q is not HH-HH (for example 07-19)", c.String("work-hours"))
	}
	L, err := auditLedger(c)
	if err != nil {
		return err
	}
	rep := audit.Compute(L, c.String("study"), r)
	what := fmt.Sprintf("the integrity report of study %s at height %d", rep.Study, rep.Height)
	return auditWrite(c, format, what, rep, audit.ReportSheets(rep), func(w io.Writer) error {
		if err := auditWriteReport(w, rep); err != nil {
			return err
		}
		auditRecordsLine(w, L)
		return nil
	})
}

// auditRecordsLine says how the records behind names, protocol versions
// and queries were read.
func auditRecordsLine(w io.Writer, L *audit.Ledger) {
	if L.RecordsProven {
		printf(w, "Organisations, accounts and their histories, protocol versions, amendments and queries read at height %d, each proven against the verified app hash\n", L.Height)
	} else {
		printf(w, "Organisations, accounts and their histories, protocol versions, amendments and queries read at height %d without proofs (no verified header: run veritrial audit verify-chain)\n", L.Height)
	}
}

func auditWriteReport(w io.Writer, r *audit.Report) error {
	printf(w, "Integrity report of study %s at height %d (%s)\n", r.Study, r.Height, r.AsOf)
	printf(w, "Rules: late after %.0f days; working hours %02d:00-%02d:00 UTC Mon-Fri; queries open over %.0f days\n", r.Rules.LateDays, r.Rules.WorkStart, r.Rules.WorkEnd, r.Rules.QueryDays)
	for _, g := range []struct {
		name string
		ss   []audit.Signals
	}{{"SITE", r.Sites}, {"USER", r.Users}} {
		printf(w, "\n")
		t := newTable(w)
		t.row(g.name, "FORMS", "VALUES", "LATE", "MAX DELAY (d)", "CORR/100", "AFTER SIGN", "AFTER SDV", "OUTSIDE HOURS", "QUERIES LONG", "REJECTED")
		for _, s := range g.ss {
			t.row(s.Key, fmt.Sprint(s.Entries), fmt.Sprint(s.Values), fmt.Sprint(s.LateEntries), fmt.Sprintf("%.1f", s.MaxDelayDays), fmt.Sprintf("%.1f", s.CorrectionsPer100), fmt.Sprint(s.AfterSignature), fmt.Sprint(s.AfterSDV), fmt.Sprint(s.OutsideHours), fmt.Sprint(s.LongOpenQueries), fmt.Sprint(s.Rejected))
		}
		t.flush()
	}
	if len(r.Findings) > 0 {
		printf(w, "\nFindings:\n")
		for _, f := range r.Findings {
			var who []string
			for _, s := range []string{f.User, f.Site, f.Target} {
				if s != "" {
					who = append(who, s)
				}
			}
			printf(w, "  [%s] %s at height %d: %s\n", f.Signal, strings.Join(who, " "), f.Height, f.Detail)
		}
	}
	printf(w, "\nOverdue visits on %s (nothing entered, window closed): %d\n", r.AsOf[:min(len(r.AsOf), 10)], len(r.Overdue))
	if len(r.Overdue) > 0 {
		t := newTable(w)
		t.row("SITE", "SUBJECT", "EVENT", "TARGET", "WINDOW CLOSED", "DAYS OVERDUE")
		for _, o := range r.Overdue {
			t.row(o.Site, o.Subject, o.Event, o.Target, o.Latest, fmt.Sprint(o.DaysOverdue))
		}
		t.flush()
	}
	printf(w, "\n")
	writeDeviations(w, r.Deviations)
	if r.Safety != nil {
		printf(w, "\n")
		writeSafety(w, r.Safety)
	}
	writeUnblindings(w, r.Unblindings)
	for _, a := range r.Amendments {
		printf(w, "\nAmendment %d (%s): %s, proposed %s", a.Number, a.Label, a.Status, a.Proposed)
		if a.Decided != "" {
			printf(w, ", decided %s", a.Decided)
		}
		printf(w, "\n")
		for _, ch := range a.Changes {
			printf(w, "    %s\n", ch)
		}
	}
	if oc := r.Outcomes; oc != nil {
		verdict := "no outcome switching: the outcomes in force are those declared at registration"
		if oc.Switched {
			verdict = "OUTCOME SWITCHING: the outcomes in force differ from those declared at registration"
		}
		printf(w, "\nOutcomes (registered v%d, in force v%d): %s\n", oc.RegisteredVersion, oc.InForceVersion, verdict)
		for _, ch := range oc.Changes {
			printf(w, "    %s\n", ch)
		}
	}
	return nil
}

func auditReplay(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	home, conf, err := homeConfig(c)
	if err != nil {
		return err
	}
	if conf.DBBackend != "goleveldb" {
		return inputErrorf("the node's db_backend is %q: replay reads goleveldb stores only", conf.DBBackend)
	}
	g, err := cmttypes.GenesisDocFromFile(conf.GenesisFile())
	if err != nil {
		return inputErrorf("cannot use the genesis %s: %v", conf.GenesisFile(), err)
	}
	o := audit.ReplayOptions{DataDir: conf.DBDir(), Genesis: g, AppDataDir: node.AppDataDir(home)}
	if !isJSON(c) {
		step := int64(0)
		o.Progress = func(h, last int64) {
			if h-step >= 1000 || h == last {
				step = h
				printf(stderr(c), "\rreplayed %d / %d", h, last)
				if h == last {
					printf(stderr(c), "\n")
				}
			}
		}
	}
	rep, err := audit.Replay(c.Context, o)
	if err != nil {
		return failf("%v", err)
	}
	if err := emit(c, rep, func(w io.Writer) error {
		printf(w, "Replayed blocks %d to %d of chain %s: %d block(s), %d tx(s) (%d rejected) in %.1f s (%.0f blocks/s)\n", rep.From, rep.To, rep.ChainID, rep.Blocks, rep.Txs, rep.Rejected, rep.Seconds, rep.BlocksPerSecond)
		if d := rep.Divergence; d != nil {
			where := fmt.Sprintf("block %d", d.Height)
			if d.Tx >= 0 {
				where = fmt.Sprintf("tx %d (%s) of block %d", d.Tx, d.TxHash, d.Height)
			}
			printf(w, "DIVERGENCE at %s: %s\n  ledger:   %s\n  replayed: %s\n", where, d.What, d.Stored, d.Replay)
			return nil
		}
		if rep.NoStoredResults > 0 {
			printf(w, "%d block(s) had no stored results (discard_abci_responses): checked against the results hash only\n", rep.NoStoredResults)
		}
		printf(w, "OK: every app hash and every tx result matches; final app hash %s\n", rep.AppHash)
		if n := len(rep.StateDifferences) + rep.StateMore; n > 0 {
			printf(w, "DIFFERENCES: the node's own ledger state holds %d record(s) other than the replay at height %d:\n", n, rep.StateCompared)
			t := indented(w, "  ")
			t.row("KEY", "NODE (SHA-256)", "REPLAYED (SHA-256)")
			for _, d := range rep.StateDifferences {
				t.row(d.Key, d.Node, d.Replayed)
			}
			if err := t.flush(); err != nil {
				return err
			}
			if rep.StateMore > 0 {
				printf(w, "  and %d more\n", rep.StateMore)
			}
		} else if rep.StateCompared > 0 {
			printf(w, "The node's own ledger state equals the replay, record by record, at height %d\n", rep.StateCompared)
		}
		return nil
	}); err != nil {
		return err
	}
	if d := rep.Divergence; d != nil {
		return failf("replay diverges at height %d: %s", d.Height, d.What)
	}
	if n := len(rep.StateDifferences) + rep.StateMore; n > 0 {
		return failf("the node's ledger state differs from the replay in %d record(s): run veritrial doctor", n)
	}
	return nil
}

func auditVerifyExport(c *cli.Context) error {
	if err := exactArgs(c, "file"); err != nil {
		return err
	}
	file := c.Args().First()
	if _, err := os.Stat(file); err != nil {
		return inputErrorf("cannot read the export %s: %v", file, pathError(err))
	}
	g, err := auditGenesisFlag(c)
	if err != nil {
		return err
	}
	home, err := homeDir(c)
	if err != nil {
		return err
	}
	o := audit.ExportOptions{File: file, Home: home, Chain: audit.ChainOptions{Genesis: g, TrustDir: c.String("trust-dir")}}
	if o.Chain.Primary, err = nodeAddr(c); err != nil {
		return err
	}
	if o.Chain.Dial, err = readDialer(c); err != nil {
		return err
	}
	for _, w := range c.StringSlice("witness") {
		a, err := normalizeNodeAddr(w)
		if err != nil {
			return err
		}
		o.Chain.Witnesses = append(o.Chain.Witnesses, a)
	}
	rep, err := audit.VerifyExport(c.Context, o)
	if err != nil {
		if errors.Is(err, export.ErrNotExport) {
			return inputErrorf("%v", err)
		}
		if client.Unreachable(err) {
			return unavailableErrorf("%v (is the node running? pass --node)", err)
		}
		return failf("%v", err)
	}
	if err := emit(c, rep, func(w io.Writer) error {
		printf(w, "Export %s (%s): study %s at height %d of chain %s\n", rep.File, rep.Format, rep.Study, rep.Height, rep.ChainID)
		printf(w, "Verified header: block %s, app hash %s (header of block %d)\n", rep.BlockHash, rep.AppHash, rep.Height+1)
		printf(w, "Ledger records proven: %d (%.0f proofs/s); dataset digest %s\n", rep.Records, rep.ProofsPerSecond, rep.Digest)
		if rep.OK() {
			printf(w, "OK: the file is exactly the ledger's data at height %d (%.1f s)\n", rep.Height, rep.Seconds)
			return nil
		}
		printf(w, "%d difference(s):\n", len(rep.Differences)+rep.Omitted)
		t := newTable(w)
		t.row("KIND", "SHEET", "ROW", "COLUMN / PATH", "KEY", "FILE", "LEDGER")
		for _, d := range rep.Differences {
			where := d.Column
			if d.Path != "" {
				where = d.Path
			}
			row := ""
			switch {
			case d.Page > 0:
				where = d.Where()
			case d.Row > 0:
				row = strconv.Itoa(d.Row)
			}
			t.row(d.Kind, d.Sheet, row, where, d.Key, d.File, d.Ledger)
		}
		t.flush()
		if rep.Omitted > 0 {
			printf(w, "... and %d more\n", rep.Omitted)
		}
		return nil
	}); err != nil {
		return err
	}
	if !rep.OK() {
		return failf("%s differs from the ledger in %d place(s)", file, len(rep.Differences)+rep.Omitted)
	}
	return nil
}

// auditGenesisFlag reads --genesis when given.
func auditGenesisFlag(c *cli.Context) (*cmttypes.GenesisDoc, error) {
	path := c.String("genesis")
	if path == "" {
		return nil, nil
	}
	if err := checkReadable(path, "genesis"); err != nil {
		return nil, err
	}
	g, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		return nil, inputErrorf("%s is not a usable genesis file: %v", path, err)
	}
	return g, nil
}

func auditVerifyChain(c *cli.Context) error {
	if err := exactArgs(c); err != nil {
		return err
	}
	g, err := auditGenesisFlag(c)
	if err != nil {
		return err
	}
	o := audit.ChainOptions{Genesis: g, ChainID: c.String("chain-id"), TrustedHeight: c.Int64("trusted-height"), To: c.Int64("to"), TrustingPeriod: c.Duration("trusting-period")}
	if c.IsSet("trusted-hash") || o.TrustedHeight != 0 {
		if o.TrustedHeight <= 0 || !c.IsSet("trusted-hash") {
			return usageErrorf("--trusted-height and --trusted-hash go together")
		}
		if o.TrustedHash, err = audit.ParseHash(c.String("trusted-hash")); err != nil {
			return usageErrorf("--trusted-hash: %v", err)
		}
	} else if g == nil && o.ChainID == "" && !c.IsSet("trust-dir") {
		return usageErrorf("no trust root: pass --genesis FILE (or --trusted-height and --trusted-hash, or the --chain-id or --trust-dir of a previous run)")
	}
	if g == nil && o.ChainID == "" && !c.IsSet("trust-dir") {
		return usageErrorf("--chain-id is needed with --trusted-height when no --genesis is given")
	}
	if g != nil {
		o.ChainID = g.ChainID
	}
	if o.Primary, err = nodeAddr(c); err != nil {
		return err
	}
	if o.Dial, err = readDialer(c); err != nil {
		return err
	}
	for _, w := range c.StringSlice("witness") {
		a, err := normalizeNodeAddr(w)
		if err != nil {
			return err
		}
		o.Witnesses = append(o.Witnesses, a)
	}
	if o.TrustDir = c.String("trust-dir"); o.TrustDir == "" {
		// (o.ChainID is set here: from the genesis or --chain-id)
		home, err := homeDir(c)
		if err != nil {
			return err
		}
		o.TrustDir = lightroot.DefaultTrustDir(home, o.ChainID)
	}
	if !isJSON(c) {
		step := int64(0)
		o.Progress = func(h, target int64) {
			if h-step >= 1000 || h == target {
				step = h
				printf(stderr(c), "\rverified %d / %d", h, target)
				if h == target {
					printf(stderr(c), "\n")
				}
			}
		}
	}
	rep, err := audit.VerifyChain(c.Context, o)
	if err != nil {
		if errors.Is(err, lightroot.ErrWrongGenesis) {
			return failf("%v", err)
		}
		if client.Unreachable(err) {
			return unavailableErrorf("%v (is the node running? pass --node)", err)
		}
		return failf("%v", err)
	}
	if err := emit(c, rep, func(w io.Writer) error { return auditWriteChain(w, rep) }); err != nil {
		return err
	}
	if !rep.OK() {
		return failf("verification failed at height %d: %s", rep.Failure.Height, rep.Failure.Reason)
	}
	return nil
}

func auditWriteChain(w io.Writer, r *audit.ChainReport) error {
	printf(w, "Chain %s, trust root: %s (height %d, header %s)\n", r.ChainID, r.TrustRoot, r.TrustedHeight, r.TrustedHash)
	if r.To > 0 {
		printf(w, "Verified headers %d to %d (node at %d); %d verified now in %.1f s (%.0f headers/s)", r.From, r.To, r.Latest, r.VerifiedNow, r.Seconds, r.HeadersPerSecond)
		if r.Resumed {
			printf(w, ", continuing a previous run")
		}
		printf(w, "\n")
		printf(w, "Latest verified header %s, app hash %s\n", r.LatestHash, r.LatestAppHash)
	}
	if r.CrossChecked {
		printf(w, "Cross-checked with witnesses: %s\n", strings.Join(r.Witnesses, ", "))
	} else {
		printf(w, "No witness given: headers were not cross-checked with another node\n")
	}
	printf(w, "Validator set history:\n")
	t := indented(w, "  ")
	t.row("FROM HEIGHT", "SET HASH", "ADDRESS", "POWER")
	for _, ch := range r.ValidatorHistory {
		for i, v := range ch.Validators {
			h, hash := fmt.Sprint(ch.Height), ch.Hash
			if i > 0 {
				h, hash = "", ""
			}
			t.row(h, hash, v.Address, fmt.Sprint(v.Power))
		}
	}
	t.flush()
	printf(w, "Trust dir: %s\n", r.TrustDir)
	if r.Failure != nil {
		printf(w, "FAILED at height %d: %s\n", r.Failure.Height, r.Failure.Reason)
	} else {
		printf(w, "OK: every header verified\n")
	}
	return nil
}
