// Package privdir keeps Tokentray's files, locks and sockets out of other
// users' reach: it makes and checks their directories, and finds the one
// for sockets and locks. It is a leaf, so that the LocalAPI client can link
// it without the keychain.
package privdir

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofrs/flock"
)

// ErrNotPrivate is wrapped by the error for a directory Tokentray will not
// keep a file, lock or socket in: not a real directory (a symlink, a
// file), or another user's. Another local user may have made it to hold
// Tokentray's locks, read its sockets or redirect its files.
var ErrNotPrivate = errors.New("not a private directory")

// Ensure makes dir (and its missing parents) with mode 0700, or checks
// the one there without following a symlink: it must be a directory owned
// by this user, and is tightened to 0700 when looser. Anything else is
// refused with ErrNotPrivate and left untouched: nothing of another user's
// making is ever chmodded, created in or deleted. Every directory holding
// a socket or lock of Tokentray's goes through it.
func Ensure(dir string) error {
	return ensure(dir, false)
}

// EnsureConfig is Ensure for the directory of the config and the secrets
// file, which people sometimes keep elsewhere through a symlink of their
// own (a dotfiles checkout): a symlink owned by this user is followed, and
// the directory it leads to must be this user's too.
func EnsureConfig(dir string) error {
	return ensure(dir, true)
}

// Runtime is the directory of Tokentray's sockets and locks:
// $XDG_RUNTIME_DIR/tokentray, or tokentray in the user cache dir when there
// is no runtime dir (macOS, some headless sessions). When the one in the
// runtime dir is not private (XDG_RUNTIME_DIR=/tmp, where another user can
// make /tmp/tokentray first), the cache dir's is used instead and the log
// says so once: Tokentray keeps working, out of the other user's reach.
func Runtime() (string, error) {
	cache, cacheErr := os.UserCacheDir()
	if cacheErr == nil {
		cache = filepath.Join(cache, "tokentray")
	}
	if run := os.Getenv("XDG_RUNTIME_DIR"); run != "" {
		dir := filepath.Join(run, "tokentray")
		err := Ensure(dir)
		if err == nil {
			return dir, nil
		}
		if cacheErr != nil || !errors.Is(err, ErrNotPrivate) {
			return "", fmt.Errorf("runtime dir: %w", err)
		}
		fallbackOnce(dir, func() {
			slog.Warn("not using the runtime dir: another user could reach the sockets and locks there; using the cache dir instead", "refused", dir, "reason", err, "using", cache)
		})
	}
	if cacheErr != nil {
		return "", fmt.Errorf("no runtime or cache directory for Tokentray's sockets and locks: %w", cacheErr)
	}
	if err := Ensure(cache); err != nil {
		return "", fmt.Errorf("runtime dir: %w", err)
	}
	return cache, nil
}

// fallbacksLogged are the refused runtime dirs already reported, so that a
// long-running agent says it once rather than at every lock.
var fallbacksLogged sync.Map

func fallbackOnce(dir string, log func()) {
	if _, seen := fallbacksLogged.LoadOrStore(dir, true); !seen {
		log()
	}
}

// FileLock returns a lock on the file at path (made 0600 when missing)
// that refuses a symlink there instead of following it to a file of
// someone else's choosing. Put it in a directory Ensure or EnsureConfig
// checked.
func FileLock(path string) *flock.Flock {
	return flock.New(path, flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDONLY|NoFollow))
}
