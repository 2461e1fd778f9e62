package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/internal/testkit"
)

// fakeTokens hands out "tok-N"; Renew moves on to the next N. refused
// holds what Refused was last told, by token.
type fakeTokens struct {
	mu      sync.Mutex
	n       int
	err     error
	asked   atomic.Int32
	renewed atomic.Int32
	refused map[string]string
}

func (f *fakeTokens) Refused(_, accessToken, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refused == nil {
		f.refused = map[string]string{}
	}
	f.refused[accessToken] = why
}

func (f *fakeTokens) refusal(accessToken string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	why, ok := f.refused[accessToken]
	return why, ok
}

func (f *fakeTokens) Token(context.Context, string) (auth.Token, error) {
	f.asked.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return auth.Token{}, f.err
	}
	return auth.Token{AccessToken: fmt.Sprintf("tok-%d", f.n), Expiry: time.Now().Add(time.Hour)}, nil
}

func (f *fakeTokens) Renew(ctx context.Context, profile string) (auth.Token, error) {
	f.renewed.Add(1)
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return f.Token(ctx, profile)
}

// start serves a proxy of profile "work" to base on a loopback port and
// returns its URL.
func start(t testing.TB, base string, tokens Tokens, opts Options) string {
	t.Helper()
	// Port 0, which ParseAddress refuses: the test needs a free port.
	a := Address{Network: "tcp", Addr: "127.0.0.1:0"}
	return "http://" + serveOn(t, a, base, tokens, opts).Addr().String()
}

func serveOn(t testing.TB, a Address, base string, tokens Tokens, opts Options) net.Listener {
	t.Helper()
	p, err := New("work", base, tokens, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(a)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Close() })
	return ln
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8787": "127.0.0.1:8787",
		"localhost:8787": "127.0.0.1:8787",
		"[::1]:8787":     "[::1]:8787",
		"127.1.2.3:1":    "127.1.2.3:1",
	} {
		a, err := ParseAddress(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAddress(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, in := range []string{"0.0.0.0:8787", ":8787", "192.168.1.2:8787", "[::]:8787", "example.com:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "unix:rel.sock"} {
		if a, err := ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) = %v; want an error", in, a)
		}
	}
	socket := "unix:" + filepath.Join(t.TempDir(), "a.sock")
	a, err := ParseAddress(socket)
	if runtime.GOOS == "windows" {
		if err == nil || !strings.Contains(err.Error(), "not offer on Windows; use 127.0.0.1:PORT") {
			t.Errorf("ParseAddress(%q) = %v, %v; want an error saying Windows has no unix: and what to use", socket, a, err)
		}
	} else if err != nil || a.String() != socket {
		t.Errorf("ParseAddress(%q) = %v, %v; want %s", socket, a, err, socket)
	}
}

// Path and query are kept under the base URL's path, and a client's own
// Authorization never reaches the upstream.
func TestForwardsWithToken(t *testing.T) {
	var got *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		fmt.Fprint(w, "hello")
	}))
	defer upstream.Close()
	tokens := &fakeTokens{}
	proxyURL := start(t, upstream.URL+"/api", tokens, Options{})

	req, _ := http.NewRequest("GET", proxyURL+"/v1/items?q=a%20b&n=2", nil)
	req.Header.Set("Authorization", "Bearer the-clients-own")
	req.Header.Set("X-Custom", "kept")
	// A client that asks for no compression, as curl without --compressed.
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, body := testkit.RoundTrip(t, plain, req)
	if resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got.URL.Path != "/api/v1/items" || got.URL.RawQuery != "q=a%20b&n=2" {
		t.Errorf("upstream got %s?%s; want /api/v1/items?q=a%%20b&n=2", got.URL.Path, got.URL.RawQuery)
	}
	if a := got.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer tok-0" {
		t.Errorf("upstream got Authorization %q; want only the profile's token", a)
	}
	if got.Header.Get("X-Custom") != "kept" || got.Host != strings.TrimPrefix(upstream.URL, "http://") {
		t.Errorf("upstream got X-Custom %q, Host %q", got.Header.Get("X-Custom"), got.Host)
	}
	// Passed through as asked: the proxy neither asks for gzip itself
	// nor spends time unpacking it.
	if ae := got.Header.Get("Accept-Encoding"); ae != "" {
		t.Errorf("upstream got Accept-Encoding %q, which the client did not send", ae)
	}
}

// Connections to the upstream are kept alive and reused.
func TestUpstreamKeepAlive(t *testing.T) {
	var conns atomic.Int32
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	upstream.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	upstream.Start()
	defer upstream.Close()
	proxyURL := start(t, upstream.URL, &fakeTokens{}, Options{})
	for range 10 {
		resp, err := http.Get(proxyURL + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("10 requests one after another opened %d upstream connections; want 1", n)
	}
}

// rawRequest sends req as is on a new connection to proxyURL and returns
// the answer.
func rawRequest(t *testing.T, proxyURL, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// The proxy reaches its base URL only, and never for a web page.
func TestRefusesOtherTargets(t *testing.T) {
	var reached atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer upstream.Close()
	tokens := &fakeTokens{}
	proxyURL := start(t, upstream.URL, tokens, Options{})
	host := strings.TrimPrefix(proxyURL, "http://")
	for name, tc := range map[string]struct {
		req    string
		status int
	}{
		"CONNECT":          {"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", http.StatusMethodNotAllowed},
		"absolute-form":    {"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", http.StatusBadRequest},
		"absolute-own":     {"GET http://" + host + "/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n", http.StatusBadRequest},
		"foreign Host":     {"GET /x HTTP/1.1\r\nHost: evil.example:80\r\n\r\n", http.StatusMisdirectedRequest},
		"cross-site fetch": {"POST /x HTTP/1.1\r\nHost: " + host + "\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\n\r\n", http.StatusForbidden},
		"foreign Origin":   {"POST /x HTTP/1.1\r\nHost: " + host + "\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\n\r\n", http.StatusForbidden},
	} {
		resp, body := rawRequest(t, proxyURL, tc.req)
		var e struct{ Error string }
		if resp.StatusCode != tc.status || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s: got %d %q; want %d with a JSON error", name, resp.StatusCode, body, tc.status)
		}
	}
	if reached.Load() != 0 || tokens.asked.Load() != 0 {
		t.Errorf("refused requests reached the upstream %d times and asked for a token %d times; want 0", reached.Load(), tokens.asked.Load())
	}
	for _, h := range []string{"localhost:1234", "127.0.0.1", "[::1]:9"} {
		if resp, body := rawRequest(t, proxyURL, "GET /x HTTP/1.1\r\nHost: "+h+"\r\n\r\n"); resp.StatusCode != 200 {
			t.Errorf("Host %s: got %d %s; want 200", h, resp.StatusCode, body)
		}
	}
}

// A 401 to a token held for valid renews it once, however many requests
// got it, and those that can be sent again are.
func TestUnauthorizedRenewsOnce(t *testing.T) {
	tokens := &fakeTokens{}
	var posts atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			posts.Add(1)
			io.Copy(io.Discard, r.Body)
		}
		if r.Header.Get("Authorization") == "Bearer tok-0" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"token revoked"}`)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer upstream.Close()
	proxyURL := start(t, upstream.URL, tokens, Options{})

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := http.Get(proxyURL + "/x")
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET after a 401: got %d %s; want 200 with the renewed token", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if n := tokens.renewed.Load(); n != 1 {
		t.Errorf("8 requests refused one token renewed it %d times; want 1", n)
	}

	// A POST with a body cannot be sent again: its 401 goes to the client,
	// after the renewal, so the client's own retry succeeds.
	tokens.mu.Lock()
	tokens.n = 0
	tokens.mu.Unlock()
	resp, err := http.Post(proxyURL+"/x", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || posts.Load() != 1 {
		t.Errorf("POST refused: got %d after %d upstream POSTs; want the upstream's 401 after 1", resp.StatusCode, posts.Load())
	}
	// The renewal within MinRenewInterval is not repeated: tok-0 is
	// refused as before.
	if n := tokens.renewed.Load(); n != 1 {
		t.Errorf("a second refusal within %v renewed again (%d renewals)", MinRenewInterval, n)
	}
}

// A 401 that the one renewal does not cure goes into the profile's state,
// naming the upstream, and out of it once the upstream accepts the token.
func TestPersistentRefusalInState(t *testing.T) {
	tokens := &fakeTokens{}
	var accept atomic.Bool
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer upstream.Close()
	proxyURL := start(t, upstream.URL, tokens, Options{})
	status := func() int {
		t.Helper()
		resp, err := http.Get(proxyURL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusUnauthorized {
		t.Fatalf("status %d; want the upstream's 401", got)
	}
	why, ok := tokens.refusal("tok-1")
	if !ok || !strings.Contains(why, upstream.URL) || !strings.Contains(why, "401") {
		t.Errorf("after a 401 to the renewed token the state says %q; want the upstream named", why)
	}
	if _, ok := tokens.refusal("tok-0"); ok {
		t.Error("the first 401, which the renewal may cure, went into the state")
	}
	// Within MinRenewInterval the same token is refused again: still said.
	tokens.Refused("work", "tok-1", "")
	if got := status(); got != http.StatusUnauthorized || tokens.renewed.Load() != 1 {
		t.Fatalf("second request: %d after %d renewals", got, tokens.renewed.Load())
	}
	if why, _ := tokens.refusal("tok-1"); why == "" {
		t.Error("a second refusal of the renewed token is not in the state")
	}
	accept.Store(true)
	if got := status(); got != 200 {
		t.Fatalf("status %d once the upstream accepts", got)
	}
	if why, ok := tokens.refusal("tok-1"); !ok || why != "" {
		t.Errorf("after the upstream accepted the token the state says %q; want it cleared", why)
	}
}

// The proxy's own failures are 502 with a JSON error that names them and
// a header that tells them from the upstream's.
func TestOwnErrors(t *testing.T) {
	tokens := &fakeTokens{err: &auth.Error{Op: "refresh", Status: 400, Reason: "invalid_grant", Action: auth.NeedsUser}}
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	proxyURL := start(t, upstream.URL, tokens, Options{})
	check := func(what, want string) {
		t.Helper()
		resp, err := http.Get(proxyURL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || err != nil || !strings.Contains(e.Error, want) || resp.Header.Get("X-Tokentray-Proxy") != "error" {
			t.Errorf("%s: got %d %q (%v); want 502 with an error saying %q", what, resp.StatusCode, e.Error, err, want)
		}
	}
	check("no token", "no token for profile work")
	tokens.mu.Lock()
	tokens.err = nil
	tokens.mu.Unlock()
	upstream.Close()
	check("upstream down", "unreachable")
}

// Server-sent events, and any body of unknown length (a stream of JSON
// lines), reach the client as they are sent: the upstream sends the second
// part only after the client read the first.
func TestStreamsEvents(t *testing.T) {
	for _, contentType := range []string{"text/event-stream", "application/x-ndjson"} {
		t.Run(contentType, func(t *testing.T) {
			first := make(chan struct{})
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", contentType)
				fmt.Fprint(w, "data: 1\n\n")
				w.(http.Flusher).Flush()
				select {
				case <-first:
				case <-r.Context().Done():
					return
				}
				fmt.Fprint(w, "data: 2\n\n")
			}))
			defer upstream.Close()
			proxyURL := start(t, upstream.URL, &fakeTokens{}, Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", proxyURL+"/events", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			if line, err := r.ReadString('\n'); line != "data: 1\n" {
				t.Fatalf("first event: %q, %v (held back by the proxy?)", line, err)
			}
			close(first)
			rest, err := io.ReadAll(r)
			if string(rest) != "\ndata: 2\n\n" || err != nil {
				t.Errorf("rest of the stream: %q, %v", rest, err)
			}
		})
	}
}

// A unix socket is 0600, and its peer is known by pid.
func TestUnixSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix: proxy on Windows: ParseAddress refuses it (TestParseAddress)")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer upstream.Close()
	dir := filepath.Join(t.TempDir(), "private")
	path := filepath.Join(dir, "work.sock")
	peers := make(chan Peer, 4)
	serveOn(t, Address{Network: "unix", Addr: path}, upstream.URL, &fakeTokens{}, Options{OnConnection: func(p Peer) { peers <- p }})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for range 3 {
		req, _ := http.NewRequest("GET", "http://localhost/x", nil)
		resp, body := testkit.RoundTrip(t, client, req)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("over the socket: %d %q", resp.StatusCode, body)
		}
	}
	if len(peers) != 1 {
		t.Errorf("three requests on one connection were recorded %d times; want once", len(peers))
	}
	if p := <-peers; p.UID != os.Getuid() || p.PID != os.Getpid() {
		t.Errorf("peer %+v; want uid %d pid %d", p, os.Getuid(), os.Getpid())
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	if _, err := Listen(Address{Network: "unix", Addr: filepath.Join(open, "a.sock")}); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("a socket in a directory open to all: %v; want a refusal saying chmod 700", err)
	}
}

func TestListenRefusesBusyPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	os.WriteFile(path, nil, 0o600)
	if _, err := Listen(Address{Network: "unix", Addr: path}); err == nil {
		t.Error("Listen over a regular file succeeded")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file is gone: %v", err)
	}
}
