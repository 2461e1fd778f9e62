package store

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// secretService skips outside a desktop session and fails inside a broken
// one, so `make test` never passes without touching the real keychain.
func secretService(t *testing.T) Keychain {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("TOKENTRAY_DESKTOP_SESSION") == "1" {
			t.Fatal("inside .ci/desktop-session but there is no session bus")
		}
		t.Skip("needs a Secret Service: run through .ci/desktop-session (make test does)")
	}
	k := Keychain{Service: "tokentray-test-" + t.Name()}
	t.Cleanup(func() { k.DeleteProfile("p") })
	return k
}

// lookup reads an entry with libsecret's own CLI, proving it lives in the
// Secret Service and not in some fallback.
func lookup(t *testing.T, k Keychain, account string) (string, bool) {
	t.Helper()
	out, err := exec.Command("secret-tool", "lookup", "service", k.Service, "username", account).Output()
	if err != nil {
		return "", false
	}
	return string(out), true
}

func TestKeychainClientSecret(t *testing.T) {
	k := secretService(t)
	if _, err := k.ClientSecret("p"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing secret: %v, want ErrNotFound", err)
	}
	if err := k.SetClientSecret("p", "s3cr3t-value"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.ClientSecret("p"); err != nil || got != "s3cr3t-value" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, ok := lookup(t, k, "p/client-secret"); !ok || got != "s3cr3t-value" {
		t.Errorf("secret-tool finds %q, %v", got, ok)
	}
}

func TestKeychainLargeTokenRecord(t *testing.T) {
	k := secretService(t)
	want := auth.Token{
		AccessToken:  strings.Repeat("eyJhbGciOi", 600), // 6 KB, like a JWT full of claims
		RefreshToken: "640b00c7-33d8-44f2-ab46-e3d1284a4061",
		Expiry:       time.Unix(1758732781, 0),
	}
	if _, found, err := k.LoadToken("p"); found || err != nil {
		t.Fatalf("before saving: found=%v, %v", found, err)
	}
	if err := k.SaveToken("p", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := k.LoadToken("p")
	if err != nil || !found {
		t.Fatalf("found=%v, %v", found, err)
	}
	if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || !got.Expiry.Equal(want.Expiry) {
		t.Errorf("the record changed on its way through the keychain")
	}
	if _, ok := lookup(t, k, "p/token"); !ok {
		t.Error("secret-tool does not find the token record")
	}
}

func TestKeychainDeleteProfile(t *testing.T) {
	k := secretService(t)
	k.SetClientSecret("p", "x")
	k.SaveToken("p", auth.Token{AccessToken: "a", Expiry: time.Now()})
	for range 2 { // the second time finds nothing and is fine with it
		if err := k.DeleteProfile("p"); err != nil {
			t.Fatal(err)
		}
	}
	for _, account := range []string{"p/client-secret", "p/token"} {
		if _, ok := lookup(t, k, account); ok {
			t.Errorf("%s survived DeleteProfile", account)
		}
	}
}

// TestKeychainUnavailable checks the message a person sees when there is no
// Secret Service, and that it carries no secret. godbus keeps one session
// bus connection per process, so the check runs in a child process.
func TestKeychainUnavailable(t *testing.T) {
	if os.Getenv("TOKENTRAY_TEST_NO_BUS") == "1" {
		err := Keychain{}.SetClientSecret("p", "do-not-print-me")
		if err == nil {
			t.Fatal("saving without a Secret Service succeeded")
		}
		if msg := err.Error(); !strings.Contains(msg, "not available or is locked") || strings.Contains(msg, "do-not-print-me") {
			t.Fatalf("unhelpful or leaky error: %s", msg)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeychainUnavailable$")
	cmd.Env = append(os.Environ(), "TOKENTRAY_TEST_NO_BUS=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "none"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%v: %s", err, out)
	}
}

// TestNoSecretInConfig writes a profile and its secret as the CLI does and
// checks the secret is nowhere in the config file.
func TestNoSecretInConfig(t *testing.T) {
	k := secretService(t)
	path := filepath.Join(t.TempDir(), "config.json")
	if err := k.SetClientSecret("p", "secret-in-keychain-only"); err != nil {
		t.Fatal(err)
	}
	c := &Config{Schema: Schema}
	c.EnsureDeviceID()
	c.Put(Profile{Name: "p", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "key"})
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "secret-in-keychain-only") {
		t.Error("the client secret is in the config file")
	}
}

// TestAddProfileDropsOldGrant: re-adding a profile means new credentials, so
// the token granted for the old ones must not be served.
func TestAddProfileDropsOldGrant(t *testing.T) {
	k := secretService(t)
	path := filepath.Join(t.TempDir(), "config.json")
	p := Profile{Name: "p", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "key"}
	if err := AddProfile(path, k, p, "first"); err != nil {
		t.Fatal(err)
	}
	k.SaveToken("p", auth.Token{AccessToken: "old-grant", Expiry: time.Now().Add(time.Hour)})
	p.ClientKey = "other-key"
	if err := AddProfile(path, k, p, "second"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := k.LoadToken("p"); found {
		t.Error("the old token record survived re-adding the profile")
	}
	if s, _ := k.ClientSecret("p"); s != "second" {
		t.Errorf("client secret %q, want the new one", s)
	}
	cfg, _ := Load(path)
	if got, _ := cfg.Profile("p"); got.ClientKey != "other-key" || cfg.DeviceID == "" || len(cfg.Profiles) != 1 {
		t.Errorf("config %+v", cfg)
	}
}
