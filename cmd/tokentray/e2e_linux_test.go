package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth/authtest"
)

// desktop returns the environment for the tokentray processes of one test:
// the session's bus, keyring and display, with config and runtime dirs of
// its own. It skips outside a desktop session and fails inside one that is
// broken, so `make test` can never skip it silently.
func desktop(t testing.TB) (env []string, runtimeDir string) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" || os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("TOKENTRAY_DESKTOP_SESSION") == "1" {
			t.Fatal("inside .ci/desktop-session but DISPLAY or the session bus is missing")
		}
		t.Skip("needs a desktop session: run through .ci/desktop-session (make test does)")
	}
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

// tokentray runs the built executable to completion.
func tokentray(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running tokentray %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// startAgent starts `tokentray agent` and waits until its LocalAPI answers.
func startAgent(t testing.TB, env []string, runtimeDir string) (*exec.Cmd, *agent.Client) {
	t.Helper()
	cmd := exec.Command(binary, "agent")
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := agent.NewClient(filepath.Join(runtimeDir, "tokentray", "agent.sock"))
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := client.Status(context.Background()); err == nil {
			return cmd, client
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's LocalAPI did not answer; output:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitClipboard reports whether the clipboard comes to hold want.
func waitClipboard(t *testing.T, want string) bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if readClipboard(t) == want {
			return true
		}
	}
	return false
}

func readClipboard(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("xclip", "-o", "-selection", "clipboard").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestCopyTokenFromTray is the walking skeleton end to end: a profile added
// with the CLI, the agent's tray clicked over D-Bus as a panel does, the
// token read back from the X clipboard and checked against the server that
// issued it; the CLI then gets the same token through the LocalAPI.
func TestCopyTokenFromTray(t *testing.T) {
	env, runtimeDir := desktop(t)
	server := authtest.NewIdentityServer("key-e2e", "secret-e2e")
	defer server.Close()

	_, stderr, code := tokentray(t, env, "secret-e2e\n", "add", "work", "--flow", "identity", "--url", server.URL, "--client-key", "key-e2e")
	if code != 0 {
		t.Fatalf("add exited %d: %s", code, stderr)
	}

	w := startWatcher(t)
	cmd, client := startAgent(t, env, runtimeDir)
	tray := findTray(t, cmd.Process.Pid, 20*time.Second)
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
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if copied = readClipboard(t); copied != "" {
			break
		}
	}
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
	other := exec.Command("xclip", "-i", "-selection", "clipboard")
	other.Stdin = strings.NewReader("something else")
	if err := other.Run(); err != nil {
		t.Fatal(err)
	}
	// xclip claims the selection from a child it forks: wait for it, or it
	// may take the clipboard back after the agent's copy.
	if !waitClipboard(t, "something else") {
		t.Fatal("xclip did not take the clipboard")
	}
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
	env, _ := desktop(t)
	server := authtest.NewIdentityServer("key-cli", "secret-cli")
	defer server.Close()
	if _, stderr, code := tokentray(t, env, "secret-cli\n", "add", "cli", "--url", server.URL, "--client-key", "key-cli"); code != 0 {
		t.Fatalf("add exited %d: %s", code, stderr)
	}
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
