package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// ProfileLocks are per-profile locks shared by every Tokentray process of
// this user: whoever refreshes a profile's token holds its lock, so the
// agent and a CLI never spend the same refresh token twice. They are
// advisory file locks (flock on Unix, LockFileEx on Windows), which the OS
// releases when the holder dies, so a crash never leaves a profile locked.
type ProfileLocks struct {
	// Dir holds the lock files. Zero means tokentray/locks under
	// $XDG_RUNTIME_DIR, or else under the user cache dir.
	Dir string
}

// lockRetry is how often Lock tries again while another process holds the
// lock: short next to a refresh, long enough to cost nothing.
const lockRetry = 20 * time.Millisecond

// Lock waits until it holds profile's lock, or ctx ends, and returns the
// function that releases it (calling that more than once is harmless). The
// lock excludes other processes and other Locks in this one alike.
func (l ProfileLocks) Lock(ctx context.Context, profile string) (unlock func(), err error) {
	if err := ValidateProfileName(profile); err != nil {
		return nil, err
	}
	dir, err := l.dir()
	if err != nil {
		return nil, err
	}
	if err := privateDir(dir); err != nil {
		return nil, fmt.Errorf("profile lock: %w", err)
	}
	// A lock file is never deleted: removing it while another process
	// waits on the old inode would let two processes hold "the" lock.
	f := flock.New(filepath.Join(dir, profile+".lock"), flock.SetPermissions(0o600))
	// TryLockContext returns true, or an error (ctx's when it ends).
	if _, err := f.TryLockContext(ctx, lockRetry); err != nil {
		return nil, fmt.Errorf("profile lock %q: %w", profile, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil // Close unlocks
}

func (l ProfileLocks) dir() (string, error) {
	if l.Dir != "" {
		return l.Dir, nil
	}
	if run := os.Getenv("XDG_RUNTIME_DIR"); run != "" {
		return filepath.Join(run, "tokentray", "locks"), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("profile lock: finding the user cache dir: %w", err)
	}
	return filepath.Join(cache, "tokentray", "locks"), nil
}
