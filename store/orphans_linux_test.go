package store

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
)

// secretToolStore files an item the way another client would.
func secretToolStore(t *testing.T, value string, attrs ...string) {
	t.Helper()
	cmd := exec.Command("secret-tool", append([]string{"store", "--label=test"}, attrs...)...)
	cmd.Stdin = strings.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store %q: %v: %s", attrs, err, out)
	}
}

// Orphans in the real Secret Service are found whoever filed them, and
// deleted one by one; the profiles' own entries, chunks included, and other
// services' entries stay.
func TestKeychainOrphans(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	other := "tokentray-test-other-" + t.Name()
	t.Cleanup(func() { keyring.DeleteAll(other) })

	if err := k.SetClientSecret("prod", "owned secret"); err != nil {
		t.Fatal(err)
	}
	chunked := Keychain{Service: k.Service, limit: 100}
	if err := chunked.SaveToken("prod", auth.Token{AccessToken: strings.Repeat("t", 500)}); err != nil {
		t.Fatal(err)
	}
	if err := k.SetClientSecret("gone", "orphan secret"); err != nil {
		t.Fatal(err)
	}
	secretToolStore(t, "stray", "service", k.Service, "username", "prod/token/chunk/7/0")
	secretToolStore(t, "unknown", "service", k.Service, "username", "prod/notes")
	secretToolStore(t, "nameless", "service", k.Service, "purpose", "no username")
	secretToolStore(t, "elsewhere", "service", other, "username", "gone/token")

	all, err := k.Entries()
	if err != nil {
		t.Fatal(err)
	}
	got := accountsOf(all)
	for _, want := range []string{"prod/client-secret", "prod/token", "prod/token/chunk/1/0", "gone/client-secret", ""} {
		if !slices.Contains(got, want) {
			t.Errorf("Entries lacks %q: %q", want, got)
		}
	}
	if slices.Contains(got, "gone/token") {
		t.Errorf("Entries lists another service's entry: %q", got)
	}
	orphans, err := k.Orphans([]string{"prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "gone/client-secret", "prod/notes", "prod/token/chunk/7/0"}
	if got := accountsOf(orphans); !slices.Equal(got, want) {
		t.Fatalf("Orphans = %q, want %q", got, want)
	}
	for _, e := range orphans {
		if !strings.HasPrefix(e.Item, "/org/freedesktop/secrets/") {
			t.Errorf("orphan %q has item path %q", e.Account, e.Item)
		}
	}

	path := configPath(t)
	cfg := &Config{Profiles: []Profile{{Name: "prod", Flow: FlowIdentity}}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	for _, e := range orphans {
		if err := k.DeleteOrphan(t.Context(), path, e); err != nil {
			t.Errorf("DeleteOrphan(%q) = %v", e.Account, err)
		}
	}
	if left, err := k.Orphans([]string{"prod"}); err != nil || len(left) != 0 {
		t.Errorf("after deleting, Orphans = %q, %v", accountsOf(left), err)
	}
	if v, err := k.ClientSecret("prod"); err != nil || v != "owned secret" {
		t.Errorf("the owned client secret is now %q, %v", v, err)
	}
	if tok, found, err := chunked.LoadToken("prod"); err != nil || !found || len(tok.AccessToken) != 500 {
		t.Errorf("the owned chunked token record reads %d bytes, %v, %v", len(tok.AccessToken), found, err)
	}
	if v, ok := secretTool(t, other, "gone/token"); !ok || v != "elsewhere" {
		t.Error("another service's entry was touched")
	}

	// An entry the config came to own since the listing is kept.
	if err := k.SetClientSecret("late", "added meanwhile"); err != nil {
		t.Fatal(err)
	}
	orphans, _ = k.Orphans([]string{"prod"})
	cfg.Put(Profile{Name: "late", Flow: FlowIdentity})
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	for _, e := range orphans {
		if err := k.DeleteOrphan(t.Context(), path, e); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := k.ClientSecret("late"); err != nil || v != "added meanwhile" {
		t.Errorf("DeleteOrphan deleted an entry a profile owns by then: %q, %v", v, err)
	}
}
