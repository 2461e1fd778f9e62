package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Two processes taking the same profile's lock never hold it at once.
func TestProfileLockExcludesProcesses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "locks")
	out := filepath.Join(t.TempDir(), "log")
	var cmds []interface{ Wait() error }
	for range 3 {
		cmd := helper(t, "lock-loop", "HELPER_DIR="+dir, "HELPER_OUT="+out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("lock helper: %v", err)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3*50*2 {
		t.Fatalf("%d lines, want %d", len(lines), 3*50*2)
	}
	pids := map[string]bool{}
	for i := 0; i < len(lines); i += 2 {
		start, end := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if start[0] != "start" || end[0] != "end" || start[1] != end[1] {
			t.Fatalf("critical sections overlap at line %d: %q then %q", i+1, lines[i], lines[i+1])
		}
		pids[start[1]] = true
	}
	if len(pids) != 3 {
		t.Errorf("%d processes took the lock, want 3", len(pids))
	}
}

// A Lock waiting on another process's lock gives up as soon as its ctx
// ends, and gets the lock once the holder is gone.
func TestProfileLockContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	holder := helper(t, "lock-hold", "HELPER_DIR="+dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); holder.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("lock holder said %q", line)
	}

	l := ProfileLocks{Dir: dir}
	// Taken first: the deadline is then never before start+150ms, which
	// Windows' coarser clock showed.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	unlock, err := l.Lock(ctx, "shared")
	if err == nil {
		unlock()
		t.Fatal("Lock succeeded while another process held the lock")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock = %v, want the context's error", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 150*time.Millisecond+10*lockRetry {
		t.Errorf("Lock returned %v after it began, want right after the 150ms deadline", d)
	}
	// Another profile's lock is free meanwhile.
	other, err := l.Lock(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other()

	stdin.Close() // the holder exits, and the OS releases its lock
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err = l.Lock(ctx, "shared")
	if err != nil {
		t.Fatalf("Lock after the holder exited: %v", err)
	}
	unlock()
	unlock() // harmless
}

// Within one process, too, a second Lock waits for the first to unlock.
func TestProfileLockInProcess(t *testing.T) {
	t.Parallel()
	l := ProfileLocks{Dir: t.TempDir()}
	unlock, err := l.Lock(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := l.Lock(context.Background(), "prod")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a second Lock returned (%v) while the first was held", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second Lock did not get the lock after Unlock")
	}
}

func TestProfileLockNameAndModes(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	var l ProfileLocks
	for _, name := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := l.Lock(context.Background(), name); err == nil {
			t.Errorf("Lock accepted the profile name %q", name)
		}
	}
	unlock, err := l.Lock(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	dir := filepath.Join(run, "tokentray", "locks")
	if _, err := os.Stat(filepath.Join(dir, "prod.lock")); err != nil {
		t.Fatalf("the default lock dir under XDG_RUNTIME_DIR: %v", err)
	}
	if runtime.GOOS != "windows" {
		assertMode(t, dir, 0o700)
		assertMode(t, filepath.Join(dir, "prod.lock"), 0o600)
	}
}

// meanwhile runs fn in the background and waits until it returns, or for
// a while when it waits on a lock the caller holds; it returns the wait
// for fn's end and error.
func meanwhile(fn func() error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return func() error { return err }
	case <-time.After(2 * time.Second):
		return func() error { return <-done }
	}
}

// UpdateConfig changes a config under its lock: a change made while
// another holds it waits, and both stay.
func TestUpdateConfig(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	path := configPath(t)
	unlock, err := lockConfig(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	secs := 5
	wait := meanwhile(func() error {
		return UpdateConfig(path, func(c *Config) error { c.Settings.ClipboardClearSeconds = &secs; return nil })
	})
	cfg := &Config{Profiles: []Profile{{Name: "a", Flow: FlowIdentity}}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Profile("a"); !ok || got.Settings.ClipboardClear() != 5*time.Second {
		t.Errorf("config after the update: %+v; want profile a and the new setting", got)
	}

	if err := UpdateConfig(path, func(c *Config) error { c.Profiles = nil; return errors.New("no") }); err == nil {
		t.Error("UpdateConfig hid change's error")
	}
	if got, _ := Load(path); len(got.Profiles) != 1 {
		t.Error("UpdateConfig saved a change that failed")
	}

	entries, err := os.ReadDir(filepath.Join(run, "tokentray", "locks"))
	if err != nil || len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "config+") {
		t.Fatalf("the locks dir holds %v, %v; want one config+….lock", entries, err)
	}
	assertMode(t, filepath.Join(run, "tokentray", "locks", entries[0].Name()), 0o600)
}

// DeviceID makes the id once, keeps it, and does not rewrite the config
// once there is one.
func TestDeviceID(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokentray", "config.json")
	first, err := DeviceID(path)
	if err != nil || first == "" {
		t.Fatalf("DeviceID on no config: %q, %v", first, err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the new id was not saved: %v", err)
	}
	// A later write shows in the modification time, which needs a tick.
	time.Sleep(20 * time.Millisecond)
	again, err := DeviceID(path)
	if err != nil || again != first {
		t.Errorf("second DeviceID: %q, %v; want %q kept", again, err, first)
	}
	if after, err := os.Stat(path); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("DeviceID rewrote a config that had an id: %v", err)
	}
}
