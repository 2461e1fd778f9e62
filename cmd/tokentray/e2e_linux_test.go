package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

// desktop returns the environment for the tokentray processes of one test:
// the session's bus, keyring and display, with config and runtime dirs of
// its own. It skips outside a desktop session and fails inside one that is
// broken, so `make test` can never skip it silently.
func desktop(t testing.TB) (env []string, runtimeDir string) {
	t.Helper()
	testkit.RequireDesktop(t, testkit.Display|testkit.SessionBus)
	dir := t.TempDir()
	runtimeDir = filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR="+runtimeDir,
	)
	return env, runtimeDir
}

// sessionUI is held by the tests that use the X clipboard, which the
// desktop session has one of. The other tests run beside them; those
// standing in for the tray watcher or the notification service do so on a
// private bus, where no other test's agent registers or notifies.
var sessionUI sync.Mutex

// exclusive keeps the other tests that call it waiting until t has ended.
func exclusive(t *testing.T) {
	sessionUI.Lock()
	t.Cleanup(sessionUI.Unlock)
}

// trayDesktop is the desktop for a test that plays the panel: the session's
// X clipboard held by it alone, and a bus and keyring of its own, so that
// the tray watcher and notification service it stands in for see its
// agent alone.
func trayDesktop(t *testing.T) (env []string, runtimeDir string) {
	t.Helper()
	exclusive(t)
	env, runtimeDir = desktop(t)
	return privateKeyring(t, env), runtimeDir
}

// startAgent starts `tokentray agent` and waits until its LocalAPI answers.
func startAgent(t testing.TB, env []string, runtimeDir string) (*exec.Cmd, *localapi.Client) {
	t.Helper()
	cmd, client, _ := startAgentLogged(t, env, runtimeDir)
	return cmd, client
}

// startAgentLogged is startAgent that also gives the agent's log as it
// grows.
func startAgentLogged(t testing.TB, env []string, runtimeDir string) (*exec.Cmd, *localapi.Client, *testkit.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, "agent")
	cmd.Env = env
	logs := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := localapi.NewClient(filepath.Join(runtimeDir, "tokentray", "agent.sock"))
	t.Cleanup(func() {
		_ = client.Quit(context.Background())
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("the agent did not quit when asked")
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", logs.String())
		}
	})
	if !testkit.Poll(testkit.Patience, func() bool { _, err := client.Status(context.Background()); return err == nil }) {
		t.Fatalf("the agent's LocalAPI did not answer; output:\n%s", logs.String())
	}
	return cmd, client, logs
}

// waitLog waits until the log holds line want more than n times, and
// returns how often it then does.
func waitLog(t *testing.T, logs *testkit.SyncBuffer, want string, n int) int {
	t.Helper()
	var c int
	testkit.Eventually(t, fmt.Sprintf("the agent to log %q", want), func() bool { c = strings.Count(logs.String(), want); return c > n })
	return c
}

// waitClipboard reports whether the clipboard comes to hold want.
func waitClipboard(t *testing.T, want string) bool {
	t.Helper()
	return testkit.Poll(10*time.Second, func() bool { return readClipboard(t) == want })
}

func readClipboard(t *testing.T) string {
	t.Helper()
	return readClipboardAs(t, "")
}

// readClipboardAs reads the clipboard as target (xclip's default when
// empty); "" when nobody owns it or it has no such target.
func readClipboardAs(t *testing.T, target string) string {
	t.Helper()
	args := []string{"-o", "-selection", "clipboard"}
	if target != "" {
		args = append(args, "-t", target)
	}
	out, err := exec.Command("xclip", args...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// copyElsewhere puts text on the clipboard as another application would.
func copyElsewhere(t *testing.T, text string) {
	t.Helper()
	other := exec.Command("xclip", "-i", "-selection", "clipboard")
	other.Stdin = strings.NewReader(text)
	if err := other.Run(); err != nil {
		t.Fatal(err)
	}
	// xclip claims the selection from a child it forks: wait for it, or it
	// may take the clipboard back after the agent's next copy.
	if !waitClipboard(t, text) {
		t.Fatal("xclip did not take the clipboard")
	}
}

// TestCopyTokenFromTray is the walking skeleton end to end: a profile added
// with the CLI, the agent's tray clicked over D-Bus as a panel does, the
// token read back from the X clipboard and checked against the server that
// issued it; the CLI then gets the same token through the LocalAPI.
func TestCopyTokenFromTray(t *testing.T) {
	t.Parallel()
	env, runtimeDir := trayDesktop(t)
	server := authtest.NewIdentityServer("key-e2e", "secret-e2e")
	defer server.Close()

	_, stderr, code := tokentray(t, env, "secret-e2e\n", "add", "work", "--flow", "identity", "--url", server.URL, "--client-key", "key-e2e")
	if code != 0 {
		t.Fatalf("add exited %d: %s", code, stderr)
	}

	w := startWatcher(t, env)
	cmd, client := startAgent(t, env, runtimeDir)
	tray := findTray(t, env, cmd.Process.Pid, 20*time.Second)
	if _, ok := tray.find(t, "work/Copy token"); !ok {
		t.Fatalf("the tray has no work/Copy token; top level: %q", tray.labels(t))
	}
	for _, label := range []string{"Open Tokentray", "Quit"} {
		if _, ok := tray.find(t, label); !ok {
			t.Errorf("the tray has no %q entry; top level: %q", label, tray.labels(t))
		}
	}
	if w.count() == 0 {
		t.Error("the agent did not register its icon with the StatusNotifierWatcher")
	}

	tray.click(t, "work/Copy token")
	var copied string
	testkit.Poll(testkit.Patience, func() bool { copied = readClipboard(t); return copied != "" })
	if !server.Accepts(copied) {
		t.Fatalf("the clipboard holds %d bytes that the server did not issue or no longer accepts", len(copied))
	}

	// Without a session bus the CLI cannot read the keychain itself, so a
	// token here proves it came through the agent's LocalAPI.
	noKeychain := append(env[:len(env):len(env)], "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
	stdout, stderr, code := tokentray(t, noKeychain, "", "token", "work")
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	if got := strings.TrimSuffix(stdout, "\n"); got != copied {
		t.Errorf("tokentray token printed a different token than the tray copied")
	}
	if n := server.Acquires(); n != 1 {
		t.Errorf("the server saw %d token requests, want 1: the agent should reuse its token", n)
	}

	// The window's Copy token goes through the agent, which owns the
	// clipboard after the window has closed.
	copyElsewhere(t, "something else")
	resp, err := client.Copy(context.Background(), "work")
	if err != nil || resp.AccessToken != "" {
		t.Fatalf("POST /v1/copy: %v; the answer must not carry the token", err)
	}
	if !waitClipboard(t, copied) {
		t.Errorf("after /v1/copy the clipboard does not hold the token")
	}

	stdout, _, code = tokentray(t, env, "", "agent")
	if code != 0 || !strings.Contains(stdout, "already running") {
		t.Errorf("a second agent exited %d saying %q; want 0 and that one is already running", code, stdout)
	}
}

// TestTokenWithoutAgent takes the CLI's direct path: the keychain, the
// server, and the token persisted for the next call.
func TestTokenWithoutAgent(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	_, server := identityProfiles(t, env, "key-cli", "secret-cli", "cli")
	first, stderr, code := tokentray(t, env, "", "token", "cli")
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	if !server.Accepts(strings.TrimSuffix(first, "\n")) {
		t.Fatal("the printed token is not one the server accepts")
	}
	second, _, _ := tokentray(t, env, "", "token", "cli")
	if second != first || server.Acquires() != 1 {
		t.Errorf("a second call should reuse the stored token: same=%v, server requests=%d", second == first, server.Acquires())
	}
	if strings.Contains(first+stderr, "secret-cli") {
		t.Error("the client secret appears in the output")
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	server := authtest.NewIdentityServer("key-x", "right-secret")
	defer server.Close()
	if _, stderr, code := tokentray(t, env, "wrong-secret\n", "add", "bad", "--url", server.URL, "--client-key", "key-x"); code != 0 {
		t.Fatalf("add exited %d: %s", code, stderr)
	}
	stdout, stderr, code := tokentray(t, env, "", "token", "bad")
	if code != exitUserMust || stdout != "" {
		t.Errorf("rejected credentials: exit %d, stdout %q; want %d and nothing", code, stdout, exitUserMust)
	}
	if strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "wrong-secret") {
		t.Errorf("want one line on stderr without the secret, got %q", stderr)
	}
	_, stderr, code = tokentray(t, env, "", "token", "nosuch")
	if code != exitError || !strings.Contains(stderr, "bad") {
		t.Errorf("unknown profile: exit %d, %q; want %d naming the known profile", code, stderr, exitError)
	}
	_, _, code = tokentray(t, env, "", "add", "x", "--url", "http://example.com", "--client-key", "k")
	if code != exitUsage {
		t.Errorf("plain http to a remote host: exit %d, want %d", code, exitUsage)
	}
}

// TestTray drives the tray as a panel and a person would, with two profiles
// on the two flows against the loopback fakes: status lines and icon through
// valid, retrying and needs-you, one notification, both copies read back
// with xclip along with the password-manager hint, the clipboard cleared
// after the delay but not over someone else's copy, Refresh now, and Quit.
func TestTray(t *testing.T) {
	t.Parallel()
	env, runtimeDir := trayDesktop(t)
	identity := authtest.NewIdentityServer("key-tray", "secret-tray")
	defer identity.Close()
	web := authtest.NewWebServer("client-tray", "secret-web", "session-web")
	defer web.Close()
	for _, add := range []struct{ stdin, args string }{
		{"secret-tray\n", "add ident --url " + identity.URL + " --client-key key-tray"},
		{"secret-web\nsession-web\n", "add webby --flow web --url " + web.URL + " --client-id client-tray"},
	} {
		if _, stderr, code := tokentray(t, env, add.stdin, strings.Fields(add.args)...); code != 0 {
			t.Fatalf("%s exited %d: %s", add.args, code, stderr)
		}
	}
	setClipboardClear(t, env, 2)

	startWatcher(t, env)
	notes := startNotifications(t, env)
	cmd, client, logs := startAgentLogged(t, env, runtimeDir)
	events := recordEvents(t, client)
	tray := findTray(t, env, cmd.Process.Pid, 20*time.Second)
	icons := map[string][]byte{"valid": assets.TrayValid, "retrying": assets.TrayRetrying, "needs you": assets.TrayNeedsYou}

	valid := regexp.MustCompile(`^Valid · expires in 5\d min$`).MatchString
	for _, profile := range []string{"ident", "webby"} {
		tray.waitStatus(t, profile, 20*time.Second, valid)
		if _, disabled := tray.status(t, profile); !disabled {
			t.Errorf("the status line of %s can be clicked", profile)
		}
		for _, entry := range []string{"Copy token", "Copy Authorization header", "Refresh now"} {
			if _, ok := tray.find(t, profile+"/"+entry); !ok {
				t.Errorf("the tray has no %s/%s", profile, entry)
			}
		}
	}
	for _, entry := range []string{"Open Tokentray", "Quit"} {
		if _, ok := tray.find(t, entry); !ok {
			t.Errorf("the tray has no %q; top level: %q", entry, tray.labels(t))
		}
	}
	tray.waitIcon(t, "valid", icons)

	t.Run("copy token, marked secret, cleared after the delay", func(t *testing.T) {
		clicked := time.Now()
		tray.click(t, "ident/Copy token")
		token := waitClipboardMatch(t, func(s string) bool { return s != "" })
		if !identity.Accepts(token) {
			t.Fatalf("the clipboard holds %d bytes that the identity server did not issue", len(token))
		}
		targets := strings.Fields(readClipboardAs(t, "TARGETS"))
		for _, target := range []string{"UTF8_STRING", "STRING", "TEXT", "text/plain;charset=utf-8"} {
			if !slices.Contains(targets, target) {
				t.Errorf("TARGETS %q lacks %s", targets, target)
			} else if got := readClipboardAs(t, target); got != token {
				t.Errorf("as %s the clipboard holds %d bytes, not the token", target, len(got))
			}
		}
		if !slices.Contains(targets, "x-kde-passwordManagerHint") {
			t.Errorf("TARGETS %q lacks x-kde-passwordManagerHint", targets)
		}
		if hint := readClipboardAs(t, "x-kde-passwordManagerHint"); hint != "secret" {
			t.Errorf("x-kde-passwordManagerHint is %q, want secret", hint)
		}
		waitClipboardMatch(t, func(s string) bool { return s == "" })
		if after := time.Since(clicked); after < 2*time.Second {
			t.Errorf("the clipboard was cleared %s after the click, before the 2 s delay", after)
		}
	})

	t.Run("copy header, left alone after another copy", func(t *testing.T) {
		tray.click(t, "webby/Copy Authorization header")
		header := waitClipboardMatch(t, func(s string) bool { return s != "" })
		token, ok := strings.CutPrefix(header, "Authorization: Bearer ")
		if !ok || !web.Accepts(token) {
			t.Fatalf("the clipboard holds %q…, not an Authorization header line with a token the web server issued", header[:min(len(header), 22)])
		}
		copyElsewhere(t, "something of mine")
		waitLog(t, logs, "left the clipboard alone", 0)
		if got := readClipboard(t); got != "something of mine" {
			t.Errorf("the clipboard holds %q, want what was copied after the token", got)
		}
	})

	t.Run("refresh now", func(t *testing.T) {
		before := identity.Refreshes()
		tray.click(t, "ident/Refresh now")
		testkit.Eventually(t, "the identity server to see a refresh", func() bool { return identity.Refreshes() > before })
		tray.waitStatus(t, "ident", 20*time.Second, valid)
	})

	t.Run("retrying", func(t *testing.T) {
		// Three refusals in a row, retried after about 1, 2 and 4 s.
		web.FailNext(3, authtest.Fault{Status: http.StatusServiceUnavailable})
		tray.click(t, "webby/Refresh now")
		line := tray.waitStatus(t, "webby", 20*time.Second, func(s string) bool { return strings.HasPrefix(s, "Retrying ") })
		if !regexp.MustCompile(`^Retrying (in \d+ s|now): .*503`).MatchString(line) {
			t.Errorf("status line %q", line)
		}
		tray.waitIcon(t, "retrying", icons)
		tray.waitStatus(t, "webby", 30*time.Second, valid)
		tray.waitIcon(t, "valid", icons)
	})

	t.Run("needs you, one notification", func(t *testing.T) {
		// The refresh refused, then the credentials too.
		reject := authtest.Fault{Status: http.StatusUnauthorized, Body: []byte(`{"message":"client secret rejected"}`)}
		identity.FailNext(2, reject)
		tray.click(t, "ident/Refresh now")
		line := tray.waitStatus(t, "ident", 20*time.Second, func(s string) bool { return strings.HasPrefix(s, "Needs you: ") })
		if !strings.Contains(line, "client secret rejected") {
			t.Errorf("status line %q does not say why", line)
		}
		tray.waitIcon(t, "needs you", icons)
		testkit.Eventually(t, "a notification", func() bool { return len(notes.all()) > 0 })
		if n := notes.all()[0]; !strings.Contains(n, "ident needs you") || strings.Contains(n, "secret-tray") {
			t.Errorf("notification %q should name ident and hold no secret", n)
		}

		// Refused again: no news. A refresh that then succeeds proves the
		// second refusal was handled before the count is read.
		needs := events.count("ident", auth.StateNeedsUser)
		identity.FailNext(2, reject)
		tray.click(t, "ident/Refresh now")
		testkit.Eventually(t, "the second refusal", func() bool { return events.count("ident", auth.StateNeedsUser) > needs })
		tray.click(t, "ident/Refresh now")
		tray.waitStatus(t, "ident", 20*time.Second, valid)
		tray.waitIcon(t, "valid", icons)
		if n := len(notes.all()); n != 1 {
			t.Errorf("%d notifications, want 1: %q", n, notes.all())
		}
	})

	t.Run("quit clears the clipboard", func(t *testing.T) {
		tray.click(t, "webby/Copy token")
		waitClipboardMatch(t, func(s string) bool { return web.Accepts(s) })
		tray.click(t, "Quit")
		testkit.Eventually(t, "the agent to quit", func() bool {
			_, err := client.Status(context.Background())
			return errors.Is(err, localapi.ErrNotRunning)
		})
		waitClipboardMatch(t, func(s string) bool { return s == "" })
	})
}

// setClipboardClear sets clipboard_clear_seconds in the config of env.
func setClipboardClear(t *testing.T, env []string, seconds int) {
	t.Helper()
	var configHome string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok {
			configHome = v
		}
	}
	path := filepath.Join(configHome, "tokentray", "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["settings"] = map[string]any{"clipboard_clear_seconds": seconds}
	if data, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitClipboardMatch waits until the clipboard holds something ok accepts,
// and returns it.
func waitClipboardMatch(t *testing.T, ok func(string) bool) string {
	t.Helper()
	var got string
	testkit.Eventually(t, "the clipboard", func() bool { got = readClipboard(t); return ok(got) })
	return got
}

// eventLog records the agent's event stream.
type eventLog struct {
	mu     sync.Mutex
	events []auth.Event
}

func recordEvents(t *testing.T, client *localapi.Client) *eventLog {
	ctx, cancel := context.WithCancel(context.Background())
	l := &eventLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.Events(ctx, func(e auth.Event) {
			l.mu.Lock()
			l.events = append(l.events, e)
			l.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// count is how many events put profile in state.
func (l *eventLog) count(profile string, state auth.State) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Profile == profile && e.State == state {
			n++
		}
	}
	return n
}

// TestClipboardLargeValue copies values far larger than a token of today
// through the agent's X11 clipboard, and one too large for a single X
// request, which must fail saying so rather than paste something cut.
func TestClipboardLargeValue(t *testing.T) {
	t.Parallel()
	exclusive(t)
	desktop(t)
	clip := &clipboard.Clipboard{}
	defer clip.Close()
	for _, size := range []int{16 << 10, 200 << 10} {
		value := strings.Repeat("eyJhbGciOiJIUzI1NiJ9.", size/21+1)[:size]
		if err := clip.Write(value, 0); err != nil {
			t.Fatalf("copying %d bytes: %v", size, err)
		}
		if got := readClipboard(t); got != value {
			t.Errorf("pasted %d bytes of the %d copied", len(got), size)
		}
	}
	if err := clip.Write(strings.Repeat("x", 1<<20), 0); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("copying 1 MB: %v, want an error saying it is too large", err)
	}
}
