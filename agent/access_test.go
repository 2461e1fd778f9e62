package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/store"
)

// Tokens handed out over the LocalAPI are recorded by channel, with the
// caller: here the test runs the client and the agent in one process, the
// agent's own executable, so the record names the process that ran it.
func TestLocalAPIRecordsAccess(t *testing.T) {
	t.Parallel()
	skipWithoutParent(t)
	_, configPath := identityProfile(t, "work", "secret")
	client, _, _ := serve(t, configPath)
	ctx := t.Context()
	tok, err := client.Token(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.TokenVia(ctx, "work", access.ChannelExec); err != nil {
		t.Fatal(err)
	}
	records, err := access.Read(access.Path(configPath), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{access.ChannelToken, access.ChannelExec}
	if len(records) != len(want) {
		t.Fatalf("records %+v; want %v", records, want)
	}
	for i, r := range records {
		if r.Channel != want[i] || r.Profile != "work" || r.PID != os.Getppid() || r.Exe == "" || r.Time.IsZero() {
			t.Errorf("record %d: %+v; want %s of work by pid %d", i, r, want[i], os.Getppid())
		}
	}
	raw, _ := os.ReadFile(access.Path(configPath))
	if strings.Contains(string(raw), tok.AccessToken) {
		t.Error("the access log holds the token")
	}
}

// A proxy records each client connection once, however many requests it
// carries.
func TestProxyRecordsAccessPerConnection(t *testing.T) { // not parallel: beside the other tests it saw a connection per request
	id := authtest.NewIdentityServer("key", "secret")
	defer id.Close()
	api := apiServer(t, id, func(string) bool { return false })
	proxyURL, tokens := startProxy(t, api.URL, id)
	for range 3 {
		if status, _ := get(t, proxyURL+"/x"); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	records, err := access.Read(access.Path(tokens.configPath), "work")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Channel != access.ChannelProxy || records[0].PID != os.Getppid() {
		t.Errorf("records %+v; want one proxy record by pid %d", records, os.Getppid())
	}
}

// With the setting on, the first token of a profile a program gets is
// notified, once; with it off (the default), nothing is.
func TestFirstUseNotifies(t *testing.T) {
	t.Parallel()
	configPath := filepath.Join(t.TempDir(), "config.json")
	addProfile(t, configPath, "work", "http://127.0.0.1:1", "key", "secret")
	tokens, err := NewTokens(configPath, keychainOf(configPath))
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	tokens.notify = func(summary, body string) error { notes = append(notes, summary); return nil }
	program := func() int {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Skip("no sleep:", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	tokens.Record("work", access.ChannelToken, program())
	if len(notes) != 0 {
		t.Errorf("notified with the setting off: %q", notes)
	}
	if err := store.UpdateConfig(configPath, func(c *store.Config) error { c.Settings.NotifyFirstUse = true; return nil }); err != nil {
		t.Fatal(err)
	}
	cat := exec.Command("cat")
	stdin, _ := cat.StdinPipe()
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cat.Wait() }()
	tokens.Record("work", access.ChannelToken, program()) // sleep again: not new
	tokens.Record("work", access.ChannelExec, cat.Process.Pid)
	tokens.Record("work", access.ChannelToken, cat.Process.Pid)
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "cat got a token of work") {
		t.Errorf("notes %q; want one, for cat", notes)
	}
}

// The window's Test reports the token it was granted; the agent records it
// as channel "test" with the window's process, here the test's own.
func TestTestedRecorded(t *testing.T) {
	skipWithoutParent(t)
	configPath := filepath.Join(t.TempDir(), "config.json")
	addProfile(t, configPath, "work", "http://127.0.0.1:1", "key", "secret")
	client, _, _ := serve(t, configPath)
	// The profile tested may be a new one, not saved yet.
	if err := client.Tested(t.Context(), "draft"); err != nil {
		t.Fatal(err)
	}
	var apiErr *localapi.APIError
	if err := client.Tested(t.Context(), "a/b"); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("a test of profile a/b: %v, want 400", err)
	}
	records, err := access.Read(access.Path(configPath), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Channel != access.ChannelTest || records[0].Profile != "draft" || records[0].PID != os.Getppid() || records[0].Exe == "" {
		t.Errorf("records %+v; want one test of draft by pid %d", records, os.Getppid())
	}
}

// skipWithoutParent skips a test that expects this process's parent to be
// named, where it has none to name: under Wine it is a Linux process.
func skipWithoutParent(t *testing.T) {
	if os.Getppid() == 0 {
		t.Skip("this process has no parent to be named (under Wine its parent is a Linux process)")
	}
}
