//go:build unix

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A symlink planted as a lock file is not followed: the lock fails and
// nothing is made where it points.
func TestLockRefusesSymlink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "made-through-the-link")
	if err := os.Symlink(target, filepath.Join(dir, "prod.lock")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if unlock, err := (ProfileLocks{Dir: dir}).Lock(ctx, "prod"); err == nil {
		unlock()
		t.Error("Lock through a symlinked lock file succeeded")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock made a file where the symlink points (%v)", err)
	}
}
