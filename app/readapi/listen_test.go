package readapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/veritrial/veritrial/app/apptest"
	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/readapi"
)

// SelfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns their paths and the certificate's pool.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "veritrial test node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return cert, key, pool
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestServeTLS: with a certificate the API serves HTTPS only; a client
// that trusts the certificate reads, one that does not, or speaks plain
// HTTP, gets nothing.
func TestServeTLS(t *testing.T) {
	c := apptest.New(t)
	cert, key, pool := selfSigned(t, t.TempDir())
	l := readapi.Listen{Addr: "tcp://127.0.0.1:" + freePort(t), CertFile: cert, KeyFile: key}
	if l.URL() != "https://"+l.HostPort() {
		t.Fatalf("URL %s", l.URL())
	}
	stop, err := readapi.Serve(context.Background(), readapi.New(readapi.Config{ChainID: apptest.ChainID, Ledger: c.App}), l, cmtlog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	ctx := context.Background()
	cl, err := client.New(l.URL(), client.WithTLS(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	if chain, err := cl.ChainID(ctx); err != nil || chain != apptest.ChainID {
		t.Fatalf("over TLS: %q %v", chain, err)
	}
	untrusting, _ := client.New(l.URL())
	if _, err := untrusting.ChainID(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the certificate: %v", err)
	}
	res, err := http.Get("http://" + l.HostPort() + client.APIChain)
	if err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
}

// TestListenCheck: plain HTTP only on loopback unless a proxy terminates
// TLS; a certificate needs its key, and both must load.
func TestListenCheck(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := selfSigned(t, dir)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	for _, c := range []struct {
		l    readapi.Listen
		want string // "" for accepted
	}{
		{readapi.Listen{Addr: "tcp://127.0.0.1:26680"}, ""},
		{readapi.Listen{Addr: "localhost:26680"}, ""},
		{readapi.Listen{Addr: "[::1]:26680"}, ""},
		{readapi.Listen{Addr: "tcp://0.0.0.0:26680"}, "without TLS"},
		{readapi.Listen{Addr: "10.0.0.5:26680"}, "without TLS"},
		{readapi.Listen{Addr: ":26680"}, "without TLS"},
		{readapi.Listen{Addr: "tcp://0.0.0.0:26680", TLSProxy: true}, ""},
		{readapi.Listen{Addr: "tcp://0.0.0.0:26680", CertFile: cert, KeyFile: key}, ""},
		{readapi.Listen{Addr: "tcp://0.0.0.0:26680", CertFile: cert}, "both a certificate and its key"},
		{readapi.Listen{Addr: "tcp://0.0.0.0:26680", CertFile: cert, KeyFile: bad}, "cannot be used"},
		{readapi.Listen{Addr: "26680"}, "not HOST:PORT"},
	} {
		err := c.l.Check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v refused: %v", c.l, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want a refusal saying %q", c.l, err, c.want)
		}
	}
	if err := (readapi.Listen{Addr: "tcp://0.0.0.0:1", CertFile: cert, KeyFile: bad}).Check(); !errors.Is(err, readapi.ErrTLSFiles) {
		t.Errorf("unusable key: %v, want ErrTLSFiles", err)
	}
	if _, err := readapi.Serve(context.Background(), http.NotFoundHandler(), readapi.Listen{Addr: "tcp://0.0.0.0:1"}, cmtlog.NewNopLogger()); err == nil {
		t.Error("Serve listened without TLS on every interface")
	}
}
