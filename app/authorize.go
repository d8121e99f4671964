package app

import (
	"github.com/veritrial/veritrial/app/types"
)

// sponsorSide checks that a sponsor-side signer works for the study's
// sponsor, or for a CRO the sponsor delegated one of tasks on the study.
func (x *exec) sponsorSide(s *types.Study, what string, tasks ...types.Task) *types.Error {
	switch x.c.org.Kind {
	case types.OrgSponsor:
		if x.c.org.ID != s.Sponsor {
			return types.Errf(types.CodeWrongOrg, "study %s belongs to sponsor %s; %s (%s) cannot %s in it", s.ID, s.Sponsor, x.c.signer.ID, x.c.org.ID, what)
		}
	case types.OrgCRO:
		return x.croTask(s, what, tasks...)
	}
	return nil
}
