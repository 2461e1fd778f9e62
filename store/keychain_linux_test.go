package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store/storetest"
)

// These tests use the real Secret Service. .ci/desktop-session gives them a
// private D-Bus session with an unlocked gnome-keyring and a throwaway HOME.

// realKeychain returns a Keychain with a service of the test's own, emptied
// when the test ends. Without a session bus it skips; inside
// .ci/desktop-session it never does, so a broken keyring fails loudly.
func realKeychain(t *testing.T) Keychain {
	t.Helper()
	testkit.RequireDesktop(t, testkit.SessionBus)
	k := Keychain{Service: "tokentray-test-" + t.Name()}
	t.Cleanup(func() {
		if err := keyring.DeleteAll(k.Service); err != nil {
			t.Errorf("cleaning up service %q: %v", k.Service, err)
		}
	})
	return k
}

// secretTool looks account up with the secret-tool CLI, which speaks to the
// Secret Service itself: what it finds really is in the keyring. go-keyring
// files entries under the attributes "service" and "username".
func secretTool(t *testing.T, service, account string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("secret-tool"); err != nil {
		t.Fatal("secret-tool is missing: install libsecret-tools (.ci/deps test does)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("secret-tool", "lookup", "service", service, "username", account)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && len(out) == 0 && stderr.Len() == 0 {
		return "", false // lookup's way of saying "no such item"
	}
	if err != nil {
		t.Fatalf("secret-tool lookup service %s username %s: %v: %s", service, account, err, stderr.Bytes())
	}
	return string(out), true
}

func TestKeychainClientSecret(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	if err := k.SetClientSecret("prod", "first"); err != nil {
		t.Fatal(err)
	}
	if err := k.SetClientSecret("prod", "second secret\nwith a newline, ünïcode"); err != nil {
		t.Fatal(err)
	}
	got, err := k.ClientSecret("prod")
	if want := "second secret\nwith a newline, ünïcode"; err != nil || got != want {
		t.Fatalf("ClientSecret = %q, %v; want %q (the second Set replaces the first)", got, err, want)
	}
	if v, ok := secretTool(t, k.Service, "prod/client-secret"); !ok || v != got {
		t.Errorf("secret-tool finds %q (found %v), want %q", v, ok, got)
	}

	deleteProfile(t, k, "prod", "ClientSecret", k.ClientSecret)
	if _, ok := secretTool(t, k.Service, "prod/client-secret"); ok {
		t.Error("secret-tool still finds the client secret after DeleteProfile")
	}
}

// An entry put there by another client under the documented attributes is
// read back: the account layout is what the Keychain doc says.
func TestKeychainReadsSecretToolEntry(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	cmd := exec.Command("secret-tool", "store", "--label=test", "service", k.Service, "username", "prod/client-secret")
	cmd.Stdin = strings.NewReader("from secret-tool") // the secret goes on stdin, never argv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
	if got, err := k.ClientSecret("prod"); err != nil || got != "from secret-tool" {
		t.Errorf("ClientSecret = %q, %v; want the value secret-tool stored", got, err)
	}
}

// A token record larger than macOS and Windows allow in one entry (4 KB
// access tokens are common with JWTs) round-trips intact on Linux.
func TestKeychainLargeToken(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	want := auth.Token{
		AccessToken:  "eyJ" + strings.Repeat("aB3-_x", 1024), // 6 KB
		RefreshToken: "refresh-" + strings.Repeat("r", 200),
		Expiry:       time.Date(2031, 5, 17, 9, 30, 15, 123456789, time.FixedZone("CEST", 2*3600)),
	}
	if err := k.SaveToken("prod", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := k.LoadToken("prod")
	if err != nil || !found {
		t.Fatalf("LoadToken = found %v, %v", found, err)
	}
	if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || !got.Expiry.Equal(want.Expiry) {
		t.Errorf("LoadToken = %d-byte access token, refresh %q, expiry %v; want %d bytes, %q, %v",
			len(got.AccessToken), got.RefreshToken, got.Expiry, len(want.AccessToken), want.RefreshToken, want.Expiry)
	}

	// One entry holds all three, so one write replaces them together.
	raw, ok := secretTool(t, k.Service, "prod/token")
	if !ok {
		t.Fatal("secret-tool finds no prod/token entry")
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatalf("the prod/token entry is not JSON: %v", err)
	}
	for _, field := range []string{"access_token", "refresh_token", "expiry"} {
		if _, ok := rec[field]; !ok {
			t.Errorf("the prod/token entry lacks %q", field)
		}
	}
}

func TestKeychainLoadTokenMissing(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	tok, found, err := k.LoadToken("never-saved")
	if err != nil || found || tok != (auth.Token{}) {
		t.Errorf("LoadToken of a missing profile = %+v, found %v, %v; want zero, false, nil", tok, found, err)
	}
}

func TestKeychainDeleteProfile(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	for _, p := range []string{"prod", "staging"} {
		if err := k.SetClientSecret(p, "secret-"+p); err != nil {
			t.Fatal(err)
		}
		if err := k.SaveToken(p, auth.Token{AccessToken: "at-" + p, Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the second time finds nothing and is fine with it
		if err := k.DeleteProfile("prod"); err != nil {
			t.Fatalf("DeleteProfile: %v", err)
		}
	}
	for _, account := range []string{"prod/client-secret", "prod/token"} {
		if _, ok := secretTool(t, k.Service, account); ok {
			t.Errorf("%s survived DeleteProfile", account)
		}
	}
	if _, found, err := k.LoadToken("prod"); found || err != nil {
		t.Errorf("LoadToken after DeleteProfile = found %v, %v", found, err)
	}
	// Another profile's entries are its own.
	for _, account := range []string{"staging/client-secret", "staging/token"} {
		if _, ok := secretTool(t, k.Service, account); !ok {
			t.Errorf("DeleteProfile(prod) removed %s", account)
		}
	}
}

// The config names a profile; its secrets go to the keychain only.
func TestConfigHoldsNoSecret(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	const secret, access, refresh = "cs-5f1e9a7b", "at-0c2d8e44", "rt-93ab17f0"
	path := configPath(t)
	c := &Config{}
	c.EnsureDeviceID()
	c.Put(Profile{Name: "prod", Flow: "identity", BaseURL: "https://api.example.com", ClientKey: "public-key"})
	if err := k.SetClientSecret("prod", secret); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("prod", auth.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("public-key")) {
		t.Fatalf("the config lacks the profile: %s", data)
	}
	for _, s := range []string{secret, access, refresh} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the config file holds the secret %q: %s", s, data)
		}
	}
}

// With no session bus to reach, every operation says the keychain is
// unavailable and what to do, and no error carries the secret. It runs in a
// child process because godbus keeps its first session bus connection for
// the life of the process.
func TestKeychainUnavailable(t *testing.T) {
	if runChild(t, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-such-bus")) {
		return
	}
	const secret = "s3cret-never-in-errors"
	k := Keychain{Service: "tokentray-test-unavailable"}
	errs := map[string]error{"SetClientSecret": k.SetClientSecret("prod", secret)}
	_, errs["ClientSecret"] = k.ClientSecret("prod")
	errs["SaveToken"] = k.SaveToken("prod", auth.Token{AccessToken: secret, RefreshToken: secret})
	_, found, err := k.LoadToken("prod")
	errs["LoadToken"] = err
	if found {
		t.Error("LoadToken found a token without a keychain")
	}
	errs["DeleteProfile"] = k.DeleteProfile("prod")
	for op, err := range errs {
		if err == nil {
			t.Errorf("%s succeeded without a keychain", op)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `keychain (service "tokentray-test-unavailable")`) ||
			!strings.Contains(msg, "not available or locked") || !strings.Contains(msg, "unlock your keyring") {
			t.Errorf("%s: %q does not say the keychain is unavailable and what to do", op, msg)
		}
		if errors.Is(err, ErrNotFound) {
			t.Errorf("%s: an unreachable keychain must not look like a missing entry: %v", op, err)
		}
		assertNoSecret(t, err, secret)
	}
}

// Re-adding a profile means new credentials, so the token granted for the
// old ones must not be served.
func TestAddProfileDropsOldGrant(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	path := configPath(t)
	p := Profile{Name: "prod", Flow: "identity", BaseURL: "https://api.example.com", ClientKey: "key"}
	if err := AddProfile(path, k, p, Secrets{ClientSecret: "first", UIDSignature: "old-signature"}); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("prod", auth.Token{AccessToken: "old-grant", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	first, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientKey = "other-key"
	if err := AddProfile(path, k, p, Secrets{ClientSecret: "second"}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := k.LoadToken("prod"); found || err != nil {
		t.Errorf("after re-adding: LoadToken found %v, %v; want the old grant gone", found, err)
	}
	if s, err := k.ClientSecret("prod"); err != nil || s != "second" {
		t.Errorf("ClientSecret = %q, %v; want the new one", s, err)
	}
	if _, err := k.UIDSignature("prod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the uid signature the re-added profile no longer has: %v, want it deleted", err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Profile("prod"); got.ClientKey != "other-key" || len(cfg.Profiles) != 1 {
		t.Errorf("config after re-adding: %+v", cfg.Profiles)
	}
	if cfg.DeviceID == "" || cfg.DeviceID != first.DeviceID {
		t.Errorf("device id %q after re-adding, want the first one %q kept", cfg.DeviceID, first.DeviceID)
	}
}

// 10 KB and 64 KB values round-trip through the real Secret Service, whole
// and, with the limit forced down to 1,024 bytes, as chunks; DeleteProfile
// removes the chunks too.
func TestKeychainChunkedRealSecretService(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	for _, limit := range []int{0, 1024} {
		k.limit = limit
		for _, size := range []int{10 << 10, 64 << 10} {
			v := jwtLike(size)
			if err := k.SetClientSecret("prod", v); err != nil {
				t.Fatalf("limit %d, %d bytes: %v", limit, size, err)
			}
			got, err := k.ClientSecret("prod")
			if err != nil || got != v {
				t.Fatalf("limit %d, %d bytes: read back %d bytes, %v", limit, size, len(got), err)
			}
			base, _ := secretTool(t, k.Service, "prod/client-secret")
			if chunked := strings.HasPrefix(base, chunkMagic); chunked != (limit > 0) {
				t.Errorf("limit %d: the base entry is a header: %v", limit, chunked)
			}
		}
		if limit > 0 {
			base, _ := secretTool(t, k.Service, "prod/client-secret")
			h, _, ok := parseChunkHeader(base)
			if !ok || h.chunks != 64 {
				t.Fatalf("header %+v (well-formed: %v), want 64 chunks", h, ok)
			}
			if c, ok := secretTool(t, k.Service, chunkAccount("prod/client-secret", h.gen, 63)); !ok || len(c) != 1024 {
				t.Errorf("the last chunk: %d bytes (found %v)", len(c), ok)
			}
			if _, ok := secretTool(t, k.Service, chunkAccount("prod/client-secret", h.gen-1, 0)); ok {
				t.Error("the 10 KB value's chunks survived the 64 KB write")
			}
			if err := k.DeleteProfile("prod"); err != nil {
				t.Fatal(err)
			}
			for _, a := range []string{"prod/client-secret", chunkAccount("prod/client-secret", h.gen, 0), chunkAccount("prod/client-secret", h.gen, 63)} {
				if _, ok := secretTool(t, k.Service, a); ok {
					t.Errorf("%s survived DeleteProfile", a)
				}
			}
		}
	}
}

// A locked keyring whose unlock prompt is dismissed is reported as locked,
// with what to do, and nothing is written anywhere else. The test locks the
// collection over D-Bus and makes the prompt fail (gcr-prompter gets no
// display), then runs the calls in a child process, so a prompt that did
// appear could only hang the child until its timeout.
func TestKeychainLocked(t *testing.T) {
	const secret = "s3cret-kept-while-locked"
	if inPrivateKeyring(t) {
		return
	}
	if os.Getenv(childEnv) != "1" {
		k := realKeychain(t)
		if err := k.SetClientSecret("prod", secret); err != nil {
			t.Fatal(err)
		}
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// No display for the prompter, whatever the bus was started with.
		if err := conn.BusObject().Call("org.freedesktop.DBus.UpdateActivationEnvironment", 0,
			map[string]string{"DISPLAY": "", "WAYLAND_DISPLAY": ""}).Err; err != nil {
			t.Fatal(err)
		}
		svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
		var collection dbus.ObjectPath
		if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&collection); err != nil {
			t.Fatal(err)
		}
		var lockedPaths []dbus.ObjectPath
		var prompt dbus.ObjectPath
		if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/aliases/default"}).Store(&lockedPaths, &prompt); err != nil || len(lockedPaths) != 1 {
			t.Fatalf("locking the default collection: %v, %v", lockedPaths, err)
		}
		unlocked := false
		unlock := func() {
			if unlocked {
				return
			}
			unlocked = true
			// gnome-keyring's own call for a known password without a prompt,
			// the one storetest.StartGnomeKeyring unlocked the keyring with.
			var out dbus.Variant
			var session dbus.ObjectPath
			if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
				t.Fatalf("unlocking again: %v", err)
			}
			pw := struct {
				Session     dbus.ObjectPath
				Parameters  []byte
				Value       []byte
				ContentType string
			}{session, []byte{}, []byte(storetest.GnomeKeyringPassword), "text/plain"}
			if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, collection, pw).Err; err != nil {
				t.Fatalf("unlocking again: %v", err)
			}
		}
		defer unlock()
		runChild(t, "TOKENTRAY_TEST_SERVICE="+k.Service)
		unlock()
		// Nothing was lost or changed while locked.
		if got, err := k.ClientSecret("prod"); err != nil || got != secret {
			t.Fatalf("after unlocking: %q, %v", got, err)
		}
		return
	}

	k := Keychain{Service: os.Getenv("TOKENTRAY_TEST_SERVICE")}
	errs := map[string]error{"SetClientSecret": k.SetClientSecret("prod", "new-"+secret)}
	_, errs["ClientSecret"] = k.ClientSecret("prod")
	_, _, errs["LoadToken"] = k.LoadToken("prod")
	errs["DeleteProfile"] = k.DeleteProfile("prod")
	for op, err := range errs {
		if !errors.Is(err, ErrLocked) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %v, want ErrLocked", op, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{`service "` + k.Service + `"`, "the keyring is locked", "Passwords and Keys (seahorse)", "unlock your keyring"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q lacks %q", op, msg, want)
			}
		}
		assertNoSecret(t, err, secret)
	}
	// No fallback: the secret is in no file under HOME but the keyring's own.
	home, _ := os.UserHomeDir()
	filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, "keyrings") {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the secret", p)
			}
		}
		return nil
	})
}

// inPrivateKeyring runs the calling test again in a D-Bus session and
// gnome-keyring of its own, and reports whether it did so (the caller then
// returns). Tests that lock the keyring need this: `go test` runs packages
// side by side in one desktop session, and a locked shared keyring would
// fail the others.
func inPrivateKeyring(t *testing.T) bool {
	t.Helper()
	if os.Getenv("TOKENTRAY_PRIVATE_KEYRING") == "1" {
		return false
	}
	t.Parallel() // nothing of the session's is touched
	// A bus that starts nothing on demand, and a keyring that owns the
	// Secret Service's name before the test runs and ends with it.
	bus := storetest.PrivateBus(t, nil)
	home := t.TempDir()
	storetest.StartGnomeKeyring(t, bus, home)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	// The race detector sleeps a second before exit unless told not to.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), "TOKENTRAY_PRIVATE_KEYRING=1", "DBUS_SESSION_BUS_ADDRESS="+bus, "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "GORACE="+race)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a private keyring: %v\n%s", t.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s did not run in the private keyring:\n%s", t.Name(), out)
	}
	return true
}

// A signed-in identity profile keeps its uid signature in the keychain, not
// in the config beside the uid, and DeleteProfile removes it with the rest.
func TestAddProfileUIDSignature(t *testing.T) {
	t.Parallel()
	k := realKeychain(t)
	path := configPath(t)
	const signature = "sig-7d31c0aa"
	p := Profile{Name: "prod", Flow: FlowIdentity, BaseURL: "https://api.example.com", ClientKey: "key",
		UID: "uid-42", SignatureTimestamp: "1700000000"}
	if err := AddProfile(path, k, p, Secrets{ClientSecret: "cs", UIDSignature: signature}); err != nil {
		t.Fatal(err)
	}
	if got, err := k.UIDSignature("prod"); err != nil || got != signature {
		t.Errorf("UIDSignature = %q, %v; want the one added", got, err)
	}
	if v, ok := secretTool(t, k.Service, "prod/uid-signature"); !ok || v != signature {
		t.Errorf("secret-tool finds %q (found %v) at prod/uid-signature, want the signature", v, ok)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Profile("prod"); got.UID != p.UID || got.SignatureTimestamp != p.SignatureTimestamp {
		t.Errorf("config profile = %+v; want uid and signature timestamp kept", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(signature)) {
		t.Errorf("the config file holds the uid signature: %s", data)
	}

	deleteProfile(t, k, "prod", "UIDSignature", k.UIDSignature)
	if _, ok := secretTool(t, k.Service, "prod/uid-signature"); ok {
		t.Error("secret-tool still finds the uid signature after DeleteProfile")
	}
}

// `tokentray add` replacing a profile keeps its proxy; the window's save
// sets it as the form has it, clearing it too; and a proxy address another
// profile has is refused before any secret is written.
func TestAddKeepsProxySaveSetsIt(t *testing.T) {
	k := realKeychain(t)
	path := configPath(t)
	p := Profile{Name: "prod", Flow: "identity", BaseURL: "https://api.example.com", ClientKey: "key", Proxy: "127.0.0.1:8787"}
	if err := SaveProfile(path, k, p, Secrets{ClientSecret: "first"}); err != nil {
		t.Fatal(err)
	}
	proxyOf := func(name string) string {
		t.Helper()
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := cfg.Profile(name)
		return got.Proxy
	}
	p.Proxy = ""
	if err := AddProfile(path, k, p, Secrets{ClientSecret: "second"}); err != nil {
		t.Fatal(err)
	}
	if got := proxyOf("prod"); got != "127.0.0.1:8787" {
		t.Errorf("after add without a proxy: proxy %q, want the old one kept", got)
	}
	other := Profile{Name: "dev", Flow: "identity", BaseURL: "https://api.example.com", ClientKey: "key", Proxy: "127.0.0.1:8787"}
	err := SaveProfile(path, k, other, Secrets{ClientSecret: "dev-secret"})
	if err == nil || !strings.Contains(err.Error(), "profile prod's proxy is on 127.0.0.1:8787 already") {
		t.Errorf("saving dev on prod's proxy address: %v, want it refused naming prod", err)
	}
	if _, err := k.ClientSecret("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused profile's secret was written: %v", err)
	}
	if err := SaveProfile(path, k, p, Secrets{ClientSecret: "third"}); err != nil {
		t.Fatal(err)
	}
	if got := proxyOf("prod"); got != "" {
		t.Errorf("after a save clearing the proxy: proxy %q, want none", got)
	}
}
