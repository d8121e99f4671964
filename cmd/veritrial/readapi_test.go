package main

import (
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veritrial/veritrial/app/node"
)

// localhostCert writes the self-signed certificate for 127.0.0.1 that
// net/http/httptest serves, and its key, into dir.
func localhostCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	kb, err := x509.MarshalPKCS8PrivateKey(srv.TLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestReadAPIOverTLS: with a certificate in the home's veritrial.toml the
// node serves its read API over HTTPS only, start logs its https URL, and
// the CLI reads and writes through it when it trusts the certificate
// (SSL_CERT_FILE), and not otherwise. start refuses a read API on every
// interface without TLS, and a certificate that does not load.
func TestReadAPIOverTLS(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := testEnv(t, "VERITRIAL_HOME="+home, "VERITRIAL_PASSPHRASE="+node.DevPassphrase)
	ports := freePorts(t, 3)
	mustVT(t, env, "init", "--rpc-port", strconv.Itoa(ports[0]), "--p2p-port", strconv.Itoa(ports[1]), "--http-port", strconv.Itoa(ports[2]))

	api, _, _ := node.LoadAPI(home)
	open := api
	open.Addr = "tcp://0.0.0.0:" + strconv.Itoa(ports[2])
	if err := node.WriteAPI(home, open); err != nil {
		t.Fatal(err)
	}
	failVT(t, env, exitUsage, "the read API would listen on 0.0.0.0:"+strconv.Itoa(ports[2])+" without TLS", "start")
	bad := filepath.Join(work, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	failVT(t, env, exitInput, "certificate and key cannot be used", "start", "--tls-cert", bad, "--tls-key", bad)

	cert, key := localhostCert(t, filepath.Join(home, "config"))
	// Paths relative to the home.
	api.CertFile, api.KeyFile = filepath.Join("config", filepath.Base(cert)), filepath.Join("config", filepath.Base(key))
	if err := node.WriteAPI(home, api); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, env, home)
	url := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	trusting := append(env, "SSL_CERT_FILE="+cert)
	waitHeight(t, trusting, home, 1, n)
	if !strings.Contains(n.stderr.String(), "api="+url) {
		t.Errorf("start does not log the read API's URL %s:\n%s", url, n.stderr)
	}
	r := failVT(t, env, exitFailure, "certificate", "status", "--from", "sponsor-dm")
	if !strings.Contains(r.stderr, url) {
		t.Errorf("the refusal does not name the node: %s", r.stderr)
	}
	mustVT(t, trusting, "account", "set-roles", "--from", "site1-admin", "--account", "site1-coordinator", "--role", "coordinator,investigator")
	if r := mustVT(t, trusting, "show", "account", "--from", "site1-admin", "--account", "site1-coordinator"); !strings.Contains(r.stdout, "investigator") {
		t.Errorf("show account over TLS:\n%s", r.stdout)
	}
	// Plain HTTP to the TLS port gets nothing.
	failVT(t, env, exitFailure, "HTTPS", "status", "--from", "sponsor-dm", "--node", "http://127.0.0.1:"+strconv.Itoa(ports[2]))
	if code := n.stop(t); code != 0 {
		t.Fatalf("node exited %d", code)
	}
}
