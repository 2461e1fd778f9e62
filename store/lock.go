package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/tokentray/tokentray/store/privdir"
)

// ProfileLocks are per-profile locks shared by every Tokentray process of
// this user: whoever refreshes a profile's token holds its lock, so the
// agent and a CLI never spend the same refresh token twice. They are
// advisory file locks (flock on Unix, LockFileEx on Windows), which the OS
// releases when the holder dies, so a crash never leaves a profile locked.
type ProfileLocks struct {
	// Dir holds the lock files. Zero means locks in privdir.Runtime.
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
		return nil, fmt.Errorf("profile lock: %w", err)
	}
	// A lock file is never deleted: removing it while another process
	// waits on the old inode would let two processes hold "the" lock.
	f := privdir.FileLock(filepath.Join(dir, profile+".lock"))
	// TryLockContext returns true, or an error (ctx's when it ends).
	if _, err := f.TryLockContext(ctx, lockRetry); err != nil {
		return nil, fmt.Errorf("profile lock %q: %w", profile, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil // Close unlocks
}

// dir returns the lock directory, made private (privdir.Ensure).
func (l ProfileLocks) dir() (string, error) {
	dir := l.Dir
	if dir == "" {
		run, err := privdir.Runtime()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(run, "locks")
	}
	return dir, privdir.Ensure(dir)
}

// The config lock serialises every change to one config file across
// Tokentray's processes, so that none saves a config read before another's
// change and undoes it (a window's save switching the secrets back to the
// keychain during `tokentray secrets file`). Lock order: the config lock
// first, then profile locks; a holder of a profile lock never asks for the
// config lock, and no holder of the config lock asks for it again.

// configLockWait bounds the wait for another process's config change. Most
// take milliseconds; AddProfile and MoveSecrets hold the lock while the
// keychain may be showing its unlock prompt, or a terminal asking for the
// passphrase, so the wait is generous.
const configLockWait = time.Minute

// lockConfig waits until it holds the lock of the config at configPath, or
// ctx ends, and returns the function that releases it. The lock file lives
// with the profile locks; its name is made from the config's absolute path
// and has a '+', which no profile name has, so it is no profile's lock.
func lockConfig(ctx context.Context, configPath string) (unlock func(), err error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return nil, fmt.Errorf("config lock: %w", err)
	}
	dir, err := ProfileLocks{}.dir()
	if err != nil {
		return nil, fmt.Errorf("config lock: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	f := privdir.FileLock(filepath.Join(dir, "config+"+hex.EncodeToString(sum[:8])+".lock"))
	if _, err := f.TryLockContext(ctx, lockRetry); err != nil {
		return nil, fmt.Errorf("waiting for the lock of config %s: another Tokentray process is changing it (perhaps `tokentray add` or `tokentray secrets`, waiting for the keychain to be unlocked or a passphrase to be typed); let it finish and try again: %w", configPath, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// loadLocked is loadLockedContext waiting at most configLockWait.
func loadLocked(path string) (cfg *Config, unlock func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), configLockWait)
	defer cancel()
	return loadLockedContext(ctx, path)
}

// loadLockedContext takes the lock of the config at path, waiting as
// lockConfig does, and loads the config under it. The caller saves, if it
// does, before calling unlock; on an error nothing is held.
func loadLockedContext(ctx context.Context, path string) (cfg *Config, unlock func(), err error) {
	unlock, err = lockConfig(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	if cfg, err = Load(path); err != nil {
		unlock()
		return nil, nil, err
	}
	return cfg, unlock, nil
}

// DeviceID returns the installation's device id from the config at path,
// making and saving it first, under the config lock, when there is none
// yet: it is kept for good from its first use on, and only this first call
// writes.
func DeviceID(path string) (string, error) {
	cfg, err := Load(path)
	if err != nil {
		return "", err
	}
	if cfg.DeviceID != "" {
		return cfg.DeviceID, nil
	}
	var id string
	err = UpdateConfig(path, func(c *Config) error {
		c.EnsureDeviceID() // another process may have made one meanwhile
		id = c.DeviceID
		return nil
	})
	return id, err
}

// UpdateConfig loads the config at path, applies change and saves it, all
// under the config lock, so that no other Tokentray process's change made
// meanwhile is lost. Nothing is saved when change returns an error. change
// must not take the config lock itself.
func UpdateConfig(path string, change func(*Config) error) error {
	cfg, unlock, err := loadLocked(path)
	if err != nil {
		return err
	}
	defer unlock()
	if err := change(cfg); err != nil {
		return err
	}
	return cfg.Save(path)
}
