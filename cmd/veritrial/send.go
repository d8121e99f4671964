package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// txOutcome is what every write prints.
type txOutcome struct {
	TxHash string     `json:"tx_hash"`
	Height int64      `json:"height"`
	Code   types.Code `json:"code"`
	Name   string     `json:"code_name"`
	Log    string     `json:"log"`
	Stage  string     `json:"stage,omitempty"`
	// Effects are what an accepted write did besides its own record
	// (effects).
	Effects []string `json:"effects,omitempty"`
}

// sendTimeout bounds a write from its first request to the node to the
// outcome of its block.
const sendTimeout = 2 * time.Minute

// write is one transaction a write command sends.
type write struct {
	msg types.Msg
	// done says, for people, what the accepted transaction did; it may
	// read the ledger at res.Height.
	done func(ctx context.Context, cl *client.Client, res *client.Result) string
	// doc, when set, is the JSON document of an accepted transaction: the
	// outcome with what the command adds (nil: the outcome alone).
	doc func(out txOutcome, res *client.Result) any
	// rekey, when set, is the keyring key the tx makes the --from
	// account's (a rotation of its own key): once the node refuses reads
	// signed with the old key, the tx is in a block, and its outcome is
	// read with this one.
	rekey string
}

// send sends msg as the --from account and, once it is in a block, says
// success (see sendWrite).
func send(c *cli.Context, msg types.Msg, success string) error {
	return sendWrite(c, write{msg: msg, done: func(context.Context, *client.Client, *client.Result) string { return success }})
}

// sendWrite is the one path of every write command: it checks that the
// node answers, unlocks the signing key of the --from account (its name
// is the account ID; signer), builds and signs the transaction,
// broadcasts it, waits for its block (all within sendTimeout) and prints
// the outcome. A rejection exits 6 with the ledger's code and message.
func sendWrite(c *cli.Context, w write) error {
	account, err := fromKey(c)
	if err != nil {
		return err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	s, err := signer(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, sendTimeout)
	defer cancel()
	res, err := sendAndWait(ctx, c, cl, account, s, w)
	if err != nil {
		return sendError(err, account)
	}
	out := txOutcome{TxHash: res.Hash, Height: res.Height, Code: res.Code, Name: res.Name, Log: res.Log, Stage: res.Stage}
	if !res.OK() {
		if isJSON(c) {
			if err := emitJSON(c, out); err != nil {
				return err
			}
		}
		where := "in block " + fmt.Sprint(res.Height)
		if res.Stage == "check" {
			where = "before entering a block"
		}
		return rejectedErrorf("rejected %s: code %d (%s): %s", where, res.Code, res.Name, res.Log)
	}
	success := w.done(ctx, cl, res)
	out.Effects = effects(ctx, cl.Reader(res.Height, false), res)
	var doc any = out
	if w.doc != nil {
		doc = w.doc(out, res)
	}
	return emit(c, doc, func(w io.Writer) error {
		printf(w, "%s\n  tx %s, height %d\n", success, res.Hash, res.Height)
		for _, e := range out.Effects {
			printf(w, "  %s\n", e)
		}
		return nil
	})
}

// sendError is a write's failure for people: when the tx may still be
// committed, it says how to look it up by its hash.
func sendError(err error, account string) error {
	var (
		nb   *client.NotInBlockError
		lost *client.LostError
	)
	hint := func(hash, where string) error {
		return failf("%v\nLook the tx up%s with: veritrial show tx --from %s --hash %s", err, where, account, hash)
	}
	switch {
	case errors.As(err, &nb):
		return hint(nb.Hash, "")
	case errors.As(err, &lost):
		return hint(lost.Hash, "")
	}
	return nodeError(err)
}

// sendAndWait sends w's tx and waits for its block. Through the read API
// the wait reads the tx's status as the account; when the tx rotates the
// account's own key, the node refuses the old key's reads once it is in
// a block, and the wait goes on with w.rekey.
func sendAndWait(ctx context.Context, c *cli.Context, cl *client.Client, account string, s types.Signer, w write) (*client.Result, error) {
	if w.rekey == "" {
		return cl.Send(ctx, account, s, w.msg)
	}
	raw, err := cl.Build(ctx, account, s, w.msg)
	if err != nil {
		return nil, err
	}
	res, err := cl.Broadcast(ctx, raw)
	if err != nil || !res.OK() {
		return res, err
	}
	sent, err := cl.Wait(ctx, res.Hash)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != types.CodeReadBadSig {
		return sent, err
	}
	cl.ReadAs(account, func() (types.Signer, error) { return keptSigner(c, w.rekey) })
	return cl.Wait(ctx, res.Hash)
}

// effects says what an accepted write did besides its own record, from
// the events of its tx: the queries the ledger raised for soft edit-check
// warnings, the protocol deviations it opened or closed, and what a correction did to the form's queries, source data
// verification and signatures. rd reads the ledger at the tx's height for
// the details (without them, the events still say what happened).
func effects(ctx context.Context, rd *client.Reader, res *client.Result) []string {
	kind := types.Kind(res.Attr("kind"))
	var out []string
	for _, ev := range res.Events {
		a := map[string]string{}
		for _, at := range ev.Attributes {
			a[at.Key] = at.Value
		}
		study, subject := a["study"], a["subject"]
		if d := a["deviation"]; d != "" {
			out = append(out, deviationEffect(ctx, rd, study, subject, a["event"], d))
			continue
		}
		switch a["action"] {
		case "open":
			if kind == types.KindQueryOpen {
				continue
			}
			e := "Query " + a["query"] + " raised by the ledger for a soft edit-check warning"
			if n, err := strconv.Atoi(a["query"]); err == nil {
				if q, err := rd.Query(ctx, study, n); err == nil && len(q.Thread) > 0 {
					e += ": " + q.Thread[0].Text
				}
			}
			out = append(out, e)
		case "answer":
			if kind == types.KindCorrectForm {
				out = append(out, "Query "+a["query"]+" answered by this correction")
			}
		case "de-verify":
			what := "items"
			if recs, err := rd.SDVs(ctx, study, subject); err == nil {
				for _, r := range recs {
					for _, h := range r.History {
						if r.Event == a["event"] && r.Form == a["form"] && h.Action == "de-verify" && strings.EqualFold(h.Stamp.TxHash, res.Hash) {
							what = strings.Join(h.Items, ", ")
						}
					}
				}
			}
			out = append(out, fmt.Sprintf("Source data verification removed from the corrected %s of form %s at %s of subject %s (SDV now %s)", what, a["form"], a["event"], subject, a["sdv"]))
		case "signature_invalidated":
			level := "signed content"
			if sigs, err := rd.Signatures(ctx, study, subject); err == nil {
				for _, sg := range sigs {
					if strconv.Itoa(sg.Number) == a["signature"] {
						level = sg.Level
					}
				}
			}
			out = append(out, fmt.Sprintf("Signature %s of subject %s invalidated by this correction: the %s needs a new signature", a["signature"], subject, level))
		}
	}
	return out
}

// deviationEffect says what a write did to the deviation of a subject's
// visit at event (action: open, update, close, reopen).
func deviationEffect(ctx context.Context, rd *client.Reader, study, subject, event, action string) string {
	e := fmt.Sprintf("Protocol deviation %s: visit %s of subject %s", map[string]string{"open": "opened", "update": "updated", "close": "closed", "reopen": "reopened"}[action], event, subject)
	if devs, err := rd.Deviations(ctx, study, subject); err == nil {
		for _, d := range devs {
			if d.Event == event && d.EventRepeat == 1 {
				where := "within"
				if d.DaysOff != 0 {
					where = fmt.Sprintf("%+d day(s) outside", d.DaysOff)
				}
				e += fmt.Sprintf(" dated %s, %s its window %s to %s", d.VisitDate, where, d.Earliest, d.Latest)
			}
		}
	}
	return e
}
