package node

import (
	"reflect"
	"testing"

	cmtcfg "github.com/cometbft/cometbft/config"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"tcp://127.0.0.1:26657":    true,
		"tcp://127.8.9.10:26657":   true,
		"tcp://[::1]:26657":        true,
		"tcp://localhost:26657":    true,
		"localhost:6060":           true,
		"127.0.0.1:6060":           true,
		"unix:///run/vt/rpc.sock":  true,
		"tcp://0.0.0.0:26657":      false,
		"tcp://[::]:26657":         false,
		"tcp://:26657":             false,
		":6060":                    false,
		"tcp://10.0.0.11:26657":    false,
		"tcp://node1.example:2665": false,
		"0.0.0.0":                  false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestExposedRPC(t *testing.T) {
	conf := Config(t.TempDir(), "m", "tcp://127.0.0.1:26657", "tcp://0.0.0.0:26656", DefaultTiming)
	if got := ExposedRPC(conf); len(got) != 0 {
		t.Fatalf("a node's default config exposes %v", got)
	}
	conf.RPC.ListenAddress = "tcp://0.0.0.0:26657"
	conf.RPC.GRPCListenAddress = "tcp://127.0.0.1:9090"
	conf.RPC.PprofListenAddress = ":6060"
	want := []Listener{{"rpc.laddr", "tcp://0.0.0.0:26657"}, {"rpc.pprof_laddr", ":6060"}}
	if got := ExposedRPC(conf); !reflect.DeepEqual(got, want) {
		t.Fatalf("ExposedRPC = %v, want %v", got, want)
	}
	if got := ExposedRPC(cmtcfg.DefaultConfig()); len(got) != 0 {
		t.Fatalf("CometBFT's default RPC (127.0.0.1) reported exposed: %v", got)
	}
}
