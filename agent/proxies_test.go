package agent

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

// apiServer is a profile's server: the identity endpoints of id, and an
// API under every other path that answers 200 to a token id issued and
// still honours, unless revoked says it was revoked, and 401 otherwise.
func apiServer(t *testing.T, id *authtest.IdentityServer, revoked func(string) bool) *httptest.Server {
	t.Helper()
	idURL, err := url.Parse(id.URL)
	if err != nil {
		t.Fatal(err)
	}
	toIdentity := httputil.NewSingleHostReverseProxy(idURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/identity/") {
			toIdentity.ServeHTTP(w, r)
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !id.Accepts(tok) || revoked(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startProxy serves profile work, whose server is api, on a proxy the
// agent starts from the config, and returns the proxy's URL.
func startProxy(t *testing.T, api string, id *authtest.IdentityServer) (string, *Tokens) {
	t.Helper()
	configPath := filepath.Join(t.TempDir(), "config.json")
	addProfile(t, configPath, "work", api, "key", "secret")
	addr := freeLoopbackPort(t)
	if err := store.UpdateConfig(configPath, func(c *store.Config) error {
		p, _ := c.Profile("work")
		p.Proxy = addr
		c.Put(p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tokens := keptTokens(t, configPath)
	proxies := &Proxies{Tokens: tokens, OnConnection: tokens.RecordProxy}
	proxies.Sync(tokens.Profiles())
	t.Cleanup(func() { proxies.Close() })
	return "http://" + addr, tokens
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := testkit.RoundTrip(t, http.DefaultClient, req)
	return resp.StatusCode, body
}

// A client of the proxy never sees an expired token: requests over three
// and a half token lifetimes all succeed, with tokens renewed meanwhile.
func TestProxyKeepsTokenFresh(t *testing.T) {
	t.Parallel()
	id := authtest.NewIdentityServer("key", "secret")
	defer id.Close()
	const lifetime = 2 * time.Second
	id.SetLifetime(lifetime)
	api := apiServer(t, id, func(string) bool { return false })
	proxyURL, _ := startProxy(t, api.URL, id)
	for end := time.Now().Add(lifetime * 7 / 2); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if status, body := get(t, proxyURL+"/v1/things"); status != 200 {
			t.Fatalf("after %d tokens: %d %s; want 200", id.Acquires()+id.Refreshes(), status, body)
		}
	}
	if n := id.Acquires() + id.Refreshes(); n < 3 {
		t.Errorf("%d tokens over 3.5 lifetimes; want the proxy to use renewed ones", n)
	}
}

// A token the server revoked before its expiry is renewed once, and the
// request that found out is answered with the new one.
func TestProxyRenewsRevokedToken(t *testing.T) {
	t.Parallel()
	id := authtest.NewIdentityServer("key", "secret")
	defer id.Close()
	var mu sync.Mutex
	revokedToken := ""
	api := apiServer(t, id, func(tok string) bool { mu.Lock(); defer mu.Unlock(); return tok == revokedToken })
	proxyURL, tokens := startProxy(t, api.URL, id)
	if status, _ := get(t, proxyURL+"/x"); status != 200 {
		t.Fatalf("first request: %d", status)
	}
	held, err := tokens.Token(t.Context(), "work")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	revokedToken = held.AccessToken
	mu.Unlock()
	refreshes := id.Refreshes()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if status, body := get(t, proxyURL+"/x"); status != 200 {
				t.Errorf("request with a revoked token: %d %s; want 200 after one renewal", status, body)
			}
		})
	}
	wg.Wait()
	if n := id.Refreshes() - refreshes; n != 1 {
		t.Errorf("the revoked token caused %d refreshes; want 1", n)
	}
	if status, _ := get(t, proxyURL+"/x"); status != 200 || id.Refreshes()-refreshes != 1 {
		t.Errorf("the next request: %d, %d refreshes in all; want 200 and no more", status, id.Refreshes()-refreshes)
	}
}

// An API that refuses even the renewed token has that shown in the
// profile's state, which the tray, list and window read, and not only in
// the agent's log.
func TestProxyRefusalShowsInState(t *testing.T) {
	id := authtest.NewIdentityServer("key", "secret")
	defer id.Close()
	api := apiServer(t, id, func(string) bool { return true })
	proxyURL, tokens := startProxy(t, api.URL, id)
	if status, _ := get(t, proxyURL+"/x"); status != http.StatusUnauthorized {
		t.Fatalf("status %d; want the API's 401", status)
	}
	var e auth.Event
	for _, ev := range tokens.Events() {
		if ev.Profile == "work" {
			e = ev
		}
	}
	if e.State != auth.StateValid || !strings.Contains(e.Refused, api.URL) {
		t.Errorf("state after a refused renewal: %+v; want valid, refused by %s", e, api.URL)
	}
}

// Proxies follow the config: a changed address moves one, a removed
// profile's stops.
func TestProxiesFollowConfig(t *testing.T) {
	t.Parallel()
	id := authtest.NewIdentityServer("key", "secret")
	defer id.Close()
	api := apiServer(t, id, func(string) bool { return false })
	proxies := &Proxies{}
	defer proxies.Close()
	first, second := freeLoopbackPort(t), freeLoopbackPort(t)
	p := store.Profile{Name: "work", Flow: store.FlowIdentity, BaseURL: api.URL, Proxy: first}
	proxies.Sync([]store.Profile{p})
	listening := func(addr string) bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if !listening(first) {
		t.Errorf("not served on %s", first)
	}
	p.Proxy = second
	proxies.Sync([]store.Profile{p})
	if listening(first) || !listening(second) {
		t.Errorf("after a move from %s to %s: served on the old one %v, on the new one %v; want only the new", first, second, listening(first), listening(second))
	}
	proxies.Sync(nil)
	if listening(second) {
		t.Errorf("still served after the profile went")
	}
}
