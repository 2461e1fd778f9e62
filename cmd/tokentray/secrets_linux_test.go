package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
	"github.com/tokentray/tokentray/store/storetest"
)

// privateKeyring gives env a Secret Service of its own: a private session
// bus with a fresh, unlocked gnome-keyring. Tests that delete entries they
// did not make (doctor --delete) use it, so nothing of another test's can
// go.
func privateKeyring(t *testing.T, env []string) []string {
	t.Helper()
	// A bus that starts nothing on demand, and a keyring that owns the
	// Secret Service's name before the first command runs: one started
	// by the bus meanwhile would wait on a prompt nobody answers.
	bus := storetest.PrivateBus(t, nil)
	storetest.StartGnomeKeyring(t, bus, t.TempDir())
	return append(env[:len(env):len(env)], "DBUS_SESSION_BUS_ADDRESS="+bus)
}

// withoutVar drops name from env.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// secretToolLookup is secret-tool lookup in env's Secret Service.
func secretToolLookup(t *testing.T, env []string, attrs ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("secret-tool", append([]string{"lookup"}, attrs...)...)
	cmd.Env = env
	out, err := cmd.Output()
	return string(out), err == nil
}

func secretToolStore(t *testing.T, env []string, value string, attrs ...string) {
	t.Helper()
	cmd := exec.Command("secret-tool", append([]string{"store", "--label=test"}, attrs...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store %q: %v: %s", attrs, err, out)
	}
}

// TestSecretsFile moves the secrets from the keychain to the encrypted
// file and back, and uses them there: add, token and list, by the CLI and
// the agent, with the passphrase from the environment, without it, and
// wrong.
func TestSecretsFile(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	env = privateKeyring(t, withoutVar(env, store.DefaultPassphraseEnv))
	const passphrase = "correct horse battery staple"
	withPass := append(env[:len(env):len(env)], store.DefaultPassphraseEnv+"="+passphrase)
	server := authtest.NewIdentityServer("key-file", "secret-file")
	defer server.Close()
	c := newCLI(t, withPass, "secret-file", passphrase)
	vaultPath := filepath.Join(configHome(env), "tokentray", "secrets.enc")

	c.must("secret-file\n", "add", "before", "--url", server.URL, "--client-key", "key-file")
	if out := c.must("", "secrets"); !strings.Contains(out, "OS keychain") {
		t.Errorf("secrets says %q before any move, want the OS keychain", out)
	}
	if _, stderr, code := c.run("", "secrets", "plaintext"); code != exitUsage {
		t.Errorf("secrets plaintext: exit %d, %q; want %d", code, stderr, exitUsage)
	}
	c.must("", "token", "before") // a token record to move too

	c.must("", "secrets", "file")
	if _, ok := secretToolLookup(t, env, "service", store.Service, "username", "before/client-secret"); ok {
		t.Error("the client secret is still in the keychain after the move")
	}
	if _, ok := secretToolLookup(t, env, "service", store.Service, "username", "before/token"); ok {
		t.Error("the token record is still in the keychain after the move")
	}
	if out := c.must("", "secrets"); !strings.Contains(out, vaultPath) || !strings.Contains(out, store.DefaultPassphraseEnv) {
		t.Errorf("secrets says %q after the move, want the file and the variable", out)
	}
	c.must("secret-file\n", "add", "after", "--url", server.URL, "--client-key", "key-file")
	if _, ok := secretToolLookup(t, env, "service", store.Service, "username", "after/client-secret"); ok {
		t.Error("add wrote to the keychain with the file chosen")
	}
	for _, name := range []string{"before", "after"} {
		if got := strings.TrimSpace(c.must("", "token", name)); !server.Accepts(got) {
			t.Errorf("token %s from the file: the server does not accept it", name)
		}
	}
	data, err := os.ReadFile(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(vaultPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("the secrets file has mode %v", fi.Mode().Perm())
	}
	if bytes.Contains(data, []byte("secret-file")) || bytes.Contains(data, []byte("before/")) {
		t.Error("the secrets file holds a secret or an account name in the clear")
	}

	// Without the passphrase, or with a wrong one: exit 3, what to do,
	// and the file as it was.
	noPass := newCLI(t, env, "secret-file", passphrase)
	wrong := newCLI(t, append(env[:len(env):len(env)], store.DefaultPassphraseEnv+"=wrong"), "secret-file", passphrase)
	for _, tc := range []struct {
		c    *cli
		says string
	}{{noPass, "$" + store.DefaultPassphraseEnv}, {wrong, "does not open"}} {
		_, stderr, code := tc.c.run("", "token", "after")
		// Saving the credentials again would not help, so it is not advised.
		if code != exitUserMust || !strings.Contains(stderr, tc.says) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "tokentray add") {
			t.Errorf("token without the right passphrase: exit %d, %q; want %d, one line saying %q", code, stderr, exitUserMust, tc.says)
		}
		if _, stderr, code := tc.c.run("other\n", "add", "after", "--url", server.URL, "--client-key", "key-file"); code != exitUserMust {
			t.Errorf("add without the right passphrase: exit %d, %q; want %d", code, stderr, exitUserMust)
		}
	}
	if after, _ := os.ReadFile(vaultPath); !bytes.Equal(after, data) {
		t.Error("a missing or wrong passphrase changed the secrets file")
	}

	// The agent without the variable: every profile needs the user, and
	// says how to give the passphrase.
	_, client := startAgent(t, env, runtimeDir)
	var status localapi.Status
	testkit.Poll(testkit.Patience, func() bool {
		status, err = client.Status(context.Background())
		return err == nil && allState(status, auth.StateNeedsUser)
	})
	if !allState(status, auth.StateNeedsUser) || len(status.Profiles) != 2 {
		t.Errorf("the agent without the passphrase says %+v; want both profiles needing the user", status.Profiles)
	}
	for _, p := range status.Profiles {
		if !strings.Contains(p.Err, store.DefaultPassphraseEnv) {
			t.Errorf("profile %s's error %q does not say how to give the passphrase", p.Profile, p.Err)
		}
	}
	if _, stderr, code := c.run("", "secrets", "keychain"); code != exitError || !strings.Contains(stderr, "agent is running") {
		t.Errorf("secrets keychain with the agent running: exit %d, %q", code, stderr)
	}
	quitAgent(t, client)

	// With it, the agent serves tokens from the file.
	_, client = startAgent(t, withPass, runtimeDir)
	resp, err := client.Token(context.Background(), "after")
	if err != nil || !server.Accepts(resp.AccessToken) {
		t.Errorf("the agent with the passphrase: %v", err)
	}
	quitAgent(t, client)

	c.must("", "secrets", "keychain")
	if _, err := os.Stat(vaultPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the secrets file is still there after moving back (%v)", err)
	}
	if v, ok := secretToolLookup(t, env, "service", store.Service, "username", "after/client-secret"); !ok || v != "secret-file" {
		t.Error("the client secret did not come back to the keychain")
	}
	noPass.must("", "token", "after")
}

func allState(s localapi.Status, state auth.State) bool {
	for _, p := range s.Profiles {
		if p.State != state {
			return false
		}
	}
	return len(s.Profiles) > 0
}

// quitAgent quits the agent and waits until its socket no longer answers.
func quitAgent(t *testing.T, client *localapi.Client) {
	t.Helper()
	client.Quit(context.Background())
	testkit.Eventually(t, "the agent to quit", func() bool {
		_, err := client.Status(context.Background())
		return errors.Is(err, localapi.ErrNotRunning)
	})
}

// TestDoctor lists the entries under the service that no profile owns,
// made by secret-tool and by Tokentray, and deletes them with --delete;
// the profiles' own entries and other services' stay, and no value is
// printed.
func TestDoctor(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	env = privateKeyring(t, env)
	c := newCLI(t, env, "owned-secret", "orphan-secret", "other-secret")
	c.must("owned-secret\n", "add", "prod", "--client-key", "k")
	c.must("orphan-secret\n", "add", "gone", "--client-key", "k")
	// Left behind as a crash or an old version would: the entries of a
	// profile no longer in the config.
	cfgPath := filepath.Join(configHome(env), "tokentray", "config.json")
	cfg, err := store.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Remove("gone")
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	secretToolStore(t, env, "orphan-secret", "service", store.Service, "username", "old/token")
	secretToolStore(t, env, "other-secret", "service", "not-tokentray", "username", "gone/token")

	out, stderr, code := c.run("", "doctor")
	if code != exitUserMust || !strings.Contains(stderr, "doctor --delete") {
		t.Errorf("doctor with orphans, no terminal: exit %d, %q; want %d pointing at --delete", code, stderr, exitUserMust)
	}
	for _, want := range []string{"gone/client-secret", "old/token", "2 entries"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's listing %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "prod/") {
		t.Errorf("doctor lists an owned entry: %q", out)
	}
	if _, ok := secretToolLookup(t, env, "service", store.Service, "username", "old/token"); !ok {
		t.Error("doctor without --delete deleted an orphan")
	}

	out = c.must("", "doctor", "--delete")
	if !strings.Contains(out, "Deleted 2") {
		t.Errorf("doctor --delete says %q", out)
	}
	for _, account := range []string{"gone/client-secret", "old/token"} {
		if _, ok := secretToolLookup(t, env, "service", store.Service, "username", account); ok {
			t.Errorf("%s is still in the keychain after doctor --delete", account)
		}
	}
	if v, ok := secretToolLookup(t, env, "service", store.Service, "username", "prod/client-secret"); !ok || v != "owned-secret" {
		t.Error("doctor --delete touched a profile's own entry")
	}
	if v, ok := secretToolLookup(t, env, "service", "not-tokentray", "username", "gone/token"); !ok || v != "other-secret" {
		t.Error("doctor --delete touched another service's entry")
	}
	if out := c.must("", "doctor"); !strings.Contains(out, "No orphans") {
		t.Errorf("doctor after deleting says %q", out)
	}

	// A profile whose secret is gone is reported too.
	cfg.Put(store.Profile{Name: "lost", Flow: store.FlowIdentity, BaseURL: "https://api.nfl.com", ClientKey: "k"})
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	if out, _, code := c.run("", "doctor"); code != exitUserMust || !strings.Contains(out, "Profile lost has no client secret") {
		t.Errorf("doctor with a profile lacking its secret: exit %d, %q", code, out)
	}
}

// doctor works on the secrets file the same way.
func TestDoctorSecretsFile(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	env = append(privateKeyring(t, env), store.DefaultPassphraseEnv+"=doctor-passphrase")
	c := newCLI(t, env, "owned-secret", "doctor-passphrase")
	c.must("", "secrets", "file")
	c.must("owned-secret\n", "add", "prod", "--client-key", "k")
	c.must("owned-secret\n", "add", "gone", "--client-key", "k")
	cfgPath := filepath.Join(configHome(env), "tokentray", "config.json")
	cfg, _ := store.Load(cfgPath)
	cfg.Remove("gone")
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	if out, _, code := c.run("", "doctor"); code != exitUserMust || !strings.Contains(out, "gone/client-secret") || !strings.Contains(out, "secrets.enc") {
		t.Errorf("doctor on the file: exit %d, %q", code, out)
	}
	c.must("", "doctor", "--delete")
	if out := c.must("", "doctor"); !strings.Contains(out, "No orphans") {
		t.Errorf("doctor after deleting says %q", out)
	}
	if _, _, code := newCLI(t, withoutVar(env, store.DefaultPassphraseEnv)).run("", "doctor"); code != exitUserMust {
		t.Errorf("doctor on the file without the passphrase: exit %d, want %d", code, exitUserMust)
	}
}

// `tokentray secrets` moves nothing while the window is open, and asking
// does not bring the window up; nor does it delete the only copy of a
// secret when the config names the wrong place, and it says which entries
// it left.
func TestSecretsRefusals(t *testing.T) { // not parallel: it sets XDG_RUNTIME_DIR
	env, runtimeDir := desktop(t)
	env = privateKeyring(t, withoutVar(env, store.DefaultPassphraseEnv))
	const passphrase = "correct horse battery staple"
	env = append(env, store.DefaultPassphraseEnv+"="+passphrase)
	c := newCLI(t, env, "secret-only-in-file")
	c.must("secret-only-in-file\n", "add", "p", "--url", "https://api.example.com", "--client-key", "k")
	c.must("", "secrets", "file")

	// The config restored from a backup of before the move: it names the
	// keychain, which no longer has the secret.
	configPath := filepath.Join(configHome(env), "tokentray", "config.json")
	cfg, err := store.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Settings.Secrets = ""
	if err := cfg.Save(configPath); err != nil {
		t.Fatal(err)
	}
	vaultPath := filepath.Join(configHome(env), "tokentray", "secrets.enc")
	before, err := os.ReadFile(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := c.run("", "secrets", "keychain"); code != exitError || !strings.Contains(stderr, "p/client-secret") || !strings.Contains(stderr, `"secrets": "file"`) {
		t.Errorf("secrets keychain with the secret in the file alone: exit %d, %q; want %d naming the entry left and what to set", code, stderr, exitError)
	}
	if after, err := os.ReadFile(vaultPath); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the secrets file changed (%v)", err)
	}

	t.Setenv("XDG_RUNTIME_DIR", runtimeDir) // where the CLI looks for the window
	shown := make(chan struct{}, 1)
	ln, err := localapi.ListenGUI(func() { shown <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, stderr, code := c.run("", "secrets", "file"); code != exitError || !strings.Contains(stderr, "window is open") {
		t.Errorf("secrets file with the window open: exit %d, %q; want %d saying to close the window", code, stderr, exitError)
	}
	select {
	case <-shown:
		t.Error("asking whether the window is open showed it")
	case <-time.After(2 * time.Second):
	}
}
