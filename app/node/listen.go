package node

import (
	"net"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// Listener is one of CometBFT's RPC servers and the address it listens
// on.
type Listener struct {
	// Key is the setting in config.toml ("rpc.laddr").
	Key  string
	Addr string
}

// ExposedRPC returns the RPC servers of conf that listen where another
// machine can reach them: rpc.laddr, rpc.grpc_laddr and rpc.pprof_laddr
// set to anything but a loopback address (127.0.0.0/8, ::1, localhost) or
// a Unix socket. Whoever reaches the RPC reads every block and
// transaction in clear and can submit transactions; pprof serves the
// node's memory.
func ExposedRPC(conf *cmtcfg.Config) []Listener {
	var out []Listener
	for _, l := range []Listener{
		{"rpc.laddr", conf.RPC.ListenAddress},
		{"rpc.grpc_laddr", conf.RPC.GRPCListenAddress},
		{"rpc.pprof_laddr", conf.RPC.PprofListenAddress},
	} {
		if l.Addr != "" && !Loopback(l.Addr) {
			out = append(out, l)
		}
	}
	return out
}

// Loopback reports whether a listen address ("tcp://127.0.0.1:26657",
// "localhost:6060", "unix:///run/vt.sock") is reachable from this machine
// only. An address without a host ("tcp://:26657", "0.0.0.0", "::")
// listens on every interface; a host name other than localhost may
// resolve to any interface; neither is loopback.
func Loopback(addr string) bool {
	scheme, rest, found := strings.Cut(addr, "://")
	if !found {
		rest = addr
	} else if scheme == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		host = rest
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
