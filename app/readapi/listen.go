package readapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// Listen is where and how the read API listens.
type Listen struct {
	// Addr is host:port ("tcp://host:port" is taken too).
	Addr string
	// CertFile and KeyFile, both given, serve HTTPS with that PEM
	// certificate (chain) and private key.
	CertFile, KeyFile string
	// TLSProxy says that the API listens without TLS on a non-loopback
	// address because a reverse proxy in front of it terminates TLS.
	TLSProxy bool
}

// ErrTLSFiles means the certificate or key given cannot be used.
var ErrTLSFiles = errors.New("the read API's certificate and key cannot be used")

// Server timeouts: a client has 10 s to send its headers, 30 s for its
// request and 2 minutes to read the answer; idle connections close after
// 2 minutes.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
)

// HostPort returns l.Addr without a tcp:// scheme.
func (l Listen) HostPort() string { return strings.TrimPrefix(l.Addr, "tcp://") }

// TLS reports whether the API serves HTTPS.
func (l Listen) TLS() bool { return l.CertFile != "" }

// Check refuses an address that is not host:port, a certificate and key
// that do not load, and a plain HTTP listener on an address other
// machines reach unless a proxy in front terminates TLS (TLSProxy): reads
// carry personal data.
func (l Listen) Check() error {
	_, err := l.tlsConfig()
	return err
}

// tlsConfig checks l (Check) and returns its TLS configuration, nil for
// plain HTTP.
func (l Listen) tlsConfig() (*tls.Config, error) {
	host, port, err := net.SplitHostPort(l.HostPort())
	if err != nil || port == "" {
		return nil, fmt.Errorf("read API address %q is not HOST:PORT", l.Addr)
	}
	if (l.CertFile == "") != (l.KeyFile == "") {
		return nil, errors.New("the read API's TLS needs both a certificate and its key")
	}
	if !l.TLS() {
		if !l.TLSProxy && !Loopback(host) {
			return nil, fmt.Errorf("the read API would listen on %s without TLS: give it a certificate and key, listen on 127.0.0.1, or say that a proxy in front terminates TLS", l.HostPort())
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %s and %s: %v", ErrTLSFiles, l.CertFile, l.KeyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Loopback reports whether host is reachable from this machine only.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the address clients reach the API at; a wildcard host becomes
// 127.0.0.1.
func (l Listen) URL() string {
	host, port, _ := net.SplitHostPort(l.HostPort())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if l.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Serve listens as l says and serves h until stop is called (requests
// get ctx as their parent); what goes wrong after the start goes to
// logger. It returns once it listens.
func Serve(ctx context.Context, h http.Handler, l Listen, logger cmtlog.Logger) (stop func(context.Context) error, err error) {
	tc, err := l.tlsConfig()
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: log.New(logWriter{logger}, "", 0),
		BaseContext: func(net.Listener) context.Context { return ctx }, TLSConfig: tc,
	}
	ln, err := net.Listen("tcp", l.HostPort())
	if err != nil {
		return nil, fmt.Errorf("the read API cannot listen on %s: %w", l.HostPort(), err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("read API stopped", "err", err)
		}
	}()
	return srv.Shutdown, nil
}

// logWriter hands what net/http logs (a client's failed TLS handshake, a
// connection cut short) to the node's log at debug level.
type logWriter struct{ l cmtlog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Debug("read API connection", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}
