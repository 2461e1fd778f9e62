package agent

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/store"
)

// TestRemoveProfile removes two web grant profiles: one whose server
// revokes its refresh token, one whose server is gone, which is removed
// all the same and says why its grant lives on.
func TestRemoveProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	k := store.Keychain{}
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
	if _, err := RemoveProfile(context.Background(), path, k, "nosuch", reload); !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), "down, up") {
		t.Errorf("removing an unknown profile: %v, want ErrUnknownProfile naming the known ones", err)
	}
	r, err := RemoveProfile(context.Background(), path, k, "up", reload)
	if err != nil || r.NotRevoked != nil {
		t.Fatalf("removing up: %v, not revoked: %v", err, r.NotRevoked)
	}
	if up.Revocations() != 1 {
		t.Errorf("the server saw %d revocations, want 1", up.Revocations())
	}
	r, err = RemoveProfile(context.Background(), path, k, "down", reload)
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
