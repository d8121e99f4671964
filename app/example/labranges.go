package example

import (
	"github.com/veritrial/veritrial/app/types"
)

// LabRanges returns a reference-range table for the example study's
// laboratory form: haemoglobin by sex, potassium for everyone, ALT by age
// band, read with the subject's DM.SEX and DM.AGE. It names no lab item
// (the example protocol records none), so every range is for any lab.
func LabRanges() types.LabRanges {
	age := func(n int) *int { return &n }
	return types.LabRanges{
		SexItem: "DM.SEX", AgeItem: "DM.AGE",
		Ranges: []types.LabRange{
			{Item: "LB.HGB", Sex: "1", Low: "13.0", High: "17.0", Unit: "g/dL"},
			{Item: "LB.HGB", Sex: "2", Low: "12.0", High: "15.5", Unit: "g/dL"},
			{Item: "LB.K", Low: "3.5", High: "5.1", Unit: "mmol/L"},
			{Item: "LB.ALT", AgeMax: age(64), High: "40", Unit: "U/L"},
			{Item: "LB.ALT", AgeMin: age(65), High: "35", Unit: "U/L"},
		},
	}
}

// SetLabRangesMsg registers t as the next reference-range table of the
// example study.
func SetLabRangesMsg(t types.LabRanges, reason string) types.Msg {
	return types.Msg{SetLabRanges: &types.MsgSetLabRanges{Study: StudyID, LabRanges: t, Reason: reason}}
}

// AssessLabMsg assesses lab item (row repeat) of version version of the
// form at k: clinically significant or not, with a comment.
func AssessLabMsg(k types.FormKey, item string, repeat, version int, significant bool, comment string) types.Msg {
	return types.Msg{AssessLabValue: &types.MsgAssessLabValue{FormKey: k, Item: item, ItemRepeat: repeat, FormVersion: version, Significant: significant, Comment: comment}}
}
