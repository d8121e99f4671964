package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/allocation"
	"github.com/veritrial/veritrial/app/audit"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

func randomizationCommand() *cli.Command {
	list := &cli.StringFlag{Name: "list", Required: true, Usage: "the allocation list `FILE` (CSV, as generate wrote it)"}
	return &cli.Command{
		Name:     "randomization",
		Usage:    "the sealed allocation list: generate, register, reveal and publish (the sponsor's unblinded statistician)",
		Category: categoryWorkflow,
		Description: `The list stays with the unblinded statistician; the ledger holds one SHA-256
commitment per entry until the entry is published (an emergency unblinding,
or the database lock). docs/RANDOMIZATION.md has the rules and the file format.`,
		Subcommands: []*cli.Command{
			{
				Name:      "generate",
				Usage:     "generate the allocation list by permuted blocks per stratum (off the ledger)",
				UsageText: "veritrial randomization generate --from sponsor-stat --study VT-HTN-201 --out alloc.csv [--block-size 6 --size 60 --seed-file F]",
				Description: `Reads the protocol in force and the sites activated in the study, and writes
--size entries for every stratum the protocol's factors give, in blocks of
--block-size (a multiple of the number of arms), each entry with a random
32-byte salt. With --seed-file every random choice derives from the file's
SHA-256, so the same file reproduces the list; without it the seed comes
from the operating system and is not kept. --sites replaces the study's
activated sites (a list generated before its sites are activated).`,
				Flags: append([]cli.Flag{studyFlag(),
					&cli.StringFlag{Name: "out", Required: true, Usage: "the list `FILE` to write (CSV)"},
					&cli.IntFlag{Name: "block-size", Usage: "entries per permuted block (a multiple of the number of arms)", DefaultText: "twice the number of arms"},
					&cli.IntFlag{Name: "size", Value: 60, Usage: "entries per stratum (a whole number of blocks)"},
					&cli.StringFlag{Name: "seed-file", Usage: "derive every random choice from this `FILE`"},
					&cli.StringFlag{Name: "sites", Usage: "comma-separated site `IDS` instead of the study's activated sites"},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing --out file"},
				}, readFlags()...),
				Action: generateList,
			},
			{
				Name:      "register",
				Usage:     "register the list's commitments on the ledger (sponsor statistician)",
				ArgsUsage: "LIST_FILE",
				UsageText: "veritrial randomization register --from sponsor-stat --study VT-HTN-201 alloc.csv",
				Description: `Sends, for each stratum, the commitments of the entries the ledger does not
hold yet, in as many transactions as the list needs; the entries it holds
already must match the file (the first that does not is named). No arm
leaves the file.`,
				Flags:  []cli.Flag{studyFlag()},
				Action: registerList,
			},
			{
				Name:      "reveal",
				Usage:     "print a randomised subject's arm from the list, checked against the ledger's commitment (list holder)",
				UsageText: "veritrial randomization reveal --from sponsor-stat --list alloc.csv --study VT-HTN-201 --subject S1-001",
				Description: `Reads the subject's allocation (stratum, entry and commitment) with a proof
against a header verified from the genesis, finds the entry in the list and
checks that its arm and salt give the commitment; the arm and the proof are
printed, and nothing is written to the ledger.`,
				Flags: []cli.Flag{studyFlag(), list, subjectFlag(true, "the subject `ID`"),
					&cli.Int64Flag{Name: "height", Usage: "read the ledger as it was after block `H` (default: latest)"},
					&cli.BoolFlag{Name: "prove", Value: true, Usage: "verify the allocation's proof (--prove=false skips it)"}},
				Action: revealAllocation,
			},
			{
				Name:      "publish",
				Usage:     "publish arm and salt of an unblinded subject's entry, or of the whole list after the database lock (sponsor statistician)",
				UsageText: "veritrial randomization publish --from sponsor-stat --list alloc.csv --study VT-HTN-201 (--subject S1-001 | --all)",
				Description: `Every validator checks each published arm and salt against the entry's
commitment. A subject's entry is published once an investigator unblinded
the subject (veritrial subject unblind); --all publishes every entry not yet
published, assigned or not, once the database is locked.`,
				Flags: []cli.Flag{studyFlag(), list, subjectFlag(false, "the unblinded subject `ID`"),
					&cli.BoolFlag{Name: "all", Usage: "every entry not yet published (after the database lock)"}},
				Action: publishList,
			},
		},
	}
}

// subjectRandomizationCommands are subject randomize and subject unblind.
func subjectRandomizationCommands(study, subject cli.Flag) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "randomize",
			Usage:     "randomise an eligible subject: the ledger assigns the next entry of its stratum (site)",
			UsageText: "veritrial subject randomize --from site1-coordinator --study VT-HTN-201 --subject S1-001",
			Description: `The eligibility form must be entered and say eligible, and the items that
decide the stratum must be entered. The arm stays sealed: the pharmacy learns
it from the list holder (veritrial randomization reveal).`,
			Flags: []cli.Flag{study, subject},
			Action: func(c *cli.Context) error {
				m := &types.MsgRandomize{Study: c.String("study"), Subject: c.String("subject")}
				return sendWrite(c, write{msg: types.Msg{Randomize: m}, done: func(_ context.Context, _ *client.Client, res *client.Result) string {
					return fmt.Sprintf("Randomised subject %s of study %s: stratum %s, entry %s", m.Subject, m.Study, res.Attr("stratum"), res.Attr("seq"))
				}})
			},
		},
		{
			Name:      "unblind",
			Usage:     "unblind a randomised subject in an emergency, with a reason (site investigator)",
			UsageText: `veritrial subject unblind --from site1-investigator --study VT-HTN-201 --subject S1-001 --reason "suspected anaphylaxis"`,
			Description: `Opens the subject's entry: the sponsor's statistician then publishes its arm
(veritrial randomization publish --subject), which every validator checks
against the commitment. The audit report lists every unblinding.`,
			Flags: []cli.Flag{study, subject, &cli.StringFlag{Name: "reason", Required: true, Usage: "why the arm is needed (kept in the trail)"}},
			Action: func(c *cli.Context) error {
				m := &types.MsgUnblind{Study: c.String("study"), Subject: c.String("subject"), Reason: c.String("reason")}
				return send(c, types.Msg{Unblind: m}, fmt.Sprintf("Unblinded subject %s of study %s; the statistician publishes its arm", m.Subject, m.Study))
			},
		},
	}
}

// readList reads a list file of study.
func readList(path, study string) (*allocation.List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputErrorf("cannot read the allocation list %s: %v", path, pathError(err))
	}
	defer f.Close()
	l, err := allocation.Read(f, path)
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	if l.Study != study {
		return nil, inputErrorf("%s is the list of study %s, not %s", path, l.Study, study)
	}
	return l, nil
}

func generateList(c *cli.Context) error {
	s, st, err := newShowStudy(c)
	if err != nil {
		return err
	}
	pv, err := s.rd.ProtocolVersion(s.ctx, st.ID, st.Current)
	if err != nil {
		return nodeError(err)
	}
	r := pv.Protocol.Randomization
	if r == nil {
		return inputErrorf("the protocol in force of study %s (version %d) has no randomisation section", st.ID, st.Current)
	}
	var sites []string
	if c.IsSet("sites") {
		sites = strings.Split(c.String("sites"), ",")
	} else {
		ss, err := s.rd.Sites(s.ctx, st.ID)
		if err != nil {
			return nodeError(err)
		}
		for _, x := range ss {
			sites = append(sites, x.Org)
		}
	}
	var arms []string
	for _, a := range pv.Protocol.Study.Arms {
		arms = append(arms, a.OID)
	}
	block := c.Int("block-size")
	if !c.IsSet("block-size") {
		block = 2 * len(arms)
	}
	var seed [32]byte
	if f := c.String("seed-file"); f != "" {
		data, err := readInputFile(f, "seed file", maxSmallFile)
		if err != nil {
			return err
		}
		seed = allocation.SeedFrom(data)
	} else if _, err := rand.Read(seed[:]); err != nil {
		return failf("no randomness from the operating system: %v", err)
	}
	l, err := allocation.Generate(st.ID, r.AllStrata(sites), arms, c.Int("size"), block, seed)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := writeFileWith(c.String("out"), 0o600, c.Bool("force"), func(w io.Writer) error { return allocation.Write(w, l) }); err != nil {
		return err
	}
	doc := map[string]any{"study": st.ID, "strata": l.Strata, "entries": l.Len(), "block_size": block, "out": c.String("out")}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Wrote %d entries of study %s in %d strata (blocks of %d) to %s; keep it with the unblinded statistician\n", l.Len(), st.ID, len(l.Strata), block, c.String("out"))
		return nil
	})
}

func registerList(c *cli.Context) error {
	if err := exactArgs(c, "LIST_FILE"); err != nil {
		return err
	}
	l, err := readList(c.Args().First(), c.String("study"))
	if err != nil {
		return err
	}
	s, err := newShow(c)
	if err != nil {
		return err
	}
	sent := 0
	for _, stratum := range l.Strata {
		have, err := s.rd.RandEntries(s.ctx, l.Study, stratum)
		if err != nil {
			return nodeError(err)
		}
		es := l.Entries(stratum)
		if err := matchRegistered(es, have); err != nil {
			return err
		}
		for first := len(have) + 1; first <= len(es); first += types.MaxCommitmentsPerTx {
			last := min(first+types.MaxCommitmentsPerTx-1, len(es))
			m := &types.MsgRegisterAllocations{Study: l.Study, Stratum: stratum, First: first}
			for _, e := range es[first-1 : last] {
				m.Commitments = append(m.Commitments, e.Commitment())
			}
			if err := send(c, types.Msg{RegisterAllocations: m}, fmt.Sprintf("Registered entries %d to %d of stratum %s of study %s", first, last, stratum, l.Study)); err != nil {
				return err
			}
			sent++
		}
	}
	if sent == 0 && !isJSON(c) {
		printf(c.App.Writer, "The ledger holds every entry of %s already\n", c.Args().First())
	}
	return nil
}

// matchRegistered checks the entries the ledger holds against the list's.
func matchRegistered(es []allocation.Entry, have []types.RandEntry) error {
	if len(have) > len(es) {
		return inputErrorf("the ledger holds %d entries of stratum %s, the list only %d", len(have), es[0].Stratum, len(es))
	}
	for i, h := range have {
		if c := es[i].Commitment(); c != h.Commitment {
			return inputErrorf("entry %s does not match the ledger: the list gives commitment %s, the ledger holds %s (registered at height %d)", es[i], c, h.Commitment, h.Registered)
		}
	}
	return nil
}

func revealAllocation(c *cli.Context) error {
	l, err := readList(c.String("list"), c.String("study"))
	if err != nil {
		return err
	}
	s, err := newShow(c)
	if err != nil {
		return err
	}
	a, e, err := subjectEntry(s, l, c.String("subject"))
	if err != nil {
		return err
	}
	r := e.Reveal()
	doc := map[string]any{"study": a.Study, "subject": a.Subject, "stratum": a.Stratum, "seq": a.Seq, "arm": r.Arm, "salt": r.Salt,
		"commitment": a.Commitment, "randomized": a.Randomized, "height": s.rd.Height(), "proven": s.rd.Proving()}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "Subject %s of study %s: arm %s\n", a.Subject, a.Study, r.Arm)
		printf(w, "  entry %d of stratum %s (list line %d), randomised %s\n", a.Seq, a.Stratum, e.Line, stampText(a.Randomized))
		printf(w, "  salt %s\n  SHA-256 commitment %s: matches the ledger\n", r.Salt, a.Commitment)
		proofLine(w, s.rd)
		return nil
	})
}

// subjectEntry reads a randomised subject's allocation and finds its
// entry in the list, checked against the commitment.
func subjectEntry(s *showCtx, l *allocation.List, subject string) (*types.Allocation, allocation.Entry, error) {
	a, err := s.rd.Allocation(s.ctx, l.Study, subject)
	if err != nil {
		return nil, allocation.Entry{}, nodeError(err)
	}
	e, err := listEntry(l, a.Stratum, a.Seq, a.Commitment)
	return a, e, err
}

// listEntry finds entry seq of stratum in the list and checks it opens
// commitment.
func listEntry(l *allocation.List, stratum string, seq int, commitment string) (allocation.Entry, error) {
	e, ok := l.Entry(stratum, seq)
	if !ok {
		return e, inputErrorf("the list has no entry %d of stratum %s: it is not the list registered for study %s", seq, stratum, l.Study)
	}
	if got := e.Commitment(); got != commitment {
		return e, inputErrorf("entry %s does not match the ledger: the list gives commitment %s, the ledger holds %s", e, got, commitment)
	}
	return e, nil
}

func publishList(c *cli.Context) error {
	all := c.Bool("all")
	if all == c.IsSet("subject") {
		return usageErrorf("give --subject ID or --all")
	}
	l, err := readList(c.String("list"), c.String("study"))
	if err != nil {
		return err
	}
	s, err := newShow(c)
	if err != nil {
		return err
	}
	var reveals []types.AllocationReveal
	if !all {
		a, e, err := subjectEntry(s, l, c.String("subject"))
		if err != nil {
			return err
		}
		m := &types.MsgPublishAllocations{Study: l.Study, Entries: []types.AllocationReveal{e.Reveal()}}
		return send(c, types.Msg{PublishAllocations: m}, fmt.Sprintf("Published the allocation of subject %s of study %s: arm %s", a.Subject, l.Study, e.Arm))
	}
	strata, err := s.rd.RandStrata(s.ctx, l.Study)
	if err != nil {
		return nodeError(err)
	}
	for _, h := range strata {
		have, err := s.rd.RandEntries(s.ctx, l.Study, h.Stratum)
		if err != nil {
			return nodeError(err)
		}
		for _, x := range have {
			if x.Published != nil {
				continue
			}
			e, err := listEntry(l, x.Stratum, x.Seq, x.Commitment)
			if err != nil {
				return err
			}
			reveals = append(reveals, e.Reveal())
		}
	}
	if len(reveals) == 0 {
		return emit(c, map[string]any{"published": 0}, func(w io.Writer) error {
			printf(w, "Every registered entry of study %s is published already\n", l.Study)
			return nil
		})
	}
	for from := 0; from < len(reveals); from += types.MaxRevealsPerTx {
		part := reveals[from:min(from+types.MaxRevealsPerTx, len(reveals))]
		m := &types.MsgPublishAllocations{Study: l.Study, Entries: part}
		if err := send(c, types.Msg{PublishAllocations: m}, fmt.Sprintf("Published %d entries of study %s (%d to %d of %d)", len(part), l.Study, from+1, from+len(part), len(reveals))); err != nil {
			return err
		}
	}
	return nil
}

// writeUnblindings lists the emergency unblindings of an audit report.
func writeUnblindings(w io.Writer, us []audit.Unblinding) {
	printf(w, "\nEmergency unblindings: %d\n", len(us))
	if len(us) == 0 {
		return
	}
	t := newTable(w)
	t.row("SUBJECT", "SITE", "UNBLINDED", "BY", "REASON", "ARM PUBLISHED")
	for _, u := range us {
		pub := "not yet"
		if u.Published != nil {
			pub = fmt.Sprintf("%s (height %d)", u.Published.Time, u.Published.Height)
		}
		t.row(u.Subject, u.Site, fmt.Sprintf("%s (height %d)", u.By.Time, u.By.Height), u.By.Signer+" ("+string(u.By.Role)+")", u.Reason, pub)
	}
	t.flush()
}

// writeAllocation says where a randomised subject stands: its entry,
// any unblinding, and the arm once published.
func writeAllocation(w io.Writer, a *types.Allocation) {
	printf(w, "Randomised %s: entry %d of stratum %s\n", stampText(a.Randomized), a.Seq, a.Stratum)
	if u := a.Unblinding; u != nil {
		printf(w, "Unblinded %s: %s\n", stampText(u.Stamp), u.Reason)
	}
	if a.Published != nil {
		printf(w, "Arm %s, published at height %d and checked against the commitment\n", a.Arm, a.Published.Height)
	} else {
		printf(w, "Arm sealed (commitment %s)\n", a.Commitment)
	}
}
