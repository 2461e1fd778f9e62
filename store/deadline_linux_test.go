package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/store/storetest"
)

// A Secret Service that takes the name and never answers costs the first
// call the deadline and a clear error, and the next calls fail at once:
// the fake sees one call, not one per retry.
func TestSecretServiceNotAnswering(t *testing.T) {
	var hang *storetest.HangingSecretService
	if os.Getenv(childEnv) == "" {
		bus := storetest.PrivateBus(t, nil)
		hang = storetest.NewHangingSecretService(t, bus)
		if runChild(t, "DBUS_SESSION_BUS_ADDRESS="+bus, timeoutEnv+"=2s") {
			if n := hang.Calls(); n != 1 {
				t.Errorf("the Secret Service got %d calls, want 1: later calls must not pile up behind the stuck one", n)
			}
			return
		}
	}
	k := Keychain{Service: "tokentray-test"}
	_, err := k.ClientSecret("prod")
	if !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("ClientSecret = %v, want ErrNotAnswering", err)
	}
	for _, want := range []string{"org.freedesktop.secrets", "did not answer within 2s", "unlock", "gnome-keyring or KWallet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	for range 3 {
		if err := k.SetClientSecret("prod", "x"); !errors.Is(err, ErrNotAnswering) {
			t.Errorf("SetClientSecret while the first call hangs = %v, want ErrNotAnswering", err)
		}
		if err := k.Check(); !errors.Is(err, ErrNotAnswering) {
			t.Errorf("Check while the first call hangs = %v, want ErrNotAnswering", err)
		}
		if _, err := k.Entries(); !errors.Is(err, ErrNotAnswering) {
			t.Errorf("Entries while the first call hangs = %v, want ErrNotAnswering", err)
		}
	}
}

// A Secret Service the session bus cannot start is tried once: the calls
// after the first say so at once instead of each waiting for the bus.
// Its program fails, or hangs without taking the name.
func TestSecretServiceStartedOnce(t *testing.T) {
	for _, tc := range []struct{ name, program, reason string }{
		{"fails", "exit 1", "exited with status 1"},
		{"hangs", "exec sleep 3", "did not start within 1.8s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var count string
			if os.Getenv(childEnv) == "" {
				dir := t.TempDir()
				count = filepath.Join(dir, "starts")
				script := filepath.Join(dir, "secret-service")
				if err := os.WriteFile(script, []byte("#!/bin/sh\necho started >>"+count+"\n"+tc.program+"\n"), 0o700); err != nil {
					t.Fatal(err)
				}
				bus := storetest.PrivateBus(t, map[string]string{storetest.SecretsName: script})
				if runChild(t, "DBUS_SESSION_BUS_ADDRESS="+bus, timeoutEnv+"=2s") {
					data, err := os.ReadFile(count)
					if n := strings.Count(string(data), "started"); err != nil || n != 1 {
						t.Errorf("the bus started the Secret Service %d times (%v), want once", n, err)
					}
					return
				}
			}
			k := Keychain{Service: "tokentray-test"}
			for i := range 3 {
				_, err := k.ClientSecret("prod")
				if err == nil || !strings.Contains(err.Error(), "could not be started") || !strings.Contains(err.Error(), "org.freedesktop.secrets") {
					t.Errorf("call %d = %v, want the Secret Service named as not starting", i, err)
				}
				if err != nil && !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("call %d: %q does not give the reason %q", i, err, tc.reason)
				}
			}
			if err := k.SetClientSecret("prod", "x"); err == nil || !strings.Contains(err.Error(), "could not be started") {
				t.Errorf("SetClientSecret = %v, want the Secret Service named as not starting", err)
			}
		})
	}
}
