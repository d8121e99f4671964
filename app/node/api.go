package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/veritrial/veritrial/app/readapi"
)

// DefaultAPIPort is the read API's port of veritrial init.
const DefaultAPIPort = 26680

// VeritrialFile is a home's veritrial settings beyond CometBFT's
// config.toml: config/veritrial.toml (CometBFT rewrites its own file from
// its template, which knows nothing of these).
func VeritrialFile(home string) string {
	return filepath.Join(home, cmtcfg.DefaultConfigDir, "veritrial.toml")
}

// LocalAPI is a read API listening on 127.0.0.1 at port, without TLS.
func LocalAPI(port int) readapi.Listen {
	return readapi.Listen{Addr: fmt.Sprintf("tcp://127.0.0.1:%d", port)}
}

// WriteAPI writes the read API's settings l into home's veritrial.toml.
func WriteAPI(home string, l readapi.Listen) error {
	body := fmt.Sprintf(`# veritrial's own settings of this node; CometBFT's are in config.toml.

[api]
# The read API (docs/API.md): HTTP+JSON, how people and tools read the
# ledger and send txs, every read signed by the reader's key. veritrial
# start serves it and logs its URL.
laddr = %q
# A PEM certificate (chain) and its private key, paths relative to the
# home: the API serves HTTPS. Without them it listens on this machine only
# (127.0.0.1), unless tls_proxy says that a reverse proxy in front of it
# terminates TLS.
tls_cert = %q
tls_key = %q
tls_proxy = %t
`, l.Addr, l.CertFile, l.KeyFile, l.TLSProxy)
	if err := os.WriteFile(VeritrialFile(home), []byte(body), 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", VeritrialFile(home), err)
	}
	return nil
}

// LoadAPI reads the read API's settings from home's veritrial.toml, the
// certificate paths made absolute; ok is false when the home has no such
// file (a home made before the read API).
func LoadAPI(home string) (l readapi.Listen, ok bool, err error) {
	path := VeritrialFile(home)
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return readapi.Listen{}, false, nil
		}
		return readapi.Listen{}, false, err
	}
	v, err := readTOML(path)
	if err != nil {
		return readapi.Listen{}, false, fmt.Errorf("%s is not a valid TOML file: %w", path, err)
	}
	l = readapi.Listen{Addr: v.GetString("api.laddr"), CertFile: v.GetString("api.tls_cert"), KeyFile: v.GetString("api.tls_key"), TLSProxy: v.GetBool("api.tls_proxy")}
	for _, p := range []*string{&l.CertFile, &l.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(home, *p)
		}
	}
	if strings.TrimSpace(l.Addr) == "" {
		return readapi.Listen{}, false, fmt.Errorf("%s names no [api] laddr", path)
	}
	return l, true, nil
}
