package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

// TestAgentSignalClearsClipboard: an agent told to stop by a signal, as a
// logout or `kill` does, quits as by its menu: the token it copied leaves
// the clipboard, and its socket goes.
func TestAgentSignalClearsClipboard(t *testing.T) {
	t.Parallel()
	exclusive(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			env, runtimeDir := desktop(t)
			server := authtest.NewIdentityServer("key-sig", "secret-sig")
			defer server.Close()
			_, stderr, code := tokentray(t, env, "secret-sig\n", "add", "work", "--flow", "identity", "--url", server.URL, "--client-key", "key-sig")
			if code != 0 {
				t.Fatalf("add exited %d: %s", code, stderr)
			}
			cmd, client := startAgent(t, env, runtimeDir)
			if _, err := client.Copy(context.Background(), "work"); err != nil {
				t.Fatal(err)
			}
			copied := waitClipboardMatch(t, func(s string) bool { return s != "" })
			if !server.Accepts(copied) {
				t.Fatal("the clipboard does not hold the agent's token")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// startAgent's own Wait reaps it.
			testkit.Eventually(t, "the agent to exit", func() bool { return syscall.Kill(cmd.Process.Pid, 0) != nil })
			if got := readClipboard(t); got != "" {
				t.Errorf("after %s the clipboard holds %d bytes, want it cleared", sig, len(got))
			}
			if _, err := os.Stat(filepath.Join(runtimeDir, "tokentray", "agent.sock")); !os.IsNotExist(err) {
				t.Errorf("after %s the socket is still there (%v)", sig, err)
			}
		})
	}
}
