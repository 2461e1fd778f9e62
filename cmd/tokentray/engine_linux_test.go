package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/store"
)

// The token engine across processes: the per-profile lock, Fresh's re-read
// of the keychain, and recovery from a refresh token spent by a process
// that died before it could save the one that replaced it.

// forget removes profile's keychain entries now and when the test ends:
// the session's keychain is shared by every test of the run.
func forget(t *testing.T, profile string) {
	t.Helper()
	if err := (store.Keychain{}).DeleteProfile(profile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = (store.Keychain{}).DeleteProfile(profile) })
}

// storedToken reads profile's token record from the keychain.
func storedToken(t *testing.T, profile string) auth.Token {
	t.Helper()
	tok, found, err := (store.Keychain{}).LoadToken(profile)
	if err != nil || !found {
		t.Fatalf("the keychain has no token of %s: found=%v, %v", profile, found, err)
	}
	return tok
}

// TestTwoProcessesRefreshOnce starts several `tokentray token` at once, with
// no agent, on a token due for refresh and a slow server: the profile lock
// lets one of them refresh, and the others, once they hold the lock, find
// its token in the keychain instead of spending the refresh token again.
func TestTwoProcessesRefreshOnce(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	const name, key, secret = "race-once", "key-race", "secret-race"
	forget(t, name)
	c, server := identityProfiles(t, env, key, secret, name)

	// A first token that lives less than the margin, so the next call must
	// refresh it.
	server.SetLifetime(90 * time.Second)
	first := strings.TrimSuffix(c.must("", "token", name), "\n")
	old := storedToken(t, name)
	if old.AccessToken != first || old.RefreshToken == "" {
		t.Fatalf("the keychain does not hold the printed token with a refresh token")
	}
	if now := time.Now(); !old.ValidFor(now, 0) || old.ValidFor(now, auth.DefaultMargin) {
		t.Fatalf("the first token expires at %v; want valid now but within the %v margin", old.Expiry, auth.DefaultMargin)
	}
	if server.Acquires() != 1 || server.Refreshes() != 0 {
		t.Fatalf("after the first token the server saw %d acquires and %d refreshes, want 1 and 0", server.Acquires(), server.Refreshes())
	}

	server.SetLifetime(time.Hour)
	// A slow refresh holds the lock long enough for every process to be
	// waiting on it.
	const delay = 2 * time.Second
	server.SetDelay(delay)
	var mu sync.Mutex
	var answeredAt time.Time // of the first refresh
	server.OnAnswered(func(r authtest.IdentityRequest, status int) {
		mu.Lock()
		defer mu.Unlock()
		if r.Path == authtest.IdentityRefreshPath && answeredAt.IsZero() {
			answeredAt = time.Now()
		}
	})

	const n = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type run struct {
		cmd             *exec.Cmd
		stdout, stderr  bytes.Buffer
		started, exited time.Time
		err             error
	}
	runs := make([]*run, n)
	for i := range runs {
		r := &run{cmd: exec.CommandContext(ctx, binary, "token", name)}
		r.cmd.Env = env
		r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
		runs[i] = r
	}
	for _, r := range runs {
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.started = time.Now()
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			r.err = r.cmd.Wait()
			r.exited = time.Now()
		})
	}
	wg.Wait()
	server.OnAnswered(nil)
	server.SetDelay(0)

	mu.Lock()
	answered := answeredAt
	mu.Unlock()
	var got string
	for i, r := range runs {
		c.outputs = append(c.outputs, r.stdout.String(), r.stderr.String())
		if r.err != nil {
			t.Errorf("process %d: %v: %s", i, r.err, r.stderr.String())
			continue
		}
		tok := strings.TrimSuffix(r.stdout.String(), "\n")
		switch {
		case !server.Accepts(tok):
			t.Errorf("process %d printed a token the server does not accept", i)
		case tok == first:
			t.Errorf("process %d printed the old token, which expires within the margin", i)
		case got == "":
			got = tok
		case tok != got:
			t.Errorf("process %d printed another token than the first process did", i)
		}
		// Each process ran while the refresh was in flight: started before
		// the answer and ended after it. Otherwise the race was not run.
		if answered.IsZero() || !r.started.Before(answered) || r.exited.Before(answered) {
			t.Errorf("process %d ran from %v to %v, not across the refresh answered at %v: the race window was missed", i, r.started.Format(time.StampMicro), r.exited.Format(time.StampMicro), answered.Format(time.StampMicro))
		}
	}
	if a, f, u := server.Acquires(), server.Refreshes(), server.Reuses(); a != 1 || f != 1 || u != 0 {
		t.Errorf("the server saw %d acquires, %d refreshes and %d spent refresh tokens; want 1, 1 and 0", a, f, u)
	}
	for _, r := range server.Requests() {
		if r.Path == authtest.IdentityRefreshPath && r.Body.RefreshToken != old.RefreshToken {
			t.Errorf("a refresh presented another refresh token than the stored one")
		}
	}
	if now := storedToken(t, name); now.AccessToken != got || now.RefreshToken == old.RefreshToken {
		t.Errorf("the keychain does not hold the new token and its rotated refresh token")
	}

	// The next call is served from the keychain.
	if again := strings.TrimSuffix(c.must("", "token", name), "\n"); again != got {
		t.Errorf("a later call printed another token")
	}
	if a, f := server.Acquires(), server.Refreshes(); a != 1 || f != 1 {
		t.Errorf("a later call made requests: %d acquires and %d refreshes in all, want 1 and 1", a, f)
	}
}

// TestKilledAfterRefreshAnswered kills `tokentray token` the moment the
// server has answered its refresh, so the rotated refresh token is never
// saved and the stored one is spent. The next call must still get a token
// without the user, presenting the spent one at most once and then
// acquiring anew with the client credentials.
func TestKilledAfterRefreshAnswered(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	const name, key, secret = "killed-save", "key-kill", "secret-kill"
	forget(t, name)
	c, server := identityProfiles(t, env, key, secret, name)

	// Every token lives less than the margin, so every call refreshes.
	server.SetLifetime(90 * time.Second)
	c.must("", "token", name)

	const rounds = 5
	beforeSave := 0
	for i := range rounds {
		before := storedToken(t, name)
		acquires, refreshes, reuses := server.Acquires(), server.Refreshes(), server.Reuses()

		victim := make(chan *os.Process, 1)
		killed := make(chan string, 1) // the refresh token the victim spent
		server.OnAnswered(func(r authtest.IdentityRequest, status int) {
			if r.Path != authtest.IdentityRefreshPath || status != 200 {
				return
			}
			select {
			case p := <-victim:
				killed <- r.Body.RefreshToken // before the kill: Wait returns on it
				_ = p.Kill()
			case <-time.After(30 * time.Second):
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, binary, "token", name)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		victim <- cmd.Process
		err := cmd.Wait()
		cancel()
		server.OnAnswered(nil)
		c.outputs = append(c.outputs, stdout.String(), stderr.String())

		var spent string
		select {
		case spent = <-killed:
		case <-time.After(time.Second):
			// The hook sends before it kills, so it has sent by now.
			t.Fatalf("round %d: the server answered no refresh of the victim (exit: %v): %s", i, err, stderr.String())
		}
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the victim ended with %v, not by SIGKILL", i, err)
		}
		if spent != before.RefreshToken {
			t.Fatalf("round %d: the victim spent another refresh token than the stored one", i)
		}
		after := storedToken(t, name)
		saved := after.RefreshToken != before.RefreshToken
		if saved {
			t.Logf("round %d: the victim saved the rotated token before the kill landed", i)
		} else {
			beforeSave++
		}

		// No user action: the next call just works.
		out, errOut, code := c.run("", "token", name)
		if code != 0 {
			t.Fatalf("round %d: after the kill, token exited %d: %s", i, code, errOut)
		}
		tok := strings.TrimSuffix(out, "\n")
		if !server.Accepts(tok) {
			t.Fatalf("round %d: after the kill, token printed a token the server does not accept", i)
		}
		if now := storedToken(t, name); now.AccessToken != tok || now.RefreshToken == spent || now.RefreshToken == "" {
			t.Errorf("round %d: the keychain does not hold the printed token with a fresh refresh token", i)
		}
		da, dr, du := server.Acquires()-acquires, server.Refreshes()-refreshes, server.Reuses()-reuses
		t.Logf("round %d: killed after the refresh answer (saved first: %v); the next call made %d refreshes, %d acquires, presented %d spent refresh tokens; the old access token is accepted: %v",
			i, saved, dr-1, da, du, server.Accepts(before.AccessToken))
		if du > 1 {
			t.Errorf("round %d: the spent refresh token was presented %d times, want at most once", i, du)
		}
		if !saved && (dr != 2 || da != 1 || du != 1) {
			// The victim's refresh, then one refused refresh with the spent
			// token and one acquire.
			t.Errorf("round %d: %d refreshes, %d acquires and %d reuses since the victim started; want 2, 1 and 1", i, dr, da, du)
		}
	}
	if beforeSave == 0 {
		t.Fatalf("in none of %d rounds did the kill land before the save: the test proved nothing", rounds)
	}
	t.Logf("%d of %d kills landed before the save", beforeSave, rounds)
}
