package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// Electronic signatures (21 CFR 11.50, 11.70). The investigator of the
// subject's site signs a form, an event instance or the whole casebook;
// the tx carries the hash of the content the client showed, the ledger
// recomputes it from its own state and refuses a mismatch. A later
// correction of any signed form invalidates the signature on the ledger.

func (x *exec) sign(m *types.MsgSign) *types.Error {
	s, e := x.study(m.Study)
	if e != nil {
		return e
	}
	sub, e := x.ownSubject(m.Study, m.Subject, types.TaskSign)
	if e != nil {
		return e
	}
	var fk *types.FormKey
	if m.Level() == types.SignForm {
		fk = &types.FormKey{Study: m.Study, Subject: m.Subject, Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form}
	}
	if e := x.guard(s.ID, sub.Site, sub.ID, fk, false); e != nil {
		return e
	}
	meanings := s.SignatureMeanings()
	ok := false
	for _, mn := range meanings {
		if mn == m.Meaning {
			ok = true
		}
	}
	if !ok {
		return types.Errf(types.CodeSignMeaning, "signature meaning %q is not defined for study %s; use one of: %s", m.Meaning, s.ID, strings.Join(meanings, ", "))
	}
	forms, e := loadPrefix[types.FormRecord](x, m.FormPrefix())
	if e != nil {
		return e
	}
	content := m.Content(forms)
	if len(content.Forms) == 0 {
		return types.Errf(types.CodeNothingToSign, "no form of subject %s is entered in the %s named; there is nothing to sign", m.Subject, m.Level())
	}
	if h := content.Hash(); h != m.ContentHash {
		return types.Errf(types.CodeSignHashMismatch, "the content you signed has SHA-256 %s but the ledger's content of that %s is %s: the data changed after your client read it; review it again and sign anew", m.ContentHash, m.Level(), h)
	}
	sub.Signatures++
	st := x.stamp()
	sig := types.Signature{
		Study: s.ID, Subject: sub.ID, Number: sub.Signatures, Level: m.Level(),
		Event: m.Event, EventRepeat: m.EventRepeat, Form: m.Form,
		PrintedName: x.c.signer.Name, Account: x.c.signer.ID, Role: x.c.role, Meaning: m.Meaning,
		SignedAt: x.time, Statement: types.Attestation(x.c.signer.Name, x.c.role, m.Meaning, m),
		ContentHash: m.ContentHash, Forms: content.Refs(), Status: types.SignatureValid, Signed: st,
	}
	x.st.setJSON(types.KeySignature(s.ID, sub.ID, sig.Number), sig)
	x.st.setJSON(types.KeySubject(s.ID, sub.ID), sub)
	x.emit("study", s.ID, "subject", sub.ID, "signature", strconv.Itoa(sig.Number), "action", "sign", "meaning", m.Meaning)
	return nil
}

// invalidateSignatures marks invalid every valid signature of the subject
// that covers the corrected form.
func (x *exec) invalidateSignatures(rec *types.FormRecord) *types.Error {
	sigs, e := loadPrefix[types.Signature](x, []byte(types.PrefixSignature+rec.Study+"/"+rec.Subject+"/"))
	if e != nil {
		return e
	}
	for _, sig := range sigs {
		if sig.Status != types.SignatureValid {
			continue
		}
		covered := false
		for _, f := range sig.Forms {
			if f.Event == rec.Event && f.EventRepeat == rec.EventRepeat && f.Form == rec.Form {
				covered = true
			}
		}
		if !covered {
			continue
		}
		sig.Status = types.SignatureInvalidated
		sig.Invalidated = &types.SignatureInvalidation{
			Reason:      fmt.Sprintf("form %s at %s (repeat %d) was corrected (version %d): %s; the %s needs a new signature", rec.Form, rec.Event, rec.EventRepeat, rec.Version, rec.Reason, sig.Level),
			Event:       rec.Event,
			EventRepeat: rec.EventRepeat,
			Form:        rec.Form,
			FormVersion: rec.Version,
			Stamp:       x.stamp(),
		}
		x.st.setJSON(types.KeySignature(sig.Study, sig.Subject, sig.Number), sig)
		x.emit("study", sig.Study, "subject", sig.Subject, "signature", strconv.Itoa(sig.Number), "action", "signature_invalidated")
	}
	return nil
}
