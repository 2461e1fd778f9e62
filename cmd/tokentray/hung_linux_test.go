package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

// A stopped agent (SIGSTOP, a debugger, a swapped-out laptop) holds up no
// client: token and list answer from the keychain as if no agent ran, and
// a second agent exits 0 saying one runs, for as long as the first lives.
func TestStoppedAgent(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	env = privateKeyring(t, env) // a keyring of its own: another test runs a profile of the same name
	c, server := identityProfiles(t, env, "key-stop", "secret-stop", "p")
	cmd, client := startAgent(t, env, runtimeDir)
	// Stopped once its first refresh is over: stopped during one, it would
	// hold the profile's lock, which is another case.
	testkit.Eventually(t, "the agent's first token", func() bool {
		st, err := client.Status(context.Background())
		return err == nil && len(st.Profiles) == 1 && st.Profiles[0].State == auth.StateValid
	})
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Registered after startAgent's, so run before it: the agent can quit.
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT) })

	if got := strings.TrimSpace(c.must("", "token", "p")); !server.Accepts(got) {
		t.Error("token with the agent stopped: not a token the server accepts")
	}
	if out := c.must("", "list"); !strings.Contains(out, "p") {
		t.Errorf("list with the agent stopped printed %q", out)
	}
	stdout, stderr, code := tokentray(t, env, "", "agent")
	if code != 0 || !strings.Contains(stdout, "already running") {
		t.Errorf("a second agent while the first is stopped: exit %d, %q, %q; want 0 saying one runs", code, stdout, stderr)
	}
}

// Any number of agents started at once leave exactly one running; every
// other exits 0 saying one runs.
func TestAgentsStartedAtOnce(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	const n = 36 // as many as reproduced the race before the file lock
	type result struct {
		cmd  *exec.Cmd
		out  string
		code int
	}
	exited := make(chan result, n)
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(binary, "agent")
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		go func() {
			cmd.Wait()
			exited <- result{cmd, out.String(), cmd.ProcessState.ExitCode()}
		}()
	}
	client := localapi.NewClient(filepath.Join(runtimeDir, "tokentray", "agent.sock"))
	t.Cleanup(func() {
		client.Quit(context.Background())
		for _, cmd := range cmds {
			cmd.Process.Kill()
		}
	})
	gone := map[*exec.Cmd]bool{}
	timeout := time.After(30 * time.Second)
	for len(gone) < n-1 {
		select {
		case r := <-exited:
			gone[r.cmd] = true
			if r.code != 0 || !strings.Contains(r.out, "already running") {
				t.Errorf("an agent exited %d: %q; want 0 saying one runs", r.code, r.out)
			}
		case <-timeout:
			t.Fatalf("after 30 s %d of %d agents still run; want 1", n-len(gone), n)
		}
	}
	var status localapi.Status
	var err error
	testkit.Poll(testkit.Patience, func() bool {
		status, err = client.Status(context.Background())
		return err == nil
	})
	if err != nil {
		t.Fatalf("no agent answers: %v", err)
	}
	for _, cmd := range cmds {
		if !gone[cmd] && cmd.Process.Pid != status.PID {
			t.Errorf("the agent left running is %d, but %d answers", cmd.Process.Pid, status.PID)
		}
	}
	select {
	case r := <-exited:
		t.Errorf("the last agent exited too (%d): %q", r.code, r.out)
	default:
	}
}

// Without a session bus the agent starts none (godbus would run
// dbus-launch, whose daemon outlives the agent holding its environment,
// passphrase included): it says once that there is no tray and serves its
// LocalAPI all the same.
func TestAgentWithoutSessionBusStartsNone(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	// A profile, so that the agent reads the keychain at once: that read
	// must not be the one that runs dbus-launch.
	identityProfiles(t, env, "key-nobus", "secret-nobus", "nobus")
	env = withoutVar(env, "DBUS_SESSION_BUS_ADDRESS")
	// A dbus-launch that records being run, with the environment it got.
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "dbus-launch-ran")
	script := "#!/bin/sh\nenv > '" + marker + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+bin+":"+envValue(env, "PATH"), store.DefaultPassphraseEnv+"=agent passphrase")
	cmd, client, logs := startAgentLogged(t, env, runtimeDir)
	if _, err := client.Status(context.Background()); err != nil {
		t.Fatalf("the LocalAPI without a session bus: %v", err)
	}
	quitAgent(t, client)
	testkit.Eventually(t, "the agent to exit after quitting", func() bool { return syscall.Kill(cmd.Process.Pid, 0) != nil })
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("the agent panicked on its way out:\n%s", logs.String())
	}
	if ran, err := os.ReadFile(marker); err == nil {
		t.Errorf("the agent ran dbus-launch (with the passphrase in its environment: %v)", strings.Contains(string(ran), "agent passphrase"))
	}
	if n := strings.Count(logs.String(), "no session bus"); n != 1 {
		t.Errorf("the log says %d times that there is no session bus, want once:\n%s", n, logs.String())
	}
}
