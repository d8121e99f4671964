package example

import (
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// IE returns a complete eligibility form of a man (DM.SEX 1, so the
// pregnancy criterion is hidden): eligible, or not for want of the
// systolic inclusion criterion.
func IE(eligible bool) []protocol.ItemValue {
	yes := map[bool]string{true: "1", false: "0"}
	return []protocol.ItemValue{
		V("IE.INC1", "1"), V("IE.INC2", yes[eligible]), V("IE.INC3", "1"),
		V("IE.EXC1", "0"), V("IE.EXC2", "0"), V("IE.ELIG", yes[eligible]),
	}
}

// DM returns a complete demographics form of a 54-year-old man.
func DM() []protocol.ItemValue {
	return []protocol.ItemValue{V("DM.CONSDT", "2026-01-05"), V("DM.AGE", "54"), V("DM.SEX", "1"),
		V("DM.HEIGHT", "178.5"), V("DM.WEIGHT", "82.3"), V("DM.SMOKE", "1")}
}

// RegisterAllocationsMsg registers commitments of entries first, first+1
// ... of a stratum of the example study.
func RegisterAllocationsMsg(stratum string, first int, commitments ...string) types.Msg {
	return types.Msg{RegisterAllocations: &types.MsgRegisterAllocations{Study: StudyID, Stratum: stratum, First: first, Commitments: commitments}}
}

// RandomizeMsg randomises subject of the example study.
func RandomizeMsg(subject string) types.Msg {
	return types.Msg{Randomize: &types.MsgRandomize{Study: StudyID, Subject: subject}}
}

// UnblindMsg unblinds subject of the example study for reason.
func UnblindMsg(subject, reason string) types.Msg {
	return types.Msg{Unblind: &types.MsgUnblind{Study: StudyID, Subject: subject, Reason: reason}}
}

// PublishMsg publishes entries of the example study's list.
func PublishMsg(entries ...types.AllocationReveal) types.Msg {
	return types.Msg{PublishAllocations: &types.MsgPublishAllocations{Study: StudyID, Entries: entries}}
}
