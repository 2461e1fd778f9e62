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

// PrivateDir makes a missing directory 0700 and tightens one of ours, but
// refuses, untouched, a symlink, a file and another user's directory.
func TestPrivateDir(t *testing.T) {
	base := t.TempDir()
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}

	missing := filepath.Join(base, "a", "b")
	if err := PrivateDir(missing); err != nil || mode(missing).Perm() != 0o700 {
		t.Errorf("PrivateDir of a missing dir: %v, mode %v; want it made 0700", err, mode(missing))
	}
	loose := filepath.Join(base, "loose")
	if err := os.Mkdir(loose, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(loose); err != nil || mode(loose)&(os.ModePerm|os.ModeSticky) != 0o700 {
		t.Errorf("PrivateDir of our sticky 0777 dir: %v, mode %v; want it tightened to 0700", err, mode(loose))
	}

	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(link); !errors.Is(err, ErrNotPrivate) || mode(target).Perm() != 0o755 {
		t.Errorf("PrivateDir of a symlink: %v, its target's mode %v; want ErrNotPrivate and the target untouched", err, mode(target))
	}
	// The config's directory may be a symlink of our own (a dotfiles
	// checkout) to a directory of ours.
	if err := configDir(link); err != nil || mode(target).Perm() != 0o700 {
		t.Errorf("configDir of our symlink to our dir: %v, mode %v", err, mode(target))
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(file); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("PrivateDir of a file: %v; want ErrNotPrivate", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("giving a directory to another user needs root; CI runs tests as root")
	}
	theirs := filepath.Join(base, "theirs")
	if err := os.Mkdir(theirs, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(theirs, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, check := range []func(string) error{PrivateDir, configDir} {
		if err := check(theirs); !errors.Is(err, ErrNotPrivate) || mode(theirs)&(os.ModePerm|os.ModeSticky) != os.ModeSticky|0o777 {
			t.Errorf("another user's dir: %v, mode now %v; want ErrNotPrivate and the mode untouched", err, mode(theirs))
		}
	}
	theirLink := filepath.Join(base, "their-link")
	if err := os.Symlink(target, theirLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(theirLink, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := configDir(theirLink); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("configDir of another user's symlink: %v; want ErrNotPrivate", err)
	}
}

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
