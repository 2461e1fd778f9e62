package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

// windowsEnv is the environment of one test's tokentray processes: config,
// cache and the agent's pipe of their own. Credential Manager is this
// user's, as in real use: profile names tell the tests apart.
func windowsEnv(t *testing.T) (env []string, socket string) {
	t.Helper()
	dir := t.TempDir()
	env = append(os.Environ(),
		"APPDATA="+filepath.Join(dir, "roaming"),
		"LOCALAPPDATA="+filepath.Join(dir, "local"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"),
	)
	return env, filepath.Join(dir, "run", "tokentray", "agent.sock")
}

func mustCLI(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, code := tokentray(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("tokentray %q exited %d: %s", args, code, stderr)
	}
	return stdout
}

// paddedServer is the fake identity server with access tokens grown past
// 64 KB, beyond one Credential Manager blob (2,560 bytes): kept, they are
// chunked. It remembers the last token it issued.
type paddedServer struct {
	*httptest.Server
	mu   sync.Mutex
	last string
}

func newPaddedServer(t *testing.T, upstream *authtest.IdentityServer) *paddedServer {
	target, err := url.Parse(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &paddedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequest(r.Method, target.JoinPath(r.URL.Path).String(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var answer map[string]any
		if json.Unmarshal(body, &answer) == nil {
			if access, ok := answer["accessToken"].(string); ok {
				// Grown at the signature's end: the claims still read.
				access += strings.Repeat("P", 64<<10)
				answer["accessToken"] = access
				body, _ = json.Marshal(answer)
				s.mu.Lock()
				s.last = access
				s.mu.Unlock()
			}
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *paddedServer) lastToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// The agent and the CLI on Windows, over the LocalAPI's named pipe, with
// secrets and a 64 KB token in Credential Manager.
func TestAgentAndCLI(t *testing.T) {
	env, socket := windowsEnv(t)
	upstream := authtest.NewIdentityServer("key-win", "secret-win")
	defer upstream.Close()
	server := newPaddedServer(t, upstream)
	mustCLI(t, env, "secret-win\n", "add", "win", "--url", server.URL, "--client-key", "key-win")
	t.Cleanup(func() { tokentray(t, env, "", "remove", "win") })

	agent := exec.Command(binary, "agent")
	agent.Env = env
	var logs testkit.SyncBuffer // the agent writes it while the test reads
	agent.Stdout, agent.Stderr = &logs, &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	client := localapi.NewClient(socket)
	t.Cleanup(func() {
		client.Quit(context.Background())
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			agent.Process.Kill()
			t.Error("the agent did not quit when asked")
		}
		// The tray (Wine's, on the test's display) took the icon.
		if strings.Contains(logs.String(), "systray error") {
			t.Error("the tray refused the agent's icon or menu")
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", logs.String())
		}
	})
	var status localapi.Status
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if status, err = client.Status(context.Background()); err == nil && len(status.Profiles) == 1 && status.Profiles[0].State == auth.StateValid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not make win valid: %+v, %v", status, err)
		}
	}

	t.Run("token", func(t *testing.T) {
		token := mustCLI(t, env, "", "token", "win")
		if want := server.lastToken(); token != want+"\n" || len(want) < 64<<10 {
			t.Errorf("token: %d bytes, want the %d-byte token the server issued", len(token), len(want))
		}
	})

	t.Run("list answered by the agent", func(t *testing.T) {
		var entries []listEntry
		if err := json.Unmarshal([]byte(mustCLI(t, env, "", "list", "--json")), &entries); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name != "win" || entries[0].State != "valid" || !entries[0].Expiry.Equal(status.Profiles[0].Expiry) {
			t.Errorf("list --json = %+v, want win valid until %s as the agent says", entries, status.Profiles[0].Expiry)
		}
	})

	t.Run("a second agent", func(t *testing.T) {
		stdout, stderr, code := tokentray(t, env, "", "agent")
		if code != 0 || !strings.Contains(stdout, "already running") {
			t.Errorf("a second agent: exit %d, %q %q; want 0 saying one is already running", code, stdout, stderr)
		}
	})

	t.Run("exec of a token too long for the environment", func(t *testing.T) {
		stdout, stderr, code := tokentray(t, env, "", "exec", "win", "--", "cmd", "/c", "exit 0")
		if code == 0 || !strings.Contains(stderr, "32767") || !strings.Contains(stderr, "tokentray token") {
			t.Errorf("exec of a 64 KB token: exit %d, %q; want a failure saying why and what to do instead", code, stderr)
		}
		if strings.Contains(stdout+stderr, server.lastToken()[:100]) {
			t.Error("exec printed the token")
		}
	})

	t.Run("exec", func(t *testing.T) {
		mustCLI(t, env, "secret-win\n", "add", "win-small", "--url", upstream.URL, "--client-key", "key-win")
		defer tokentray(t, env, "", "remove", "win-small")
		file := filepath.Join(t.TempDir(), "token")
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// The child, this test binary, writes the token it was given to a
		// file, so nothing printed holds it.
		childEnv := append(env, execChildOut+"="+file)
		stdout, stderr, code := tokentray(t, childEnv, "", "exec", "win-small", "--", exe, "-test.run=^TestExecChild$")
		if code != 0 {
			t.Fatalf("exec: exit %d: %s %s", code, stdout, stderr)
		}
		checkChildToken(t, file, upstream, stdout+stderr)
	})

	t.Run("remove", func(t *testing.T) {
		mustCLI(t, env, "", "remove", "win")
		if out := mustCLI(t, env, "", "list", "--json"); strings.Contains(out, `"win"`) {
			t.Errorf("list after remove: %s", out)
		}
		if _, _, code := tokentray(t, env, "", "token", "win"); code == 0 {
			t.Error("token of a removed profile succeeded")
		}
	})
}

// execChildOut names the file TestExecChild writes $TOKENTRAY_TOKEN to.
const execChildOut = "TOKENTRAY_TEST_EXEC_OUT"

// TestExecChild is the child `tokentray exec` runs in TestAgentAndCLI.
func TestExecChild(t *testing.T) {
	out := os.Getenv(execChildOut)
	if out == "" {
		t.Skip("run by TestAgentAndCLI")
	}
	if err := os.WriteFile(out, []byte(os.Getenv("TOKENTRAY_TOKEN")), 0o600); err != nil {
		t.Fatal(err)
	}
}
