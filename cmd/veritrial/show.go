package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

func readFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Int64Flag{Name: "height", Usage: "read the ledger as it was after block `H` (default: latest)"},
		&cli.BoolFlag{Name: "prove", Usage: "verify ics23 proofs against the app hash in the next block's header, verified by the light client from the home's genesis"},
	}
}

// proofLine says what was verified.
func proofLine(w io.Writer, rd *client.Reader) {
	if rd.Proving() {
		printf(w, "Proof: verified against app hash %X of height %d (header of block %d, verified by the light client from the genesis)\n", rd.AppHash(), rd.Height(), rd.Height()+1)
	} else {
		printf(w, "Read at height %d (not proven; add --prove)\n", rd.Height())
	}
}

func stampText(s types.Stamp) string {
	who := s.Signer
	if s.Name != "" {
		who = fmt.Sprintf("%s (%s, %s, %s)", s.Name, s.Signer, s.Role, s.Org)
	}
	if who == "" {
		who = "genesis"
	}
	return fmt.Sprintf("%s at height %d by %s", s.Time, s.Height, who)
}

// showCtx is what a read command needs: the node's ledger read at
// --height, with proofs when --prove.
type showCtx struct {
	c   *cli.Context
	rd  *client.Reader
	ctx context.Context
}

func newShow(c *cli.Context) (*showCtx, error) {
	cl, err := ledgerClient(c)
	if err != nil {
		return nil, err
	}
	rd, err := flagReader(c, cl)
	if err != nil {
		return nil, err
	}
	return &showCtx{c: c, rd: rd, ctx: c.Context}, nil
}

// newShowStudy is newShow and the study its --study flag names.
func newShowStudy(c *cli.Context) (*showCtx, *types.Study, error) {
	s, err := newShow(c)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.rd.Study(s.ctx, c.String("study"))
	if err != nil {
		return nil, nil, nodeError(err)
	}
	return s, st, nil
}

func showCommand() *cli.Command {
	with := func(extra ...cli.Flag) []cli.Flag { return append(extra, readFlags()...) }
	study := studyFlag()
	return &cli.Command{
		Name:  "show",
		Usage: "read ledger records, at any height, with proofs",
		Description: `Every read is a request signed by the --from key (the node answers no other),
and the node answers only what the reader's organisation may see.`,
		Category: categoryQuery,
		Subcommands: append([]*cli.Command{
			{Name: "study", Usage: "a study: protocol versions, amendments, sites (--output json: every protocol in full)", UsageText: "veritrial show study --from sponsor-dm --study VT-HTN-201 --prove", Flags: with(study), Action: showStudy},
			{Name: "subject", Usage: "a subject and the forms entered for it", UsageText: "veritrial show subject --from site1-coordinator --study VT-HTN-201 --subject S1-001", Flags: with(study, subjectFlag(true, "the subject `ID`")), Action: showSubject},
			{Name: "form", Usage: "the current version of a form", UsageText: "veritrial show form --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS --prove", Flags: with(formKeyFlags()...), Action: showForm},
			{Name: "history", Usage: "every version of a form: who, when, why, what changed", UsageText: "veritrial show history --from site1-coordinator --study VT-HTN-201 --subject S1-001 --event SCR --form VS --prove", Flags: with(formKeyFlags()...), Action: showHistory},
			{Name: "account", Usage: "an account, the history of its changes and a pending key rotation request", UsageText: "veritrial show account --from site1-admin --account site1-coordinator", Flags: with(&cli.StringFlag{Name: "account", Required: true, Usage: "the account `ID` (its key name)"}), Action: showAccount},
			{Name: "delegations", Usage: "who may act on a study: its sites' principal investigators, its delegations to CROs and each site's delegation log", UsageText: "veritrial show delegations --from site1-investigator --study VT-HTN-201 [--site site1] --prove",
				Flags: with(study, &cli.StringFlag{Name: "site", Usage: "only this site `ID`"}), Action: showDelegations},
			{Name: "tx", Usage: "a transaction's outcome in its block, by its hash (the signer's own, or one whose record the reader may see)", UsageText: "veritrial show tx --from site1-coordinator --hash 3F2A...",
				Flags: []cli.Flag{&cli.StringFlag{Name: "hash", Required: true, Usage: "the tx `HASH` (64 hex characters, as a write printed it)"}}, Action: showTx},
		}, append(dmShowCommands(with), scheduleShowCommand(with), safetyShowCommand(with))...),
	}
}

func showStudy(c *cli.Context) error {
	s, st, err := newShowStudy(c)
	if err != nil {
		return err
	}
	var versions []types.ProtocolVersion
	for n := 1; n <= st.Versions; n++ {
		pv, err := s.rd.ProtocolVersion(s.ctx, st.ID, n)
		if err != nil {
			return nodeError(err)
		}
		versions = append(versions, *pv)
	}
	var amendments []types.Amendment
	for n := 1; n <= st.Amendments; n++ {
		am, err := s.rd.Amendment(s.ctx, st.ID, n)
		if err != nil {
			return nodeError(err)
		}
		amendments = append(amendments, *am)
	}
	var siteIDs []string
	if err := s.rd.Scan(s.ctx, types.PrefixSite+st.ID+"/", func(e types.ListEntry) error {
		siteIDs = append(siteIDs, e.Key[strings.LastIndexByte(e.Key, '/')+1:])
		return nil
	}); err != nil {
		return nodeError(err)
	}
	db, err := s.rd.DatabaseLock(s.ctx, st.ID)
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"study": st, "versions": versions, "amendments": amendments, "sites": siteIDs, "database_lock": db, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Study %s: %s\n", st.ID, st.Title)
		printf(w, "Sponsor: %s; registered %s\n", st.Sponsor, stampText(st.Registered))
		printf(w, "Protocol in force: version %d of %d; amendment approvers: %s\n", st.Current, st.Versions, strings.Join(st.Approvers, ", "))
		if len(versions) > 0 {
			o := versions[0].Protocol.Study
			printf(w, "Registered outcomes (protocol %s):\n", versions[0].Label)
			for _, oc := range o.PrimaryOutcomes {
				printf(w, "  primary:   %s (%s)\n", oc.Measure, oc.TimeFrame)
			}
			for _, oc := range o.SecondaryOutcomes {
				printf(w, "  secondary: %s (%s)\n", oc.Measure, oc.TimeFrame)
			}
		}
		t := newTable(w)
		t.row("VERSION", "LABEL", "FINGERPRINT", "EFFECTIVE")
		for _, v := range versions {
			t.row(fmt.Sprint(v.Number), v.Label, v.Fingerprint[:16]+"…", fmt.Sprintf("%s (height %d)", v.Effective.Time, v.Effective.Height))
		}
		t.flush()
		for _, a := range amendments {
			printf(w, "Amendment %d (%s): %s; %s\n  rationale: %s\n", a.Number, a.Label, a.Status, stampText(a.Proposed), a.Rationale)
			if len(a.Migrate) > 0 {
				printf(w, "  migrates the data already entered on: %s\n", strings.Join(a.Migrate, ", "))
			}
			for _, ch := range a.Changes {
				printf(w, "    %s\n", ch)
			}
		}
		printf(w, "Active sites: %s\n", strings.Join(siteIDs, ", "))
		writeLockSummary(w, st, db)
		proofLine(w, s.rd)
		return nil
	})
}

func showSubject(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	sub, err := s.rd.Subject(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	forms, err := s.rd.SubjectForms(s.ctx, sub.Study, sub.ID)
	if err != nil {
		return nodeError(err)
	}
	dm, err := s.subjectDM(sub, forms)
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"subject": sub, "forms": forms, "queries": dm.queries, "sdv": dm.sdv, "signatures": dm.sigs, "locks": dm.locks, "height": s.rd.Height(), "proven": s.rd.Proving()}
	var alloc types.Allocation
	randomized, err := s.rd.GetJSON(s.ctx, types.KeyAllocation(sub.Study, sub.ID), &alloc)
	if err != nil {
		return nodeError(err)
	}
	if randomized {
		doc["allocation"] = alloc
	}
	var assessed []types.LabAssessments
	if slices.ContainsFunc(forms, func(f types.FormRecord) bool { return len(f.LabFlags) > 0 }) {
		if assessed, err = s.rd.SubjectLabAssessments(s.ctx, sub.Study, sub.ID); err != nil {
			return nodeError(err)
		}
		doc["lab_assessments"] = assessed
	}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Subject %s, study %s, site %s: %s\n", sub.ID, sub.Study, sub.Site, sub.Status)
		printf(w, "Consent version %s (SHA-256 %s)\nEnrolled %s\n", sub.ConsentVersion, sub.ConsentSHA256, stampText(sub.Enrolled))
		for _, rc := range sub.Reconsents {
			printf(w, "Re-consented to version %s (SHA-256 %s)%s, recorded %s\n", rc.Version, rc.SHA256, onDate(rc.Date), stampText(rc.Stamp))
		}
		for _, wd := range sub.Withdrawals {
			printf(w, "Withdrawn (%s)%s, recorded %s: %s\n", wd.Kind, onDate(wd.Date), stampText(wd.Stamp), wd.Reason)
		}
		if sub.Withdrawn != nil && len(sub.Withdrawals) == 0 {
			printf(w, "Withdrawn %s: %s\n", stampText(*sub.Withdrawn), sub.WithdrawReason)
		}
		if randomized {
			writeAllocation(w, &alloc)
		}
		t := newTable(w)
		t.row("EVENT", "REPEAT", "FORM", "VERSION", "VALUES", "WARNINGS", "QUERIES", "SDV", "STATE", "LAST CHANGE")
		for _, f := range forms {
			t.row(f.Event, fmt.Sprint(f.EventRepeat), f.Form, fmt.Sprint(f.Version), fmt.Sprint(len(f.Values)), fmt.Sprint(len(f.Warnings)), dm.queryText(f.FormKey), dm.sdvText(f.FormKey), dm.stateText(f.FormKey), fmt.Sprintf("%s by %s", f.Stamp.Time, f.Stamp.Signer))
		}
		t.flush()
		dm.write(w)
		writeLabToAssess(w, forms, assessed)
		proofLine(w, s.rd)
		return nil
	})
}

// labeler returns a labeler for a study's protocol version.
func (s *showCtx) labeler(study string, version int) func(oid, value string) (string, string) {
	pv, err := s.rd.ProtocolVersion(s.ctx, study, version)
	if err != nil {
		return func(oid, value string) (string, string) { return oid, value }
	}
	comp, err := protocol.Compile(&pv.Protocol)
	if err != nil {
		return func(oid, value string) (string, string) { return oid, value }
	}
	return func(oid, value string) (string, string) {
		it, _, ok := comp.Item(oid)
		if !ok {
			return oid, value
		}
		v := value
		if d := comp.Decode(oid, value); d != "" && d != value {
			v = value + " (" + d + ")"
		} else if it.Unit != "" {
			v = value + " " + it.Unit
		}
		return it.Label, v
	}
}

func showForm(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	r, err := s.rd.Form(s.ctx, formKeyOf(c))
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"form": r, "height": s.rd.Height(), "proven": s.rd.Proving()}
	var assessed []types.LabAssessments
	if len(r.LabFlags) > 0 {
		if assessed, err = s.rd.LabAssessments(s.ctx, formKeyOf(c)); err != nil {
			return nodeError(err)
		}
		doc["lab_assessments"] = assessed
	}
	return emit(c, doc, func(w io.Writer) error {
		label := s.labeler(r.Study, r.ProtocolVersion)
		printf(w, "Form %s, subject %s, event %s (repeat %d): version %d, protocol version %d\n", r.Form, r.Subject, r.Event, r.EventRepeat, r.Version, r.ProtocolVersion)
		printf(w, "Last change %s\n", stampText(r.Stamp))
		if r.Reason != "" {
			printf(w, "Reason for change: %s\n", r.Reason)
		}
		writeValues(w, r.Values, label)
		for _, wn := range r.Warnings {
			printf(w, "warning [%s] %s\n", wn.Code, wn.Message)
		}
		if len(r.LabFlags) > 0 {
			writeLabFlags(w, r, assessed)
		}
		proofLine(w, s.rd)
		return nil
	})
}

func writeValues(w io.Writer, vals []protocol.ItemValue, label func(oid, value string) (string, string)) {
	t := newTable(w)
	t.row("ITEM", "ROW", "LABEL", "VALUE")
	for _, v := range vals {
		l, val := label(v.Item, v.Value)
		row := ""
		if v.Repeat > 0 {
			row = fmt.Sprint(v.Repeat)
		}
		t.row(v.Item, row, l, val)
	}
	t.flush()
}

func showHistory(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	k := formKeyOf(c)
	hist, err := s.rd.FormHistory(s.ctx, k)
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"history": hist, "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "History of form %s, subject %s, event %s (repeat %d): %d version(s)\n", k.Form, k.Subject, k.Event, k.EventRepeat, len(hist))
		var prev map[string]string
		for _, r := range hist {
			label := s.labeler(r.Study, r.ProtocolVersion)
			printf(w, "\nVersion %d, %s\n", r.Version, stampText(r.Stamp))
			printf(w, "  tx %s, protocol version %d\n", r.Stamp.TxHash, r.ProtocolVersion)
			cur := map[string]string{}
			for _, v := range r.Values {
				cur[fmt.Sprintf("%s|%d", v.Item, v.Repeat)] = v.Value
			}
			if prev == nil {
				printf(w, "  first entry: %d values\n", len(r.Values))
			} else {
				printf(w, "  reason for change: %s\n", r.Reason)
				for _, name := range r.Changed {
					item, rep := name, 0
					if i := strings.IndexByte(name, '['); i > 0 {
						item = name[:i]
						fmt.Sscanf(name[i:], "[%d]", &rep)
					}
					key := fmt.Sprintf("%s|%d", item, rep)
					l, _ := label(item, "")
					printf(w, "  %s (%s): %q -> %q\n", name, l, prev[key], cur[key])
				}
			}
			prev = cur
		}
		if s.rd.Proving() {
			printf(w, "\nProof: every version verified against the app hash of height %d\n", s.rd.Height())
		}
		return nil
	})
}

func showAccount(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	a, err := s.rd.Account(s.ctx, c.String("account"))
	if err != nil {
		return nodeError(err)
	}
	hist, err := s.rd.AccountHistory(s.ctx, a.ID)
	if err != nil {
		return nodeError(err)
	}
	rot, err := s.rd.KeyRotation(s.ctx, a.ID)
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"account": a, "history": hist, "key_rotation": rot, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Account %s: %s, organisation %s, roles %s, %s\n", a.ID, a.Name, a.Org, joinRolesText(a.Roles), a.Status)
		for _, h := range hist {
			line := fmt.Sprintf("  #%d %s: %s", h.Seq, h.Action, stampText(h.Stamp))
			if h.Requested != nil {
				line += "; requested " + stampText(*h.Requested)
			}
			if h.Reason != "" {
				line += " (" + h.Reason + ")"
			}
			printf(w, "%s\n", line)
		}
		if rot != nil && rot.StatusAt(s.rd.Height()) == types.RotationPending {
			printf(w, "Key rotation request pending: new key %s, requested %s; a second person approves it by height %d (veritrial account approve-rotation)\n",
				types.KeyText(rot.NewPubKey), stampText(rot.Requested), rot.Expires)
		}
		proofLine(w, s.rd)
		return nil
	})
}

// showDelegations prints who may act on a study: each site's principal
// investigator with the history, and every delegation with its steps.
func showDelegations(c *cli.Context) error {
	s, st, err := newShowStudy(c)
	if err != nil {
		return err
	}
	sites, err := s.rd.Sites(s.ctx, st.ID)
	if err != nil {
		return nodeError(err)
	}
	dels, err := s.rd.Delegations(s.ctx, st.ID)
	if err != nil {
		return nodeError(err)
	}
	if only := c.String("site"); only != "" {
		sites = slices.DeleteFunc(sites, func(x types.Site) bool { return x.Org != only })
		dels = slices.DeleteFunc(dels, func(d types.Delegation) bool { return d.Account == "" || d.Org != only })
	}
	doc := map[string]any{"study": st.ID, "sponsor": st.Sponsor, "sites": sites, "delegations": dels, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Delegations of study %s (sponsor %s)\n\nPrincipal investigators:\n", st.ID, st.Sponsor)
		t := indented(w, "  ", "SITE", "PRINCIPAL INVESTIGATOR", "STEP", "NAMED", "REASON")
		for _, x := range sites {
			for i, h := range x.History {
				pi := h.PrincipalInvestigator
				if a, err := s.rd.Account(s.ctx, pi); err == nil {
					pi = fmt.Sprintf("%s (%s)", a.Name, a.ID)
				}
				t.row(x.Org, pi, fmt.Sprintf("%d %s", i+1, h.Action), stampText(h.Stamp), h.Reason)
			}
		}
		t.flush()
		printf(w, "\nDelegation log (CROs, then each site's people):\n")
		t = indented(w, "  ", "DELEGATED TO", "STATUS", "STEP", "TASKS FROM THEN", "WHEN, BY WHOM", "REASON")
		for _, d := range dels {
			who := d.Org + " (CRO)"
			if d.Account != "" {
				who = fmt.Sprintf("%s (%s, site %s)", d.Name, d.Account, d.Org)
			}
			for i, h := range d.History {
				t.row(who, string(d.Status), fmt.Sprintf("%d %s", i+1, h.Action), types.TaskList(h.Tasks), stampText(h.Stamp), h.Reason)
			}
		}
		t.flush()
		proofLine(w, s.rd)
		return nil
	})
}

func joinRolesText(rs []types.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// writeLocks prints the freeze/lock states of a study.
func writeLocks(w io.Writer, locks []types.ScopeLock) {
	t := newTable(w)
	t.row("SCOPE", "STATE", "SINCE", "LAST CHANGE")
	for _, l := range locks {
		last := l.History[len(l.History)-1]
		change := last.Action + " by " + last.Stamp.Signer
		if last.Reason != "" {
			change += ": " + last.Reason
		}
		if len(last.Approvals) > 0 {
			var orgs []string
			for _, v := range last.Approvals {
				orgs = append(orgs, v.Org+" ("+v.Stamp.Signer+")")
			}
			change += "; approved by " + strings.Join(orgs, ", ")
		}
		t.row(l.Scope.String(), string(l.State), fmt.Sprintf("height %d", l.Height), change)
	}
	t.flush()
}

// dmShowCommands are the data management subcommands of veritrial show.
func dmShowCommands(with func(extra ...cli.Flag) []cli.Flag) []*cli.Command {
	return []*cli.Command{
		{Name: "query", Usage: "one data query and its whole thread", UsageText: "veritrial show query --from cro-monitor --study VT-HTN-201 --number 3 --prove",
			Flags: with(studyFlag(), &cli.IntFlag{Name: "number", Aliases: []string{"n"}, Required: true, Usage: "query number (veritrial query list shows them)"}), Action: showQuery},
		{Name: "queries", Usage: "a study's data queries (veritrial query list has filters)", UsageText: "veritrial show queries --from cro-monitor --study VT-HTN-201 --prove",
			Flags: with(queryListFlags("all")...), Action: listQueries},
		{Name: "sdv", Usage: "source data verification of a subject's forms, with the trail", UsageText: "veritrial show sdv --from cro-monitor --study VT-HTN-201 --subject S1-001 --prove",
			Flags: with(studyFlag(), subjectFlag(false, "only this subject `ID`")), Action: showSDV},
		{Name: "signatures", Usage: "e-signatures of a subject with their validity", UsageText: "veritrial show signatures --from site1-investigator --study VT-HTN-201 --subject S1-001 --prove",
			Flags: with(studyFlag(), subjectFlag(false, "only this subject `ID`")), Action: showSignatures},
		{Name: "locks", Usage: "freeze and lock states of a study, the database lock and pending approvals", UsageText: "veritrial show locks --from sponsor-dm --study VT-HTN-201 --prove",
			Flags: with(studyFlag()), Action: showLocks},
	}
}

func showQuery(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	q, err := s.rd.Query(s.ctx, c.String("study"), c.Int("number"))
	if err != nil {
		return nodeError(err)
	}
	doc := map[string]any{"query": q, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		writeThread(w, q)
		proofLine(w, s.rd)
		return nil
	})
}

func showSDV(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	recs, err := s.rd.SDVs(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	forms, err := s.rd.SubjectForms(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	byKey := map[types.FormKey]types.SDVRecord{}
	for _, r := range recs {
		byKey[r.FormKey] = r
	}
	type row struct {
		Form        types.FormKey    `json:"form"`
		FormVersion int              `json:"form_version"`
		Status      types.SDVStatus  `json:"status"`
		Verified    int              `json:"verified_items"`
		Items       int              `json:"items"`
		Record      *types.SDVRecord `json:"sdv,omitempty"`
	}
	rows := []row{}
	for _, f := range forms {
		r := row{Form: f.FormKey, FormVersion: f.Version, Status: types.SDVNotDone, Items: len(f.Values)}
		if rec, ok := byKey[f.FormKey]; ok {
			rec := rec
			r.Record, r.Status, r.Verified = &rec, rec.Status, len(rec.Verified)
		}
		rows = append(rows, r)
	}
	doc := map[string]any{"study": c.String("study"), "subject": c.String("subject"), "forms": rows, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		t := newTable(w)
		t.row("SUBJECT", "EVENT", "REPEAT", "FORM", "VERSION", "SDV", "VERIFIED")
		for _, r := range rows {
			t.row(r.Form.Subject, r.Form.Event, fmt.Sprint(r.Form.EventRepeat), r.Form.Form, fmt.Sprint(r.FormVersion), string(r.Status), fmt.Sprintf("%d of %d items", r.Verified, r.Items))
		}
		t.flush()
		for _, r := range rows {
			if r.Record == nil {
				continue
			}
			printf(w, "\nSDV trail of %s %s/%d %s:\n", r.Form.Subject, r.Form.Event, r.Form.EventRepeat, r.Form.Form)
			for _, ev := range r.Record.History {
				printf(w, "  %s %s (form version %d), %s\n", ev.Action, strings.Join(ev.Items, ", "), ev.FormVersion, stampText(ev.Stamp))
				if ev.Comment != "" {
					printf(w, "    %s\n", ev.Comment)
				}
			}
		}
		if s.rd.Proving() {
			printf(w, "Proof: every record verified against the app hash of height %d\n", s.rd.Height())
		}
		return nil
	})
}

// signatureState says whether a signature is valid, invalidated by a
// correction, or valid but no longer covering its whole target because
// forms were entered after it (forms: the subject's current forms).
func signatureState(sg *types.Signature, forms []types.FormRecord) string {
	if sg.Status == types.SignatureInvalidated {
		return "INVALIDATED - needs re-signature"
	}
	if forms != nil {
		m := &types.MsgSign{Study: sg.Study, Subject: sg.Subject, Event: sg.Event, EventRepeat: sg.EventRepeat, Form: sg.Form}
		if m.Content(forms).Hash() != sg.ContentHash {
			return "valid for what it covers; forms entered since - sign again"
		}
	}
	return "valid"
}

func showSignatures(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	sigs, err := s.rd.Signatures(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	forms, err := s.rd.SubjectForms(s.ctx, c.String("study"), c.String("subject"))
	if err != nil {
		return nodeError(err)
	}
	type sigDoc struct {
		types.Signature
		State string `json:"state"`
	}
	docs := make([]sigDoc, len(sigs))
	for i := range sigs {
		docs[i] = sigDoc{sigs[i], signatureState(&sigs[i], forms)}
	}
	h := s.rd.Height()
	doc := map[string]any{"study": c.String("study"), "subject": c.String("subject"), "signatures": docs, "height": h, "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "%d signature(s) at height %d\n", len(sigs), h)
		writeSignatures(w, sigs, forms)
		if s.rd.Proving() {
			printf(w, "Proof: every signature verified against the app hash of height %d\n", h)
		}
		return nil
	})
}

func writeSignatures(w io.Writer, sigs []types.Signature, forms []types.FormRecord) {
	for i := range sigs {
		sg := &sigs[i]
		what := "casebook"
		switch sg.Level {
		case types.SignForm:
			what = fmt.Sprintf("form %s at %s (repeat %d)", sg.Form, sg.Event, sg.EventRepeat)
		case types.SignEvent:
			what = fmt.Sprintf("event %s (repeat %d)", sg.Event, sg.EventRepeat)
		}
		printf(w, "\nSignature %d of subject %s: %s, %s\n", sg.Number, sg.Subject, what, signatureState(sg, forms))
		printf(w, "  Signed by %s (%s, %s), meaning: %s, at %s (height %d, tx %s)\n", sg.PrintedName, sg.Account, sg.Role, sg.Meaning, sg.SignedAt, sg.Signed.Height, sg.Signed.TxHash)
		printf(w, "  Content SHA-256 %s over %d form version(s)\n", sg.ContentHash, len(sg.Forms))
		printf(w, "  Statement: %s\n", sg.Statement)
		if sg.Invalidated != nil {
			printf(w, "  Invalidated %s: %s\n", stampText(sg.Invalidated.Stamp), sg.Invalidated.Reason)
		}
	}
}

func showLocks(c *cli.Context) error {
	s, st, err := newShowStudy(c)
	if err != nil {
		return err
	}
	locks, err := s.rd.ScopeLocks(s.ctx, st.ID)
	if err != nil {
		return nodeError(err)
	}
	db, err := s.rd.DatabaseLock(s.ctx, st.ID)
	if err != nil {
		return nodeError(err)
	}
	approvers, quorum := st.LockPolicy()
	doc := map[string]any{"study": st.ID, "lock_height": st.LockHeight, "locked": st.LockHeight > 0, "scopes": locks, "pending": db,
		"lock_approvers": approvers, "lock_quorum": quorum, "sdv_policy": st.SDV(), "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		writeLockSummary(w, st, db)
		if len(locks) > 0 {
			writeLocks(w, locks)
		}
		proofLine(w, s.rd)
		return nil
	})
}

func writeLockSummary(w io.Writer, st *types.Study, db *types.DatabaseLock) {
	approvers, quorum := st.LockPolicy()
	if st.LockHeight > 0 {
		printf(w, "Database: LOCKED at height %d (the locked dataset)\n", st.LockHeight)
	} else {
		printf(w, "Database: not locked\n")
	}
	printf(w, "Lock approvers: %s (quorum %d, the sponsor always); SDV policy: %s; signature meanings: %s\n", strings.Join(approvers, ", "), quorum, st.SDV(), strings.Join(st.SignatureMeanings(), ", "))
	if db != nil && db.Action != "" {
		var orgs []string
		for _, v := range db.Approvals {
			orgs = append(orgs, fmt.Sprintf("%s (%s, height %d)", v.Org, v.Stamp.Signer, v.Stamp.Height))
		}
		printf(w, "Pending database %s: %d of %d approvals: %s\n", db.Action, len(db.Approvals), quorum, strings.Join(orgs, ", "))
	}
	if db != nil && len(db.Lapsed) > 0 && st.LockHeight == 0 {
		l := db.Lapsed[len(db.Lapsed)-1]
		var orgs []string
		for _, v := range l.Approvals {
			orgs = append(orgs, fmt.Sprintf("%s (height %d)", v.Org, v.Stamp.Height))
		}
		printf(w, "Cancelled by a change to the data: the database %s approvals of %s, by %s's change at height %d (tx %s); approvers approve the data as it stands again (%d cancellation(s) in all)\n",
			l.Action, strings.Join(orgs, ", "), l.Stamp.Signer, l.Stamp.Height, l.Stamp.TxHash, len(db.Lapsed))
	}
}

// subjectDM is the data management state of one subject for show subject.
type subjectDM struct {
	queries []types.Query
	sdv     []types.SDVRecord
	sigs    []types.Signature
	locks   []types.ScopeLock
	sub     *types.Subject
	forms   []types.FormRecord
}

func (s *showCtx) subjectDM(sub *types.Subject, forms []types.FormRecord) (*subjectDM, error) {
	d := &subjectDM{sub: sub, forms: forms}
	qs, err := s.rd.Queries(s.ctx, sub.Study)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		if q.Subject == sub.ID {
			d.queries = append(d.queries, q)
		}
	}
	if d.sdv, err = s.rd.SDVs(s.ctx, sub.Study, sub.ID); err != nil {
		return nil, err
	}
	if d.sigs, err = s.rd.Signatures(s.ctx, sub.Study, sub.ID); err != nil {
		return nil, err
	}
	locks, err := s.rd.ScopeLocks(s.ctx, sub.Study)
	if err != nil {
		return nil, err
	}
	for _, l := range locks {
		switch {
		case l.Level == types.ScopeStudy, l.Level == types.ScopeSite && l.Site == sub.Site, l.Subject == sub.ID:
			d.locks = append(d.locks, l)
		}
	}
	return d, nil
}

func (d *subjectDM) queryText(k types.FormKey) string {
	open, answered, all := 0, 0, 0
	for _, q := range d.queries {
		if q.FormKey() == k {
			all++
			switch q.Status {
			case types.QueryOpen:
				open++
			case types.QueryAnswered:
				answered++
			}
		}
	}
	if all == 0 {
		return "-"
	}
	return fmt.Sprintf("%d open, %d answered (of %d)", open, answered, all)
}

func (d *subjectDM) sdvText(k types.FormKey) string {
	for _, r := range d.sdv {
		if r.FormKey == k {
			return string(r.Status)
		}
	}
	return "none"
}

// stateText is the strictest freeze/lock state covering a form.
func (d *subjectDM) stateText(k types.FormKey) string {
	state := types.StateOpen
	for _, l := range d.locks {
		if l.Level == types.ScopeForm && (l.Event != k.Event || l.EventRepeat != k.EventRepeat || l.Form != k.Form) {
			continue
		}
		if l.State == types.StateLocked || l.State == types.StateFrozen && state == types.StateOpen {
			state = l.State
		}
	}
	return string(state)
}

func (d *subjectDM) write(w io.Writer) {
	for _, q := range d.queries {
		if !q.Status.Resolved() {
			printf(w, "Query %d (%s) on %s: %s\n", q.Number, q.Status, q.Target(), shorten(q.Thread[0].Text, 80))
		}
	}
	for i := range d.sigs {
		sg := &d.sigs[i]
		scope := sg.Level
		if sg.Level != types.SignCasebook {
			scope += " " + sg.Event
			if sg.Form != "" {
				scope += " " + sg.Form
			}
		}
		printf(w, "Signature %d (%s, %s) by %s at %s: %s\n", sg.Number, scope, sg.Meaning, sg.PrintedName, sg.SignedAt, signatureState(sg, d.forms))
	}
}

// showTx prints the outcome of a tx in its block: accepted or rejected,
// with the ledger's code. A tx no block holds, or one the reader may not
// see, is not found (exit 1).
func showTx(c *cli.Context) error {
	hash := strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(c.String("hash")), "0x"))
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		return usageErrorf("--hash %q is not a tx hash: 64 hex characters", c.String("hash"))
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := rpcContext(c)
	defer cancel()
	r, err := cl.Tx(ctx, hash)
	if errors.Is(err, client.ErrTxNotFound) {
		return failf("no block holds tx %s that you may see: it is not committed (yet), or neither you signed it nor may you see its record", hash)
	}
	if err != nil {
		return nodeError(err)
	}
	out := txOutcome{TxHash: r.Hash, Height: r.Height, Code: r.Code, Name: r.Name, Log: r.Log, Stage: r.Stage}
	return emit(c, out, func(w io.Writer) error {
		if r.OK() {
			printf(w, "tx %s: committed at height %d, accepted\n", r.Hash, r.Height)
			return nil
		}
		printf(w, "tx %s: in block %d, rejected: code %d (%s): %s\n", r.Hash, r.Height, r.Code, r.Name, r.Log)
		return nil
	})
}

// onDate is " on DATE", or "" when no date was given.
func onDate(date string) string {
	if date == "" {
		return ""
	}
	return " on " + date
}
