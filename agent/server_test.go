package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

// keychains holds the keychain in memory of each config path, which is a
// test's own: these tests are about the LocalAPI; store's tests cover the
// real Secret Service.
var keychains sync.Map

// keychainOf is the keychain of the profiles at configPath.
func keychainOf(configPath string) store.Keychain {
	k, _ := keychains.LoadOrStore(configPath, store.NewMemoryKeychain())
	return k.(store.Keychain)
}

// serve starts a LocalAPI on a real socket over the profiles at configPath.
func serve(t *testing.T, configPath string) (*localapi.Client, *Server, string) {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := localapi.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Tokens: keptTokens(t, configPath)}
	go srv.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return localapi.NewClient(socket), srv, socket
}

// keptTokens is a token service keeping the profiles at configPath, closed
// when the test ends.
func keptTokens(t *testing.T, configPath string) *Tokens {
	t.Helper()
	tokens, err := NewTokens(configPath, keychainOf(configPath))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tokens.Close() })
	if err := tokens.Keep(); err != nil {
		t.Fatal(err)
	}
	return tokens
}

// identityProfile starts an identity server that takes key "key" and
// secret "secret", and adds profile name over it, with clientSecret, to a
// config of the test's own.
func identityProfile(t *testing.T, name, clientSecret string) (*authtest.IdentityServer, string) {
	t.Helper()
	server := authtest.NewIdentityServer("key", "secret")
	t.Cleanup(server.Close)
	configPath := filepath.Join(t.TempDir(), "config.json")
	addProfile(t, configPath, name, server.URL, "key", clientSecret)
	return server, configPath
}

func addProfile(t *testing.T, configPath, name, url, key, secret string) {
	t.Helper()
	p := store.Profile{Name: name, Flow: "identity", BaseURL: url, ClientKey: key}
	if err := store.AddProfile(configPath, keychainOf(configPath), p, store.Secrets{ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
}

func TestTokenThroughLocalAPI(t *testing.T) {
	t.Parallel()
	server, configPath := identityProfile(t, "work", "secret")
	client, _, _ := serve(t, configPath)
	ctx := context.Background()

	first, err := client.Token(ctx, "work")
	if err != nil || !server.Accepts(first.AccessToken) {
		t.Fatalf("got %v; want a token the server accepts", err)
	}
	second, err := client.Token(ctx, "work")
	if err != nil || second.AccessToken != first.AccessToken || server.Acquires() != 1 {
		t.Errorf("a second request should reuse the token: err %v, acquires %d", err, server.Acquires())
	}
	status, err := client.Status(ctx)
	if err != nil || len(status.Profiles) != 1 || status.Profiles[0].State != auth.StateValid || !status.Profiles[0].Expiry.After(time.Now()) {
		t.Errorf("status %+v, %v", status, err)
	}
}

func TestUnknownProfileAndReload(t *testing.T) {
	t.Parallel()
	server, configPath := identityProfile(t, "alpha", "secret")
	client, _, _ := serve(t, configPath)
	ctx := context.Background()

	_, err := client.Token(ctx, "beta")
	var apiErr *localapi.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(apiErr.Message, "alpha") {
		t.Fatalf("unknown profile: %v; want 404 naming the known ones", err)
	}
	waitState(t, client, "alpha", "valid") // the profile it knows is served meanwhile
	addProfile(t, configPath, "beta", server.URL, "key", "secret")
	if err := client.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Token(ctx, "beta"); err != nil {
		t.Errorf("after reload: %v", err)
	}
}

func TestRejectedCredentialsNeedTheUser(t *testing.T) {
	t.Parallel()
	_, configPath := identityProfile(t, "bad", "wrong-secret")
	client, _, _ := serve(t, configPath)

	_, err := client.Token(context.Background(), "bad")
	var apiErr *localapi.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Fatalf("got %v; want 403, which the CLI turns into 'you must act'", err)
	}
	if strings.Contains(apiErr.Message, "wrong-secret") {
		t.Error("the error carries the client secret")
	}
	status, _ := client.Status(context.Background())
	if status.Profiles[0].State != auth.StateNeedsUser || status.Profiles[0].Err == "" {
		t.Errorf("status %+v; want the error recorded", status.Profiles[0])
	}
}

func TestQuit(t *testing.T) {
	t.Parallel()
	client, srv, _ := serve(t, filepath.Join(t.TempDir(), "config.json"))
	quit := make(chan struct{})
	srv.OnQuit = func() { close(quit) }
	if err := client.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Receive(t, quit, 5*time.Second, "OnQuit was not called")
}

func TestEventsStreamAndRefresh(t *testing.T) {
	t.Parallel()
	server, configPath := identityProfile(t, "stream", "secret")
	client, _, _ := serve(t, configPath)
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan auth.Event, 100)
	ended := make(chan error)
	go func() { ended <- client.Events(ctx, func(e auth.Event) { events <- e }) }()

	next := func(want auth.State) auth.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Profile != "stream" {
					t.Fatalf("event for %q", e.Profile)
				}
				if e.State == want {
					return e
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %v event", want)
			}
		}
	}
	// The agent acquires on its own, without anyone asking for a token.
	first := next(auth.StateValid)
	if !first.Expiry.After(time.Now()) || server.Acquires() != 1 {
		t.Errorf("first valid event %+v after %d acquires", first, server.Acquires())
	}
	if err := client.Refresh(ctx, "stream"); err != nil {
		t.Fatal(err)
	}
	next(auth.StateRefreshing)
	next(auth.StateValid)
	if server.Refreshes() != 1 {
		t.Errorf("%d refreshes after POST /v1/refresh, want 1", server.Refreshes())
	}
	var apiErr *localapi.APIError
	if err := client.Refresh(ctx, "nobody"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("refreshing an unknown profile: %v, want 404", err)
	}
	cancel()
	if err := <-ended; err != nil {
		t.Errorf("Events after cancel: %v", err)
	}
}

func TestStatusReportsRetrying(t *testing.T) {
	t.Parallel()
	server, configPath := identityProfile(t, "flaky", "secret")
	server.FailNext(1, authtest.Fault{Status: 503})
	client, _, _ := serve(t, configPath)
	var p auth.Event
	testkit.Poll(testkit.Patience, func() bool {
		status, err := client.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p = status.Profiles[0]
		return p.State == auth.StateRetrying || p.State == auth.StateValid
	})
	if p.State != auth.StateRetrying {
		t.Fatalf("status %+v; want retrying after a 503", p)
	}
	if p.Err == "" || p.RetryAt.IsZero() {
		t.Errorf("retrying without error or retry time: %+v", p)
	}
}

// waitState polls the status until profile is in state; the deadline only
// guards against a hung test.
func waitState(t *testing.T, client *localapi.Client, profile, state string) {
	t.Helper()
	var status localapi.Status
	if !testkit.Poll(testkit.Patience, func() bool {
		var err error
		if status, err = client.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(status.Profiles, func(p auth.Event) bool { return p.Profile == profile && p.State.String() == state })
	}) {
		t.Fatalf("%s never became %s: %+v", profile, state, status.Profiles)
	}
}

// TestCopyAs checks the copy variants the LocalAPI names, before anything
// reaches the clipboard: an unknown one is the caller's mistake.
func TestCopyAs(t *testing.T) {
	t.Parallel()
	tokens, err := NewTokens(filepath.Join(t.TempDir(), "config.json"), store.NewMemoryKeychain())
	if err != nil {
		t.Fatal(err)
	}
	h := (&Server{Tokens: tokens, Clipboard: &clipboard.Clipboard{}}).Handler()
	for query, want := range map[string]int{
		"as=bogus&profile=work":    http.StatusBadRequest,
		"as=header":                http.StatusBadRequest, // no profile named
		"as=header&profile=nosuch": http.StatusNotFound,
		"as=token&profile=nosuch":  http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/copy?"+query, nil))
		if rec.Code != want {
			t.Errorf("POST /v1/copy?%s: %d %s, want %d", query, rec.Code, rec.Body, want)
		}
	}
}

// TestTokenOfProfileChangedMeanwhile: a reload that changes a profile while
// a request for its token waits makes the Keeper drop that request; the
// caller is asked again with the new settings and gets a token, not
// "unknown profile" for a profile in the list.
func TestTokenOfProfileChangedMeanwhile(t *testing.T) {
	old := authtest.NewIdentityServer("key-old", "secret-old")
	defer old.Close()
	changed := authtest.NewIdentityServer("key-new", "secret-old")
	defer changed.Close()
	configPath := filepath.Join(t.TempDir(), "config.json")
	addProfile(t, configPath, "work", old.URL, "key-old", "secret-old")
	// Holding the profile's lock, as a `tokentray token` refreshing it in
	// another process would, keeps the agent's request waiting.
	unlock, err := store.ProfileLocks{}.Lock(context.Background(), "work")
	if err != nil {
		t.Fatal(err)
	}
	client, srv, _ := serve(t, configPath)
	waitState(t, client, "work", "refreshing")
	got := make(chan error, 1)
	go func() {
		_, err := client.Token(context.Background(), "work")
		got <- err
	}()
	time.Sleep(100 * time.Millisecond) // lets the request join the refresh in flight
	// Changed as the window's editor would, but for the secret, whose
	// writing would wait for the lock held here.
	err = store.UpdateConfig(configPath, func(c *store.Config) error {
		c.Put(store.Profile{Name: "work", Flow: store.FlowIdentity, BaseURL: changed.URL, ClientKey: "key-new"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Tokens.Reload(); err != nil {
		t.Fatal(err)
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("token of the changed profile: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	if old.Acquires() != 0 || changed.Acquires() == 0 {
		t.Errorf("acquires: %d at the old server, %d at the new; want none, then some", old.Acquires(), changed.Acquires())
	}
}
