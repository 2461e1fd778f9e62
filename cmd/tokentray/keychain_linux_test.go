package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/store/storetest"
)

// stuckKeychain is a private session bus whose Secret Service, a real
// gnome-keyring, can be swapped for one that takes the name and never
// answers, and back.
type stuckKeychain struct {
	t    *testing.T
	bus  string
	home string // gnome-keyring's, kept across restarts
	stop func()
	hang *storetest.HangingSecretService
}

func newStuckKeychain(t *testing.T) *stuckKeychain {
	k := &stuckKeychain{t: t, bus: storetest.PrivateBus(t, nil), home: t.TempDir()}
	k.stop = storetest.StartGnomeKeyring(t, k.bus, k.home)
	return k
}

// env is env on k's bus, with keychain calls given up after timeout.
func (k *stuckKeychain) env(env []string, timeout time.Duration) []string {
	return append(env[:len(env):len(env)], "DBUS_SESSION_BUS_ADDRESS="+k.bus, "TOKENTRAY_TEST_KEYCHAIN_TIMEOUT="+timeout.String())
}

// wedge replaces the keyring with a Secret Service that never answers.
func (k *stuckKeychain) wedge() {
	k.stop()
	k.hang = storetest.NewHangingSecretService(k.t, k.bus)
}

// mend brings the keyring back, with the entries it had.
func (k *stuckKeychain) mend() {
	k.hang.Stop()
	k.stop = storetest.StartGnomeKeyring(k.t, k.bus, k.home)
}

// add, token and doctor fail within the deadline, naming the keychain and
// what to do, after saying on stderr that they wait for it; exit 1, not 3:
// nothing about the profile is wrong.
func TestCommandsKeychainNotAnswering(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	keychain := newStuckKeychain(t)
	const timeout = 5 * time.Second
	env = keychain.env(env, timeout)
	c, server := identityProfiles(t, env, "key-stuck", "secret-stuck", "stuck")
	keychain.wedge()

	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"secret-stuck\n", []string{"add", "other", "--url", server.URL, "--client-key", "key-stuck"}},
		{"", []string{"token", "stuck"}},
		{"", []string{"doctor"}},
	} {
		start := time.Now()
		_, stderr, code := c.run(tc.stdin, tc.args...)
		took := time.Since(start)
		if code != exitError {
			t.Errorf("tokentray %s exited %d, want %d; stderr: %s", tc.args[0], code, exitError, stderr)
		}
		for _, want := range []string{
			"tokentray: waiting for the keychain to answer",
			"org.freedesktop.secrets", "(keychain not answering)", "unlock it if an unlock prompt is open", "gnome-keyring or KWallet",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("tokentray %s: stderr does not say %q:\n%s", tc.args[0], want, stderr)
			}
		}
		// The production deadline is 30 s: this one ended at the test's.
		if took < timeout || took > 25*time.Second {
			t.Errorf("tokentray %s took %s, want about %s", tc.args[0], took, timeout)
		}
	}
}
