package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veritrial/veritrial/app/node"
)

// The partition tests run each validator in a network namespace of its
// own, joined by a veth pair to a bridge in the test's namespace, which
// has an address on the bridge too. The test, its workload and its checks
// reach every node's RPC over the bridge: the RPC listens on the node's
// address in its namespace, with --expose-rpc, as on a machine whose
// firewall lets only trusted machines in (here nothing but the test can
// reach the bridge). Each organisation's CLI runs in its node's namespace
// and goes through the node's read API on that namespace's loopback, as
// on the organisation's own machine.
//
// A partition is a set of blackhole routes: in the namespace of each node,
// one to the address of every node on the other side. The kernel discards
// a packet to a blackholed address at its sender, so with the routes on
// both sides nothing crosses either way, while the test's own address
// stays reachable from every node (the test watches a cut node stand
// still). Taking a veth down would cut the test off from the node too, and
// its packets would be lost silently: TCP backs off exponentially, and
// with a bridge port down for 30 s a connection had still not resumed 18 s
// after the heal. A blackholed send fails locally instead, TCP retries it
// without backing off, and with the routes gone the same connection
// carried data again within a second: the nodes resume without waiting
// for CometBFT's ping/pong timeouts (60 s and 45 s) or for a redial.

// ipPath is iproute2's ip command, found by newPartNet.
var ipPath string

// partNames matches every name a partition network gives a namespace or
// a link: "vtp", the test process's pid in base 36, "-", the network's
// sequence number in the process, and the role (br: the bridge, hN: the
// test's end of node N's veth, nN: node N's namespace). Link names stay
// within Linux's 15 characters.
var partNames = regexp.MustCompile(`^vtp([0-9a-z]+)-[0-9a-z](br|h[0-9]|n[0-9])$`)

var (
	partSeq atomic.Int64
	// partLive are the name prefixes of this process's networks in use.
	partLiveMu sync.Mutex
	partLive   = map[string]bool{}
)

// partNet is a private network of n nodes in namespaces of their own, on
// 10.213.X.0/24 with X chosen free: the bridge is .1, node i is .(i+2).
type partNet struct {
	t      *testing.T
	prefix string
	bridge string
	ns     []string
	addrs  []string
	// routes are the blackhole routes in place: in ns[r[0]], to addrs[r[1]].
	routes [][2]int
}

// newPartNet builds the network and removes it when the test ends. When
// namespaces cannot be made (not root, no ip, the kernel refuses), the
// test is skipped, or fails with CI set, saying what is missing.
func newPartNet(t *testing.T, n int) *partNet {
	t.Helper()
	if os.Geteuid() != 0 {
		netnsUnavailable(t, "the test does not run as root")
	}
	if ipPath = findIP(); ipPath == "" {
		netnsUnavailable(t, "iproute2's ip command is not installed")
	}
	p := &partNet{t: t, prefix: fmt.Sprintf("vtp%s-%s", strconv.FormatInt(int64(os.Getpid()), 36), strconv.FormatInt(partSeq.Add(1)%36, 36))}
	p.bridge = p.prefix + "br"
	sweepPartNets(t)
	partLiveMu.Lock()
	partLive[p.prefix] = true
	partLiveMu.Unlock()
	t.Cleanup(p.remove)

	subnet := freeSubnet(t)
	p.setup("link", "add", p.bridge, "type", "bridge")
	p.setup("addr", "add", subnet+"1/24", "dev", p.bridge)
	p.setup("link", "set", p.bridge, "up")
	for i := range n {
		ns, veth, addr := fmt.Sprintf("%sn%d", p.prefix, i), fmt.Sprintf("%sh%d", p.prefix, i), subnet+strconv.Itoa(i+2)
		p.ns, p.addrs = append(p.ns, ns), append(p.addrs, addr)
		p.setup("netns", "add", ns)
		p.setup("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		p.setup("link", "set", veth, "master", p.bridge, "up")
		p.setup("-n", ns, "link", "set", "lo", "up")
		p.setup("-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
		p.setup("-n", ns, "link", "set", "eth0", "up")
	}
	t.Logf("network %s: nodes at %s in namespaces %s, the test at %s1 on bridge %s",
		p.prefix, strings.Join(p.addrs, ", "), strings.Join(p.ns, ", "), subnet, p.bridge)
	return p
}

// netnsUnavailable skips the test saying what is missing, or fails it
// when CI is set (.ci/run sets it): a partition test must not vanish from
// CI unnoticed.
func netnsUnavailable(t *testing.T, why string) {
	t.Helper()
	msg := "network namespaces are not available: " + why +
		"; the partition tests run as root with iproute2's ip (apt-get install iproute2; make test installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal("PARTITION TESTS CANNOT RUN IN CI: " + msg)
	}
	t.Skip("PARTITION TESTS SKIPPED: " + msg + " (with CI set this fails)")
}

// findIP returns the path of ip, also when /usr/sbin is not on PATH, or
// "".
func findIP() string {
	if p, err := exec.LookPath("ip"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// ip runs ip with args and returns its combined output.
func ip(args ...string) (string, error) {
	out, err := exec.Command(ipPath, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// setup runs a step of building the network; a failure means the
// machine cannot give the test namespaces.
func (p *partNet) setup(args ...string) {
	p.t.Helper()
	if _, err := ip(args...); err != nil {
		netnsUnavailable(p.t, err.Error())
	}
}

// must runs ip and fails the test on an error.
func (p *partNet) must(args ...string) {
	p.t.Helper()
	if _, err := ip(args...); err != nil {
		p.t.Fatal(err)
	}
}

// freeSubnet returns "10.213.X." for an X no address or route of the
// test's namespace uses.
func freeSubnet(t *testing.T) string {
	t.Helper()
	var used strings.Builder
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		out, err := ip(args...)
		if err != nil {
			netnsUnavailable(t, err.Error())
		}
		used.WriteString(out)
	}
	for range 100 {
		s := fmt.Sprintf("10.213.%d.", 1+rand.IntN(254))
		if !strings.Contains(used.String(), s) {
			return s
		}
	}
	t.Fatal("no free subnet 10.213.X.0/24 found in 100 tries")
	return ""
}

// partition cuts the network between groups of nodes (indexes into the
// network's nodes): in each node's namespace, a blackhole route to every
// node of another group.
func (p *partNet) partition(groups ...[]int) {
	p.t.Helper()
	for gi, g := range groups {
		for gj, other := range groups {
			if gi == gj {
				continue
			}
			for _, i := range g {
				for _, j := range other {
					p.must("-n", p.ns[i], "route", "add", "blackhole", p.addrs[j]+"/32")
					p.routes = append(p.routes, [2]int{i, j})
				}
			}
		}
	}
}

// heal removes every blackhole route.
func (p *partNet) heal() {
	p.t.Helper()
	for len(p.routes) > 0 {
		r := p.routes[0]
		p.must("-n", p.ns[r[0]], "route", "del", "blackhole", p.addrs[r[1]]+"/32")
		p.routes = p.routes[1:]
	}
}

// remove deletes the namespaces, the veths and the bridge, and fails the
// test if any of them is left.
func (p *partNet) remove() {
	removePartNames(partNetNames(p.prefix))
	partLiveMu.Lock()
	delete(partLive, p.prefix)
	partLiveMu.Unlock()
	if left := partNetNames(p.prefix); len(left) > 0 {
		p.t.Errorf("network %s: could not remove %s", p.prefix, strings.Join(left, ", "))
	}
}

// partNetNames lists the namespaces, then the links, whose names start
// with prefix and match partNames.
func partNetNames(prefix string) []string {
	var out []string
	nsList, _ := ip("netns", "list")
	links, _ := ip("-o", "link", "show")
	for _, l := range strings.Split(nsList, "\n") {
		if name, _, _ := strings.Cut(l, " "); strings.HasPrefix(name, prefix) && partNames.MatchString(name) {
			out = append(out, name)
		}
	}
	// Links last, the bridge after its ports: "7: vtp1ab-1h0@if6: <...".
	var bridges []string
	for _, l := range strings.Split(links, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if !strings.HasPrefix(name, prefix) || !partNames.MatchString(name) {
			continue
		}
		if strings.HasSuffix(name, "br") {
			bridges = append(bridges, name)
		} else {
			out = append(out, name)
		}
	}
	return append(out, bridges...)
}

// removePartNames deletes the namespaces and links named. Deleting the
// test's end of a veth deletes the node's end too, even while a process
// still holds the namespace.
func removePartNames(names []string) {
	for _, name := range names {
		if m := partNames.FindStringSubmatch(name); m != nil && m[2][0] == 'n' {
			ip("netns", "delete", name)
		} else {
			ip("link", "delete", name)
		}
	}
}

// sweepPartNets removes what partition networks of earlier test processes
// left behind when they were killed before their cleanup ran (a test
// timeout, SIGKILL): names of a process that no longer runs, or of this
// process's pid that no network of this process uses (the pid was
// reused).
func sweepPartNets(t *testing.T) {
	partLiveMu.Lock()
	defer partLiveMu.Unlock()
	var stale []string
	for _, name := range partNetNames("vtp") {
		m := partNames.FindStringSubmatch(name)
		pid, err := strconv.ParseInt(m[1], 36, 64)
		if err != nil {
			continue
		}
		if pid == int64(os.Getpid()) {
			if !partLive[name[:len(name)-len(m[2])]] {
				stale = append(stale, name)
			}
		} else if !processRuns(int(pid)) {
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		t.Logf("removing what a killed earlier run left: %s", strings.Join(stale, ", "))
		removePartNames(stale)
	}
}

// processRuns reports whether a process with pid exists.
func processRuns(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// partitionedCluster starts the four organisations' validators, each in a
// namespace of its own network, sets the study up through the CLI and
// runs both sites' coordinators' work in the background (until the
// loader's finish). It skips the test under -short.
func partitionedCluster(t *testing.T) (*cluster, *partNet, *loader) {
	t.Helper()
	if testing.Short() {
		t.Skip("partition tests run four nodes for a minute; skipped under -short")
	}
	orgs := []string{"sponsor", "site-1", "site-2", "regulator"}
	pn := newPartNet(t, len(orgs))
	c := newClusterWith(t, []string{"--hosts", strings.Join(pn.addrs, ",")}, orgs...)
	for i, n := range c.nodes {
		conf, err := node.LoadConfig(n.home)
		if err != nil {
			t.Fatal(err)
		}
		_, port, err := net.SplitHostPort(strings.TrimPrefix(conf.RPC.ListenAddress, "tcp://"))
		if err != nil {
			t.Fatalf("rpc.laddr of %s: %v", n.org, err)
		}
		conf.RPC.ListenAddress = "tcp://" + net.JoinHostPort(pn.addrs[i], port)
		if err := node.WriteConfigFile(node.ConfigFile(n.home), conf); err != nil {
			t.Fatal(err)
		}
		n.netns, n.args, n.rpc = pn.ns[i], []string{"--expose-rpc"}, conf.RPC.ListenAddress
		n.cl = c.newClient(n.rpc)
	}
	l, site1, site2 := c.startStudy()
	c.checkAll("setup", l.log)
	l.start(site1, site2)
	time.Sleep(2 * time.Second)
	return c, pn, l
}

// TestPartitionCutOne cuts one validator off from the three others under
// load: they keep committing, the workload's txs included, while it
// stands still; after the heal it catches up, and every invariant holds
// on all four.
func TestPartitionCutOne(t *testing.T) {
	began := time.Now()
	c, pn, l := partitionedCluster(t)

	victim := c.node("site-2")
	var others []*tnode
	for _, n := range c.nodes {
		if n != victim {
			others = append(others, n)
		}
	}
	// Its coordinator goes through another node meanwhile, as when its
	// node is down.
	victim.mu.Lock()
	victim.ready = false
	victim.mu.Unlock()
	pn.partition([]int{c.indexOf(victim.org)}, []int{c.indexOf("sponsor"), c.indexOf("site-1"), c.indexOf("regulator")})
	cutAt := time.Now()
	t.Logf("node %s cut off from the three others", victim.org)
	// A block past its precommits may still reach it.
	time.Sleep(2 * time.Second)
	stuck := heights(t, []*tnode{victim})[0]
	from := heights(t, others)
	c.waitAdvance(others, max(from[0], from[1], from[2]), 8, 60*time.Second)
	reached := heights(t, others)
	if h := heights(t, []*tnode{victim})[0]; h != stuck {
		t.Fatalf("invariant \"a cut-off node commits nothing\" broken on node %s: height %d -> %d while cut off", victim.org, stuck, h)
	}
	t.Logf("while cut off for %s: %s stood at height %d, the others went from %v to %v",
		time.Since(cutAt).Round(time.Millisecond), victim.org, stuck, from, reached)

	pn.heal()
	healed := time.Now()
	target := max(reached[0], reached[1], reached[2])
	c.waitUp(victim, target, 60*time.Second)
	t.Logf("network healed: %s caught up to height %d in %s", victim.org, target, time.Since(healed).Round(time.Millisecond))
	l.finish()
	c.checkAll("cut one node off, heal", l.log)

	var during int
	for _, tx := range l.log.all() {
		if tx.Height > stuck && tx.Height <= target {
			during++
		}
	}
	if during == 0 {
		t.Fatalf("the workload committed nothing at heights %d-%d, while %s was cut off", stuck+1, target, victim.org)
	}
	t.Logf("partition test done in %s; %d workload txs committed while %s was cut off", time.Since(began).Round(time.Second), during, victim.org)
}

// TestPartitionSplit splits the four validators 2-2 under load, each
// half with a site whose coordinator keeps sending txs to its own node:
// neither half commits, and no two nodes hold different blocks at one
// height; after the heal the chain resumes, every tx the workload sent
// is committed, and every invariant holds on all four.
func TestPartitionSplit(t *testing.T) {
	began := time.Now()
	c, pn, l := partitionedCluster(t)

	pn.partition([]int{c.indexOf("sponsor"), c.indexOf("site-1")}, []int{c.indexOf("site-2"), c.indexOf("regulator")})
	split := time.Now()
	t.Logf("network split: sponsor, site-1 | site-2, regulator")
	// A block past its precommits may still land on either side.
	time.Sleep(3 * time.Second)
	before := heights(t, c.nodes)
	time.Sleep(6 * time.Second)
	after := heights(t, c.nodes)
	for i, n := range c.nodes {
		if after[i] != before[i] {
			t.Fatalf("invariant \"no commits without a quorum\" broken on node %s: height %d -> %d with the network split 2-2", n.org, before[i], after[i])
		}
	}
	if err := invBlocksAgreeUpTo(c.nodes, 1, after); err != nil {
		t.Fatalf("during the split: %v", err)
	}
	t.Logf("while split for %s: heights %v, no commits, no two blocks at one height", time.Since(split).Round(time.Millisecond), after)

	pn.heal()
	healed := time.Now()
	top := max(after[0], after[1], after[2], after[3])
	c.waitAdvance(c.nodes, top, 3, 60*time.Second)
	t.Logf("network healed: all four committed 3 more blocks in %s", time.Since(healed).Round(time.Millisecond))
	l.finish()
	// The split stopped the chain, not the txs' validity (they expire by
	// height): each tx sent before or during it waited in the mempools and
	// was committed after the heal.
	l.mu.Lock()
	unsure := l.unsure
	l.mu.Unlock()
	if unsure > 0 {
		t.Fatalf("%d of the workload's txs were not seen committed after the heal", unsure)
	}
	c.checkAll("split 2-2, heal", l.log)
	t.Logf("partition test done in %s; %d committed txs checked", time.Since(began).Round(time.Second), len(l.log.all()))
}
