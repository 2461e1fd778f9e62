package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/testkit/otheruser"
	"github.com/tokentray/tokentray/store/privdir"
)

// With XDG_RUNTIME_DIR=/tmp another user can make /tmp/tokentray and its
// locks dir first (mode 1777), hold the config lock and plant a symlink as
// a profile's lock file. None of it works: Tokentray refuses that directory,
// leaves it as it is, says so once in the log, and keeps its sockets and
// locks in the user cache dir.
func TestRuntimeDirOfAnotherUser(t *testing.T) {
	uid, gid := otheruser.Lookup(t, "flock")
	shared := otheruser.SharedDir(t)
	cache := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", shared)
	t.Setenv("XDG_CACHE_HOME", cache)
	config := filepath.Join(t.TempDir(), "config.json")

	planted := filepath.Join(shared, "tokentray", "locks")
	target := filepath.Join(shared, "made-through-the-link")
	if out, err := otheruser.Command(uid, gid, "sh", "-c", `umask 0 && mkdir -m 1777 -p "$1" && chmod 1777 "$(dirname "$1")" && ln -s "$2" "$1/prod.lock"`, "sh", planted, target).CombinedOutput(); err != nil {
		t.Fatalf("planting as the other user: %v: %s", err, out)
	}
	sum := sha256.Sum256([]byte(config))
	holder := otheruser.Command(uid, gid, "flock", filepath.Join(planted, "config+"+hex.EncodeToString(sum[:8])+".lock"), "sh", "-c", "echo locked; exec sleep 300")
	otheruser.Start(t, holder, "lock holder", "locked")

	var log bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))

	dir, err := privdir.Runtime()
	if want := filepath.Join(cache, "tokentray"); err != nil || dir != want {
		t.Errorf("privdir.Runtime = %q, %v; want the cache dir's %q", dir, err, want)
	}
	start := time.Now()
	if err := UpdateConfig(config, func(*Config) error { return nil }); err != nil {
		t.Errorf("UpdateConfig with the other user holding the lock in their dir: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := ProfileLocks{}.Lock(ctx, "prod")
	if err != nil {
		t.Errorf("Lock with a symlink planted in the other user's dir: %v", err)
	} else {
		unlock()
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was made where the planted symlink points (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "tokentray", "locks", "prod.lock")); err != nil {
		t.Errorf("the profile lock is not in the cache dir: %v", err)
	}
	for _, d := range []string{filepath.Dir(planted), planted} {
		fi, err := os.Lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || fi.Mode()&(os.ModePerm|os.ModeSticky) != os.ModeSticky|0o777 {
			t.Errorf("the other user's %s is now uid %d, mode %v: Tokentray changed it", d, st.Uid, fi.Mode())
		}
	}
	if n := strings.Count(log.String(), "not using the runtime dir"); n != 1 || !strings.Contains(log.String(), filepath.Dir(planted)) {
		t.Errorf("the log said %d times that the runtime dir is refused, want once, naming it:\n%s", n, log.String())
	}
}
