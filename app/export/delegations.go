package export

import (
	"fmt"
	"strings"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// The delegation log of a study: who was allowed to act on it, from when
// to when, on whose word. Each site's principal investigators (from the
// site records), then the delegations (CROs, then each site's people),
// one row per step.

// Scopes of the delegation log.
const (
	scopePI   = "principal investigator"
	scopeCRO  = "CRO"
	scopeSite = "site"
)

// delegationStep is one step of the delegation log.
type delegationStep struct {
	scope, site, org, account, name string
	step                            int
	action, tasks, status, reason   string
	stamp                           types.Stamp
	key                             string
}

// delegationLog calls fn for every step of the study's delegation log,
// in ledger key order of the records, each record's steps in order.
func (d *dataset) delegationLog(fn func(*delegationStep) error) error {
	names := make(map[string]string, len(d.accounts))
	for _, a := range d.accounts {
		names[a.ID] = a.Name
	}
	for _, st := range d.sites {
		key := string(types.KeySite(d.opt.Study, st.Org))
		for i, h := range st.History {
			status := "former"
			if i == len(st.History)-1 {
				status = "current"
			}
			if err := fn(&delegationStep{scope: scopePI, site: st.Org, org: st.Org, account: h.PrincipalInvestigator, name: names[h.PrincipalInvestigator],
				step: i + 1, action: h.Action, tasks: "every site task", status: status, reason: h.Reason, stamp: h.Stamp, key: key}); err != nil {
				return err
			}
		}
	}
	return client.ScanJSON(d.ctx, d.r, types.PrefixDeleg+d.opt.Study+"/", func(key string, dl *types.Delegation) error {
		d.tick(1)
		scope, site := scopeCRO, ""
		if dl.Account != "" {
			scope, site = scopeSite, dl.Org
		}
		for i, h := range dl.History {
			if err := fn(&delegationStep{scope: scope, site: site, org: dl.Org, account: dl.Account, name: dl.Name, step: i + 1, action: h.Action,
				tasks: types.TaskList(h.Tasks), status: string(dl.Status), reason: h.Reason, stamp: h.Stamp, key: key}); err != nil {
				return err
			}
		}
		return nil
	})
}

var delegationCols = cols(join([]string{"scope", "Scope", "site", "Site", "delegated_org", "Organisation delegated",
	"delegated_account", "Person delegated (account)", "delegated_name", "Person delegated (printed name)", "step", "Step",
	"action", "Action", "tasks", "Tasks from this step", "current_status", "Current status", "reason", "Reason"}, stampCols, chainCols)...)

func (d *dataset) delegationsTable(b book) error {
	t, err := b.table(tDelegations[0], tDelegations[1], delegationCols, 1)
	if err != nil {
		return err
	}
	var row []cell
	if err := d.delegationLog(func(s *delegationStep) error {
		row = append(row[:0], txt(s.scope), txt(s.site), txt(s.org), txt(s.account), txt(s.name), numi(s.step),
			txt(s.action), txt(s.tasks), txt(s.status), txt(s.reason))
		row = append(row, stampCells(s.stamp)...)
		return t.row(append(row, chainCells(s.stamp, s.key)...))
	}); err != nil {
		return err
	}
	return t.close()
}

// odmDelegations writes the delegation log as ClinicalData Annotations,
// one per record with its whole history (ODM 1.3.2 has no element for
// it).
func (d *dataset) odmDelegations(x *xw) error {
	type note struct{ side, text string }
	var notes []note
	var b strings.Builder
	err := d.delegationLog(func(s *delegationStep) error {
		if s.step == 1 {
			b.Reset()
			side := "Sponsor"
			switch s.scope {
			case scopePI:
				fmt.Fprintf(&b, "delegation log: principal investigator of site %s", s.site)
			case scopeCRO:
				fmt.Fprintf(&b, "delegation log: study work delegated to CRO %s", s.org)
			default:
				side = "Site"
				fmt.Fprintf(&b, "delegation log: site %s, %s (%s)", s.site, s.name, s.account)
			}
			notes = append(notes, note{side: side})
		}
		fmt.Fprintf(&b, "; step %d %s", s.step, s.action)
		if s.scope == scopePI {
			fmt.Fprintf(&b, " %s (%s)", s.name, s.account)
		} else {
			fmt.Fprintf(&b, " [%s]", s.tasks)
		}
		fmt.Fprintf(&b, " by %s", stampNote(s.stamp))
		if s.reason != "" {
			fmt.Fprintf(&b, ": %s", s.reason)
		}
		notes[len(notes)-1].text = fmt.Sprintf("%s; status %s; ledger key %s", b.String(), s.status, s.key)
		return nil
	})
	if err != nil || len(notes) == 0 {
		return err
	}
	x.open("Annotations")
	x.nl()
	for i, n := range notes {
		x.open("Annotation", "SeqNum", itoa(i+1))
		x.open("Comment", "SponsorOrSite", n.side)
		x.esc(n.text, false)
		x.close("Comment")
		x.close("Annotation")
		x.nl()
	}
	x.close("Annotations")
	x.nl()
	return x.err
}
