package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tlsServer answers every request with a valid identity token, over TLS
// versions from min to max only.
func tlsServer(t *testing.T, min, max uint16) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"accessToken":"tls-access","expiresIn":3600,"refreshToken":"tls-refresh"}`)
	}))
	s.TLS = &tls.Config{MinVersion: min, MaxVersion: max}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// trustingDefault is defaultClient, trusting s's certificate as well.
func trustingDefault(s *httptest.Server) *http.Client {
	tr := defaultClient().Transport.(*http.Transport).Clone()
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	tr.TLSClientConfig.RootCAs = roots
	return &http.Client{Transport: tr, Timeout: defaultClient().Timeout}
}

// The token client refuses a server that offers nothing newer than TLS
// 1.1, and talks to the same server once it offers TLS 1.2.
func TestTLSMinimumVersion(t *testing.T) {
	t.Parallel()
	acquire := func(s *httptest.Server, c *http.Client) error {
		f := &IdentityFlow{BaseURL: s.URL, ClientKey: "k", ClientSecret: "tls-client-secret", Device: Device{ID: "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d", Info: DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "24.04"}, Network: "other"}, Client: c}
		_, err := f.Acquire(context.Background())
		return err
	}
	old := tlsServer(t, tls.VersionTLS10, tls.VersionTLS11)
	err := acquire(old, trustingDefault(old))
	var ae *Error
	if err == nil || !errors.As(err, &ae) || ae.Status != 0 || !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("a TLS 1.1 server: %v; want a protocol version failure", err)
	}
	// The refusal is the client's floor, not a broken server: a client
	// allowing TLS 1.1 gets its token from it.
	lax := trustingDefault(old)
	lax.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS10
	if err := acquire(old, lax); err != nil {
		t.Errorf("the TLS 1.1 server refused a client that allows TLS 1.1 too: %v", err)
	}
	current := tlsServer(t, tls.VersionTLS12, tls.VersionTLS12)
	if err := acquire(current, trustingDefault(current)); err != nil {
		t.Errorf("a TLS 1.2 server: %v", err)
	}
	if v := defaultClient().Transport.(*http.Transport).TLSClientConfig.MinVersion; v != tls.VersionTLS12 {
		t.Errorf("defaultClient's minimum TLS version is %#x, want TLS 1.2", v)
	}
}
