package export

import (
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// The study's allocation list: every registered entry with its
// commitment, the subject that took it and, once published, its arm and
// salt checked against the commitment (docs/RANDOMIZATION.md). An entry
// not yet published has no arm on the ledger, and none here.

var (
	tAllocations   = [2]string{"Allocations", "allocations.csv"}
	allocationCols = cols(join([]string{"stratum", "Stratum", "seq", "Entry", "subject", "Subject", "site", "Site",
		"arm", "Arm", "salt", "Salt (hex)", "commitment", "SHA-256 commitment", "check", "Arm and salt against the commitment",
		"randomized_utc", "Randomised (UTC)", "randomized_height", "Randomisation height", "randomized_by", "Randomised by",
		"unblinded_utc", "Unblinded (UTC)", "unblinded_by", "Unblinded by", "unblinding_reason", "Unblinding reason",
		"published_utc", "Published (UTC)", "published_height", "Publication height", colLedgerKey, "Ledger key"})...)
)

// Checks of an entry's arm and salt.
const (
	checkSealed   = "sealed"
	checkVerified = "verified"
	checkMismatch = "DOES NOT MATCH"
)

// allocationCheck checks a published entry against its commitment.
func allocationCheck(study string, e *types.RandEntry) string {
	if e.Published == nil {
		return checkSealed
	}
	if types.VerifyReveal(study, types.AllocationReveal{Stratum: e.Stratum, Seq: e.Seq, Arm: e.Arm, Salt: e.Salt}, e.Commitment) != nil {
		return checkMismatch
	}
	return checkVerified
}

// allocationsTable writes one row per registered entry, in ledger key
// order (stratum, then entry), with its subject's allocation.
func (d *dataset) allocationsTable(b book) error {
	t, err := b.table(tAllocations[0], tAllocations[1], allocationCols, 2)
	if err != nil {
		return err
	}
	allocs := map[string]*types.Allocation{}
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixAllocation+d.opt.Study+"/", func(_ string, a *types.Allocation) error {
		d.tick(1)
		allocs[a.Subject] = a
		return nil
	}); err != nil {
		return err
	}
	if err := client.ScanJSON(d.ctx, d.r, types.PrefixRandEntry+d.opt.Study+"/", func(key string, e *types.RandEntry) error {
		d.tick(1)
		row := []cell{txt(e.Stratum), numi(e.Seq), txt(e.Subject), blank(), txt(e.Arm), txt(e.Salt), txt(e.Commitment), txt(allocationCheck(d.opt.Study, e))}
		if a := allocs[e.Subject]; a != nil {
			row[3] = txt(a.Site)
			row = append(row, txt(a.Randomized.Time), num(a.Randomized.Height), txt(a.Randomized.Signer))
			if u := a.Unblinding; u != nil {
				row = append(row, txt(u.Stamp.Time), txt(u.Stamp.Signer), txt(u.Reason))
			} else {
				row = append(row, blank(), blank(), blank())
			}
		} else {
			row = append(row, blank(), blank(), blank(), blank(), blank(), blank())
		}
		if p := e.Published; p != nil {
			row = append(row, txt(p.Time), num(p.Height))
		} else {
			row = append(row, blank(), blank())
		}
		return t.row(append(row, txt(key)))
	}); err != nil {
		return err
	}
	return t.close()
}
