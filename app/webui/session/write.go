package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// Verdict is what the protocol's edit checks say of a form's values as
// they stand: the problems (hard ones refuse the form), the items the
// branching hides ("OID", or "OID#row" in a repeating group) and the
// values of the derived items as the ledger will compute them.
type Verdict struct {
	Problems []protocol.Problem   `json:"problems"`
	Hidden   []string             `json:"hidden"`
	Hard     bool                 `json:"hard"`
	Derived  []protocol.ItemValue `json:"derived"`
}

// Check runs the form's edit checks on values, as the validators will,
// under the protocol version and with the subject's other forms as the
// form page read them (Form): it reads nothing from the node, so it
// answers as fast as the person types.
func (s *Session) Check(k types.FormKey, values []protocol.ItemValue) (*Verdict, error) {
	c, err := s.compiledShown(k)
	if err != nil {
		return nil, err
	}
	values = c.Inputs(values)
	lookup := c.CrossFormLookup(k.Event, k.EventRepeat, s.otherForms(k))
	v := &Verdict{Hidden: []string{}}
	v.Problems, v.Derived = c.Evaluate(k.Form, values, lookup)
	if v.Problems == nil {
		v.Problems = []protocol.Problem{}
	}
	if v.Derived == nil {
		v.Derived = []protocol.ItemValue{}
	}
	for _, p := range v.Problems {
		v.Hard = v.Hard || p.Severity == protocol.Hard
	}
	f, _ := c.Form(k.Form)
	for _, g := range f.Groups {
		rows := []int{0}
		if g.Repeating {
			rows = rowsOf(g, values)
		}
		for _, it := range g.Items {
			cond := c.ShowIf(it.OID)
			if cond == nil {
				continue
			}
			for _, row := range rows {
				get := func(oid string) (string, bool) {
					for _, iv := range values {
						if iv.Item == oid && (iv.Repeat == row || iv.Repeat == 0) && iv.Value != "" {
							return iv.Value, true
						}
					}
					if _, form, ok := c.Item(oid); ok && form != k.Form {
						return lookup(oid)
					}
					return "", false
				}
				if !cond.Eval(get) {
					v.Hidden = append(v.Hidden, rowName(it.OID, row))
				}
			}
		}
	}
	return v, nil
}

// compiledShown is the compiled protocol of the study whose form page
// was read last (Form).
func (s *Session) compiledShown(k types.FormKey) (*protocol.Compiled, error) {
	s.mu.Lock()
	c := s.shown[k.Study]
	s.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("open the form of study %s first", k.Study)
	}
	return c, nil
}

// rowsOf lists the rows of a repeating group that values hold (1 when
// none).
func rowsOf(g protocol.ItemGroup, values []protocol.ItemValue) []int {
	rows, seen := []int{}, map[int]bool{}
	for _, iv := range values {
		for _, it := range g.Items {
			if iv.Item == it.OID && iv.Repeat > 0 && !seen[iv.Repeat] {
				seen[iv.Repeat] = true
				rows = append(rows, iv.Repeat)
			}
		}
	}
	if len(rows) == 0 {
		rows = append(rows, 1)
	}
	return rows
}

func rowName(oid string, row int) string {
	if row == 0 {
		return oid
	}
	return fmt.Sprintf("%s#%d", oid, row)
}

// otherForms returns the subject's forms the form page read.
func (s *Session) otherForms(k types.FormKey) protocol.FormValues {
	s.mu.Lock()
	forms := s.forms[subjectOf(k)]
	s.mu.Unlock()
	return func(event string, eventRepeat int, form string) ([]protocol.ItemValue, bool) {
		vals, ok := forms[types.FormKey{Study: k.Study, Subject: k.Subject, Event: event, EventRepeat: eventRepeat, Form: form}]
		return vals, ok
	}
}

func subjectOf(k types.FormKey) string { return k.Study + "/" + k.Subject }

// Pending is a tx the node's mempool took: the page follows it with
// TxStatus until a block holds it.
type Pending struct {
	Hash string `json:"tx_hash"`
}

// ErrHardProblems refuses a form whose values a hard edit check rejects:
// nothing is sent to the ledger.
var ErrHardProblems = errors.New("the form has values the edit checks reject (marked on the form): correct them first; nothing was sent")

// Submit enters form k for the first time, when no hard edit check fails.
// Derived items are left out: the ledger computes them.
func (s *Session) Submit(ctx context.Context, k types.FormKey, values []protocol.ItemValue) (*Pending, error) {
	if err := s.refuseHard(k, values); err != nil {
		return nil, err
	}
	c, err := s.compiledShown(k)
	if err != nil {
		return nil, err
	}
	return s.send(ctx, types.Msg{SubmitForm: &types.MsgSubmitForm{FormKey: k, Values: nonEmpty(c.Inputs(values))}})
}

// Correct changes items of an entered form, with a reason; resolves names
// open queries of the form it answers. values is the whole form as
// corrected: the changes are what differs from current.
func (s *Session) Correct(ctx context.Context, k types.FormKey, current, values []protocol.ItemValue, reason string, resolves []int) (*Pending, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, errors.New("a correction needs a reason")
	}
	if err := s.refuseHard(k, values); err != nil {
		return nil, err
	}
	c, err := s.compiledShown(k)
	if err != nil {
		return nil, err
	}
	changes := changesOf(c.Inputs(current), c.Inputs(values))
	if len(changes) == 0 {
		return nil, errors.New("nothing changed: the values are the ones the ledger holds")
	}
	// Made from the version the page showed: the ledger refuses the
	// correction when someone changed the form since.
	s.mu.Lock()
	base := s.versions[k]
	s.mu.Unlock()
	return s.send(ctx, types.Msg{CorrectForm: &types.MsgCorrectForm{FormKey: k, Changes: changes, Reason: reason, Resolves: resolves, BaseVersion: base}})
}

func (s *Session) refuseHard(k types.FormKey, values []protocol.ItemValue) error {
	v, err := s.Check(k, values)
	if err != nil {
		return err
	}
	if v.Hard {
		return ErrHardProblems
	}
	return nil
}

// changesOf lists what differs from current in values: a new or changed
// value or missing-data code (or its reason), or an empty one for a value
// removed.
func changesOf(current, values []protocol.ItemValue) []protocol.ItemValue {
	type cell struct {
		item string
		row  int
	}
	was := map[cell]protocol.ItemValue{}
	for _, v := range current {
		was[cell{v.Item, v.Repeat}] = v
	}
	out := []protocol.ItemValue{}
	for _, v := range values {
		c := cell{v.Item, v.Repeat}
		if old, ok := was[c]; ok || !v.Empty() {
			if old != v {
				out = append(out, v)
			}
			delete(was, c)
		}
	}
	for _, v := range current {
		if _, ok := was[cell{v.Item, v.Repeat}]; ok {
			out = append(out, protocol.ItemValue{Item: v.Item, Repeat: v.Repeat})
		}
	}
	return out
}

func nonEmpty(values []protocol.ItemValue) []protocol.ItemValue {
	out := []protocol.ItemValue{}
	for _, v := range values {
		if !v.Empty() {
			out = append(out, v)
		}
	}
	return out
}

// Enroll enrols a subject with the version of the consent form signed and
// the SHA-256 of its document (ConsentSHA256 computes it in the browser).
func (s *Session) Enroll(ctx context.Context, m types.MsgEnrollSubject) (*Pending, error) {
	return s.send(ctx, types.Msg{EnrollSubject: &m})
}

// ConsentSHA256 is the lower-case hex SHA-256 of a consent document.
func ConsentSHA256(doc []byte) string {
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:])
}

// Send signs and sends one message of the data management kinds the
// pages offer (query actions, SDV).
func (s *Session) Send(ctx context.Context, m types.Msg) (*Pending, error) {
	kind, _, e := m.Unpack()
	if e != nil {
		return nil, e
	}
	switch kind {
	case types.KindQueryOpen, types.KindQueryAnswer, types.KindQueryClose, types.KindQueryReopen, types.KindVerify:
		return s.send(ctx, m)
	}
	return nil, fmt.Errorf("the pages do not send %s messages", kind)
}

// send signs msg as the person, valid for txTTL blocks from the latest
// height, and hands it to the node's mempool.
func (s *Session) send(ctx context.Context, msg types.Msg) (*Pending, error) {
	signer, chainID, err := s.who()
	if err != nil {
		return nil, err
	}
	var chain struct {
		Height int64 `json:"height"`
	}
	if err := s.call(ctx, methodGet, apiChain, nil, &chain); err != nil {
		return nil, err
	}
	raw, err := types.BuildTx(chainID, signer.Name(), chain.Height+txTTL, signer, msg)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(struct {
		Tx []byte `json:"tx"`
	}{raw})
	if err != nil {
		return nil, err
	}
	var out struct {
		Hash string `json:"tx_hash"`
	}
	if err := s.call(ctx, methodPost, apiTx, in, &out); err != nil {
		return nil, err
	}
	return &Pending{Hash: out.Hash}, nil
}

// TxOutcome is a tx's outcome in its block; Pending while no block holds
// it.
type TxOutcome struct {
	Pending  bool       `json:"pending"`
	Hash     string     `json:"tx_hash"`
	Height   int64      `json:"height,omitempty"`
	Code     types.Code `json:"code"`
	CodeName string     `json:"code_name,omitempty"`
	Log      string     `json:"log,omitempty"`
}

// TxStatus asks the node for the outcome of the person's tx hash.
func (s *Session) TxStatus(ctx context.Context, hash string) (*TxOutcome, error) {
	out := &TxOutcome{}
	err := s.signed(ctx, apiTxStatus, types.ReadTxStatus, []byte(hash), out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == types.CodeReadNotFound {
		return &TxOutcome{Pending: true, Hash: hash}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SignView is what the signature screen shows: exactly the content
// signed, its hash, and the statement the signer makes with each meaning
// the study defines.
type SignView struct {
	Msg     types.MsgSign       `json:"msg"`
	Content types.SignedContent `json:"content"`
	// Rows are the content's values as the person reads them: the
	// item's label, the value with its unit or its code's decode.
	Rows       []SignedValue     `json:"rows"`
	Meanings   []string          `json:"meanings"`
	Statements map[string]string `json:"statements"`
}

// SignedValue is one value signed, for reading.
type SignedValue struct {
	Form  string `json:"form"`
	Item  string `json:"item"`
	Label string `json:"label"`
	Value string `json:"value"`
	Shown string `json:"shown"`
}

// SignScreen reads what signing at level (types.SignForm, the default,
// SignEvent or SignCasebook) from form k says: the current version of form
// k, of every form entered at k's event and repeat, or of every form of
// k's subject.
func (s *Session) SignScreen(ctx context.Context, k types.FormKey, level string) (*SignView, error) {
	m := types.MsgSign{Study: k.Study, Subject: k.Subject, Event: k.Event, EventRepeat: k.EventRepeat, Form: k.Form}
	switch level {
	case "", types.SignForm:
	case types.SignEvent:
		m.Form = ""
	case types.SignCasebook:
		m.Event, m.EventRepeat, m.Form = "", 0, ""
	default:
		return nil, fmt.Errorf("there is no signature level %q (form, event or casebook)", level)
	}
	var st types.Study
	ok, err := s.get(ctx, types.KeyStudy(k.Study), &st)
	if err == nil && !ok {
		err = fmt.Errorf("there is no study %s that you may read", k.Study)
	}
	if err != nil {
		return nil, err
	}
	_, c, err := s.protocolOf(ctx, k.Study)
	if err != nil {
		return nil, err
	}
	forms, err := list[types.FormRecord](ctx, s, string(m.FormPrefix()))
	if err != nil {
		return nil, err
	}
	content := m.Content(forms)
	if len(content.Forms) == 0 {
		return nil, fmt.Errorf("no form of subject %s is entered in the %s named: there is nothing to sign", k.Subject, m.Level())
	}
	s.mu.Lock()
	p := s.person
	s.mu.Unlock()
	role := types.RoleInvestigator
	if !slices.Contains(p.Roles, role) && len(p.Roles) > 0 {
		role = p.Roles[0]
	}
	v := &SignView{Content: content, Meanings: st.SignatureMeanings(), Statements: map[string]string{}}
	m.ContentHash = v.Content.Hash()
	v.Msg = m
	for _, f := range v.Content.Forms {
		for _, iv := range f.Values {
			v.Rows = append(v.Rows, signedValue(c, fmt.Sprintf("%s #%d · %s v%d", f.Event, f.EventRepeat, f.Form, f.Version), iv))
		}
	}
	for _, mn := range v.Meanings {
		m.Meaning = mn
		v.Statements[mn] = types.Attestation(p.Name, role, mn, &m)
	}
	return v, nil
}

// Sign signs m (built by SignScreen, with its meaning chosen) once the
// person has unlocked their key file again: the passphrase at the moment
// of signing is the signature's proof of presence.
func (s *Session) Sign(ctx context.Context, m types.MsgSign, keyFile []byte, passphrase string) (*Pending, error) {
	if err := s.Reauthenticate(keyFile, passphrase); err != nil {
		return nil, err
	}
	return s.send(ctx, types.Msg{Sign: &m})
}

// signedValue renders one value with its item's label, unit and code
// decodes.
func signedValue(c *protocol.Compiled, form string, iv protocol.ItemValue) SignedValue {
	sv := SignedValue{Form: form, Item: rowName(iv.Item, iv.Repeat), Label: iv.Item, Value: iv.Value, Shown: iv.Value}
	it, _, ok := c.Item(iv.Item)
	if !ok {
		return sv
	}
	sv.Label = it.Label
	if iv.Missing != "" {
		sv.Shown = missingShown(c, iv)
		return sv
	}
	switch {
	case it.Type == protocol.TypeYesNo:
		sv.Shown = map[string]string{"1": "Yes", "0": "No"}[iv.Value]
	case it.CodeList != "":
		if cl, ok := c.CodeList(it.CodeList); ok {
			var shown []string
			for _, code := range strings.Split(iv.Value, ",") {
				d := code
				for _, ci := range cl.Items {
					if ci.Code == code {
						d = ci.Decode
					}
				}
				shown = append(shown, d)
			}
			sv.Shown = strings.Join(shown, ", ")
		}
	case it.Unit != "":
		sv.Shown = iv.Value + " " + it.Unit
	}
	return sv
}

// missingShown is how a missing-data code reads: "missing: ND (Not done)",
// then the reason.
func missingShown(c *protocol.Compiled, iv protocol.ItemValue) string {
	shown := "missing: " + iv.Missing
	if mc, ok := c.MissingCode(iv.Missing); ok && mc.Decode != "" {
		shown += " (" + mc.Decode + ")"
	}
	if iv.Reason != "" {
		shown += ": " + iv.Reason
	}
	return shown
}
