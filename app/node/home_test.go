package node

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	home := t.TempDir()
	if _, err := LoadConfig(home); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a home without config.toml: %v, want fs.ErrNotExist", err)
	}
	if _, ok := RPCAddr(home); ok {
		t.Fatal("RPCAddr of a home without config.toml")
	}
	if _, err := InitFiles(Config(home, "m", "tcp://127.0.0.1:36657", "tcp://127.0.0.1:36656", DefaultTiming)); err != nil {
		t.Fatal(err)
	}
	conf, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if conf.RootDir != home || conf.Moniker != "m" || conf.RPC.ListenAddress != "tcp://127.0.0.1:36657" || conf.Consensus.TimeoutCommit != DefaultTiming.Commit {
		t.Errorf("config read back: root %s, moniker %s, rpc %s, commit %v", conf.RootDir, conf.Moniker, conf.RPC.ListenAddress, conf.Consensus.TimeoutCommit)
	}
	if !conf.FilterPeers || conf.P2P.PexReactor {
		t.Errorf("config read back: filter_peers %v, pex %v; want the application to filter peers and no peer exchange", conf.FilterPeers, conf.P2P.PexReactor)
	}
	if addr, ok := RPCAddr(home); !ok || addr != "tcp://127.0.0.1:36657" {
		t.Errorf("RPCAddr: %q %v", addr, ok)
	}
	if err := os.WriteFile(ConfigFile(home), []byte("[rpc\nladdr = 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(home); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a broken config.toml: %v", err)
	}
}
