package profile

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/store"
)

// TestRemove removes two web grant profiles: one whose server
// revokes its access token, one whose server is gone, which is removed
// all the same and says why its grant lives on.
func TestRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	k := store.NewMemoryKeychain()
	up := authtest.NewWebServer("client", "secret", "session")
	defer up.Close()
	down := authtest.NewWebServer("client", "secret", "session")
	downURL := down.URL
	for name, url := range map[string]string{"up": up.URL, "down": downURL} {
		p := store.Profile{Name: name, Flow: store.FlowWeb, BaseURL: url, ClientID: "client"}
		if err := store.AddProfile(path, k, p, store.Secrets{ClientSecret: "secret", SessionToken: "session"}); err != nil {
			t.Fatal(err)
		}
		flow, err := NewFlow(p, store.Secrets{ClientSecret: "secret", SessionToken: "session"}, auth.Device{})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := flow.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := k.SaveToken(name, tok); err != nil {
			t.Fatal(err)
		}
	}
	down.Close()

	reloads := 0
	reload := func(context.Context) { reloads++ }
	if _, err := Remove(context.Background(), path, k, "nosuch", reload); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "down, up") {
		t.Errorf("removing an unknown profile: %v, want ErrUnknown naming the known ones", err)
	}
	r, err := Remove(context.Background(), path, k, "up", reload)
	if err != nil || r.NotRevoked != nil {
		t.Fatalf("removing up: %v, not revoked: %v", err, r.NotRevoked)
	}
	if up.Revocations() != 1 || up.ValidAccessTokens() != 0 {
		t.Errorf("the server saw %d revocations and has %d access tokens valid, want 1 and none", up.Revocations(), up.ValidAccessTokens())
	}
	r, err = Remove(context.Background(), path, k, "down", reload)
	if err != nil || r.NotRevoked == nil || !strings.Contains(r.NotRevoked.Error(), downURL) {
		t.Errorf("removing down: %v, not revoked: %v; want it removed, saying its server at %s did not revoke", err, r.NotRevoked, downURL)
	}
	if reloads != 2 {
		t.Errorf("the agent was told %d times, want once per removal", reloads)
	}
	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Profiles) != 0 {
		t.Errorf("profiles left: %+v", cfg.Profiles)
	}
	for _, name := range []string{"up", "down"} {
		if _, err := k.ClientSecret(name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s's client secret: %v, want gone", name, err)
		}
		if _, found, _ := k.LoadToken(name); found {
			t.Errorf("%s's token record is still there", name)
		}
	}
}

func TestNewFlowUnknown(t *testing.T) {
	_, err := NewFlow(store.Profile{Name: "x", Flow: "saml"}, store.Secrets{}, auth.Device{})
	if auth.ActionOf(err) != auth.NeedsUser || !strings.Contains(err.Error(), `"saml"`) {
		t.Errorf("a flow this version does not know: %v, want one the user must act on", err)
	}
}

// A change saved while the grant is being revoked stays: the removal
// changes the config as it is then, not as it was read before.
func TestRemoveKeepsChangeMadeMeanwhile(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	path := filepath.Join(t.TempDir(), "config.json")
	k := store.NewMemoryKeychain()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The window saves a setting while the revocation is under way.
		secs := 7
		if err := store.UpdateConfig(path, func(c *store.Config) error { c.Settings.ClipboardClearSeconds = &secs; return nil }); err != nil {
			t.Error(err)
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	p := store.Profile{Name: "gone", Flow: store.FlowWeb, BaseURL: srv.URL, ClientID: "client"}
	if err := store.AddProfile(path, k, p, store.Secrets{ClientSecret: "secret", SessionToken: "session"}); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("gone", auth.Token{AccessToken: "a", RefreshToken: "r", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Remove(t.Context(), path, k, "gone", nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Profiles) != 0 || cfg.Settings.ClipboardClear() != 7*time.Second {
		t.Errorf("after the removal: profiles %+v, clipboard clear %v; want none and the 7s saved meanwhile", cfg.Profiles, cfg.Settings.ClipboardClear())
	}
}

// A Keychain opened before the secrets were moved is refused: deleting
// from it would leave the profile's secrets behind in the other place.
func TestRemoveRefusesMovedSecrets(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	path := filepath.Join(t.TempDir(), "config.json")
	k := store.NewMemoryKeychain()
	p := store.Profile{Name: "kept", Flow: store.FlowIdentity, BaseURL: "https://api.example.com"}
	if err := store.AddProfile(path, k, p, store.Secrets{ClientSecret: "secret"}); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateConfig(path, func(c *store.Config) error { c.Settings.Secrets = store.SecretsFile; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := Remove(t.Context(), path, k, "kept", nil)
	if err == nil || !strings.Contains(err.Error(), "moved") {
		t.Errorf("RemoveProfile with the keychain after a move to the file = %v, want an error saying they moved", err)
	}
	if cfg, err := store.Load(path); err != nil || len(cfg.Profiles) != 1 {
		t.Errorf("the profile was removed from the config (%v)", err)
	}
}
