package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

// dmShowCommands are the data management subcommands of veritrial show.
func dmShowCommands(with func(extra ...cli.Flag) []cli.Flag) []*cli.Command {
	study := func() cli.Flag { return &cli.StringFlag{Name: "study", Required: true} }
	subject := func(req bool) cli.Flag { return &cli.StringFlag{Name: "subject", Required: req} }
	return []*cli.Command{
		{Name: "query", Usage: "one data query and its whole thread", UsageText: "veritrial show query --study VT-HTN-201 --number 3 --prove",
			Flags: with(study(), &cli.IntFlag{Name: "number", Aliases: []string{"n"}, Required: true}), Action: showQuery},
		{Name: "queries", Usage: "a study's data queries (veritrial query list has filters)", UsageText: "veritrial show queries --study VT-HTN-201 --prove",
			Flags: with(study(), &cli.StringFlag{Name: "site"}, subject(false), &cli.StringFlag{Name: "status", Value: "all"}, &cli.StringFlag{Name: "older-than"}, &cli.BoolFlag{Name: "thread"}), Action: listQueries},
		{Name: "sdv", Usage: "source data verification of a subject's forms, with the trail", UsageText: "veritrial show sdv --study VT-HTN-201 --subject S1-001 --prove",
			Flags: with(study(), subject(false)), Action: showSDV},
		{Name: "signatures", Usage: "e-signatures of a subject with their validity", UsageText: "veritrial show signatures --study VT-HTN-201 --subject S1-001 --prove",
			Flags: with(study(), subject(false)), Action: showSignatures},
		{Name: "locks", Usage: "freeze and lock states of a study, the database lock and pending approvals", UsageText: "veritrial show locks --study VT-HTN-201 --prove",
			Flags: with(study()), Action: showLocks},
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
		fmt.Fprintln(t, "SUBJECT\tEVENT\tREPEAT\tFORM\tVERSION\tSDV\tVERIFIED")
		for _, r := range rows {
			fmt.Fprintf(t, "%s\t%s\t%d\t%s\t%d\t%s\t%d of %d items\n", r.Form.Subject, r.Form.Event, r.Form.EventRepeat, r.Form.Form, r.FormVersion, r.Status, r.Verified, r.Items)
		}
		t.Flush()
		for _, r := range rows {
			if r.Record == nil {
				continue
			}
			fmt.Fprintf(w, "\nSDV trail of %s %s/%d %s:\n", r.Form.Subject, r.Form.Event, r.Form.EventRepeat, r.Form.Form)
			for _, ev := range r.Record.History {
				fmt.Fprintf(w, "  %s %s (form version %d), %s\n", ev.Action, strings.Join(ev.Items, ", "), ev.FormVersion, stampText(ev.Stamp))
				if ev.Comment != "" {
					fmt.Fprintf(w, "    %s\n", ev.Comment)
				}
			}
		}
		if s.rd.Proving() {
			fmt.Fprintf(w, "Proof: every record verified against the app hash of height %d\n", s.rd.Height())
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
		fmt.Fprintf(w, "%d signature(s) at height %d\n", len(sigs), h)
		writeSignatures(w, sigs, forms)
		if s.rd.Proving() {
			fmt.Fprintf(w, "Proof: every signature verified against the app hash of height %d\n", h)
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
		fmt.Fprintf(w, "\nSignature %d of subject %s: %s, %s\n", sg.Number, sg.Subject, what, signatureState(sg, forms))
		fmt.Fprintf(w, "  Signed by %s (%s, %s), meaning: %s, at %s (height %d, tx %s)\n", sg.PrintedName, sg.Account, sg.Role, sg.Meaning, sg.SignedAt, sg.Signed.Height, sg.Signed.TxHash)
		fmt.Fprintf(w, "  Content SHA-256 %s over %d form version(s)\n", sg.ContentHash, len(sg.Forms))
		fmt.Fprintf(w, "  Statement: %s\n", sg.Statement)
		if sg.Invalidated != nil {
			fmt.Fprintf(w, "  Invalidated %s: %s\n", stampText(sg.Invalidated.Stamp), sg.Invalidated.Reason)
		}
	}
}

func showLocks(c *cli.Context) error {
	s, err := newShow(c)
	if err != nil {
		return err
	}
	st, err := s.rd.Study(s.ctx, c.String("study"))
	if err != nil {
		return nodeError(err)
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
		fmt.Fprintf(w, "Database: LOCKED at height %d (the locked dataset)\n", st.LockHeight)
	} else {
		fmt.Fprintf(w, "Database: not locked\n")
	}
	fmt.Fprintf(w, "Lock approvers: %s (quorum %d, the sponsor always); SDV policy: %s; signature meanings: %s\n", strings.Join(approvers, ", "), quorum, st.SDV(), strings.Join(st.SignatureMeanings(), ", "))
	if db != nil && db.Action != "" {
		var orgs []string
		for _, v := range db.Approvals {
			orgs = append(orgs, fmt.Sprintf("%s (%s, height %d)", v.Org, v.Stamp.Signer, v.Stamp.Height))
		}
		fmt.Fprintf(w, "Pending database %s: %d of %d approvals: %s\n", db.Action, len(db.Approvals), quorum, strings.Join(orgs, ", "))
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
			fmt.Fprintf(w, "Query %d (%s) on %s: %s\n", q.Number, q.Status, q.Target(), shorten(q.Thread[0].Text, 80))
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
		fmt.Fprintf(w, "Signature %d (%s, %s) by %s at %s: %s\n", sg.Number, scope, sg.Meaning, sg.PrintedName, sg.SignedAt, signatureState(sg, d.forms))
	}
}
