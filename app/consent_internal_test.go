package app

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// BenchmarkAdmitNewForm: the check a form submission runs for the
// subject's withdrawal and re-consent, for a subject who re-consented
// five times (the required version last) to a study that requires it.
//
//	go test ./app -run '^$' -bench AdmitNewForm
func BenchmarkAdmitNewForm(b *testing.B) {
	c, err := protocol.Compile(protocol.Example())
	if err != nil {
		b.Fatal(err)
	}
	x := &exec{version: 3}
	s := &types.Study{ID: "VT-HTN-201", ReconsentVersion: "6.0", ReconsentFrom: 6}
	sub := &types.Subject{ID: "S1-001", Status: types.SubjectEnrolled, ConsentVersion: "1.0"}
	for _, v := range []string{"2.0", "3.0", "4.0", "5.0", "6.0"} {
		sub.Reconsents = append(sub.Reconsents, types.Consent{Version: v})
	}
	k := types.FormKey{Study: s.ID, Subject: sub.ID, Event: "W4", EventRepeat: 1, Form: "VS"}
	for b.Loop() {
		if pending, e := x.admitNewForm(sub, s, c, k); pending != "" || e != nil {
			b.Fatal(pending, e)
		}
	}
}
