package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
	"github.com/veritrial/veritrial/app/types"
)

// policyHome turns a home made by veritrial init into one of the policy
// consortium (apptest.PolicyGenesis): its genesis has the consortium's
// organisations and people, the home's validator run by the regulator,
// and its keyring holds every person's key (under the dev passphrase,
// with a cheap key derivation to keep the many commands fast). It
// returns the people by account ID.
func policyHome(t *testing.T, home string) map[string]*apptest.Person {
	t.Helper()
	file := filepath.Join(home, "config", "genesis.json")
	doc, err := cmttypes.GenesisDocFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var demo types.Genesis
	if err := json.Unmarshal(doc.AppState, &demo); err != nil {
		t.Fatal(err)
	}
	var validators []types.Validator
	for _, o := range demo.Orgs {
		validators = append(validators, o.Validators...)
	}
	g, added := apptest.PolicyGenesis()
	for i := range g.Orgs {
		g.Orgs[i].Validators = nil
		if g.Orgs[i].ID == "regulator" {
			g.Orgs[i].Validators = validators
		}
	}
	policy, err := node.NewGenesisDoc(doc.ChainID, doc.GenesisTime, g)
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.SaveAs(file); err != nil {
		t.Fatal(err)
	}

	if err := os.RemoveAll(node.KeyringDir(home)); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.Open(node.KeyringDir(home), keyring.WithKDF(keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, people := apptest.Consortium()
	byID := map[string]*apptest.Person{}
	for _, p := range append(people, added...) {
		if _, err := kr.Import(p.ID, node.DevPassphrase, p.Key); err != nil {
			t.Fatal(err)
		}
		byID[p.ID] = p
	}
	return byID
}

// TestReadPolicyThroughCLI reads, with real veritrial commands against a
// real node of the policy consortium, every kind of record as a person of
// every organisation kind in two roles (the one of apptest.PolicyReaders
// and the organisation's administrator: roles do not matter), and
// compares each cell with the read policy's table (the reader groups of
// apptest, which package app's TestReadPolicyTable checks key by key): a
// reader the policy lets see the record is shown it, any other is refused
// with read_not_visible, and nothing of the record is in the refusal.
func TestReadPolicyThroughCLI(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))
	people := policyHome(t, home)
	n := startNode(t, env, home)
	waitHeight(t, env, home, 1, n)

	// The studies, each tx sent through the read API by its signer.
	ctx := context.Background()
	api := "http://127.0.0.1:" + strconv.Itoa(ports[2])
	for _, s := range apptest.PolicySteps() {
		cl, err := client.New(api)
		if err != nil {
			t.Fatal(err)
		}
		p := people[s.Signer]
		cl.ReadAs(s.Signer, func() (types.Signer, error) { return p, nil })
		if res, err := cl.Send(ctx, s.Signer, p, s.Msg); err != nil || !res.OK() {
			t.Fatalf("%s: %+v %v", s.Signer, res, err)
		}
	}

	study, studyB := apptest.StudyID, apptest.StudyB
	cells := []struct {
		scope string
		args  []string
		sees  string
		// shows is in what a reader who sees the record is shown, and
		// in nothing a refused reader is told.
		shows string
	}{
		{"consortium records", []string{"consortium", "members"}, apptest.Members, "regulator2"},
		{"study A, study-wide", []string{"show", "study", "--study", study}, apptest.PartiesA, "Lock approvers: sponsor, regulator "},
		{"study A, site1's subject", []string{"show", "subject", "--study", study, "--subject", "S1-001"}, apptest.WholeA + " s1", "site1"},
		{"study A, site2's subject", []string{"show", "subject", "--study", study, "--subject", "S2-001"}, apptest.WholeA + " s2", "site2"},
		{"study B, study-wide", []string{"show", "study", "--study", studyB}, apptest.PartiesB, "Lock approvers: sponsor2, regulator2 "},
		{"study B, site3's subject", []string{"show", "subject", "--study", studyB, "--subject", "S3-001"}, apptest.PartiesB, "site3"},
		{"an account of study A's parties", []string{"show", "account", "--account", "site1-coordinator"}, apptest.PartiesA, "organisation site1"},
		{"an account of study B's parties", []string{"show", "account", "--account", "sponsor2-dm"}, apptest.PartiesB, "organisation sponsor2"},
		{"an account of no study", []string{"show", "account", "--account", "cro2-monitor"}, "cro2", "organisation cro2"},
	}
	// notVisible is how the CLI words read_not_visible.
	const notVisible = "the read policy does not let this reader read this record"
	for _, r := range apptest.PolicyReaders {
		for _, reader := range []string{r.Account, r.Org + "-admin"} {
			for _, c := range cells {
				want := slices.Contains(strings.Fields(c.sees), r.Short)
				res := vt(t, env, append(c.args, "--from", reader)...)
				switch {
				case want && (res.code != 0 || !strings.Contains(res.stdout, c.shows)):
					t.Errorf("%s (%s) reading %s: exit %d, not shown %q\nstdout: %s\nstderr: %s", reader, r.Short, c.scope, res.code, c.shows, res.stdout, res.stderr)
				case !want && (res.code == 0 || !strings.Contains(res.stderr, notVisible) || strings.Contains(res.stdout+res.stderr, c.shows)):
					t.Errorf("%s (%s) reading %s: exit %d, want a refusal (%q) that shows nothing of it\nstdout: %s\nstderr: %s", reader, r.Short, c.scope, res.code, notVisible, res.stdout, res.stderr)
				}
			}
		}
	}
}
