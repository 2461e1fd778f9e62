//go:build unix

package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Ensure makes a missing directory 0700 and tightens one of ours, but
// refuses, untouched, a symlink, a file and another user's directory.
func TestEnsure(t *testing.T) {
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
	if err := Ensure(missing); err != nil || mode(missing).Perm() != 0o700 {
		t.Errorf("Ensure of a missing dir: %v, mode %v; want it made 0700", err, mode(missing))
	}
	loose := filepath.Join(base, "loose")
	if err := os.Mkdir(loose, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(loose); err != nil || mode(loose)&(os.ModePerm|os.ModeSticky) != 0o700 {
		t.Errorf("Ensure of our sticky 0777 dir: %v, mode %v; want it tightened to 0700", err, mode(loose))
	}

	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(link); !errors.Is(err, ErrNotPrivate) || mode(target).Perm() != 0o755 {
		t.Errorf("Ensure of a symlink: %v, its target's mode %v; want ErrNotPrivate and the target untouched", err, mode(target))
	}
	// The config's directory may be a symlink of our own (a dotfiles
	// checkout) to a directory of ours.
	if err := EnsureConfig(link); err != nil || mode(target).Perm() != 0o700 {
		t.Errorf("EnsureConfig of our symlink to our dir: %v, mode %v", err, mode(target))
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(file); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("Ensure of a file: %v; want ErrNotPrivate", err)
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
	for _, check := range []func(string) error{Ensure, EnsureConfig} {
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
	if err := EnsureConfig(theirLink); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("EnsureConfig of another user's symlink: %v; want ErrNotPrivate", err)
	}
}
