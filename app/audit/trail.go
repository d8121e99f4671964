package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/lightroot"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Entry is one transaction of the trail: who did what, when, why, under
// which protocol version, and what the ledger answered.
type Entry struct {
	Height int64  `json:"height"`
	Index  int    `json:"index"`
	Time   string `json:"time"` // block time, RFC 3339 UTC
	TxHash string `json:"tx_hash"`

	Signer string `json:"signer"`
	Name   string `json:"name,omitempty"`
	Org    string `json:"org,omitempty"`
	Role   string `json:"role,omitempty"`

	Kind        string `json:"kind"`
	Study       string `json:"study,omitempty"`
	Site        string `json:"site,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Event       string `json:"event,omitempty"`
	EventRepeat int    `json:"event_repeat,omitempty"`
	Form        string `json:"form,omitempty"`
	What        string `json:"what"`
	Reason      string `json:"reason,omitempty"`
	// ProtocolVersion is the study's protocol version in force at the
	// block (0 before registration).
	ProtocolVersion int `json:"protocol_version,omitempty"`

	Code     uint32 `json:"code"`
	CodeName string `json:"code_name"`
	Log      string `json:"log,omitempty"`
	Rejected bool   `json:"rejected"`
	// Verified is true when the block's hash matched a header verified by
	// verify-chain and the results matched the next verified header.
	Verified bool `json:"verified"`

	// Msg is the decoded message (nil when the tx could not be decoded).
	Msg  *types.Msg `json:"-"`
	time time.Time
}

// Target names whose data the entry is about: the subject, the event
// (with its repeat from the second on) and the form it names, "" for a
// study-wide entry.
func (e *Entry) Target() string {
	parts := []string{}
	event := e.Event
	if event != "" && e.EventRepeat > 1 {
		event += "/" + strconv.Itoa(e.EventRepeat)
	}
	for _, s := range []string{e.Subject, event, e.Form} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// BlockTime returns the entry's block time.
func (e *Entry) BlockTime() time.Time { return e.time }

// Ledger is the whole decoded history of a chain with the records the
// trail and report need, read at one height.
type Ledger struct {
	Entries  []Entry
	Accounts map[string]types.Account
	// AccountHistories are the changes of every account, in order: what
	// the account was at each height.
	AccountHistories map[string][]types.AccountChange
	// Orgs are the consortium's organisations.
	Orgs map[string]types.Org
	// Versions are the protocol versions of the study asked for, in order.
	Versions   []types.ProtocolVersion
	Amendments []types.Amendment
	Queries    []types.Query
	// Subjects, Forms (current versions) and Deviations of the study
	// asked for: the schedule's overdue visits and deviations.
	Subjects   []types.Subject
	Forms      []types.FormRecord
	Deviations []types.Deviation
	// SAEs are the serious adverse event records of the study the reader
	// may read.
	SAEs []types.SAE
	// Allocations are the study's randomised subjects' allocations: the
	// report's unblindings.
	Allocations []types.Allocation
	Height      int64
	// LastTime is the time of the last block read (the "now" of ages).
	LastTime time.Time
	// Unverified counts blocks with txs that no verified header covers.
	Unverified int
	// RecordsProven is true when the records (accounts, protocol
	// versions, amendments, queries) were read at Height with proofs
	// checked against a verified app hash.
	RecordsProven bool
}

// FetchOptions configures FetchLedger.
type FetchOptions struct {
	// Client reads the node: through its read API the txs and records
	// the client's reader may see, through its RPC all.
	Client *client.Client
	Study  string
	// TrustDir, when set, holds headers verified by VerifyChain: each
	// block and its results are checked against them.
	TrustDir string
}

// FetchLedger reads the txs of every block, each proven in its block's
// data hash and its result in the next block's results hash (against the
// verified headers of the trust dir when given), decodes every tx with
// types.DecodeTx, and reads the study's protocol versions, amendments,
// queries, subjects, forms and deviations and the accounts at the same
// height.
func FetchLedger(ctx context.Context, o FetchOptions) (*Ledger, error) {
	cl := o.Client
	var trust func(h int64) *cmttypes.LightBlock
	var trustLast int64
	if o.TrustDir != "" {
		ts, closeStore, err := lightroot.OpenTrustStore(o.TrustDir)
		if err != nil {
			return nil, err
		}
		defer closeStore()
		if trustLast, err = ts.LastLightBlockHeight(); err != nil {
			return nil, err
		}
		trust = func(h int64) *cmttypes.LightBlock {
			lb, err := ts.LightBlock(h)
			if err != nil {
				return nil
			}
			return lb
		}
	}

	L := &Ledger{Accounts: map[string]types.Account{}, AccountHistories: map[string][]types.AccountChange{}, Orgs: map[string]types.Org{}}
	r := client.TxRange{From: 1}
	for {
		page, err := cl.Txs(ctx, r)
		if err != nil {
			return nil, err
		}
		if r.To == 0 {
			// Every page ends at the latest height of the first.
			r.To, L.Height, L.LastTime = page.To, page.To, page.ToTime.UTC()
		}
		for i := range page.Blocks {
			es, verified, err := blockEntries(&page.Blocks[i], trust)
			if err != nil {
				return nil, err
			}
			if !verified {
				L.Unverified++
			}
			L.Entries = append(L.Entries, es...)
		}
		if page.Next == 0 {
			break
		}
		r.From = page.Next
	}

	// Records at the latest height with an app hash; with verified
	// headers, at the last height whose app hash is verified, proven.
	latest := L.Height
	recH := latest - 1
	if recH < 1 {
		recH = latest
	}
	var roots client.RootSource
	if trust != nil && trustLast >= 2 {
		recH = min(recH, trustLast-1)
		if lb := trust(recH + 1); lb != nil {
			roots = client.FixedRoot(recH, lb.AppHash)
			L.RecordsProven = true
		}
	}
	L.Height = recH
	if err := L.readRecords(ctx, client.NewReader(cl.Query, recH, roots), o.Study); err != nil {
		if errors.Is(err, client.ErrProof) {
			return nil, fmt.Errorf("the node's records do not match the verified app hash of height %d: %w", recH, err)
		}
		return nil, err
	}
	L.annotate()
	return L, nil
}

// blockEntries checks the txs of a block against its header and their
// results against the next header (both the verified ones of trust when
// it has them), and decodes them. verified is true when both headers are
// the verified ones.
func blockEntries(b *client.BlockTxs, trust func(int64) *cmttypes.LightBlock) ([]Entry, bool, error) {
	h := b.Height
	header, next, err := b.Headers()
	if err != nil {
		return nil, false, err
	}
	if err := b.Verify(header, next); err != nil {
		return nil, false, fmt.Errorf("the node's block %d does not prove its txs: %w", h, err)
	}
	verified := false
	if trust != nil {
		tb, tn := trust(h), trust(h+1)
		if tb != nil && !bytes.Equal(tb.Hash(), header.Hash()) {
			return nil, false, fmt.Errorf("block %d served by the node (hash %X) is not the verified header %X", h, header.Hash(), tb.Hash())
		}
		if tn != nil && next != nil && !bytes.Equal(tn.Hash(), next.Hash()) {
			return nil, false, fmt.Errorf("block %d served by the node (hash %X) is not the verified header %X", h+1, next.Hash(), tn.Hash())
		}
		verified = tb != nil && tn != nil && next != nil
	}
	t := header.Time.UTC()
	out := make([]Entry, len(b.Txs))
	for i, tx := range b.Txs {
		out[i] = decodeEntry(tx.Tx, &abci.ExecTxResult{Code: tx.Code, Log: tx.Log}, h, tx.Index, t)
		out[i].Verified = verified
	}
	return out, verified, nil
}

// readRecords reads the organisations, the accounts and their histories
// and, for study, the protocol versions, amendments and data queries the
// trail and report use.
func (L *Ledger) readRecords(ctx context.Context, r *client.Reader, study string) error {
	if err := client.ScanJSON(ctx, r, types.PrefixOrg, func(_ string, o *types.Org) error {
		L.Orgs[o.ID] = *o
		return nil
	}); err != nil {
		return err
	}
	if err := client.ScanJSON(ctx, r, types.PrefixAccount, func(_ string, a *types.Account) error {
		L.Accounts[a.ID] = *a
		return nil
	}); err != nil {
		return err
	}
	if err := client.ScanJSON(ctx, r, types.PrefixAcctHist, func(_ string, ch *types.AccountChange) error {
		L.AccountHistories[ch.Account.ID] = append(L.AccountHistories[ch.Account.ID], *ch)
		return nil
	}); err != nil || study == "" {
		return err
	}
	var err error
	if L.Versions, err = client.ListJSON[types.ProtocolVersion](ctx, r, types.PrefixProtocol+study+"/"); err != nil {
		return err
	}
	if L.Amendments, err = client.ListJSON[types.Amendment](ctx, r, types.PrefixAmendment+study+"/"); err != nil {
		return err
	}
	if L.Queries, err = client.ListJSON[types.Query](ctx, r, types.PrefixQuery+study+"/"); err != nil {
		return err
	}
	if L.Subjects, err = r.Subjects(ctx, study); err != nil {
		return err
	}
	if L.Forms, err = r.SubjectForms(ctx, study, ""); err != nil {
		return err
	}
	if L.Deviations, err = r.Deviations(ctx, study, ""); err != nil {
		return err
	}
	if L.SAEs, err = r.SAEs(ctx, study, ""); err != nil {
		return err
	}
	L.Allocations, err = r.Allocations(ctx, study)
	return err
}

// decodeEntry describes one tx and its result.
func decodeEntry(raw []byte, r *abci.ExecTxResult, h int64, i int, t time.Time) Entry {
	e := Entry{Height: h, Index: i, Time: t.Format(time.RFC3339Nano), time: t, TxHash: types.TxHash(raw),
		Code: r.Code, CodeName: types.Code(r.Code).String(), Log: r.Log, Rejected: r.Code != 0}
	tx, derr := types.DecodeTx(raw)
	if derr != nil {
		e.Kind, e.What = "undecodable", "transaction could not be decoded: "+derr.Msg
		return e
	}
	e.Signer = tx.Body.Signer
	e.Msg = &tx.Body.Msg
	kind, msg, _ := tx.Body.Msg.Unpack()
	e.Kind = string(kind)
	describe(&e, msg)
	return e
}

// formWhat lists values as ITEM=value, a missing-data code as ITEM
// missing CODE: reason.
func formWhat(vals []protocol.ItemValue) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = types.ItemName(v.Item, v.Repeat) + "=" + v.Value
		if v.Missing != "" {
			parts[i] = types.ItemName(v.Item, v.Repeat) + " missing " + v.MissingText()
		}
	}
	return strings.Join(parts, ", ")
}

// describe fills the target, what and why of an entry from its message.
func describe(e *Entry, msg any) {
	fk := func(k types.FormKey) {
		e.Study, e.Subject, e.Event, e.EventRepeat, e.Form = k.Study, k.Subject, k.Event, k.EventRepeat, k.Form
	}
	switch m := msg.(type) {
	case *types.MsgRegisterStudy:
		e.Study = m.Protocol.Study.ID
		e.What = fmt.Sprintf("registered the study with protocol %s (fingerprint %s)", m.Protocol.Study.Version, short(m.Fingerprint))
	case *types.MsgProposeAmendment:
		e.Study, e.Reason = m.Study, m.Rationale
		e.What = fmt.Sprintf("proposed protocol %s (fingerprint %s)", m.Protocol.Study.Version, short(m.Fingerprint))
	case *types.MsgVoteAmendment:
		e.Study, e.Reason = m.Study, m.Comment
		verb := "approved"
		if e.Kind == string(types.KindRejectAmendment) {
			verb = "rejected"
		}
		e.What = fmt.Sprintf("%s amendment %d", verb, m.Amendment)
	case *types.MsgActivateSite:
		e.Study, e.Site = m.Study, m.Site
		e.What = fmt.Sprintf("activated site %s with principal investigator %s", m.Site, m.PrincipalInvestigator)
	case *types.MsgChangeInvestigator:
		e.Study, e.Site, e.Reason = m.Study, m.Site, m.Reason
		e.What = fmt.Sprintf("named %s principal investigator of site %s", m.PrincipalInvestigator, m.Site)
	case *types.MsgStudyDelegation:
		e.Study, e.Reason = m.Study, m.Reason
		e.What = fmt.Sprintf("delegated %s on the study to CRO %s", types.TaskList(m.Tasks), m.Org)
		if e.Kind == string(types.KindUndelegateStudy) {
			e.What = "revoked the delegation of the study to CRO " + m.Org
		}
	case *types.MsgSiteDelegation:
		e.Study, e.Site, e.Reason = m.Study, m.Site, m.Reason
		e.What = fmt.Sprintf("delegated %s at site %s to %s", types.TaskList(m.Tasks), m.Site, m.Account)
		if e.Kind == string(types.KindUndelegateSite) {
			e.What = fmt.Sprintf("revoked the delegation of %s at site %s", m.Account, m.Site)
		}
	case *types.MsgEnrollSubject:
		e.Study, e.Subject, e.Site = m.Study, m.Subject, m.Site
		e.What = fmt.Sprintf("enrolled subject %s at site %s (consent version %s)", m.Subject, m.Site, m.ConsentVersion)
	case *types.MsgWithdrawSubject:
		e.Study, e.Subject, e.Reason = m.Study, m.Subject, m.Reason
		e.What = "withdrew subject " + m.Subject
		if m.Kind != "" {
			e.What += fmt.Sprintf(" (%s)", m.Kind)
		}
	case *types.MsgReconsent:
		e.Study, e.Subject = m.Study, m.Subject
		e.What = fmt.Sprintf("recorded the re-consent of subject %s (consent version %s)", m.Subject, m.ConsentVersion)
	case *types.MsgAcknowledgeSAE:
		fk(m.FormKey)
		e.What, e.Reason = fmt.Sprintf("acknowledged the serious adverse event in row %d of form %s", m.Row, m.Form), m.Comment
	case *types.MsgSubmitForm:
		fk(m.FormKey)
		e.What = fmt.Sprintf("entered form %s: %s", m.Form, formWhat(m.Values))
	case *types.MsgCorrectForm:
		fk(m.FormKey)
		e.Reason = m.Reason
		e.What = fmt.Sprintf("corrected form %s: %s", m.Form, formWhat(m.Changes))
		if len(m.Resolves) > 0 {
			e.What += fmt.Sprintf(" (resolving queries %v)", m.Resolves)
		}
	case *types.MsgAddAccount:
		e.What = fmt.Sprintf("added account %s with roles %v", m.Account, m.Roles)
	case *types.MsgSetRoles:
		e.What = fmt.Sprintf("set the roles of %s to %v", m.Account, m.Roles)
	case *types.MsgRotateKey:
		e.What = "rotated the key of " + m.Account
		if m.Account != e.Signer {
			e.What = fmt.Sprintf("requested the rotation of the key of %s to %s (a second person approves it)", m.Account, short(types.KeyText(m.NewPubKey)))
		}
	case *types.MsgApproveKeyRotation:
		e.What = fmt.Sprintf("approved the rotation of the key of %s to %s", m.Account, short(types.KeyText(m.NewPubKey)))
	case *types.MsgRevokeAccount:
		e.Reason = m.Reason
		e.What = "revoked account " + m.Account
	case *types.MsgOpenQuery:
		fk(m.FormKey)
		target := "form " + m.Form
		switch {
		case m.Item != "":
			target = "item " + types.ItemName(m.Item, m.ItemRepeat)
		case m.Missing:
			target = "missing form " + m.Form
		}
		e.What, e.Reason = "raised a query on "+target, m.Text
	case *types.MsgQueryAction:
		e.Study, e.Reason = m.Study, m.Text
		e.What = fmt.Sprintf("%s query %d", strings.TrimPrefix(e.Kind, "query_"), m.Number)
	case *types.MsgVerify:
		fk(types.FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form})
		target := "every form of the event"
		if m.Item != "" {
			target = "item " + types.ItemName(m.Item, m.ItemRepeat)
		} else if m.Form != "" {
			target = "form " + m.Form
		}
		e.What, e.Reason = "verified "+target+" against source", m.Comment
	case *types.MsgSign:
		fk(types.FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form})
		e.What = fmt.Sprintf("signed the %s with the meaning %q (content %s)", m.Level(), m.Meaning, short(m.ContentHash))
	case *types.MsgScope:
		e.Study, e.Site, e.Subject, e.Event, e.EventRepeat, e.Form = m.Study, m.Site, m.Subject, m.Event, m.EventRepeat, m.Form
		e.What, e.Reason = e.Kind+" "+m.Scope.String(), m.Reason
	case *types.MsgSetLabRanges:
		e.Study, e.Reason = m.Study, m.Reason
		e.What = fmt.Sprintf("registered a reference-range table for lab items (%d ranges)", len(m.Ranges))
	case *types.MsgAssessLabValue:
		fk(m.FormKey)
		e.What = fmt.Sprintf("assessed lab value %s of form %s (version %d): %s", types.ItemName(m.Item, m.ItemRepeat), m.Form, m.FormVersion, types.Significance(m.Significant))
		e.Reason = m.Comment
	case *types.MsgRegisterAllocations:
		e.Study = m.Study
		e.What = fmt.Sprintf("registered the commitments of entries %d to %d of stratum %s of the allocation list", m.First, m.First+len(m.Commitments)-1, m.Stratum)
	case *types.MsgRandomize:
		e.Study, e.Subject = m.Study, m.Subject
		e.What = "randomised the subject"
	case *types.MsgUnblind:
		e.Study, e.Subject, e.Reason = m.Study, m.Subject, m.Reason
		e.What = "unblinded the subject (emergency)"
	case *types.MsgPublishAllocations:
		e.Study = m.Study
		e.What = fmt.Sprintf("published the arm and salt of %d allocation list entries", len(m.Entries))
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// annotate adds names, organisations, roles, sites and protocol versions.
func (L *Ledger) annotate() {
	index := map[string]int{} // tx hash -> its index in its block
	for _, e := range L.Entries {
		index[e.TxHash] = e.Index
	}
	siteOf := map[string]string{} // study/subject -> site
	for _, e := range L.Entries {
		if e.Kind == string(types.KindEnrollSubject) && !e.Rejected {
			siteOf[e.Study+"/"+e.Subject] = e.Site
		}
	}
	queries := map[string]types.Query{}
	for _, q := range L.Queries {
		queries[fmt.Sprintf("%s/%d", q.Study, q.Number)] = q
	}
	for i := range L.Entries {
		e := &L.Entries[i]
		if m := e.Msg; m != nil {
			for _, qa := range []*types.MsgQueryAction{m.QueryAnswer, m.QueryClose, m.QueryReopen, m.QueryCancel} {
				if qa == nil {
					continue
				}
				if q, ok := queries[fmt.Sprintf("%s/%d", qa.Study, qa.Number)]; ok {
					e.Subject, e.Event, e.EventRepeat, e.Form = q.Subject, q.Event, q.EventRepeat, q.Form
				}
			}
		}
		if a, ok := L.Accounts[e.Signer]; ok {
			e.Name, e.Org = a.Name, a.Org
		}
		e.Role = string(L.actingRole(e, index))
		if e.Site == "" && e.Subject != "" {
			e.Site = siteOf[e.Study+"/"+e.Subject]
		}
		for _, v := range L.Versions {
			if v.Study == e.Study && v.Effective.Height <= e.Height {
				e.ProtocolVersion = v.Number
			}
		}
	}
}

// actingRole returns the role e's signer acted under, as the ledger
// decided it (types.ActingRole) from the account as it was just before e (its
// history, index giving the place of a tx in its block) and its
// organisation: the role the stamps of the records e wrote carry. It is ""
// when it cannot be told: an undecodable tx, a signer unknown or revoked
// then, or one the ledger's rule refused.
func (L *Ledger) actingRole(e *Entry, index map[string]int) types.Role {
	if e.Msg == nil {
		return ""
	}
	var acct *types.Account
	for _, ch := range L.AccountHistories[e.Signer] {
		s := ch.Stamp
		if s.Height > e.Height || s.Height == e.Height && s.TxHash != "" && index[s.TxHash] >= e.Index {
			break
		}
		acct = &ch.Account
	}
	if acct == nil || acct.Status != types.AccountActive || len(acct.Roles) == 0 {
		return ""
	}
	org, ok := L.Orgs[acct.Org]
	if !ok {
		return ""
	}
	kind, msg, err := e.Msg.Unpack()
	if err != nil {
		return ""
	}
	role, ok := types.ActingRole(kind, msg, acct, &org)
	if !ok {
		return ""
	}
	return role
}

// TrailFilter selects entries.
type TrailFilter struct {
	Study, Subject, Site, User string
	From, To                   time.Time // zero: unbounded
}

// Trail returns the entries of the ledger matching f, in chain order.
func (L *Ledger) Trail(f TrailFilter) []Entry {
	out := []Entry{}
	for _, e := range L.Entries {
		if f.Study != "" && e.Study != f.Study {
			continue
		}
		if f.Subject != "" && e.Subject != f.Subject {
			continue
		}
		if f.Site != "" && e.Site != f.Site {
			continue
		}
		if f.User != "" && e.Signer != f.User {
			continue
		}
		if !f.From.IsZero() && e.time.Before(f.From) {
			continue
		}
		if !f.To.IsZero() && e.time.After(f.To) {
			continue
		}
		out = append(out, e)
	}
	return out
}
