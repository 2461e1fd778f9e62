package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

// cli runs tokentray like tokentray(t, …) and keeps every output, so that
// a test can check at its end that no secret was ever printed.
type cli struct {
	t       *testing.T
	env     []string
	outputs []string
}

// newCLI returns a runner for env that, when the test ends, fails it if
// any output contains one of secrets.
func newCLI(t *testing.T, env []string, secrets ...string) *cli {
	c := &cli{t: t, env: env}
	t.Cleanup(func() {
		for _, out := range c.outputs {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("a secret (%d bytes, starting %.4q) appears in the output %.80q", len(s), s, out)
				}
			}
		}
	})
	return c
}

func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	stdout, stderr, code = tokentray(c.t, c.env, stdin, args...)
	c.outputs = append(c.outputs, stdout, stderr)
	return stdout, stderr, code
}

// must runs tokentray and fails the test unless it exits 0.
func (c *cli) must(stdin string, args ...string) (stdout string) {
	c.t.Helper()
	stdout, stderr, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("tokentray %q exited %d: %s", args, code, stderr)
	}
	return stdout
}

// list runs `tokentray list --json` and returns the entries by name.
func (c *cli) list() map[string]listEntry {
	c.t.Helper()
	var entries []listEntry
	if err := json.Unmarshal([]byte(c.must("", "list", "--json")), &entries); err != nil {
		c.t.Fatalf("list --json: %v", err)
	}
	byName := map[string]listEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	return byName
}

// identityProfiles starts an identity fake that accepts key and secret,
// adds each of names as a profile of it with the CLI, and returns both; the
// CLI fails t should the secret appear in its output.
func identityProfiles(t *testing.T, env []string, key, secret string, names ...string) (*cli, *authtest.IdentityServer) {
	t.Helper()
	server := authtest.NewIdentityServer(key, secret)
	t.Cleanup(server.Close)
	c := newCLI(t, env, secret)
	for _, name := range names {
		c.must(secret+"\n", "add", name, "--url", server.URL, "--client-key", key)
	}
	return c, server
}

// TestTokenHeaderAndList gets a token, as a header line too, and checks
// what list says of each profile without and with the agent.
func TestTokenHeaderAndList(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	c, server := identityProfiles(t, env, "key-list", "secret-list", "list-a", "list-b", "list-c")

	access := strings.TrimSuffix(c.must("", "token", "list-a"), "\n")
	if !server.Accepts(access) {
		t.Fatal("token printed a token the server does not accept")
	}
	if got := c.must("", "token", "--header", "list-a"); got != "Authorization: Bearer "+access+"\n" {
		t.Errorf("token --header printed %.40q…, want the Authorization header line", got)
	}
	// A record past its expiry, as a machine that slept overnight has.
	if err := (store.Keychain{}).SaveToken("list-c", auth.Token{AccessToken: "old", Expiry: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	check := func(when string, want map[string]string) {
		t.Helper()
		got := c.list()
		for name, state := range want {
			e := got[name]
			if e.State != state || e.Flow != "identity" || e.BaseURL != server.URL {
				t.Errorf("%s: list says %s is %+v, want state %q, flow identity, %s", when, name, e, state, server.URL)
			}
			if state == "valid" && !e.Expiry.After(time.Now()) {
				t.Errorf("%s: %s is valid with expiry %v", when, name, e.Expiry)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: list has %d profiles, want %d", when, len(got), len(want))
		}
	}
	check("without agent", map[string]string{"list-a": "valid", "list-b": "none", "list-c": "expired"})
	text := c.must("", "list")
	if !strings.HasPrefix(text, "NAME") || !strings.Contains(text, "list-b") || strings.Contains(text, access) {
		t.Errorf("list printed %q; want a table of the profiles without tokens", text)
	}

	// With the agent, list shows what the agent holds: it keeps every
	// profile fresh, the expired one too. Without a session bus the CLI
	// cannot read the keychain itself, so these states come from the agent.
	startAgent(t, env, runtimeDir)
	c = newCLI(t, append(env[:len(env):len(env)], "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent"), "secret-list")
	// The agent refreshes the three in turn: wait for all of them.
	testkit.Poll(testkit.Patience, func() bool {
		got := c.list()
		return got["list-a"].State == "valid" && got["list-b"].State == "valid" && got["list-c"].State == "valid"
	})
	check("with the agent", map[string]string{"list-a": "valid", "list-b": "valid", "list-c": "valid"})
	if got := strings.TrimSuffix(c.must("", "token", "list-c"), "\n"); !server.Accepts(got) {
		t.Error("the agent's token is not one the server accepts")
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	c, server := identityProfiles(t, env, "key-exec", "secret-exec", "exec")

	t.Run("environment", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		// The child writes the token to a file, so that nothing printed
		// holds it unless tokentray printed it.
		script := `printf %s "$TOKENTRAY_TOKEN" >"$1"; echo "profile=$TOKENTRAY_PROFILE"; cat`
		stdout, stderr, code := tokentray(t, env, "from stdin", "exec", "exec", "--", "sh", "-c", script, "sh", file)
		if code != 0 || stdout != "profile=exec\nfrom stdin" {
			t.Errorf("exec: exit %d, the child printed %q; want 0, its profile and then its standard input", code, stdout)
		}
		checkChildToken(t, file, server, stdout+stderr)
	})

	// With the passphrase and secrets.enc a child would hold every secret:
	// neither the default variable nor the one the settings name reaches it.
	t.Run("no passphrase", func(t *testing.T) {
		config := filepath.Join(configHome(env), "tokentray", "config.json")
		if err := store.UpdateConfig(config, func(c *store.Config) error {
			c.Settings.PassphraseEnv = "MY_VAULT_PASS"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		withPass := append(env[:len(env):len(env)], store.DefaultPassphraseEnv+"=default passphrase", "MY_VAULT_PASS=named passphrase", "UNRELATED=kept")
		stdout, stderr, code := newCLI(t, withPass, "secret-exec", "default passphrase", "named passphrase").run("", "exec", "exec", "--", "env")
		if code != 0 {
			t.Fatalf("exec env: exit %d: %s", code, stderr)
		}
		if strings.Contains(stdout, store.DefaultPassphraseEnv+"=") || strings.Contains(stdout, "MY_VAULT_PASS=") {
			t.Error("the child's environment holds a passphrase variable")
		}
		if !strings.Contains(stdout, "UNRELATED=kept\n") {
			t.Error("exec dropped a variable that holds no passphrase")
		}
	})

	t.Run("exit status", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want int
		}{
			{[]string{"sh", "-c", "exit 7"}, 7},
			{[]string{"sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM)},
			{[]string{"/nonexistent/command"}, exitNotFound},
		} {
			if _, stderr, code := c.run("", append([]string{"exec", "exec", "--"}, tc.args...)...); code != tc.want {
				t.Errorf("exec %q: exit %d (%s), want %d", tc.args, code, stderr, tc.want)
			}
		}
		if _, _, code := c.run("", "exec", "exec"); code != exitUsage {
			t.Errorf("exec without a command: exit %d, want %d", code, exitUsage)
		}
	})

	t.Run("signal", func(t *testing.T) {
		cmd := exec.Command(binary, "exec", "exec", "--", "sh", "-c", `trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done`)
		cmd.Env = env
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
			t.Fatalf("the child did not start: %q, %v", line, err)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("tokentray exec did not end after SIGTERM")
		}
		if code := cmd.ProcessState.ExitCode(); code != 42 {
			t.Errorf("after SIGTERM tokentray exited %d (%v), want the child's 42: the signal was not forwarded", code, cmd.ProcessState)
		}
	})
}

// TestAddWebAndRemove adds a web grant profile, then removes it: its
// access token is revoked at the server, which issues no refresh token as
// Polar does, and every keychain entry goes.
func TestAddWebAndRemove(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	const secret, session = "web-client-secret", "web-session-token"
	const sub = "0b0cbd7c-7a8f-4d8b-9b35-3c1a2d4f5e6a"
	server := authtest.NewWebServer("client-web", secret, session)
	defer server.Close()
	c := newCLI(t, env, secret, session)

	webArgs := []string{"add", "web", "--flow", "web", "--url", server.URL, "--client-id", "client-web"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sub-type", "organization", "--sub", "not-a-uuid"}, "--sub"},
		{[]string{"--sub-type", "organization", "--sub", "0b0cbd7c-7a8f-1d8b-9b35-3c1a2d4f5e6a"}, "--sub"}, // version 1
		// uuid.Parse takes these forms; Polar does not.
		{[]string{"--sub-type", "organization", "--sub", "{" + sub + "}"}, "--sub"},
		{[]string{"--sub-type", "organization", "--sub", "urn:uuid:" + sub}, "--sub"},
		{[]string{"--sub-type", "organization", "--sub", "0b0cbd7c-7a8f-4d8b-1b35-3c1a2d4f5e6a"}, "--sub"}, // not the RFC 4122 variant
		// Polar answers 400 invalid_request to both.
		{[]string{"--sub", sub}, "--sub"},
		{[]string{"--sub-type", "organization"}, "--sub"},
		{[]string{"--sub-type", "team"}, "--sub-type"},
		{[]string{"--client-key", "k"}, "--client-key"},
		{[]string{"--url", "http://example.com"}, "https"},
	} {
		_, stderr, code := c.run(secret+"\n"+session+"\n", append(webArgs, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("add %q: exit %d, %q; want %d and one line about %s", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	if _, stderr, code := c.run(secret+"\n", webArgs...); code != exitUsage || !strings.Contains(stderr, "session token") {
		t.Errorf("add web without a session token: exit %d, %q; want %d", code, stderr, exitUsage)
	}

	c.must(secret+"\n"+session+"\n", append(webArgs, "--sub-type", "organization", "--sub", sub, "--scope", "openid  profile")...)
	k := store.Keychain{}
	if got, err := k.SessionToken("web"); err != nil || got != session {
		t.Fatalf("the session token in the keychain is %d bytes (%v), want the second line", len(got), err)
	}
	cfg, err := store.Load(filepath.Join(configHome(env), "tokentray", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Profile("web")
	if p.Flow != store.FlowWeb || p.ClientID != "client-web" || p.SubType != "organization" || p.Sub != sub || p.Scope != "openid profile" {
		t.Errorf("saved profile %+v", p)
	}
	if e := c.list()["web"]; e.Flow != "web" || e.BaseURL != server.URL || e.State != "none" {
		t.Errorf("list says %+v", e)
	}

	// A grant as the agent would have stored it, to be revoked.
	flow := &auth.WebGrantFlow{BaseURL: server.URL, ClientID: "client-web", ClientSecret: secret, SessionToken: session}
	tok, err := flow.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("web", tok); err != nil {
		t.Fatal(err)
	}
	c.must("secret\n", "add", "other", "--url", "https://api.nfl.com", "--client-key", "k")
	startAgent(t, env, runtimeDir)

	if _, stderr, code := c.run("", "remove", "nosuch"); code != exitError || !strings.Contains(stderr, "known profiles are other, web") {
		t.Errorf("remove nosuch: exit %d, %q; want %d naming the known profiles", code, stderr, exitError)
	}
	c.must("", "remove", "web")
	if server.Revocations() != 1 || server.ValidAccessTokens() != 0 {
		t.Errorf("the server saw %d revocations and has %d access tokens valid, want 1 and none", server.Revocations(), server.ValidAccessTokens())
	}
	for _, get := range []func(string) (string, error){k.ClientSecret, k.SessionToken} {
		if _, err := get("web"); err == nil {
			t.Error("a secret of the removed profile is still in the keychain")
		}
	}
	if _, found, _ := k.LoadToken("web"); found {
		t.Error("the token record of the removed profile is still in the keychain")
	}
	if got := c.list(); len(got) != 1 || got["other"].Name == "" {
		t.Errorf("after remove, list has %v; want only other", got)
	}
	if _, stderr, code := c.run("", "token", "web"); code != exitError || !strings.Contains(stderr, "other") {
		t.Errorf("token of the removed profile through the agent: exit %d, %q; want %d naming the known profiles", code, stderr, exitError)
	}
	for _, out := range c.outputs {
		// Polar's web grant has no refresh token.
		if strings.Contains(out, tok.AccessToken) || tok.RefreshToken != "" && strings.Contains(out, tok.RefreshToken) {
			t.Errorf("a token of the web profile appears in the output %.80q", out)
		}
	}
}

// TestAddSignedInIdentity adds a signed-in identity profile and checks
// that its acquire and refresh carry the uid, the signature timestamp and
// the uid signature read from the second line of standard input, which no
// output may show.
func TestAddSignedInIdentity(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	const secret, signature = "secret-signed-in", "uid-signature-5e0b91c4"
	const uid, timestamp = "uid-8841", "1718000000"
	server := authtest.NewIdentityServer("key-signed-in", secret)
	defer server.Close()
	c := newCLI(t, env, secret, signature)

	args := []string{"add", "signed-in", "--url", server.URL, "--client-key", "key-signed-in"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--uid", uid}, "--signature-timestamp"},
		{[]string{"--signature-timestamp", timestamp}, "--uid"},
		{[]string{"--uid", uid, "--signature-timestamp", "17e8"}, "--signature-timestamp"},
	} {
		_, stderr, code := c.run(secret+"\n"+signature+"\n", append(args, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("add %q: exit %d, %q; want %d and one line about %s", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	webArgs := []string{"add", "web", "--flow", "web", "--url", server.URL, "--client-id", "id", "--uid", uid}
	if _, stderr, code := c.run(secret+"\n"+signature+"\n", webArgs...); code != exitUsage || !strings.Contains(stderr, "--uid does not apply to --flow web") {
		t.Errorf("add --flow web --uid: exit %d, %q; want %d refusing --uid", code, stderr, exitUsage)
	}
	args = append(args, "--uid", uid, "--signature-timestamp", timestamp)
	if _, stderr, code := c.run(secret+"\n", args...); code != exitUsage || !strings.Contains(stderr, "uid signature") {
		t.Errorf("add --uid without a uid signature: exit %d, %q; want %d", code, stderr, exitUsage)
	}

	c.must(secret+"\n"+signature+"\n", args...)
	if got, err := (store.Keychain{}).UIDSignature("signed-in"); err != nil || got != signature {
		t.Fatalf("the uid signature in the keychain is %d bytes (%v), want the second line", len(got), err)
	}

	// A token within the two-minute refresh margin from the start, so that
	// the second `token` refreshes it.
	server.SetLifetime(90 * time.Second)
	c.must("", "token", "signed-in")
	c.must("", "token", "signed-in")
	if server.Acquires() != 1 || server.Refreshes() != 1 {
		t.Fatalf("the server saw %d acquires and %d refreshes, want 1 and 1", server.Acquires(), server.Refreshes())
	}
	// Acquire and refresh alike carry the account, or the token is an
	// anonymous one.
	for _, req := range server.Requests() {
		if b := req.Body; b.UID != uid || b.SignatureTimestamp != timestamp || b.UIDSignature != signature {
			t.Errorf("%s sent uid %q, signatureTimestamp %q and a %d-byte uidSignature; want %q, %q and the one added",
				req.Path, b.UID, b.SignatureTimestamp, len(b.UIDSignature), uid, timestamp)
		}
	}
}

// TestErrors covers the failures a script meets: each one line on stderr
// and the documented exit code.
func TestErrors(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	server := authtest.NewIdentityServer("key-err", "right-secret")
	defer server.Close()
	gone := authtest.NewIdentityServer("key-err", "right-secret")
	gone.Close()
	c := newCLI(t, env, "right-secret", "wrong-secret")
	c.must("wrong-secret\n", "add", "rejected", "--url", server.URL, "--client-key", "key-err")
	c.must("right-secret\n", "add", "unreachable", "--url", gone.URL, "--client-key", "key-err")

	expect := func(c *cli, args []string, want int, says ...string) {
		t.Helper()
		stdout, stderr, code := c.run("", args...)
		if code != want || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("tokentray %q: exit %d, stdout %q, stderr %q; want exit %d, one line on stderr", args, code, stdout, stderr, want)
		}
		for _, s := range says {
			if !strings.Contains(stderr, s) {
				t.Errorf("tokentray %q says %q, which does not mention %q", args, stderr, s)
			}
		}
	}
	noKeychain := newCLI(t, append(env[:len(env):len(env)], "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent"))
	for _, agent := range []bool{false, true} {
		if agent {
			startAgent(t, env, runtimeDir)
		} else {
			expect(noKeychain, []string{"token", "rejected"}, exitError, `service "tokentray"`, "unlock")
			expect(noKeychain, []string{"list"}, exitError, "unlock")
		}
		expect(c, []string{"token", "rejected"}, exitUserMust, "401", "tokentray add rejected")
		expect(c, []string{"exec", "rejected", "--", "true"}, exitUserMust, "tokentray add rejected")
		expect(c, []string{"token", "unreachable"}, exitError, "refused")
		expect(c, []string{"token", "nosuch"}, exitError, "rejected, unreachable")
		expect(c, []string{"exec", "nosuch", "--", "true"}, exitError, "rejected, unreachable")
	}
	expect(c, []string{"help", "nosuch"}, exitUsage, "nosuch")
	if out := c.must("", "help", "exec"); !strings.Contains(out, "TOKENTRAY_TOKEN") {
		t.Errorf("help exec says %q", out)
	}
}

// configHome is the XDG_CONFIG_HOME of env.
func configHome(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "XDG_CONFIG_HOME="); ok {
			return v
		}
	}
	return ""
}
