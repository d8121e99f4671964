package app_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/types"
	"github.com/veritrial/veritrial/protocol"
)

// propertyProtocol is the example protocol with missing-data codes,
// which LB.PLT accepts (ND only), and week 4's window hard, so that the
// generated visit dates meet refusals as well as deviations.
func propertyProtocol() *protocol.Protocol {
	p := apptest.WithMissingCodes()
	p.Events[2].WindowHard = true // a visit outside its window is refused
	// A derived item that reads another form: each visit's BMI from the
	// screening height, recomputed as the demographics change.
	for i := range p.Forms {
		if p.Forms[i].OID == "VS" {
			g := &p.Forms[i].Groups[0]
			g.Items = append(g.Items, protocol.Item{OID: "VS.BMI", Label: "Body mass index at the visit", Type: protocol.TypeDecimal, Digits: 1, Unit: "kg/m2",
				Derive: "round([VS.WEIGHT] / (([DM.HEIGHT] / 100) * ([DM.HEIGHT] / 100)), 1)"})
		}
	}
	return p
}

// demographics is a DM form with random height and weight (sometimes out
// of range), and sometimes a value for the derived DM.BMI, which is
// refused.
func (g *txGen) demographics() []protocol.ItemValue {
	vals := []protocol.ItemValue{
		apptest.V("DM.CONSDT", "2026-01-10"), apptest.V("DM.AGE", "54"), apptest.V("DM.SEX", "1"), apptest.V("DM.SMOKE", "1"),
		apptest.V("DM.HEIGHT", strconv.Itoa(90+g.r.Intn(150))+"."+strconv.Itoa(g.r.Intn(10))),
		apptest.V("DM.WEIGHT", strconv.Itoa(25+g.r.Intn(200))),
	}
	if g.r.Intn(8) == 0 {
		vals = append(vals, apptest.V("DM.BMI", "24.0"))
	}
	return vals
}

// txGen produces a random mix of valid and invalid transactions, signed
// through chain c (its height sets expiries).
type txGen struct {
	r        *rand.Rand
	c        *apptest.Chain
	subjects []string
	forms    []types.FormKey
	sent     [][]byte
	accounts int
	// keys counts the fresh keys drawn, votes the votes on the latest
	// proposal.
	keys, votes int
	// rotation is the last key rotation requested: account and new key.
	rotation types.MsgApproveKeyRotation
	// rs is what the randomisation steps sent.
	rs randState
}

var genSigners = []string{"site1-coordinator", "site1-coordinator", "site1-investigator", "site2-coordinator", "sponsor-dm", "regulator-auditor"}

func (g *txGen) pick(s []string) string { return s[g.r.Intn(len(s))] }

// signer is usually a site1 data-entry person, sometimes anyone.
func (g *txGen) signer() string {
	if g.r.Intn(10) < 8 {
		return g.pick(genSigners[:3])
	}
	return g.pick(genSigners)
}

func (g *txGen) subject() string {
	if len(g.subjects) == 0 || g.r.Intn(10) == 0 {
		return fmt.Sprintf("S9-%03d", g.r.Intn(1000))
	}
	return g.subjects[g.r.Intn(len(g.subjects))]
}

func (g *txGen) next() []byte {
	var raw []byte
	switch op := g.r.Intn(185); {
	case op >= 170:
		raw = g.randomization()
	case op >= 155:
		raw = g.labRanges()
	case op >= 145:
		raw = g.accessHead()
	case op >= 130:
		raw = g.delegation()
	case op >= 100:
		raw = g.governance()
	case op < 20: // enroll, new or duplicate, own site or not, now and then not a pseudonym
		id := fmt.Sprintf("S1-%03d", len(g.subjects))
		if g.r.Intn(8) == 0 {
			id = "Q" + strconv.Itoa(len(g.subjects))
		}
		if len(g.subjects) > 0 && g.r.Intn(5) == 0 {
			id = g.subjects[g.r.Intn(len(g.subjects))]
		}
		site := "site1"
		if g.r.Intn(8) == 0 {
			site = "site2"
		}
		g.subjects = append(g.subjects, id)
		raw = g.c.Tx(g.signer(), apptest.EnrollMsg(id, site))
	case op < 55: // submit a form with random values, in range or not
		k := apptest.FormKey(g.subject(), g.pick([]string{"SCR", "D1", "W4", "UNS", "UNS", "FU"}), 1, "VS")
		if k.Event == "UNS" {
			k.EventRepeat = 1 + g.r.Intn(3)
		}
		var vals []protocol.ItemValue
		switch g.r.Intn(7) {
		case 0:
			k.Form = "AE"
			// Every row serious, so that each AE form opens SAE records
			// (the example's AE form is its safety form) and its
			// corrections are their follow-ups.
			vals = apptest.SeriousAE(1+g.r.Intn(3), g.r.Intn(100))
		case 1:
			k.Form = "LB"
			vals = apptest.LB()
			vals[4] = apptest.V("LB.PLT", strconv.Itoa(g.r.Intn(2500)))
			if g.r.Intn(3) == 0 { // a missing-data code, allowed (ND) or not
				vals[4] = protocol.ItemValue{Item: "LB.PLT", Missing: g.pick([]string{"ND", "ND", "NA"}), Reason: "sample haemolysed"}
			}
		case 2: // derived DM.BMI, from random height and weight
			k.Event, k.Form = "SCR", "DM"
			vals = g.demographics()
		default:
			if g.r.Intn(10) < 7 {
				vals = apptest.VSOn(g.visitDate(), 100+g.r.Intn(70), 60+g.r.Intn(35))
			} else {
				vals = apptest.VSOn(g.visitDate(), 40+g.r.Intn(240), 20+g.r.Intn(150))
			}
		}
		g.r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		g.forms = append(g.forms, k)
		raw = g.c.Tx(g.signer(), apptest.SubmitMsg(k, vals))
	case op < 70: // correct a form
		if len(g.forms) == 0 {
			return g.next()
		}
		k := g.forms[g.r.Intn(len(g.forms))]
		ch := apptest.V("VS.SYSBP", strconv.Itoa(40+g.r.Intn(240)))
		switch k.Form {
		case "AE":
			ch = protocol.ItemValue{Item: "AE.SEV", Repeat: 1, Value: strconv.Itoa(1 + g.r.Intn(4))}
		case "LB":
			ch = apptest.V("LB.PLT", strconv.Itoa(g.r.Intn(2500)))
			if g.r.Intn(3) == 0 {
				ch = protocol.ItemValue{Item: "LB.PLT", Missing: "ND"}
			}
		case "DM": // recomputes DM.BMI, or is refused for naming it
			ch = apptest.V(g.pick([]string{"DM.WEIGHT", "DM.WEIGHT", "DM.HEIGHT", "DM.BMI"}), strconv.Itoa(20+g.r.Intn(250)))
		case "VS":
			if g.r.Intn(3) == 0 { // a visit date moved: deviations open and close
				ch = apptest.V("VS.DATE", g.visitDate())
			}
		}
		reason := "correction " + strconv.Itoa(g.r.Intn(5))
		if g.r.Intn(10) == 0 {
			reason = ""
		}
		raw = g.c.Tx(g.signer(), apptest.CorrectMsg(k, reason, ch))
	case op < 72: // withdraw, of any kind (a later one must restrict more)
		kind := types.WithdrawalKind(g.pick([]string{string(types.WithdrawTreatment), string(types.WithdrawFollowUp), string(types.WithdrawConsent)}))
		w := &types.MsgWithdrawSubject{Study: apptest.StudyID, Subject: g.subject(), Reason: "reason " + strconv.Itoa(g.r.Intn(3)), Kind: kind}
		raw = g.c.Tx(g.signer(), types.Msg{WithdrawSubject: w})
	case op < 74: // a query on a form not entered (or entered, or not at the event)
		k := apptest.FormKey(g.subject(), g.pick([]string{"W4", "W8", "FU"}), 1, g.pick([]string{"VS", "VS", "DM"}))
		q := &types.MsgOpenQuery{FormKey: k, Text: "visit overdue", Missing: true}
		raw = g.c.Tx(g.pick([]string{"cro-monitor", "sponsor-dm", "site1-coordinator"}), types.Msg{QueryOpen: q})
	case op < 80: // forged signature
		raw = g.c.TxAs(g.pick(genSigners), g.c.Person(g.pick(genSigners)), apptest.EnrollMsg(g.subject(), "site1"))
	case op < 90: // replay of an earlier tx
		if len(g.sent) == 0 {
			return g.next()
		}
		return g.sent[g.r.Intn(len(g.sent))]
	case op < 94: // account administration
		g.accounts++
		id := fmt.Sprintf("acct-%d", g.accounts)
		if g.r.Intn(3) == 0 {
			raw = g.c.Tx("site1-admin", revokeMsg(fmt.Sprintf("acct-%d", g.r.Intn(g.accounts)+1), "left"))
		} else {
			role := types.RoleCoordinator
			if g.r.Intn(2) == 0 {
				role = types.RoleInvestigator
			}
			raw = g.c.Tx(g.pick([]string{"site1-admin", "site2-admin", "site1-coordinator"}), addMsg(id, id, pub(id), role))
		}
	case op < 97: // garbage and near-misses
		raw = g.c.Tx("site1-coordinator", apptest.EnrollMsg(g.subject(), "site1"))
		raw = append(raw[:g.r.Intn(len(raw))], raw[g.r.Intn(len(raw)):]...)
	default: // expired
		b := g.c.Body("site1-coordinator", apptest.EnrollMsg(g.subject(), "site1"))
		b.Expires = g.c.Height
		raw = g.c.SignBody(b, g.c.Person("site1-coordinator"))
	}
	g.sent = append(g.sent, raw)
	return raw
}

// visitDate is a date in the first 150 days of 2026, so that visits fall
// inside and outside their windows around any baseline.
func (g *txGen) visitDate() string {
	d, _ := protocol.DateDays("2026-01-01")
	return protocol.DateString(d + int64(g.r.Intn(150)))
}

// delegation is a change of who may act: the principal investigator's
// delegation of site tasks to site1's coordinator or to an account the
// generator added (or its revocation), the sponsor's delegation of the
// study to the CRO (or its revocation), a change of principal
// investigator, a request to rotate an added account's key and its
// approval; now and then by someone who may not.
func (g *txGen) delegation() []byte {
	tasks := func(vocab []types.Task) []types.Task {
		var out []types.Task
		for _, t := range vocab {
			if g.r.Intn(3) > 0 {
				out = append(out, t)
			}
		}
		return out
	}
	added := fmt.Sprintf("acct-%d", g.r.Intn(g.accounts+1)+1)
	switch g.r.Intn(6) {
	case 0, 1:
		who := g.pick([]string{"site1-coordinator", "site1-coordinator", added, "site2-coordinator"})
		signer := g.pick([]string{"site1-investigator", "site1-investigator", "site1-investigator", "site1-coordinator"})
		if g.r.Intn(4) == 0 {
			return g.c.Tx(signer, apptest.UndelegateSiteMsg(apptest.StudyID, "site1", who, "generated"))
		}
		return g.c.Tx(signer, apptest.DelegateSiteMsg(apptest.StudyID, "site1", who, tasks(types.SiteTasks)...))
	case 2:
		signer := g.pick([]string{"sponsor-dm", "sponsor-dm", "cro-admin"})
		if g.r.Intn(4) == 0 {
			return g.c.Tx(signer, apptest.UndelegateStudyMsg(apptest.StudyID, "cro", "generated"))
		}
		return g.c.Tx(signer, apptest.DelegateStudyMsg(apptest.StudyID, "cro", tasks(types.StudyTasks)...))
	case 3:
		latest := fmt.Sprintf("acct-%d", g.accounts)
		return g.c.Tx("sponsor-dm", apptest.ChangeInvestigatorMsg(apptest.StudyID, "site1", g.pick([]string{"site1-investigator", latest, latest, "site1-coordinator"}), "generated"))
	case 4:
		g.keys++
		g.rotation = types.MsgApproveKeyRotation{Account: added, NewPubKey: pub(fmt.Sprint("gen-key-", g.keys))}
		return g.c.Tx(g.pick([]string{"site1-admin", "site1-admin", "site2-admin"}), rotateMsg(added, g.rotation.NewPubKey))
	}
	// Mostly the person approves, with the key it was added with.
	r := g.rotation
	msg := types.Msg{ApproveKeyRotation: &r}
	if r.Account != "" && g.r.Intn(4) > 0 {
		return g.c.TxAs(r.Account, &apptest.Person{Key: apptest.KeyFor(r.Account)}, msg)
	}
	r.Account = added
	return g.c.Tx(g.pick([]string{"site1-admin", "site2-admin", "site1-coordinator"}), msg)
}

// accessHead is a commitment of a node's access log head, mostly by an
// organisation's node account for its own node, following its last
// commitment with more entries; now and then for another organisation's
// node, out of sequence, covering fewer entries, or by a person.
func (g *txGen) accessHead() []byte {
	org := g.pick([]string{"sponsor", "site1", "site2", "cro", "regulator"})
	signer := org + "-node"
	node := apptest.NodeID(org)
	switch g.r.Intn(12) {
	case 0:
		node = apptest.NodeID(g.pick([]string{"sponsor", "site1", "regulator"}))
	case 1:
		signer = org + "-admin"
	}
	last, err := g.c.App.LastAccessHead(node)
	if err != nil {
		g.c.T.Fatal(err)
	}
	if last == nil {
		last = &types.AccessHead{}
	}
	seq, entries := last.Seq+1, last.Entries+1+int64(g.r.Intn(50))
	switch g.r.Intn(8) {
	case 0:
		seq += int64(g.r.Intn(3)) - 1
	case 1:
		entries = last.Entries - int64(g.r.Intn(2))
	}
	head := fmt.Sprintf("%064x", g.r.Uint64())
	return g.c.Tx(signer, types.Msg{CommitAccessHead: &types.MsgCommitAccessHead{Node: node, Seq: seq, Head: head, Entries: entries}})
}

// labRanges is a registration of the study's reference-range table (the
// example's with a random platelet range, sometimes one that does not
// hold together, now and then by someone who may not), or an assessment
// of a lab value of an entered laboratory form, mostly by site1's
// investigator of its current version, sometimes of an older version, a
// value without a flag, or by someone who may not.
func (g *txGen) labRanges() []byte {
	if g.r.Intn(3) == 0 {
		t := apptest.LabRanges()
		low := 100 + g.r.Intn(100)
		t.Ranges = append(t.Ranges, types.LabRange{Item: "LB.PLT", Low: strconv.Itoa(low), High: strconv.Itoa(low + g.r.Intn(400) - 50)})
		if g.r.Intn(6) == 0 {
			t.Ranges = append(t.Ranges, types.LabRange{Item: "LB.K", Low: "3.0", High: "5.0"}) // overlaps
		}
		signer := g.pick([]string{"sponsor-dm", "sponsor-dm", "sponsor-dm", "sponsor-admin", "site1-investigator"})
		return g.c.Tx(signer, apptest.SetLabRangesMsg(t, "generated"))
	}
	k := apptest.FormKey(g.subject(), "SCR", 1, "LB")
	for _, f := range g.forms {
		if f.Form == "LB" && g.r.Intn(3) == 0 {
			k = f
		}
	}
	var rec types.FormRecord
	g.c.Get(types.KeyForm(k), &rec)
	version := max(1, rec.Version-g.r.Intn(2))
	item := g.pick([]string{"LB.PLT", "LB.PLT", "LB.PLT", "LB.K"})
	significant := g.r.Intn(3) == 0
	comment := ""
	if g.r.Intn(4) > 0 {
		comment = "assessed " + strconv.Itoa(g.r.Intn(5))
	}
	signer := g.pick([]string{"site1-investigator", "site1-investigator", "site1-investigator", "site1-coordinator", "site2-investigator"})
	return g.c.Tx(signer, apptest.AssessLabMsg(k, item, 0, version, significant, comment))
}

// govAdmins are the administrators of the test consortium's voting
// organisations.
var govAdmins = []string{"sponsor-admin", "site1-admin", "site2-admin", "cro-admin", "regulator-admin"}

// governance is a consortium proposal or a vote: re-weights, rotations,
// new organisations with or without a validator, suspensions and
// reinstatements (never of site1, whose people enter most of the data),
// node IDs and rules, and votes (mostly yes, mostly on the latest
// proposal by each organisation in turn, some on unknown ones); now and
// then by someone who may not.
func (g *txGen) governance() []byte {
	signer := g.pick(govAdmins)
	if g.r.Intn(12) == 0 {
		signer = "site1-coordinator"
	}
	var gov types.Governance
	g.c.Get(types.KeyGovernance, &gov)
	if gov.Proposals > 0 && g.r.Intn(6) > 0 {
		// Mostly on the latest proposal committed, by the organisations
		// in turn, so that some pass.
		n := gov.Proposals
		if g.r.Intn(4) == 0 {
			n = 1 + g.r.Intn(gov.Proposals+1)
		} else {
			g.votes++
			signer = govAdmins[g.votes%len(govAdmins)]
		}
		return g.c.Tx(signer, voteMsg(n, g.r.Intn(5) > 0))
	}
	g.keys++
	fresh := fmt.Sprint("gen-", g.keys)
	org := g.pick([]string{"sponsor", "site1", "site2", "cro", "regulator"})
	var ch types.Change
	reason := ""
	switch g.r.Intn(7) {
	case 0:
		ch = powerChange(org, apptest.ValidatorKey(org), int64(g.r.Intn(16)))
	case 1:
		ch = types.Change{Validator: &types.ValidatorChange{Org: org, PubKey: apptest.ValidatorKey(fresh), Replaces: apptest.ValidatorKey(org)}}
	case 2:
		var v *types.Validator
		if g.r.Intn(2) == 0 {
			v = validator(fresh, int64(5+g.r.Intn(10)))
		}
		ch = addOrgChange(fresh, types.OrgKind(g.pick([]string{"site", "cro", "ethics", "regulator", "sponsor"})), v)
	case 3:
		ch, reason = suspend(g.pick([]string{"site2", "cro", "regulator"})), "generated"
	case 4:
		ch = reinstate(g.pick([]string{"site2", "cro", "regulator"}))
	case 5:
		ch = types.Change{Nodes: &types.NodesChange{Org: org, NodeIDs: []string{apptest.NodeID(fresh)}}}
	default:
		p := types.DefaultGovParams()
		p.QuorumNum, p.QuorumDen = 1+g.r.Intn(3), 4
		ch = types.Change{Params: &p}
	}
	return g.c.Tx(signer, proposeMsg(ch, reason))
}

// TestPropertyReplicasAgree feeds three fresh apps the same random blocks:
// one sees every tx through CheckTx first (tx cache, mempool), another
// only through FinalizeBlock, and the third sees every tx through CheckTx
// and every block through ProcessProposal first (optimistic execution),
// often after proposals of other blocks that lose their round: the
// block's txs in another order, with txs of their own, some of which
// later blocks replay, and some blocks come to FinalizeBlock without
// their proposal. The txs include consortium proposals and votes that
// change the validator set, delegations, changes of principal
// investigator, two-person key rotations, access log heads, visit
// dates inside and outside their windows (deviations, hard-window
// refusals), queries on missing forms, reference-range tables and
// assessments of flagged lab values. Every
// result code, every app hash, every block's validator updates (which
// CometBFT's own validator set code must accept) and every query must
// agree. A third app replays the recorded blocks from
// scratch with a restart half-way and must reproduce every hash.
func TestPropertyReplicasAgree(t *testing.T) {
	seeds, blocks := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 80
	if testing.Short() {
		seeds, blocks = []int64{1}, 20
	}
	setChanges, deviations, refusals, assessed, rederived := 0, 0, 0, 0, 0
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			a, b, d := apptest.New(t), apptest.New(t), apptest.New(t)
			d.Optimistic = true
			for _, c := range []*apptest.Chain{a, b, d} {
				c.SetupStudyWith(apptest.RegisterMsg(propertyProtocol()))
			}
			if !bytes.Equal(a.AppHash, b.AppHash) || !bytes.Equal(a.AppHash, d.AppHash) {
				t.Fatal("setup differs")
			}
			start := a.Height
			g := &txGen{r: rand.New(rand.NewSource(seed)), c: a}
			var recorded [][][]byte
			updates := map[int64][]abci.ValidatorUpdate{}
			ok, bad, changes := 0, 0, 0
			codes := map[uint32]int{}
			for n := 0; n < blocks; n++ {
				size := g.r.Intn(16)
				if g.r.Intn(4) == 0 {
					size = 0
				}
				txs := make([][]byte, size)
				for i := range txs {
					txs[i] = g.next()
					a.Check(txs[i])
					d.Check(txs[i])
				}
				for lost := g.r.Intn(4) - 1; lost > 0; lost-- {
					other := slices.Clone(txs)
					slices.Reverse(other)
					for range g.r.Intn(4) {
						other = append(other, g.next())
					}
					d.Propose(other...)
				}
				// Mostly d sees the decided block's proposal too; sometimes
				// it did not get it in time, and the block comes straight to
				// FinalizeBlock.
				d.Optimistic = g.r.Intn(5) != 0
				recorded = append(recorded, txs)
				ra, rb, rd := a.Block(txs...), b.Block(txs...), d.Block(txs...)
				if !sameUpdates(a.Updates, b.Updates) || !sameUpdates(a.Updates, d.Updates) {
					t.Fatalf("block %d: validator updates differ: %v, %v, %v (optimistic)", a.Height, a.Updates, b.Updates, d.Updates)
				}
				updates[a.Height] = a.Updates
				if len(a.Updates) > 0 {
					changes++
					setChanges++
				}
				for i := range ra {
					if ra[i].Code != rb[i].Code || ra[i].Log != rb[i].Log {
						t.Fatalf("block %d tx %d: %d %q vs %d %q", a.Height, i, ra[i].Code, ra[i].Log, rb[i].Code, rb[i].Log)
					}
					if ra[i].Code != rd[i].Code || ra[i].Log != rd[i].Log {
						t.Fatalf("block %d tx %d (optimistic): %d %q vs %d %q", a.Height, i, ra[i].Code, ra[i].Log, rd[i].Code, rd[i].Log)
					}
					codes[ra[i].Code]++
					if ra[i].Code == 0 {
						ok++
					} else {
						bad++
					}
				}
				if !bytes.Equal(a.AppHash, b.AppHash) || !bytes.Equal(a.AppHash, d.AppHash) {
					t.Fatalf("block %d: app hashes differ", a.Height)
				}
			}
			if ok < blocks/2 || bad < blocks/2 || len(codes) < min(10, blocks/2) {
				t.Fatalf("degenerate mix: %d accepted, %d rejected, codes %v", ok, bad, codes)
			}
			t.Logf("%d blocks, %d txs accepted, %d rejected, %d validator set changes; codes %v", blocks, ok, bad, changes, codes)
			checkValidators(t, a)
			for k, v := range dump(t, a, 0) {
				if strings.HasPrefix(k, types.PrefixDeviation) && strings.Contains(v, `"status":"open"`) {
					deviations++
				}
				if (strings.HasPrefix(k, types.PrefixForm) || strings.HasPrefix(k, types.PrefixHistory)) && strings.Contains(v, "derived values recomputed by the ledger") {
					rederived++
				}
			}
			refusals += codes[uint32(types.CodeVisitOutOfWindow)]
			assessed += len(list(t, a, types.PrefixLabAssess, 0, 1000))
			for _, h := range []int64{0, start + 1, start + int64(blocks)/2, a.Height - 1} {
				da := dump(t, a, h)
				if db, dd := dump(t, b, h), dump(t, d, h); !reflect.DeepEqual(da, db) || !reflect.DeepEqual(da, dd) {
					t.Fatalf("queries at height %d differ", h)
				}
			}
			for _, k := range g.forms[:min(len(g.forms), 20)] {
				if fa := rawGet(t, a, types.KeyForm(k), 0); !bytes.Equal(fa, rawGet(t, b, types.KeyForm(k), 0)) || !bytes.Equal(fa, rawGet(t, d, types.KeyForm(k), 0)) {
					t.Fatalf("form %v differs", k)
				}
			}

			// Determinism: the same blocks from scratch, restarted half-way.
			c := apptest.New(t)
			c.SetupStudyWith(apptest.RegisterMsg(propertyProtocol()))
			for i, txs := range recorded {
				if i == len(recorded)/2 {
					c.Reopen()
				}
				c.Block(txs...)
				if !bytes.Equal(c.AppHash, a.Hashes[c.Height]) {
					t.Fatalf("replay from scratch: block %d app hash differs", c.Height)
				}
				if !sameUpdates(c.Updates, updates[c.Height]) {
					t.Fatalf("replay from scratch: block %d validator updates differ", c.Height)
				}
			}
		})
	}
	if !testing.Short() && (deviations == 0 || refusals == 0) {
		t.Errorf("the generated visit dates opened %d deviations and met %d hard-window refusals", deviations, refusals)
	}
	if !testing.Short() && rederived == 0 {
		t.Error("no generated change recomputed another form's derived item")
	}
	if !testing.Short() && assessed == 0 {
		t.Error("no generated assessment of a lab value was recorded")
	}
	if !testing.Short() && setChanges < len(seeds) {
		t.Errorf("the generated governance changed the validator set only %d times in %d runs", setChanges, len(seeds))
	}
}
