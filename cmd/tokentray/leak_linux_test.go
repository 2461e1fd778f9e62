package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

// TestNoSecretLeaks runs the whole life of two profiles, one of each flow,
// with the agent running: add → token → refresh → exec → remove. Then it
// searches everything the run left where a secret must never be: the
// agent's log, every file under the test's HOME and XDG dirs (the keyring
// keeps its files elsewhere, in the session's HOME), everything any command
// printed, and the command line and environment of every process started,
// the agent's included. No client secret, session token, uid signature,
// nor any access or refresh token the servers issued, may be found.
func TestNoSecretLeaks(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	env, runtimeDir := desktop(t)
	root := filepath.Dir(runtimeDir) // holds the config, cache and runtime dirs
	home := filepath.Join(root, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(env, "HOME="+home)

	const (
		idKey, idSecret, uidSignature = "leak-key", "leak-identity-client-secret-5d1e", "leak-uid-signature-93ab71"
		webID, webSecret, session     = "leak-client", "leak-web-client-secret-27fc", "leak-web-session-token-c0de"
		canary                        = "planted-canary-6a0f2e"
	)
	identity := authtest.NewIdentityServer(idKey, idSecret)
	defer identity.Close()
	web := authtest.NewWebServer(webID, webSecret, session)
	defer web.Close()
	// A refresh token too, unlike Polar's web grant, so that its way
	// through the agent is searched for leaks as well.
	web.SetRefreshTokens(authtest.RotatingRefreshTokens)
	var issued issuedTokens
	idURL, webURL := issued.proxy(t, identity.URL), issued.proxy(t, web.URL)

	procs := watchProcesses(t)
	r := &leakRunner{t: t, env: env, procs: procs}

	logPath := filepath.Join(root, "cache", "tokentray", "tokentray.log")
	client := r.startAgent(logPath, runtimeDir)

	r.must(idSecret+"\n"+uidSignature+"\n", "add", "leak-id", "--url", idURL, "--client-key", idKey, "--uid", "uid-42", "--signature-timestamp", "1718000000")
	r.must(webSecret+"\n"+session+"\n", "add", "leak-web", "--flow", "web", "--url", webURL, "--client-id", webID)

	for _, p := range []string{"leak-id", "leak-web"} {
		tok := r.token(p)
		if !identity.Accepts(tok) && !web.Accepts(tok) {
			t.Fatalf("token %s printed a token neither server accepts", p)
		}
	}

	// Refresh both through the agent, and wait for the servers to see it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []string{"leak-id", "leak-web"} {
		if err := client.Refresh(ctx, p); err != nil {
			t.Fatalf("refresh %s: %v", p, err)
		}
	}
	if !testkit.Poll(testkit.Patience, func() bool { return identity.Refreshes() > 0 && web.Refreshes() > 0 }) {
		t.Fatalf("the servers saw %d and %d refreshes, want one each", identity.Refreshes(), web.Refreshes())
	}
	for _, p := range []string{"leak-id", "leak-web"} {
		r.token(p) // the refreshed token, served by the agent
	}

	// exec: the child holds the token in its environment (by design) and
	// runs long enough for its and its parent's /proc entries to be read.
	// The canary on its command line and on its output proves the search
	// sees both.
	script := `test -n "$TOKENTRAY_TOKEN" && sleep 0.3 && echo "$1"`
	for _, p := range []string{"leak-id", "leak-web"} {
		if out := r.must("", "exec", p, "--", "sh", "-c", script, "sh", canary); out != canary+"\n" {
			t.Fatalf("exec %s printed %q", p, out)
		}
	}

	r.must("", "remove", "leak-id")
	r.must("", "remove", "leak-web")
	if err := client.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.waitAgent()
	procs.stop()
	if err := os.WriteFile(filepath.Join(home, "planted"), []byte("x"+canary+"x"), 0o600); err != nil {
		t.Fatal(err)
	}

	tokens := issued.all()
	if len(tokens) < 8 { // two grants and two refreshes, access and refresh token each
		t.Fatalf("the servers issued %d tokens, want at least 8", len(tokens))
	}
	secrets := append([]string{idSecret, uidSignature, webSecret, session}, tokens...)

	var corpus []evidence
	logData, err := os.ReadFile(logPath)
	if err != nil || len(logData) == 0 {
		t.Fatalf("the agent's log %s is empty or missing (%v)", logPath, err)
	}
	corpus = append(corpus, evidence{"the agent's log", logData})
	corpus = append(corpus, filesUnder(t, root)...)
	corpus = append(corpus, r.outputs...)
	snaps := procs.snapshots()
	var children []evidence // environments of exec's children: they hold the token by design
	for _, s := range snaps {
		corpus = append(corpus, evidence{fmt.Sprintf("/proc/%d/cmdline (%s)", s.pid, s.name()), s.cmdline})
		if bytes.Contains(s.environ, []byte("TOKENTRAY_PROFILE=")) {
			children = append(children, evidence{fmt.Sprintf("/proc/%d/environ", s.pid), s.environ})
			continue
		}
		corpus = append(corpus, evidence{fmt.Sprintf("/proc/%d/environ (%s)", s.pid, s.name()), s.environ})
	}

	// The search can see a hit: the canary is on the exec children's
	// command lines, in what exec printed and in a planted file, and the
	// children's environments hold an issued access token.
	for _, where := range []string{"/cmdline (sh -c", "exec leak-id", "planted"} {
		if !slices.ContainsFunc(search(corpus, canary), func(hit string) bool { return strings.Contains(hit, where) }) {
			t.Errorf("the search did not find the canary planted in %s: it cannot be trusted", where)
		}
	}
	if len(children) < 2 || !slices.ContainsFunc(tokens, func(tok string) bool { return len(search(children, tok)) > 0 }) {
		t.Errorf("found %d exec children, and no issued token in their environments: the /proc search cannot be trusted", len(children))
	}
	if agents := slices.IndexFunc(snaps, func(s procSnap) bool { return s.name() == "tokentray agent" }); agents < 0 {
		t.Error("the agent's /proc entries were never read")
	}

	for i, s := range secrets {
		for _, hit := range search(corpus, s) {
			t.Errorf("secret %d (%d bytes, starting %.6q) found in %s", i, len(s), s, hit)
		}
	}
	t.Logf("searched %d places (%d processes) for %d secrets", len(corpus), len(snaps), len(secrets))
}

// evidence is one place searched for secrets.
type evidence struct {
	where string
	data  []byte
}

// search returns where s is found in corpus.
func search(corpus []evidence, s string) []string {
	var hits []string
	for _, e := range corpus {
		if bytes.Contains(e.data, []byte(s)) {
			hits = append(hits, e.where)
		}
	}
	return hits
}

// filesUnder reads every regular file under dir.
func filesUnder(t *testing.T, dir string) []evidence {
	t.Helper()
	var out []evidence
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, evidence{path, data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// issuedTokens records every token the fake servers hand out, read off
// their answers by a proxy in front of each.
type issuedTokens struct {
	mu     sync.Mutex
	tokens []string
}

func (it *issuedTokens) proxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			it.mu.Lock()
			for k, v := range fields {
				if s, ok := v.(string); ok && s != "" && strings.Contains(strings.ToLower(k), "token") && k != "token_type" {
					it.tokens = append(it.tokens, s)
				}
			}
			it.mu.Unlock()
		}
		return nil
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s.URL
}

func (it *issuedTokens) all() []string {
	it.mu.Lock()
	defer it.mu.Unlock()
	return slices.Clone(it.tokens)
}

// leakRunner runs tokentray, keeping every output and reading each
// process's /proc entries as soon as it starts.
type leakRunner struct {
	t       *testing.T
	env     []string
	procs   *procWatch
	outputs []evidence
	agent   *exec.Cmd
	exited  chan error
}

func (r *leakRunner) startAgent(logPath, runtimeDir string) *localapi.Client {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		r.t.Fatal(err)
	}
	// As localapi.StartDetached does: output appended to the log file.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	defer logFile.Close()
	r.agent = exec.Command(binary, "agent")
	r.agent.Env = r.env
	r.agent.Stdout, r.agent.Stderr = logFile, logFile
	if err := r.agent.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.procs.read(r.agent.Process.Pid)
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.agent.Wait() }()
	r.t.Cleanup(func() { r.agent.Process.Kill() })
	client := localapi.NewClient(filepath.Join(runtimeDir, "tokentray", "agent.sock"))
	testkit.Eventually(r.t, "the agent's LocalAPI to answer", func() bool {
		_, err := client.Status(context.Background())
		return err == nil
	})
	return client
}

func (r *leakRunner) waitAgent() {
	r.t.Helper()
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the agent did not quit when asked")
	}
}

// must runs tokentray to completion and fails the test unless it exits 0.
func (r *leakRunner) must(stdin string, args ...string) (stdout string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = r.env
	in, err := cmd.StdinPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	// Commands that read their standard input (add) wait here, so their
	// entries are read for certain; the watcher catches the others.
	r.procs.read(cmd.Process.Pid)
	io.WriteString(in, stdin)
	in.Close()
	err = cmd.Wait()
	what := "tokentray " + strings.Join(args, " ")
	r.outputs = append(r.outputs, evidence{what + ": stderr", errOut.Bytes()})
	if args[0] != "token" { // token prints the token it was asked for: checked by token
		r.outputs = append(r.outputs, evidence{what + ": stdout", out.Bytes()})
	}
	if err != nil {
		r.t.Fatalf("%s: %v: %s", what, err, errOut.String())
	}
	return out.String()
}

// token runs `tokentray token profile` and returns the token, checking that
// the token and its newline are all it printed.
func (r *leakRunner) token(profile string) string {
	r.t.Helper()
	out := r.must("", "token", profile)
	tok, ok := strings.CutSuffix(out, "\n")
	if !ok || tok == "" || strings.ContainsAny(tok, "\n ") {
		r.t.Fatalf("token %s printed %d bytes that are not one token and a newline", profile, len(out))
	}
	return tok
}

// procWatch reads /proc/PID/cmdline and /proc/PID/environ of every
// descendant of the test process, polling every few milliseconds, so that
// the processes tokentray starts itself are seen too.
type procWatch struct {
	mu    sync.Mutex
	snaps map[int]*procSnap
	done  chan struct{}
	ended chan struct{}
}

type procSnap struct {
	pid              int
	cmdline, environ []byte // every distinct content read, joined
}

// name is the command line, readable: the last one read, since the first
// may be the test's own, read between fork and exec.
func (s procSnap) name() string {
	last := s.cmdline[bytes.LastIndexByte(s.cmdline, '\n')+1:]
	args := strings.Split(strings.TrimRight(string(last), "\x00"), "\x00")
	args[0] = filepath.Base(args[0])
	return strings.Join(args, " ")
}

func watchProcesses(t *testing.T) *procWatch {
	t.Helper()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d/children", os.Getpid(), os.Getpid())); err != nil {
		t.Fatalf("cannot list child processes: %v", err)
	}
	w := &procWatch{snaps: map[int]*procSnap{}, done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(w.ended)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, pid := range descendants(os.Getpid()) {
				w.read(pid)
			}
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *procWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.ended
}

// read records pid's command line and environment as they are now.
func (w *procWatch) read(pid int) {
	cmdline, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	environ, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err1 != nil || err2 != nil || len(cmdline) == 0 {
		return // gone, or a zombie
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.snaps[pid]
	if s == nil {
		s = &procSnap{pid: pid}
		w.snaps[pid] = s
	}
	add := func(all *[]byte, b []byte) {
		for part := range bytes.SplitSeq(*all, []byte{'\n'}) {
			if bytes.Equal(part, b) {
				return
			}
		}
		if len(*all) > 0 {
			*all = append(*all, '\n')
		}
		*all = append(*all, b...)
	}
	add(&s.cmdline, cmdline)
	add(&s.environ, environ)
}

func (w *procWatch) snapshots() []procSnap {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]procSnap, 0, len(w.snaps))
	for _, s := range w.snaps {
		out = append(out, *s)
	}
	return out
}

// descendants lists the processes below pid, from the children files of
// each of its threads.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			if child, err := strconv.Atoi(field); err == nil {
				out = append(out, child)
				out = append(out, descendants(child)...)
			}
		}
	}
	return out
}
