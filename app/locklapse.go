package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// lockLapseSince is the state-machine version from which a change to a
// study's data cancels the database lock or unlock approvals pending for
// it. Before, an approval given on one state of the data counted towards
// a decision taken on another, however much had changed in between.
const lockLapseSince = 4

// studyDataPrefixes are the prefixes of a study's data: every record the
// study's export covers (export.RecordPrefixes) apart from the study
// record itself (its counters change with queries, its lock height with
// the decision), the freeze and lock scopes, the approvals, and the
// consortium's organisations and accounts. The study's ID is the key's
// segment after the prefix.
var studyDataPrefixes = []string{
	types.PrefixProtocol, types.PrefixAmendment, types.PrefixSite, types.PrefixSubject,
	types.PrefixForm, types.PrefixHistory, types.PrefixQuery, types.PrefixQueryForm,
	types.PrefixSDV, types.PrefixDeviation, types.PrefixSignature, types.PrefixDeleg,
	types.PrefixLabRanges, types.PrefixLabAssess, types.PrefixSAE,
	types.PrefixRandStratum, types.PrefixRandEntry, types.PrefixAllocation,
}

// dataStudy returns the study whose data key k holds, or "".
func dataStudy(k string) string {
	for _, p := range studyDataPrefixes {
		if rest, ok := strings.CutPrefix(k, p); ok {
			if i := strings.IndexByte(rest, '/'); i > 0 {
				return rest[:i]
			}
			return ""
		}
	}
	return ""
}

// lapseLockApprovals cancels, for every study whose data the tx changed
// (in the order the tx first wrote each), the database lock or unlock
// approvals pending for it, keeping them in the record's Lapsed with the
// tx's stamp. It runs after the tx's handler succeeded, on its writes.
func (x *exec) lapseLockApprovals() *types.Error {
	var studies []string
	for _, k := range x.st.order {
		if s := dataStudy(k); s != "" && !slices.Contains(studies, s) {
			studies = append(studies, s)
		}
	}
	for _, s := range studies {
		var db types.DatabaseLock
		if ok, e := x.load(types.KeyDBLock(s), &db); e != nil {
			return e
		} else if !ok || len(db.Approvals) == 0 {
			continue
		}
		db.Lapsed = append(db.Lapsed, types.LockLapse{Action: db.Action, Approvals: db.Approvals, Stamp: x.stamp()})
		x.emit("study", s, "action", db.Action+"_approvals_lapsed", "approvals", strconv.Itoa(len(db.Approvals)))
		db.Action, db.Approvals = "", []types.Vote{}
		x.st.setJSON(types.KeyDBLock(s), db)
	}
	return nil
}
