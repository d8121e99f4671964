package example

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// StudyID is the ID of the example protocol's study.
const StudyID = "VT-HTN-201"

// ConsentSHA256 is the hash of the consent form enrolments declare.
var ConsentSHA256 = func() string {
	h := sha256.Sum256([]byte("consent form v1.0"))
	return hex.EncodeToString(h[:])
}()

// Protocol returns a fresh copy of the example protocol; it panics if the
// embedded protocol does not load.
func Protocol() *protocol.Protocol {
	p := protocol.Example()
	if p == nil {
		panic("example: protocol.Example() does not load")
	}
	return p
}

// WithMissingCodes returns the example protocol with the missing-data
// codes ND (not done) and NA (not applicable) declared and the platelet
// count LB.PLT accepting ND in place of a value.
func WithMissingCodes() *protocol.Protocol {
	p := Protocol()
	p.MissingCodes = []protocol.CodeItem{{Code: "ND", Decode: "Not done"}, {Code: "NA", Decode: "Not applicable"}}
	for i := range p.Forms {
		for j := range p.Forms[i].Groups {
			for n := range p.Forms[i].Groups[j].Items {
				if it := &p.Forms[i].Groups[j].Items[n]; it.OID == "LB.PLT" {
					it.Missing = []string{"ND"}
				}
			}
		}
	}
	return p
}

// Fingerprint returns p's fingerprint; it panics if p cannot be
// fingerprinted.
func Fingerprint(p *protocol.Protocol) string {
	fp, err := p.Fingerprint()
	if err != nil {
		panic(fmt.Sprintf("example: fingerprint: %v", err))
	}
	return fp
}

// FormKey addresses a form of subject in the example study.
func FormKey(subject, event string, repeat int, form string) types.FormKey {
	return types.FormKey{Study: StudyID, Subject: subject, Event: event, EventRepeat: repeat, Form: form}
}

// V is an item value of a non-repeating group.
func V(item, value string) protocol.ItemValue { return protocol.ItemValue{Item: item, Value: value} }

// VS returns a complete vital signs form (9 items) with the given blood
// pressures; other values are within every range.
func VS(sys, dia int) []protocol.ItemValue {
	return []protocol.ItemValue{
		V("VS.DATE", "2026-01-20"), V("VS.TIME", "09:30"), V("VS.POS", "1"),
		V("VS.SYSBP", strconv.Itoa(sys)), V("VS.DIABP", strconv.Itoa(dia)), V("VS.HR", "72"),
		V("VS.TEMP", "36.6"), V("VS.RESP", "14"), V("VS.WEIGHT", "81.5"),
	}
}

// VSOn is VS dated date (YYYY-MM-DD): the visit date of every scheduled
// visit of the example protocol.
func VSOn(date string, sys, dia int) []protocol.ItemValue {
	v := VS(sys, dia)
	v[0].Value = date
	return v
}

// LB returns a complete laboratory form (11 items) for a male subject.
func LB() []protocol.ItemValue {
	return []protocol.ItemValue{
		V("LB.DATE", "2026-01-20"), V("LB.FAST", "1"), V("LB.HGB", "14.2"), V("LB.WBC", "6.1"),
		V("LB.PLT", "250"), V("LB.SODIUM", "140"), V("LB.K", "4.2"), V("LB.CREAT", "80"),
		V("LB.EGFR", "90"), V("LB.ALT", "25"), V("LB.GLUC", "5.2"),
	}
}

// AE returns rows adverse events of the repeating group AE.LOG, as a
// site reports them: seed varies the verbatim terms, and row r is serious
// when (seed*rows+r) % 20 == 0, so that over consecutive seeds one row in
// 20 is serious (5%: serious adverse events are a few percent of all
// adverse events in published trials) and the example protocol opens a
// serious adverse event record for it. A serious row has 10 items, its
// seriousness criterion (hospitalisation) among them; a row that is not
// serious has 9, since the criterion is hidden (AE.SER is no) and must be
// empty. Two rows are therefore 18 items, 19 with a serious row.
func AE(rows, seed int) []protocol.ItemValue {
	return aeLog(rows, seed, func(r int) bool { return (seed*rows+r)%20 == 0 })
}

// SeriousAE is AE with every row serious (20 items for two rows), for
// what needs serious adverse events.
func SeriousAE(rows, seed int) []protocol.ItemValue {
	return aeLog(rows, seed, func(int) bool { return true })
}

// aeLog returns rows adverse events, row r serious when serious(r).
func aeLog(rows, seed int, serious func(r int) bool) []protocol.ItemValue {
	var out []protocol.ItemValue
	for r := 1; r <= rows; r++ {
		row := func(item, value string) protocol.ItemValue {
			return protocol.ItemValue{Item: item, Repeat: r, Value: value}
		}
		out = append(out,
			row("AE.TERM", fmt.Sprintf("Headache episode %d-%d", seed, r)), row("AE.STDT", "2026-02-01"),
			row("AE.ONGO", "0"), row("AE.ENDDT", "2026-02-03"), row("AE.SEV", "2"))
		if serious(r) {
			out = append(out, row("AE.SER", "1"), row("AE.SERCRIT", "3"))
		} else {
			out = append(out, row("AE.SER", "0"))
		}
		out = append(out, row("AE.REL", "3"), row("AE.ACN", "1"), row("AE.OUT", "1"))
	}
	return out
}
