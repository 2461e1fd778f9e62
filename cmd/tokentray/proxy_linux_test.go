package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/auth/authtest"
)

// TestProxyAndAccessLog sets up a profile's proxy with the agent stopped,
// has the agent serve it at start, and checks that curl through the proxy
// and a shell script calling `tokentray token` are recorded with their
// executables, and that --off stops it.
func TestProxyAndAccessLog(t *testing.T) {
	t.Parallel()
	exclusive(t) // it copies
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl:", err)
	}
	env, runtimeDir := desktop(t)
	env = privateKeyring(t, env) // a keyring of its own: another test runs a profile of the same name
	id := authtest.NewIdentityServer("key-proxy", "secret-proxy")
	defer id.Close()
	idURL, _ := url.Parse(id.URL)
	toIdentity := httputil.NewSingleHostReverseProxy(idURL)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/identity/") {
			toIdentity.ServeHTTP(w, r)
			return
		}
		if tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !id.Accepts(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "ok %s", r.URL.RequestURI())
	}))
	defer api.Close()
	c := newCLI(t, env, "secret-proxy")
	c.must("secret-proxy\n", "add", "work", "--url", api.URL, "--client-key", "key-proxy")

	if _, stderr, code := c.run("", "proxy", "work", "--listen", "0.0.0.0:8787"); code != exitError || !strings.Contains(stderr, "loopback only") {
		t.Errorf("proxy on 0.0.0.0: exit %d, %q; want a refusal naming loopback", code, stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, stderr, _ := c.run("", "proxy", "work", "--listen", addr); !strings.Contains(stderr, "not running") {
		t.Errorf("proxy without an agent said %q; want that the agent serves it once started", stderr)
	}
	if got := c.list()["work"].Proxy; got != addr {
		t.Errorf("list --json says proxy %q; want %s", got, addr)
	}
	_, client := startAgent(t, env, runtimeDir)

	out, err := exec.Command(curl, "-sS", "http://"+addr+"/v1/items?a=1").CombinedOutput()
	if err != nil || string(out) != "ok /v1/items?a=1" {
		t.Fatalf("curl through the proxy: %q, %v", out, err)
	}
	script := filepath.Join(t.TempDir(), "script.sh")
	// A command after it, so that the shell cannot exec tokentray in its
	// own place.
	if err := os.WriteFile(script, []byte(`"$1" token work >/dev/null`+"\nexit $?\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("/bin/sh", script, binary)
	sh.Env = env
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the script: %v: %s", err, out)
	}

	// The window's Copy: this test process asks, as the window would.
	if _, err := client.Copy(t.Context(), "work"); err != nil {
		t.Fatal(err)
	}

	records := accessRecords(t, c)
	curlExe, _ := filepath.EvalSymlinks(curl)
	shExe, _ := filepath.EvalSymlinks("/bin/sh")
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	want := []struct{ channel, exe string }{{access.ChannelProxy, curlExe}, {access.ChannelToken, shExe}, {access.ChannelCopy, self}}
	if len(records) != len(want) {
		t.Fatalf("access records %+v; want %v", records, want)
	}
	for i, w := range want {
		if r := records[i]; r.Channel != w.channel || r.Exe != w.exe || r.Profile != "work" || r.PID == 0 {
			t.Errorf("record %d: %+v; want %s by %s", i, r, w.channel, w.exe)
		}
	}
	if text := c.must("", "access", "work"); !strings.Contains(text, curlExe) || !strings.HasPrefix(text, "TIME") {
		t.Errorf("access work printed %q; want a table naming %s", text, curlExe)
	}
	if got := c.must("", "proxy"); !strings.Contains(got, addr) || !strings.Contains(got, api.URL) {
		t.Errorf("proxy lists %q; want work on %s", got, addr)
	}

	c.must("", "proxy", "work", "--off")
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("%s still answers after --off", addr)
	}
}

// accessRecords are the records `tokentray access --json` prints.
func accessRecords(t *testing.T, c *cli) []access.Record {
	t.Helper()
	var records []access.Record
	for line := range strings.Lines(c.must("", "access", "--json")) {
		var r access.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("access --json line %q: %v", line, err)
		}
		records = append(records, r)
	}
	return records
}

// With no agent running, `token` and `exec` read the keychain themselves
// and record it in the same access log, naming the script that ran them.
func TestAccessWithoutAgent(t *testing.T) {
	env, _ := desktop(t)
	id := authtest.NewIdentityServer("key-solo", "secret-solo")
	defer id.Close()
	c := newCLI(t, env, "secret-solo")
	c.must("secret-solo\n", "add", "solo", "--url", id.URL, "--client-key", "key-solo")
	script := filepath.Join(t.TempDir(), "script.sh")
	// Commands after each, so that the shell cannot exec tokentray in its
	// own place.
	body := `"$1" token solo >/dev/null || exit 1` + "\n" + `"$1" exec solo -- true || exit 1` + "\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("/bin/sh", script, binary)
	sh.Env = env
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the script: %v: %s", err, out)
	}
	shExe, _ := filepath.EvalSymlinks("/bin/sh")
	records := accessRecords(t, c)
	want := []string{access.ChannelToken, access.ChannelExec}
	if len(records) != len(want) {
		t.Fatalf("access records %+v; want %v by %s", records, want, shExe)
	}
	for i, channel := range want {
		if r := records[i]; r.Channel != channel || r.Exe != shExe || r.Profile != "solo" || r.PID != sh.Process.Pid {
			t.Errorf("record %d: %+v; want %s by %s (pid %d)", i, r, channel, shExe, sh.Process.Pid)
		}
	}
}
