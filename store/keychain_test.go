package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// childEnv marks a test binary that runChild started.
const childEnv = "TOKENTRAY_STORE_TEST_CHILD"

// runChild runs the calling test again in a fresh test process with env
// added, and fails if it fails. It is for tests that change process-wide
// state no test could undo: go-keyring's provider (MockInit has no undo) and
// godbus's cached session bus connection (DBUS_SESSION_BUS_ADDRESS is read
// once). The test body calls it first and returns when it reports true:
//
//	if runChild(t, "FOO=bar") { return }
//	// ...the checks, run in the child only
func runChild(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(childEnv) == "1" {
		return false
	}
	// The child's process-wide state is its own: the parent runs beside
	// the other tests.
	t.Parallel()
	// A child stuck on a keychain prompt fails the test, not the run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	// The race detector sleeps a second before exit unless told not to.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "GORACE="+race), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child test process ran no %s:\n%s", t.Name(), out)
	}
	return true
}

// go-keyring's errors are translated: its sentinels into ours or into
// advice, and a cause quoting the value is never passed on.
func TestKeychainErrorsMock(t *testing.T) {
	if runChild(t) {
		return
	}
	const secret = "s3cret-value-that-must-not-leak"
	k := Keychain{Service: "tokentray-test"}

	keyring.MockInitWithError(keyring.ErrSetDataTooBig)
	err := k.SetClientSecret("prod", secret)
	if err == nil || !strings.Contains(err.Error(), "too large for this platform's keychain") {
		t.Errorf("ErrSetDataTooBig became %v", err)
	}
	assertNoSecret(t, err, secret)

	keyring.MockInitWithError(errors.New("org.freedesktop.DBus.Error.Failed: refused " + secret))
	err = k.SetClientSecret("prod", secret)
	if err == nil || !strings.Contains(err.Error(), "is not available") {
		t.Errorf("a failing keychain gave %v", err)
	}
	assertNoSecret(t, err, secret)

	keyring.MockInitWithError(errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"))
	_, err = k.ClientSecret("prod")
	if err == nil || !strings.Contains(err.Error(), "failed to unlock correct collection") ||
		!strings.Contains(err.Error(), "unlock your keyring") {
		t.Errorf("a locked collection gave %v, want the cause and what to do", err)
	}

	keyring.MockInit()
	if _, err := k.ClientSecret("prod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ClientSecret of a missing entry = %v, want ErrNotFound", err)
	}
	// A record that is not JSON must not be quoted back in the error.
	if err := keyring.Set(k.Service, "prod/token", "not json "+secret); err != nil {
		t.Fatal(err)
	}
	_, found, err := k.LoadToken("prod")
	if err == nil || found {
		t.Errorf("LoadToken of a damaged record = found %v, %v; want an error", found, err)
	}
	assertNoSecret(t, err, secret)
}

// Entries are filed under Service by default, and profile names reach the
// keychain only when valid: a '/' in one would let profile "a/token" and the
// token of profile "a" share an account.
func TestKeychainAccountsMock(t *testing.T) {
	if runChild(t) {
		return
	}
	keyring.MockInit()
	// The zero Keychain files under Service; in the mock, not the real one.
	if err := (Keychain{}).SetClientSecret("prod", "x"); err != nil {
		t.Fatal(err)
	}
	if v, err := keyring.Get(Service, "prod/client-secret"); err != nil || v != "x" {
		t.Errorf("the zero Keychain stored %q, %v under service %q", v, err, Service)
	}
	k := Keychain{Service: "tokentray-test"}
	if err := k.SetClientSecret("a/token", "x"); err == nil {
		t.Error("SetClientSecret accepted the profile name a/token")
	}
	// An entry a bad name would reach: Secret must refuse the name, not
	// read it.
	if err := keyring.Set("tokentray-test", "a/token/session-token", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Secret("a/token", SecretSessionToken); err == nil {
		t.Error("Secret accepted the profile name a/token")
	}
	if _, _, err := k.LoadToken(""); err == nil {
		t.Error("LoadToken accepted an empty profile name")
	}
	if err := k.DeleteProfile("../x"); err == nil {
		t.Error("DeleteProfile accepted the profile name ../x")
	}
}

func assertNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), secret) {
			t.Errorf("error %q contains the secret", e)
			return
		}
	}
}

// AddProfile refuses a bad name before it writes anything.
func TestAddProfileBadName(t *testing.T) {
	if runChild(t) {
		return
	}
	keyring.MockInit()
	path := configPath(t)
	if err := AddProfile(path, Keychain{Service: "tokentray-test"}, Profile{Name: "a/b"}, Secrets{ClientSecret: "s"}); err == nil {
		t.Fatal("AddProfile accepted the profile name a/b")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("AddProfile wrote %s for a refused profile", path)
	}
}
