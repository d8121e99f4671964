package app

import (
	"strconv"
	"strings"

	"github.com/veritrial/veritrial/app/types"
)

// proposeChange records a consortium change proposal once the change is
// valid against the state now; the vote that reaches the quorum checks it
// again against the state then.
func (x *exec) proposeChange(m *types.MsgProposeChange) *types.Error {
	c, e := x.loadConsortium()
	if e != nil {
		return e
	}
	if _, e := x.apply(c, &m.Change); e != nil {
		return e
	}
	kind, _, _ := m.Change.Unpack()
	c.gov.Proposals++
	p := types.Proposal{
		Number: c.gov.Proposals, Kind: kind, Change: m.Change, Reason: m.Reason, Proposed: x.stamp(),
		Expires: x.height + c.gov.Params.ProposalTTL, Votes: []types.Vote{}, Status: types.ProposalOpen,
	}
	x.st.setJSON(types.KeyGovernance, c.gov)
	x.st.setJSON(types.KeyProposal(p.Number), p)
	x.emit("proposal", strconv.Itoa(p.Number), "change", string(kind), "status", string(p.Status), "expires", strconv.FormatInt(p.Expires, 10))
	return nil
}

// voteChange records a voting organisation's vote. The vote that reaches
// the quorum applies the change, re-validated against the state now; if
// it is no longer valid, that vote is refused and changes nothing. The
// vote that makes the quorum unreachable rejects the proposal.
func (x *exec) voteChange(m *types.MsgVoteChange) *types.Error {
	var p types.Proposal
	ok, e := x.load(types.KeyProposal(m.Proposal), &p)
	if e != nil {
		return e
	}
	if !ok {
		return types.Errf(types.CodeUnknownProposal, "there is no consortium proposal %d (veritrial consortium proposals lists them)", m.Proposal)
	}
	switch p.StatusAt(x.height) {
	case types.ProposalExpired:
		return types.Errf(types.CodeProposalExpired, "proposal %d expired at height %d, unvoted; propose the change again", p.Number, p.Expires)
	case types.ProposalPassed, types.ProposalRejected:
		return types.Errf(types.CodeProposalClosed, "proposal %d was already %s at height %d", p.Number, p.Status, p.Decided.Height)
	}
	c, e := x.loadConsortium()
	if e != nil {
		return e
	}
	org := x.c.org.ID
	if o := c.org(org); o == nil || !o.Voting() {
		return types.Errf(types.CodeNotVotingOrg, "%s runs no validator in service, so it does not vote; the voting organisations are %s", org, strings.Join(c.voters(), ", "))
	}
	for _, v := range p.Votes {
		if v.Org == org {
			return types.Errf(types.CodeOrgAlreadyVoted, "%s already voted on proposal %d (%s at height %d); an organisation votes once", org, p.Number, voteWord(v.Approve), v.Stamp.Height)
		}
	}
	p.Votes = append(p.Votes, types.Vote{Org: org, Approve: m.Approve, Comment: m.Comment, Stamp: x.stamp()})
	t := tally(c, p.Votes)
	var after *consortium
	switch {
	case c.gov.Params.Passes(t):
		if after, e = x.apply(c, &p.Change); e != nil {
			e.Msg = "proposal " + strconv.Itoa(p.Number) + " reached its quorum but cannot be applied now: " + e.Msg + " (nothing changed; this vote can be cast again once the state allows)"
			return e
		}
		p.Status, p.Applied = types.ProposalPassed, x.height
	case c.gov.Params.Unreachable(t):
		p.Status = types.ProposalRejected
	}
	if p.Status != types.ProposalOpen {
		st := x.stamp()
		p.Decided = &st
	}
	x.st.setJSON(types.KeyProposal(p.Number), p)
	x.emit("proposal", strconv.Itoa(p.Number), "change", string(p.Kind), "status", string(p.Status), "vote", voteWord(m.Approve),
		"yes", strconv.Itoa(t.Yes), "no", strconv.Itoa(t.No), "voting", strconv.Itoa(t.Voting))
	if after != nil {
		return x.write(c, after, p.Number)
	}
	return nil
}

// tally counts the votes of the organisations that vote now.
func tally(c *consortium, votes []types.Vote) types.Tally {
	cast := map[string]bool{}
	for _, v := range votes {
		cast[v.Org] = v.Approve
	}
	var t types.Tally
	for i := range c.orgs {
		o := &c.orgs[i]
		if !o.Voting() {
			continue
		}
		t.Voting++
		yes, voted := cast[o.ID]
		switch {
		case voted && yes:
			t.Yes++
		case voted:
			t.No++
		}
		if o.Kind != types.OrgSponsor {
			t.NonSponsorYes = t.NonSponsorYes || voted && yes
			t.NonSponsorOpen = t.NonSponsorOpen || !voted
		}
	}
	return t
}

func voteWord(approve bool) string {
	if approve {
		return "yes"
	}
	return "no"
}
